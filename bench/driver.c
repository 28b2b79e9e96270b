/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * driver.c - dpemu_bench_main: the options, the run's buffers and test
 * file, the rounds, and the report at the end.  bench/bench_fault (make
 * bench) and `dpemu bench` (tools/dpemu/bench.c) both call it.
 *
 * Method (see doc/performance.md, also for the host costs it cites): all
 * series run in every round, in an order rotated from round to round, so
 * drift of the host hits them alike; before each run a large block is populated and freed, untimed,
 * because on this VM memory left free is handed back to the host and its
 * next touch costs 12-20 us.  Every dpemu run gets a fresh pool and space.
 * Results are ratios between series of the same run.
 *
 * Calls every other file of bench/ (bench_int.h lists them), the tool's
 * option checks (tools/dpemu/options.c: cli_parse_u64, cli_check_env),
 * <dpemu.h>, libc and getopt.
 */
#include "bench_int.h"
#include "../tools/dpemu/options.h"

size_t opt_pages;
unsigned opt_rounds;
unsigned opt_passes;
static const char *opt_json, *opt_svg;
uint64_t opt_seed;
size_t opt_pretouch_mib;
const char *opt_only;
size_t opt_ev_frames;
enum bk opt_ev_bk;
enum bk ev_bk;
size_t page;

int file_fd = -1;
static char file_path[64];
size_t *rnd, *seq, *half[2];
size_t half_n[2];
size_t *ev_seq, *ev_perm;
size_t *ev_ord[NSCANS][EV_PASSES];
size_t *ref_list;
size_t *ref_order;

static void machine_info(struct machine *m)
{
	uname(&m->un);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(m->cpu, sizeof m->cpu, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[256];
		while (fgets(line, sizeof line, f)) {
			if (strncmp(line, "model name", 10) != 0)
				continue;
			char *c = strchr(line, ':');
			if (!c)
				continue;
			c++;
			while (*c == ' ' || *c == '\t')
				c++;
			c[strcspn(c, "\n")] = 0;
			snprintf(m->cpu, sizeof m->cpu, "%s", c);
			break;
		}
		fclose(f);
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(m->when, sizeof m->when, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --------------------------------------------------------------- main */

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "usage: %s [--pages N] [--rounds R] [--passes P] [--json FILE]\n"
	        "          [--svg FILE] [--seed S] [--pretouch-mib M] [--only LIST]\n"
	        "          [--evict-frames N] [--evict-backend B]\n"
	        "\n"
	        "Time page faults, in one run and interleaved in rounds: the\n"
	        "kernel's own first-touch, file and copy-on-write faults, a bare\n"
	        "SIGSEGV+mprotect trap (the floor of any SIGSEGV-based emulator),\n"
	        "and dpemu's for each backend: read and write first, random and\n"
	        "ascending order, fault-around (also over a pool populated at\n"
	        "creation, timed apart), file mappings, copy-on-write after\n"
	        "dpemu_space_fork, one thread and two, reference faults (a page\n"
	        "whose access the CLOCK hand revoked).  Then page replacement:\n"
	        "scans over 2 and 4 times more pages than the pool has frames,\n"
	        "under FIFO, CLOCK, LRU and RANDOM, against the same scans over\n"
	        "plain memory.  Prints a table, ratios to the kernel and the trap\n"
	        "floor, eviction counters per page, and the project's targets.\n"
	        "\n"
	        "  --pages N         pages per series and round (default 4096;\n"
	        "                    a multiple of 64, at most 4194304;\n"
	        "                    reference faults: N/4)\n"
	        "  --rounds R        rounds (default 5; 1 to 1000)\n"
	        "  --passes P        thread passes per round, each of 1 and 2\n"
	        "                    threads (default 3; 1 to 100)\n"
	        "  --json FILE       also write every result to FILE as JSON\n"
	        "  --svg FILE        also draw the latency distributions to FILE\n"
	        "  --seed S          seed of the random orders and of the RANDOM\n"
	        "                    policy (default fixed; 0 to 2^64-1)\n"
	        "  --pretouch-mib M  block populated and freed, untimed, before\n"
	        "                    each run (default 64; at least twice the\n"
	        "                    run's own memory; 0: off; at most the\n"
	        "                    machine's memory)\n"
	        "  --only LIST       only the series whose names start with one\n"
	        "                    of the comma-separated prefixes; \"evict\"\n"
	        "                    selects the eviction scans, \"ref\" the\n"
	        "                    reference faults, a backend (sigsegv, uffd,\n"
	        "                    uffd-sigbus) its series (kernel-w,\n"
	        "                    trap-floor and timer always run); an item\n"
	        "                    that selects nothing is an error\n"
	        "  --evict-frames N  frames of the eviction scans' pool (default\n"
	        "                    %d, 8 to 262144; the scans map 2N and 4N\n"
	        "                    pages)\n"
	        "  --evict-backend B backend of the eviction scans: sigsegv, uffd\n"
	        "                    or uffd-sigbus (default uffd-sigbus where\n"
	        "                    the kernel allows userfaultfd, else sigsegv)\n"
	        "  --help            this text\n"
	        "\n"
	        "Series names start with a short label of their backend: segv-\n"
	        "(sigsegv), uffd- (uffd), sigbus- (uffd-sigbus); the JSON gives\n"
	        "each series' backend by its full name.\n"
	        "\n"
	        "Numbers are decimal, or hexadecimal after 0x.  A bad option or\n"
	        "value, an output file that cannot be written, or a DPEMU_BACKEND\n"
	        "or DPEMU_HOSTMAP the library rejects exits with status 2 before\n"
	        "anything is measured.\n",
	        argv0, EV_FRAMES);
}

/* The machine's memory in MiB (at least 1). */
static uint64_t phys_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return 1;
	return ((uint64_t)pages * (uint64_t)size) >> 20 ? ((uint64_t)pages * (uint64_t)size) >> 20
	                                                 : 1;
}


