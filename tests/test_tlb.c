/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tlb.c - the emulated TLB (dpemu_space_config.tlb_entries; issue 16),
 * under every backend (tests/each-backend).  Every test runs in a forked
 * child with an alarm, so that a deadlock or a livelock fails it instead
 * of hanging the suite.
 *
 * What is checked (counts and order, never a time):
 *  - one entry: touching A B A A C B takes exactly 3 zero fills and 2 TLB
 *    misses, the trace's fault records are A B A C B (the tlb-miss ones
 *    with the page's frame), and dpemu_space_stats, the TLB_MISS latency
 *    histogram and the trace agree;
 *  - k entries: after warm-up a cyclic scan over k pages takes no trap,
 *    over k + 1 pages every access misses (FIFO over the misses); at most
 *    k pages are ever in the TLB (dpemu_query in_tlb);
 *  - fault-around neighbours are paged in but not shown: their first
 *    access is a TLB miss, not a zero fill; a huge tlb_entries never hides
 *    a page but still counts those;
 *  - an unmapped page leaves the TLB (it does not take a victim's place);
 *    a forked child starts with an empty TLB (its first reads are misses,
 *    its first write a copy-on-write break), and both keep their data;
 *    under FIFO and CLOCK replacement with a TLB smaller than the pool,
 *    every byte survives and the counts stay sane; dpemu_prefault fills
 *    the TLB too;
 *  - 4 threads on disjoint pages with a small TLB finish (no deadlock),
 *    with their data and plausible counts;
 *  - tlb_entries = 0: nothing in the TLB, no TLB miss.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define CHECK(cond) TU_CHECK(cond, "%s", "")

static size_t ps;

struct rig {
	dpemu_pool *pool;
	dpemu_space *space;
	volatile unsigned char *base;
	size_t pages;
};

/* A pool of frames (policy) and a space of `pages` pages, all mapped
 * private anonymous, with a TLB of tlb entries and fault-around fa. */
static void rig_open(struct rig *r, size_t frames, enum dpemu_policy policy, size_t pages,
                     size_t tlb, size_t fa)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * ps);
	void *p;

	pcfg.policy = policy;
	scfg.tlb_entries = tlb;
	scfg.fault_around = fa;
	CHECK(dpemu_pool_create(&pcfg, &r->pool) == 0);
	CHECK(dpemu_space_create(r->pool, &scfg, &r->space) == 0);
	CHECK(dpemu_map(r->space, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	r->base = p;
	r->pages = pages;
}

static void rig_close(struct rig *r)
{
	struct dpemu_pool_stats st;

	CHECK(dpemu_space_destroy(r->space) == 0);
	CHECK(dpemu_pool_stats(r->pool, &st) == 0);
	CHECK(st.frames_used == 0);
	CHECK(dpemu_pool_destroy(r->pool) == 0);
}

static struct dpemu_stats stats_of(dpemu_space *s)
{
	struct dpemu_stats st;

	CHECK(dpemu_space_stats(s, &st) == 0);
	return st;
}

static uint64_t tlb_lat_count(dpemu_space *s)
{
	struct dpemu_latency l;

	CHECK(dpemu_space_latency_kind(s, DPEMU_EVENT_TLB_MISS, &l) == 0);
	return l.count;
}

static struct dpemu_page_info query(struct rig *r, size_t pg)
{
	struct dpemu_page_info info;

	CHECK(dpemu_query(r->space, (const void *)(r->base + pg * ps), &info) == 0);
	return info;
}

/* Pages of r that the TLB holds now; each of them is present. */
static size_t in_tlb(struct rig *r)
{
	size_t n = 0;

	for (size_t pg = 0; pg < r->pages; pg++) {
		struct dpemu_page_info info = query(r, pg);
		if (info.in_tlb) {
			CHECK(info.present);
			n++;
		}
	}
	return n;
}

static unsigned char value(size_t pg, unsigned round)
{
	return (unsigned char)(pg * 7 + round * 13 + 1);
}

static void run_child(void (*fn)(void *), void *arg, const char *what)
{
	struct tu_child c;

	assert_int_equal(tu_run_in_child(fn, arg, &c), 0);
	tu_assert_child_ok(&c, what);
}

/* ---- reading a trace (dpemu-trace(5)) ------------------------------------------ */

struct trace {
	struct dpemu_trace_record *r;
	size_t n;
};

static void trace_read(const char *path, struct trace *t)
{
	struct dpemu_trace_header h;
	struct stat st;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	CHECK(tu_pread_all(fd, &h, sizeof h, 0) == 0);
	CHECK(memcmp(h.magic, DPEMU_TRACE_MAGIC, 8) == 0 && h.version == DPEMU_TRACE_VERSION);
	CHECK(h.record_bytes == sizeof(struct dpemu_trace_record));
	t->n = (size_t)(st.st_size - h.header_bytes) / h.record_bytes;
	t->r = calloc(t->n + 1, sizeof *t->r);
	CHECK(t->r != NULL);
	CHECK(t->n == 0 || tu_pread_all(fd, t->r, t->n * sizeof *t->r, h.header_bytes) == 0);
	close(fd);
}

static int is_fault(unsigned ev)
{
	return ev >= DPEMU_EVENT_ZERO_FILL && ev <= DPEMU_EVENT_UNRESOLVED;
}

/* ---- one entry: the exact reference string ---------------------------------------- */

static void one_entry(void *arg)
{
	static const size_t refs[] = { 0, 1, 0, 0, 2, 1 }; /* A B A A C B */
	static const size_t want[] = { 0, 1, 0, 2, 1 };    /* A B A C B   */
	static const unsigned want_ev[] = { DPEMU_EVENT_ZERO_FILL, DPEMU_EVENT_ZERO_FILL,
	                                    DPEMU_EVENT_TLB_MISS, DPEMU_EVENT_ZERO_FILL,
	                                    DPEMU_EVENT_TLB_MISS };
	const char *path = arg;
	struct rig r;
	struct trace t;

	alarm(60);
	rig_open(&r, 16, DPEMU_POLICY_NONE, 8, 1, 0);
	CHECK(dpemu_trace_start(r.pool, path) == 0);
	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
		r.base[refs[i] * ps] = value(refs[i], (unsigned)i);
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.faults == 5);
	CHECK(st.zero_fills == 3);
	CHECK(st.tlb_misses == 2);
	CHECK(st.reference_faults == 0);
	CHECK(tlb_lat_count(r.space) == 2);
	CHECK(in_tlb(&r) == 1 && query(&r, 1).in_tlb); /* B, touched last */
	uint32_t frame_a = (uint32_t)query(&r, 0).frame, frame_b = (uint32_t)query(&r, 1).frame;
	CHECK(dpemu_trace_stop(r.pool) == 0);
	CHECK(r.base[0] == value(0, 3) && r.base[ps] == value(1, 5) && r.base[2 * ps] == value(2, 4));
	rig_close(&r);

	trace_read(path, &t);
	size_t k = 0;
	for (size_t i = 0; i < t.n; i++) {
		const struct dpemu_trace_record *rec = &t.r[i];
		if (!is_fault(rec->event))
			continue;
		CHECK(k < 5);
		CHECK(rec->addr == (uintptr_t)(r.base + want[k] * ps));
		CHECK(rec->event == want_ev[k]);
		if (rec->event == DPEMU_EVENT_TLB_MISS) {
			CHECK(rec->frame == (want[k] == 0 ? frame_a : frame_b));
			CHECK(rec->access == DPEMU_ACCESS_WRITE || rec->access == DPEMU_ACCESS_UNKNOWN);
		}
		k++;
	}
	CHECK(k == 5);
	free(t.r);
	unlink(path);
}

