/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.c - `dpemu run [OPTIONS] [--] PROGRAM [ARGS...]`: run an unmodified
 * program with its heap and its private anonymous mmaps in a dpemu space
 * over a pool of N frames, and report on its paging when it exits.  This
 * file: the options, the checks made before anything runs (every value,
 * the environment, the preload library, the backend, a trial pool and
 * space with the same settings), and one run.  run.h names the others.
 * Calls <dpemu.h>, options.c, run_exec.c, run_report.c, run_sweep.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpemu.h"
#include "commands.h"
#include "options.h"
#include "run.h"
#include "../policy_plugin.h"

#ifndef DPEMU_PKGLIBDIR
#define DPEMU_PKGLIBDIR "/usr/local/lib/dpemu"
#endif

#define MAX_FRAMES 4294967294ull /* dpemu_pool_create's limit, 2^32 - 2 */
#define DEFAULT_MEMORY (1ull << 30)

static const char run_usage[] =
	"Usage: dpemu run [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"\n"
	"Run PROGRAM with its heap (malloc, calloc, realloc, ..., and so C++ new)\n"
	"and its private anonymous mmaps in a dpemu space over a pool of frames, and\n"
	"report on its paging when it exits: faults by kind, evictions, swap-ins and\n"
	"-outs, reference faults, peak resident pages, and how much of its memory\n"
	"dpemu served.  The exit status is PROGRAM's.\n"
	"\n"
	"Options:\n"
	"  --frames N          the pool: N frames (1 to 4294967294)\n"
	"  --memory SIZE       the pool: SIZE bytes, a number with K, M, G or T (binary\n"
	"                      units), rounded down to whole pages (default 1G)\n"
	"  --policy NAME       what a full pool does: none (the program dies of an\n"
	"                      out-of-frames fault), fifo, clock, lru, random\n"
	"                      (default clock); with --sweep, a comma-separated list\n"
	"  --policy-lib FILE.so  a replacement policy of your own, in C: the shared\n"
	"                      object's dpemu_policy_plugin (dpemu_policy(7), \"Writing\n"
	"                      a policy\"); instead of --policy's, or with --sweep\n"
	"                      beside --policy's\n"
	"  --page-size BYTES   dpemu's page: a power-of-two multiple of the host's\n"
	"                      (default the host's)\n"
	"  --backend NAME      sigsegv, uffd or uffd-sigbus (default: uffd where the\n"
	"                      kernel allows it, else sigsegv; see dpemu(1) for why\n"
	"                      system calls need uffd)\n"
	"  --fault-around N    pages made present per fault, 1 to 512 (default 1)\n"
	"  --swap PATH         the swap file (default: an unlinked temporary file)\n"
	"                      or redis://HOST[:PORT][/DB]: a Redis server\n"
	"  --swap-slots N      the swap file's capacity in pages (default 16 x frames,\n"
	"                      at least 1 GiB of pages)\n"
	"  --store-latency D   a delay per swap-store access: 20us, or a range\n"
	"                      5us-50us drawn uniformly (far memory)\n"
	"  --tlb N             an emulated TLB of N entries: at most N pages of the\n"
	"                      space accessible at once, every other touch a TLB miss\n"
	"                      (counted; 1 gives the program's exact reference string\n"
	"                      in a trace); default none\n"
	"  --trace FILE        record every fault, eviction and swap of the run into\n"
	"                      FILE (dpemu-trace(5); read it with dpemu trace report,\n"
	"                      export or plot); not with --sweep\n"
	"  --json FILE         write the report to FILE as JSON instead of printing it\n"
	"                      on standard error\n"
	"  --sweep N,N,...     run PROGRAM once per number of frames and per policy\n"
	"                      of --policy, its input and output /dev/null, and print\n"
	"                      a table of faults by frames and policy (up to 64)\n"
	"  --svg FILE          with --sweep: draw faults against frames, one curve\n"
	"                      per policy\n"
	"  -h, --help          show this help and exit\n"
	"\n"
	"Exit status: PROGRAM's; 126 PROGRAM is not executable, 127 it was not\n"
	"found, 128+N it was killed by signal N; 2 a bad option; 125 dpemu run\n"
	"could not run it.  With --sweep: 0 if every run exited 0, else 1.\n"
	"\n"
	"Memory dpemu does not serve: the stack, static data, the program's own file\n"
	"and shared mappings, and what the dynamic loader maps (see dpemu(1)).\n";

/* The result of parsing: -1 go on, else the exit status. */
#define GO_ON (-1)