/* The defaults of every option (dpemu_bench_main may run more than once). */
static void default_options(void)
{
	opt_pages = 4096;
	opt_rounds = 5;
	opt_passes = 3;
	opt_json = opt_svg = opt_only = NULL;
	opt_seed = 0x5eed0f00dULL;
	opt_pretouch_mib = 64;
	opt_ev_frames = EV_FRAMES;
	opt_ev_bk = BK_NONE;
}

/* --pages optarg: a multiple of CHUNK up to 2^22.  -1 to go on, or 2
   (the message printed). */
static int parse_pages(const char *argv0)
{
	uint64_t v;

	if (cli_parse_u64(argv0, "--pages", optarg, CHUNK, 1u << 22, &v) != 0)
		return 2;
	if (v % CHUNK) {
		fprintf(stderr, "%s: bad --pages '%s': not a multiple of %d "
		        "(accepted: multiples of %d from %d to %u)\n", argv0,
		        optarg, CHUNK, CHUNK, CHUNK, 1u << 22);
		return 2;
	}
	opt_pages = (size_t)v;
	return -1;
}

/* --evict-backend optarg: a backend's name.  -1 to go on, or 2 (the
   message printed). */
static int parse_evict_backend(const char *argv0)
{
	opt_ev_bk = BK_NONE;
	for (int b = BK_SEGV; b < BK_COUNT; b++)
		if (strcmp(optarg, bk_backend[b]) == 0)
			opt_ev_bk = (enum bk)b;
	if (opt_ev_bk == BK_NONE) {
		fprintf(stderr, "%s: bad --evict-backend '%s' (accepted: "
		        "sigsegv, uffd, uffd-sigbus)\n", argv0, optarg);
		return 2;
	}
	return -1;
}

/*
 * One option c of getopt_long with its argument optarg.  Returns -1 to go
 * on, or the exit status: 0 after --help, 2 after a bad option or value
 * (the message printed on stderr).
 */
static int parse_option(const char *argv0, int c)
{
	uint64_t v;

	switch (c) {
	case 'p':
		return parse_pages(argv0);
	case 'r':
		if (cli_parse_u64(argv0, "--rounds", optarg, 1, 1000, &v) != 0)
			return 2;
		opt_rounds = (unsigned)v;
		return -1;
	case 'P':
		if (cli_parse_u64(argv0, "--passes", optarg, 1, 100, &v) != 0)
			return 2;
		opt_passes = (unsigned)v;
		return -1;
	case 'j':
		opt_json = optarg;
		return -1;
	case 'g':
		opt_svg = optarg;
		return -1;
	case 'o':
		opt_only = optarg;
		return -1;
	case 's':
		if (cli_parse_u64(argv0, "--seed", optarg, 0, UINT64_MAX, &v) != 0)
			return 2;
		opt_seed = v;
		return -1;
	case 'm':
		/* At most the machine's memory: the block is populated. */
		if (cli_parse_u64(argv0, "--pretouch-mib", optarg, 0, phys_mib(), &v) != 0)
			return 2;
		opt_pretouch_mib = (size_t)v;
		return -1;
	case 'f':
		if (cli_parse_u64(argv0, "--evict-frames", optarg, HOT_DIV, 1u << 18, &v) != 0)
			return 2;
		opt_ev_frames = (size_t)v;
		return -1;
	case 'b':
		return parse_evict_backend(argv0);
	case 'h':
		usage(stdout, argv0);
		return 0;
	default:
		usage(stderr, argv0);
		return 2;
	}
}

