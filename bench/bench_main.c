/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_main.c - what a page fault costs under dpemu, next to what the kernel
 * itself and a bare SIGSEGV trap cost on the same machine, in one run.
 *
 * Every series is a list of samples in nanoseconds.  Three kinds:
 *
 *   fault  one access timed alone (clock_gettime(CLOCK_MONOTONIC) right
 *          before and after a one-byte read or write of a page that was
 *          never touched): one sample per page;
 *   chunk  an ascending pass timed 64 pages at a time: one sample per chunk,
 *          the chunk's time / 64 (with fault-around one fault maps several
 *          pages, so only a per-page cost over many pages means anything);
 *   pass   threads: the wall time of a whole pass (first start to last end)
 *          / pages; one sample per pass;
 *   scan   eviction: the time of one pass over a working set / pages
 *          touched; one sample per pass (kept in picoseconds, since a
 *          pass over plain memory costs a few nanoseconds a page).
 *
 * The series (B is segv, uffd or sigbus, the labels of the backends
 * sigsegv, uffd and uffd-sigbus: the SIGSEGV backend, userfaultfd with its
 * handler thread, userfaultfd in SIGBUS mode; bk_name, bk_backend):
 *
 *   kernel-w, kernel-seq-w, kernel-r
 *          the kernel's own anonymous first-touch fault (private anonymous
 *          mmap, THP off for it): write in random order, write in
 *          ascending order, read in random order (maps the zero page);
 *   trap-floor
 *          a SIGSEGV handler that does one mprotect(PROT_READ|PROT_WRITE) of
 *          the faulting page of a populated PROT_NONE region: the least any
 *          SIGSEGV-based emulator pays per fault;
 *   B-rand-w, B-seq-w, B-rand-r
 *          dpemu's first-touch fault, fault_around 1, the same accesses;
 *   kernel-seqpass, B-fa16, B-fa16p
 *          ascending first-touch writes, chunk kind: the kernel's per-page
 *          cost, and dpemu's with fault_around 16; -p: over a pool created
 *          with populate (every frame's host memory committed, zeroed, in
 *          dpemu_pool_create: timed apart, not in the samples);
 *   kernel-file-r, kernel-file-w, B-file-r, B-file-w
 *          first touch of a private mapping of a file in the page cache
 *          (written a page at a time, read again untimed before each use):
 *          kernel-file-r keeps only the accesses that took a minor fault
 *          (getrusage before and after each, untimed), because the kernel
 *          maps up to 16 cached neighbours per read fault; a private write
 *          fault copies the page, one fault per page, in both;
 *   kernel-cow, B-cow
 *          copy-on-write break: pages populated, then fork(2) (the child
 *          waits on a pipe) or dpemu_space_fork (the child space stays),
 *          then the first write to each page in the parent, random order;
 *   kernel-1thr, kernel-2thr, B-1thr, B-2thr
 *          pass kind: one thread writes every page of a mapping in random
 *          order, or two threads write one half each; throughput is pages
 *          per second of the pass.  The one- and two-thread passes of a
 *          backend alternate, so they see the same drift;
 *   B-ref, B-ref-alias
 *          a reference fault: a CLOCK pool of --pages/4 frames, all of them
 *          prefaulted; one more page's first touch makes the hand clear
 *          (and revoke) every other frame's reference bit in one lap; then
 *          the first write to each revoked page, random order.  The touch
 *          that revoked them is timed too: the revocation cost per page.
 *          -alias: the revoked pages sit in frames that are not their
 *          identity frames, so the host maps each with its own mmap;
 *   P-S    eviction scans, P a policy (fifo, clock, lru, random) and S a
 *          scan: a pool of --evict-frames N frames, one space mapping 2N or
 *          4N anonymous private pages, one word per page written (or read)
 *          per pass, ascending (seq2x, seq4x, seq4x-r), in a fresh random
 *          order each pass (rand4x), or 80 % of the accesses to a hot
 *          eighth of the pages, half the pool (hot4x).  Two untimed passes
 *          (ascending writes, so every page has contents, then one of the
 *          scan), then timed passes; the space's eviction counters are
 *          recorded per pass.  One backend (--evict-backend; default
 *          uffd-sigbus where the kernel allows it, else sigsegv); plain-S is the
 *          same scan over populated anonymous memory, plain-first4x a
 *          first-touch ascending pass over freshly mmap'd memory;
 *   timer  a write to a resident page: what the timing adds to a sample.
 *
 * Method (see doc/performance.md, also for the host costs it cites): all
 * series run in every round, in an order rotated from round to round, so
 * drift of the host hits them alike; before each run a large block is populated and freed, untimed,
 * because on this VM memory left free is handed back to the host and its
 * next touch costs 12-20 us.  Every dpemu run gets a fresh pool and space.
 * Results are ratios between series of the same run.
 *
 * Uses only <dpemu.h>, libc and pthreads.  Linux only (as dpemu is).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dpemu.h>

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_POPULATE
#define MAP_POPULATE 0
#endif

#define MAX_SERIES 96
#define MAX_ROUND_MEDS 64
#define CHUNK 64          /* pages per sample of a chunk series           */
#define FA_PAGES 16       /* fault_around of the B-fa16(p) series         */
#define TARGET_RAND_TRAP 1.5
#define TARGET_SEQ_KERNEL 1.0
#define TARGET_COW_KERNEL 2.0
#define TARGET_THREADS 1.6
#define TARGET_META_BYTES 16.0
#define EV_FRAMES 256     /* default pool of the eviction scans           */
#define EV_TIMED 3        /* timed passes per eviction run                */
#define EV_PASSES (1 + EV_TIMED) /* the scan's warm-up pass, then timed   */
#define PLAIN_REPS 32     /* passes per sample over populated memory      */
#define HOT_PERCENT 80    /* hot4x: share of the accesses to the hot set  */
#define HOT_DIV 8         /* hot4x: the hot set is 1/8 of the pages (half
                             the pool)                                    */

enum op {
	OP_TIMER,
	OP_TRAP,
	OP_K_ANON,
	OP_K_SEQPASS,
	OP_K_FILE,
	OP_K_COW,
	OP_K_SHM,
	OP_K_THREADS,
	OP_SPIN_THREADS,
	OP_TRAP_THREADS,
	OP_K_SHMPOP,
	OP_D_ANON,
	OP_D_SEQPASS,
	OP_D_FILE,
	OP_D_COW,
	OP_D_THREADS,
	OP_D_REF,
	OP_PLAIN_SCAN,
	OP_PLAIN_FIRST,
	OP_D_SCAN,
};

enum kind { KIND_FAULT, KIND_CHUNK, KIND_PASS, KIND_SCAN };
static const char *const kind_name[] = { "fault", "chunk", "pass", "scan" };

/* The scans of the eviction series: a working set of mult x --evict-frames
   pages, in one of three orders, written or read. */
enum ev_order { ORD_SEQ, ORD_RAND, ORD_HOT };
struct scan_def {
	const char *name;
	int mult;
	enum ev_order order;
	int write;
	const char *what;
};
static const struct scan_def scans[] = {
	{ "seq2x", 2, ORD_SEQ, 1, "ascending writes" },
	{ "seq4x", 4, ORD_SEQ, 1, "ascending writes" },
	{ "seq4x-r", 4, ORD_SEQ, 0, "ascending reads (after a write pass)" },
	{ "rand4x", 4, ORD_RAND, 1, "writes, a fresh random order each pass" },
	{ "hot4x", 4, ORD_HOT, 1, "writes, 80 % of them to a hot eighth of the "
	  "pages (half the pool)" },
};
#define NSCANS ((int)(sizeof scans / sizeof scans[0]))
static const enum dpemu_policy ev_policies[] = {
	DPEMU_POLICY_FIFO, DPEMU_POLICY_CLOCK, DPEMU_POLICY_LRU, DPEMU_POLICY_RANDOM,
};
#define NPOLICIES ((int)(sizeof ev_policies / sizeof ev_policies[0]))

enum bk { BK_NONE, BK_SEGV, BK_UFFD, BK_SIGBUS, BK_COUNT };
/* bk_name: the short label that starts a series' name (segv-rand-w,
 * sigbus-1thr: historic, kept so that results stay comparable);
 * bk_backend: the backend's name as everywhere else in dpemu (DPEMU_BACKEND,
 * dpemu backends, --evict-backend, the JSON's "backend" keys). */
static const char *const bk_name[BK_COUNT] = { "kernel", "segv", "uffd", "sigbus" };
static const char *const bk_backend[BK_COUNT] = { "kernel", "sigsegv", "uffd", "uffd-sigbus" };
static const char *const bk_what[BK_COUNT] = {
	"the kernel", "dpemu, SIGSEGV backend", "dpemu, userfaultfd handler thread",
	"dpemu, userfaultfd SIGBUS mode",
};

struct series {
	/* definition */
	char name[24];
	char what[160];
	const char *group;
	const char *tag;  /* what --only also accepts for it ("evict", "ref") */
	enum op op;
	enum bk bk;
	int random;     /* random order, else ascending                     */
	int write;      /* write first, else read first                     */
	enum kind kind;
	size_t fa;      /* fault_around of a dpemu space                    */
	int threads;    /* 1 or 2 for the thread series                     */
	int kref;       /* the kernel series to compare with, or -1 (scans:
	                   the plain-memory scan)                           */
	int scan;       /* scans[] index of a scan series                   */
	int alias;      /* B-ref-alias: the revoked pages are aliases       */
	enum dpemu_policy policy; /* of a dpemu scan series               */
	int populate;   /* a dpemu series whose pool is created populated   */
	/* results */
	uint64_t *ns;   /* samples, nanoseconds (per page for chunk/pass)   */
	size_t n, cap;
	uint64_t total_ns, total_pages; /* chunk and pass: exact sums      */
	double round_med[MAX_ROUND_MEDS];
	size_t rounds_done;
	int failed, unavailable;
	char note[256];
	uint64_t vmas_max;
	long touches, faulted; /* kernel-file-r: accesses, and those faulted */
	uint64_t meta_map, meta_touched; /* metadata_bytes after map / touch */
	/* scans: sums over the timed passes */
	uint64_t ev_pages, ev_faults, ev_zero_fills, ev_evictions, ev_swap_outs,
	         ev_swap_ins, ev_ref_faults;
	uint64_t ev_resident, ev_aliases; /* after each run (dpemu_query)     */
	/* B-ref: the touches that revoked the references, and how many */
	uint64_t rv_ns, rv_pages;
	/* populated pools: time in dpemu_pool_create, and frames populated */
	uint64_t pop_ns, pop_frames;
	/* summary, microseconds */
	double min, p1, p10, p25, med, p75, p90, p99, max, mean, rmin, rmax;
};

static struct series ser[MAX_SERIES];
static int nser;

static size_t opt_pages;
static unsigned opt_rounds;
static unsigned opt_passes;
static const char *opt_json, *opt_svg;
static uint64_t opt_seed;
static size_t opt_pretouch_mib;
static const char *opt_only;
static size_t opt_ev_frames;
static enum bk opt_ev_bk; /* BK_NONE: sigbus if allowed, else segv */
static enum bk ev_bk;
static size_t page;

static int file_fd = -1;
static char file_path[64];
static size_t *rnd, *seq, *half[2];
static size_t half_n[2];

/* eviction scans: the orders of this round, per scan and pass */
static size_t *ev_seq, *ev_perm; /* ascending; scratch of make_orders */
static size_t *ev_ord[NSCANS][EV_PASSES];
static size_t *ref_list;  /* B-ref: the revoked pages, in random order */
static size_t *ref_order; /* B-ref: the round's random order of its pages */

/* sparse metadata: touched pages spread over a 64x larger mapping */
static uint64_t sparse_meta, sparse_pages;
static char sparse_note[256];

/* ------------------------------------------------------------ utilities */

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t timed_touch(char *a, int write)
{
	uint64_t t0 = now_ns();
	if (write)
		*(volatile char *)a = 1;
	else
		(void)*(volatile char *)a;
	uint64_t t1 = now_ns();
	return t1 - t0;
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

/* The q-quantile (0..1) of sorted v[0..n), nearest rank, in us. */
static double quantile_us(const uint64_t *v, size_t n, double q)
{
	if (n == 0)
		return 0.0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

/* log10 without libm (the tool links no -lm). */
static double lg10(double x)
{
	if (x <= 0)
		return -30.0;
	int e = 0;
	while (x >= 2.0) {
		x /= 2.0;
		e++;
	}
	while (x < 1.0) {
		x *= 2.0;
		e--;
	}
	double y = (x - 1.0) / (x + 1.0), y2 = y * y, term = y, sum = 0.0;
	for (int k = 1; k < 41; k += 2) {
		sum += term / k;
		term *= y2;
	}
	return (2.0 * sum + e * 0.69314718055994531) / 2.30258509299404568;
}

static double pow10i(int e)
{
	double v = 1.0;
	for (; e > 0; e--)
		v *= 10.0;
	for (; e < 0; e++)
		v /= 10.0;
	return v;
}

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

static void note_vmas(struct series *s)
{
	uint64_t v = count_vmas();
	if (v > s->vmas_max)
		s->vmas_max = v;
}

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * Populate and free a large block, untimed, so that the memory the next
 * run touches is backed by the host again (on the reference VM, freed
 * memory goes back to the host and its next touch costs 12-20 us a page;
 * doc/performance.md, "Host costs measured on the reference machine").
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

static void set_note(struct series *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_note(struct series *s, const char *fmt, ...)
{
	if (s->note[0])
		return; /* keep the first */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->note, sizeof s->note, fmt, ap);
	va_end(ap);
}

static void fail(struct series *s, const char *what, long err)
{
	s->failed = 1;
	s->note[0] = 0;
	if (err < 0)
		set_note(s, "%s: %s (%s)", what, dpemu_strerror((int)err),
		         dpemu_last_error());
	else
		set_note(s, "%s: %s", what, strerror((int)err));
}

/* Record one round's samples (appended at s->ns + base). */
static void close_round(struct series *s, size_t base)
{
	size_t n = s->n - base;
	if (n == 0)
		return;
	uint64_t *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return;
	memcpy(tmp, s->ns + base, n * sizeof *tmp);
	qsort(tmp, n, sizeof *tmp, cmp_u64);
	if (s->rounds_done < MAX_ROUND_MEDS)
		s->round_med[s->rounds_done] = quantile_us(tmp, n, 0.5) /
		                               (s->kind == KIND_SCAN ? 1000.0 : 1.0);
	s->rounds_done++;
	free(tmp);
}

static char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE); /* one fault per 4 KiB page */
#endif
	return p;
}