static void test_one_entry(void **state)
{
	char path[64];

	(void)state;
	snprintf(path, sizeof path, "/tmp/dpemu-test-tlb-%d.trc", (int)getpid());
	run_child(one_entry, path, "one entry: A B A A C B");
}

/* ---- k entries: cyclic scans ---------------------------------------------------- */

#define K 4
#define ROUNDS 5

static void scans(void *arg)
{
	struct rig r;

	(void)arg;
	alarm(60);
	rig_open(&r, 32, DPEMU_POLICY_NONE, 16, K, 0);
	for (size_t pg = 0; pg < K; pg++)
		r.base[pg * ps] = value(pg, 0);
	struct dpemu_stats before = stats_of(r.space);
	CHECK(before.faults == K && before.zero_fills == K && before.tlb_misses == 0);
	CHECK(in_tlb(&r) == K);
	/* k pages: no trap at all */
	for (unsigned round = 0; round < ROUNDS; round++)
		for (size_t pg = 0; pg < K; pg++)
			CHECK(r.base[pg * ps] == value(pg, 0));
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.faults == before.faults && st.tlb_misses == 0);
	/* k + 1 pages: the new one evicts the oldest, then every access misses */
	r.base[K * ps] = value(K, 0);
	for (unsigned round = 0; round < ROUNDS; round++)
		for (size_t pg = 0; pg <= K; pg++) {
			CHECK(r.base[pg * ps] == value(pg, 0));
			CHECK(query(&r, pg).in_tlb);
		}
	st = stats_of(r.space);
	CHECK(st.zero_fills == K + 1);
	CHECK(st.tlb_misses == ROUNDS * (K + 1));
	CHECK(st.faults == K + 1 + ROUNDS * (K + 1));
	CHECK(st.reference_faults == 0);
	CHECK(tlb_lat_count(r.space) == st.tlb_misses);
	CHECK(in_tlb(&r) == K);
	rig_close(&r);
}

