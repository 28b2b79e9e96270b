/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - the dpemu command-line tool: its usage, and the dispatch of
 * each command to its own file (commands.h).
 *
 *   dpemu demo            a narrated demonstration of demand paging (demo.c)
 *   dpemu bench [OPTS]    the fault-latency suite (bench.c, bench/driver.c)
 *   dpemu backends [NAME] which backends this kernel allows (backends.c)
 *   dpemu trace report|export|plot FILE ...
 *                         read a trace file (trace.c, trace_*.c)
 *   dpemu replay [OPTS]   a reference string through replacement policies
 *                         (replay.c and replay_*.c)
 *   dpemu run [OPTS] -- PROGRAM [ARGS]
 *                         a program under dpemu, and its paging report (run.c)
 *   dpemu --help          usage
 *   dpemu --version       the library's version
 *
 * Every command refuses what it does not understand with exit status 2: an
 * unknown option or an extra argument, and a DPEMU_BACKEND or DPEMU_HOSTMAP
 * the library rejects (cli_check_env, options.c), but trace, which only
 * reads files and creates no pool; COMMAND --help prints its help.
 *
 * It uses only the public API (<dpemu.h>), like any program would.
 */
#include <stdio.h>
#include <string.h>

#include "dpemu.h"
#include "commands.h"

static const char usage[] =
	"Usage: dpemu COMMAND [ARGS]\n"
	"       dpemu --help | --version\n"
	"\n"
	"dpemu is a userspace demand-paging emulator: a program reserves an arena of\n"
	"addresses, and every first touch of a page traps and is resolved the way a\n"
	"kernel would (lazy mapping, frame from a simulated pool, zero-fill or file\n"
	"read, page-table entry), then the access resumes.\n"
	"\n"
	"Commands:\n"
	"  demo        narrate demand paging in this very process: a page faulted in,\n"
	"              zero-filled and mapped, with the page table before and after,\n"
	"              a file-backed page, a caught fault, a copy-on-write fork,\n"
	"              frames returning to the pool, a full pool that evicts\n"
	"              pages to swap by the CLOCK policy, and that pool's own trace\n"
	"  bench [OPTIONS]\n"
	"              time page faults: the kernel's own, the trap floor and dpemu's\n"
	"              under each backend, in one interleaved run (dpemu bench --help;\n"
	"              method and results in doc/performance.md)\n"
	"  backends [NAME]\n"
	"              tell which backends this kernel allows: sigsegv, uffd\n"
	"              (userfaultfd, handler thread) and uffd-sigbus (userfaultfd,\n"
	"              SIGBUS mode), and what DPEMU_BACKEND_AUTO picks; with NAME,\n"
	"              exit 0 if that one is available, 1 if not, 2 if unknown\n"
	"  trace report FILE [--json] [-o OUT]\n"
	"              summarize a trace that dpemu_trace_start or DPEMU_TRACE wrote:\n"
	"              faults by kind and outcome, exact latency percentiles per kind,\n"
	"              the pages that faulted most, evictions, swap-outs, write-backs\n"
	"              and swap-ins, the peak resident set, events lost\n"
	"  trace export FILE --csv|--json|--chrome [--sort] [-o OUT]\n"
	"              every event of a trace as CSV, a JSON array, or a trace for\n"
	"              chrome://tracing and Perfetto (dpemu trace --help)\n"
	"  trace plot FILE [-o OUT.svg] [--what PANELS]\n"
	"              draw a trace as SVG: the reference pattern (page against time),\n"
	"              the resident set and faults over time, latency histograms\n"
	"  replay --policy P --frames N [OPTIONS] [FILE]\n"
	"              run a reference string (page numbers, a valgrind lackey log or\n"
	"              a dpemu trace) through fifo, lru, opt, clock, aging or random:\n"
	"              each access, the totals, --curve over memory sizes, --live\n"
	"              through the library itself (dpemu replay --help)\n"
	"  run [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"              run an unmodified program with its heap and its anonymous\n"
	"              mmaps in a dpemu space over a pool of N frames (--frames N,\n"
	"              --policy NAME, ...; dpemu run --help), and report its faults,\n"
	"              evictions and swapping when it exits; --sweep runs it once\n"
	"              per number of frames and policy: the faults-vs-frames table\n"
	"              and its SVG curve\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help and exit\n"
	"  -V, --version  print the library version and exit\n"
	"\n"
	"Environment:\n"
	"  DPEMU_BACKEND=NAME   what DPEMU_BACKEND_AUTO means: sigsegv, uffd or\n"
	"                       uffd-sigbus (default: uffd where allowed, else sigsegv)\n"
	"  DPEMU_HOSTMAP=mmap   show frames with one mmap per page instead of guard\n"
	"                       regions (for kernels older than 6.15; see dpemu(3))\n"
	"  Any other value of either is refused by every command but trace, which\n"
	"  only reads files (exit status 2).\n"
	"\n"
	"Each command takes --help.  Exit status: 0 success, 1 a failure while\n"
	"running (or, for backends NAME, not available), 2 a usage error; run\n"
	"exits with the program's status (125 if it could not run it).\n"
	"\n"
	"See dpemu(1), dpemu(3) and the guide in doc/guide.md.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "demo", cmd_demo },
	{ "backends", cmd_backends },
	{ "bench", cmd_bench },
	{ "trace", cmd_trace },
	{ "replay", cmd_replay },
	{ "run", cmd_run },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	                 !strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		fprintf(stderr, "dpemu: unexpected argument '%s' after %s\n", argv[2], argv[1]);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("dpemu %s\n", dpemu_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "dpemu: unknown command '%s'; try 'dpemu --help'\n", argv[1]);
	return 2;
}
