/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_evict.c - page replacement and swap: the textbook results on live
 * memory, nothing lost under pressure, and the swap store's failures.
 *
 * Reference strings touch pages with a write of a known byte, so every
 * access is a write-first access (no read-then-write double trap) and the
 * page's contents can be checked when it comes back.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define ANON_SHARED (DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS)

static size_t ps;

struct rig {
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned char *base;
};

static void rig_open(struct rig *r, size_t frames, enum dpemu_policy policy, size_t pages,
                     int flags)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * ps);
	void *p;

	pcfg.policy = policy;
	pcfg.seed = 42;
	assert_int_equal(dpemu_pool_create(&pcfg, &r->pool), 0);
	assert_int_equal(dpemu_space_create(r->pool, &scfg, &r->space), 0);
	assert_int_equal(dpemu_map(r->space, NULL, pages * ps, RW, flags, -1, 0, &p), 0);
	r->base = p;
}

static void rig_close(struct rig *r)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_space_destroy(r->space), 0);
	assert_int_equal(dpemu_pool_stats(r->pool, &st), 0);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(dpemu_pool_destroy(r->pool), 0);
}

static struct dpemu_stats stats_of(dpemu_space *s)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(s, &st), 0);
	return st;
}

static struct dpemu_pool_stats pool_stats_of(dpemu_pool *p)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_pool_stats(p, &st), 0);
	return st;
}

/* Page-ins: zero fills plus swap-ins (each a page fault that loaded a page). */
static uint64_t page_ins(dpemu_space *s)
{
	struct dpemu_stats st = stats_of(s);

	return st.zero_fills + st.file_reads + st.swap_ins;
}

/* Touch pages (1-based page numbers) of the reference string, each with a
 * write of its number, checking what a page held when it comes back. */
static void run_string(struct rig *r, const int *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		volatile unsigned char *p = r->base + (size_t)(refs[i] - 1) * ps;
		p[0] = (unsigned char)refs[i];
		p[ps - 1] = (unsigned char)refs[i];
	}
	for (size_t i = 0; i < n; i++) {
		volatile unsigned char *p = r->base + (size_t)(refs[i] - 1) * ps;
		assert_int_equal(p[0], refs[i]);
		assert_int_equal(p[ps - 1], refs[i]);
	}
}

static const int belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
#define BELADY_N (sizeof belady / sizeof belady[0])

static uint64_t belady_faults(size_t frames)
{
	struct rig r;
	uint64_t faults;

	rig_open(&r, frames, DPEMU_POLICY_FIFO, 8, ANON_PRIVATE);
	for (size_t i = 0; i < BELADY_N; i++) {
		volatile unsigned char *p = r.base + (size_t)(belady[i] - 1) * ps;
		p[0] = (unsigned char)belady[i];
	}
	faults = page_ins(r.space);
	assert_int_equal(stats_of(r.space).evictions, faults - frames);
	rig_close(&r);
	return faults;
}

/* Belady's anomaly: FIFO takes 9 faults with 3 frames and 10 with 4. */
static void test_fifo_belady_anomaly(void **state)
{
	(void)state;
	assert_int_equal(belady_faults(3), 9);
	assert_int_equal(belady_faults(4), 10);
}

/* Every page of a string comes back with what it held. */
static void test_contents_survive_eviction(void **state)
{
	static const enum dpemu_policy policies[] = {
		DPEMU_POLICY_FIFO, DPEMU_POLICY_CLOCK, DPEMU_POLICY_LRU, DPEMU_POLICY_RANDOM
	};
	(void)state;
	for (size_t k = 0; k < 4; k++) {
		struct rig r;
		rig_open(&r, 3, policies[k], 8, ANON_PRIVATE);
		run_string(&r, belady, BELADY_N);
		struct dpemu_stats st = stats_of(r.space);
		assert_true(st.evictions > 0);
		assert_true(st.swap_outs > 0);
		assert_true(st.swap_ins > 0);
		rig_close(&r);
	}
}

/* A clean page is never written again: a page that came back from swap
 * and was only read goes out again without a write. */