static void test_scans(void **state)
{
	(void)state;
	run_child(scans, NULL, "cyclic scans over k and k + 1 pages");
}

/* ---- fault-around, and a TLB larger than the space -------------------------------- */

static void around(void *arg)
{
	size_t tlb = *(size_t *)arg;
	struct rig r;

	alarm(60);
	rig_open(&r, 32, DPEMU_POLICY_NONE, 16, tlb, 4);
	r.base[0] = 1; /* pages 0..3 paged in, only page 0 shown */
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.faults == 1 && st.pages_resident == 4);
	CHECK(query(&r, 0).in_tlb && !query(&r, 1).in_tlb && query(&r, 1).present);
	for (size_t pg = 1; pg < 4; pg++)
		r.base[pg * ps] = value(pg, 0);
	st = stats_of(r.space);
	CHECK(st.faults == 4);
	CHECK(st.tlb_misses == 3); /* the neighbours' first accesses */
	CHECK(st.zero_fills == 4);
	CHECK(tlb_lat_count(r.space) == 3);
	CHECK(in_tlb(&r) == (tlb < 4 ? tlb : 4));
	/* a second pass: a huge TLB holds them all, a small one misses */
	for (size_t pg = 0; pg < 4; pg++)
		CHECK(r.base[pg * ps] == (pg ? value(pg, 0) : 1));
	st = stats_of(r.space);
	CHECK(tlb >= 4 ? st.faults == 4 : st.faults > 4);
	rig_close(&r);
}

static void test_fault_around(void **state)
{
	size_t small = 2, huge = SIZE_MAX;

	(void)state;
	run_child(around, &small, "fault-around with a TLB of 2");
	run_child(around, &huge, "fault-around with a TLB of SIZE_MAX");
}

/* ---- unmap: a page leaves the TLB ---------------------------------------------- */

static void unmapped(void *arg)
{
	struct rig r;

	(void)arg;
	alarm(60);
	rig_open(&r, 16, DPEMU_POLICY_NONE, 6, 2, 0);
	for (size_t pg = 0; pg < 6; pg++)
		r.base[pg * ps] = value(pg, 0);
	CHECK(query(&r, 4).in_tlb && query(&r, 5).in_tlb && in_tlb(&r) == 2);
	CHECK(dpemu_unmap(r.space, (void *)(r.base + 5 * ps), ps) == 0);
	CHECK(in_tlb(&r) == 1);
	/* page 0 takes 5's place: page 4, the oldest entry, stays visible */
	CHECK(r.base[0] == value(0, 0));
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.tlb_misses == 1);
	CHECK(r.base[4 * ps] == value(4, 0));
	CHECK(stats_of(r.space).faults == st.faults);
	/* the range mapped again is fresh, and the TLB goes on */
	void *p;
	CHECK(dpemu_map(r.space, (void *)(r.base + 5 * ps), ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED,
	                -1, 0, &p) == 0);
	CHECK(r.base[5 * ps] == 0);
	CHECK(!query(&r, 4).in_tlb && query(&r, 0).in_tlb && query(&r, 5).in_tlb);
	for (size_t pg = 0; pg < 5; pg++)
		CHECK(r.base[pg * ps] == value(pg, 0));
	CHECK(in_tlb(&r) == 2);
	rig_close(&r);
}

static void test_unmap(void **state)
{
	(void)state;
	run_child(unmapped, NULL, "unmap with a TLB");
}

