/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_latency.c - the fault latency histograms (dpemu_space_latency,
 * dpemu_space_latency_kind, issue 14).
 *
 * What is checked (never a time: only counts and order):
 *  - after a workload of known faults, each kind counts exactly the faults
 *    of that kind (zero fills, zero-frame maps, file reads, copy-on-write
 *    copies and reuses, swap-ins, unresolved faults), as dpemu_space_stats
 *    counts them;
 *  - the kinds add up to the total, which is dpemu_space_stats' faults;
 *  - min <= p50 <= p90 <= p99 <= p99.9 <= max, and min <= mean <= max;
 *  - dpemu_prefault counts nothing; a new space and a forked child start
 *    from nothing;
 *  - faults from several threads, in several stripes, all count;
 *  - errors: NULL arguments, a kind that is not a fault kind, and a space
 *    inherited through fork(2) (-EPERM).
 */
#include "testutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

static size_t ps;

static struct dpemu_latency lat(dpemu_space *s)
{
	struct dpemu_latency l;

	memset(&l, 0xa5, sizeof l);
	assert_int_equal(dpemu_space_latency(s, &l), 0);
	return l;
}

static struct dpemu_latency lat_kind(dpemu_space *s, enum dpemu_event ev)
{
	struct dpemu_latency l;

	memset(&l, 0xa5, sizeof l);
	assert_int_equal(dpemu_space_latency_kind(s, ev, &l), 0);
	return l;
}

static struct dpemu_stats stats(dpemu_space *s)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(s, &st), 0);
	return st;
}

/* The order every summary keeps, and an empty one is all zeros. */
static void check_order(const struct dpemu_latency *l)
{
	if (l->count == 0) {
		assert_int_equal(l->min_ns, 0);
		assert_int_equal(l->max_ns, 0);
		assert_int_equal(l->mean_ns, 0);
		assert_int_equal(l->p50_ns, 0);
		assert_int_equal(l->p999_ns, 0);
		return;
	}
	assert_true(l->min_ns <= l->p50_ns);
	assert_true(l->p50_ns <= l->p90_ns);
	assert_true(l->p90_ns <= l->p99_ns);
	assert_true(l->p99_ns <= l->p999_ns);
	assert_true(l->p999_ns <= l->max_ns);
	assert_true(l->min_ns <= l->mean_ns && l->mean_ns <= l->max_ns);
}

/* Every kind's summary is ordered, and the kinds add up to the total,
 * which is the statistics' count of faults. */
static void check_sums(dpemu_space *s)
{
	struct dpemu_latency all = lat(s);
	uint64_t sum = 0, min = UINT64_MAX, max = 0;

	check_order(&all);
	for (int ev = DPEMU_EVENT_ZERO_FILL; ev <= DPEMU_EVENT_UNRESOLVED; ev++) {
		struct dpemu_latency k = lat_kind(s, (enum dpemu_event)ev);
		check_order(&k);
		sum += k.count;
		if (k.count && k.min_ns < min)
			min = k.min_ns;
		if (k.count && k.max_ns > max)
			max = k.max_ns;
	}
	assert_int_equal(sum, all.count);
	assert_int_equal(all.count, stats(s).faults);
	if (all.count) {
		assert_int_equal(all.min_ns, min);
		assert_int_equal(all.max_ns, max);
	}
}

/* ------------------------------------------------------------------------ */

/* A new space has counted nothing; a kind outside the fault kinds, or a
 * NULL argument, is -EINVAL with a message. */
