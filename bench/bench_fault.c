/*
 * bench_fault.c - what one first-touch page fault costs under dpemu, next to
 * what the kernel itself and a bare SIGSEGV trap cost on the same machine.
 *
 * Series, each measured one fault at a time (clock_gettime(CLOCK_MONOTONIC)
 * immediately before and after a one-byte write to a page that has never been
 * touched):
 *
 *   kernel      the kernel's own anonymous first-touch fault: a private
 *               anonymous mmap (THP off for it), each page written once;
 *   trap-floor  a SIGSEGV handler that does one mprotect(PROT_READ|PROT_WRITE)
 *               of the faulting page of a region that was populated and then
 *               made PROT_NONE: the least any SIGSEGV-based emulator can pay;
 *   segv-rand   dpemu's first-touch fault under the SIGSEGV backend: a fresh
 *               pool and space, one anonymous private mapping, pages touched
 *               in random order;
 *   segv-seq    the same, pages touched in ascending order;
 *   uffd-rand, uffd-seq
 *               the same under userfaultfd with its handler thread;
 *   sigbus-rand, sigbus-seq
 *               the same under userfaultfd's SIGBUS mode (a backend the
 *               kernel refuses is reported as unavailable, not failed);
 *   timer       a write to a page that is already resident: what the timing
 *               itself adds to every sample.
 *
 * kernel and trap-floor touch the pages in the same random order as the
 * dpemu random series in that round.  The series are interleaved in rounds (every
 * round runs every series once, in a rotated order) so that drift of the
 * host affects all of them alike.  Before every series a large block of
 * anonymous memory is populated and unmapped, untimed: on this kind of VM,
 * memory that sits free is handed back to the host and the next touch of it
 * costs 12-20 us a page, which would measure the host rather than the code.
 *
 * Every dpemu series gets a fresh pool, so each of its faults, like each
 * kernel fault, also pays for the host page it writes first.
 *
 * Uses only <dpemu.h> and libc.  Linux only (as dpemu is).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dpemu.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_POPULATE
#define MAP_POPULATE 0
#endif

enum series_id {
	S_KERNEL,
	S_TRAP,
	S_SEGV_RAND, /* the dpemu series: S_SEGV_RAND .. S_BUS_SEQ */
	S_SEGV_SEQ,
	S_UFFD_RAND,
	S_UFFD_SEQ,
	S_BUS_RAND,
	S_BUS_SEQ,
	S_TIMER,
	S_COUNT
};
#define S_DPEMU_FIRST S_SEGV_RAND
#define S_DPEMU_LAST S_BUS_SEQ

static const char *const series_name[S_COUNT] = {
	"kernel", "trap-floor", "segv-rand", "segv-seq", "uffd-rand", "uffd-seq",
	"sigbus-rand", "sigbus-seq", "timer",
};

static const char *const series_what[S_COUNT] = {
	"kernel anonymous first-touch fault (random order)",
	"SIGSEGV + one mprotect of a populated page (random order)",
	"dpemu, SIGSEGV backend, anonymous first touch, random order",
	"dpemu, SIGSEGV backend, anonymous first touch, sequential order",
	"dpemu, userfaultfd handler thread, first touch, random order",
	"dpemu, userfaultfd handler thread, first touch, sequential order",
	"dpemu, userfaultfd SIGBUS mode, first touch, random order",
	"dpemu, userfaultfd SIGBUS mode, first touch, sequential order",
	"write to a resident page (timing overhead)",
};

/* The backend and mode of each dpemu series. */
static const struct {
	enum dpemu_backend backend;
	enum dpemu_uffd_mode mode;
} series_backend[S_COUNT] = {
	[S_SEGV_RAND] = { DPEMU_BACKEND_SIGSEGV, DPEMU_UFFD_THREAD },
	[S_SEGV_SEQ] = { DPEMU_BACKEND_SIGSEGV, DPEMU_UFFD_THREAD },
	[S_UFFD_RAND] = { DPEMU_BACKEND_UFFD, DPEMU_UFFD_THREAD },
	[S_UFFD_SEQ] = { DPEMU_BACKEND_UFFD, DPEMU_UFFD_THREAD },
	[S_BUS_RAND] = { DPEMU_BACKEND_UFFD, DPEMU_UFFD_SIGBUS },
	[S_BUS_SEQ] = { DPEMU_BACKEND_UFFD, DPEMU_UFFD_SIGBUS },
};