static void test_clean_page_not_written_again(void **state)
{
	struct rig r;
	(void)state;
	rig_open(&r, 1, DPEMU_POLICY_FIFO, 4, ANON_PRIVATE);
	r.base[0] = 7;               /* page 0 dirty                        */
	r.base[ps] = 8;              /* evicts page 0: a swap-out           */
	assert_int_equal(stats_of(r.space).swap_outs, 1);
	assert_int_equal(((volatile unsigned char *)r.base)[0], 7); /* back, clean; evicts 1 */
	assert_int_equal(stats_of(r.space).swap_outs, 2);
	r.base[2 * ps] = 9;          /* evicts page 0 again: no write       */
	struct dpemu_stats st = stats_of(r.space);
	assert_int_equal(st.swap_outs, 2);
	assert_int_equal(st.evictions, 3);
	assert_int_equal(pool_stats_of(r.pool).swap_outs, 2);
	assert_int_equal(((volatile unsigned char *)r.base)[0], 7);
	assert_int_equal(((volatile unsigned char *)r.base)[ps], 8);
	rig_close(&r);
}

/* ---- scripted victim order ---------------------------------------------- */

#define SCRIPT_PAGES 8

static struct dpemu_page_info info_of(dpemu_space *s, const void *addr)
{
	struct dpemu_page_info pi;

	assert_int_equal(dpemu_query(s, addr, &pi), 0);
	return pi;
}

/* Bit i-1 for each page i (1-based) of the rig that has a frame. */
static unsigned present_set(struct rig *r)
{
	unsigned set = 0;

	for (int i = 1; i <= SCRIPT_PAGES; i++)
		if (info_of(r->space, r->base + (size_t)(i - 1) * ps).present)
			set |= 1u << (i - 1);
	return set;
}

/*
 * Write page `page` (1-based) of the rig; return the page that lost its
 * frame to make room (0: none), after checking that it went to swap (it
 * was written, so it is dirty: its only copy is in its swap slot).
 */
static int touch(struct rig *r, int page)
{
	unsigned before = present_set(r), after, lost;
	volatile unsigned char *p = r->base + (size_t)(page - 1) * ps;
	struct dpemu_page_info pi;

	p[0] = (unsigned char)page;
	p[ps - 1] = (unsigned char)page;
	after = present_set(r);
	assert_true(after & (1u << (page - 1)));
	lost = before & ~after;
	if (lost == 0)
		return 0;
	assert_int_equal(__builtin_popcount(lost), 1);
	int victim = __builtin_ctz(lost) + 1;
	pi = info_of(r->space, r->base + (size_t)(victim - 1) * ps);
	assert_true(pi.mapped);
	assert_false(pi.present);
	assert_true(pi.swapped);
	assert_true(pi.swap_slot < pool_stats_of(r->pool).swap_slots);
	return victim;
}

/*
 * Run reference string refs on a 3-frame pool under policy: victims[i] is
 * the page the i-th reference must evict (0: none).  Then every page
 * must still hold what was last written to it.  Returns the space's
 * reference faults.
 */
static uint64_t script(enum dpemu_policy policy, const int *refs, const int *victims, size_t n)
{
	struct rig r;
	int seen = 0;

	rig_open(&r, 3, policy, SCRIPT_PAGES, ANON_PRIVATE);
	for (size_t i = 0; i < n; i++) {
		int v = touch(&r, refs[i]);
		if (v != victims[i])
			fail_msg("%s: reference %zu (page %d) evicted page %d, expected %d",
			         dpemu_policy_name(policy), i, refs[i], v, victims[i]);
		seen |= 1 << (refs[i] - 1);
	}
	uint64_t ref_faults = stats_of(r.space).reference_faults;
	for (int p = 1; p <= SCRIPT_PAGES; p++) {
		if (!(seen & (1 << (p - 1))))
			continue;
		volatile unsigned char *q = r.base + (size_t)(p - 1) * ps;
		assert_int_equal(q[0], p);
		assert_int_equal(q[ps - 1], p);
	}
	rig_close(&r);
	return ref_faults;
}