/* ---- fork: the child's TLB starts empty ------------------------------------------- */

static void forked(void *arg)
{
	struct rig r;
	dpemu_space *child;

	(void)arg;
	alarm(60);
	rig_open(&r, 32, DPEMU_POLICY_NONE, 8, 2, 0);
	for (size_t pg = 0; pg < 4; pg++)
		r.base[pg * ps] = value(pg, 0);
	CHECK(dpemu_space_fork(r.space, &child) == 0);
	volatile unsigned char *cb = dpemu_space_base(child);
	for (size_t pg = 0; pg < 4; pg++)
		CHECK(cb[pg * ps] == value(pg, 0));
	struct dpemu_stats cs = stats_of(child);
	CHECK(cs.faults == 4 && cs.tlb_misses == 4 && cs.zero_fills == 0);
	CHECK(tlb_lat_count(child) == 4);
	cb[0] = 0xee; /* hidden in the child's TLB: a copy-on-write break */
	cs = stats_of(child);
	CHECK(cs.faults == 5 && cs.tlb_misses == 4 && cs.cow_copies + cs.cow_reuses == 1);
	for (size_t pg = 0; pg < 4; pg++)
		CHECK(r.base[pg * ps] == value(pg, 0));
	CHECK(cb[0] == 0xee);
	for (size_t pg = 1; pg < 4; pg++)
		CHECK(cb[pg * ps] == value(pg, 0));
	CHECK(dpemu_space_destroy(child) == 0);
	for (size_t pg = 0; pg < 4; pg++)
		r.base[pg * ps] = value(pg, 1);
	for (size_t pg = 0; pg < 4; pg++)
		CHECK(r.base[pg * ps] == value(pg, 1));
	CHECK(in_tlb(&r) == 2);
	rig_close(&r);
}

static void test_fork(void **state)
{
	(void)state;
	run_child(forked, NULL, "fork with a TLB");
}

/* ---- replacement with a TLB ----------------------------------------------------- */

static void evicting(void *arg)
{
	enum dpemu_policy policy = *(enum dpemu_policy *)arg;
	struct rig r;

	alarm(120);
	rig_open(&r, 4, policy, 12, 2, 0);
	for (unsigned round = 0; round < 6; round++) {
		for (size_t pg = 0; pg < 12; pg++) {
			if (round)
				CHECK(r.base[pg * ps] == value(pg, round - 1));
			r.base[pg * ps] = value(pg, round);
		}
		CHECK(in_tlb(&r) <= 2);
		/* pages used again soon: some hits in the TLB */
		for (unsigned j = 0; j < 3; j++)
			CHECK(r.base[11 * ps] == value(11, round));
	}
	struct dpemu_stats st = stats_of(r.space);
	struct dpemu_pool_stats ps_;
	CHECK(dpemu_pool_stats(r.pool, &ps_) == 0);
	CHECK(ps_.evictions > 0 && st.evictions == ps_.evictions);
	CHECK(st.tlb_misses <= st.faults);
	CHECK(st.tlb_misses + st.reference_faults + st.zero_fills + st.swap_ins <= st.faults);
	CHECK(tlb_lat_count(r.space) == st.tlb_misses);
	rig_close(&r);
}

static void test_evict(void **state)
{
	enum dpemu_policy fifo = DPEMU_POLICY_FIFO, clock = DPEMU_POLICY_CLOCK,
	                  lru = DPEMU_POLICY_LRU;

	(void)state;
	run_child(evicting, &fifo, "FIFO replacement with a TLB");
	run_child(evicting, &clock, "CLOCK replacement with a TLB");
	run_child(evicting, &lru, "LRU replacement with a TLB");
}

/* With CLOCK and frames enough for every page, one entry still gives the
 * exact string: nothing is evicted, so no reference bit is taken. */
static void clock_one(void *arg)
{
	static const size_t refs[] = { 0, 1, 0, 0, 2, 1, 1, 0 };
	struct rig r;

	(void)arg;
	alarm(60);
	rig_open(&r, 8, DPEMU_POLICY_CLOCK, 4, 1, 0);
	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
		r.base[refs[i] * ps] = 1;
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.zero_fills == 3 && st.tlb_misses == 3 && st.faults == 6);
	rig_close(&r);
}

