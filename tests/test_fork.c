/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fork.c - dpemu_space_fork, copy-on-write, and the host's own fork(2).
 *
 * What is checked (issue 4):
 *  - at fork nothing is copied: resident private pages share their frame
 *    copy-on-write, with a reference count per frame; the first write copies
 *    it, or reuses it when the writer holds the last reference;
 *  - shared mappings stay shared; untouched pages stay lazy in both spaces;
 *    file-backed private pages behave like anonymous ones once faulted in;
 *  - a frame returns to the pool exactly when the last page mapping it goes
 *    away (copy-on-write, unmap, destroy; any order; chains and dozens of
 *    spaces), and the pool statistics balance to zero afterwards;
 *  - a space holding two thirds of the pool can fork, repeatedly;
 *  - protections survive fork (read-only, PROT_NONE, dpemu_protect after);
 *  - mappings keep their offsets from the arena base;
 *  - in a child of the host's fork(2), inherited arenas and objects are off
 *    limits (SIGSEGV with a message, -EPERM), destroy calls only free the
 *    child's copies, and the child can build its own pool;
 *  - two threads racing to write one copy-on-write page make exactly one
 *    break and lose neither write;
 *  - a copy-on-write break is complete when the write returns.
 *
 * Every test creates its own pool and spaces (CMocka swaps the SIGSEGV
 * handler around each test; dpemu re-installs its own at space creation)
 * and ends by checking that the pool's statistics are back to zero.
 */
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

static dpemu_pool *pool_open(size_t frames)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_non_null(pool);
	return pool;
}

static dpemu_space *space_open(dpemu_pool *pool, size_t pages)
{
	struct dpemu_space_config cfg = tu_space_config(pages * PS);
	dpemu_space *space = NULL;

	assert_int_equal(dpemu_space_create(pool, &cfg, &space), 0);
	assert_non_null(space);
	return space;
}

static struct dpemu_pool_stats pstats(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_pool_stats(pool, &st), 0);
	return st;
}

static uint64_t used(dpemu_pool *pool)
{
	return pstats(pool).frames_used;
}

static uint64_t shared(dpemu_pool *pool)
{
	return pstats(pool).frames_shared;
}

/* The pool balances to zero, then goes away. */
static void pool_close(dpemu_pool *pool)
{
	struct dpemu_pool_stats st = pstats(pool);

	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.frames_shared, 0);
	assert_int_equal(st.frames_free, st.frames_total);
	assert_int_equal(st.spaces, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

static struct dpemu_stats sstats(dpemu_space *s)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(s, &st), 0);
	return st;
}

static char *base(dpemu_space *s)
{
	return dpemu_space_base(s);
}

/* Map pages [page, page+pages) of s at a fixed place. */
static char *map_at(dpemu_space *s, size_t page, size_t pages, int prot, int flags)
{
	void *out = NULL;

	assert_int_equal(dpemu_map(s, base(s) + page * PS, pages * PS, prot,
	                           flags | DPEMU_MAP_FIXED, -1, 0, &out),
	                 0);
	assert_ptr_equal(out, base(s) + page * PS);
	return out;
}

/* Fork parent; check the child's shape. */
static dpemu_space *fork_of(dpemu_space *parent)
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
static char *twin(dpemu_space *other, dpemu_space *s, const void *addr)
{
	return base(other) + ((const char *)addr - base(s));
}

static struct dpemu_page_info info(dpemu_space *s, const void *addr)
{
	struct dpemu_page_info pi;

	assert_int_equal(dpemu_query(s, addr, &pi), 0);
	return pi;
}

/* Every byte of the page at p equals v. */
static void assert_page_is(const volatile unsigned char *p, unsigned char v)
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
static void assert_refs_consistent(dpemu_pool *pool, dpemu_space **spaces,
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

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

/* dpemu_space_fork rejects NULL arguments with -EINVAL and creates nothing. */
static void test_fork_bad_args(void **state)
{
	dpemu_pool *pool = pool_open(8);
	dpemu_space *s = space_open(pool, 8);
	dpemu_space *child = NULL;

	(void)state;
	assert_int_equal(dpemu_space_fork(NULL, &child), -EINVAL);
	assert_null(child);
	assert_int_equal(dpemu_space_fork(NULL, NULL), -EINVAL);
	assert_int_equal(dpemu_space_fork(s, NULL), -EINVAL);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_int_equal(pstats(pool).spaces, 1);

	/* An empty space forks into an empty space. */
	child = fork_of(s);
	assert_int_equal(pstats(pool).spaces, 2);
	assert_int_equal(sstats(child).mappings, 0);
	assert_int_equal(sstats(child).pages_resident, 0);
	assert_false(info(child, base(child)).mapped);
	assert_int_equal(dpemu_space_destroy(child), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/* ------------------------------------------------------------------------ */
/* Copy-on-write                                                             */
/* ------------------------------------------------------------------------ */

/*
 * At fork nothing is copied: every resident private page (written or only
 * read) shares its frame with the child, read-only, with frame_refs 2; the
 * pool's frames_used does not change and frames_shared counts them.
 * Reading in the child copies nothing either.
 */
static void test_fork_shares_resident_pages(void **state)
{
	dpemu_pool *pool = pool_open(64);
	dpemu_space *s = space_open(pool, 16);
	unsigned char *p = (unsigned char *)map_at(s, 2, 8, RW, ANON_PRIVATE);
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	for (int i = 0; i < 4; i++)
		memset(p + i * PS, 0x10 + i, PS);
	assert_int_equal(p[4 * PS], 0); /* read only: present, the zero frame */
	assert_true(info(s, p + 4 * PS).zero);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 0);

	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 4); /* (the zero frame is not counted) */
	assert_int_equal(pstats(pool).spaces, 2);
	for (int i = 0; i < 8; i++) {
		struct dpemu_page_info a = info(s, p + i * PS);
		struct dpemu_page_info b = info(c, q + i * PS);

		assert_true(a.mapped);
		assert_true(b.mapped);
		if (i < 5) {
			assert_true(a.present);
			assert_true(b.present);
			assert_true(a.cow);
			assert_true(b.cow);
			assert_int_equal(a.frame, b.frame);
			assert_int_equal(a.frame_refs, 2);
			assert_int_equal(b.frame_refs, 2);
			assert_int_equal(b.prot, RW);
		} else {
			/* never touched: lazy in both */
			assert_false(a.present);
			assert_false(b.present);
		}
	}
	assert_int_equal(sstats(c).pages_resident, 5);
	assert_int_equal(sstats(c).mappings, 1);
	assert_int_equal(sstats(c).zero_fills, 0);
	assert_int_equal(sstats(c).cow_copies, 0);

	/* The child reads the parent's bytes; nothing gets copied. */
	for (int i = 0; i < 4; i++)
		assert_page_is(q + i * PS, 0x10 + i);
	assert_page_is(q + 4 * PS, 0);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 4);
	for (int i = 0; i < 5; i++) {
		struct dpemu_page_info b = info(c, q + i * PS);

		assert_true(b.cow);
		assert_int_equal(b.frame, info(s, p + i * PS).frame);
	}
	assert_int_equal(sstats(c).cow_copies + sstats(c).cow_reuses, 0);
	assert_int_equal(sstats(s).cow_copies + sstats(s).cow_reuses, 0);
	assert_refs_consistent(pool, (dpemu_space *[]){ s, c }, 2, 16);

	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/*
 * A write to a shared page copies it into a new frame (cow_copies), with
 * the rest of the page's bytes; the other space keeps the old frame, now
 * with one reference.  When that space then writes, it holds the last
 * reference: the page becomes writable again without a copy (cow_reuses)
 * and keeps its frame.  Works in either order (child first, parent first).
 */
static void test_fork_write_copies_then_reuses(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 0, 2, RW, ANON_PRIVATE);
	struct dpemu_page_info a, b;
	dpemu_space *c;
	unsigned char *q;
	uint64_t pf0;

	(void)state;
	memset(p, 0xaa, PS);
	memset(p + PS, 0xbb, PS);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	pf0 = info(s, p).frame;

	/* Page 0: the child writes first: a copy. */
	q[0] = 0x01;
	assert_int_equal(sstats(c).cow_copies, 1);
	assert_int_equal(sstats(c).cow_reuses, 0);
	assert_int_equal(used(pool), 3);
	assert_int_equal(shared(pool), 1);
	b = info(c, q);
	a = info(s, p);
	assert_true(b.present);
	assert_false(b.cow);
	assert_true(b.dirty);
	assert_int_not_equal(b.frame, a.frame);
	assert_int_equal(b.frame_refs, 1);
	assert_int_equal(a.frame, pf0);
	assert_int_equal(a.frame_refs, 1);
	assert_int_equal(q[0], 0x01);
	for (size_t i = 1; i < PS; i++)
		assert_int_equal(q[i], 0xaa); /* the copy has the old bytes */
	assert_page_is(p, 0xaa);          /* the parent does not see it */

	/* Then the parent: last reference, no copy, same frame. */
	p[1] = 0x02;
	assert_int_equal(sstats(s).cow_reuses, 1);
	assert_int_equal(sstats(s).cow_copies, 0);
	assert_int_equal(used(pool), 3);
	a = info(s, p);
	assert_int_equal(a.frame, pf0);
	assert_false(a.cow);
	assert_int_equal(a.frame_refs, 1);
	assert_int_equal(p[0], 0xaa);
	assert_int_equal(p[1], 0x02);
	assert_int_equal(q[0], 0x01);
	assert_int_equal(q[1], 0xaa);

	/* Page 1: the parent writes first (copy), then the child (reuse). */
	p[PS + 5] = 0x03;
	assert_int_equal(sstats(s).cow_copies, 1);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 0);
	q[PS + 6] = 0x04;
	assert_int_equal(sstats(c).cow_reuses, 1);
	assert_int_equal(sstats(c).cow_copies, 1);
	assert_int_equal(used(pool), 4);
	assert_int_equal(p[PS + 5], 0x03);
	assert_int_equal(p[PS + 6], 0xbb);
	assert_int_equal(q[PS + 5], 0xbb);
	assert_int_equal(q[PS + 6], 0x04);

	/* A second write to a page already broken is an ordinary write. */
	q[7] = 0x05;
	p[8] = 0x06;
	assert_int_equal(sstats(c).cow_copies + sstats(c).cow_reuses, 2);
	assert_int_equal(sstats(s).cow_copies + sstats(s).cow_reuses, 2);
	assert_int_equal(used(pool), 4);
	assert_refs_consistent(pool, (dpemu_space *[]){ s, c }, 2, 8);

	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(used(pool), 2);
	assert_int_equal(dpemu_space_destroy(c), 0);
	pool_close(pool);
}