/*
 * Every option and argument, and what must hold before anything is
 * measured: no extra argument, writable --json and --svg paths, an
 * environment the library accepts.  Returns -1 to go on, or the exit
 * status (0 after --help, 2 on a usage error, the message printed).
 */
static int parse_options(const char *argv0, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "passes", required_argument, NULL, 'P' },
		{ "json", required_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 'g' },
		{ "seed", required_argument, NULL, 's' },
		{ "pretouch-mib", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'o' },
		{ "evict-frames", required_argument, NULL, 'f' },
		{ "evict-backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	default_options();
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:r:P:j:g:s:m:o:f:b:h", longopts, NULL)) !=
	       -1)
		if ((rc = parse_option(argv0, c)) >= 0)
			return rc;
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv0, argv[optind]);
		usage(stderr, argv0);
		return 2;
	}
	if ((opt_json && cli_check_output(argv0, "--json", opt_json) != 0) ||
	    (opt_svg && cli_check_output(argv0, "--svg", opt_svg) != 0) ||
	    cli_check_env(argv0) != 0)
		return 2;
	return -1;
}

/*
 * The samples of every series (touched now, not while measuring) and the
 * orders of the run.  0, or -1 when memory runs out (the caller prints
 * it and exits 1; free_buffers frees what was allocated).
 */
static int alloc_buffers(void)
{
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		s->cap = s->kind == KIND_SCAN ? (size_t)opt_rounds * EV_TIMED
		         : s->kind == KIND_PASS ? (size_t)opt_rounds * opt_passes
		         : s->kind == KIND_CHUNK ? (size_t)opt_rounds * (opt_pages / CHUNK)
		                                 : (size_t)opt_rounds * opt_pages;
		s->ns = malloc(s->cap * sizeof *s->ns);
		if (!s->ns)
			return -1;
		memset(s->ns, 0, s->cap * sizeof *s->ns); /* touched now, not later */
	}
	rnd = malloc(opt_pages * sizeof *rnd);
	seq = malloc(opt_pages * sizeof *seq);
	half[0] = malloc(opt_pages * sizeof *half[0]);
	half[1] = malloc(opt_pages * sizeof *half[1]);
	size_t ev_max = 0;
	for (int k = 0; k < NSCANS; k++)
		if ((size_t)scans[k].mult * opt_ev_frames > ev_max)
			ev_max = (size_t)scans[k].mult * opt_ev_frames;
	ev_seq = malloc(ev_max * sizeof *ev_seq);
	ev_perm = malloc(ev_max * sizeof *ev_perm);
	ref_list = malloc(opt_pages * sizeof *ref_list);
	ref_order = malloc(opt_pages * sizeof *ref_order);
	int ev_ok = ev_seq && ev_perm && ref_list && ref_order;
	for (int k = 0; k < NSCANS; k++)
		for (int p = 0; p < EV_PASSES; p++)
			ev_ok = ev_ok && (ev_ord[k][p] = malloc((size_t)scans[k].mult *
			                  opt_ev_frames * sizeof(size_t))) != NULL;
	if (!rnd || !seq || !half[0] || !half[1] || !ev_ok)
		return -1;
	for (size_t i = 0; i < opt_pages; i++)
		seq[i] = i;
	for (size_t i = 0; i < ev_max; i++)
		ev_seq[i] = i;
	return 0;
}

/* Free what alloc_buffers allocated (any of it NULL). */
static void free_buffers(void)
{
	for (int i = 0; i < nser; i++) {
		free(ser[i].ns);
		ser[i].ns = NULL;
	}
	free(rnd);
	free(seq);
	free(half[0]);
	free(half[1]);
	free(ev_seq);
	free(ev_perm);
	free(ref_list);
	free(ref_order);
	rnd = seq = half[0] = half[1] = ev_seq = ev_perm = ref_list = ref_order = NULL;
	for (int k = 0; k < NSCANS; k++)
		for (int p = 0; p < EV_PASSES; p++) {
			free(ev_ord[k][p]);
			ev_ord[k][p] = NULL;
		}
}

/*
 * The file of the file series, in file_fd: written a page at a time, so
 * that the page cache holds it in single pages (a whole-file write makes
 * large folios, which the kernel maps many pages per fault); buf is a
 * page of scratch.  Without the file, the file series fail.
 */
