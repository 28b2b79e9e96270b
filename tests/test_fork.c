/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fork.c - dpemu_space_fork and copy-on-write.  The host's own
 * fork(2) of a process using dpemu is in test_hostfork.c.
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
 *  - two threads racing to write one copy-on-write page make exactly one
 *    break and lose neither write;
 *  - a copy-on-write break is complete when the write returns.
 *
 * Every test creates its own pool and spaces (fork_env.h) and ends by
 * checking that the pool's statistics are back to zero.
 */
#include "fork_env.h"

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
		cmocka_unit_test(test_race_cow_write),
		cmocka_unit_test(test_cow_break_done_when_write_returns),
	};

	PS = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