/*
 * Pages never touched before the fork stay lazy in both spaces: touching
 * one in either space makes it present there only, zero-filled: a read maps
 * the zero frame, a write takes a frame of its own.
 */
static void test_fork_untouched_pages_stay_lazy(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 1, 4, RW, ANON_PRIVATE);
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	memset(p, 0x31, PS);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	for (int i = 1; i < 4; i++) {
		assert_false(info(s, p + i * PS).present);
		assert_false(info(c, q + i * PS).present);
	}

	/* The child reads page 1: present in the child only. */
	assert_int_equal(q[PS + 3], 0);
	assert_true(info(c, q + PS).present);
	assert_false(info(s, p + PS).present);
	assert_int_equal(sstats(c).zero_fills, 1);

	/* The parent writes page 2: present in the parent only. */
	memset(p + 2 * PS, 0x77, PS);
	assert_true(info(s, p + 2 * PS).present);
	assert_false(info(c, q + 2 * PS).present);
	assert_page_is(q + 2 * PS, 0); /* the child's own zero page */
	assert_page_is(p + 2 * PS, 0x77);
	assert_page_is(p + PS, 0);
	assert_int_not_equal(info(s, p + 2 * PS).frame, info(c, q + 2 * PS).frame);
	/* pages that were only read share the zero frame, each on its own */
	assert_true(info(s, p + PS).zero && info(c, q + PS).zero);
	assert_int_equal(info(s, p + 2 * PS).frame_refs, 1);
	assert_false(info(s, p + 2 * PS).cow);

	/* Page 3 is still lazy in both. */
	assert_false(info(s, p + 3 * PS).present);
	assert_false(info(c, q + 3 * PS).present);
	assert_int_equal(used(pool), 2); /* page 0 (shared), the parent's page 2 */
	assert_int_equal(shared(pool), 1);
	assert_refs_consistent(pool, (dpemu_space *[]){ s, c }, 2, 8);

	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/*
 * Resident pages of a shared mapping stay shared: same frame, writable,
 * not copy-on-write; writes in either space are seen by the other, and
 * nothing is ever copied.  Destroying the parent leaves the child's view.
 */
static void test_fork_shared_mapping_stays_shared(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 0, 3, RW, ANON_SHARED);
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	memset(p, 0x11, PS);
	memset(p + PS, 0x22, PS);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	assert_int_equal(used(pool), 2);
	assert_int_equal(shared(pool), 2);
	for (int i = 0; i < 2; i++) {
		struct dpemu_page_info a = info(s, p + i * PS);
		struct dpemu_page_info b = info(c, q + i * PS);

		assert_true(b.present);
		assert_true(b.shared);
		assert_false(a.cow);
		assert_false(b.cow);
		assert_int_equal(a.frame, b.frame);
		assert_int_equal(b.frame_refs, 2);
	}

	q[5] = 0x99;                 /* child -> parent */
	assert_int_equal(p[5], 0x99);
	p[PS + 7] = 0x98;            /* parent -> child */
	assert_int_equal(q[PS + 7], 0x98);
	assert_int_equal(q[PS + 8], 0x22);
	assert_int_equal(used(pool), 2);
	assert_int_equal(shared(pool), 2);
	assert_int_equal(sstats(c).cow_copies + sstats(c).cow_reuses, 0);
	assert_int_equal(sstats(s).cow_copies + sstats(s).cow_reuses, 0);
	assert_refs_consistent(pool, (dpemu_space *[]){ s, c }, 2, 8);

	/* The parent goes first; the child keeps the frames and the bytes. */
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(used(pool), 2);
	assert_int_equal(shared(pool), 0);
	assert_int_equal(info(c, q).frame_refs, 1);
	assert_int_equal(q[5], 0x99);
	assert_int_equal(q[PS + 7], 0x98);
	q[6] = 0x97;
	assert_int_equal(q[6], 0x97);
	assert_int_equal(dpemu_space_destroy(c), 0);
	pool_close(pool);
}

/*
 * A shared mapping stays shared after fork also for its pages that were
 * never touched before it: a write by either space to such a page is seen
 * by the other, as with MAP_SHARED|MAP_ANONYMOUS and fork(2).  ("Shared
 * mappings stay shared (child writes visible to the parent and vice
 * versa)".)
 */
static void test_fork_shared_mapping_lazy_pages(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 0, 2, RW, ANON_SHARED);
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	q[0] = 0x5a;                 /* child writes a page untouched at fork */
	assert_int_equal(p[0], 0x5a);
	p[PS + 1] = 0x5b;            /* parent writes one */
	assert_int_equal(q[PS + 1], 0x5b);
	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/*
 * File-backed private pages: once faulted in (read or written) they are
 * shared copy-on-write like anonymous ones; pages untouched at fork read the
 * file in the child, even after the parent is gone (the child has its own
 * duplicate of the fd); no write ever reaches the file.
 */
