/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_store.c - backing stores of the program's own (struct
 * dpemu_store_ops, dpemu_store(3)): an in-memory array of pages, once
 * async-signal-safe (called on the faulting thread) and once not (driven
 * by dpemu's store thread).
 *
 * What is checked (issue 17):
 *  - evicted pages go to the store and come back from it, every byte;
 *    open, close and discard are called as the contract says; a freed
 *    slot is discarded;
 *  - a store that fails a read (a lost page) gives the program a HOST
 *    fault with -EIO, the page stays swapped and the others intact;
 *  - a store that fails writes fails the eviction as a full swap store
 *    does (out-of-frames), nothing lost;
 *  - bad configurations (store with swap_path, no read callback, no
 *    policy) are refused; the emulated latency's syntax
 *    (DPEMU_STORE_LATENCY) is checked.
 */
#include <pthread.h>

#include "swap_env.h"

#define SLOTS 64

struct mem_store {
	unsigned char *pages;   /* SLOTS pages                                   */
	unsigned char used[SLOTS];
	size_t page_size;
	int opened, closed, reads, writes, discards;
	int fail_read, fail_write; /* -errno to return, 0: work               */
	pthread_t reader;       /* the thread of the last read                  */
};

static int mem_open(void *arg, uint64_t nslots, size_t page_size, void **obj)
{
	struct mem_store *m = arg;

	if (nslots > SLOTS)
		return -ENOSPC;
	m->pages = calloc(SLOTS, page_size);
	if (!m->pages)
		return -ENOMEM;
	m->page_size = page_size;
	m->opened++;
	*obj = m;
	return 0;
}

static void mem_close(void *obj)
{
	struct mem_store *m = obj;

	free(m->pages);
	m->pages = NULL;
	m->closed++;
}

static int mem_read(void *obj, uint64_t slot, void *buf)
{
	struct mem_store *m = obj;

	m->reader = pthread_self();
	if (m->fail_read)
		return m->fail_read;
	if (slot >= SLOTS || !m->used[slot])
		return -EIO; /* never written: lost, not zeros */
	memcpy(buf, m->pages + slot * m->page_size, m->page_size);
	m->reads++;
	return 0;
}

static int mem_write(void *obj, uint64_t slot, const void *buf)
{
	struct mem_store *m = obj;

	if (m->fail_write)
		return m->fail_write;
	memcpy(m->pages + slot * m->page_size, buf, m->page_size);
	m->used[slot] = 1;
	m->writes++;
	return 0;
}

static void mem_discard(void *obj, uint64_t slot)
{
	struct mem_store *m = obj;

	m->used[slot] = 0;
	m->discards++;
}

static const struct dpemu_store_ops safe_ops = {
	.name = "mem-safe", .flags = DPEMU_STORE_SIGNAL_SAFE, .open = mem_open,
	.close = mem_close, .read = mem_read, .write = mem_write, .discard = mem_discard,
};
static const struct dpemu_store_ops threaded_ops = {
	.name = "mem-threaded", .flags = 0, .open = mem_open,
	.close = mem_close, .read = mem_read, .write = mem_write, .discard = mem_discard,
};

static dpemu_pool *store_pool(size_t frames, const struct dpemu_store_ops *ops,
                              struct mem_store *m)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	cfg.policy = DPEMU_POLICY_FIFO;
	cfg.swap_slots = SLOTS;
	cfg.store = ops;
	cfg.store_arg = m;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	return pool;
}

/* 8 pages through a pool of 2 frames: every byte comes back from the
 * store; unmapping discards the slots; destroy closes it. */
static void round_trip(const struct dpemu_store_ops *ops)
{
	struct mem_store m = { 0 };
	dpemu_pool *pool = store_pool(2, ops, &m);
	dpemu_space *s = space_make(pool, 8);
	unsigned char *b = map_pages(s, 8, ANON_PRIVATE, -1);

	assert_int_equal(m.opened, 1);
	for (int i = 0; i < 8; i++)
		fill(b + i * ps, (unsigned char)(0x20 + i));
	assert_true(m.writes >= 6);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 8; i++)
			assert_holds(b + i * ps, (unsigned char)(0x20 + i));
	assert_true(m.reads >= 8);
	assert_int_equal(pstats(pool).swap_ins, (uint64_t)m.reads);
	if (!(ops->flags & DPEMU_STORE_SIGNAL_SAFE)) /* the store thread read it */
		assert_false(pthread_equal(m.reader, pthread_self()));
	assert_int_equal(dpemu_unmap(s, b, 8 * ps), 0);
	assert_int_equal(pstats(pool).swap_slots_used, 0);
	assert_true(m.discards >= 1);
	for (int i = 0; i < SLOTS; i++)
		assert_int_equal(m.used[i], 0);
	teardown(pool, s, NULL);
	assert_int_equal(m.closed, 1);
}