struct series {
	uint64_t *ns;         /* every sample of every round, nanoseconds   */
	size_t n;             /* samples collected                          */
	double round_med[64]; /* median of each round, us (first 64 rounds) */
	size_t rounds_done;
	int failed;           /* the series could not complete a round      */
	int unavailable;      /* the kernel refuses this backend (note why) */
	char note[256];       /* why, or a sanity-check warning             */
	uint64_t vmas_max;    /* most /proc/self/maps lines seen (half-way
	                         through a round, and at its end)           */
};

static struct series ser[S_COUNT];
static size_t opt_pages = 4096;
static unsigned opt_rounds = 5;
static const char *opt_json;
static uint64_t opt_seed = 0x5eed0f00dULL;
static size_t opt_pretouch_mib = 64;
static size_t page;

/* ------------------------------------------------------------ utilities */

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* xorshift64*: reproducible for a given --seed */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void shuffle(size_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next() % i);
		size_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted v[0..n), nearest rank. */
static double quantile_us(const uint64_t *v, size_t n, double q)
{
	if (n == 0)
		return 0.0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

static double median_us(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u64);
	return quantile_us(v, n, 0.5);
}

/* Number of VMAs of this process (lines of /proc/self/maps), or 0. */
static uint64_t count_vmas(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[65536];
	uint64_t lines = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

/* Remember the largest VMA count seen in series s. */
static void note_vmas(enum series_id s)
{
	uint64_t v = count_vmas();
	if (v > ser[s].vmas_max)
		ser[s].vmas_max = v;
}

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * Populate and free a large block, untimed, so that the memory the next
 * series touches is backed by the host again (see DESIGN-NOTES).
 */
static void pretouch(size_t need)
{
	size_t len = opt_pretouch_mib << 20;
	if (len == 0)
		return; /* --pretouch-mib 0: off, to see what it is for */
	if (len < 2 * need)
		len = 2 * need;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (!MAP_POPULATE) /* only if the libc lacks it */
		for (size_t off = 0; off < len; off += page)
			((volatile char *)p)[off] = 1;
	munmap(p, len);
}

static void fail_series(enum series_id s, const char *fmt, const char *what,
                        long err)
{
	ser[s].failed = 1;
	snprintf(ser[s].note, sizeof ser[s].note, fmt, what, err);
}

/* Record one round's samples (already appended at ser[s].ns + base). */
static void close_round(enum series_id s, size_t base, size_t n)
{
	uint64_t *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return;
	memcpy(tmp, ser[s].ns + base, n * sizeof *tmp);
	if (ser[s].rounds_done < 64)
		ser[s].round_med[ser[s].rounds_done] = median_us(tmp, n);
	ser[s].rounds_done++;
	free(tmp);
}

/* ------------------------------------------------------- (a) the kernel */

static void run_kernel(const size_t *order)
{
	enum series_id s = S_KERNEL;
	size_t len = opt_pages * page, base = ser[s].n;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fail_series(s, "%s: %ld", "mmap", errno);
		return;
	}
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE); /* one fault per 4 KiB page */
#endif
	long flt0 = minor_faults();
	uint64_t *out = ser[s].ns + base;
	for (size_t i = 0; i < opt_pages; i++) {
		volatile char *a = p + order[i] * page;
		uint64_t t0 = now_ns();
		*a = 1;
		uint64_t t1 = now_ns();
		out[i] = t1 - t0;
	}
	long flt = minor_faults() - flt0;
	ser[s].n += opt_pages;
	if (flt < (long)opt_pages && !ser[s].note[0])
		snprintf(ser[s].note, sizeof ser[s].note,
		         "only %ld minor faults for %zu pages (huge pages?)",
		         flt, opt_pages);
	munmap(p, len);
	close_round(s, base, opt_pages);
}

/* --------------------------------------------------- (b) the trap floor */

static char *trap_lo, *trap_hi;
static volatile sig_atomic_t trap_count;
static sigjmp_buf trap_escape;
static volatile sig_atomic_t trap_errno;

static void trap_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *a = si->si_addr;
	int saved = errno;
	if (a < trap_lo || a >= trap_hi) {
		/* not ours: let the default action take it */
		signal(SIGSEGV, SIG_DFL);
		errno = saved;
		return;
	}
	char *pg = (char *)((uintptr_t)a & ~(uintptr_t)(page - 1));
	if (mprotect(pg, page, PROT_READ | PROT_WRITE) != 0) {
		trap_errno = errno;
		siglongjmp(trap_escape, 1); /* e.g. vm.max_map_count reached */
	}
	trap_count++;
	errno = saved;
}

