/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_int.h - what the files of the fault-latency suite share: the
 * series' definition (struct series), the run's options and buffers, and
 * each file's exported functions.  Included by the .c files of bench/
 * only.  The files, and what each may call:
 *
 *   driver.c         options, main (dpemu_bench_main), the rounds: calls
 *                    every file below, and tools/dpemu/options.c
 *   series.c         the list of series (define_series), --only, run_one:
 *                    calls series_kernel.c and series_dpemu.c
 *   series_kernel.c  the kernel's series, the trap floor, the threads
 *   series_dpemu.c   dpemu's series, the eviction scans, reference faults:
 *                    both call measure.c and stats.c (close_round), and
 *                    series_dpemu.c calls series_kernel.c's thread pass
 *                    and trap floor
 *   measure.c        timing and sampling helpers (clocks, orders, notes)
 *   stats.c          quantiles, medians per round, the ratios and the
 *                    project's targets: calls nothing but libc
 *   table.c, json.c  the text report on stdout, the --json file: call
 *                    stats.c, series.c (selected), series_dpemu.c
 *                    (ref_frames; json.c also scan_pages)
 *   svg.c            the --svg file: calls stats.c, series.c (selected)
 *
 * What is measured and how: series.c's and driver.c's comments, and
 * doc/performance.md.  Uses only <dpemu.h>, libc and pthreads; Linux only
 * (as dpemu is).
 */
#ifndef DPEMU_BENCH_INT_H
#define DPEMU_BENCH_INT_H

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
#define UNSTABLE_SPREAD 2.0 /* round medians max/min above it: flagged  */
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
extern const char *const kind_name[];
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
extern const struct scan_def scans[];
#define NSCANS 5 /* the entries of scans[] (series.c) */
extern const enum dpemu_policy ev_policies[];
#define NPOLICIES 4 /* the entries of ev_policies[] (series.c) */

enum bk { BK_NONE, BK_SEGV, BK_UFFD, BK_SIGBUS, BK_COUNT };
/* bk_name: the short label that starts a series' name (segv-rand-w,
 * sigbus-1thr: historic, kept so that results stay comparable);
 * bk_backend: the backend's name as everywhere else in dpemu (DPEMU_BACKEND,
 * dpemu backends, --evict-backend, the JSON's "backend" keys). */
extern const char *const bk_name[BK_COUNT];
extern const char *const bk_backend[BK_COUNT];
extern const char *const bk_what[BK_COUNT];

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

/* series.c: the series, and the indices the report compares with */
extern struct series ser[MAX_SERIES];
extern int nser;
extern int ref_idx[BK_COUNT], refa_idx[BK_COUNT], first_idx;
extern int trap_idx, timer_idx, k_rand_w, k_seqpass, k_cow, k_1thr, k_2thr;
extern int spin_1thr, spin_2thr, trap_1thr, trap_2thr, k_shmw, k_shmpass;

/* driver.c: the options, and the run's state the series share */
extern size_t opt_pages;
extern unsigned opt_rounds;
extern unsigned opt_passes;
extern uint64_t opt_seed;
extern size_t opt_pretouch_mib;
extern const char *opt_only;
extern size_t opt_ev_frames;
extern enum bk opt_ev_bk; /* BK_NONE: sigbus if allowed, else segv */
extern enum bk ev_bk;
extern size_t page;
extern int file_fd;
extern size_t *rnd, *seq, *half[2];
extern size_t half_n[2];
/* eviction scans: the orders of this round, per scan and pass */
extern size_t *ev_seq, *ev_perm; /* ascending; scratch of make_orders */
extern size_t *ev_ord[NSCANS][EV_PASSES];
extern size_t *ref_list;  /* B-ref: the revoked pages, in random order */
extern size_t *ref_order; /* B-ref: the round's random order of its pages */

/* series_dpemu.c: sparse metadata, touched pages spread over a 64x larger
   mapping */
extern uint64_t sparse_meta, sparse_pages;
extern char sparse_note[256];

/* series_kernel.c: set while the trap floor runs in threads (its handler
   then may not siglongjmp) */
extern volatile sig_atomic_t trap_threaded;

/* measure.c: the state of rng_next (--seed) */
extern uint64_t rng_state;

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
/* stats.c: the project's targets, computed by compute_targets */
extern struct target tg[5];
extern int ntg;

struct machine {
	struct utsname un;
	long cpus;
	char cpu[128];
	char when[40];
};

/* The clock of every sample, and one access timed alone. */
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

/* measure.c */
uint64_t rng_next(void);
void shuffle(size_t *v, size_t n);
void note_vmas(struct series *s);
long minor_faults(void);
void pretouch(size_t need);
void set_note(struct series *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fail(struct series *s, const char *what, long err);
char *map_anon(size_t len);
void fault_loop(struct series *s, char *p, const size_t *order, int vmas);
void chunk_loop(struct series *s, char *p);
void file_warm(void);

/* stats.c */
double lg10(double x);
double pow10i(int e);
void close_round(struct series *s, size_t base);
void summarize(struct series *s);
double ratio(double a, double b);
int unstable(const struct series *s);
void fmt_ratio(char *buf, size_t n, double r);
int usable(const struct series *s);
double per_page(const struct series *s);
double pop_us(const struct series *s);
double throughput(const struct series *s);
void compute_targets(void);
const char *pair_label(const struct series *s);
double scan_rate(const struct series *s);
double per_touch(const struct series *s, uint64_t v);
const struct series *ev_ref(int alias);
double revoke_us(const struct series *r);
double ref_share(const struct series *s, int alias);

/* series.c */
void define_series(void);
void run_one(struct series *s);
int selected(const struct series *s);
int check_only(const char *argv0);

/* series_kernel.c */
void run_k_anon(struct series *s);
void run_k_file(struct series *s);
void run_k_shm(struct series *s);
void run_k_shmpop(struct series *s);
void run_k_cow(struct series *s);
uint64_t thread_pass(char *p, int nthr, int spin);
void record_pass(struct series *s, uint64_t dt);
char *trap_arm(size_t len, struct sigaction *prev);
void trap_disarm(char *p, size_t len, const struct sigaction *prev);
void run_trap(struct series *s);
void run_timer(struct series *s);

/* series_dpemu.c */
void run_d_anon(struct series *s);
void run_d_seqpass(struct series *s);
void run_d_file(struct series *s);
void run_d_cow(struct series *s);
void run_threads(struct series *s);
void measure_sparse(void);
size_t ref_frames(void);
void make_orders(void);
size_t scan_pages(const struct series *s);
void run_d_scan(struct series *s);
void run_plain_scan(struct series *s);
void run_plain_first(struct series *s);
void run_d_ref(struct series *s);
enum bk pick_ev_backend(void);

/* table.c */
void print_report(double secs);

/* json.c */
int write_json(const char *path, const struct machine *mc, double secs);

/* svg.c */
int write_svg(const char *path, const struct machine *mc);


#endif