/* Time opt_pages single accesses of p in the given order. */
static void fault_loop(struct series *s, char *p, const size_t *order, int vmas)
{
	uint64_t *out = s->ns + s->n;
	for (size_t i = 0; i < opt_pages; i++) {
		if (vmas && i == opt_pages / 2)
			note_vmas(s); /* untimed: half the pages touched */
		out[i] = timed_touch(p + order[i] * page, s->write);
	}
	s->n += opt_pages;
}

/* Time an ascending pass of writes over p, CHUNK pages per sample. */
static void chunk_loop(struct series *s, char *p)
{
	uint64_t *out = s->ns + s->n;
	size_t chunks = opt_pages / CHUNK;
	for (size_t c = 0; c < chunks; c++) {
		char *q = p + c * CHUNK * page;
		uint64_t t0 = now_ns();
		for (size_t i = 0; i < CHUNK; i++)
			*(volatile char *)(q + i * page) = 1;
		uint64_t dt = now_ns() - t0;
		out[c] = (dt + CHUNK / 2) / CHUNK;
		s->total_ns += dt;
		s->total_pages += CHUNK;
	}
	s->n += chunks;
}

/* Read the test file whole, untimed, so its pages are in the page cache. */
static void file_warm(void)
{
	char buf[65536];
	for (off_t off = 0; off < (off_t)(opt_pages * page); off += sizeof buf)
		if (pread(file_fd, buf, sizeof buf, off) <= 0)
			break;
}

/* ----------------------------------------------------- kernel series */

static void run_k_anon(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	long f0 = minor_faults();
	if (s->kind == KIND_CHUNK)
		chunk_loop(s, p); /* kernel-seqpass */
	else
		fault_loop(s, p, s->random ? rnd : seq, 0);
	long f = minor_faults() - f0;
	if (f < (long)opt_pages)
		set_note(s, "only %ld minor faults for %zu pages (huge pages?)",
		         f, opt_pages);
	munmap(p, len);
	close_round(s, base);
}

static void run_k_file(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	file_warm();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, file_fd, 0);
	if (p == MAP_FAILED)
		return fail(s, "mmap of the file", errno);
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE);
#endif
	if (s->write) {
		long f0 = minor_faults();
		fault_loop(s, p, rnd, 0);
		long f = minor_faults() - f0;
		if (f < (long)opt_pages)
			set_note(s, "only %ld minor faults for %zu pages", f,
			         opt_pages);
	} else {
		/* The kernel maps cached neighbours with each read fault:
		   keep the accesses that faulted (counted outside the timing). */
		uint64_t *out = s->ns + s->n;
		size_t k = 0;
		for (size_t i = 0; i < opt_pages; i++) {
			long f0 = minor_faults();
			uint64_t dt = timed_touch(p + rnd[i] * page, 0);
			if (minor_faults() != f0)
				out[k++] = dt;
		}
		s->n += k;
		s->touches += (long)opt_pages;
		s->faulted += (long)k;
	}
	munmap(p, len);
	close_round(s, base);
}

/* A fresh memfd of len bytes mapped MAP_SHARED (no huge pages), as a
   pool's frames are; NULL with the series failed. */
static char *map_fresh_memfd(struct series *s, size_t len)
{
	int fd = memfd_create("dpemu-bench", MFD_CLOEXEC);
	char *p;

	if (fd < 0) {
		fail(s, "memfd_create", errno);
		return NULL;
	}
	if (ftruncate(fd, (off_t)len) != 0) {
		close(fd);
		fail(s, "ftruncate", errno);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fail(s, "mmap of a memfd", errno);
		return NULL;
	}
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE);
#endif
	return p;
}

/* A fresh memfd mapped MAP_SHARED: what a first touch of a frame of a pool
   (itself a memfd) costs the host, without dpemu. */
static void run_k_shm(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_fresh_memfd(s, len);
	if (!p)
		return;
	long f0 = minor_faults();
	if (s->kind == KIND_CHUNK)
		chunk_loop(s, p);
	else
		fault_loop(s, p, s->random ? rnd : seq, 0);
	long f = minor_faults() - f0;
	if (f < (long)opt_pages)
		set_note(s, "only %ld minor faults for %zu pages", f, opt_pages);
	munmap(p, len);
	close_round(s, base);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* A fresh memfd mapped MAP_SHARED, populated FA_PAGES pages per
   madvise(MADV_POPULATE_WRITE) and then written, ascending: what making a
   fault-around window's host pages present in one call costs. */
static void run_k_shmpop(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_fresh_memfd(s, len);
	if (!p)
		return;
	if (madvise(p, FA_PAGES * page, MADV_POPULATE_WRITE) != 0) {
		s->unavailable = 1;
		snprintf(s->note, sizeof s->note,
		         "unavailable here: madvise(MADV_POPULATE_WRITE): %s",
		         strerror(errno));
		munmap(p, len);
		return;
	}
	uint64_t *out = s->ns + s->n;
	size_t chunks = opt_pages / CHUNK;
	for (size_t c = 0; c < chunks; c++) {
		char *q = p + c * CHUNK * page;
		uint64_t t0 = now_ns();
		for (size_t i = 0; i < CHUNK; i += FA_PAGES) {
			madvise(q + i * page, FA_PAGES * page, MADV_POPULATE_WRITE);
			for (size_t j = i; j < i + FA_PAGES; j++)
				*(volatile char *)(q + j * page) = 1;
		}
		uint64_t dt = now_ns() - t0;
		out[c] = (dt + CHUNK / 2) / CHUNK;
		s->total_ns += dt;
		s->total_pages += CHUNK;
	}
	s->n += chunks;
	munmap(p, len);
	close_round(s, base);
}

static void run_k_cow(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	for (size_t off = 0; off < len; off += page) /* populate, untimed */
		p[off] = 2;
	int pfd[2];
	if (pipe(pfd) != 0) {
		munmap(p, len);
		return fail(s, "pipe", errno);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		munmap(p, len);
		return fail(s, "fork", errno);
	}
	if (pid == 0) {
		/* the child keeps its references until the parent is done */
		char c;
		close(pfd[1]);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pfd[0]);
	long f0 = minor_faults();
	fault_loop(s, p, rnd, 0);
	long f = minor_faults() - f0;
	close(pfd[1]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (f < (long)opt_pages)
		set_note(s, "only %ld minor faults for %zu pages", f, opt_pages);
	munmap(p, len);
	close_round(s, base);
}

/* ----------------------------------------------------------- threads */

struct worker {
	pthread_t tid;
	char *p;
	const size_t *idx;
	size_t n;
	int cpu;        /* pinned to this CPU, or -1                        */
	int spin;       /* the control: arithmetic instead of accesses      */
	uint64_t t0, t1;
};

static volatile uint64_t spin_sink;
static atomic_int pass_ready, pass_go;

/*
 * Each worker pins itself to its own CPU and then spins on pass_go rather
 * than sleeping on a barrier: a thread woken from a futex is placed on the
 * waker's CPU (wake-affine) and can share it with the other worker for
 * milliseconds, which serializes a pass of a few milliseconds whatever the
 * code under test does (the spin control showed 1.0 x with a barrier).
 */
static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	atomic_fetch_add(&pass_ready, 1);
	while (!atomic_load_explicit(&pass_go, memory_order_acquire))
		;
	w->t0 = now_ns();
	if (w->spin) {
		/* the control: about 2 us of arithmetic per page, no memory */
		uint64_t x = 88172645463325252ULL;
		for (size_t i = 0; i < w->n; i++)
			for (int k = 0; k < 1000; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
			}
		spin_sink = x;
	} else {
		for (size_t i = 0; i < w->n; i++)
			*(volatile char *)(w->p + w->idx[i] * page) = 1;
	}
	w->t1 = now_ns();
	return NULL;
}

/* One pass over p with nthr threads; returns its wall time in ns. */
static uint64_t thread_pass(char *p, int nthr, int spin)
{
	struct worker w[2];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int err;
	atomic_store(&pass_ready, 0);
	atomic_store(&pass_go, 0);
	for (int t = 0; t < nthr; t++) {
		w[t].p = p;
		w[t].idx = nthr == 1 ? rnd : half[t];
		w[t].n = nthr == 1 ? opt_pages : half_n[t];
		w[t].cpu = ncpu >= nthr ? t : -1;
		w[t].spin = spin;
		if ((err = pthread_create(&w[t].tid, NULL, worker_fn, &w[t])) != 0) {
			/* cannot happen short of resources; a started worker
			   would spin forever, so give up on the process */
			fprintf(stderr, "bench: pthread_create: %s\n", strerror(err));
			exit(1);
		}
	}
	while (atomic_load(&pass_ready) < nthr)
		sched_yield();
	atomic_store_explicit(&pass_go, 1, memory_order_release);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int t = 0; t < nthr; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].t0 < lo)
			lo = w[t].t0;
		if (w[t].t1 > hi)
			hi = w[t].t1;
	}
	return hi - lo;
}

static void record_pass(struct series *s, uint64_t dt)
{
	s->ns[s->n++] = (dt + opt_pages / 2) / opt_pages;
	s->total_ns += dt;
	s->total_pages += opt_pages;
}

/* ----------------------------------------------------- the trap floor */

static char *trap_lo, *trap_hi;
static volatile sig_atomic_t trap_count;
static sigjmp_buf trap_escape;
static volatile sig_atomic_t trap_errno;
static volatile sig_atomic_t trap_threaded; /* no siglongjmp across threads */

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
		if (trap_threaded) {
			signal(SIGSEGV, SIG_DFL); /* the access kills us */
			errno = saved;
			return;
		}
		siglongjmp(trap_escape, 1); /* e.g. vm.max_map_count reached */
	}
	trap_count++;
	errno = saved;
}

/* A populated PROT_NONE region of len bytes with the trap handler armed;
   NULL (errno set) on failure. */
static char *trap_arm(size_t len, struct sigaction *prev)
{
	char *p = map_anon(len);
	if (!p)
		return NULL;
	for (size_t off = 0; off < len; off += page) /* populate, untimed */
		((volatile char *)p)[off] = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = trap_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	trap_lo = p;
	trap_hi = p + len;
	trap_count = 0;
	trap_errno = 0;
	if (mprotect(p, len, PROT_NONE) != 0 || sigaction(SIGSEGV, &sa, prev) != 0) {
		int e = errno;
		munmap(p, len);
		trap_lo = trap_hi = NULL;
		errno = e;
		return NULL;
	}
	return p;
}

static void trap_disarm(char *p, size_t len, const struct sigaction *prev)
{
	sigaction(SIGSEGV, prev, NULL);
	trap_lo = trap_hi = NULL;
	munmap(p, len);
}

static void run_trap(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	struct sigaction prev;
	/* Only around this run: whatever was installed comes back after. */
	char *p = trap_arm(len, &prev);
	if (!p)
		return fail(s, "trap set-up", errno);
	uint64_t *out = s->ns + base;
	volatile size_t i = 0;
	if (sigsetjmp(trap_escape, 1) == 0) {
		for (; i < opt_pages; i++) {
			if (i == opt_pages / 2)
				note_vmas(s);
			out[i] = timed_touch(p + rnd[i] * page, 1);
		}
	}
	note_vmas(s);
	trap_disarm(p, len, &prev);
	if (i < opt_pages) {
		s->failed = 1;
		s->note[0] = 0;
		set_note(s, "mprotect failed after %zu of %zu pages: %s "
		         "(vm.max_map_count?)", (size_t)i, opt_pages,
		         strerror(trap_errno));
		return;
	}
	if ((size_t)trap_count != opt_pages)
		set_note(s, "%ld traps for %zu pages", (long)trap_count, opt_pages);
	s->n += opt_pages;
	close_round(s, base);
}

static void run_timer(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	for (size_t off = 0; off < len; off += page)
		((volatile char *)p)[off] = 0;
	fault_loop(s, p, rnd, 0);
	munmap(p, len);
	close_round(s, base);
}

/* ------------------------------------------------------------- dpemu */

struct dctx {
	dpemu_pool *pool;
	dpemu_space *space;
	char *m;
};

static void d_close(struct dctx *c)
{
	if (c->space)
		dpemu_space_destroy(c->space);
	if (c->pool)
		dpemu_pool_destroy(c->pool);
	c->space = NULL;
	c->pool = NULL;
}

/*
 * A fresh pool of `frames` frames (replacing by `policy`; populated if
 * s->populate, its creation timed into s->pop_ns, never into a sample) and a
 * space of `pages` pages with one mapping of map_pages pages: anonymous, or
 * of the test file.  0, or -1 with s marked failed or unavailable.
 */
static int d_open_ex(struct series *s, struct dctx *c, size_t frames, size_t pages,
                     size_t map_pages, enum dpemu_policy policy, int file)
{
	int rc;
	memset(c, 0, sizeof *c);
	struct dpemu_pool_config pc;
	memset(&pc, 0, sizeof pc);
	pc.frames = frames;
	pc.page_size = page;
	pc.policy = policy;
	pc.seed = policy == DPEMU_POLICY_RANDOM ? opt_seed : 0;
	pc.populate = s->populate != 0;
	uint64_t t0 = now_ns();
	rc = dpemu_pool_create(&pc, &c->pool);
	uint64_t t1 = now_ns();
	if (rc != 0) {
		c->pool = NULL;
		fail(s, "dpemu_pool_create", rc);
		return -1;
	}
	if (s->populate) {
		s->pop_ns += t1 - t0;
		s->pop_frames += frames;
	}
	struct dpemu_space_config sc;
	memset(&sc, 0, sizeof sc);
	sc.reserve = pages * page;
	sc.backend = s->bk == BK_SEGV ? DPEMU_BACKEND_SIGSEGV : DPEMU_BACKEND_UFFD;
	sc.uffd_mode = s->bk == BK_SIGBUS ? DPEMU_UFFD_SIGBUS : DPEMU_UFFD_THREAD;
	sc.fault_around = s->fa;
	if ((rc = dpemu_space_create(c->pool, &sc, &c->space)) != 0) {
		c->space = NULL;
		if (rc == -EPERM || rc == -ENOSYS) {
			s->unavailable = 1;
			snprintf(s->note, sizeof s->note, "unavailable here: %s",
			         dpemu_last_error());
		} else {
			fail(s, "dpemu_space_create", rc);
		}
		d_close(c);
		return -1;
	}
	void *m;
	rc = dpemu_map(c->space, NULL, map_pages * page, PROT_READ | PROT_WRITE,
	               DPEMU_MAP_PRIVATE | (file ? 0 : DPEMU_MAP_ANONYMOUS),
	               file ? file_fd : -1, 0, &m);
	if (rc != 0) {
		fail(s, "dpemu_map", rc);
		d_close(c);
		return -1;
	}
	c->m = m;
	return 0;
}