static void run_trap(const size_t *order)
{
	enum series_id s = S_TRAP;
	size_t len = opt_pages * page, base = ser[s].n;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fail_series(s, "%s: %ld", "mmap", errno);
		return;
	}
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE);
#endif
	for (size_t off = 0; off < len; off += page) /* populate, untimed */
		((volatile char *)p)[off] = 0;
	if (mprotect(p, len, PROT_NONE) != 0) {
		fail_series(s, "%s: %ld", "mprotect", errno);
		munmap(p, len);
		return;
	}

	struct sigaction sa, prev;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = trap_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	trap_lo = p;
	trap_hi = p + len;
	trap_count = 0;
	trap_errno = 0;

	/* Only around this series: whatever was installed (dpemu's front
	   handler, once a space exists) comes back afterwards. */
	if (sigaction(SIGSEGV, &sa, &prev) != 0) {
		fail_series(s, "%s: %ld", "sigaction", errno);
		munmap(p, len);
		return;
	}
	uint64_t *out = ser[s].ns + base;
	volatile size_t i = 0;
	if (sigsetjmp(trap_escape, 1) == 0) {
		for (; i < opt_pages; i++) {
			volatile char *a = p + order[i] * page;
			if (i == opt_pages / 2)
				note_vmas(s); /* untimed: half the pages touched */
			uint64_t t0 = now_ns();
			*a = 1;
			uint64_t t1 = now_ns();
			out[i] = t1 - t0;
		}
	}
	sigaction(SIGSEGV, &prev, NULL);
	trap_lo = trap_hi = NULL;

	note_vmas(s);
	munmap(p, len);
	if (i < opt_pages) {
		ser[s].failed = 1;
		snprintf(ser[s].note, sizeof ser[s].note,
		         "mprotect failed after %zu of %zu pages: %s "
		         "(vm.max_map_count?)",
		         (size_t)i, opt_pages, strerror(trap_errno));
		return;
	}
	if ((size_t)trap_count != opt_pages && !ser[s].note[0])
		snprintf(ser[s].note, sizeof ser[s].note,
		         "%ld traps for %zu pages", (long)trap_count, opt_pages);
	ser[s].n += opt_pages;
	close_round(s, base, opt_pages);
}

/* ------------------------------------------------------------ (c) dpemu */

static void run_dpemu(enum series_id s, const size_t *order)
{
	size_t len = opt_pages * page, base = ser[s].n;
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;
	void *m = NULL;
	int rc;

	struct dpemu_pool_config pc;
	memset(&pc, 0, sizeof pc);
	pc.frames = opt_pages;
	pc.page_size = page;
	if ((rc = dpemu_pool_create(&pc, &pool)) != 0) {
		fail_series(s, "%s: %ld", "dpemu_pool_create", rc);
		snprintf(ser[s].note + strlen(ser[s].note),
		         sizeof ser[s].note - strlen(ser[s].note), " (%s)",
		         dpemu_last_error());
		return;
	}
	struct dpemu_space_config sc;
	memset(&sc, 0, sizeof sc);
	sc.reserve = len;
	sc.backend = series_backend[s].backend;
	sc.uffd_mode = series_backend[s].mode;
	sc.fault_around = 1; /* exactly one page per fault */
	if ((rc = dpemu_space_create(pool, &sc, &space)) != 0) {
		if (rc == -EPERM || rc == -ENOSYS) {
			ser[s].unavailable = 1;
			snprintf(ser[s].note, sizeof ser[s].note, "unavailable here: %s",
			         dpemu_last_error());
			dpemu_pool_destroy(pool);
			return;
		}
		fail_series(s, "%s: %ld", "dpemu_space_create", rc);
		snprintf(ser[s].note + strlen(ser[s].note),
		         sizeof ser[s].note - strlen(ser[s].note), " (%s)",
		         dpemu_last_error());
		dpemu_pool_destroy(pool);
		return;
	}
	rc = dpemu_map(space, NULL, len, PROT_READ | PROT_WRITE,
	               DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &m);
	if (rc != 0) {
		fail_series(s, "%s: %ld", "dpemu_map", rc);
		snprintf(ser[s].note + strlen(ser[s].note),
		         sizeof ser[s].note - strlen(ser[s].note), " (%s)",
		         dpemu_last_error());
		dpemu_space_destroy(space);
		dpemu_pool_destroy(pool);
		return;
	}

	uint64_t *out = ser[s].ns + base;
	char *p = m;
	for (size_t i = 0; i < opt_pages; i++) {
		volatile char *a = p + order[i] * page;
		if (i == opt_pages / 2)
			note_vmas(s); /* untimed: half the pages touched */
		uint64_t t0 = now_ns();
		*a = 1;
		uint64_t t1 = now_ns();
		out[i] = t1 - t0;
	}
	ser[s].n += opt_pages;

	/* Sanity: one fault and one zero-fill per page, all resident. */
	struct dpemu_stats st;
	if (dpemu_space_stats(space, &st) == 0 &&
	    (st.faults != opt_pages || st.zero_fills != opt_pages ||
	     st.pages_resident != opt_pages) && !ser[s].note[0])
		snprintf(ser[s].note, sizeof ser[s].note,
		         "expected %zu faults: faults=%" PRIu64
		         " zero_fills=%" PRIu64 " resident=%" PRIu64,
		         opt_pages, st.faults, st.zero_fills,
		         st.pages_resident);
	note_vmas(s);

	dpemu_space_destroy(space);
	dpemu_pool_destroy(pool);
	close_round(s, base, opt_pages);
}