static void test_fork_file_private(void **state)
{
	char path[64];
	unsigned char *data = malloc(4 * PS), *back = malloc(4 * PS);
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	dpemu_space *c;
	unsigned char *p, *q;
	void *out;
	int fd;

	(void)state;
	assert_non_null(data);
	assert_non_null(back);
	for (int i = 0; i < 4; i++)
		memset(data + i * PS, 'A' + i, PS);
	fd = tu_temp_file(data, 4 * PS, path);
	assert_true(fd >= 0);
	assert_int_equal(dpemu_map(s, base(s), 4 * PS, RW,
	                           DPEMU_MAP_PRIVATE | DPEMU_MAP_FIXED, fd, 0, &out),
	                 0);
	assert_int_equal(close(fd), 0);
	p = out;

	assert_int_equal(p[10], 'A');    /* page 0: read from the file */
	p[PS] = 'x';                     /* page 1: read, then written */
	assert_int_equal(sstats(s).file_reads, 2);

	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	assert_true(info(c, q).cow);
	assert_true(info(c, q + PS).cow);
	assert_int_equal(info(c, q + PS).frame, info(s, p + PS).frame);
	assert_false(info(c, q).anonymous);
	assert_int_equal(info(c, q + 2 * PS).file_offset, 2 * (off_t)PS);
	assert_int_equal(shared(pool), 2);

	/* The child sees the parent's pages, not the file's. */
	assert_page_is(q, 'A');
	assert_int_equal(q[PS], 'x');
	assert_int_equal(q[PS + 1], 'B');
	/* Page 2 untouched at fork: the child reads it from the file. */
	assert_page_is(q + 2 * PS, 'C');
	assert_int_equal(sstats(c).file_reads, 1);
	assert_false(info(s, p + 2 * PS).present);

	/* The child writes page 0: a copy; the parent keeps the file data. */
	q[0] = 'y';
	assert_int_equal(sstats(c).cow_copies, 1);
	assert_int_equal(q[0], 'y');
	assert_page_is(p, 'A');
	assert_int_equal(used(pool), 4);

	/* The parent goes away; page 3 still comes from the file in the child. */
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_page_is(q + 3 * PS, 'D');
	assert_int_equal(q[PS], 'x');
	q[PS + 2] = 'z';                 /* last reference: reuse */
	assert_int_equal(sstats(c).cow_reuses, 1);
	assert_int_equal(dpemu_space_destroy(c), 0);

	/* Private mappings never write to the file. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(tu_pread_all(fd, back, 4 * PS, 0), 0);
	assert_memory_equal(back, data, 4 * PS);
	close(fd);
	unlink(path);
	free(data);
	free(back);
	pool_close(pool);
}

/* ------------------------------------------------------------------------ */
/* Protection                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Fork of a read-only mapping: the child reads the parent's bytes (and
 * zeros on untouched pages); a write in either space is a protection fault
 * that changes nothing and copies nothing.  After dpemu_protect(RW) in the
 * child, its write copies and the parent still faults.
 */
static void test_fork_readonly_mapping(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 0, 2, RW, ANON_PRIVATE);
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	memset(p, 0x42, PS);
	assert_int_equal(dpemu_protect(s, p, 2 * PS, PROT_READ), 0);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	assert_int_equal(info(c, q).prot, PROT_READ);
	assert_int_equal(info(c, q + PS).prot, PROT_READ);

	assert_page_is(q, 0x42);
	assert_page_is(q + PS, 0);
	tu_assert_caught(c, q + 3, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(c, q + PS + 3, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(s, p + 4, 1, DPEMU_FAULT_PROTECTION);
	assert_int_equal(sstats(c).protection_faults, 2);
	assert_int_equal(sstats(c).cow_copies + sstats(c).cow_reuses, 0);
	assert_page_is(q, 0x42);
	assert_page_is(p, 0x42);
	assert_int_equal(info(c, q).frame, info(s, p).frame);
	assert_int_equal(used(pool), 1); /* shared page 0 (page 1: the zero frame) */

	/* Write permission in the child alone. */
	assert_int_equal(dpemu_protect(c, q, PS, RW), 0);
	q[3] = 0x43;
	assert_int_equal(sstats(c).cow_copies, 1);
	assert_int_equal(q[3], 0x43);
	assert_page_is(p, 0x42);
	tu_assert_caught(s, p + 3, 1, DPEMU_FAULT_PROTECTION);
	assert_int_equal(used(pool), 2); /* the parent's page 0, the child's copy */
	assert_refs_consistent(pool, (dpemu_space *[]){ s, c }, 2, 8);

	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/*
 * Fork with PROT_NONE pages (one resident, one lazy): the child inherits
 * PROT_NONE (any access is a protection fault); the resident one still
 * shares its frame, and the child can dpemu_protect it readable (the
 * parent's bytes) and writable (a copy) while the parent's stays PROT_NONE.
 */
static void test_fork_prot_none_page(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 0, 2, RW, ANON_PRIVATE);
	struct dpemu_page_info b;
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	memset(p, 0x33, PS);
	assert_int_equal(dpemu_protect(s, p, 2 * PS, PROT_NONE), 0);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);

	b = info(c, q);
	assert_true(b.mapped);
	assert_true(b.present);
	assert_true(b.cow);
	assert_int_equal(b.prot, PROT_NONE);
	assert_int_equal(b.frame_refs, 2);
	assert_int_equal(info(c, q + PS).prot, PROT_NONE);
	assert_false(info(c, q + PS).present);

	tu_assert_caught(c, q + 1, 0, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(c, q + 1, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(c, q + PS + 1, 0, DPEMU_FAULT_PROTECTION);
	assert_false(info(c, q + PS).present); /* no frame for a refused access */
	assert_int_equal(used(pool), 1);

	assert_int_equal(dpemu_protect(c, q, PS, PROT_READ), 0);
	assert_page_is(q, 0x33);
	tu_assert_caught(s, p + 1, 0, DPEMU_FAULT_PROTECTION); /* parent unchanged */
	assert_int_equal(dpemu_protect(c, q, PS, RW), 0);
	q[9] = 0x34;
	assert_int_equal(sstats(c).cow_copies, 1);
	assert_int_equal(used(pool), 2);
	assert_int_equal(info(s, p).prot, PROT_NONE);
	assert_int_equal(dpemu_protect(s, p, PS, PROT_READ), 0);
	assert_page_is(p, 0x33);
	assert_int_equal(q[9], 0x34);

	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_space_destroy(c), 0);
	pool_close(pool);
}

/*
 * dpemu_protect(PROT_READ) in the child after fork: the child's writes are
 * protection faults and change nothing, the parent's are not affected (it
 * copies, the child still holding a reference); when the child is made
 * writable again, its write reuses the frame it now holds alone.
 */
static void test_fork_protect_readonly_in_child(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 3, 1, RW, ANON_PRIVATE);
	dpemu_space *c;
	unsigned char *q;

	(void)state;
	memset(p, 0x61, PS);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	assert_int_equal(dpemu_protect(c, q, PS, PROT_READ), 0);
	assert_int_equal(info(c, q).prot, PROT_READ);
	assert_int_equal(info(s, p).prot, RW);

	tu_assert_caught(c, q + 100, 1, DPEMU_FAULT_PROTECTION);
	assert_page_is(q, 0x61);
	assert_int_equal(used(pool), 1);

	p[100] = 0x62;
	assert_int_equal(sstats(s).cow_copies, 1);
	assert_int_equal(q[100], 0x61);
	assert_int_equal(used(pool), 2);

	assert_int_equal(dpemu_protect(c, q, PS, RW), 0);
	q[101] = 0x63;
	assert_int_equal(sstats(c).cow_reuses, 1);
	assert_int_equal(sstats(c).cow_copies, 0);
	assert_int_equal(used(pool), 2);
	assert_int_equal(p[101], 0x61);
	assert_int_equal(p[100], 0x62);
	assert_int_equal(q[100], 0x61);

	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/*
 * Fork preserves the layout: every mapping at the same offset from the
 * arena base, with its protection, kind and holes; the child's counters say
 * as many mappings.
 */
static void test_fork_preserves_offsets(void **state)
{
	dpemu_pool *pool = pool_open(64);
	dpemu_space *s = space_open(pool, 64);
	dpemu_space *c;
	void *out = NULL;
	char *a, *b, *d;

	(void)state;
	a = map_at(s, 5, 3, RW, ANON_PRIVATE);
	assert_int_equal(dpemu_map(s, NULL, 4 * PS, RW, ANON_SHARED, -1, 0, &out), 0);
	b = out;
	d = map_at(s, 40, 6, PROT_READ, ANON_PRIVATE);
	assert_int_equal(dpemu_unmap(s, d + 2 * PS, PS), 0); /* a hole */
	a[0] = 1;
	b[PS] = 2;
	(void)*(volatile char *)(d + 5 * PS);

	c = fork_of(s);
	assert_int_equal(sstats(c).mappings, sstats(s).mappings);
	for (size_t pg = 0; pg < 64; pg++) {
		char *pa = base(s) + pg * PS;
		struct dpemu_page_info x = info(s, pa);
		struct dpemu_page_info y = info(c, twin(c, s, pa));

		assert_int_equal(x.mapped, y.mapped);
		assert_int_equal(x.present, y.present);
		if (!x.mapped)
			continue;
		assert_int_equal(x.prot, y.prot);
		assert_int_equal(x.shared, y.shared);
		assert_int_equal(x.anonymous, y.anonymous);
		assert_int_equal((char *)x.mapping_start - base(s),
		                 (char *)y.mapping_start - base(c));
	}
	assert_false(info(c, twin(c, s, d + 2 * PS)).mapped);
	assert_int_equal(*twin(c, s, a), 1);
	assert_int_equal(*twin(c, s, b + PS), 2);

	/* The child's free ranges are the parent's: FIXED over a mapping
	 * fails, in a hole it works. */
	assert_int_equal(dpemu_map(c, twin(c, s, a), PS, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out),
	                 -EEXIST);
	assert_int_equal(dpemu_map(c, twin(c, s, d + 2 * PS), PS, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out),
	                 0);
	assert_false(info(s, d + 2 * PS).mapped);

	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_space_destroy(c), 0);
	pool_close(pool);
}

/* ------------------------------------------------------------------------ */
/* Frames return to the pool with their last reference                       */
/* ------------------------------------------------------------------------ */

/*
 * Unmap and destroy drop one reference each: a frame shared by parent and
 * child is freed only when both have let go, whichever goes first; and a
 * page whose partner unmapped it is reused on write, not copied.
 */
static void test_frame_freed_with_last_reference(void **state)
{
	dpemu_pool *pool = pool_open(16);
	dpemu_space *s = space_open(pool, 8);
	unsigned char *p = (unsigned char *)map_at(s, 0, 4, RW, ANON_PRIVATE);
	dpemu_space *c;
	unsigned char *q;
	uint64_t f;

	(void)state;
	for (int i = 0; i < 4; i++)
		memset(p + i * PS, 0x10 + i, PS);
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 4);

	/* Page 0: the child unmaps first, then the parent. */
	assert_int_equal(dpemu_unmap(c, q, PS), 0);
	assert_int_equal(used(pool), 4);
	assert_int_equal(shared(pool), 3);
	assert_int_equal(info(s, p).frame_refs, 1);
	assert_page_is(p, 0x10);
	assert_int_equal(dpemu_unmap(s, p, PS), 0);
	assert_int_equal(used(pool), 3);

	/* Page 1: the parent unmaps; the child's write reuses the frame. */
	f = info(c, q + PS).frame;
	assert_int_equal(dpemu_unmap(s, p + PS, PS), 0);
	assert_int_equal(used(pool), 3);
	assert_int_equal(shared(pool), 2);
	q[PS] = 0x99;
	assert_int_equal(sstats(c).cow_reuses, 1);
	assert_int_equal(sstats(c).cow_copies, 0);
	assert_int_equal(info(c, q + PS).frame, f);
	assert_int_equal(used(pool), 3);

	/* Page 2: the child copies; then the parent's unmap frees the old. */
	q[2 * PS] = 0x98;
	assert_int_equal(sstats(c).cow_copies, 1);
	assert_int_equal(used(pool), 4);
	assert_int_equal(dpemu_unmap(s, p + 2 * PS, PS), 0);
	assert_int_equal(used(pool), 3);
	assert_int_equal(shared(pool), 1);
	assert_refs_consistent(pool, (dpemu_space *[]){ s, c }, 2, 8);

	/* Page 3: the parent is destroyed before the child. */
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(used(pool), 3);
	assert_int_equal(shared(pool), 0);
	assert_int_equal(info(c, q + 3 * PS).frame_refs, 1);
	assert_page_is(q + 3 * PS, 0x13);
	assert_int_equal(q[PS], 0x99);
	assert_int_equal(q[PS + 1], 0x11);
	assert_int_equal(q[2 * PS], 0x98);
	assert_int_equal(q[2 * PS + 1], 0x12);
	assert_int_equal(dpemu_space_destroy(c), 0);
	pool_close(pool);
}