/*
 * 1 2 3 4 2 5 6 4 7 on 3 frames.  Frames are loaded with their reference
 * bit set, so the first replacement finds every bit set: CLOCK clears them
 * all (revoking 2 and 3) and, like FIFO, takes 1.  Then 2 is used again:
 * its access was revoked, so that is a reference fault, and the bit is
 * set.  At 5, FIFO takes 2 (the oldest) but CLOCK gives 2 a second chance
 * and takes 3; at 6 FIFO takes 3 and CLOCK 2 (the bit it cleared at 5 is
 * still clear; 4's bit sends 4 round again).  At 7, FIFO takes 4 although
 * it was just used; under CLOCK every resident page (5, 4 re-used, 6) has
 * its bit set, so the hand clears all three and takes the oldest, 5.
 */
static const int clock_refs[] = { 1, 2, 3, 4, 2, 5, 6, 4, 7 };
static const int clock_fifo_victims[] = { 0, 0, 0, 1, 0, 2, 3, 0, 4 };
static const int clock_victims[] = { 0, 0, 0, 1, 0, 3, 2, 0, 5 };
#define CLOCK_N (sizeof clock_refs / sizeof clock_refs[0])

static void test_fifo_victim_order(void **state)
{
	(void)state;
	/* FIFO never revokes anything: no reference faults. */
	assert_int_equal(script(DPEMU_POLICY_FIFO, clock_refs, clock_fifo_victims, CLOCK_N), 0);
}

static void test_clock_victim_order(void **state)
{
	(void)state;
	/* Reference faults: 2 at reference 4, 4 at reference 7. */
	assert_int_equal(script(DPEMU_POLICY_CLOCK, clock_refs, clock_victims, CLOCK_N), 2);
}

/*
 * 1 2 3 4 2 3 5 2 6 on 3 frames under LRU (aging).  At 4 all ages are
 * equal and the oldest, 1, goes.  2 and 3 are used again (reference
 * faults: the aging pass cleared their bits); at 5 the least recently used
 * page is 4 - FIFO and CLOCK would take 2 - and the ages say so: 2 and 3
 * are 0xc0, 4 is 0x80.  At 6, after 2's reuse, the least recently used is
 * 3 (2: 0xe0, 3: 0x60, 5: 0x80).
 */
static const int lru_refs[] = { 1, 2, 3, 4, 2, 3, 5, 2, 6 };
static const int lru_victims[] = { 0, 0, 0, 1, 0, 0, 4, 0, 3 };
static const int lru_fifo_victims[] = { 0, 0, 0, 1, 0, 0, 2, 3, 4 };
#define LRU_N (sizeof lru_refs / sizeof lru_refs[0])

static void test_lru_victim_order(void **state)
{
	(void)state;
	assert_int_equal(script(DPEMU_POLICY_FIFO, lru_refs, lru_fifo_victims, LRU_N), 0);
	assert_int_equal(script(DPEMU_POLICY_LRU, lru_refs, lru_victims, LRU_N), 3);
}