/* --memory's SIZE: a number (decimal, or hexadecimal after 0x), then
 * nothing or a unit K, M, G or T, which may be followed by B or iB (all
 * binary: K is 1024); bytes into *out.  0, or -1 after the message. */
static int parse_size(const char *arg, uint64_t *out)
{
	static const char units[] = "KMGT";
	size_t len = strlen(arg);
	const char *u = NULL;
	char num[64];
	unsigned shift = 0;
	uint64_t v;

	if (len >= 3 && !strcmp(arg + len - 2, "iB"))
		len -= 2;
	else if (len >= 2 && arg[len - 1] == 'B' && strchr(units, arg[len - 2] & ~0x20))
		len -= 1;
	if (len >= 1 && (arg[len - 1] & ~0x20) && (u = strchr(units, arg[len - 1] & ~0x20))) {
		shift = 10 * (unsigned)(u - units + 1);
		len--;
	}
	if (len >= sizeof num) {
		fprintf(stderr, "dpemu run: bad --memory '%s': too long\n", arg);
		return -1;
	}
	memcpy(num, arg, len);
	num[len] = '\0';
	if (cli_parse_u64("dpemu run", "--memory", num, 1, UINT64_MAX >> shift, &v) != 0)
		return -1;
	*out = v << shift;
	return 0;
}

/* --sweep's list into c->sweep.  0, or -1 after the message. */
static int parse_sweep(const char *arg, struct run_config *c)
{
	char item[64];
	const char *p = arg;

	c->nsweep = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		if (c->nsweep == RUN_MAX_SWEEP) {
			fprintf(stderr, "dpemu run: --sweep: more than %d numbers of frames\n",
			        RUN_MAX_SWEEP);
			return -1;
		}
		if (len >= sizeof item)
			len = sizeof item - 1;
		memcpy(item, p, len);
		item[len] = '\0';
		if (cli_parse_u64("dpemu run", "--sweep", item, 1, MAX_FRAMES,
		                  &c->sweep[c->nsweep]) != 0)
			return -1;
		c->nsweep++;
		p += strcspn(p, ",");
		if (!*p)
			return 0;
		p++;
	}
}

/* --policy's name or list into c->policy.  0, or -1 after the message. */
static int parse_policies(const char *arg, struct run_config *c)
{
	static const char *const names[] = { "none", "fifo", "clock", "lru", "random" };
	const char *p = arg;

	c->npolicies = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *found = NULL;
		for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i]) == len && !strncmp(p, names[i], len))
				found = names[i];
		if (!found) {
			fprintf(stderr, "dpemu run: unknown policy '%.*s'; try none, fifo, clock, "
			        "lru, random\n", (int)len, p);
			return -1;
		}
		for (int i = 0; i < c->npolicies; i++)
			if (c->policy[i] == found) {
				fprintf(stderr, "dpemu run: --policy names %s twice\n", found);
				return -1;
			}
		c->policy[c->npolicies++] = found;
		p += len;
		if (!*p)
			return 0;
		p++;
	}
}

static int parse_backend(const char *arg, struct run_config *c)
{
	static const char *const names[] = { "sigsegv", "uffd", "uffd-sigbus" };

	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(arg, names[i])) {
			c->backend = names[i];
			return 0;
		}
	fprintf(stderr, "dpemu run: unknown backend '%s'; try sigsegv, uffd, uffd-sigbus\n", arg);
	return -1;
}

/* --policy-lib: check that FILE loads and has a policy here, before any
 * run (the preload loads it again in the program), and keep its absolute
 * path and its policy's name.  0, or -1 after the message. */
static int load_policy_lib(const char *arg, struct run_config *c)
{
	char err[512];
	const struct dpemu_policy_ops *ops = policy_plugin_load(arg, err, sizeof err);

	if (!ops) {
		fprintf(stderr, "dpemu run: --policy-lib: %s\n", err);
		return -1;
	}
	if (!realpath(arg, c->policy_lib)) {
		fprintf(stderr, "dpemu run: --policy-lib: %s: %s\n", arg, strerror(errno));
		return -1;
	}
	snprintf(c->custom_name, sizeof c->custom_name, "%s",
	         ops->name && *ops->name ? ops->name : "custom");
	return 0;
}

const char *run_policy_label(const struct run_config *c, const char *p)
{
	return strcmp(p, "custom") == 0 && c->custom_name[0] ? c->custom_name : p;
}

/* What the options say beyond their syntax: they go together. */
struct run_seen {
	bool frames, memory, policy;
	uint64_t memory_bytes;
};