#define CHAIN 6
#define CHAIN_PAGES 8

/*
 * Forks of forks: S0 writes 8 pages; S(k) = fork(S(k-1)) for k = 1..5, and
 * each S(k) writes its page k right after it is born, so later forks
 * inherit the copy.  Reference counts follow the family tree exactly, every
 * space sees the right bytes, and destroying the spaces in a mixed order
 * (grand-parent first) frees each frame with its last page.
 */
static void test_fork_chain(void **state)
{
	static const int order[CHAIN] = { 2, 0, 5, 1, 4, 3 };
	dpemu_pool *pool = pool_open(64);
	dpemu_space *sp[CHAIN];
	unsigned char *p;

	(void)state;
	sp[0] = space_open(pool, CHAIN_PAGES);
	p = (unsigned char *)map_at(sp[0], 0, CHAIN_PAGES, RW, ANON_PRIVATE);
	for (int i = 0; i < CHAIN_PAGES; i++)
		memset(p + i * PS, 0xa0 + i, PS);
	for (int k = 1; k < CHAIN; k++) {
		sp[k] = fork_of(sp[k - 1]);
		base(sp[k])[k * PS] = (char)k;
	}
	/* Page p of S(j): the original frame (refs p) for j < p, else S(p)'s
	 * copy (refs CHAIN - p); pages 0, 6 and 7 were never written after
	 * the first fork (refs CHAIN). */
	for (int j = 0; j < CHAIN; j++) {
		for (int pg = 0; pg < CHAIN_PAGES; pg++) {
			unsigned char *a = (unsigned char *)base(sp[j]) + pg * PS;
			uint32_t refs;

			if (pg == 0 || pg >= CHAIN)
				refs = CHAIN;
			else
				refs = j < pg ? (uint32_t)pg : (uint32_t)(CHAIN - pg);
			assert_int_equal(info(sp[j], a).frame_refs, refs);
			assert_int_equal(a[0], pg >= 1 && pg < CHAIN && j >= pg ? pg : 0xa0 + pg);
			assert_int_equal(a[1], 0xa0 + pg);
		}
	}
	assert_int_equal(used(pool), 1 + 2 * (CHAIN - 1) + 2);
	assert_refs_consistent(pool, sp, CHAIN, CHAIN_PAGES);

	for (int i = 0; i < CHAIN; i++) {
		assert_int_equal(dpemu_space_destroy(sp[order[i]]), 0);
		sp[order[i]] = NULL;
		assert_refs_consistent(pool, sp, CHAIN, CHAIN_PAGES);
		for (int j = 0; j < CHAIN; j++) {
			if (!sp[j])
				continue;
			for (int pg = 0; pg < CHAIN_PAGES; pg++) {
				unsigned char *a = (unsigned char *)base(sp[j]) + pg * PS;

				assert_int_equal(a[0], pg >= 1 && pg < CHAIN && j >= pg
				                       ? pg : 0xa0 + pg);
				assert_int_equal(a[PS - 1], 0xa0 + pg);
			}
		}
	}
	pool_close(pool);
}