static void test_clock_one(void **state)
{
	(void)state;
	run_child(clock_one, NULL, "CLOCK with one entry");
}

/* ---- dpemu_prefault ------------------------------------------------------------- */

static void prefaulted(void *arg)
{
	struct rig r;

	(void)arg;
	alarm(60);
	rig_open(&r, 16, DPEMU_POLICY_NONE, 8, 2, 0);
	CHECK(dpemu_prefault(r.space, (void *)r.base, 4 * ps, PROT_WRITE) == 0);
	CHECK(stats_of(r.space).faults == 0);
	CHECK(in_tlb(&r) == 2 && query(&r, 2).in_tlb && query(&r, 3).in_tlb);
	CHECK(query(&r, 0).present && !query(&r, 0).in_tlb);
	r.base[3 * ps] = 3; /* in the TLB: no trap */
	CHECK(stats_of(r.space).faults == 0);
	r.base[0] = 1; /* present, not in the TLB: a miss */
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.faults == 1 && st.tlb_misses == 1);
	rig_close(&r);
}

static void test_prefault(void **state)
{
	(void)state;
	run_child(prefaulted, NULL, "dpemu_prefault with a TLB");
}

/* ---- threads -------------------------------------------------------------------- */

#define THREADS 4
#define TPAGES 12

struct worker {
	struct rig *r;
	size_t first; /* its pages: first, first + 1, ... (its own leaf) */
	int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->ok = 1;
	for (unsigned round = 0; round < 40; round++)
		for (size_t i = 0; i < TPAGES; i++) {
			volatile unsigned char *p = w->r->base + (w->first + i) * ps;
			if (round && *p != value(w->first + i, round - 1))
				w->ok = 0;
			*p = value(w->first + i, round);
		}
	return NULL;
}

static void threaded(void *arg)
{
	size_t fa = *(size_t *)arg;
	struct rig r;
	pthread_t tid[THREADS];
	struct worker w[THREADS];

	alarm(120);
	/* threads 0 and 1 share a leaf (a stripe), 2 and 3 have one each */
	rig_open(&r, 64, DPEMU_POLICY_NONE, 3 * 512, 3, fa);
	for (int t = 0; t < THREADS; t++) {
		static const size_t first[THREADS] = { 0, 100, 512, 1024 };
		w[t] = (struct worker){ &r, first[t], 0 };
		CHECK(pthread_create(&tid[t], NULL, worker_main, &w[t]) == 0);
	}
	for (int t = 0; t < THREADS; t++) {
		CHECK(pthread_join(tid[t], NULL) == 0);
		CHECK(w[t].ok);
	}
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.zero_fills == THREADS * TPAGES);
	CHECK(st.tlb_misses > 0 && st.tlb_misses <= st.faults);
	/* (no bound on faults: with fewer entries than threads, a page shown
	 * for one thread may be hidden by another's miss before its access
	 * retries, which then traps again) */
	CHECK(tlb_lat_count(r.space) == st.tlb_misses);
	CHECK(in_tlb(&r) <= 3 + THREADS - 1); /* (the last fills may have gone over) */
	rig_close(&r);
}

static void test_threads(void **state)
{
	size_t one = 0, four = 4;

	(void)state;
	run_child(threaded, &one, "4 threads, a TLB of 3");
	run_child(threaded, &four, "4 threads, a TLB of 3, fault-around 4");
}

/* ---- no TLB -------------------------------------------------------------------- */

static void no_tlb(void *arg)
{
	struct rig r;

	(void)arg;
	alarm(60);
	rig_open(&r, 16, DPEMU_POLICY_NONE, 8, 0, 0);
	for (unsigned round = 0; round < 3; round++)
		for (size_t pg = 0; pg < 8; pg++)
			r.base[pg * ps] = value(pg, round);
	struct dpemu_stats st = stats_of(r.space);
	CHECK(st.faults == 8 && st.tlb_misses == 0);
	CHECK(in_tlb(&r) == 0);
	CHECK(tlb_lat_count(r.space) == 0);
	rig_close(&r);
}

static void test_no_tlb(void **state)
{
	(void)state;
	run_child(no_tlb, NULL, "tlb_entries 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_entry),
		cmocka_unit_test(test_scans),
		cmocka_unit_test(test_fault_around),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_evict),
		cmocka_unit_test(test_clock_one),
		cmocka_unit_test(test_prefault),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_no_tlb),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