/* The victims RANDOM picks on a cyclic string over 8 pages, 3 frames. */
static void random_victims(uint64_t seed, int *victims, size_t n, uint64_t *ref_faults)
{
	struct dpemu_pool_config pcfg = tu_pool_config(3, 0);
	struct dpemu_space_config scfg = tu_space_config(SCRIPT_PAGES * ps);
	struct rig r;
	void *p;

	pcfg.policy = DPEMU_POLICY_RANDOM;
	pcfg.seed = seed;
	assert_int_equal(dpemu_pool_create(&pcfg, &r.pool), 0);
	assert_int_equal(dpemu_space_create(r.pool, &scfg, &r.space), 0);
	assert_int_equal(dpemu_map(r.space, NULL, SCRIPT_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	r.base = p;
	for (size_t i = 0; i < n; i++)
		victims[i] = touch(&r, (int)(i * 3 % SCRIPT_PAGES) + 1);
	*ref_faults = stats_of(r.space).reference_faults;
	rig_close(&r);
}

/* Same seed, same victims; some other seed, other victims; and RANDOM
 * never revokes anything. */
static void test_random_reproducible(void **state)
{
	enum { N = 40 };
	int a[N], b[N], c[N];
	uint64_t rf;
	bool differs = false;
	(void)state;

	random_victims(42, a, N, &rf);
	assert_int_equal(rf, 0);
	random_victims(42, b, N, &rf);
	assert_memory_equal(a, b, sizeof a);
	for (int i = 0; i < SCRIPT_PAGES; i++)
		assert_int_equal(a[i] != 0, i >= 3); /* new pages, full after 3 */
	for (uint64_t seed = 1; seed <= 8 && !differs; seed++) {
		random_victims(seed, c, N, &rf);
		assert_int_equal(rf, 0);
		differs = memcmp(a, c, sizeof a) != 0;
	}
	assert_true(differs);
}

/* A CLOCK pass that clears a bit revokes the page's access: the query
 * shows it unreferenced until the page is used again, and that use is a
 * reference fault, not a page-in. */
static void test_query_referenced(void **state)
{
	struct rig r;
	(void)state;
	rig_open(&r, 3, DPEMU_POLICY_CLOCK, SCRIPT_PAGES, ANON_PRIVATE);
	for (int p = 1; p <= 3; p++)
		assert_int_equal(touch(&r, p), 0);
	for (int p = 1; p <= 3; p++)
		assert_true(info_of(r.space, r.base + (size_t)(p - 1) * ps).referenced);
	assert_int_equal(touch(&r, 4), 1);
	struct dpemu_page_info pi = info_of(r.space, r.base + ps);
	assert_true(pi.present);
	assert_false(pi.referenced);
	assert_false(pi.swapped);
	assert_true(info_of(r.space, r.base + 3 * ps).referenced);
	struct dpemu_stats before = stats_of(r.space);
	assert_int_equal(((volatile unsigned char *)r.base)[ps], 2);
	struct dpemu_stats after = stats_of(r.space);
	assert_int_equal(after.reference_faults, before.reference_faults + 1);
	assert_int_equal(page_ins(r.space), 4);
	assert_true(info_of(r.space, r.base + ps).referenced);
	rig_close(&r);
}

/*
 * A page that finds its contents in the swap cache (another space brought
 * them back first) has been used like any other: its frame's reference
 * bit is set, so CLOCK does not take the frame at the next pass.
 *
 * Page 1 is shared copy-on-write by a parent and a child and goes to swap
 * from both.  The parent brings it back (a new frame, bit set); a CLOCK
 * pass clears the bit and revokes the parent's access.  Then the child
 * reads page 1: it finds the frame in the swap cache.  At the next
 * eviction the hand meets page 1's frame first - it must go round again
 * (second chance) and page 5 goes.
 */
static void test_clock_swap_cache_hit_is_a_reference(void **state)
{
	struct rig r;
	dpemu_space *child;
	(void)state;

	rig_open(&r, 3, DPEMU_POLICY_CLOCK, SCRIPT_PAGES, ANON_PRIVATE);
	assert_int_equal(touch(&r, 1), 0);
	assert_int_equal(dpemu_space_fork(r.space, &child), 0);
	volatile unsigned char *c1 = (unsigned char *)dpemu_space_base(child) +
	                             (r.base - (unsigned char *)dpemu_space_base(r.space));
	assert_int_equal(touch(&r, 2), 0);
	assert_int_equal(touch(&r, 3), 0);
	assert_int_equal(touch(&r, 4), 1);
	struct dpemu_page_info pi = info_of(child, (const void *)c1);
	assert_true(pi.swapped);
	assert_int_equal(pi.swap_slot, info_of(r.space, r.base).swap_slot);
	assert_int_equal(((volatile unsigned char *)r.base)[0], 1); /* evicts 2 */
	assert_false(info_of(r.space, r.base + ps).present);
	assert_int_equal(touch(&r, 5), 3);
	assert_int_equal(touch(&r, 6), 4); /* clears page 1's bit */
	assert_false(info_of(r.space, r.base).referenced);
	assert_int_equal(c1[0], 1);        /* from the swap cache */
	pi = info_of(child, (const void *)c1);
	assert_true(pi.present);
	assert_int_equal(pi.frame, info_of(r.space, r.base).frame);
	assert_int_equal(pi.frame_refs, 2);
	assert_true(pi.referenced);
	assert_int_equal(pool_stats_of(r.pool).swap_ins, 1);
	assert_int_equal(touch(&r, 7), 5);
	assert_true(info_of(child, (const void *)c1).present);
	assert_int_equal(c1[0], 1);
	assert_int_equal(dpemu_space_destroy(child), 0);
	rig_close(&r);
}

/*
 * Fault-around shows only the pages its fault made present.  Page 2's
 * access was revoked by a CLOCK pass; a fault on page 3, in the same
 * 2-page window, must leave page 2 hidden, so that its next use is seen:
 * a reference fault that sets its bit.  Page 2 is also tried read-only
 * (the window then holds pages of two host protections).
 */
static void test_fault_around_keeps_references(void **state)
{
	(void)state;
	for (int ro = 0; ro < 2; ro++) {
		struct dpemu_pool_config pcfg = tu_pool_config(3, 0);
		struct dpemu_space_config scfg = tu_space_config(SCRIPT_PAGES * ps);
		struct rig r;
		void *p;

		pcfg.policy = DPEMU_POLICY_CLOCK;
		scfg.fault_around = 2;
		assert_int_equal(dpemu_pool_create(&pcfg, &r.pool), 0);
		assert_int_equal(dpemu_space_create(r.pool, &scfg, &r.space), 0);
		assert_int_equal(dpemu_map(r.space, NULL, SCRIPT_PAGES * ps, RW, ANON_PRIVATE, -1, 0,
		                           &p), 0);
		volatile unsigned char *b = p;
		r.base = p;

		b[0] = 1;                /* pages 0 and 1 */
		assert_true(info_of(r.space, r.base + ps).present);
		b[2 * ps] = 3;           /* page 2; no frame left for page 3 */
		assert_false(info_of(r.space, r.base + 3 * ps).present);
		if (ro)
			assert_int_equal(dpemu_protect(r.space, r.base + 2 * ps, ps, PROT_READ), 0);
		b[4 * ps] = 5;           /* evicts page 0, clears 1's and 2's bits */
		assert_true(info_of(r.space, r.base).swapped);
		assert_false(info_of(r.space, r.base + 2 * ps).referenced);
		assert_int_equal(dpemu_unmap(r.space, r.base + 4 * ps, ps), 0);
		b[3 * ps] = 4;           /* a free frame: no eviction */
		assert_int_equal(stats_of(r.space).evictions, 1);
		struct dpemu_page_info pi = info_of(r.space, r.base + 2 * ps);
		assert_true(pi.present);
		assert_false(pi.referenced);

		uint64_t before = stats_of(r.space).reference_faults;
		assert_int_equal(b[2 * ps], 3);
		assert_int_equal(stats_of(r.space).reference_faults, before + 1);
		assert_true(info_of(r.space, r.base + 2 * ps).referenced);
		assert_int_equal(b[3 * ps], 4);
		assert_int_equal(b[ps], 0);
		assert_int_equal(b[0], 1);
		if (ro)
			tu_assert_caught(r.space, r.base + 2 * ps, 1, DPEMU_FAULT_PROTECTION);
		rig_close(&r);
	}
}

/* A write to a swapped page brings it back dirty: one trap, not a read
 * trap and then a write trap. */
static void test_write_to_swapped_page_traps_once(void **state)
{
	struct rig r;
	(void)state;
	rig_open(&r, 1, DPEMU_POLICY_FIFO, 2, ANON_PRIVATE);
	r.base[0] = 1;
	r.base[ps] = 2;              /* page 0 goes to swap */
	struct dpemu_stats a = stats_of(r.space);
	r.base[0] = 3;               /* back, and written */
	struct dpemu_stats b = stats_of(r.space);
	assert_int_equal(b.swap_ins - a.swap_ins, 1);
	assert_int_equal(b.faults - a.faults, 1);
	struct dpemu_page_info pi;
	assert_int_equal(dpemu_query(r.space, r.base, &pi), 0);
	assert_true(pi.present && pi.dirty);
	assert_int_equal(((volatile unsigned char *)r.base)[0], 3);
	rig_close(&r);
}

/* ---- many threads, working set four times the pool ------------------------ */

#define WS_PAGES 64
#define WS_FRAMES 16
#define WS_THREADS 4
#define WS_OPS 3000

struct ws_thread {
	unsigned char *base;
	unsigned id;
	uint64_t seed;
	uint64_t *sums; /* per page: expected checksum, own pages only */
};

/* Each thread owns the pages p with p % WS_THREADS == id: it writes words
 * there and reads them back; all threads read every page. */
static void *ws_main(void *arg)
{
	struct ws_thread *t = arg;
	size_t words = ps / sizeof(uint64_t);

	for (unsigned i = 0; i < WS_OPS; i++) {
		uint64_t r = tu_xorshift(&t->seed);
		size_t page = (size_t)(r % (WS_PAGES / WS_THREADS)) * WS_THREADS + t->id;
		volatile uint64_t *w = (volatile uint64_t *)(t->base + page * ps);
		size_t slot = (size_t)(r >> 32) % words;
		if (r & 0x100) {
			w[slot] = r;
		} else {
			/* a read of anyone's page: must not fault or hang */
			size_t other = (size_t)(r >> 20) % WS_PAGES;
			(void)((volatile uint64_t *)(t->base + other * ps))[slot];
		}
	}
	return NULL;
}

static uint64_t page_sum(const unsigned char *p)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < ps; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void ws_run(enum dpemu_policy policy, int flags)
{
	struct rig r;
	pthread_t th[WS_THREADS];
	struct ws_thread t[WS_THREADS];
	unsigned char *shadow = malloc(WS_PAGES * ps);

	assert_non_null(shadow);
	rig_open(&r, WS_FRAMES, policy, WS_PAGES, flags);
	for (unsigned i = 0; i < WS_THREADS; i++) {
		t[i] = (struct ws_thread){ .base = r.base, .id = i, .seed = 0x1234567ull * (i + 1) };
		assert_int_equal(pthread_create(&th[i], NULL, ws_main, &t[i]), 0);
	}
	for (unsigned i = 0; i < WS_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* Replay every thread's writes on plain memory: the expected contents. */
	memset(shadow, 0, WS_PAGES * ps);
	for (unsigned i = 0; i < WS_THREADS; i++) {
		struct ws_thread c = { .base = shadow, .id = i, .seed = 0x1234567ull * (i + 1) };
		ws_main(&c);
	}
	for (size_t p = 0; p < WS_PAGES; p++)
		assert_true(page_sum(r.base + p * ps) == page_sum(shadow + p * ps));
	struct dpemu_stats st = stats_of(r.space);
	assert_true(st.evictions > 0);
	assert_true(st.swap_ins > 0);
	free(shadow);
	rig_close(&r);
}

/*
 * A parent and its fork child, two threads each, over a 10-frame pool:
 * each thread writes its own pages of a private mapping (copy-on-write
 * between the spaces) and of a shared one, and reads them back; every
 * thread also reads anywhere.  Nothing may be lost or mixed up while
 * frames shared by both spaces go to swap and come back.
 */
#define FF_PAGES 32
#define FF_THREADS 4
#define FF_OPS 5000

struct ff_thread {
	unsigned char *base;          /* the thread's space: private, then shared */
	unsigned char *shadow;        /* its space's private pages                 */
	unsigned char *shared;        /* the shared pages                          */
	unsigned id;
	uint64_t seed;
	unsigned long mismatches;
};

static void *ff_main(void *arg)
{
	struct ff_thread *t = arg;

	for (unsigned i = 0; i < FF_OPS; i++) {
		uint64_t r = tu_xorshift(&t->seed);
		int k = (int)(r & 1);
		size_t pg = (size_t)((r >> 8) % (FF_PAGES / FF_THREADS)) * FF_THREADS + t->id;
		size_t off = pg * ps + (size_t)((r >> 20) % 3) * (ps / 2 - 1);
		volatile unsigned char *p = t->base + (size_t)k * FF_PAGES * ps + off;
		unsigned char *model = (k ? t->shared : t->shadow) + off;
		if (r & 0x10000) {
			*p = (unsigned char)(r >> 40);
			*model = (unsigned char)(r >> 40);
		} else if (*p != *model) {
			t->mismatches++;
		}
		(void)((volatile unsigned char *)t->base)[(size_t)((r >> 30) % (2 * FF_PAGES)) * ps];
	}
	return NULL;
}

static void ff_run(enum dpemu_policy policy)
{
	struct dpemu_pool_config pcfg = tu_pool_config(10, 0);
	struct dpemu_space_config scfg = tu_space_config(2 * FF_PAGES * ps);
	dpemu_pool *pool;
	dpemu_space *s, *c;
	void *priv, *sh;
	pthread_t th[FF_THREADS];
	struct ff_thread t[FF_THREADS];
	unsigned char *shadow[2], *shared = calloc(FF_PAGES, ps);

	pcfg.policy = policy;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, FF_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &priv), 0);
	assert_int_equal(dpemu_map(s, (unsigned char *)priv + FF_PAGES * ps, FF_PAGES * ps, RW,
	                           ANON_SHARED | DPEMU_MAP_FIXED, -1, 0, &sh), 0);
	unsigned char *pb = priv;
	shadow[0] = calloc(FF_PAGES, ps);
	shadow[1] = calloc(FF_PAGES, ps);
	assert_non_null(shared);
	assert_non_null(shadow[0]);
	assert_non_null(shadow[1]);
	for (size_t i = 0; i < FF_PAGES; i++) {
		pb[i * ps] = (unsigned char)i;
		pb[(FF_PAGES + i) * ps] = (unsigned char)(100 + i);
		shadow[0][i * ps] = shadow[1][i * ps] = (unsigned char)i;
		shared[i * ps] = (unsigned char)(100 + i);
	}
	assert_int_equal(dpemu_space_fork(s, &c), 0);
	unsigned char *cb = (unsigned char *)dpemu_space_base(c) +
	                    (pb - (unsigned char *)dpemu_space_base(s));
	for (unsigned i = 0; i < FF_THREADS; i++) {
		t[i] = (struct ff_thread){ .base = (i & 1) ? cb : pb, .shadow = shadow[i & 1],
		                           .shared = shared, .id = i, .seed = 0x9e3779b9ull * (i + 1) };
		assert_int_equal(pthread_create(&th[i], NULL, ff_main, &t[i]), 0);
	}
	for (unsigned i = 0; i < FF_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].mismatches, 0);
	}
	for (size_t i = 0; i < FF_PAGES * ps; i++) {
		int owner = (int)(i / ps % FF_THREADS);
		if (owner & 1)
			assert_int_equal(cb[i], shadow[1][i]);
		else
			assert_int_equal(pb[i], shadow[0][i]);
		assert_int_equal(pb[FF_PAGES * ps + i], shared[i]);
		assert_int_equal(cb[FF_PAGES * ps + i], shared[i]);
	}
	struct dpemu_pool_stats st = pool_stats_of(pool);
	assert_true(st.evictions > 0);
	assert_true(st.swap_ins > 0);
	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	st = pool_stats_of(pool);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	free(shadow[0]);
	free(shadow[1]);
	free(shared);
}