#define MANY 40
#define GRAND 8
#define MANY_PAGES 4

struct view {
	unsigned char fill[MANY_PAGES];
	int b1[MANY_PAGES]; /* byte 1, or -1 for fill */
};

static void assert_view(dpemu_space *s, const struct view *v)
{
	for (int pg = 0; pg < MANY_PAGES; pg++) {
		unsigned char *a = (unsigned char *)base(s) + pg * PS;

		assert_int_equal(a[0], v->fill[pg]);
		assert_int_equal(a[1], v->b1[pg] < 0 ? v->fill[pg] : v->b1[pg]);
		assert_int_equal(a[PS - 1], v->fill[pg]);
	}
}

/*
 * Dozens of spaces: 40 forks of one space, each writing one byte of one
 * page, and 8 forks of those; then all are destroyed in a scrambled order
 * (the original among the first).  After every step the reference counts
 * match the pages that map each frame, every space sees its own bytes, and
 * at the end the pool is empty.
 */
static void test_fork_dozens_of_spaces(void **state)
{
	enum { N = 1 + MANY + GRAND };
	dpemu_pool *pool = pool_open(256);
	dpemu_space *sp[N];
	struct view v[N];
	unsigned char *p;
	int order[N];

	(void)state;
	sp[0] = space_open(pool, MANY_PAGES);
	p = (unsigned char *)map_at(sp[0], 0, MANY_PAGES, RW, ANON_PRIVATE);
	for (int pg = 0; pg < MANY_PAGES; pg++) {
		memset(p + pg * PS, 0x40 + pg, PS);
		v[0].fill[pg] = 0x40 + pg;
		v[0].b1[pg] = -1;
	}
	for (int i = 1; i <= MANY; i++) {
		int pg = i % MANY_PAGES;

		sp[i] = fork_of(sp[0]);
		v[i] = v[0];
		if (i % 5 != 0) { /* every fifth child writes nothing */
			base(sp[i])[pg * PS + 1] = (char)i;
			v[i].b1[pg] = i;
		}
	}
	/* Page 0 of S0 is still shared by S0 and every child that did not
	 * write it. */
	int writers0 = 0;
	for (int i = 1; i <= MANY; i++)
		writers0 += i % MANY_PAGES == 0 && i % 5 != 0;
	assert_int_equal(info(sp[0], p).frame_refs, 1 + MANY - writers0);
	for (int g = 0; g < GRAND; g++) {
		int from = 1 + g * 3, i = 1 + MANY + g;

		sp[i] = fork_of(sp[from]);
		v[i] = v[from];
		if (g % 2) {
			base(sp[i])[2 * PS + 1] = (char)(100 + g);
			v[i].b1[2] = 100 + g;
		}
	}
	assert_int_equal(pstats(pool).spaces, N);
	assert_refs_consistent(pool, sp, N, MANY_PAGES);
	for (int i = 0; i < N; i++)
		assert_view(sp[i], &v[i]);

	/* A fixed scramble: (i * 17 + 3) mod 49 visits every index once. */
	for (int i = 0; i < N; i++)
		order[i] = (i * 17 + 3) % N;
	for (int k = 0; k < N; k++) {
		assert_int_equal(dpemu_space_destroy(sp[order[k]]), 0);
		sp[order[k]] = NULL;
		if (k % 4 == 0 || k == N - 1) {
			assert_refs_consistent(pool, sp, N, MANY_PAGES);
			for (int i = 0; i < N; i++)
				if (sp[i])
					assert_view(sp[i], &v[i]);
		}
	}
	pool_close(pool);
}

/* ------------------------------------------------------------------------ */
/* A big space in a small pool                                               */
/* ------------------------------------------------------------------------ */

#define BIG_FRAMES 300
#define BIG_PAGES 200

/*
 * A space holding two thirds of the pool forks, because fork copies
 * nothing: fork, write one page in the child, destroy the child, ten times;
 * then a chain of ten forks of forks.  frames_used never exceeds what the
 * writes need.
 */
static void test_fork_two_thirds_of_pool(void **state)
{
	dpemu_pool *pool = pool_open(BIG_FRAMES);
	dpemu_space *s = space_open(pool, 256);
	unsigned char *p = (unsigned char *)map_at(s, 0, BIG_PAGES, RW, ANON_PRIVATE);
	dpemu_space *chain[10];
	uint64_t reuses = 0;

	(void)state;
	for (int i = 0; i < BIG_PAGES; i++)
		p[i * PS] = (unsigned char)i;
	assert_int_equal(used(pool), BIG_PAGES);

	for (int round = 0; round < 10; round++) {
		dpemu_space *c = fork_of(s);
		unsigned char *q = (unsigned char *)twin(c, s, p);

		assert_int_equal(used(pool), BIG_PAGES);
		assert_int_equal(shared(pool), BIG_PAGES);
		q[round * PS + 1] = 0xee;
		assert_int_equal(used(pool), BIG_PAGES + 1);
		assert_int_equal(q[round * PS], round);
		assert_int_equal(p[round * PS + 1], 0);
		assert_int_equal(dpemu_space_destroy(c), 0);
		assert_int_equal(used(pool), BIG_PAGES);
		assert_int_equal(shared(pool), 0);
		/* The parent holds the last reference now: a write reuses. */
		p[round * PS + 2] = 0xdd;
		assert_int_equal(sstats(s).cow_reuses, ++reuses);
		assert_int_equal(sstats(s).cow_copies, 0);
	}

	chain[0] = fork_of(s);
	for (int k = 1; k < 10; k++)
		chain[k] = fork_of(chain[k - 1]);
	assert_int_equal(used(pool), BIG_PAGES);
	assert_int_equal(info(chain[9], base(chain[9]) + 7 * PS).frame_refs, 11);
	assert_int_equal(base(chain[9])[7 * PS], 7);
	/* Destroy from the oldest: the frames stay until the last. */
	assert_int_equal(dpemu_space_destroy(s), 0);
	for (int k = 0; k < 9; k++) {
		assert_int_equal(dpemu_space_destroy(chain[k]), 0);
		assert_int_equal(used(pool), BIG_PAGES);
	}
	assert_int_equal(shared(pool), 0);
	assert_int_equal((unsigned char)base(chain[9])[199 * PS], 199);
	assert_int_equal(dpemu_space_destroy(chain[9]), 0);
	pool_close(pool);
}

struct fill_arg {
	unsigned char *p;
	size_t from, to;
	size_t done;
};

static void write_pages(void *arg)
{
	struct fill_arg *f = arg;

	for (size_t i = f->from; i < f->to; i++) {
		((volatile unsigned char *)f->p)[i * PS + 3] = 0xc3;
		f->done++;
	}
}