/* ------------------------------------------------- the timing overhead */

static void run_timer(const size_t *order)
{
	enum series_id s = S_TIMER;
	size_t len = opt_pages * page, base = ser[s].n;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		fail_series(s, "%s: %ld", "mmap", errno);
		return;
	}
	for (size_t off = 0; off < len; off += page)
		((volatile char *)p)[off] = 0;
	uint64_t *out = ser[s].ns + base;
	for (size_t i = 0; i < opt_pages; i++) {
		volatile char *a = p + order[i] * page;
		uint64_t t0 = now_ns();
		*a = 1;
		uint64_t t1 = now_ns();
		out[i] = t1 - t0;
	}
	ser[s].n += opt_pages;
	munmap(p, len);
	close_round(s, base, opt_pages);
}

/* ------------------------------------------------------------- report */

struct summary {
	double med, p90, p99, max, rmin, rmax;
};

static void summarize(enum series_id s, struct summary *o)
{
	memset(o, 0, sizeof *o);
	if (ser[s].n == 0)
		return;
	qsort(ser[s].ns, ser[s].n, sizeof *ser[s].ns, cmp_u64);
	o->med = quantile_us(ser[s].ns, ser[s].n, 0.50);
	o->p90 = quantile_us(ser[s].ns, ser[s].n, 0.90);
	o->p99 = quantile_us(ser[s].ns, ser[s].n, 0.99);
	o->max = (double)ser[s].ns[ser[s].n - 1] / 1000.0;
	size_t r = ser[s].rounds_done < 64 ? ser[s].rounds_done : 64;
	o->rmin = o->rmax = r ? ser[s].round_med[0] : 0;
	for (size_t i = 1; i < r; i++) {
		if (ser[s].round_med[i] < o->rmin)
			o->rmin = ser[s].round_med[i];
		if (ser[s].round_med[i] > o->rmax)
			o->rmax = ser[s].round_med[i];
	}
}