/* One option c (getopt_long's) with its argument. */
static int parse_option(int c, const char *arg, struct run_config *cfg, struct run_seen *seen)
{
	switch (c) {
	case 'f':
		seen->frames = true;
		return cli_parse_u64("dpemu run", "--frames", arg, 1, MAX_FRAMES, &cfg->frames);
	case 'm':
		seen->memory = true;
		return parse_size(arg, &seen->memory_bytes);
	case 'p':
		seen->policy = true;
		return parse_policies(arg, cfg);
	case 'P':
		return cli_parse_u64("dpemu run", "--page-size", arg, 1, (uint64_t)1 << 40,
		                     &cfg->page_size);
	case 'b':
		return parse_backend(arg, cfg);
	case 'a':
		return cli_parse_u64("dpemu run", "--fault-around", arg, 1, 512, &cfg->fault_around);
	case 's':
		cfg->swap = arg;
		return 0;
	case 'L': /* the library reads it (store.c); the trial checks it */
		setenv("DPEMU_STORE_LATENCY", arg, 1);
		return 0;
	case 'S':
		return cli_parse_u64("dpemu run", "--swap-slots", arg, 1, MAX_FRAMES,
		                     &cfg->swap_slots);
	case 'T':
		return cli_parse_u64("dpemu run", "--tlb", arg, 1, UINT32_MAX, &cfg->tlb);
	case 't':
		cfg->trace = arg;
		return 0;
	case 'X':
		return load_policy_lib(arg, cfg);
	case 'j':
		cfg->json = arg;
		return 0;
	case 'w':
		return parse_sweep(arg, cfg);
	case 'g':
		cfg->svg = arg;
		return 0;
	}
	return -1;
}

/* The options that must not meet, and the pool's size.  0, or -1 after
 * the message. */
static int check_combinations(struct run_config *c, const struct run_seen *seen)
{
	size_t host = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t ps = c->page_size ? c->page_size : host;

	if (seen->frames && seen->memory) {
		fprintf(stderr, "dpemu run: --frames and --memory both give the pool's size; "
		        "give one\n");
		return -1;
	}
	if (c->nsweep && (seen->frames || seen->memory)) {
		fprintf(stderr, "dpemu run: --sweep gives the numbers of frames; drop --%s\n",
		        seen->frames ? "frames" : "memory");
		return -1;
	}
	if (c->policy_lib[0]) { /* its policy replaces the default, joins a list */
		if (!seen->policy)
			c->npolicies = 0;
		if (seen->policy && !c->nsweep) {
			fprintf(stderr, "dpemu run: --policy-lib gives the policy; drop --policy (or "
			        "compare them with --sweep)\n");
			return -1;
		}
		if (c->npolicies >= RUN_MAX_POLICIES) {
			fprintf(stderr, "dpemu run: too many policies\n");
			return -1;
		}
		c->policy[c->npolicies++] = "custom";
	}
	if (c->npolicies > 1 && !c->nsweep) {
		fprintf(stderr, "dpemu run: several policies need --sweep\n");
		return -1;
	}
	if (c->trace && c->nsweep) {
		fprintf(stderr, "dpemu run: --trace records one run; it does not go with --sweep\n");
		return -1;
	}
	if (c->svg && !c->nsweep) {
		fprintf(stderr, "dpemu run: --svg draws a sweep; it needs --sweep\n");
		return -1;
	}
	if (!c->frames) {
		uint64_t bytes = seen->memory ? seen->memory_bytes : DEFAULT_MEMORY;
		c->frames = bytes / ps;
		if (c->frames == 0 || c->frames > MAX_FRAMES) {
			fprintf(stderr, "dpemu run: --memory %" PRIu64 " bytes is %s page of %" PRIu64
			        " bytes\n", bytes, c->frames ? "more than 4294967294 frames of a"
			        : "less than one", ps);
			return -1;
		}
	}
	if ((c->swap || c->swap_slots) && c->npolicies == 1 && !strcmp(c->policy[0], "none")) {
		fprintf(stderr, "dpemu run: --swap and --swap-slots need a policy other than none\n");
		return -1;
	}
	return 0;
}