/* A pool without replacement and a space with one mapping of opt_pages
   pages. */
static int d_open(struct series *s, struct dctx *c, size_t frames, size_t pages,
                  int file)
{
	return d_open_ex(s, c, frames, pages, opt_pages, DPEMU_POLICY_NONE, file);
}

static void d_stats(struct series *s, struct dctx *c, struct dpemu_stats *st)
{
	memset(st, 0, sizeof *st);
	int rc = dpemu_space_stats(c->space, st);
	if (rc != 0)
		set_note(s, "dpemu_space_stats: %s", dpemu_strerror(rc));
}

static void run_d_anon(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	size_t base = s->n;
	if (d_open(s, &c, opt_pages, opt_pages, 0) != 0)
		return;
	d_stats(s, &c, &st);
	s->meta_map = st.metadata_bytes;
	fault_loop(s, c.m, s->random ? rnd : seq, 1);
	d_stats(s, &c, &st);
	s->meta_touched = st.metadata_bytes;
	if (st.faults != opt_pages || st.pages_resident != opt_pages)
		set_note(s, "expected %zu faults: faults=%" PRIu64
		         " resident=%" PRIu64, opt_pages, st.faults,
		         st.pages_resident);
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

static void run_d_seqpass(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	size_t base = s->n;
	if (d_open(s, &c, opt_pages, opt_pages, 0) != 0)
		return;
	chunk_loop(s, c.m);
	d_stats(s, &c, &st);
	if (st.faults > opt_pages / s->fa + 1 || st.pages_resident != opt_pages)
		set_note(s, "expected %zu faults: faults=%" PRIu64
		         " resident=%" PRIu64, opt_pages / s->fa, st.faults,
		         st.pages_resident);
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

static void run_d_file(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	size_t base = s->n;
	if (d_open(s, &c, opt_pages, opt_pages, 1) != 0)
		return;
	file_warm();
	fault_loop(s, c.m, rnd, 0);
	d_stats(s, &c, &st);
	if (st.faults != opt_pages || st.file_reads != opt_pages)
		set_note(s, "expected %zu file reads: faults=%" PRIu64
		         " file_reads=%" PRIu64, opt_pages, st.faults,
		         st.file_reads);
	d_close(&c);
	close_round(s, base);
}

static void run_d_cow(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	dpemu_space *child = NULL;
	size_t base = s->n, len = opt_pages * page;
	int rc;
	if (d_open(s, &c, 2 * opt_pages, opt_pages, 0) != 0)
		return;
	if ((rc = dpemu_prefault(c.space, c.m, len, PROT_WRITE)) != 0) {
		fail(s, "dpemu_prefault", rc);
		return d_close(&c);
	}
	if ((rc = dpemu_space_fork(c.space, &child)) != 0) {
		if (rc == -EPERM || rc == -ENOSYS) {
			s->unavailable = 1;
			snprintf(s->note, sizeof s->note, "unavailable here: %s",
			         dpemu_last_error());
		} else {
			fail(s, "dpemu_space_fork", rc);
		}
		return d_close(&c);
	}
	struct dpemu_stats st0;
	d_stats(s, &c, &st0);
	fault_loop(s, c.m, rnd, 0);
	d_stats(s, &c, &st);
	uint64_t copies = st.cow_copies - st0.cow_copies;
	if (copies != opt_pages)
		set_note(s, "expected %zu copies: cow_copies=%" PRIu64
		         " cow_reuses=%" PRIu64, opt_pages, copies,
		         st.cow_reuses - st0.cow_reuses);
	dpemu_space_destroy(child);
	d_close(&c);
	close_round(s, base);
}

/* s is the one-thread series, s + 1 its two-thread partner: they run
   alternately, opt_passes each. */
static void run_threads(struct series *s)
{
	struct series *pair[2] = { s, s + 1 };
	size_t len = opt_pages * page;
	size_t base[2] = { s->n, s[1].n };
	for (unsigned r = 0; r < opt_passes; r++) {
		for (int k = 0; k < 2; k++) {
			struct series *t = pair[(k + r) % 2];
			int nthr = t->threads;
			if (t->failed || t->unavailable)
				continue;
			if (t->op != OP_SPIN_THREADS)
				pretouch(2 * len);
			if (t->op == OP_SPIN_THREADS) {
				record_pass(t, thread_pass(NULL, nthr, 1));
			} else if (t->op == OP_TRAP_THREADS) {
				struct sigaction prev;
				char *p = trap_arm(len, &prev);
				if (!p)
					return fail(t, "trap set-up", errno);
				trap_threaded = 1;
				uint64_t dt = thread_pass(p, nthr, 0);
				trap_threaded = 0;
				record_pass(t, dt);
				trap_disarm(p, len, &prev);
			} else if (t->op == OP_K_THREADS) {
				char *p = map_anon(len);
				if (!p)
					return fail(t, "mmap", errno);
				uint64_t dt = thread_pass(p, nthr, 0);
				record_pass(t, dt);
				munmap(p, len);
			} else {
				struct dctx c;
				struct dpemu_stats st;
				if (d_open(t, &c, opt_pages, opt_pages, 0) != 0)
					continue;
				uint64_t dt = thread_pass(c.m, nthr, 0);
				record_pass(t, dt);
				d_stats(t, &c, &st);
				if (st.faults < opt_pages ||
				    st.pages_resident != opt_pages)
					set_note(t, "expected %zu faults: faults=%"
					         PRIu64 " resident=%" PRIu64,
					         opt_pages, st.faults,
					         st.pages_resident);
				d_close(&c);
			}
		}
	}
	close_round(s, base[0]);
	close_round(s + 1, base[1]);
}

/* The metadata of N pages touched at random over a 64x larger mapping. */
static void measure_sparse(void)
{
	struct series tmp;
	struct dctx c;
	size_t spread = 64;
	memset(&tmp, 0, sizeof tmp);
	tmp.bk = BK_SEGV;
	tmp.fa = 1;
	size_t keep = opt_pages;
	opt_pages = keep * spread; /* d_open maps opt_pages pages */
	int rc = d_open(&tmp, &c, keep, opt_pages, 0);
	opt_pages = keep;
	if (rc != 0) {
		snprintf(sparse_note, sizeof sparse_note, "%s", tmp.note);
		return;
	}
	for (size_t i = 0; i < keep; i++) {
		size_t pg = rnd[i] * spread + (size_t)(rng_next() % spread);
		*(volatile char *)(c.m + pg * page) = 1;
	}
	struct dpemu_stats st;
	d_stats(&tmp, &c, &st);
	sparse_meta = st.metadata_bytes;
	sparse_pages = st.pages_resident;
	d_close(&c);
}

/* ------------------------------------------------ eviction and references */

/* The pool of the reference-fault series: a quarter of --pages frames (the
   alias variant evicts each of them twice, which under the userfaultfd
   handler thread costs ~0.1 ms an eviction). */
static size_t ref_frames(void)
{
	return opt_pages / 4;
}

/*
 * The orders of this round's scans: ascending; a fresh permutation per
 * pass (rand); or HOT_PERCENT % of the accesses to a hot set of 1/HOT_DIV
 * of the pages, chosen at random for the round, and the rest to the others,
 * each access drawn independently (hot).  Every policy and the plain scan
 * see the same orders in a round.  Also the reference-fault series' order:
 * rnd's, restricted to their pool's pages.
 */
static void make_orders(void)
{
	size_t nr = 0;
	for (size_t i = 0; i < opt_pages; i++) /* rnd's order, for fewer pages */
		if (rnd[i] < ref_frames())
			ref_order[nr++] = rnd[i];

	for (int k = 0; k < NSCANS; k++) {
		size_t w = (size_t)scans[k].mult * opt_ev_frames;
		size_t hot = w / HOT_DIV;
		if (scans[k].order == ORD_HOT)
			shuffle(ev_perm, w); /* the hot set: ev_perm[0..hot) */
		for (int p = 0; p < EV_PASSES; p++) {
			size_t *o = ev_ord[k][p];
			switch (scans[k].order) {
			case ORD_SEQ:
				memcpy(o, ev_seq, w * sizeof *o);
				break;
			case ORD_RAND:
				shuffle(o, w);
				break;
			case ORD_HOT:
				for (size_t i = 0; i < w; i++)
					o[i] = ev_perm[rng_next() % 100 < HOT_PERCENT
					               ? (size_t)(rng_next() % hot)
					               : hot + (size_t)(rng_next() % (w - hot))];
				break;
			}
		}
	}
}

/* Whether page pg of a space over an nf-frame pool sits in a frame that is
   not its identity frame (an alias: src/hostmap.c maps it with its own
   mmap); colour is the frame of page 0 when it took its identity frame. */
static int is_alias(const struct dpemu_page_info *q, size_t pg, uint64_t colour,
                    size_t nf)
{
	return q->frame != (colour + pg) % nf;
}

static volatile uint64_t scan_sink;

struct scan_arg {
	char *p;
	const size_t *order;
	size_t n;
	int write;
	unsigned reps;
	uint64_t dt;
};

/* One timed scan (reps passes) of arg->p: dpemu_catch's function. */
static void scan_fn(void *v)
{
	struct scan_arg *a = v;
	uint64_t t0 = now_ns(), sum = 0;
	for (unsigned r = 0; r < a->reps; r++) {
		if (a->write)
			for (size_t i = 0; i < a->n; i++)
				*(volatile uint64_t *)(a->p + a->order[i] * page) = i;
		else
			for (size_t i = 0; i < a->n; i++)
				sum += *(volatile uint64_t *)(a->p + a->order[i] * page);
	}
	a->dt = now_ns() - t0;
	scan_sink = sum;
}

/* Run one scan; 0, or -1 with s failed if dpemu could not resolve a fault. */
static int scan(struct series *s, char *p, const size_t *order, size_t n, int write,
                unsigned reps, uint64_t *dt)
{
	struct scan_arg a = { p, order, n, write, reps, 0 };
	struct dpemu_fault flt;
	int rc = dpemu_catch(scan_fn, &a, &flt);
	if (rc != 0) {
		s->failed = 1;
		s->note[0] = 0;
		set_note(s, "unresolved %s fault at page %zu of the scan: %s",
		         dpemu_fault_kind_name(flt.kind),
		         (size_t)((char *)flt.addr - p) / page, dpemu_last_error());
		return -1;
	}
	if (dt)
		*dt = a.dt;
	return 0;
}

/* A scan sample: picoseconds per page (a plain pass is a few ns a page). */
static void record_scan(struct series *s, uint64_t dt, uint64_t pages)
{
	s->ns[s->n++] = (dt * 1000 + pages / 2) / pages;
	s->total_ns += dt;
	s->total_pages += pages;
}

static size_t scan_pages(const struct series *s)
{
	return (size_t)scans[s->scan].mult * opt_ev_frames;
}

/*
 * A pool of --evict-frames frames with s's policy, a space mapping the
 * scan's working set; an ascending write pass (every page gets contents)
 * and one pass of the scan, untimed, then EV_TIMED timed passes, each with
 * the space's and the pool's counters read before and after.
 */
static void run_d_scan(struct series *s)
{
	const struct scan_def *d = &scans[s->scan];
	size_t w = scan_pages(s), base = s->n;
	struct dctx c;
	struct dpemu_stats a, b;
	struct dpemu_pool_stats pa, pb;
	struct dpemu_page_info q;
	uint64_t colour;
	if (d_open_ex(s, &c, opt_ev_frames, w, w, s->policy, 0) != 0)
		return;
	/* page 0 first, alone: it takes its identity frame, which tells the
	   space's colour (see is_alias) */
	if (scan(s, c.m, ev_seq, 1, 1, 1, NULL) != 0)
		return d_close(&c);
	colour = dpemu_query(c.space, c.m, &q) == 0 ? q.frame : 0;
	if (scan(s, c.m, ev_seq, w, 1, 1, NULL) != 0 ||
	    scan(s, c.m, ev_ord[s->scan][0], w, d->write, 1, NULL) != 0)
		return d_close(&c);
	for (int k = 0; k < EV_TIMED; k++) {
		uint64_t dt;
		d_stats(s, &c, &a);
		dpemu_pool_stats(c.pool, &pa);
		if (scan(s, c.m, ev_ord[s->scan][1 + k], w, d->write, 1, &dt) != 0)
			return d_close(&c);
		d_stats(s, &c, &b);
		dpemu_pool_stats(c.pool, &pb);
		record_scan(s, dt, w);
		s->ev_pages += w;
		s->ev_faults += b.faults - a.faults;
		s->ev_zero_fills += b.zero_fills - a.zero_fills;
		s->ev_evictions += b.evictions - a.evictions;
		s->ev_swap_outs += b.swap_outs - a.swap_outs;
		s->ev_swap_ins += b.swap_ins - a.swap_ins;
		s->ev_ref_faults += b.reference_faults - a.reference_faults;
		if (pb.evictions - pa.evictions != b.evictions - a.evictions ||
		    pb.swap_outs - pa.swap_outs != b.swap_outs - a.swap_outs ||
		    pb.swap_ins - pa.swap_ins != b.swap_ins - a.swap_ins)
			set_note(s, "pool and space counters disagree: evictions %"
			         PRIu64 "/%" PRIu64 ", swap_outs %" PRIu64 "/%" PRIu64
			         ", swap_ins %" PRIu64 "/%" PRIu64,
			         pb.evictions - pa.evictions, b.evictions - a.evictions,
			         pb.swap_outs - pa.swap_outs, b.swap_outs - a.swap_outs,
			         pb.swap_ins - pa.swap_ins, b.swap_ins - a.swap_ins);
		if (b.pages_resident > opt_ev_frames)
			set_note(s, "%" PRIu64 " pages resident in a pool of %zu frames",
			         b.pages_resident, opt_ev_frames);
	}
	for (size_t pg = 0; pg < w; pg++)
		if (dpemu_query(c.space, c.m + pg * page, &q) == 0 && q.present) {
			s->ev_resident++;
			s->ev_aliases += (uint64_t)is_alias(&q, pg, colour,
			                                    opt_ev_frames);
		}
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

/* The same scan over populated anonymous memory, PLAIN_REPS passes per
   sample (one pass is a few microseconds). */
static void run_plain_scan(struct series *s)
{
	const struct scan_def *d = &scans[s->scan];
	size_t w = scan_pages(s), len = w * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	scan(s, p, ev_seq, w, 1, 1, NULL);
	scan(s, p, ev_ord[s->scan][0], w, d->write, 1, NULL);
	for (int k = 0; k < EV_TIMED; k++) {
		uint64_t dt;
		scan(s, p, ev_ord[s->scan][1 + k], w, d->write, PLAIN_REPS, &dt);
		record_scan(s, dt, (uint64_t)w * PLAIN_REPS);
	}
	munmap(p, len);
	close_round(s, base);
}

/* An ascending first-touch write pass over freshly mmap'd anonymous memory
   of the scan's size, EV_TIMED times. */
static void run_plain_first(struct series *s)
{
	size_t w = scan_pages(s), len = w * page, base = s->n;
	long f0 = minor_faults();
	for (int k = 0; k < EV_TIMED; k++) {
		uint64_t dt;
		char *p = map_anon(len);
		if (!p)
			return fail(s, "mmap", errno);
		scan(s, p, ev_seq, w, 1, 1, &dt);
		record_scan(s, dt, w);
		munmap(p, len);
	}
	long f = minor_faults() - f0;
	if (f < (long)(w * EV_TIMED))
		set_note(s, "only %ld minor faults for %zu pages (huge pages?)", f,
		         w * EV_TIMED);
	close_round(s, base);
}

struct ref_arg {
	struct series *s;
	char *m;
	size_t n;    /* 0: touch page `one` alone, time in dt */
	size_t one;  /* the page whose first touch makes the hand's lap */
	uint64_t dt;
};

static void ref_fn(void *v)
{
	struct ref_arg *a = v;
	uint64_t *out = a->s->ns + a->s->n;
	if (a->n == 0)
		a->dt = timed_touch(a->m + a->one * page, 1);
	for (size_t i = 0; i < a->n; i++)
		out[i] = timed_touch(a->m + ref_list[i] * page, 1);
}

/* ref_fn under dpemu_catch; 0, or -1 with s failed. */
static int ref_run(struct series *s, struct ref_arg *ra)
{
	struct dpemu_fault flt;
	if (dpemu_catch(ref_fn, ra, &flt) == 0)
		return 0;
	s->failed = 1;
	s->note[0] = 0;
	set_note(s, "unresolved %s fault: %s", dpemu_fault_kind_name(flt.kind),
	         dpemu_last_error());
	return -1;
}

/*
 * Reference faults: a CLOCK pool of nf = --pages / 4 frames, every frame
 * prefaulted (written: dirty, referenced).  One more page's first touch
 * finds the pool full; the hand's first lap clears every reference bit,
 * revoking the pages' access, and its second takes the oldest frame: that
 * one touch is timed as the revocation cost.  Then the first write to each
 * revoked page (dpemu_query: present, bit clear; listed untimed, in random
 * order) is timed alone: a reference fault, nothing else (no frame, no
 * copy).  The prefaulted pages sit in their identity frames, which the host
 * shows and hides without an mmap.
 *
 * The alias variant (B-ref-alias) first evicts all of them: nf more pages
 * touched in random order each take the frame of the oldest page, which is
 * almost never their identity frame, so the host shows each with its own
 * mmap (an alias, as after random-order eviction).  A swapped page's touch
 * then makes the lap over those, and their reference faults are timed.
 */
static void run_d_ref(struct series *s)
{
	size_t nf = ref_frames(), base = s->n, k = 0, aliases = 0;
	size_t first = s->alias ? nf : 0; /* the pages whose faults are timed */
	struct dctx c;
	struct dpemu_stats a, b, st;
	struct dpemu_page_info q;
	struct ref_arg ra = { s, NULL, 0, s->alias ? 0 : nf, 0 };
	uint64_t colour = 0;
	int rc;
	if (d_open_ex(s, &c, nf, 2 * nf, 2 * nf, DPEMU_POLICY_CLOCK, 0) != 0)
		return;
	ra.m = c.m;
	if ((rc = dpemu_prefault(c.space, c.m, nf * page, PROT_WRITE)) != 0) {
		fail(s, "dpemu_prefault", rc);
		return d_close(&c);
	}
	if ((rc = dpemu_query(c.space, c.m, &q)) != 0) {
		fail(s, "dpemu_query", rc);
		return d_close(&c);
	}
	colour = q.frame;
	if (s->alias && scan(s, c.m + nf * page, ref_order, nf, 1, 1, NULL) != 0)
		return d_close(&c);
	d_stats(s, &c, &a);
	if (ref_run(s, &ra) != 0)
		return d_close(&c);
	d_stats(s, &c, &b);
	for (size_t i = 0; i < nf; i++) {
		size_t pg = first + ref_order[i];
		if (dpemu_query(c.space, c.m + pg * page, &q) == 0 && q.present &&
		    !q.referenced) {
			ref_list[k++] = pg;
			aliases += (size_t)is_alias(&q, pg, colour, nf);
		}
	}
	if (b.evictions - a.evictions != 1 || k + 1 < nf)
		set_note(s, "expected 1 eviction and %zu revoked pages: evictions=%"
		         PRIu64 " revoked=%zu", nf - 1, b.evictions - a.evictions, k);
	if (s->alias ? aliases * 10 < k * 9 : aliases != 0)
		set_note(s, "%zu of the %zu revoked pages are aliases", aliases, k);
	s->rv_ns += ra.dt;
	s->rv_pages += k;
	ra.n = k;
	if (ref_run(s, &ra) != 0)
		return d_close(&c);
	s->n += k;
	d_stats(s, &c, &st);
	if (st.reference_faults - b.reference_faults != k ||
	    st.faults - b.faults != k || st.evictions != b.evictions)
		set_note(s, "expected %zu reference faults: reference_faults=%" PRIu64
		         " faults=%" PRIu64 " evictions=%" PRIu64, k,
		         st.reference_faults - b.reference_faults, st.faults - b.faults,
		         st.evictions - b.evictions);
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

/* The backend of the eviction scans: --evict-backend, else the SIGBUS mode
   of userfaultfd (the suite's fastest) if this kernel allows it, else
   SIGSEGV. */
static enum bk pick_ev_backend(void)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	dpemu_pool *pool;
	dpemu_space *sp;
	int rc;

	if (opt_ev_bk != BK_NONE)
		return opt_ev_bk;
	memset(&pc, 0, sizeof pc);
	pc.frames = 1;
	if (dpemu_pool_create(&pc, &pool) != 0)
		return BK_SEGV;
	memset(&sc, 0, sizeof sc);
	sc.reserve = page;
	sc.backend = DPEMU_BACKEND_UFFD;
	sc.uffd_mode = DPEMU_UFFD_SIGBUS;
	rc = dpemu_space_create(pool, &sc, &sp);
	if (rc == 0)
		dpemu_space_destroy(sp);
	dpemu_pool_destroy(pool);
	return rc == 0 ? BK_SIGBUS : BK_SEGV;
}

/* ------------------------------------------------------------ the table */

static int add(const char *group, const char *name, const char *what, enum op op,
               enum bk bk, int random, int write, enum kind kind, size_t fa,
               int threads)
{
	struct series *s = &ser[nser];
	memset(s, 0, sizeof *s);
	s->group = group;
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->what, sizeof s->what, "%s", what);
	s->op = op;
	s->bk = bk;
	s->random = random;
	s->write = write;
	s->kind = kind;
	s->fa = fa;
	s->threads = threads;
	s->kref = -1;
	return nser++;
}

static void add_dpemu(const char *group, int kref, const char *suffix,
                      const char *what, enum op op, int random, int write,
                      enum kind kind, size_t fa, int threads)
{
	for (int b = BK_SEGV; b < BK_COUNT; b++) {
		char name[24], w[160];
		snprintf(name, sizeof name, "%s-%s", bk_name[b], suffix);
		snprintf(w, sizeof w, "%s: %s", bk_what[b], what);
		int i = add(group, name, w, op, (enum bk)b, random, write, kind,
		            fa, threads);
		ser[i].kref = kref;
	}
}

static const char G_RW[] = "anonymous first touch, write, random order";
static const char G_SW[] = "anonymous first touch, write, ascending order";
static const char G_RR[] = "anonymous first touch, read, random order";
static const char G_FA[] = "ascending first touch, per page over 64-page chunks";
static const char G_FR[] = "private file mapping (page cache), read first";
static const char G_FW[] = "private file mapping (page cache), write first";
static const char G_CW[] = "copy-on-write break: first write after fork";
static const char G_TH[] = "threads: per page over a whole pass, random order";
static const char G_TM[] = "timing overhead";
static const char G_REF[] = "reference fault: first write to a present page whose "
                            "bit CLOCK cleared, random order";
static char ev_group[NSCANS][192];

static int ref_idx[BK_COUNT], refa_idx[BK_COUNT], first_idx = -1;

static int trap_idx, timer_idx, k_rand_w, k_seqpass, k_cow, k_1thr, k_2thr;
static int spin_1thr, spin_2thr, trap_1thr, trap_2thr, k_shmw, k_shmpass;

static void define_series(void)
{
	int k;
	nser = 0;
	k_rand_w = k = add(G_RW, "kernel-w", "kernel anonymous first-touch write fault",
	                   OP_K_ANON, BK_NONE, 1, 1, KIND_FAULT, 0, 0);
	trap_idx = add(G_RW, "trap-floor",
	               "SIGSEGV + one mprotect of a populated page + return",
	               OP_TRAP, BK_NONE, 1, 1, KIND_FAULT, 0, 0);
	k_shmw = k = add(G_RW, "kernel-shm-w", "kernel first-touch write of a MAP_SHARED "
	        "memfd (the host cost of a pool frame)", OP_K_SHM, BK_NONE, 1, 1,
	        KIND_FAULT, 0, 0);
	ser[k].kref = k_rand_w;
	k = k_rand_w;
	add_dpemu(G_RW, k, "rand-w", "anonymous first-touch write, random order",
	          OP_D_ANON, 1, 1, KIND_FAULT, 1, 0);

	k = add(G_SW, "kernel-seq-w", "kernel anonymous first-touch write, ascending",
	        OP_K_ANON, BK_NONE, 0, 1, KIND_FAULT, 0, 0);
	add_dpemu(G_SW, k, "seq-w", "anonymous first-touch write, ascending order",
	          OP_D_ANON, 0, 1, KIND_FAULT, 1, 0);

	k = add(G_RR, "kernel-r", "kernel anonymous first-touch read (the zero page)",
	        OP_K_ANON, BK_NONE, 1, 0, KIND_FAULT, 0, 0);
	add_dpemu(G_RR, k, "rand-r", "anonymous first-touch read, random order",
	          OP_D_ANON, 1, 0, KIND_FAULT, 1, 0);

	k_seqpass = k = add(G_FA, "kernel-seqpass",
	                    "kernel anonymous first-touch writes, ascending, "
	                    "64-page chunks timed",
	                    OP_K_SEQPASS, BK_NONE, 0, 1, KIND_CHUNK, 0, 0);
	k_shmpass = add(G_FA, "kernel-shm-pass", "kernel first-touch writes of a MAP_SHARED "
	    "memfd, ascending, 64-page chunks timed", OP_K_SHM, BK_NONE, 0, 1,
	    KIND_CHUNK, 0, 0);
	add(G_FA, "kernel-shm-pop", "kernel: MAP_SHARED memfd, madvise("
	    "MADV_POPULATE_WRITE) of 16 pages, then written, ascending",
	    OP_K_SHMPOP, BK_NONE, 0, 1, KIND_CHUNK, 0, 0);
	add_dpemu(G_FA, k, "fa16", "fault_around 16, ascending writes, "
	          "64-page chunks timed", OP_D_SEQPASS, 0, 1, KIND_CHUNK,
	          FA_PAGES, 0);
	int f = nser;
	add_dpemu(G_FA, k, "fa16p", "fault_around 16 over a populated pool "
	          "(populate), ascending writes, 64-page chunks timed",
	          OP_D_SEQPASS, 0, 1, KIND_CHUNK, FA_PAGES, 0);
	for (; f < nser; f++)
		ser[f].populate = 1;

	k = add(G_FR, "kernel-file-r", "kernel minor read fault on a MAP_PRIVATE "
	        "file (accesses that faulted only)", OP_K_FILE, BK_NONE, 1, 0,
	        KIND_FAULT, 0, 0);
	add_dpemu(G_FR, k, "file-r", "private file mapping, first-touch read, "
	          "random order", OP_D_FILE, 1, 0, KIND_FAULT, 1, 0);

	k = add(G_FW, "kernel-file-w", "kernel write fault on a MAP_PRIVATE file "
	        "(copies the cached page)", OP_K_FILE, BK_NONE, 1, 1, KIND_FAULT,
	        0, 0);
	add_dpemu(G_FW, k, "file-w", "private file mapping, first-touch write, "
	          "random order", OP_D_FILE, 1, 1, KIND_FAULT, 1, 0);

	k_cow = k = add(G_CW, "kernel-cow", "kernel copy-on-write break: write after "
	                "fork(2), child alive", OP_K_COW, BK_NONE, 1, 1,
	                KIND_FAULT, 0, 0);
	add_dpemu(G_CW, k, "cow", "write after dpemu_space_fork, child space alive",
	          OP_D_COW, 1, 1, KIND_FAULT, 1, 0);

	spin_1thr = add(G_TH, "spin-1thr", "control, no faults: one thread computes "
	                "~2 us per page", OP_SPIN_THREADS, BK_NONE, 1, 1, KIND_PASS,
	                0, 1);
	spin_2thr = add(G_TH, "spin-2thr", "control, no faults: two threads compute "
	                "one half each", OP_SPIN_THREADS, BK_NONE, 1, 1, KIND_PASS,
	                0, 2);
	trap_1thr = add(G_TH, "trap-1thr", "trap floor: one thread, SIGSEGV + "
	                "mprotect per page", OP_TRAP_THREADS, BK_NONE, 1, 1,
	                KIND_PASS, 0, 1);
	trap_2thr = add(G_TH, "trap-2thr", "trap floor: two threads, one half "
	                "each", OP_TRAP_THREADS, BK_NONE, 1, 1, KIND_PASS, 0, 2);
	k_1thr = add(G_TH, "kernel-1thr", "kernel: one thread writes every page",
	             OP_K_THREADS, BK_NONE, 1, 1, KIND_PASS, 0, 1);
	k_2thr = add(G_TH, "kernel-2thr", "kernel: two threads write one half each",
	             OP_K_THREADS, BK_NONE, 1, 1, KIND_PASS, 0, 2);
	ser[k_2thr].kref = -1;
	for (int b = BK_SEGV; b < BK_COUNT; b++) {
		char name[24], w[160];
		snprintf(name, sizeof name, "%s-1thr", bk_name[b]);
		snprintf(w, sizeof w, "%s: one thread writes every page", bk_what[b]);
		k = add(G_TH, name, w, OP_D_THREADS, (enum bk)b, 1, 1, KIND_PASS, 1, 1);
		ser[k].kref = k_1thr;
		snprintf(name, sizeof name, "%s-2thr", bk_name[b]);
		snprintf(w, sizeof w, "%s: two threads write one half each", bk_what[b]);
		k = add(G_TH, name, w, OP_D_THREADS, (enum bk)b, 1, 1, KIND_PASS, 1, 2);
		ser[k].kref = k_2thr;
	}
	for (int b = 0; b < BK_COUNT; b++)
		ref_idx[b] = refa_idx[b] = -1;
	k = nser;
	add_dpemu(G_REF, -1, "ref", "first write to a present page whose access "
	          "one lap of the CLOCK hand revoked, random order", OP_D_REF, 1, 1,
	          KIND_FAULT, 1, 0);
	for (; k < nser; k++) {
		ser[k].tag = "ref";
		ref_idx[ser[k].bk] = k;
	}
	add_dpemu(G_REF, -1, "ref-alias", "the same, the pages in frames not their "
	          "identity (each shown by its own mmap)", OP_D_REF, 1, 1,
	          KIND_FAULT, 1, 0);
	for (; k < nser; k++) {
		ser[k].tag = "ref";
		ser[k].alias = 1;
		refa_idx[ser[k].bk] = k;
	}

	for (int sc = 0; sc < NSCANS; sc++) {
		const struct scan_def *d = &scans[sc];
		size_t w = (size_t)d->mult * opt_ev_frames;
		char name[24], w2[160];
		snprintf(ev_group[sc], sizeof ev_group[sc], "eviction scan %s, %zu "
		         "pages over %zu frames (%s): %s", d->name, w, opt_ev_frames,
		         bk_name[ev_bk], d->what);
		snprintf(name, sizeof name, "plain-%s", d->name);
		snprintf(w2, sizeof w2, "plain memory: the same scan over %zu pages of "
		         "populated anonymous memory, %d passes per sample", w,
		         PLAIN_REPS);
		int pl = add(ev_group[sc], name, w2, OP_PLAIN_SCAN, BK_NONE,
		             d->order != ORD_SEQ, d->write, KIND_SCAN, 0, 0);
		ser[pl].scan = sc;
		ser[pl].tag = "evict";
		if (d->mult == 4 && d->order == ORD_SEQ && d->write) {
			snprintf(w2, sizeof w2, "plain memory, first touch: an ascending "
			         "write pass over %zu pages of fresh anonymous mmap", w);
			first_idx = add(ev_group[sc], "plain-first4x", w2,
			                OP_PLAIN_FIRST, BK_NONE, 0, 1, KIND_SCAN, 0, 0);
			ser[first_idx].scan = sc;
			ser[first_idx].tag = "evict";
		}
		for (int q = 0; q < NPOLICIES; q++) {
			const char *pn = dpemu_policy_name(ev_policies[q]);
			snprintf(name, sizeof name, "%s-%s", pn, d->name);
			snprintf(w2, sizeof w2, "%s, policy %s: %s over %zu pages, a pool "
			         "of %zu frames", bk_what[ev_bk], pn, d->what, w,
			         opt_ev_frames);
			k = add(ev_group[sc], name, w2, OP_D_SCAN, ev_bk,
			        d->order != ORD_SEQ, d->write, KIND_SCAN, 1, 0);
			ser[k].scan = sc;
			ser[k].policy = ev_policies[q];
			ser[k].kref = pl;
			ser[k].tag = "evict";
		}
	}

	timer_idx = add(G_TM, "timer", "a write to a resident page (timing overhead)",
	                OP_TIMER, BK_NONE, 1, 1, KIND_FAULT, 0, 0);
}

static void run_one(struct series *s)
{
	switch (s->op) {
	case OP_TIMER: run_timer(s); break;
	case OP_TRAP: run_trap(s); break;
	case OP_K_ANON:
	case OP_K_SEQPASS: run_k_anon(s); break;
	case OP_K_FILE: run_k_file(s); break;
	case OP_K_COW: run_k_cow(s); break;
	case OP_K_SHM: run_k_shm(s); break;
	case OP_K_SHMPOP: run_k_shmpop(s); break;
	case OP_D_ANON: run_d_anon(s); break;
	case OP_D_SEQPASS: run_d_seqpass(s); break;
	case OP_D_FILE: run_d_file(s); break;
	case OP_D_COW: run_d_cow(s); break;
	case OP_K_THREADS:
	case OP_SPIN_THREADS:
	case OP_TRAP_THREADS:
	case OP_D_THREADS: run_threads(s); break;
	case OP_D_REF: run_d_ref(s); break;
	case OP_PLAIN_SCAN: run_plain_scan(s); break;
	case OP_PLAIN_FIRST: run_plain_first(s); break;
	case OP_D_SCAN: run_d_scan(s); break;
	}
}

/* Whether the item p[0..l) of an --only list names series s: a prefix of
 * its name (or of its one-thread partner's), its tag, or its backend's
 * canonical name ("uffd-sigbus" selects the sigbus-* series). */
static int only_item_matches(const struct series *s, const char *p, size_t l)
{
	if (l == 0)
		return 0;
	if (strncmp(s->name, p, l) == 0)
		return 1;
	if (s->tag && strlen(s->tag) == l && strncmp(s->tag, p, l) == 0)
		return 1;
	if (s->bk != BK_NONE && strlen(bk_backend[s->bk]) == l &&
	    strncmp(bk_backend[s->bk], p, l) == 0)
		return 1;
	return s->threads == 2 && strncmp(s[-1].name, p, l) == 0;
}

/* Whether --only selected series s (a comma-separated list of prefixes). */
static int selected(const struct series *s)
{
	if (!opt_only || s->op == OP_TIMER || (int)(s - ser) == k_rand_w ||
	    (int)(s - ser) == trap_idx)
		return 1;
	const char *p = opt_only;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (only_item_matches(s, p, l))
			return 1;
		p += l + (p[l] == ',');
	}
	return 0;
}

/*
 * Check the --only list against the defined series, before anything runs:
 * every item must select at least one series.  0, or -1 after printing on
 * stderr the first item that selects nothing and every series name, the
 * tags and the backend names that would (the caller exits with status 2).
 */
static int check_only(const char *argv0)
{
	const char *p = opt_only;

	while (p && *p) {
		size_t l = strcspn(p, ",");
		int any = l == 0;
		for (int i = 0; i < nser && !any; i++)
			any = only_item_matches(&ser[i], p, l);
		if (!any) {
			fprintf(stderr, "%s: bad --only '%.*s': no series starts with it "
			        "(accepted: \"evict\", \"ref\", a backend (sigsegv, uffd, "
			        "uffd-sigbus) or a prefix of a series:", argv0, (int)l, p);
			for (int i = 0; i < nser; i++)
				fprintf(stderr, "%s%s", i % 8 ? " " : "\n  ", ser[i].name);
			fprintf(stderr, ")\n");
			return -1;
		}
		p += l + (p[l] == ',');
	}
	return 0;
}

/*
 * Whether the file at path can be written, checked before a minute of
 * measuring rather than after: an existing file must be writable and not
 * a directory, a new one needs a writable directory.  Nothing is created.
 * 0, or -1 after printing "argv0: OPT PATH: why" on stderr.
 */
static int check_output(const char *argv0, const char *opt, const char *path)
{
	struct stat st;
	int err = 0;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			err = EISDIR;
		else if (access(path, W_OK) != 0)
			err = errno;
	} else if (errno == ENOENT) {
		const char *slash = strrchr(path, '/');
		char dir[4096];
		if (!slash)
			snprintf(dir, sizeof dir, ".");
		else if (slash == path)
			snprintf(dir, sizeof dir, "/");
		else
			snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		if (!*path)
			err = ENOENT;
		else if (access(dir, W_OK | X_OK) != 0)
			err = errno;
	} else {
		err = errno;
	}
	if (err) {
		fprintf(stderr, "%s: %s %s: %s\n", argv0, opt, path, strerror(err));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- report */

static void summarize(struct series *s)
{
	if (s->n == 0)
		return;
	qsort(s->ns, s->n, sizeof *s->ns, cmp_u64);
	s->min = quantile_us(s->ns, s->n, 0.0);
	s->p1 = quantile_us(s->ns, s->n, 0.01);
	s->p10 = quantile_us(s->ns, s->n, 0.10);
	s->p25 = quantile_us(s->ns, s->n, 0.25);
	s->med = quantile_us(s->ns, s->n, 0.50);
	s->p75 = quantile_us(s->ns, s->n, 0.75);
	s->p90 = quantile_us(s->ns, s->n, 0.90);
	s->p99 = quantile_us(s->ns, s->n, 0.99);
	s->max = (double)s->ns[s->n - 1] / 1000.0;
	if (s->kind == KIND_SCAN) { /* picoseconds per page */
		s->min /= 1000.0, s->p1 /= 1000.0, s->p10 /= 1000.0;
		s->p25 /= 1000.0, s->med /= 1000.0, s->p75 /= 1000.0;
		s->p90 /= 1000.0, s->p99 /= 1000.0, s->max /= 1000.0;
	}
	if (s->total_pages)
		s->mean = (double)s->total_ns / 1000.0 / (double)s->total_pages;
	else {
		double sum = 0;
		for (size_t i = 0; i < s->n; i++)
			sum += (double)s->ns[i];
		s->mean = sum / 1000.0 / (double)s->n;
	}
	size_t r = s->rounds_done < MAX_ROUND_MEDS ? s->rounds_done : MAX_ROUND_MEDS;
	s->rmin = s->rmax = r ? s->round_med[0] : 0;
	for (size_t i = 1; i < r; i++) {
		if (s->round_med[i] < s->rmin)
			s->rmin = s->round_med[i];
		if (s->round_med[i] > s->rmax)
			s->rmax = s->round_med[i];
	}
}

static double ratio(double a, double b)
{
	return a > 0 && b > 0 ? a / b : 0.0;
}

static void fmt_ratio(char *buf, size_t n, double r)
{
	if (r > 0)
		snprintf(buf, n, "%.2f", r);
	else
		snprintf(buf, n, "-");
}

static int usable(const struct series *s)
{
	return s->n > 0 && !s->failed && !s->unavailable;
}

/* Per-page cost used for the sequential target: whole time / pages. */
static double per_page(const struct series *s)
{
	return s->mean;
}

/* Microseconds per frame a populated pool's creation took (0: not
   populated, or not measured).  A pool of a chunk series has one frame per
   page, so this is also its cost per page. */
static double pop_us(const struct series *s)
{
	return s->pop_frames ? (double)s->pop_ns / 1000.0 / (double)s->pop_frames
	                     : 0.0;
}

/* Thread throughput in pages per second, from the median pass. */
static double throughput(const struct series *s)
{
	return usable(s) && s->med > 0 ? 1e6 / s->med : 0.0;
}

struct target {
	const char *name;
	const char *want;
	double limit;
	int higher_is_better;
	double measured;
	const char *by;    /* the series (backend) that achieved it         */
	int met;
	char detail[512];  /* the measurements behind it, and what bounds it */
};

static struct target tg[5];
static int ntg;

static const struct series *best_of(int first_kernel_ref, const char *suffix,
                                    double (*val)(const struct series *))
{
	const struct series *best = NULL;
	(void)first_kernel_ref;
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		const char *d = strchr(s->name, '-');
		if (s->bk == BK_NONE || !usable(s) || !d || strcmp(d + 1, suffix))
			continue;
		if (!best || val(s) < val(best))
			best = s;
	}
	return best;
}

static double med_of(const struct series *s)
{
	return s->med;
}

static void compute_targets(void)
{
	const struct series *trap = &ser[trap_idx], *kw = &ser[k_rand_w];
	const struct series *b;
	struct target *t;
	ntg = 0;

	t = &tg[ntg++];
	t->name = "random first touch, best mode, median / trap floor";
	t->want = "<=";
	t->limit = TARGET_RAND_TRAP;
	b = best_of(0, "rand-w", med_of);
	if (b && usable(trap)) {
		t->measured = ratio(b->med, trap->med);
		t->by = b->name;
		snprintf(t->detail, sizeof t->detail,
		         "%s median %.2f us, trap floor %.2f us, kernel %.2f us "
		         "(trap floor / kernel %.2f)", b->name, b->med, trap->med,
		         kw->med, ratio(trap->med, kw->med));
	}

	t = &tg[ntg++];
	t->name = "sequential first touch, fault_around 16, per page / kernel's";
	t->want = "<=";
	t->limit = TARGET_SEQ_KERNEL;
	{
		/* the best of the lazily committed and the populated pools */
		const struct series *lazy = best_of(0, "fa16", per_page);
		const struct series *pop = best_of(0, "fa16p", per_page);
		b = !pop || (lazy && per_page(lazy) <= per_page(pop)) ? lazy : pop;
		if (b && usable(&ser[k_seqpass])) {
			const struct series *k = &ser[k_seqpass];
			size_t pos;
			t->measured = ratio(per_page(b), per_page(k));
			t->by = b->name;
			pos = (size_t)snprintf(t->detail, sizeof t->detail,
			         "%s %.3f us/page, kernel %.3f us/page (whole "
			         "passes)", b->name, per_page(b), per_page(k));
			if (b->populate && pos < sizeof t->detail)
				pos += (size_t)snprintf(t->detail + pos,
				         sizeof t->detail - pos, "; its pool was "
				         "populated at creation, %.3f us/frame not "
				         "in the figure", pop_us(b));
			if (lazy && lazy != b && pos < sizeof t->detail)
				pos += (size_t)snprintf(t->detail + pos,
				         sizeof t->detail - pos, "; unpopulated, "
				         "best %s %.3f us/page = %.2f x the kernel's",
				         lazy->name, per_page(lazy),
				         ratio(per_page(lazy), per_page(k)));
			if (pos < sizeof t->detail)
				snprintf(t->detail + pos, sizeof t->detail - pos,
				         "; a memfd page, as the pool's frames are, "
				         "costs the kernel %.3f us/page "
				         "(kernel-shm-pass), and the trap floor over "
				         "%d pages adds %.3f us/page",
				         usable(&ser[k_shmpass])
				         ? per_page(&ser[k_shmpass]) : 0.0,
				         FA_PAGES, trap->med / FA_PAGES);
		}
	}

	t = &tg[ntg++];
	t->name = "copy-on-write break, best mode, median / kernel's";
	t->want = "<=";
	t->limit = TARGET_COW_KERNEL;
	b = best_of(0, "cow", med_of);
	if (b && usable(&ser[k_cow])) {
		const struct series *k = &ser[k_cow];
		t->measured = ratio(b->med, k->med);
		t->by = b->name;
		snprintf(t->detail, sizeof t->detail,
		         "%s median %.2f us, kernel %.2f us; the trap floor alone "
		         "is %.2f us = %.2f x the kernel's break, and the first "
		         "touch of the copy's memfd page %.2f us (kernel-shm-w)",
		         b->name, b->med, k->med, trap->med,
		         ratio(trap->med, k->med),
		         usable(&ser[k_shmw]) ? ser[k_shmw].med : 0.0);
	}

	t = &tg[ntg++];
	t->name = "two threads on disjoint pages, throughput / one thread's (segv, sigbus)";
	t->want = ">=";
	t->limit = TARGET_THREADS;
	t->higher_is_better = 1;
	{
		double best = 0;
		const struct series *bb = NULL;
		for (int i = 0; i < nser; i++) {
			const struct series *s = &ser[i];
			if (s->op != OP_D_THREADS || s->threads != 1 ||
			    s->bk == BK_UFFD)
				continue; /* the target is for the in-thread modes */
			double r = ratio(throughput(s + 1), throughput(s));
			if (r > best) {
				best = r;
				bb = s;
			}
		}
		if (bb) {
			t->measured = best;
			t->by = bb->name;
			size_t pos = (size_t)snprintf(
				t->detail, sizeof t->detail,
				"machine (spin control) %.2f x; trap floor %.2f x; "
				"kernel faults %.2f x (%.0f -> %.0f pages/ms)",
				ratio(throughput(&ser[spin_2thr]), throughput(&ser[spin_1thr])),
				ratio(throughput(&ser[trap_2thr]), throughput(&ser[trap_1thr])),
				ratio(throughput(&ser[k_2thr]), throughput(&ser[k_1thr])),
				throughput(&ser[k_1thr]) / 1000,
				throughput(&ser[k_2thr]) / 1000);
			for (int i = 0; i < nser && pos < sizeof t->detail; i++) {
				const struct series *s = &ser[i];
				if (s->op != OP_D_THREADS || s->threads != 1 ||
				    !usable(s) || !usable(s + 1))
					continue;
				pos += (size_t)snprintf(
					t->detail + pos, sizeof t->detail - pos,
					"; %s %.2f x (%.0f -> %.0f)", bk_backend[s->bk],
					ratio(throughput(s + 1), throughput(s)),
					throughput(s) / 1000, throughput(s + 1) / 1000);
			}
		}
	}

	t = &tg[ntg++];
	t->name = "metadata bytes per touched page (dpemu_space_stats)";
	t->want = "<=";
	t->limit = TARGET_META_BYTES;
	{
		double worst = 0;
		const struct series *w = NULL;
		for (int i = 0; i < nser; i++) {
			const struct series *s = &ser[i];
			if (s->op != OP_D_ANON || !s->write || !usable(s) ||
			    !s->meta_touched)
				continue;
			double v = (double)s->meta_touched / (double)opt_pages;
			if (!w || v > worst) {
				worst = v;
				w = s;
			}
		}
		if (w) {
			t->measured = worst;
			t->by = w->name;
			size_t pos = (size_t)snprintf(
				t->detail, sizeof t->detail,
				"%" PRIu64 " B after mapping %zu pages, %" PRIu64
				" B after touching them all", w->meta_map, opt_pages,
				w->meta_touched);
			if (sparse_pages)
				snprintf(t->detail + pos, sizeof t->detail - pos,
				         "; %" PRIu64 " pages touched at random over "
				         "a 64x larger mapping: %.1f B/page",
				         sparse_pages,
				         (double)sparse_meta / (double)sparse_pages);
		}
	}

	for (int i = 0; i < ntg; i++) {
		t = &tg[i];
		if (t->measured <= 0)
			continue;
		t->met = t->higher_is_better ? t->measured >= t->limit
		                             : t->measured <= t->limit;
	}
}

static void print_table(FILE *f)
{
	const char *group = NULL;
	fprintf(f, "%-16s %-5s %7s %8s %8s %8s %8s %7s %6s  %s\n", "series", "kind",
	        "samples", "median", "p90", "p99", "max", "/kernel", "/trap",
	        "round medians");
	fprintf(f, "%-16s %-5s %7s %8s %8s %8s %8s %7s %6s  %s\n", "", "", "", "us",
	        "us", "us", "us", "", "", "min..max us");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != group) {
			group = s->group;
			fprintf(f, "-- %s\n", group);
		}
		if (s->n == 0 || s->failed || s->unavailable) {
			fprintf(f, "%-16s %-5s %7s  (%s)\n", s->name, kind_name[s->kind],
			        "-", s->unavailable ? "unavailable" : "failed");
			continue;
		}
		char k[16], t[16], rr[40];
		fmt_ratio(k, sizeof k, s->kref >= 0 && usable(&ser[s->kref])
		          ? ratio(s->med, ser[s->kref].med) : 0);
		fmt_ratio(t, sizeof t, s->op != OP_TRAP && s->op != OP_TIMER &&
		          s->kind == KIND_FAULT ? ratio(s->med, ser[trap_idx].med) : 0);
		int tiny = s->kind == KIND_SCAN && s->med < 0.1; /* plain scans */
		if (s->kind == KIND_SCAN && s->kref >= 0 && usable(&ser[s->kref]))
			snprintf(k, sizeof k, "%.0f", ratio(s->med, ser[s->kref].med));
		if (tiny)
			snprintf(rr, sizeof rr, "%.4f..%.4f", s->rmin, s->rmax);
		else
			snprintf(rr, sizeof rr, "%.2f..%.2f", s->rmin, s->rmax);
		if (tiny)
			fprintf(f, "%-16s %-5s %7zu %8.4f %8.4f %8.4f %8.3f %7s %6s  %s\n",
			        s->name, kind_name[s->kind], s->n, s->med, s->p90,
			        s->p99, s->max, k, t, rr);
		else
			fprintf(f, "%-16s %-5s %7zu %8.2f %8.2f %8.2f %8.1f %7s %6s  %s\n",
			        s->name, kind_name[s->kind], s->n, s->med, s->p90,
			        s->p99, s->max, k, t, rr);
	}
}

