/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * swap_env.h - what the swap tests share (test_swap.c,
 * test_policy_model.c): pools with a policy and a swap store, spaces and
 * mappings, statistics and page queries that assert they succeed, byte
 * accessors, checks of where a page went, a teardown that finds nothing
 * left used, and scratch files with known bytes.
 *
 * The helpers are static inline so that a program need not use all of
 * them; main sets ps.
 */
#ifndef DPEMU_TESTS_SWAP_ENV_H
#define DPEMU_TESTS_SWAP_ENV_H

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define ANON_SHARED (DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS)

static size_t ps;

/* ---- helpers -------------------------------------------------------------- */

static inline dpemu_pool *pool_make(size_t frames, enum dpemu_policy policy, const char *swap_path,
                                    size_t swap_slots)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	cfg.policy = policy;
	cfg.swap_path = swap_path;
	cfg.swap_slots = swap_slots;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	return pool;
}

static inline dpemu_space *space_make(dpemu_pool *pool, size_t pages)
{
	struct dpemu_space_config cfg = tu_space_config(pages * ps);
	dpemu_space *space = NULL;

	assert_int_equal(dpemu_space_create(pool, &cfg, &space), 0);
	return space;
}

static inline unsigned char *map_pages(dpemu_space *s, size_t pages, int flags, int fd)
{
	void *p;

	assert_int_equal(dpemu_map(s, NULL, pages * ps, RW, flags, fd, 0, &p), 0);
	return p;
}

static inline struct dpemu_stats stats_of(dpemu_space *s)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(s, &st), 0);
	return st;
}

static inline struct dpemu_pool_stats pstats(dpemu_pool *p)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_pool_stats(p, &st), 0);
	return st;
}

static inline struct dpemu_page_info info_of(dpemu_space *s, const void *addr)
{
	struct dpemu_page_info pi;

	assert_int_equal(dpemu_query(s, addr, &pi), 0);
	assert_true(pi.mapped);
	return pi;
}

/* The same address in another space (a fork child: same offsets). */
static inline unsigned char *in(dpemu_space *to, dpemu_space *from, const unsigned char *p)
{
	return (unsigned char *)dpemu_space_base(to) + (p - (unsigned char *)dpemu_space_base(from));
}

static inline unsigned char rd(const unsigned char *p)
{
	return *(const volatile unsigned char *)p;
}

static inline void wr(unsigned char *p, unsigned char v)
{
	*(volatile unsigned char *)p = v;
}

/* Write v to the first and the last byte of a page. */
static inline void fill(unsigned char *page, unsigned char v)
{
	wr(page, v);
	wr(page + ps - 1, v);
}

static inline void assert_holds(const unsigned char *page, unsigned char v)
{
	assert_int_equal(rd(page), v);
	assert_int_equal(rd(page + ps - 1), v);
}

static inline void assert_swapped(dpemu_space *s, const void *page)
{
	struct dpemu_page_info pi = info_of(s, page);

	assert_false(pi.present);
	assert_true(pi.swapped);
	assert_true(pi.swap_slot < pstats(dpemu_space_pool(s)).swap_slots);
}

/* Not present and not in swap: zeros or the file will refill it. */
static inline void assert_dropped(dpemu_space *s, const void *page)
{
	struct dpemu_page_info pi = info_of(s, page);

	assert_false(pi.present);
	assert_false(pi.swapped);
}

/* Destroy the spaces, check that nothing is left used, destroy the pool. */
static inline void teardown(dpemu_pool *pool, dpemu_space *a, dpemu_space *b)
{
	if (b)
		assert_int_equal(dpemu_space_destroy(b), 0);
	if (a)
		assert_int_equal(dpemu_space_destroy(a), 0);
	struct dpemu_pool_stats st = pstats(pool);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* A temporary file of `pages` pages, page i filled with 'A' + i. */
static inline int file_make(size_t pages, char *path)
{
	unsigned char *buf = malloc(pages * ps);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < pages; i++)
		memset(buf + i * ps, 'A' + (int)i, ps);
	fd = tu_temp_file(buf, pages * ps, path);
	free(buf);
	assert_true(fd >= 0);
	return fd;
}

static inline unsigned char file_byte(int fd, off_t off)
{
	unsigned char c;

	assert_int_equal(tu_pread_all(fd, &c, 1, off), 0);
	return c;
}

#endif /* DPEMU_TESTS_SWAP_ENV_H */