static void test_round_trip_signal_safe(void **state)
{
	(void)state;
	round_trip(&safe_ops);
}

static void test_round_trip_threaded(void **state)
{
	(void)state;
	round_trip(&threaded_ops);
}

/* The store loses a page: a HOST fault with -EIO, the page stays swapped,
 * the other pages keep their bytes, and the space goes on. */
static void read_fails(const struct dpemu_store_ops *ops)
{
	struct mem_store m = { 0 };
	struct dpemu_fault f;
	dpemu_pool *pool = store_pool(1, ops, &m);
	dpemu_space *s = space_make(pool, 3);
	unsigned char *b = map_pages(s, 3, ANON_PRIVATE, -1);

	fill(b, 0x11);
	fill(b + ps, 0x12); /* page 0 to the store */
	assert_swapped(s, b);
	m.fail_read = -EIO;
	assert_int_equal(tu_try_access(b, 0, 0, &f), 1);
	assert_int_equal(f.kind, DPEMU_FAULT_HOST);
	assert_int_equal(f.error, -EIO);
	assert_ptr_equal(f.addr, b);
	assert_swapped(s, b);
	m.fail_read = 0; /* (page 1 may have gone to the store to make room) */
	assert_holds(b + ps, 0x12);
	assert_holds(b, 0x11); /* the store is back */
	teardown(pool, s, NULL);
}

static void test_read_fails_signal_safe(void **state)
{
	(void)state;
	read_fails(&safe_ops);
}

static void test_read_fails_threaded(void **state)
{
	(void)state;
	read_fails(&threaded_ops);
}

/* The store refuses writes: the access that needed a frame fails as
 * out-of-frames (as with a full swap store), the resident pages keep
 * their bytes, and once the store works the eviction goes through. */
static void test_write_fails(void **state)
{
	struct mem_store m = { 0 };
	struct dpemu_fault f;
	(void)state;
	dpemu_pool *pool = store_pool(2, &threaded_ops, &m);
	dpemu_space *s = space_make(pool, 4);
	unsigned char *b = map_pages(s, 4, ANON_PRIVATE, -1);

	fill(b, 0x31);
	fill(b + ps, 0x32);
	m.fail_write = -EIO;
	assert_int_equal(tu_try_access(b + 2 * ps, 1, 0x33, &f), 1);
	assert_int_equal(f.kind, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_holds(b, 0x31);
	assert_holds(b + ps, 0x32);
	m.fail_write = 0;
	fill(b + 2 * ps, 0x33);
	for (int i = 0; i < 3; i++)
		assert_holds(b + i * ps, (unsigned char)(0x31 + i));
	teardown(pool, s, NULL);
}

/* What is refused at create, with a message. */
static void test_bad_config(void **state)
{
	struct mem_store m = { 0 };
	struct dpemu_store_ops no_read = safe_ops;
	struct dpemu_pool_config cfg = tu_pool_config(2, 0);
	dpemu_pool *pool = NULL;
	(void)state;

	no_read.read = NULL;
	cfg.store = &safe_ops;
	cfg.store_arg = &m;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL); /* no policy */
	cfg.policy = DPEMU_POLICY_FIFO;
	cfg.swap_path = "/tmp/dpemu-store-never";
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL); /* both */
	assert_non_null(strstr(dpemu_last_error(), "store"));
	cfg.swap_path = NULL;
	cfg.store = &no_read;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
	cfg.store = &safe_ops;
	cfg.swap_slots = SLOTS + 1; /* mem_open refuses */
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -ENOSPC);
	assert_non_null(strstr(dpemu_last_error(), "mem-safe"));
	assert_int_equal(m.opened, 0);
	cfg.swap_slots = SLOTS;
	setenv("DPEMU_STORE_LATENCY", "20 parsecs", 1);
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
	assert_non_null(strstr(dpemu_last_error(), "DPEMU_STORE_LATENCY"));
	setenv("DPEMU_STORE_LATENCY", "1us-2us", 1);
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	unsetenv("DPEMU_STORE_LATENCY");
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	assert_int_equal(m.closed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_signal_safe),
		cmocka_unit_test(test_round_trip_threaded),
		cmocka_unit_test(test_read_fails_signal_safe),
		cmocka_unit_test(test_read_fails_threaded),
		cmocka_unit_test(test_write_fails),
		cmocka_unit_test(test_bad_config),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