/* "segv" for "segv-1thr" */
static const char *pair_label(const struct series *s)
{
	static char buf[24];
	snprintf(buf, sizeof buf, "%.*s", (int)strcspn(s->name, "-"), s->name);
	return buf;
}

/* Pages per second of a scan series, from its median pass. */
static double scan_rate(const struct series *s)
{
	return usable(s) && s->med > 0 ? 1e6 / s->med : 0.0;
}

static double per_touch(const struct series *s, uint64_t v)
{
	return s->ev_pages ? (double)v / (double)s->ev_pages : 0.0;
}

/* The reference-fault series of the eviction scans' backend (alias: the
   variant whose pages are aliases), or NULL. */
static const struct series *ev_ref(int alias)
{
	int i = alias ? refa_idx[ev_bk] : ref_idx[ev_bk];
	return i >= 0 && usable(&ser[i]) ? &ser[i] : NULL;
}

/* Microseconds per page revoked, of a reference-fault series. */
static double revoke_us(const struct series *r)
{
	return r->rv_pages ? (double)r->rv_ns / 1000.0 / (double)r->rv_pages : 0.0;
}

/* Estimated share of a scan's time that emulating reference bits costs: its
   reference faults, each at the median reference fault of the same backend
   plus one revocation, for identity pages (alias 0) or aliases (1); 0 if
   not measured.  A lower bound in count: pages revoked and evicted before
   their next access cost a revocation without a reference fault. */
