/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * map_env.h - what the mapping tests share (test_map.c, test_map_file.c,
 * test_map_protect.c, test_map_query.c): a pool and space opened and
 * closed in the test body (struct env), byte patterns to fill and check
 * memory and files with, and one-line wrappers of the statistics and
 * query calls that assert they succeed.
 *
 * Every test creates its pool and space in the test body (CMocka swaps the
 * SIGSEGV handler around each test; dpemu re-installs its own at every
 * dpemu_space_create).  The helpers are static inline so that a program
 * need not use all of them.
 */
#ifndef DPEMU_TESTS_MAP_ENV_H
#define DPEMU_TESTS_MAP_ENV_H

#include "testutil.h"

#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define ANON_SHARED (DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

struct env {
	dpemu_pool *pool;
	dpemu_space *space;
	char *base;    /* the arena                                      */
	size_t ps;     /* the emulated page size                         */
	size_t pages;  /* arena size in pages                            */
	char *ref;     /* a 2-page reference mapping with known contents */
};

static inline void env_open_full(struct env *e, size_t frames, size_t pages,
                                 size_t page_size, size_t fault_around)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, page_size);
	struct dpemu_space_config scfg;

	memset(e, 0, sizeof *e);
	e->ps = page_size ? page_size : tu_host_page();
	e->pages = pages;
	scfg = tu_space_config(pages * e->ps);
	scfg.fault_around = fault_around;
	assert_int_equal(dpemu_pool_create(&pcfg, &e->pool), 0);
	assert_int_equal(dpemu_space_create(e->pool, &scfg, &e->space), 0);
	e->base = dpemu_space_base(e->space);
	assert_non_null(e->base);
	assert_int_equal(dpemu_space_size(e->space), pages * e->ps);
}

static inline void env_open(struct env *e, size_t frames, size_t pages)
{
	env_open_full(e, frames, pages, 0, 0);
}

static inline void env_close(struct env *e)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_space_destroy(e->space), 0);
	assert_int_equal(dpemu_pool_stats(e->pool, &st), 0);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.frames_free, st.frames_total);
	assert_int_equal(dpemu_pool_destroy(e->pool), 0);
}

static inline unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131u + seed * 7u + (i >> 12)) & 0xff);
}

static inline void fill(void *p, size_t len, unsigned seed)
{
	volatile unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		c[i] = pattern(i, seed);
}

static inline int holds(const void *p, size_t len, unsigned seed)
{
	const volatile unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (c[i] != pattern(i, seed))
			return 0;
	}
	return 1;
}

/* p holds the bytes [start, start+len) of pattern(seed). */
static inline int holds_at(const void *p, size_t len, unsigned seed, size_t start)
{
	const volatile unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (c[i] != pattern(start + i, seed))
			return 0;
	}
	return 1;
}

static inline int all_zero(const void *p, size_t len)
{
	const volatile unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (c[i] != 0)
			return 0;
	}
	return 1;
}

/* Map a 2-page anonymous reference mapping at the end of the arena. */
static inline void env_add_ref(struct env *e)
{
	void *out = NULL;
	char *want = e->base + (e->pages - 2) * e->ps;

	assert_int_equal(dpemu_map(e->space, want, 2 * e->ps, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out),
	                 0);
	assert_ptr_equal(out, want);
	e->ref = out;
	fill(e->ref, 2 * e->ps, 99);
}

/* After a failing call: a message exists and the reference data is intact. */
static inline void assert_failed_cleanly(struct env *e)
{
	assert_true(strlen(dpemu_last_error()) > 0);
	if (e->ref != NULL)
		assert_true(holds(e->ref, 2 * e->ps, 99));
}

static inline struct dpemu_stats stats(struct env *e)
{
	struct dpemu_stats st;

	memset(&st, 0xa5, sizeof st);
	assert_int_equal(dpemu_space_stats(e->space, &st), 0);
	return st;
}

static inline struct dpemu_pool_stats pstats(struct env *e)
{
	struct dpemu_pool_stats st;

	memset(&st, 0xa5, sizeof st);
	assert_int_equal(dpemu_pool_stats(e->pool, &st), 0);
	return st;
}

static inline struct dpemu_page_info query(struct env *e, const void *addr)
{
	struct dpemu_page_info info;

	memset(&info, 0xa5, sizeof info);
	assert_int_equal(dpemu_query(e->space, addr, &info), 0);
	return info;
}

static inline void *map_anon(struct env *e, size_t len, int prot, int flags)
{
	void *out = NULL;

	assert_int_equal(dpemu_map(e->space, NULL, len, prot, flags, -1, 0,
	                           &out), 0);
	assert_non_null(out);
	return out;
}

/* Map len bytes at addr of the arena with DPEMU_MAP_FIXED and flags (anonymous:
 * no file); asserts that dpemu_map succeeds; returns what it gave. */
static inline void *map_fixed(struct env *e, void *addr, size_t len, int prot, int flags)
{
	void *out = NULL;

	assert_int_equal(dpemu_map(e->space, addr, len, prot, flags | DPEMU_MAP_FIXED,
	                           -1, 0, &out), 0);
	return out;
}

/* Make a temp file of len bytes with pattern(seed); returns an O_RDWR fd. */
static inline int make_file(size_t len, unsigned seed, char *path)
{
	unsigned char *buf = malloc(len ? len : 1);
	size_t i;
	int fd;

	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = pattern(i, seed);
	fd = tu_temp_file(buf, len, path);
	free(buf);
	assert_true(fd >= 0);
	return fd;
}

/* The file at fd holds pattern(seed) over [off, off+len). */
static inline int file_holds(int fd, off_t off, size_t len, unsigned seed)
{
	unsigned char *buf = malloc(len);
	size_t i;
	int ok = 1;

	assert_non_null(buf);
	assert_int_equal(tu_pread_all(fd, buf, len, off), 0);
	for (i = 0; i < len; i++) {
		if (buf[i] != pattern((size_t)off + i, seed)) {
			ok = 0;
			break;
		}
	}
	free(buf);
	return ok;
}

#endif /* DPEMU_TESTS_MAP_ENV_H */
