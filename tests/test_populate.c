/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_populate.c - pools created with dpemu_pool_config.populate: host
 * memory committed at creation, faults over populated frames (one page at
 * a time and with fault-around), frames zeroed again when reused, and what
 * happens when the host cannot populate.
 *
 * To provoke those failures this program takes over madvise(2)
 * (interpose.h: the library's calls bind to it).  It passes every call
 * through to the system call, except that MADV_POPULATE_WRITE fails with
 * populate_errno while that is set.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "interpose.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

static int populate_errno; /* non-zero: MADV_POPULATE_WRITE fails with it */
static int populate_calls; /* MADV_POPULATE_WRITE calls seen             */
static size_t ps;

/* The interposed calls (interpose.h) ask here: MADV_POPULATE_WRITE is watched. */
static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a)
{
	if (call == TU_MADVISE && a->advice == MADV_POPULATE_WRITE) {
		populate_calls++;
		if (populate_errno) {
			errno = populate_errno;
			return -1;
		}
	}
	return 0;
}

/* The process's resident shared memory (RssShmem), in bytes. */
static size_t rss_shmem(void)
{
	long kib = tu_status_kib("RssShmem:");

	assert_true(kib >= 0);
	return (size_t)kib * 1024;
}

static dpemu_pool *populated_pool(size_t frames)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	cfg.populate = true;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	return pool;
}

/* ------------------------------------------------------------------------ */

/* A populated pool holds all its memory from the start; a plain one none. */
static void test_populate_commits_memory(void **state)
{
	const size_t frames = 4096, bytes = frames * ps;
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;
	size_t before;
	int calls = populate_calls;

	(void)state;
	before = rss_shmem();
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_true(rss_shmem() - before < bytes / 4);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	assert_int_equal(populate_calls, calls);

	before = rss_shmem();
	pool = populated_pool(frames);
	assert_int_equal(populate_calls, calls + 1);
	assert_true(rss_shmem() - before >= bytes);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	assert_true(rss_shmem() < before + bytes / 4);
}

/*
 * Write every page of a mapping over a populated pool, in order, with
 * fault_around fa: each page reads zeros but for what was written, every
 * write stays, and with fault-around one fault serves a whole window.
 */
static void check_faults(size_t fa)
{
	const size_t pages = 1024;
	struct dpemu_space_config scfg = tu_space_config(pages * ps);
	dpemu_pool *pool = populated_pool(pages);
	dpemu_space *space = NULL;
	struct dpemu_stats st;
	void *out = NULL;

	scfg.fault_around = fa;
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_map(space, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &out), 0);
	volatile uint64_t *w = out;
	for (size_t i = 0; i < pages; i++)
		w[i * ps / 8 + 1] = 0x5a5a000000000000ull | i;
	for (size_t i = 0; i < pages; i++) {
		if (w[i * ps / 8 + 1] != (0x5a5a000000000000ull | i))
			fail_msg("fault_around %zu: page %zu lost its write", fa, i);
		if (w[i * ps / 8] != 0 || w[(i + 1) * ps / 8 - 1] != 0)
			fail_msg("fault_around %zu: page %zu is not zero-filled", fa, i);
	}
	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.pages_resident, pages);
	assert_int_equal(st.zero_fills, pages);
	assert_int_equal(st.faults, pages / (fa > 1 ? fa : 1));

	/* The frames are dirty now: given out again, they must be zeroed. */
	assert_int_equal(dpemu_unmap(space, out, pages * ps), 0);
	assert_int_equal(dpemu_map(space, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &out), 0);
	w = out;
	for (size_t i = 0; i < pages; i += 7) {
		if (w[i * ps / 8 + 1] != 0)
			fail_msg("fault_around %zu: a reused frame kept old data at page %zu", fa, i);
		w[i * ps / 8 + 2] = i; /* (a read first shares the zero frame; now a frame) */
		if (w[i * ps / 8 + 2] != i || w[i * ps / 8 + 1] != 0)
			fail_msg("fault_around %zu: page %zu after its first write", fa, i);
	}
	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

static void test_populate_faults(void **state)
{
	(void)state;
	check_faults(1);
	check_faults(16);
}

/* The host cannot populate: -ENOMEM with a message, and nothing left
 * behind (no pool, no descriptor). */
static void test_populate_fails(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(64, 0);
	dpemu_pool *pool = (dpemu_pool *)&cfg;
	int fds = tu_count_fds();

	(void)state;
	cfg.populate = true;
	populate_errno = ENOMEM;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -ENOMEM);
	populate_errno = 0;
	assert_null(pool);
	assert_non_null(strstr(dpemu_last_error(), "populate"));
	assert_int_equal(tu_count_fds(), fds);
}

/* Kernels before 5.14 know no MADV_POPULATE_WRITE (EINVAL): the pool
 * writes each page itself, with the same result. */
static void test_populate_without_madvise(void **state)
{
	const size_t frames = 2048, bytes = frames * ps;
	struct dpemu_space_config scfg = tu_space_config(16 * ps);
	dpemu_space *space = NULL;
	dpemu_pool *pool;
	size_t before = rss_shmem();
	void *out = NULL;

	(void)state;
	populate_errno = EINVAL;
	pool = populated_pool(frames);
	populate_errno = 0;
	assert_true(rss_shmem() - before >= bytes);
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_map(space, NULL, 16 * ps, RW, ANON_PRIVATE, -1, 0, &out), 0);
	volatile unsigned char *p = out;
	for (size_t i = 0; i < 16; i++)
		p[i * ps + 3] = (unsigned char)(i + 1);
	for (size_t i = 0; i < 16; i++) {
		assert_int_equal(p[i * ps + 3], i + 1);
		assert_int_equal(p[i * ps + 4], 0);
	}
	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

static int setup(void **state)
{
	(void)state;
	ps = tu_host_page();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_populate_commits_memory),
		cmocka_unit_test(test_populate_faults),
		cmocka_unit_test(test_populate_fails),
		cmocka_unit_test(test_populate_without_madvise),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