/* Every option, up to PROGRAM.  GO_ON, or the exit status. */
static int parse_args(int argc, char **argv, struct run_config *c)
{
	static const struct option longopts[] = {
		{ "frames", required_argument, NULL, 'f' },
		{ "memory", required_argument, NULL, 'm' },
		{ "policy", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'P' },
		{ "backend", required_argument, NULL, 'b' },
		{ "fault-around", required_argument, NULL, 'a' },
		{ "swap", required_argument, NULL, 's' },
		{ "swap-slots", required_argument, NULL, 'S' },
		{ "store-latency", required_argument, NULL, 'L' },
		{ "tlb", required_argument, NULL, 'T' },
		{ "trace", required_argument, NULL, 't' },
		{ "json", required_argument, NULL, 'j' },
		{ "sweep", required_argument, NULL, 'w' },
		{ "svg", required_argument, NULL, 'g' },
		{ "policy-lib", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_seen seen = { false, false, false, 0 };
	int opt;

	memset(c, 0, sizeof *c);
	c->policy[0] = "clock";
	c->npolicies = 1;
	opterr = 0;
	optind = 1;
	/* "+": stop at PROGRAM; its own options are its own. */
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(run_usage, stdout);
			return 0;
		}
		if (opt == '?' || opt == ':') {
			if (optopt)
				fprintf(stderr, "dpemu run: option '%s' needs a value; try 'dpemu run "
				        "--help'\n", argv[optind - 1]);
			else
				fprintf(stderr, "dpemu run: unknown option '%s'; try 'dpemu run "
				        "--help'\n", argv[optind - 1]);
			return RUN_USAGE;
		}
		if (parse_option(opt, optarg, c, &seen) != 0)
			return RUN_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "dpemu run: no program to run; try 'dpemu run --help'\n");
		return RUN_USAGE;
	}
	c->argv = argv + optind;
	if (check_combinations(c, &seen) != 0 ||
	    (c->json && cli_check_output("dpemu run", "--json", c->json) != 0) ||
	    (c->trace && cli_check_output("dpemu run", "--trace", c->trace) != 0) ||
	    (c->svg && cli_check_output("dpemu run", "--svg", c->svg) != 0))
		return RUN_USAGE;
	return GO_ON;
}

/*
 * The preload library: $DPEMU_RUN_PRELOAD; else next to this executable
 * (the build tree, where libtool keeps both in .libs); else where it is
 * installed.  0 with c->preload set, or -1 after the message.
 */
static int find_preload(struct run_config *c)
{
	const char *env = getenv("DPEMU_RUN_PRELOAD");
	char exe[sizeof c->preload - 32];
	ssize_t n;

	if (env && *env) {
		if (access(env, R_OK) != 0) {
			fprintf(stderr, "dpemu run: DPEMU_RUN_PRELOAD=%s: %s\n", env, strerror(errno));
			return -1;
		}
		snprintf(c->preload, sizeof c->preload, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(c->preload, sizeof c->preload, "%s/libdpemu-run.so", exe);
			if (access(c->preload, R_OK) == 0)
				return 0;
		}
	}
	snprintf(c->preload, sizeof c->preload, "%s/libdpemu-run.so", DPEMU_PKGLIBDIR);
	if (access(c->preload, R_OK) == 0)
		return 0;
#ifdef HAVE_MIMALLOC
	fprintf(stderr, "dpemu run: the preload library %s is missing (run make install, or set "
	        "DPEMU_RUN_PRELOAD)\n", c->preload);
#else
	fprintf(stderr, "dpemu run: this dpemu was built without its preload library, which "
	        "needs mimalloc and shared libraries (Debian: apt-get install libmimalloc-dev, "
	        "then ./configure without --disable-shared)\n");
#endif
	return -1;
}

/* Whether userfaultfd's thread mode works here; else *why says why. */
static bool uffd_thread_works(char *why, size_t len)
{
	struct dpemu_pool_config pc = { .frames = 1 };
	struct dpemu_space_config sc = { .reserve = 1, .backend = DPEMU_BACKEND_UFFD };
	dpemu_pool *pool;
	dpemu_space *s;
	bool ok = false;

	snprintf(why, len, "%s", "no pool");
	if (dpemu_pool_create(&pc, &pool) != 0)
		return false;
	if (dpemu_space_create(pool, &sc, &s) == 0) {
		dpemu_space_destroy(s);
		ok = true;
	} else {
		snprintf(why, len, "%s", dpemu_last_error());
	}
	dpemu_pool_destroy(pool);
	return ok;
}

/*
 * The backend when none is given: userfaultfd's thread mode, the one that
 * resolves faults inside system calls, where the kernel allows it (and
 * DPEMU_BACKEND does not choose), else sigsegv, with a warning.
 */