static void test_empty_and_errors(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(8 * ps);
	struct dpemu_latency l;
	dpemu_pool *pool;
	dpemu_space *s;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	l = lat(s);
	assert_int_equal(l.count, 0);
	check_order(&l);
	for (int ev = DPEMU_EVENT_ZERO_FILL; ev <= DPEMU_EVENT_UNRESOLVED; ev++)
		assert_int_equal(lat_kind(s, (enum dpemu_event)ev).count, 0);

	assert_int_equal(dpemu_space_latency(NULL, &l), -EINVAL);
	assert_int_equal(dpemu_space_latency(s, NULL), -EINVAL);
	assert_int_equal(dpemu_space_latency_kind(NULL, DPEMU_EVENT_ZERO_FILL, &l), -EINVAL);
	assert_int_equal(dpemu_space_latency_kind(s, DPEMU_EVENT_ZERO_FILL, NULL), -EINVAL);
	assert_int_equal(dpemu_space_latency_kind(s, (enum dpemu_event)0, &l), -EINVAL);
	assert_non_null(strstr(dpemu_last_error(), "dpemu_space_latency_kind"));
	assert_int_equal(dpemu_space_latency_kind(s, DPEMU_EVENT_EVICT, &l), -EINVAL);
	assert_int_equal(dpemu_space_latency_kind(s, DPEMU_EVENT_LOST, &l), -EINVAL);
	assert_int_equal(dpemu_space_latency_kind(s, (enum dpemu_event)1000, &l), -EINVAL);
	assert_int_equal(dpemu_space_latency_kind(s, (enum dpemu_event)-1, &l), -EINVAL);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* The event names of dpemu-trace(5). */
static void test_event_names(void **state)
{
	static const char *const names[] = {
		"unknown", "zero-fill", "file-read", "cow-copy", "cow-reuse", "swap-in", "zero-map",
		"reference", "tlb-miss", "unresolved", "evict", "swap-out", "writeback", "map",
		"unmap", "fork", "destroy", "lost",
	};

	(void)state;
	assert_int_equal(sizeof names / sizeof names[0], DPEMU_EVENT_MAX + 1);
	for (int ev = 0; ev <= DPEMU_EVENT_MAX; ev++)
		assert_string_equal(dpemu_event_name((enum dpemu_event)ev), names[ev]);
	assert_string_equal(dpemu_event_name((enum dpemu_event)(DPEMU_EVENT_MAX + 1)), "unknown");
	assert_string_equal(dpemu_event_name((enum dpemu_event)-1), "unknown");
}

/* Faults of each kind, counted as dpemu_space_stats counts them. */
static void test_kinds(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(64, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * ps);
	unsigned char *buf = malloc(4 * ps);
	dpemu_pool *pool;
	dpemu_space *s, *c;
	volatile unsigned char *a, *z, *f, *ro;
	struct dpemu_fault fault;
	char path[64];
	void *p;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0x5a, 4 * ps);
	int fd = tu_temp_file(buf, 4 * ps, path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);

	/* 6 zero fills (written first) */
	assert_int_equal(dpemu_map(s, NULL, 6 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	a = p;
	for (int i = 0; i < 6; i++)
		a[(size_t)i * ps] = 1;
	/* 4 zero-frame maps (read first), 2 of them written then: 2 more
	 * zero fills (a frame of zeros, no copy) */
	assert_int_equal(dpemu_map(s, NULL, 4 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	z = p;
	for (int i = 0; i < 4; i++)
		assert_int_equal(z[(size_t)i * ps], 0);
	z[0] = 1;
	z[ps] = 1;
	/* 3 file reads */
	assert_int_equal(dpemu_map(s, NULL, 4 * ps, PROT_READ, DPEMU_MAP_PRIVATE, fd, 0, &p), 0);
	f = p;
	for (int i = 0; i < 3; i++)
		assert_int_equal(f[(size_t)i * ps], 0x5a);
	/* 1 unresolved (a write to a read-only page) */
	assert_int_equal(dpemu_map(s, NULL, ps, PROT_READ, ANON_PRIVATE, -1, 0, &p), 0);
	ro = p;
	assert_int_equal(tu_try_access((void *)ro, 1, 7, &fault), 1);
	assert_int_equal(fault.kind, DPEMU_FAULT_PROTECTION);

	struct dpemu_stats st = stats(s);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_ZERO_FILL).count, 8);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_ZERO_MAP).count, 4);
	assert_int_equal(st.zero_fills, 6 + 4); /* (zero maps count as zero fills there) */
	assert_int_equal(lat_kind(s, DPEMU_EVENT_FILE_READ).count, 3);
	assert_int_equal(st.file_reads, 3);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_UNRESOLVED).count, 1);
	assert_int_equal(st.protection_faults, 1);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_COW_COPY).count, 0);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_SWAP_IN).count, 0);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_TLB_MISS).count, 0);
	check_sums(s);

	/* dpemu_prefault is no trap: it counts nothing */
	uint64_t before = lat(s).count;
	assert_int_equal(dpemu_prefault(s, (void *)(a + 0), 6 * ps, PROT_WRITE), 0);
	assert_int_equal(dpemu_map(s, NULL, 2 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	assert_int_equal(dpemu_prefault(s, p, 2 * ps, PROT_WRITE), 0);
	assert_int_equal(lat(s).count, before);

	/* copy-on-write: 6 copies in the parent, then 6 reuses in the child
	 * (the last reference); the child starts from nothing */
	assert_int_equal(dpemu_space_fork(s, &c), 0);
	assert_int_equal(lat(c).count, 0);
	for (int i = 0; i < 6; i++)
		a[(size_t)i * ps] = 2;
	volatile unsigned char *ca =
		(unsigned char *)dpemu_space_base(c) + ((uintptr_t)a - (uintptr_t)dpemu_space_base(s));
	for (int i = 0; i < 6; i++)
		ca[(size_t)i * ps] = 3;
	assert_int_equal(lat_kind(s, DPEMU_EVENT_COW_COPY).count, 6);
	assert_int_equal(stats(s).cow_copies, 6);
	assert_int_equal(lat_kind(c, DPEMU_EVENT_COW_REUSE).count, 6);
	assert_int_equal(stats(c).cow_reuses, 6);
	assert_int_equal(lat_kind(c, DPEMU_EVENT_COW_COPY).count, 0);
	check_sums(s);
	check_sums(c);

	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	close(fd);
	free(buf);
}

/* Swap-ins, in a pool with a replacement policy (no zero frame there). */
static void test_swap_in(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(8 * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	volatile unsigned char *a;
	void *p;

	(void)state;
	pcfg.policy = DPEMU_POLICY_FIFO;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, 8 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	a = p;
	for (int i = 0; i < 8; i++)
		a[(size_t)i * ps] = (unsigned char)(i + 1);
	for (int i = 0; i < 4; i++) /* each evicts one of 4..7 */
		assert_int_equal(a[(size_t)i * ps], i + 1);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_ZERO_FILL).count, 8);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_SWAP_IN).count, 4);
	assert_int_equal(stats(s).swap_ins, 4);
	check_sums(s);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ---- threads ----------------------------------------------------------- */

