/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fork_env.h - what the fork tests share (test_fork.c, test_hostfork.c):
 * pools and spaces opened and checked, a pool that must balance to zero
 * when it closes, mappings at fixed pages, a dpemu_space_fork whose child
 * is checked, and assertions on page contents and reference counts.
 *
 * Every test creates its own pool and spaces (CMocka swaps the SIGSEGV
 * handler around each test; dpemu re-installs its own at space creation)
 * and ends by checking that the pool's statistics are back to zero.  The
 * helpers are static inline so that a program need not use all of them;
 * main sets PS.
 */
#ifndef DPEMU_TESTS_FORK_ENV_H
#define DPEMU_TESTS_FORK_ENV_H

#include "testutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define ANON_SHARED (DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static size_t PS; /* the host page size, set in main */

static inline dpemu_pool *pool_open(size_t frames)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_non_null(pool);
	return pool;
}

static inline dpemu_space *space_open(dpemu_pool *pool, size_t pages)
{
	struct dpemu_space_config cfg = tu_space_config(pages * PS);
	dpemu_space *space = NULL;

	assert_int_equal(dpemu_space_create(pool, &cfg, &space), 0);
	assert_non_null(space);
	return space;
}

static inline struct dpemu_pool_stats pstats(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_pool_stats(pool, &st), 0);
	return st;
}

static inline uint64_t used(dpemu_pool *pool)
{
	return pstats(pool).frames_used;
}

static inline uint64_t shared(dpemu_pool *pool)
{
	return pstats(pool).frames_shared;
}

/* The pool balances to zero, then goes away. */
static inline void pool_close(dpemu_pool *pool)
{
	struct dpemu_pool_stats st = pstats(pool);

	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.frames_shared, 0);
	assert_int_equal(st.frames_free, st.frames_total);
	assert_int_equal(st.spaces, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

static inline struct dpemu_stats sstats(dpemu_space *s)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(s, &st), 0);
	return st;
}

static inline char *base(dpemu_space *s)
{
	return dpemu_space_base(s);
}

/* Map pages [page, page+pages) of s at a fixed place. */
static inline char *map_at(dpemu_space *s, size_t page, size_t pages, int prot, int flags)
{
	void *out = NULL;

	assert_int_equal(dpemu_map(s, base(s) + page * PS, pages * PS, prot,
	                           flags | DPEMU_MAP_FIXED, -1, 0, &out),
	                 0);
	assert_ptr_equal(out, base(s) + page * PS);
	return out;
}

/* Fork parent; check the child's shape. */
static inline dpemu_space *fork_of(dpemu_space *parent)
{
	dpemu_space *child = NULL;

	assert_int_equal(dpemu_space_fork(parent, &child), 0);
	assert_non_null(child);
	assert_ptr_not_equal(child, parent);
	assert_int_equal(dpemu_space_size(child), dpemu_space_size(parent));
	assert_ptr_equal(dpemu_space_pool(child), dpemu_space_pool(parent));
	assert_ptr_not_equal(base(child), base(parent));
	return child;
}

/* The address in other at the same offset as addr in s. */
static inline char *twin(dpemu_space *other, dpemu_space *s, const void *addr)
{
	return base(other) + ((const char *)addr - base(s));
}

static inline struct dpemu_page_info info(dpemu_space *s, const void *addr)
{
	struct dpemu_page_info pi;

	assert_int_equal(dpemu_query(s, addr, &pi), 0);
	return pi;
}

/* Every byte of the page at p equals v. */
static inline void assert_page_is(const volatile unsigned char *p, unsigned char v)
{
	for (size_t i = 0; i < PS; i++)
		if (p[i] != v)
			fail_msg("byte %zu of page %p is %#x, expected %#x", i,
			         (const void *)p, p[i], v);
}


/*
 * The reference counts of live spaces are consistent with the pool: over
 * every present page of spaces[0..n) in the first `pages` pages of each
 * arena, each frame's frame_refs equals the number of pages that map it,
 * frames_used is the number of distinct frames and frames_shared the number
 * mapped more than once.  (All frames of the pool must be mapped by pages
 * in that range.)
 */
static inline void assert_refs_consistent(dpemu_pool *pool, dpemu_space **spaces,
                                          size_t n, size_t pages)
{
	size_t nframes = pstats(pool).frames_total;
	unsigned *count = calloc(nframes, sizeof *count);
	unsigned *seen = calloc(nframes, sizeof *seen);
	uint64_t distinct = 0, multi = 0;

	assert_non_null(count);
	assert_non_null(seen);
	for (size_t i = 0; i < n; i++) {
		if (!spaces[i])
			continue;
		for (size_t p = 0; p < pages; p++) {
			struct dpemu_page_info pi = info(spaces[i], base(spaces[i]) + p * PS);

			if (!pi.present || pi.zero) /* the zero frame: not a pool frame */
				continue;
			assert_true(pi.frame < nframes);
			count[pi.frame]++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!spaces[i])
			continue;
		for (size_t p = 0; p < pages; p++) {
			struct dpemu_page_info pi = info(spaces[i], base(spaces[i]) + p * PS);

			if (!pi.present || pi.zero)
				continue;
			assert_int_equal(pi.frame_refs, count[pi.frame]);
			if (!pi.shared && count[pi.frame] > 1)
				assert_true(pi.cow);
			if (!seen[pi.frame]++) {
				distinct++;
				if (count[pi.frame] > 1)
					multi++;
			}
		}
	}
	assert_int_equal(used(pool), distinct);
	assert_int_equal(shared(pool), multi);
	free(count);
	free(seen);
}

#endif /* DPEMU_TESTS_FORK_ENV_H */