static void test_threads_fork_family(void **state)
{
	(void)state;
	ff_run(DPEMU_POLICY_CLOCK);
	ff_run(DPEMU_POLICY_RANDOM);
}

/*
 * While one thread maps, writes and unmaps a few pages over and over
 * (frames keep going back to the pool), another writes pages round a
 * 4-frame pool: no access may fail as out-of-frames - a frame on its way
 * to the free list is one the faulting thread gets, not a reason to fail.
 */
#define CH_PAGES 32  /* the faulting thread's pages */
#define CH_CHURN 8   /* the churning thread's, after them */

struct churn {
	dpemu_space *space;
	unsigned char *base;
	atomic_int stop;
	unsigned long caught;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	unsigned char *r = c->base + CH_PAGES * ps;
	struct dpemu_fault f;
	void *p;

	while (!atomic_load(&c->stop)) {
		for (int i = 0; i < CH_CHURN; i++)
			c->caught += (unsigned long)tu_try_access(r + (size_t)i * ps, 1, 1, &f);
		if (dpemu_unmap(c->space, r, CH_CHURN * ps) != 0 ||
		    dpemu_map(c->space, r, CH_CHURN * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
		              &p) != 0)
			c->caught += 1000;
	}
	return NULL;
}

static void test_threads_no_spurious_out_of_frames(void **state)
{
	(void)state;
	for (int pol = DPEMU_POLICY_FIFO; pol <= DPEMU_POLICY_RANDOM; pol++) {
		struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
		struct dpemu_space_config scfg = tu_space_config((CH_PAGES + CH_CHURN) * ps);
		struct churn c = { .caught = 0 };
		pthread_t th;
		unsigned long caught = 0;
		int n = pol == DPEMU_POLICY_LRU ? 20000 : 5000;
		void *p;

		pcfg.policy = (enum dpemu_policy)pol;
		dpemu_pool *pool;
		assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
		assert_int_equal(dpemu_space_create(pool, &scfg, &c.space), 0);
		assert_int_equal(dpemu_map(c.space, NULL, (CH_PAGES + CH_CHURN) * ps, RW, ANON_PRIVATE,
		                           -1, 0, &p), 0);
		c.base = p;
		atomic_init(&c.stop, 0);
		assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
		for (int i = 0; i < n; i++) {
			struct dpemu_fault f;
			caught += (unsigned long)tu_try_access(c.base + (size_t)(i % CH_PAGES) * ps, 1,
			                                       (unsigned char)i, &f);
		}
		atomic_store(&c.stop, 1);
		assert_int_equal(pthread_join(th, NULL), 0);
		if (caught || c.caught)
			fail_msg("%s: %lu + %lu accesses failed", dpemu_policy_name(pol), caught,
			         c.caught);
		for (int i = 0; i < CH_PAGES; i++) /* the last value written there */
			assert_int_equal(c.base[i * ps],
			                 (unsigned char)(i + (n - 1 - i) / CH_PAGES * CH_PAGES));
		assert_true(stats_of(c.space).evictions > 0);
		assert_int_equal(dpemu_space_destroy(c.space), 0);
		assert_int_equal(pool_stats_of(pool).swap_slots_used, 0);
		assert_int_equal(dpemu_pool_destroy(pool), 0);
	}
}