static double ref_share(const struct series *s, int alias)
{
	const struct series *r = ev_ref(alias);
	if (!r || !usable(s) || s->med <= 0)
		return 0.0;
	return per_touch(s, s->ev_ref_faults) * (r->med + revoke_us(r)) / s->med;
}

static void print_eviction(void)
{
	int any = 0;
	for (int i = 0; i < nser; i++)
		any |= ser[i].kind == KIND_SCAN && selected(&ser[i]);
	if (!any)
		return;
	printf("\neviction scans: a pool of %zu frames, %s backend; per run an "
	       "ascending write pass and\none pass of the scan untimed, then %d "
	       "timed passes; medians over the passes, counters\nper page touched:\n",
	       opt_ev_frames, bk_backend[ev_bk], EV_TIMED);
	printf("  %-15s %9s %8s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n", "series",
	       "pages/ms", "us/page", "/plain", "/first", "faults", "evict",
	       "swpout", "swpin", "ref", "ref%", "alias%");
	const struct series *first = first_idx >= 0 && usable(&ser[first_idx])
	                             ? &ser[first_idx] : NULL;
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		if (s->kind != KIND_SCAN || !selected(s))
			continue;
		if (!usable(s)) {
			printf("  %-15s %s\n", s->name,
			       s->unavailable ? "unavailable" : "failed");
			continue;
		}
		if (s->op != OP_D_SCAN) {
			printf("  %-15s %9.0f %8.4f\n", s->name, scan_rate(s) / 1000,
			       s->med);
			continue;
		}
		char pl[16], fi[16], rs[16];
		double rp = usable(&ser[s->kref]) ? ratio(s->med, ser[s->kref].med) : 0;
		if (rp > 0)
			snprintf(pl, sizeof pl, "%.0f", rp);
		else
			snprintf(pl, sizeof pl, "-");
		fmt_ratio(fi, sizeof fi, first ? ratio(s->med, first->med) : 0);
		if (ev_ref(0) && ev_ref(1))
			snprintf(rs, sizeof rs, "%.0f-%.0f", 100 * ref_share(s, 0),
			         100 * ref_share(s, 1));
		else
			snprintf(rs, sizeof rs, "-");
		printf("  %-15s %9.1f %8.2f %6s %6s %6.2f %6.2f %6.2f %6.2f %6.2f "
		       "%6s %6.0f\n", s->name, scan_rate(s) / 1000, s->med, pl, fi,
		       per_touch(s, s->ev_faults), per_touch(s, s->ev_evictions),
		       per_touch(s, s->ev_swap_outs), per_touch(s, s->ev_swap_ins),
		       per_touch(s, s->ev_ref_faults), rs, s->ev_resident ? 100.0 *
		       (double)s->ev_aliases / (double)s->ev_resident : 0.0);
	}
	printf("  /plain: over the same scan on populated memory; /first: over "
	       "plain-first4x, the\n  first touch of fresh memory (one kernel "
	       "fault per page).  ref%%: estimated share of\n  the time spent "
	       "emulating reference bits: reference faults x (median fault +\n"
	       "  revocation per page) of %s-ref .. of %s-ref-alias.  alias%%: "
	       "resident\n  pages not in their identity frame after the run (each "
	       "shown by its own mmap).\n", bk_name[ev_bk], bk_name[ev_bk]);
}