static void fmt_ratio(char *buf, size_t n, double a, double b)
{
	if (a > 0 && b > 0)
		snprintf(buf, n, "%.2f", a / b);
	else
		snprintf(buf, n, "n/a");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "usage: %s [--pages N] [--rounds R] [--json FILE] [--seed S]\n"
	        "          [--pretouch-mib M]\n"
	        "\n"
	        "Time single first-touch page faults: the kernel's own anonymous\n"
	        "fault, a bare SIGSEGV+mprotect trap (the floor for any\n"
	        "SIGSEGV-based emulator) and dpemu's fault in random and\n"
	        "sequential order, interleaved in rounds.\n"
	        "\n"
	        "  --pages N         pages touched per series and round (default 4096)\n"
	        "  --rounds R        rounds (default 5)\n"
	        "  --json FILE       also write machine-readable results to FILE\n"
	        "  --seed S          seed of the random page order (default fixed)\n"
	        "  --pretouch-mib M  block populated and freed, untimed, before\n"
	        "                    each series (default 64; at least twice the\n"
	        "                    series' own memory; 0: off)\n"
	        "  --help            this text\n",
	        argv0);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v == 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' },
		{ "seed", required_argument, NULL, 's' },
		{ "pretouch-mib", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	size_t v;
	while ((c = getopt_long(argc, argv, "p:r:j:s:m:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (parse_size(optarg, &opt_pages) != 0 ||
			    opt_pages > (1u << 24)) {
				fprintf(stderr, "bad --pages: %s\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_size(optarg, &v) != 0 || v > 1000) {
				fprintf(stderr, "bad --rounds: %s\n", optarg);
				return 2;
			}
			opt_rounds = (unsigned)v;
			break;
		case 'j':
			opt_json = optarg;
			break;
		case 's':
			if (parse_size(optarg, &v) != 0) {
				fprintf(stderr, "bad --seed: %s\n", optarg);
				return 2;
			}
			opt_seed = v;
			break;
		case 'm':
			if (strcmp(optarg, "0") == 0)
				opt_pretouch_mib = 0;
			else if (parse_size(optarg, &opt_pretouch_mib) != 0) {
				fprintf(stderr, "bad --pretouch-mib: %s\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}

	page = (size_t)sysconf(_SC_PAGESIZE);
	rng_state = opt_seed ? opt_seed : 1;
	for (int s = 0; s < S_COUNT; s++) {
		ser[s].ns = calloc((size_t)opt_rounds * opt_pages,
		                   sizeof(uint64_t));
		if (!ser[s].ns) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
	}
	size_t *rnd = malloc(opt_pages * sizeof *rnd);
	size_t *seq = malloc(opt_pages * sizeof *seq);
	if (!rnd || !seq) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < opt_pages; i++)
		seq[i] = i;

	struct utsname un;
	uname(&un);
	printf("bench_fault: dpemu %s, Linux %s %s, page %zu B, %zu pages x %u "
	       "rounds, seed %" PRIu64 "\n",
	       dpemu_version(), un.release, un.machine, page, opt_pages,
	       opt_rounds, opt_seed);
	fflush(stdout);

	uint64_t t_start = now_ns();
	size_t need = opt_pages * page;
	for (unsigned r = 0; r < opt_rounds; r++) {
		shuffle(rnd, opt_pages);
		/* Rotate the order of the series from round to round, so no
		   series always runs first (or right after another). */
		for (unsigned k = 0; k < S_TIMER; k++) {
			enum series_id s = (enum series_id)((k + r) % S_TIMER);
			if (ser[s].failed || ser[s].unavailable)
				continue;
			pretouch(need * (s >= S_DPEMU_FIRST ? 2 : 1));
			switch (s) {
			case S_KERNEL:
				run_kernel(rnd);
				break;
			case S_TRAP:
				run_trap(rnd);
				break;
			default:
				run_dpemu(s, (s - S_DPEMU_FIRST) % 2 ? seq : rnd);
				break;
			}
		}
		run_timer(rnd);
	}
	double secs = (double)(now_ns() - t_start) / 1e9;

	struct summary sum[S_COUNT];
	for (int s = 0; s < S_COUNT; s++)
		summarize((enum series_id)s, &sum[s]);

	printf("%.1f s in all\n\n", secs);
	printf("%-11s %8s %8s %8s %9s %8s  %-17s %s\n", "series", "samples",
	       "median", "p90", "p99", "max", "round medians", "");
	printf("%-11s %8s %8s %8s %9s %8s  %-17s\n", "", "", "us", "us", "us",
	       "us", "min..max us");
	for (int s = 0; s < S_COUNT; s++) {
		char rr[40];
		snprintf(rr, sizeof rr, "%.2f..%.2f", sum[s].rmin,
		         sum[s].rmax);
		if (ser[s].n == 0)
			printf("%-11s %8s  (%s)\n", series_name[s], "-",
			       ser[s].unavailable ? "unavailable" : "failed");
		else
			printf("%-11s %8zu %8.2f %8.2f %9.2f %8.1f  %-17s\n",
			       series_name[s], ser[s].n, sum[s].med,
			       sum[s].p90, sum[s].p99, sum[s].max, rr);
	}
	printf("\n");
	for (int s = 0; s < S_COUNT; s++)
		printf("  %-11s %s%s%s\n", series_name[s], series_what[s],
		       ser[s].note[0] ? "\n              NOTE: " : "",
		       ser[s].note);
	printf("\nratios of medians (timer overhead not subtracted):\n");
	for (int s = S_DPEMU_FIRST; s <= S_DPEMU_LAST; s++) {
		char k[16], t[16];
		fmt_ratio(k, sizeof k, sum[s].med, sum[S_KERNEL].med);
		fmt_ratio(t, sizeof t, sum[s].med, sum[S_TRAP].med);
		printf("  %-11s / kernel %6s   / trap-floor %6s\n",
		       series_name[s], k, t);
	}
	{
		char k[16];
		fmt_ratio(k, sizeof k, sum[S_TRAP].med, sum[S_KERNEL].med);
		printf("  %-11s / kernel %6s\n", "trap-floor", k);
	}
	printf("process VMAs, most seen (half-way and at the end of a series):\n ");
	for (int s = S_TRAP; s <= S_DPEMU_LAST; s++)
		printf(" %s %" PRIu64 "%s", series_name[s], ser[s].vmas_max,
		       s < S_DPEMU_LAST ? "," : "\n");

	int status = 0;
	for (int s = 0; s < S_COUNT; s++)
		if (ser[s].failed || (ser[s].n == 0 && !ser[s].unavailable))
			status = 1;

	if (opt_json) {
		FILE *f = fopen(opt_json, "w");
		if (!f) {
			fprintf(stderr, "%s: %s\n", opt_json, strerror(errno));
			return 1;
		}
		fprintf(f, "{\n  \"benchmark\": \"bench_fault\",\n");
		fprintf(f, "  \"dpemu_version\": ");
		json_str(f, dpemu_version());
		fprintf(f, ",\n  \"kernel\": ");
		json_str(f, un.release);
		fprintf(f, ",\n  \"machine\": ");
		json_str(f, un.machine);
		fprintf(f,
		        ",\n  \"page_size\": %zu,\n  \"pages\": %zu,\n"
		        "  \"rounds\": %u,\n  \"seed\": %" PRIu64 ",\n"
		        "  \"pretouch_mib\": %zu,\n  \"seconds\": %.3f,\n",
		        page, opt_pages, opt_rounds, opt_seed,
		        opt_pretouch_mib, secs);
		fprintf(f, "  \"series\": {\n");
		for (int s = 0; s < S_COUNT; s++) {
			fprintf(f, "    \"%s\": {\"what\": ", series_name[s]);
			json_str(f, series_what[s]);
			fprintf(f,
			        ", \"samples\": %zu, \"median_us\": %.3f, "
			        "\"p90_us\": %.3f, \"p99_us\": %.3f, "
			        "\"max_us\": %.3f, \"round_medians_us\": [",
			        ser[s].n, sum[s].med, sum[s].p90, sum[s].p99,
			        sum[s].max);
			size_t r = ser[s].rounds_done < 64 ? ser[s].rounds_done
			                                   : 64;
			for (size_t i = 0; i < r; i++)
				fprintf(f, "%s%.3f", i ? ", " : "",
				        ser[s].round_med[i]);
			fprintf(f, "], \"vmas_max\": %" PRIu64
			           ", \"failed\": %s, \"unavailable\": %s, \"note\": ",
			        ser[s].vmas_max,
			        ser[s].failed ? "true" : "false",
			        ser[s].unavailable ? "true" : "false");
			json_str(f, ser[s].note);
			fprintf(f, "}%s\n", s + 1 < S_COUNT ? "," : "");
		}
		fprintf(f, "  },\n  \"ratios\": {\n");
		/* every dpemu series over the kernel and over the trap floor,
		   then the trap floor over the kernel */
		for (int s = S_DPEMU_FIRST; s <= S_DPEMU_LAST + 1; s++) {
			for (int d = S_KERNEL; d <= S_TRAP; d++) {
				enum series_id a = s <= S_DPEMU_LAST ? (enum series_id)s : S_TRAP;
				if (s > S_DPEMU_LAST && d == S_TRAP)
					break;
				double x = sum[a].med, y = sum[d].med;
				fprintf(f, "    \"%s_over_%s\": ", series_name[a],
				        series_name[d]);
				if (x > 0 && y > 0)
					fprintf(f, "%.3f", x / y);
				else
					fprintf(f, "null");
				fprintf(f, "%s\n", s > S_DPEMU_LAST ? "" : ",");
			}
		}
		fprintf(f, "  }\n}\n");
		if (fclose(f) != 0) {
			fprintf(stderr, "%s: %s\n", opt_json, strerror(errno));
			return 1;
		}
	}

	for (int s = 0; s < S_COUNT; s++)
		free(ser[s].ns);
	free(rnd);
	free(seq);
	return status;
}