static void test_threads_fifo(void **state) { (void)state; ws_run(DPEMU_POLICY_FIFO, ANON_PRIVATE); }
static void test_threads_clock(void **state) { (void)state; ws_run(DPEMU_POLICY_CLOCK, ANON_PRIVATE); }
static void test_threads_lru(void **state) { (void)state; ws_run(DPEMU_POLICY_LRU, ANON_PRIVATE); }
static void test_threads_random(void **state) { (void)state; ws_run(DPEMU_POLICY_RANDOM, ANON_PRIVATE); }
static void test_threads_shared_anon(void **state) { (void)state; ws_run(DPEMU_POLICY_CLOCK, ANON_SHARED); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_belady_anomaly),
		cmocka_unit_test(test_contents_survive_eviction),
		cmocka_unit_test(test_clean_page_not_written_again),
		cmocka_unit_test(test_write_to_swapped_page_traps_once),
		cmocka_unit_test(test_fifo_victim_order),
		cmocka_unit_test(test_clock_victim_order),
		cmocka_unit_test(test_lru_victim_order),
		cmocka_unit_test(test_random_reproducible),
		cmocka_unit_test(test_query_referenced),
		cmocka_unit_test(test_clock_swap_cache_hit_is_a_reference),
		cmocka_unit_test(test_fault_around_keeps_references),
		cmocka_unit_test(test_threads_fifo),
		cmocka_unit_test(test_threads_clock),
		cmocka_unit_test(test_threads_lru),
		cmocka_unit_test(test_threads_random),
		cmocka_unit_test(test_threads_shared_anon),
		cmocka_unit_test(test_threads_fork_family),
		cmocka_unit_test(test_threads_no_spurious_out_of_frames),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