#define T_THREADS 4
#define T_PAGES 1024 /* per thread: two leaves, two stripes each */

struct tw {
	volatile unsigned char *base;
};

static void *touch_all(void *arg)
{
	struct tw *w = arg;

	for (size_t i = 0; i < T_PAGES; i++)
		w->base[i * ps] = 1;
	return NULL;
}

/* Faults of 4 threads in 8 stripes: every one is counted, once. */
static void test_threads(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(T_THREADS * T_PAGES, 0);
	struct dpemu_space_config scfg = tu_space_config(T_THREADS * T_PAGES * ps);
	pthread_t th[T_THREADS];
	struct tw w[T_THREADS];
	dpemu_pool *pool;
	dpemu_space *s;
	void *p;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, T_THREADS * T_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p),
	                 0);
	for (int t = 0; t < T_THREADS; t++) {
		w[t].base = (unsigned char *)p + (size_t)t * T_PAGES * ps;
		assert_int_equal(pthread_create(&th[t], NULL, touch_all, &w[t]), 0);
	}
	for (int t = 0; t < T_THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(lat_kind(s, DPEMU_EVENT_ZERO_FILL).count, T_THREADS * T_PAGES);
	check_sums(s);
	/* the histograms of 8 stripes are in the space's metadata now */
	assert_true(stats(s).metadata_bytes >= 8 * 8192);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ---- fork(2) --------------------------------------------------------------- */

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",  \
			        __FILE__, __LINE__, #cond, dpemu_last_error());        \
			_exit(1);                                                      \
		}                                                                      \
	} while (0)

static dpemu_space *inherited;

static void child_inherited(void *arg)
{
	struct dpemu_latency l;

	(void)arg;
	alarm(30);
	CHECK(dpemu_space_latency(inherited, &l) == -EPERM);
	CHECK(dpemu_space_latency_kind(inherited, DPEMU_EVENT_ZERO_FILL, &l) == -EPERM);
	CHECK(strstr(dpemu_last_error(), "fork") != NULL);
}

/* A space inherited through fork(2) is the parent's: -EPERM. */
static void test_inherited(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(8 * ps);
	struct tu_child c;
	dpemu_pool *pool;
	void *p;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &inherited), 0);
	assert_int_equal(dpemu_map(inherited, NULL, ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	*(volatile char *)p = 1;
	assert_int_equal(tu_run_in_child(child_inherited, NULL, &c), 0);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
		fail_msg("child: status %d; its stderr:\n%s", c.status, c.err);
	assert_int_equal(lat(inherited).count, 1); /* the parent's are intact */
	assert_int_equal(dpemu_space_destroy(inherited), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_errors),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_swap_in),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_inherited),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