static void make_test_file(char *buf)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(file_path, sizeof file_path, "%s/dpemu-bench-XXXXXX",
	         tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	file_fd = mkstemp(file_path);
	if (file_fd >= 0) {
		unlink(file_path);
		for (size_t i = 0; i < opt_pages && file_fd >= 0; i++) {
			memset(buf, (int)(i % 251) + 1, page);
			if (pwrite(file_fd, buf, page, (off_t)(i * page)) != (ssize_t)page) {
				close(file_fd);
				file_fd = -1;
			}
		}
	}
	if (file_fd < 0) {
		for (int i = 0; i < nser; i++)
			if (ser[i].op == OP_K_FILE || ser[i].op == OP_D_FILE)
				fail(&ser[i], "test file in $TMPDIR or /tmp", errno);
	}
}

/*
 * Round r: fresh random orders, then every selected series once, in an
 * order rotated from round to round so that no series always runs first
 * (or right after another); the two-thread series runs with its
 * one-thread partner.
 */
static void run_round(unsigned r)
{
	size_t need = opt_pages * page;

	shuffle(rnd, opt_pages);
	half_n[0] = half_n[1] = 0;
	for (size_t i = 0; i < opt_pages; i++) {
		int h = rnd[i] >= opt_pages / 2;
		half[h][half_n[h]++] = rnd[i];
	}
	make_orders();
	for (int k = 0; k < nser; k++) {
		struct series *s = &ser[(k + (int)r * 5) % nser];
		if (s->failed || s->unavailable || !selected(s))
			continue;
		if (s->kind == KIND_PASS && s->threads == 2)
			continue;
		if (s->kind != KIND_PASS)
			pretouch(need * (s->bk != BK_NONE ? 2 : 1) *
			         (s->op == OP_D_COW ? 2 : 1));
		run_one(s);
	}
}

/*
 * After the rounds: summaries, targets, the report on stdout, and the
 * --json and --svg files.  Returns the exit status: 1 if a selected
 * series failed or (unless unavailable) has no sample, or a file could
 * not be written; else 0.
 */
static int report(const char *argv0, const struct machine *mc, double secs)
{
	int status = 0;

	for (int i = 0; i < nser; i++)
		summarize(&ser[i]);
	compute_targets();
	print_report(secs);

	for (int i = 0; i < nser; i++)
		if (selected(&ser[i]) && (ser[i].failed ||
		    (ser[i].n == 0 && !ser[i].unavailable &&
		     !(ser[i].op == OP_K_FILE && !ser[i].write))))
			status = 1;

	if (opt_json) {
		if (write_json(opt_json, mc, secs) != 0) {
			fprintf(stderr, "%s: %s: %s\n", argv0, opt_json, strerror(errno));
			status = 1;
		} else {
			printf("\nJSON written to %s\n", opt_json);
		}
	}
	if (opt_svg) {
		if (write_svg(opt_svg, mc) != 0) {
			fprintf(stderr, "%s: %s: %s\n", argv0, opt_svg, strerror(errno));
			status = 1;
		} else {
			printf("SVG written to %s\n", opt_svg);
		}
	}
	return status;
}

int dpemu_bench_main(int argc, char **argv)
{
	const char *argv0 = argc > 0 ? argv[0] : "bench";
	int status = parse_options(argv0, argc, argv);

	if (status >= 0)
		return status;
	page = (size_t)sysconf(_SC_PAGESIZE);
	rng_state = opt_seed ? opt_seed : 1;
	ev_bk = pick_ev_backend();
	define_series();
	if (check_only(argv0) != 0)
		return 2;
	char *buf = alloc_buffers() == 0 ? malloc(page) : NULL;
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", argv0);
		free_buffers();
		return 1;
	}
	make_test_file(buf);
	free(buf);

	struct machine mc;
	machine_info(&mc);
	printf("dpemu bench: dpemu %s, Linux %s %s, %ld CPUs (%s), page %zu B,\n"
	       "  %zu pages x %u rounds, %u thread passes per round, seed %" PRIu64
	       "\n", dpemu_version(), mc.un.release, mc.un.machine, mc.cpus,
	       mc.cpu, page, opt_pages, opt_rounds, opt_passes, opt_seed);
	fflush(stdout);

	uint64_t t_start = now_ns();
	for (unsigned r = 0; r < opt_rounds; r++) {
		run_round(r);
		printf("  round %u of %u done, %.1f s\n", r + 1, opt_rounds,
		       (double)(now_ns() - t_start) / 1e9);
		fflush(stdout);
	}
	if (!opt_only || strstr(opt_only, "segv"))
		measure_sparse();
	double secs = (double)(now_ns() - t_start) / 1e9;
	if (file_fd >= 0)
		close(file_fd);
	file_fd = -1;

	status = report(argv0, &mc, secs);
	free_buffers();
	return status;
}