static void print_references(void)
{
	int any = 0;
	for (int b = 0; b < BK_COUNT; b++)
		any |= ref_idx[b] >= 0 && selected(&ser[ref_idx[b]]);
	if (!any)
		return;
	printf("\nreference faults (CLOCK, a pool of %zu frames all referenced: one "
	       "lap of the hand\nrevokes %zu pages; then the first write to each), "
	       "medians:\n", ref_frames(), ref_frames() - 1);
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		if (s->op != OP_D_REF || !selected(s))
			continue;
		if (!usable(s)) {
			printf("  %-16s %s\n", s->name, s->unavailable ? "unavailable"
			       : "failed");
			continue;
		}
		const struct series *fw = NULL;
		char want[24];
		snprintf(want, sizeof want, "%s-rand-w", bk_name[s->bk]);
		for (int j = 0; j < nser; j++)
			if (!strcmp(ser[j].name, want) && usable(&ser[j]))
				fw = &ser[j];
		char t[16], w[16];
		fmt_ratio(t, sizeof t, usable(&ser[trap_idx])
		          ? ratio(s->med, ser[trap_idx].med) : 0);
		fmt_ratio(w, sizeof w, fw ? ratio(s->med, fw->med) : 0);
		printf("  %-16s %6.2f us a fault = %s x trap floor, %s x %s; "
		       "revoking %.2f us a page\n", s->name, s->med, t, w, want,
		       revoke_us(s));
	}
	printf("  revoking: the one fault whose eviction made the lap, over the "
	       "pages it revoked.\n");
}