static void default_backend(struct run_config *c)
{
	const char *env = getenv("DPEMU_BACKEND");
	char why[512];

	if (c->backend || (env && *env))
		return;
	if (uffd_thread_works(why, sizeof why)) {
		c->backend = "uffd";
		return;
	}
	c->backend = "sigsegv";
	fprintf(stderr, "dpemu run: userfaultfd is not available (%s); using the sigsegv "
	        "backend, under which a system call that writes into memory not present yet "
	        "(read(2) into a fresh buffer) fails with EFAULT\n", why);
}

/*
 * What the preload library will create, tried here first with the same
 * settings, so that a value the library refuses is a usage error before
 * anything runs: the page size, the swap file with room for the largest
 * pool's slots, the backend, fault-around.  (A pool of one frame: making
 * the free list of a large one costs milliseconds, and the number of
 * frames is checked already.)  GO_ON or the status.
 */
static int trial(const struct run_config *c)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	dpemu_pool *pool;
	dpemu_space *s;
	uint64_t frames = c->frames;
	uint64_t ps = c->page_size ? c->page_size : (uint64_t)sysconf(_SC_PAGESIZE);
	int err;

	for (int i = 0; i < c->nsweep; i++)
		if (c->sweep[i] > frames)
			frames = c->sweep[i];
	memset(&pc, 0, sizeof pc);
	pc.frames = 1;
	pc.page_size = c->page_size;
	pc.policy = strcmp(c->policy[0], "none") ? DPEMU_POLICY_CLOCK : DPEMU_POLICY_NONE;
	pc.swap_path = c->swap;
	/* the preload's default (init.c): 16 x frames, at least 1 GiB of pages */
	pc.swap_slots = c->swap_slots ? c->swap_slots
	                : frames * 16 > ((uint64_t)1 << 30) / ps ? frames * 16
	                : ((uint64_t)1 << 30) / ps;
	if (pc.policy == DPEMU_POLICY_NONE)
		pc.swap_slots = 0;
	err = dpemu_pool_create(&pc, &pool);
	if (err) {
		fprintf(stderr, "dpemu run: %s\n", dpemu_last_error());
		return err == -EINVAL ? RUN_USAGE : RUN_FAILED;
	}
	memset(&sc, 0, sizeof sc);
	sc.reserve = 1;
	sc.backend = !c->backend ? DPEMU_BACKEND_AUTO
	             : strcmp(c->backend, "sigsegv") ? DPEMU_BACKEND_UFFD : DPEMU_BACKEND_SIGSEGV;
	sc.uffd_mode = c->backend && !strcmp(c->backend, "uffd-sigbus") ? DPEMU_UFFD_SIGBUS
	               : DPEMU_UFFD_THREAD;
	sc.fault_around = c->fault_around;
	sc.tlb_entries = c->tlb;
	err = dpemu_space_create(pool, &sc, &s);
	if (err == 0)
		dpemu_space_destroy(s);
	else
		fprintf(stderr, "dpemu run: backend %s: %s\n", c->backend ? c->backend : "auto",
		        dpemu_last_error());
	dpemu_pool_destroy(pool);
	if (err)
		return err == -EINVAL ? RUN_USAGE : RUN_FAILED;
	return GO_ON;
}

/* One run: the program's output is its own, the report goes to stderr
 * or --json.  The program's exit status, or RUN_FAILED. */
static int run_once(const struct run_config *c)
{
	struct run_result r;

	if (run_program(c, c->policy[0], c->frames, false, &r) != 0)
		return RUN_FAILED;
	if (r.exec_errno)
		return r.status;
	if (r.error[0]) {
		fprintf(stderr, "dpemu run: the preload library could not start: %s\n", r.error);
		return RUN_FAILED;
	}
	if (c->json) {
		if (run_write_json(c, &r) != 0)
			return RUN_FAILED;
	} else {
		run_print_report(stderr, c, &r);
	}
	return r.status;
}

int cmd_run(int argc, char **argv)
{
	struct run_config *c = calloc(1, sizeof *c);
	int rc;

	if (!c) {
		fprintf(stderr, "dpemu run: out of memory\n");
		return RUN_FAILED;
	}
	rc = parse_args(argc, argv, c);
	if (rc == GO_ON && cli_check_env("dpemu run") != 0)
		rc = RUN_USAGE;
	if (rc == GO_ON && find_preload(c) != 0)
		rc = RUN_FAILED;
	if (rc == GO_ON) {
		default_backend(c);
		rc = trial(c);
	}
	if (rc == GO_ON)
		rc = c->nsweep ? run_sweep(c) : run_once(c);
	free(c);
	return rc;
}