/*
 * Copies need frames: after forking a space that holds two thirds of the
 * pool, the child can copy until the pool is full, then a copy-on-write
 * write is an out-of-frames fault that changes nothing.  Once the parent is
 * destroyed the child holds the last reference of every remaining page and
 * its writes reuse frames instead of needing new ones.
 */
static void test_fork_copies_until_pool_full(void **state)
{
	dpemu_pool *pool = pool_open(BIG_FRAMES);
	dpemu_space *s = space_open(pool, 256);
	unsigned char *p = (unsigned char *)map_at(s, 0, BIG_PAGES, RW, ANON_PRIVATE);
	struct fill_arg fa;
	struct dpemu_fault f;
	dpemu_space *c;
	unsigned char *q;
	const size_t spare = BIG_FRAMES - BIG_PAGES;

	(void)state;
	for (int i = 0; i < BIG_PAGES; i++)
		p[i * PS] = (unsigned char)i;
	c = fork_of(s);
	q = (unsigned char *)twin(c, s, p);

	fa = (struct fill_arg){ q, 0, BIG_PAGES, 0 };
	assert_int_equal(dpemu_catch(write_pages, &fa, &f), 1);
	assert_int_equal(fa.done, spare);
	assert_int_equal(f.kind, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_ptr_equal(f.addr, q + spare * PS + 3);
	assert_int_equal(used(pool), BIG_FRAMES);
	assert_int_equal(sstats(c).cow_copies, spare);
	assert_int_equal(q[spare * PS + 3], 0);   /* unchanged */
	assert_true(info(c, q + spare * PS).cow);
	assert_int_equal(info(c, q + spare * PS).frame_refs, 2);

	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(used(pool), BIG_PAGES);
	assert_int_equal(shared(pool), 0);
	fa = (struct fill_arg){ q, spare, BIG_PAGES, 0 };
	assert_int_equal(dpemu_catch(write_pages, &fa, &f), 0);
	assert_int_equal(sstats(c).cow_reuses, BIG_PAGES - spare);
	assert_int_equal(sstats(c).cow_copies, spare);
	assert_int_equal(used(pool), BIG_PAGES);
	for (int i = 0; i < BIG_PAGES; i++) {
		assert_int_equal(q[i * PS], (unsigned char)i);
		assert_int_equal(q[i * PS + 3], 0xc3);
	}
	assert_int_equal(dpemu_space_destroy(c), 0);
	pool_close(pool);
}

/* ------------------------------------------------------------------------ */
/* The host process's own fork(2)                                            */
/* ------------------------------------------------------------------------ */

struct host_env {
	dpemu_pool *pool;
	dpemu_space *s, *c;     /* a space and a dpemu_space_fork of it */
	unsigned char *p, *q;   /* their first mapping                  */
	void *touch;            /* what the child of fork(2) touches    */
	int write;
};

/* A pool, a space with 4 pages (pages 0-1 written, 2-3 lazy), a fork of
 * the space (page 0 copied by the fork's write). */
static void host_env_open(struct host_env *h)
{
	memset(h, 0, sizeof *h);
	h->pool = pool_open(32);
	h->s = space_open(h->pool, 8);
	h->p = (unsigned char *)map_at(h->s, 0, 4, RW, ANON_PRIVATE);
	memset(h->p, 0x51, PS);
	memset(h->p + PS, 0x52, PS);
	h->c = fork_of(h->s);
	h->q = (unsigned char *)twin(h->c, h->s, h->p);
	h->q[0] = 0x53;
}

/* The parent's state after any child of fork(2): bytes, frames, stats. */
static void host_env_check(struct host_env *h)
{
	struct dpemu_pool_stats st = pstats(h->pool);

	assert_int_equal(st.frames_used, 3);
	assert_int_equal(st.frames_shared, 1);
	assert_int_equal(st.spaces, 2);
	assert_int_equal(sstats(h->s).pages_resident, 2);
	assert_int_equal(sstats(h->c).pages_resident, 2);
	assert_page_is(h->p, 0x51);
	assert_page_is(h->p + PS, 0x52);
	assert_int_equal(h->q[0], 0x53);
	assert_int_equal(h->q[1], 0x51);
	assert_page_is(h->q + PS, 0x52);
	assert_false(info(h->s, h->p + 2 * PS).present);
	assert_false(info(h->c, h->q + 3 * PS).present);
	assert_true(info(h->c, h->q + PS).cow);
}

/* The parent carries on normally, then cleans up. */
static void host_env_close(struct host_env *h)
{
	h->q[PS] = 0x54;              /* a copy-on-write break still works */
	assert_int_equal(h->p[PS], 0x52);
	h->p[2 * PS] = 0x55;          /* and a lazy page */
	assert_int_equal(dpemu_space_destroy(h->s), 0);
	assert_int_equal(dpemu_space_destroy(h->c), 0);
	pool_close(h->pool);
}

/* Child of fork(2): put dpemu's fault handler back (tu_run_in_child gave
 * SIGSEGV its default action) by creating a pool and space of its own, then
 * touch an inherited arena.  Must die there. */
static void child_touch_inherited(void *arg)
{
	struct host_env *h = arg;
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(4 * tu_host_page());
	dpemu_pool *pool;
	dpemu_space *s;

	alarm(30); /* a watchdog: a hang becomes a SIGALRM death */
	scfg.backend = DPEMU_BACKEND_SIGSEGV; /* what re-installs the handler */
	if (dpemu_pool_create(&pcfg, &pool) != 0)
		_exit(10);
	if (dpemu_space_create(pool, &scfg, &s) != 0)
		_exit(11);
	if (h->write)
		*(volatile unsigned char *)h->touch = 0xfe;
	else
		(void)*(volatile unsigned char *)h->touch;
	_exit(3); /* the touch went through */
}

/* Fail unless the child of fork(2) exited with status 0. */
static void assert_child_ok(const struct tu_child *ch)
{
	if (WIFSIGNALED(ch->status) && WTERMSIG(ch->status) == SIGALRM)
		fail_msg("the child of fork(2) hung (killed by its 30 s watchdog); "
		         "stderr: %s", ch->err);
	if (!WIFEXITED(ch->status) || WEXITSTATUS(ch->status) != 0)
		fail_msg("child status %#x (exit code %d: see its CHK), stderr: %s",
		         ch->status, WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : -1,
		         ch->err);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * In a child of fork(2), touching an inherited arena (a written page, a
 * lazy page, a copy-on-write page of a dpemu_space_fork child; read or
 * write) kills the child with SIGSEGV after one line on stderr saying the
 * space belongs to the parent process.  The parent's pages, frames and
 * counters are unchanged afterwards.
 */
static void test_hostfork_touch_kills_child(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	struct {
		void *addr;
		int write;
	} cases[] = {
		{ h.p + 10, 1 },          /* resident, private to the parent */
		{ h.p + PS + 10, 0 },     /* resident, shared with the fork  */
		{ h.p + 2 * PS + 10, 1 }, /* lazy                            */
		{ h.q + PS + 10, 1 },     /* the dpemu fork's cow page       */
		{ h.q + 10, 0 },          /* the dpemu fork's own copy       */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h.touch = cases[i].addr;
		h.write = cases[i].write;
		assert_int_equal(tu_run_in_child(child_touch_inherited, &h, &ch), 0);
		if (!WIFSIGNALED(ch.status) || WTERMSIG(ch.status) != SIGSEGV)
			fail_msg("case %zu: child status %#x (exit %d), stderr: %s", i,
			         ch.status, WIFEXITED(ch.status) ? WEXITSTATUS(ch.status) : -1,
			         ch.err);
		if (strstr(ch.err, "belongs to the parent process") == NULL)
			fail_msg("case %zu: stderr lacks the reason: %s", i, ch.err);
		assert_int_equal(count_lines(ch.err), 1);
		assert_int_equal(ch.err[ch.err_len - 1], '\n');
		host_env_check(&h);
	}
	host_env_close(&h);
}

#define CHK(cond, code) \
	do { \
		if (!(cond)) \
			_exit(code); \
	} while (0)

/* Child of fork(2): every call on inherited objects is -EPERM, except the
 * destroy calls, which succeed. */
static void child_calls_on_inherited(void *arg)
{
	struct host_env *h = arg;
	struct dpemu_space_config scfg = tu_space_config(4 * tu_host_page());
	struct dpemu_pool_stats pst;
	struct dpemu_page_info pi;
	struct dpemu_stats st;
	dpemu_space *out = NULL;
	void *addr = NULL;

	alarm(30); /* a watchdog: a hang becomes a SIGALRM death */
	CHK(dpemu_map(h->s, NULL, PS, RW, ANON_PRIVATE, -1, 0, &addr) == -EPERM, 20);
	CHK(dpemu_map(h->c, h->q + 5 * PS, PS, RW, ANON_PRIVATE | DPEMU_MAP_FIXED,
	              -1, 0, &addr) == -EPERM, 22);
	CHK(dpemu_query(h->s, h->p, &pi) == -EPERM, 23);
	CHK(dpemu_query(h->c, h->q, &pi) == -EPERM, 24);
	CHK(dpemu_space_stats(h->s, &st) == -EPERM, 25);
	CHK(dpemu_pool_stats(h->pool, &pst) == -EPERM, 26);
	CHK(dpemu_space_fork(h->s, &out) == -EPERM, 27);
	CHK(dpemu_space_create(h->pool, &scfg, &out) == -EPERM, 29);
	CHK(dpemu_unmap(h->s, h->p, PS) == -EPERM, 31);
	CHK(dpemu_protect(h->s, h->p, PS, PROT_READ) == -EPERM, 32);
	CHK(dpemu_sync(h->s, h->p, PS) == -EPERM, 33);
	CHK(strstr(dpemu_last_error(), "parent process") != NULL, 34);
	/* The pool is still in use by the (inherited) spaces. */
	CHK(dpemu_pool_destroy(h->pool) == -EBUSY, 35);
	CHK(dpemu_space_destroy(h->c) == 0, 36);
	CHK(dpemu_space_destroy(h->s) == 0, 37);
	CHK(dpemu_pool_destroy(h->pool) == 0, 38);
}

/*
 * In a child of fork(2), dpemu calls on inherited objects fail with
 * -EPERM (map, query, stats, fork, create on the pool, unmap, protect,
 * sync); dpemu_space_destroy and dpemu_pool_destroy succeed there and free
 * only the child's copies: the parent's spaces, pages and pool are intact.
 */
static void test_hostfork_inherited_calls(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	assert_int_equal(tu_run_in_child(child_calls_on_inherited, &h, &ch), 0);
	assert_child_ok(&ch);
	assert_int_equal(ch.err_len, 0);
	host_env_check(&h);
	/* The parent's objects still work in every way. */
	assert_int_equal(sstats(h.s).mappings, 1);
	dpemu_space *g = fork_of(h.c);
	assert_int_equal(twin(g, h.c, h.q)[0], 0x53);
	assert_int_equal(dpemu_space_destroy(g), 0);
	host_env_close(&h);
}

/* Child of fork(2): a pool and space of its own work normally, fork
 * included, next to inherited ones it cannot use. */
static void child_own_pool(void *arg)
{
	struct host_env *h = arg;
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(4 * tu_host_page());
	struct dpemu_pool_stats pst;
	struct dpemu_page_info pi;
	struct dpemu_stats st;
	dpemu_pool *pool;
	dpemu_space *s, *c;
	volatile unsigned char *p, *q;
	void *out;

	alarm(30); /* a watchdog: a hang becomes a SIGALRM death */
	CHK(dpemu_pool_create(&pcfg, &pool) == 0, 40);
	CHK(dpemu_space_create(pool, &scfg, &s) == 0, 41);
	CHK(dpemu_map(s, NULL, 2 * PS, RW, ANON_PRIVATE, -1, 0, &out) == 0, 42);
	p = out;
	CHK(p[0] == 0, 43);
	p[1] = 0x71;
	p[PS] = 0x72;
	CHK(dpemu_space_fork(s, &c) == 0, 44);
	q = (unsigned char *)dpemu_space_base(c) +
	    ((unsigned char *)out - (unsigned char *)dpemu_space_base(s));
	CHK(q[1] == 0x71 && q[PS] == 0x72, 45);
	q[1] = 0x73;
	CHK(p[1] == 0x71 && q[1] == 0x73, 46);
	CHK(dpemu_space_stats(c, &st) == 0 && st.cow_copies == 1, 47);
	CHK(dpemu_query(c, (const void *)q, &pi) == 0 && pi.present && !pi.cow, 48);
	CHK(dpemu_pool_stats(pool, &pst) == 0 && pst.frames_used == 3 &&
	    pst.frames_shared == 1 && pst.spaces == 2, 49);
	/* The inherited ones are still off limits. */
	CHK(dpemu_query(h->s, h->p, &pi) == -EPERM, 50);
	CHK(dpemu_space_destroy(c) == 0, 51);
	CHK(dpemu_space_destroy(s) == 0, 52);
	CHK(dpemu_pool_stats(pool, &pst) == 0 && pst.frames_used == 0, 53);
	CHK(dpemu_pool_destroy(pool) == 0, 54);
	/* Leave the inherited copies behind on purpose: exit cleans up. */
}

/*
 * A child of fork(2) can create a pool and spaces of its own and use them
 * normally (map, fault, dpemu_space_fork, copy-on-write, stats); the parent
 * is not disturbed.
 */
static void test_hostfork_child_own_pool(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	assert_int_equal(tu_run_in_child(child_own_pool, &h, &ch), 0);
	assert_child_ok(&ch);
	host_env_check(&h);
	host_env_close(&h);
}

/* ------------------------------------------------------------------------ */
/* Threads racing on one copy-on-write page                                  */
/* ------------------------------------------------------------------------ */

#define RACE_ROUNDS 200
#define RACE_FILL 0x5c

struct racer {
	pthread_barrier_t *barrier;
	volatile unsigned char *addr;
	unsigned char val;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->barrier);
	*r->addr = r->val;
	return NULL;
}

/* Bytes of the page at p equal RACE_FILL except off0 (v0) and off1 (v1);
 * v < 0 means RACE_FILL there too.  Returns the first bad offset or -1. */
static long race_bad_byte(const volatile unsigned char *p, size_t off0, int v0,
                          size_t off1, int v1)
{
	for (size_t i = 0; i < PS; i++) {
		int want = RACE_FILL;

		if (i == off0 && v0 >= 0)
			want = v0;
		if (i == off1 && v1 >= 0)
			want = v1;
		if (p[i] != want)
			return (long)i;
	}
	return -1;
}

/*
 * Two threads write one copy-on-write page at the same moment, each its
 * own byte, 200 times with a fresh fork each round: (a) both in the child,
 * (b) both in the parent, (c) one in each.  Each space that wrote makes
 * exactly one copy-on-write break (one new frame for the page), neither
 * write is lost, the other space still sees the original bytes, and the
 * pool balances (one frame more than before, freed with the child).
 */
static void test_race_cow_write(void **state)
{
	const size_t off0 = 8, off1 = PS - 8;
	dpemu_pool *pool = pool_open(8);
	dpemu_space *s = space_open(pool, 4);
	unsigned char *p = (unsigned char *)map_at(s, 1, 1, RW, ANON_PRIVATE);
	pthread_barrier_t barrier;

	(void)state;
	memset(p, RACE_FILL, PS);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		int mode = round % 3;
		unsigned char v0 = (unsigned char)(0x80 | (round & 0x3f));
		unsigned char v1 = (unsigned char)(0xc0 | (round & 0x3f));
		dpemu_space *c = fork_of(s);
		unsigned char *q = (unsigned char *)twin(c, s, p);
		struct dpemu_stats s0 = sstats(s), c0 = sstats(c);
		struct dpemu_stats s1, c1;
		struct racer r0 = { &barrier, NULL, v0 }, r1 = { &barrier, NULL, v1 };
		pthread_t t0, t1;
		long bad;

		/* Show the shared frame in both (read-only) so the writes
		 * race on the copy-on-write break itself. */
		assert_int_equal(p[off0], RACE_FILL);
		assert_int_equal(q[off0], RACE_FILL);
		assert_int_equal(used(pool), 1);
		r0.addr = (mode == 1 ? p : q) + off0;
		r1.addr = (mode == 0 ? q : p) + off1;
		assert_int_equal(pthread_create(&t0, NULL, racer_main, &r0), 0);
		assert_int_equal(pthread_create(&t1, NULL, racer_main, &r1), 0);
		assert_int_equal(pthread_join(t0, NULL), 0);
		assert_int_equal(pthread_join(t1, NULL), 0);
		s1 = sstats(s);
		c1 = sstats(c);

		uint64_t sb = (s1.cow_copies + s1.cow_reuses) - (s0.cow_copies + s0.cow_reuses);
		uint64_t cb = (c1.cow_copies + c1.cow_reuses) - (c0.cow_copies + c0.cow_reuses);
		if (sb != (uint64_t)(mode != 0) || cb != (uint64_t)(mode != 1))
			fail_msg("round %d mode %d: %llu breaks in the parent, %llu in the "
			         "child", round, mode, (unsigned long long)sb,
			         (unsigned long long)cb);
		/* The page has one new frame: two in all, none shared. */
		assert_int_equal(used(pool), 2);
		assert_int_equal(shared(pool), 0);
		assert_int_not_equal(info(s, p).frame, info(c, q).frame);
		assert_int_equal(info(s, p).frame_refs, 1);
		assert_int_equal(info(c, q).frame_refs, 1);

		switch (mode) {
		case 0: /* both in the child; the parent keeps the original */
			assert_int_equal(c1.cow_copies - c0.cow_copies, 1);
			bad = race_bad_byte(q, off0, v0, off1, v1);
			if (bad >= 0)
				fail_msg("round %d: child byte %ld is %#x", round, bad, q[bad]);
			bad = race_bad_byte(p, off0, -1, off1, -1);
			if (bad >= 0)
				fail_msg("round %d: parent byte %ld is %#x", round, bad, p[bad]);
			break;
		case 1: /* both in the parent; the child keeps the original */
			assert_int_equal(s1.cow_copies - s0.cow_copies, 1);
			bad = race_bad_byte(p, off0, v0, off1, v1);
			if (bad >= 0)
				fail_msg("round %d: parent byte %ld is %#x", round, bad, p[bad]);
			bad = race_bad_byte(q, off0, -1, off1, -1);
			if (bad >= 0)
				fail_msg("round %d: child byte %ld is %#x", round, bad, q[bad]);
			break;
		default: /* one in each: each sees only its own write */
			bad = race_bad_byte(q, off0, v0, off1, -1);
			if (bad >= 0)
				fail_msg("round %d: child byte %ld is %#x", round, bad, q[bad]);
			bad = race_bad_byte(p, off0, -1, off1, v1);
			if (bad >= 0)
				fail_msg("round %d: parent byte %ld is %#x", round, bad, p[bad]);
			break;
		}
		assert_int_equal(dpemu_space_destroy(c), 0);
		assert_int_equal(used(pool), 1);
		/* Put the parent's page back to the fill for the next round. */
		p[off0] = RACE_FILL;
		p[off1] = RACE_FILL;
	}
	assert_int_equal(pthread_barrier_destroy(&barrier), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

/*
 * A copy-on-write break is over when the write that caused it returns:
 * what the pool says right after it (no space lock orders the two) already
 * counts the new frame and the reference the page dropped - for a copy of
 * a forked page, and for the first write to a page that shared the zero
 * frame.  Under userfaultfd's thread mode another thread resolves the
 * fault, and must not let the writer go on before it is done; so many
 * rounds, each on a fresh fork.
 */
#define DONE_ROUNDS 200

static void test_cow_break_done_when_write_returns(void **state)
{
	dpemu_pool *pool = pool_open(8);
	dpemu_space *s = space_open(pool, 4);
	unsigned char *p = (unsigned char *)map_at(s, 0, 4, RW, ANON_PRIVATE);

	(void)state;
	p[0] = 0x11; /* page 0: a frame, shared by each fork */
	for (int round = 0; round < DONE_ROUNDS; round++) {
		dpemu_space *c = fork_of(s);
		unsigned char *q = (unsigned char *)twin(c, s, p);
		struct dpemu_pool_stats st;

		q[1] = (unsigned char)round; /* a copy; the parent's frame is its own again */
		st = pstats(pool);
		if (st.frames_used != 2 || st.frames_shared != 0 || info(s, p).frame_refs != 1)
			fail_msg("round %d: after the child's copy: %llu frames used, %llu "
			         "shared, parent's page refs %u", round,
			         (unsigned long long)st.frames_used,
			         (unsigned long long)st.frames_shared, info(s, p).frame_refs);
		assert_int_equal(q[2 * PS], 0); /* page 2: the zero frame */
		assert_int_equal(pstats(pool).zero_maps, 1);
		q[2 * PS + 1] = 1; /* its own frame; the zero frame has no page */
		st = pstats(pool);
		if (st.zero_maps != 0 || st.frames_used != 3)
			fail_msg("round %d: after the first write to a zero page: zero_maps "
			         "%llu, %llu frames used", round,
			         (unsigned long long)st.zero_maps,
			         (unsigned long long)st.frames_used);
		assert_int_equal(q[0], 0x11);
		assert_int_equal(q[1], (unsigned char)round);
		assert_int_equal(dpemu_space_destroy(c), 0);
	}
	assert_int_equal(dpemu_space_destroy(s), 0);
	pool_close(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_bad_args),
		cmocka_unit_test(test_fork_shares_resident_pages),
		cmocka_unit_test(test_fork_write_copies_then_reuses),
		cmocka_unit_test(test_fork_untouched_pages_stay_lazy),
		cmocka_unit_test(test_fork_shared_mapping_stays_shared),
		cmocka_unit_test(test_fork_shared_mapping_lazy_pages),
		cmocka_unit_test(test_fork_file_private),
		cmocka_unit_test(test_fork_readonly_mapping),
		cmocka_unit_test(test_fork_prot_none_page),
		cmocka_unit_test(test_fork_protect_readonly_in_child),
		cmocka_unit_test(test_fork_preserves_offsets),
		cmocka_unit_test(test_frame_freed_with_last_reference),
		cmocka_unit_test(test_fork_chain),
		cmocka_unit_test(test_fork_dozens_of_spaces),
		cmocka_unit_test(test_fork_two_thirds_of_pool),
		cmocka_unit_test(test_fork_copies_until_pool_full),
		cmocka_unit_test(test_hostfork_touch_kills_child),
		cmocka_unit_test(test_hostfork_inherited_calls),
		cmocka_unit_test(test_hostfork_child_own_pool),
		cmocka_unit_test(test_race_cow_write),
		cmocka_unit_test(test_cow_break_done_when_write_returns),
	};

	PS = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
