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

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Each thread owns the pages p with p % WS_THREADS == id: it writes words
 * there and reads them back; all threads read every page. */
static void *ws_main(void *arg)
{
	struct ws_thread *t = arg;
	size_t words = ps / sizeof(uint64_t);

	for (unsigned i = 0; i < WS_OPS; i++) {
		uint64_t r = rnd(&t->seed);
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
		cmocka_unit_test(test_threads_fifo),
		cmocka_unit_test(test_threads_clock),
		cmocka_unit_test(test_threads_lru),
		cmocka_unit_test(test_threads_random),
		cmocka_unit_test(test_threads_shared_anon),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