static void print_report(double secs)
{
	printf("%.1f s in all\n\n", secs);
	print_table(stdout);
	printf("\n/kernel: median over the median of the kernel series of the same "
	       "group (the first one;\nfor an eviction scan, the plain-memory "
	       "scan's); /trap: median over trap-floor's.\nTimer overhead not "
	       "subtracted.  A scan's samples are whole passes, per page.\n");

	printf("\nper-page cost of the ascending passes (whole time / pages):\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->kind != KIND_CHUNK || !usable(s) || !selected(s))
			continue;
		printf("  %-15s %.3f us/page  (%.2f x kernel-seqpass)\n", s->name,
		       per_page(s), ratio(per_page(s), per_page(&ser[k_seqpass])));
		if (s->populate && s->pop_frames)
			printf("  %-15s + populating the pool: %.3f us/frame, paid "
			       "once in dpemu_pool_create,\n  %-15s   not in the "
			       "figure above; with it %.3f us/page (%.2f x "
			       "kernel-seqpass)\n", "", pop_us(s), "",
			       per_page(s) + pop_us(s),
			       ratio(per_page(s) + pop_us(s),
			             per_page(&ser[k_seqpass])));
	}

	printf("\nthreads, throughput of the median pass (pages/ms):\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->kind != KIND_PASS || s->threads != 1 || !selected(s))
			continue;
		if (!usable(s) || !usable(s + 1)) {
			printf("  %-8s %s\n", pair_label(s),
			       s->unavailable ? "unavailable" : "failed");
			continue;
		}
		printf("  %-8s 1 thread %7.0f   2 threads %7.0f   2/1 %.2f x\n",
		       pair_label(s), throughput(s) / 1000, throughput(s + 1) / 1000,
		       ratio(throughput(s + 1), throughput(s)));
	}

	printf("\nmetadata (dpemu_space_stats metadata_bytes), %zu pages:\n",
	       opt_pages);
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->op != OP_D_ANON || !s->write || !s->random || !usable(s))
			continue;
		printf("  %-15s %" PRIu64 " B mapped, %" PRIu64 " B touched: "
		       "%.2f B/page\n", s->name, s->meta_map, s->meta_touched,
		       (double)s->meta_touched / (double)opt_pages);
	}
	if (sparse_pages)
		printf("  sparse          %" PRIu64 " pages at random over a 64x "
		       "larger mapping: %" PRIu64 " B, %.2f B/page\n", sparse_pages,
		       sparse_meta, (double)sparse_meta / (double)sparse_pages);
	else if (sparse_note[0])
		printf("  sparse          not measured: %s\n", sparse_note);

	print_references();
	print_eviction();

	printf("\nprocess VMAs, most seen:");
	for (int i = 0; i < nser; i++)
		if (ser[i].vmas_max)
			printf(" %s %" PRIu64 ",", ser[i].name, ser[i].vmas_max);
	printf("\n");

	printf("\ntargets (ratios of this run):\n");
	for (int i = 0; i < ntg; i++) {
		struct target *t = &tg[i];
		if (t->measured <= 0)
			printf("  %-62s %s %.2f  not measured\n", t->name, t->want,
			       t->limit);
		else
			printf("  %-62s %s %.2f  measured %6.2f (%s)  %s\n", t->name,
			       t->want, t->limit, t->measured, t->by,
			       t->met ? "MET" : "NOT MET");
		if (t->detail[0])
			printf("      %s\n", t->detail);
	}

	printf("\nseries:\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		printf("  %-16s %s\n", s->name, s->what);
		if (s->op == OP_K_FILE && !s->write && s->touches)
			printf("  %-16s (%ld of %ld accesses faulted: the kernel maps "
			       "cached neighbours per fault)\n", "", s->faulted,
			       s->touches);
		if (s->note[0])
			printf("  %-16s NOTE: %s\n", "", s->note);
	}
}

/* ---------------------------------------------------------------- JSON */

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

static void json_num(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, "%.4f", v);
	else
		fprintf(f, "null");
}

struct machine {
	struct utsname un;
	long cpus;
	char cpu[128];
	char when[40];
};

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

/* The eviction-scan fields of a scan series' JSON object. */
static void json_scan(FILE *f, const struct series *s)
{
	const struct series *first = first_idx >= 0 && usable(&ser[first_idx])
	                             ? &ser[first_idx] : NULL;
	fprintf(f, ", \"pages_per_s\": ");
	json_num(f, scan_rate(s));
	fprintf(f, ", \"scan\": ");
	json_str(f, scans[s->scan].name);
	fprintf(f, ", \"working_set_pages\": %zu", scan_pages(s));
	if (s->op != OP_D_SCAN)
		return;
	fprintf(f, ", \"policy\": ");
	json_str(f, dpemu_policy_name(s->policy));
	fprintf(f, ", \"pool_frames\": %zu, \"over_plain\": ", opt_ev_frames);
	json_num(f, usable(s) && usable(&ser[s->kref]) ? ratio(s->med, ser[s->kref].med)
	                                               : 0);
	fprintf(f, ", \"over_first_touch\": ");
	json_num(f, usable(s) && first ? ratio(s->med, first->med) : 0);
	fprintf(f, ", \"pages_touched\": %" PRIu64 ", \"per_page\": {\"faults\": %.4f, "
	        "\"zero_fills\": %.4f, \"evictions\": %.4f, \"swap_outs\": %.4f, "
	        "\"swap_ins\": %.4f, \"reference_faults\": %.4f}", s->ev_pages,
	        per_touch(s, s->ev_faults), per_touch(s, s->ev_zero_fills),
	        per_touch(s, s->ev_evictions), per_touch(s, s->ev_swap_outs),
	        per_touch(s, s->ev_swap_ins), per_touch(s, s->ev_ref_faults));
	fprintf(f, ", \"resident_alias_fraction\": ");
	if (s->ev_resident)
		fprintf(f, "%.4f", (double)s->ev_aliases / (double)s->ev_resident);
	else
		fprintf(f, "null");
	fprintf(f, ", \"reference_bit_share\": ");
	if (usable(s) && ev_ref(0) && ev_ref(1))
		fprintf(f, "[%.4f, %.4f]", ref_share(s, 0), ref_share(s, 1));
	else
		fprintf(f, "null");
}

static int write_json(const char *path, const struct machine *mc, double secs)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\n  \"benchmark\": \"dpemu-bench\",\n  \"dpemu_version\": ");
	json_str(f, dpemu_version());
	fprintf(f, ",\n  \"date\": ");
	json_str(f, mc->when);
	fprintf(f, ",\n  \"machine\": {\"sysname\": ");
	json_str(f, mc->un.sysname);
	fprintf(f, ", \"kernel\": ");
	json_str(f, mc->un.release);
	fprintf(f, ", \"kernel_version\": ");
	json_str(f, mc->un.version);
	fprintf(f, ", \"arch\": ");
	json_str(f, mc->un.machine);
	fprintf(f, ", \"cpus\": %ld, \"cpu_model\": ", mc->cpus);
	json_str(f, mc->cpu);
	fprintf(f, "},\n  \"options\": {\"pages\": %zu, \"rounds\": %u, "
	        "\"thread_passes\": %u, \"seed\": %" PRIu64 ", \"pretouch_mib\": %zu, "
	        "\"chunk_pages\": %d, \"fault_around\": %d, \"evict_frames\": %zu, "
	        "\"evict_backend\": \"%s\"},\n",
	        opt_pages, opt_rounds, opt_passes, opt_seed, opt_pretouch_mib,
	        CHUNK, FA_PAGES, opt_ev_frames, bk_backend[ev_bk]);
	fprintf(f, "  \"page_size\": %zu,\n  \"seconds\": %.3f,\n", page, secs);
	fprintf(f, "  \"series\": {\n");
	int first = 1;
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		fprintf(f, "%s    ", first ? "" : ",\n");
		first = 0;
		json_str(f, s->name);
		fprintf(f, ": {\"group\": ");
		json_str(f, s->group);
		fprintf(f, ", \"what\": ");
		json_str(f, s->what);
		fprintf(f, ", \"backend\": ");
		json_str(f, bk_backend[s->bk]);
		fprintf(f, ", \"kind\": \"%s\", \"unit\": \"%s\", \"order\": \"%s\", "
		        "\"access\": \"%s\", \"fault_around\": %zu, \"populate\": %d, "
		        "\"populate_ns_per_frame\": %.1f, \"threads\": %d, "
		        "\"samples\": %zu, ", kind_name[s->kind],
		        s->kind == KIND_FAULT ? "us per access" : "us per page",
		        s->random ? "random" : "ascending", s->write ? "write" : "read",
		        s->fa, s->populate, 1000.0 * pop_us(s), s->threads, s->n);
		int pr = s->kind == KIND_SCAN ? 6 : 3; /* scans: from ps */
		fprintf(f, "\"min_us\": %.*f, \"p1_us\": %.*f, \"p10_us\": %.*f, "
		        "\"p25_us\": %.*f, \"median_us\": %.*f, \"p75_us\": %.*f, "
		        "\"p90_us\": %.*f, \"p99_us\": %.*f, \"max_us\": %.*f, "
		        "\"mean_us\": %.*f, ", pr, s->min, pr, s->p1, pr, s->p10, pr,
		        s->p25, pr, s->med, pr, s->p75, pr, s->p90, pr, s->p99, pr,
		        s->max, pr + 1, s->mean);
		fprintf(f, "\"round_medians_us\": [");
		size_t r = s->rounds_done < MAX_ROUND_MEDS ? s->rounds_done : MAX_ROUND_MEDS;
		for (size_t j = 0; j < r; j++)
			fprintf(f, "%s%.*f", j ? ", " : "", pr, s->round_med[j]);
		fprintf(f, "], \"kernel_ref\": ");
		if (s->kref >= 0)
			json_str(f, ser[s->kref].name);
		else
			fprintf(f, "null");
		fprintf(f, ", \"over_kernel\": ");
		json_num(f, s->kref >= 0 && usable(s) && usable(&ser[s->kref])
		         ? ratio(s->med, ser[s->kref].med) : 0);
		fprintf(f, ", \"over_trap_floor\": ");
		json_num(f, usable(s) && s->kind == KIND_FAULT && s->op != OP_TRAP &&
		         s->op != OP_TIMER ? ratio(s->med, ser[trap_idx].med) : 0);
		if (s->kind == KIND_PASS) {
			fprintf(f, ", \"pages_per_s\": ");
			json_num(f, throughput(s));
		}
		if (s->kind == KIND_SCAN)
			json_scan(f, s);
		if (s->op == OP_D_REF) {
			fprintf(f, ", \"pool_frames\": %zu, \"aliases\": %s, "
			        "\"revoked_pages\": %" PRIu64 ", \"revoke_us_per_page\": ",
			        ref_frames(), s->alias ? "true" : "false", s->rv_pages);
			json_num(f, revoke_us(s));
		}
		if (s->op == OP_D_ANON)
			fprintf(f, ", \"metadata_bytes_mapped\": %" PRIu64
			        ", \"metadata_bytes_touched\": %" PRIu64,
			        s->meta_map, s->meta_touched);
		if (s->op == OP_K_FILE && !s->write)
			fprintf(f, ", \"accesses\": %ld, \"faulted\": %ld", s->touches,
			        s->faulted);
		fprintf(f, ", \"vmas_max\": %" PRIu64 ", \"failed\": %s, "
		        "\"unavailable\": %s, \"note\": ", s->vmas_max,
		        s->failed ? "true" : "false", s->unavailable ? "true" : "false");
		json_str(f, s->note);
		fprintf(f, "}");
	}
	fprintf(f, "\n  },\n  \"threads\": {");
	first = 1;
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->kind != KIND_PASS || s->threads != 1 || !selected(s))
			continue;
		fprintf(f, "%s\n    \"%s\": {\"one_thread_pages_per_s\": ",
		        first ? "" : ",", pair_label(s));
		first = 0;
		json_num(f, throughput(s));
		fprintf(f, ", \"two_threads_pages_per_s\": ");
		json_num(f, throughput(s + 1));
		fprintf(f, ", \"two_over_one\": ");
		json_num(f, ratio(throughput(s + 1), throughput(s)));
		fprintf(f, "}");
	}
	fprintf(f, "\n  },\n  \"metadata\": {\"pages\": %zu, \"sparse_pages\": %"
	        PRIu64 ", \"sparse_bytes\": %" PRIu64 ", \"sparse_bytes_per_page\": ",
	        opt_pages, sparse_pages, sparse_meta);
	json_num(f, sparse_pages ? (double)sparse_meta / (double)sparse_pages : 0);
	fprintf(f, "},\n  \"eviction\": {\"backend\": \"%s\", \"pool_frames\": %zu, "
	        "\"untimed_passes\": 2, \"timed_passes\": %d, "
	        "\"plain_passes_per_sample\": %d, \"hot_percent\": %d, "
	        "\"hot_pages_fraction\": %.4f, \"reference_fault_pool_frames\": %zu",
	        bk_backend[ev_bk], opt_ev_frames, EV_TIMED, PLAIN_REPS, HOT_PERCENT,
	        1.0 / HOT_DIV, ref_frames());
	fprintf(f, "},\n  \"targets\": [");
	for (int i = 0; i < ntg; i++) {
		struct target *t = &tg[i];
		fprintf(f, "%s\n    {\"target\": ", i ? "," : "");
		json_str(f, t->name);
		fprintf(f, ", \"want\": \"%s\", \"limit\": %.2f, \"measured\": ",
		        t->want, t->limit);
		json_num(f, t->measured);
		fprintf(f, ", \"by\": ");
		if (t->by)
			json_str(f, t->by);
		else
			fprintf(f, "null");
		fprintf(f, ", \"met\": %s, \"detail\": ",
		        t->measured > 0 ? (t->met ? "true" : "false") : "null");
		json_str(f, t->detail);
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* ----------------------------------------------------------------- SVG */

static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *const bk_colour[BK_COUNT] = { "#555555", "#1f77b4", "#d62728",
	                                          "#2ca02c" };

static int write_svg(const char *path, const struct machine *mc)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	/* the log-scale axis, decades covering every plotted value */
	double lo = 1e9, hi = 0;
	int rows = 0, groups = 0;
	const char *g = NULL;
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != g) {
			g = s->group;
			groups++;
		}
		rows++;
		if (!usable(s))
			continue;
		if (s->p1 > 0 && s->p1 < lo)
			lo = s->p1;
		if (s->max > hi)
			hi = s->max;
	}
	if (hi <= 0) {
		lo = 0.01;
		hi = 10;
	}
	int dlo = (int)(lg10(lo) + 30) - 30; /* floor */
	int dhi = -((int)(-lg10(hi) + 30) - 30); /* ceil */
	if (dhi <= dlo)
		dhi = dlo + 1;
	const int left = 150, plotw = 640, right = 190, rowh = 16, top = 84;
	const int width = left + plotw + right;
	const int height = top + rows * rowh + groups * 18 + 126;
#define XS(v) (left + (double)plotw * (lg10(v) - dlo) / (double)(dhi - dlo))

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	        "font-size=\"11\">\n", width, height, width, height);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\">"
	        "dpemu fault latency, per access or per page (log scale, "
	        "microseconds)</text>\n", 10);
	fprintf(f, "<text x=\"10\" y=\"38\" fill=\"#333\">dpemu %s; Linux ",
	        dpemu_version());
	xml_str(f, mc->un.release);
	fprintf(f, " %s, %ld CPUs (", mc->un.machine, mc->cpus);
	xml_str(f, mc->cpu);
	fprintf(f, "); %zu pages x %u rounds; %s</text>\n", opt_pages, opt_rounds,
	        mc->when);

	int ybot = height - 116;
	/* grid: decades, with 2 and 5 between */
	for (int d = dlo; d <= dhi; d++) {
		double v = pow10i(d);
		double x = XS(v);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"#bbb\"/>\n", x, top - 8, x, ybot);
		char lab[32];
		if (d >= 0)
			snprintf(lab, sizeof lab, "%.0f", v);
		else
			snprintf(lab, sizeof lab, "%.*f", -d, v);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, top - 12, lab);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, ybot + 14, lab);
		if (d < dhi)
			for (int m = 2; m <= 5; m += 3) {
				double xm = XS(v * m);
				fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
				        "stroke=\"#e6e6e6\"/>\n", xm, top - 4, xm, ybot);
			}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">microseconds "
	        "(log scale)</text>\n", left + plotw / 2, ybot + 28);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\" "
	        "font-family=\"DejaVu Sans Mono, monospace\" xml:space=\"preserve\">"
	        " median /kernel  /trap</text>\n", left + plotw + 8, top - 30);

	int y = top;
	g = NULL;
	double trapmed = usable(&ser[trap_idx]) ? ser[trap_idx].med : 0;
	if (trapmed > 0) {
		double x = XS(trapmed);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"#000\" stroke-dasharray=\"3,3\" opacity=\"0.5\"/>\n",
		        x, top - 4, x, ybot);
	}
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != g) {
			g = s->group;
			fprintf(f, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"16\" "
			        "fill=\"#f0f0f0\"/>\n", y, width);
			fprintf(f, "<text x=\"8\" y=\"%d\" font-weight=\"bold\">", y + 12);
			xml_str(f, g);
			fprintf(f, "</text>\n");
			y += 18;
		}
		int cy = y + rowh / 2;
		const char *col = bk_colour[s->bk];
		if (s->op == OP_TRAP)
			col = "#000000";
		if (s->op == OP_TIMER)
			col = "#999999";
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"%s\">%s"
		        "</text>\n", left - 8, cy + 4, col, s->name);
		if (!usable(s)) {
			fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\" font-style="
			        "\"italic\">%s</text>\n", left + 8, cy + 4,
			        s->unavailable ? "unavailable on this kernel" : "failed");
			y += rowh;
			continue;
		}
		/* p1..p99 whisker, p10..p90 light box, p25..p75 box, median bar,
		   max dot */
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\"/>\n", XS(s->p1), cy, XS(s->p99), cy, col);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\"/>\n", XS(s->p99), cy - 3, XS(s->p99), cy + 3, col);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\"/>\n", XS(s->p1), cy - 3, XS(s->p1), cy + 3, col);
		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" "
		        "fill=\"%s\" opacity=\"0.25\"/>\n", XS(s->p10), cy - 5,
		        XS(s->p90) - XS(s->p10) + 0.5, col);
		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" "
		        "fill=\"%s\" opacity=\"0.6\"/>\n", XS(s->p25), cy - 5,
		        XS(s->p75) - XS(s->p25) + 0.5, col);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"black\" stroke-width=\"2\"/>\n", XS(s->med), cy - 6,
		        XS(s->med), cy + 6);
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"2.5\" fill=\"none\" "
		        "stroke=\"%s\"/>\n", XS(s->max), cy, col);
		char k[16], t[16];
		fmt_ratio(k, sizeof k, s->kref >= 0 && usable(&ser[s->kref])
		          ? ratio(s->med, ser[s->kref].med) : 0);
		fmt_ratio(t, sizeof t, s->op != OP_TRAP && s->op != OP_TIMER &&
		          s->kind == KIND_FAULT ? ratio(s->med, trapmed) : 0);
		if (s->kind == KIND_SCAN && s->kref >= 0 && usable(&ser[s->kref]))
			snprintf(k, sizeof k, "%.0f", ratio(s->med, ser[s->kref].med));
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-family=\"DejaVu Sans Mono, "
		        "monospace\" xml:space=\"preserve\">%7.*f %7s %6s</text>\n",
		        left + plotw + 8, cy + 4, s->med < 0.1 ? 4 : 2, s->med, k, t);
		y += rowh;
	}
	/* legend */
	int ly = ybot + 48;
	int lx = left;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
	        lx, ly, lx + 120, ly);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"90\" height=\"10\" fill=\"#333\" "
	        "opacity=\"0.25\"/>\n", lx + 15, ly - 5);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"50\" height=\"10\" fill=\"#333\" "
	        "opacity=\"0.6\"/>\n", lx + 35, ly - 5);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\" "
	        "stroke-width=\"2\"/>\n", lx + 60, ly - 6, lx + 60, ly + 6);
	fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"none\" "
	        "stroke=\"#333\"/>\n", lx + 150, ly);
	fprintf(f, "<text x=\"%d\" y=\"%d\">whisker p1..p99, light box p10..p90, "
	        "dark box p25..p75, bar median, circle max; dashed line: trap-floor "
	        "median</text>\n", lx + 165, ly + 4);
	ly += 20;
	fprintf(f, "<text x=\"%d\" y=\"%d\">", lx, ly);
	for (int b = 0; b < BK_COUNT; b++)
		fprintf(f, "<tspan fill=\"%s\" font-weight=\"bold\">%s</tspan>%s",
		        bk_colour[b], b ? bk_what[b] : "kernel (grey)",
		        b + 1 < BK_COUNT ? "   " : "");
	fprintf(f, "</text>\n");
	ly += 16;
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#333\">fault: one access timed "
	        "alone; chunk: 64 ascending pages timed together, per page; pass: "
	        "wall time of a whole pass per page</text>\n", lx, ly);
	ly += 16;
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#333\">scan: one timed pass over "
	        "an eviction scan's working set, per page; its /kernel is over the "
	        "same scan on plain memory</text>\n", lx, ly);
	fprintf(f, "</svg>\n");
#undef XS
	return fclose(f) == 0 ? 0 : -1;
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

int cli_check_env(const char *argv0)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	dpemu_pool *pool;
	dpemu_space *sp;
	int rc;

	memset(&pc, 0, sizeof pc);
	pc.frames = 1;
	rc = dpemu_pool_create(&pc, &pool);
	if (rc == 0) {
		memset(&sc, 0, sizeof sc);
		sc.reserve = 1;
		sc.backend = DPEMU_BACKEND_AUTO;
		rc = dpemu_space_create(pool, &sc, &sp);
		if (rc == 0)
			dpemu_space_destroy(sp);
		else if (rc == -EINVAL)
			fprintf(stderr, "%s: %s\n", argv0, dpemu_last_error());
		dpemu_pool_destroy(pool);
	} else if (rc == -EINVAL) {
		fprintf(stderr, "%s: %s\n", argv0, dpemu_last_error());
	}
	return rc == -EINVAL ? -1 : 0;
}

int cli_parse_u64(const char *argv0, const char *opt, const char *arg, uint64_t min,
                  uint64_t max, uint64_t *out)
{
	static const char dec[] = "0123456789", hex[] = "0123456789abcdefABCDEF";
	const char *digits = arg, *set = dec;
	const char *why = NULL;
	unsigned long long v = 0;
	int base = 10;

	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
		digits += 2;
		base = 16;
		set = hex;
	}
	/* Only digits reach strtoull: it would skip spaces and take a sign. */
	if (arg[0] == '\0') {
		why = "empty";
	} else if (arg[0] == '-') {
		why = "negative";
	} else if (digits[0] == '\0' || strspn(digits, set) == 0) {
		why = "not a number";
	} else if (digits[strspn(digits, set)] != '\0') {
		why = "not a number (trailing characters)";
	} else {
		errno = 0;
		v = strtoull(digits, NULL, base);
		if (errno == ERANGE)
			why = "too large";
		else if (v < min || v > max)
			why = "out of range";
	}
	if (why) {
		fprintf(stderr, "%s: bad %s '%s': %s (accepted: %" PRIu64 " to %" PRIu64 ")\n",
		        argv0, opt, arg, why, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int dpemu_bench_main(int argc, char **argv)
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
	const char *argv0 = argc > 0 ? argv[0] : "bench";
	int c, status = 0;
	uint64_t v;

	opt_pages = 4096;
	opt_rounds = 5;
	opt_passes = 3;
	opt_json = opt_svg = opt_only = NULL;
	opt_seed = 0x5eed0f00dULL;
	opt_pretouch_mib = 64;
	opt_ev_frames = EV_FRAMES;
	opt_ev_bk = BK_NONE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:r:P:j:g:s:m:o:f:b:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (cli_parse_u64(argv0, "--pages", optarg, CHUNK, 1u << 22, &v) != 0)
				return 2;
			if (v % CHUNK) {
				fprintf(stderr, "%s: bad --pages '%s': not a multiple of %d "
				        "(accepted: multiples of %d from %d to %u)\n", argv0,
				        optarg, CHUNK, CHUNK, CHUNK, 1u << 22);
				return 2;
			}
			opt_pages = (size_t)v;
			break;
		case 'r':
			if (cli_parse_u64(argv0, "--rounds", optarg, 1, 1000, &v) != 0)
				return 2;
			opt_rounds = (unsigned)v;
			break;
		case 'P':
			if (cli_parse_u64(argv0, "--passes", optarg, 1, 100, &v) != 0)
				return 2;
			opt_passes = (unsigned)v;
			break;
		case 'j':
			opt_json = optarg;
			break;
		case 'g':
			opt_svg = optarg;
			break;
		case 'o':
			opt_only = optarg;
			break;
		case 's':
			if (cli_parse_u64(argv0, "--seed", optarg, 0, UINT64_MAX, &v) != 0)
				return 2;
			opt_seed = v;
			break;
		case 'm':
			/* At most the machine's memory: the block is populated. */
			if (cli_parse_u64(argv0, "--pretouch-mib", optarg, 0, phys_mib(), &v) != 0)
				return 2;
			opt_pretouch_mib = (size_t)v;
			break;
		case 'f':
			if (cli_parse_u64(argv0, "--evict-frames", optarg, HOT_DIV, 1u << 18, &v) != 0)
				return 2;
			opt_ev_frames = (size_t)v;
			break;
		case 'b':
			opt_ev_bk = BK_NONE;
			for (int b = BK_SEGV; b < BK_COUNT; b++)
				if (strcmp(optarg, bk_backend[b]) == 0)
					opt_ev_bk = (enum bk)b;
			if (opt_ev_bk == BK_NONE) {
				fprintf(stderr, "%s: bad --evict-backend '%s' (accepted: "
				        "sigsegv, uffd, uffd-sigbus)\n", argv0, optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout, argv0);
			return 0;
		default:
			usage(stderr, argv0);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv0, argv[optind]);
		usage(stderr, argv0);
		return 2;
	}
	if ((opt_json && check_output(argv0, "--json", opt_json) != 0) ||
	    (opt_svg && check_output(argv0, "--svg", opt_svg) != 0) ||
	    cli_check_env(argv0) != 0)
		return 2;

	page = (size_t)sysconf(_SC_PAGESIZE);
	rng_state = opt_seed ? opt_seed : 1;
	ev_bk = pick_ev_backend();
	define_series();
	if (check_only(argv0) != 0)
		return 2;
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		s->cap = s->kind == KIND_SCAN ? (size_t)opt_rounds * EV_TIMED
		         : s->kind == KIND_PASS ? (size_t)opt_rounds * opt_passes
		         : s->kind == KIND_CHUNK ? (size_t)opt_rounds * (opt_pages / CHUNK)
		                                 : (size_t)opt_rounds * opt_pages;
		s->ns = malloc(s->cap * sizeof *s->ns);
		if (!s->ns) {
			fprintf(stderr, "%s: out of memory\n", argv0);
			return 1;
		}
		memset(s->ns, 0, s->cap * sizeof *s->ns); /* touched now, not later */
	}
	rnd = malloc(opt_pages * sizeof *rnd);
	seq = malloc(opt_pages * sizeof *seq);
	half[0] = malloc(opt_pages * sizeof *half[0]);
	half[1] = malloc(opt_pages * sizeof *half[1]);
	char *buf = malloc(page);
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
	if (!rnd || !seq || !half[0] || !half[1] || !buf || !ev_ok) {
		fprintf(stderr, "%s: out of memory\n", argv0);
		return 1;
	}
	for (size_t i = 0; i < opt_pages; i++)
		seq[i] = i;
	for (size_t i = 0; i < ev_max; i++)
		ev_seq[i] = i;

	/* The file of the file series: written a page at a time, so that the
	   page cache holds it in single pages (a whole-file write makes large
	   folios, which the kernel maps many pages per fault). */
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
	free(buf);
	if (file_fd < 0) {
		for (int i = 0; i < nser; i++)
			if (ser[i].op == OP_K_FILE || ser[i].op == OP_D_FILE)
				fail(&ser[i], "test file in $TMPDIR or /tmp", errno);
	}

	struct machine mc;
	machine_info(&mc);
	printf("dpemu bench: dpemu %s, Linux %s %s, %ld CPUs (%s), page %zu B,\n"
	       "  %zu pages x %u rounds, %u thread passes per round, seed %" PRIu64
	       "\n", dpemu_version(), mc.un.release, mc.un.machine, mc.cpus,
	       mc.cpu, page, opt_pages, opt_rounds, opt_passes, opt_seed);
	fflush(stdout);

	uint64_t t_start = now_ns();
	size_t need = opt_pages * page;
	for (unsigned r = 0; r < opt_rounds; r++) {
		shuffle(rnd, opt_pages);
		half_n[0] = half_n[1] = 0;
		for (size_t i = 0; i < opt_pages; i++) {
			int h = rnd[i] >= opt_pages / 2;
			half[h][half_n[h]++] = rnd[i];
		}
		make_orders();
		/* Rotate the order of the series from round to round, so no
		   series always runs first (or right after another); the
		   two-thread series runs with its one-thread partner. */
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
		printf("  round %u of %u done, %.1f s\n", r + 1, opt_rounds,
		       (double)(now_ns() - t_start) / 1e9);
		fflush(stdout);
	}
	if (!opt_only || strstr(opt_only, "segv"))
		measure_sparse();
	double secs = (double)(now_ns() - t_start) / 1e9;
	if (file_fd >= 0)
		close(file_fd);

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
		if (write_json(opt_json, &mc, secs) != 0) {
			fprintf(stderr, "%s: %s: %s\n", argv0, opt_json, strerror(errno));
			status = 1;
		} else {
			printf("\nJSON written to %s\n", opt_json);
		}
	}
	if (opt_svg) {
		if (write_svg(opt_svg, &mc) != 0) {
			fprintf(stderr, "%s: %s: %s\n", argv0, opt_svg, strerror(errno));
			status = 1;
		} else {
			printf("SVG written to %s\n", opt_svg);
		}
	}

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
	for (int k = 0; k < NSCANS; k++)
		for (int p = 0; p < EV_PASSES; p++) {
			free(ev_ord[k][p]);
			ev_ord[k][p] = NULL;
		}
	return status;
}
