/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_map.c - mapping arguments and placement: anonymous mappings
 * (private, shared, zero-filled), length rounding, hints, DPEMU_MAP_FIXED,
 * bad arguments, a full arena or mapping table, dpemu_unmap of parts and
 * ranges, frames given back to the pool, emulated page sizes and
 * fault-around.  File mappings are in test_map_file.c, dpemu_protect in
 * test_map_protect.c, dpemu_query in test_map_query.c.
 */
#include "map_env.h"

/* ------------------------------------------------------------------------ */
/* Anonymous mappings                                                        */
/* ------------------------------------------------------------------------ */

static void check_anon_zero_fill_and_data(int flags)
{
	struct env e;
	struct dpemu_stats st;
	struct dpemu_pool_stats pst;
	char *p;

	env_open(&e, 64, 64);
	p = map_anon(&e, 16 * e.ps, RW, flags);
	assert_int_equal((uintptr_t)p % e.ps, 0);
	assert_true(p >= e.base && p + 16 * e.ps <= e.base + 64 * e.ps);

	/* dpemu_map allocates no frame. */
	st = stats(&e);
	assert_int_equal(st.faults, 0);
	assert_int_equal(st.pages_resident, 0);
	assert_int_equal(st.mappings, 1);
	assert_int_equal(pstats(&e).frames_used, 0);

	/* First touch of each page, a read: zero-filled.  A private page that
	 * is only read maps the shared zero frame and takes no frame of its own
	 * (where the trap says it was a read); a shared page takes a frame. */
	assert_true(all_zero(p, 16 * e.ps));
	st = stats(&e);
	assert_int_equal(st.zero_fills, 16);
	assert_int_equal(st.pages_resident, 16);
	assert_true(st.faults >= 16);
	assert_int_equal(st.file_reads, 0);
	assert_int_equal(st.protection_faults, 0);
	pst = pstats(&e);
	assert_int_equal(pst.frames_used + pst.zero_maps, 16);
	assert_int_equal(pst.frames_free, 64 - pst.frames_used);
	if (flags & DPEMU_MAP_SHARED)
		assert_int_equal(pst.frames_used, 16);

	/* Data written stays; every page now has a frame of its own. */
	fill(p, 16 * e.ps, 1);
	assert_true(holds(p, 16 * e.ps, 1));
	st = stats(&e);
	assert_int_equal(st.zero_fills, 16);
	assert_int_equal(st.pages_resident, 16);
	assert_int_equal(pstats(&e).frames_used, 16);
	assert_int_equal(pstats(&e).zero_maps, 0);

	env_close(&e);
}

/* Anonymous private mapping: zero-filled on first touch, keeps data. */
static void test_anon_private(void **state)
{
	(void)state;
	check_anon_zero_fill_and_data(ANON_PRIVATE);
}

/* Anonymous shared mapping: zero-filled on first touch, keeps data. */
static void test_anon_shared(void **state)
{
	(void)state;
	check_anon_zero_fill_and_data(ANON_SHARED);
}

/* Writing first (not reading) also zero-fills: the rest of the page is 0. */
static void test_anon_write_first(void **state)
{
	struct env e;
	volatile char *p;

	(void)state;
	env_open(&e, 8, 8);
	p = map_anon(&e, 4 * e.ps, RW, ANON_PRIVATE);
	p[e.ps + 10] = 7;
	assert_int_equal(p[e.ps + 10], 7);
	assert_true(all_zero((char *)p + e.ps, 10));
	assert_true(all_zero((char *)p + e.ps + 11, e.ps - 11));
	assert_int_equal(stats(&e).zero_fills, 1);
	assert_int_equal(stats(&e).pages_resident, 1);
	assert_int_equal(pstats(&e).frames_used, 1);
	env_close(&e);
}

/* len is rounded up to the page size. */
static void test_map_len_rounding(void **state)
{
	struct env e;
	struct dpemu_page_info info;
	void *out = NULL;

	(void)state;
	env_open(&e, 8, 16);
	out = map_fixed(&e, e.base, e.ps + 1, RW, ANON_PRIVATE);
	assert_ptr_equal(out, e.base);
	info = query(&e, e.base + e.ps);
	assert_true(info.mapped);
	info = query(&e, e.base + 2 * e.ps - 1);
	assert_true(info.mapped);
	info = query(&e, e.base + 2 * e.ps);
	assert_false(info.mapped);

	/* A one-byte mapping covers exactly one page. */
	out = map_fixed(&e, e.base + 4 * e.ps, 1, RW, ANON_PRIVATE);
	assert_true(query(&e, e.base + 4 * e.ps).mapped);
	assert_false(query(&e, e.base + 5 * e.ps).mapped);
	assert_false(query(&e, e.base + 3 * e.ps).mapped);
	((volatile char *)out)[e.ps - 1] = 1;
	assert_int_equal(stats(&e).mappings, 2);
	env_close(&e);
}

/* A free, aligned hint inside the arena is used as is. */
static void test_map_hint(void **state)
{
	struct env e;
	char *hint, *q;
	void *out = NULL;

	(void)state;
	env_open(&e, 16, 64);
	hint = e.base + 10 * e.ps;
	assert_int_equal(dpemu_map(e.space, hint, 4 * e.ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), 0);
	assert_ptr_equal(out, hint);
	fill(hint, 4 * e.ps, 3);

	/* An occupied hint: the mapping goes elsewhere, without overlap. */
	assert_int_equal(dpemu_map(e.space, hint + e.ps, 4 * e.ps, RW,
	                           ANON_PRIVATE, -1, 0, &out), 0);
	q = out;
	assert_int_equal((uintptr_t)q % e.ps, 0);
	assert_true(q + 4 * e.ps <= hint || q >= hint + 4 * e.ps);
	assert_true(q >= e.base && q + 4 * e.ps <= e.base + 64 * e.ps);
	assert_true(all_zero(q, 4 * e.ps));
	assert_true(holds(hint, 4 * e.ps, 3));

	/* A hint outside the arena is only a hint: placed inside. */
	assert_int_equal(dpemu_map(e.space, (void *)(uintptr_t)e.ps,
	                           e.ps, RW, ANON_PRIVATE, -1, 0, &out), 0);
	q = out;
	assert_true(q >= e.base && q + e.ps <= e.base + 64 * e.ps);
	assert_int_equal((uintptr_t)q % e.ps, 0);

	/* An unaligned hint is fine too; the result is aligned. */
	assert_int_equal(dpemu_map(e.space, e.base + 30 * e.ps + 5, e.ps, RW,
	                           ANON_PRIVATE, -1, 0, &out), 0);
	assert_int_equal((uintptr_t)out % e.ps, 0);
	assert_true((char *)out >= e.base &&
	            (char *)out + e.ps <= e.base + 64 * e.ps);

	assert_int_equal(stats(&e).mappings, 4);
	assert_true(holds(hint, 4 * e.ps, 3));
	env_close(&e);
}

/* FIXED placement: exact address; overlap -EEXIST; bad address -EINVAL. */
static void test_map_fixed(void **state)
{
	struct env e;
	void *out = NULL;
	char *a;
	int flags = ANON_PRIVATE | DPEMU_MAP_FIXED;

	(void)state;
	env_open(&e, 16, 32);
	env_add_ref(&e); /* pages 30, 31 */
	a = e.base + 4 * e.ps;
	assert_int_equal(dpemu_map(e.space, a, 4 * e.ps, RW, flags, -1, 0,
	                           &out), 0);
	assert_ptr_equal(out, a);
	fill(a, 4 * e.ps, 4);

	/* Overlapping an existing mapping, fully or partly: -EEXIST. */
	out = NULL;
	assert_int_equal(dpemu_map(e.space, a, 4 * e.ps, RW, flags, -1, 0,
	                           &out), -EEXIST);
	assert_null(out);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, a - e.ps, 2 * e.ps, RW, flags, -1,
	                           0, &out), -EEXIST);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, a + 3 * e.ps, 2 * e.ps, RW, flags,
	                           -1, 0, &out), -EEXIST);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, a - e.ps, 6 * e.ps, RW, flags, -1,
	                           0, &out), -EEXIST);
	assert_failed_cleanly(&e);
	/* The failed calls mapped nothing, not even the free parts. */
	assert_false(query(&e, a - e.ps).mapped);
	assert_false(query(&e, a + 4 * e.ps).mapped);
	assert_true(holds(a, 4 * e.ps, 4));

	/* Unaligned FIXED address: -EINVAL. */
	assert_int_equal(dpemu_map(e.space, a + 4 * e.ps + 1, e.ps, RW, flags,
	                           -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);

	/* FIXED outside the arena, or running past its end: -EINVAL. */
	assert_int_equal(dpemu_map(e.space, e.base - 4 * e.ps, e.ps, RW, flags,
	                           -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, e.base + 32 * e.ps, e.ps, RW, flags,
	                           -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, e.base + 28 * e.ps, 8 * e.ps, RW,
	                           flags, -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, e.base - e.ps, 2 * e.ps, RW, flags,
	                           -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, flags, -1, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);

	/* Right next to existing mappings is fine. */
	assert_int_equal(dpemu_map(e.space, a + 4 * e.ps, e.ps, RW, flags, -1,
	                           0, &out), 0);
	assert_ptr_equal(out, a + 4 * e.ps);
	assert_int_equal(dpemu_map(e.space, a - e.ps, e.ps, RW, flags, -1, 0,
	                           &out), 0);
	assert_ptr_equal(out, a - e.ps);
	assert_true(all_zero(a - e.ps, e.ps));
	assert_true(all_zero(a + 4 * e.ps, e.ps));
	assert_true(holds(a, 4 * e.ps, 4));
	assert_true(holds(e.ref, 2 * e.ps, 99));
	env_close(&e);
}

/* Bad flags, prot, len, fd and NULL arguments: -EINVAL; nothing changes. */
static void test_map_bad_args(void **state)
{
	struct env e;
	void *out = NULL;
	uint64_t mappings;
	int fd;
	char path[64];

	(void)state;
	env_open(&e, 16, 32);
	env_add_ref(&e);
	mappings = stats(&e).mappings;
	fd = make_file(4 * e.ps, 1, path);

	/* Zero length. */
	assert_int_equal(dpemu_map(e.space, NULL, 0, RW, ANON_PRIVATE, -1, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);
	/* Both PRIVATE and SHARED, or neither. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW,
	                           ANON_PRIVATE | DPEMU_MAP_SHARED, -1, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW,
	                           DPEMU_MAP_ANONYMOUS, -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, DPEMU_MAP_SHARED |
	                           DPEMU_MAP_PRIVATE, fd, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, 0, fd, 0, &out),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	/* Unknown flag bits. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, ANON_PRIVATE | 0x10,
	                           -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW,
	                           ANON_PRIVATE | (int)0x40000000, -1, 0, &out),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, -1, -1, 0, &out),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	/* Unknown prot bits. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW | 0x100,
	                           ANON_PRIVATE, -1, 0, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, -1, ANON_PRIVATE, -1, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);
	/* Anonymous with an fd. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, ANON_PRIVATE, fd, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, ANON_PRIVATE, 0, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);
	/* NULL space or out. */
	assert_int_equal(dpemu_map(NULL, NULL, e.ps, RW, ANON_PRIVATE, -1, 0,
	                           &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, ANON_PRIVATE, -1, 0,
	                           NULL), -EINVAL);
	assert_failed_cleanly(&e);

	assert_int_equal(stats(&e).mappings, mappings);
	assert_int_equal(stats(&e).zero_fills, 2); /* the reference's pages */
	assert_int_equal(stats(&e).pages_resident, 2);
	assert_int_equal(pstats(&e).frames_used, 2);

	close(fd);
	unlink(path);
	env_close(&e);
}

/* No free range of len bytes: -ENOMEM; a mapping of the whole arena fits. */
static void test_map_no_free_range(void **state)
{
	struct env e;
	void *out = NULL;
	void *whole = NULL;
	int ret;

	(void)state;
	env_open(&e, 16, 16);
	assert_int_equal(dpemu_map(e.space, NULL, 17 * e.ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), -ENOMEM);
	assert_true(strlen(dpemu_last_error()) > 0);
	ret = dpemu_map(e.space, NULL, SIZE_MAX, RW, ANON_PRIVATE, -1, 0, &out);
	assert_true(ret == -ENOMEM || ret == -EINVAL);
	ret = dpemu_map(e.space, NULL, SIZE_MAX - e.ps + 2, RW, ANON_PRIVATE,
	                -1, 0, &out);
	assert_true(ret == -ENOMEM || ret == -EINVAL);
	assert_int_equal(stats(&e).mappings, 0);

	assert_int_equal(dpemu_map(e.space, NULL, 16 * e.ps, RW, ANON_PRIVATE,
	                           -1, 0, &whole), 0);
	assert_ptr_equal(whole, e.base);
	fill(whole, 16 * e.ps, 5);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, ANON_PRIVATE, -1, 0,
	                           &out), -ENOMEM);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_true(holds(whole, 16 * e.ps, 5));

	/* Free a hole of 2 pages: a 3-page mapping still does not fit. */
	assert_int_equal(dpemu_unmap(e.space, e.base + 5 * e.ps, 2 * e.ps), 0);
	assert_int_equal(dpemu_map(e.space, NULL, 3 * e.ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), -ENOMEM);
	assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), 0);
	assert_ptr_equal(out, e.base + 5 * e.ps);
	assert_true(all_zero(out, 2 * e.ps));
	assert_true(holds(e.base, 5 * e.ps, 5));
	env_close(&e);
}

/* At most 65535 mappings per space; the next is -ENOMEM. */
static void test_map_too_many_mappings(void **state)
{
	const size_t limit = 65535;
	struct env e;
	void *out = NULL;
	size_t i;
	int ret = 0;

	(void)state;
	/* Every other page, so no two mappings touch. */
	env_open(&e, 16, 2 * (limit + 2));
	for (i = 0; i < limit; i++) {
		ret = dpemu_map(e.space, e.base + 2 * i * e.ps, e.ps, RW,
		                ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out);
		if (ret != 0)
			break;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(i, limit);
	assert_int_equal(stats(&e).mappings, limit);
	assert_int_equal(dpemu_map(e.space, e.base + 2 * limit * e.ps, e.ps, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out),
	                 -ENOMEM);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_int_equal(stats(&e).mappings, limit);

	/* The existing mappings still work. */
	((volatile char *)e.base)[0] = 1;
	((volatile char *)e.base)[2 * (limit - 1) * e.ps] = 2;
	assert_int_equal(((volatile char *)e.base)[0], 1);
	assert_int_equal(((volatile char *)e.base)[2 * (limit - 1) * e.ps], 2);

	/* Unmapping one makes room for one. */
	assert_int_equal(dpemu_unmap(e.space, e.base + 2 * e.ps, e.ps), 0);
	out = map_fixed(&e, e.base + 2 * limit * e.ps, e.ps, RW, ANON_PRIVATE);
	env_close(&e);
}

/* ------------------------------------------------------------------------ */
/* Unmap                                                                     */
/* ------------------------------------------------------------------------ */

/* Unmapping the middle of a mapping: the rest keeps working. */
static void test_unmap_partial(void **state)
{
	struct env e;
	char *p;
	void *out = NULL;

	(void)state;
	env_open(&e, 32, 32);
	p = map_fixed(&e, e.base + 4 * e.ps, 8 * e.ps, RW, ANON_PRIVATE);
	fill(p, 8 * e.ps, 51);
	assert_int_equal(pstats(&e).frames_used, 8);

	assert_int_equal(dpemu_unmap(e.space, p + 3 * e.ps, 2 * e.ps), 0);
	assert_int_equal(pstats(&e).frames_used, 6);
	assert_int_equal(stats(&e).pages_resident, 6);
	/* Still one mapping (in two runs) or two: either way, alive. */
	assert_in_range(stats(&e).mappings, 1, 2);
	assert_true(holds(p, 3 * e.ps, 51));
	assert_true(holds_at(p + 5 * e.ps, 3 * e.ps, 51, 5 * e.ps));
	assert_false(query(&e, p + 3 * e.ps).mapped);
	assert_false(query(&e, p + 4 * e.ps).mapped);
	assert_true(query(&e, p + 2 * e.ps).mapped);
	assert_true(query(&e, p + 5 * e.ps).mapped);

	/* The hole gives an unmapped fault, for reads and writes. */
	tu_assert_caught(e.space, p + 3 * e.ps + 17, 0, DPEMU_FAULT_UNMAPPED);
	tu_assert_caught(e.space, p + 4 * e.ps, 1, DPEMU_FAULT_UNMAPPED);

	/* Unmapping the first and last pages too. */
	assert_int_equal(dpemu_unmap(e.space, p, e.ps), 0);
	assert_int_equal(dpemu_unmap(e.space, p + 7 * e.ps, e.ps), 0);
	{
		size_t i;

		for (i = e.ps; i < 3 * e.ps; i++)
			assert_int_equal((unsigned char)p[i], pattern(i, 51));
		for (i = 5 * e.ps; i < 7 * e.ps; i++)
			assert_int_equal((unsigned char)p[i], pattern(i, 51));
	}
	tu_assert_caught(e.space, p, 0, DPEMU_FAULT_UNMAPPED);
	tu_assert_caught(e.space, p + 7 * e.ps, 1, DPEMU_FAULT_UNMAPPED);
	assert_int_equal(pstats(&e).frames_used, 4);

	/* Unmapping what is left of it, page by page, ends the mapping. */
	assert_int_equal(dpemu_unmap(e.space, p + e.ps, 2 * e.ps), 0);
	assert_int_equal(dpemu_unmap(e.space, p + 6 * e.ps, e.ps), 0);
	assert_int_equal(dpemu_unmap(e.space, p + 5 * e.ps, e.ps), 0);
	assert_int_equal(stats(&e).mappings, 0);
	assert_int_equal(pstats(&e).frames_used, 0);

	/* The hole can be mapped again: fresh zeros. */
	out = map_fixed(&e, p + 3 * e.ps, 2 * e.ps, RW, ANON_PRIVATE);
	assert_true(all_zero(out, 2 * e.ps));
	env_close(&e);
}

/* Unmap across several mappings and holes, and of nothing at all. */
static void test_unmap_ranges(void **state)
{
	struct env e;
	void *out = NULL;

	(void)state;
	env_open(&e, 32, 32);
	env_add_ref(&e); /* pages 30, 31 */
	out = map_fixed(&e, e.base + 2 * e.ps, 2 * e.ps, RW, ANON_PRIVATE);
	fill(out, 2 * e.ps, 1);
	out = map_fixed(&e, e.base + 6 * e.ps, 2 * e.ps, RW, ANON_SHARED);
	fill(out, 2 * e.ps, 2);
	assert_int_equal(stats(&e).mappings, 3);

	/* An unmapped range: 0, nothing changes. */
	assert_int_equal(dpemu_unmap(e.space, e.base + 10 * e.ps, 4 * e.ps), 0);
	assert_int_equal(stats(&e).mappings, 3);

	/* One call covering both mappings and the holes around them. */
	assert_int_equal(dpemu_unmap(e.space, e.base, 10 * e.ps), 0);
	assert_int_equal(stats(&e).mappings, 1);
	assert_int_equal(pstats(&e).frames_used, 2);
	tu_assert_caught(e.space, e.base + 2 * e.ps, 0, DPEMU_FAULT_UNMAPPED);
	tu_assert_caught(e.space, e.base + 7 * e.ps, 1, DPEMU_FAULT_UNMAPPED);
	assert_true(holds(e.ref, 2 * e.ps, 99));

	/* Unmapping twice is fine. */
	assert_int_equal(dpemu_unmap(e.space, e.base, 10 * e.ps), 0);

	/* The whole arena. */
	assert_int_equal(dpemu_unmap(e.space, e.base, 32 * e.ps), 0);
	assert_int_equal(stats(&e).mappings, 0);
	assert_int_equal(stats(&e).pages_resident, 0);
	assert_int_equal(pstats(&e).frames_used, 0);
	e.ref = NULL;
	env_close(&e);
}

/* Bad unmap and sync arguments: -EINVAL; nothing changes. */
static void test_unmap_sync_bad_args(void **state)
{
	struct env e;
	int (*fn[2])(dpemu_space *, void *, size_t) = { dpemu_unmap,
		                                           dpemu_sync };
	int i;

	(void)state;
	env_open(&e, 16, 32);
	env_add_ref(&e);
	for (i = 0; i < 2; i++) {
		/* Unaligned address. */
		assert_int_equal(fn[i](e.space, e.ref + 1, e.ps), -EINVAL);
		assert_failed_cleanly(&e);
		/* Zero length. */
		assert_int_equal(fn[i](e.space, e.ref, 0), -EINVAL);
		assert_failed_cleanly(&e);
		/* NULL space. */
		assert_int_equal(fn[i](NULL, e.ref, e.ps), -EINVAL);
		assert_failed_cleanly(&e);
		/* Outside the arena, or running past its end. */
		assert_int_equal(fn[i](e.space, e.base - 4 * e.ps, e.ps),
		                 -EINVAL);
		assert_failed_cleanly(&e);
		assert_int_equal(fn[i](e.space, e.base + 32 * e.ps, e.ps),
		                 -EINVAL);
		assert_failed_cleanly(&e);
		assert_int_equal(fn[i](e.space, e.ref, 4 * e.ps), -EINVAL);
		assert_failed_cleanly(&e);
		assert_int_equal(fn[i](e.space, e.base - e.ps, 2 * e.ps),
		                 -EINVAL);
		assert_failed_cleanly(&e);
		assert_int_equal(fn[i](e.space, e.base, SIZE_MAX - e.ps),
		                 -EINVAL);
		assert_failed_cleanly(&e);
	}
	assert_int_equal(stats(&e).mappings, 1);
	assert_true(query(&e, e.ref).present);
	/* A len that is not a page multiple is rounded up (like munmap). */
	assert_int_equal(dpemu_sync(e.space, e.ref, 1), 0);
	assert_int_equal(dpemu_unmap(e.space, e.ref + e.ps, 1), 0);
	assert_false(query(&e, e.ref + e.ps).mapped);
	assert_true(query(&e, e.ref).mapped);
	/* Sync of anonymous memory: nothing to write. */
	assert_int_equal(dpemu_sync(e.space, e.base, 32 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 0);
	env_close(&e);
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */
/* ------------------------------------------------------------------------ */

/* frames_used grows by one per touched page and returns to zero. */
static void test_frames_return_to_pool(void **state)
{
	struct env e;
	char *p;
	size_t i;

	(void)state;
	env_open(&e, 20, 64);
	p = map_anon(&e, 20 * e.ps, RW, ANON_PRIVATE);
	for (i = 0; i < 20; i++) {
		p[i * e.ps + i] = (char)i;
		assert_int_equal(pstats(&e).frames_used, i + 1);
		assert_int_equal(pstats(&e).frames_free, 20 - (i + 1));
		assert_int_equal(stats(&e).pages_resident, i + 1);
	}
	/* Touching again takes nothing more. */
	for (i = 0; i < 20; i++)
		assert_int_equal(p[i * e.ps + i], (char)i);
	assert_int_equal(pstats(&e).frames_used, 20);
	assert_int_equal(pstats(&e).frames_shared, 0);

	assert_int_equal(dpemu_unmap(e.space, p, 20 * e.ps), 0);
	assert_int_equal(pstats(&e).frames_used, 0);
	assert_int_equal(pstats(&e).frames_free, 20);
	assert_int_equal(stats(&e).pages_resident, 0);

	/* The whole pool is usable again. */
	p = map_anon(&e, 20 * e.ps, RW, ANON_SHARED);
	for (i = 0; i < 20; i++)
		p[i * e.ps] = 1;
	assert_int_equal(pstats(&e).frames_used, 20);
	env_close(&e); /* checks frames_used == 0 after destroy */
}

/* Frames are fully written before use: no data leaks through reuse. */
static void test_no_data_leak(void **state)
{
	struct env e;
	char *p;
	void *out = NULL;
	char path[64];
	int fd;

	(void)state;
	env_open(&e, 8, 32);
	p = map_anon(&e, 8 * e.ps, RW, ANON_PRIVATE);
	memset(p, 0xab, 8 * e.ps);
	assert_int_equal(dpemu_unmap(e.space, p, 8 * e.ps), 0);

	/* Anonymous again (private, then shared): all zeros. */
	p = map_anon(&e, 8 * e.ps, RW, ANON_PRIVATE);
	assert_true(all_zero(p, 8 * e.ps));
	memset(p, 0xcd, 8 * e.ps);
	assert_int_equal(dpemu_unmap(e.space, p, 8 * e.ps), 0);
	p = map_anon(&e, 8 * e.ps, RW, ANON_SHARED);
	/* Write one byte first in each page: the rest must still be zero. */
	{
		size_t i;

		for (i = 0; i < 8; i++)
			p[i * e.ps + 1] = 1;
		for (i = 0; i < 8; i++) {
			assert_int_equal(p[i * e.ps], 0);
			assert_true(all_zero(p + i * e.ps + 2, e.ps - 2));
		}
	}
	memset(p, 0xef, 8 * e.ps);
	assert_int_equal(dpemu_unmap(e.space, p, 8 * e.ps), 0);

	/* A short file: past EOF reads zero, not old frame contents. */
	fd = make_file(e.ps / 4, 81, path);
	assert_int_equal(dpemu_map(e.space, NULL, 8 * e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, fd, 0, &out), 0);
	assert_true(holds(out, e.ps / 4, 81));
	assert_true(all_zero((char *)out + e.ps / 4, 8 * e.ps - e.ps / 4));
	close(fd);
	unlink(path);
	assert_int_equal(dpemu_unmap(e.space, out, 8 * e.ps), 0);

	/* Frames used by a destroyed space, in a new space: zeros. */
	p = map_anon(&e, 8 * e.ps, RW, ANON_PRIVATE);
	memset(p, 0x77, 8 * e.ps);
	assert_int_equal(dpemu_space_destroy(e.space), 0);
	{
		struct dpemu_space_config scfg = tu_space_config(32 * e.ps);

		assert_int_equal(dpemu_space_create(e.pool, &scfg, &e.space),
		                 0);
		e.base = dpemu_space_base(e.space);
	}
	p = map_anon(&e, 8 * e.ps, RW, ANON_PRIVATE);
	assert_true(all_zero(p, 8 * e.ps));
	env_close(&e);
}

/* ------------------------------------------------------------------------ */
/* Emulated page size                                                        */
/* ------------------------------------------------------------------------ */

/* page_size = 4 host pages: one touch makes the whole page present. */
static void test_page_size_multiple(void **state)
{
	struct env e;
	struct dpemu_page_info a, b;
	struct dpemu_stats before;
	size_t h = tu_host_page();
	char *p;
	void *out = NULL;
	size_t i;

	(void)state;
	env_open_full(&e, 8, 16, 4 * h, 0);
	assert_int_equal(e.ps, 4 * h);
	p = map_anon(&e, 3 * e.ps, RW, ANON_PRIVATE);
	assert_int_equal((uintptr_t)(p - e.base) % e.ps, 0);

	assert_int_equal(*(volatile char *)(p + e.ps + 3 * h + 5), 0);
	assert_int_equal(stats(&e).faults, 1);
	assert_int_equal(stats(&e).zero_fills, 1);
	assert_int_equal(stats(&e).pages_resident, 1);
	/* read first: the zero frame (or a frame, where reads are not told) */
	assert_int_equal(pstats(&e).frames_used + pstats(&e).zero_maps, 1);
	/* All four host pages of that emulated page are there: no new fault. */
	for (i = 0; i < 4; i++)
		assert_true(all_zero(p + e.ps + i * h, h));
	assert_int_equal(stats(&e).faults, 1);
	p[e.ps + 3 * h + 5] = 'q';
	memset(p + e.ps, 'r', 3 * h);
	assert_int_equal(stats(&e).pages_resident, 1);
	assert_int_equal(pstats(&e).frames_used, 1);
	assert_int_equal(p[e.ps + 3 * h + 5], 'q');
	a = query(&e, p + e.ps);
	b = query(&e, p + e.ps + 3 * h);
	assert_true(a.present && b.present);
	assert_int_equal(a.frame, b.frame);
	assert_false(query(&e, p).present);

	/* Host-aligned but not page-aligned addresses and offsets: -EINVAL. */
	assert_int_equal(dpemu_map(e.space, e.base + 12 * e.ps + h, e.ps, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out),
	                 -EINVAL);
	assert_int_equal(dpemu_unmap(e.space, p + h, e.ps), -EINVAL);
	assert_int_equal(dpemu_protect(e.space, p + h, e.ps, PROT_READ),
	                 -EINVAL);
	{
		char path[64];
		int fd = make_file(2 * e.ps, 91, path);

		assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
		                           DPEMU_MAP_PRIVATE, fd, (off_t)h,
		                           &out), -EINVAL);
		/* A file page of 4 host pages: one read, one fault. */
		assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, PROT_READ,
		                           DPEMU_MAP_PRIVATE, fd, (off_t)e.ps,
		                           &out), 0);
		before = stats(&e);
		assert_int_equal(((unsigned char *)out)[h + 1],
		                 pattern(e.ps + h + 1, 91));
		assert_true(holds_at(out, e.ps, 91, e.ps));
		assert_int_equal(stats(&e).file_reads, before.file_reads + 1);
		assert_int_equal(stats(&e).faults, before.faults + 1);
		/* The second page lies wholly past the end of the file. */
		assert_true(all_zero((char *)out + e.ps, e.ps));
		close(fd);
		unlink(path);
	}

	/* A length of one host page maps a whole emulated page. */
	out = map_fixed(&e, e.base + 12 * e.ps, h, RW, ANON_PRIVATE);
	memset(out, 1, e.ps);
	assert_false(query(&e, e.base + 13 * e.ps).mapped);
	env_close(&e);
}

/* ------------------------------------------------------------------------ */
/* Fault-around                                                              */
/* ------------------------------------------------------------------------ */

static size_t count_present(struct env *e, const char *p, size_t pages,
                            size_t *first, size_t *last)
{
	size_t i, n = 0;

	*first = SIZE_MAX;
	*last = 0;
	for (i = 0; i < pages; i++) {
		if (query(e, p + i * e->ps).present) {
			if (*first == SIZE_MAX)
				*first = i;
			*last = i;
			n++;
		}
	}
	return n;
}

/* fault_around 0 and 1: exactly one page per fault. */
static void test_fault_around_off(void **state)
{
	size_t fa;

	(void)state;
	for (fa = 0; fa <= 1; fa++) {
		struct env e;
		size_t first, last;
		char *p;

		env_open_full(&e, 64, 64, 0, fa);
		p = map_anon(&e, 32 * e.ps, RW, ANON_PRIVATE);
		(void)*(volatile char *)(p + 13 * e.ps);
		assert_int_equal(count_present(&e, p, 32, &first, &last), 1);
		assert_int_equal(first, 13);
		assert_int_equal(stats(&e).faults, 1);
		assert_int_equal(pstats(&e).frames_used + pstats(&e).zero_maps, 1);
		env_close(&e);
	}
}

/* fault_around N: one touch makes the aligned N-page window present. */
static void test_fault_around_window(void **state)
{
	const size_t n = 8;
	struct env e;
	struct dpemu_stats st;
	size_t first, last, i, touch = n + n / 2;
	char *p;

	(void)state;
	env_open_full(&e, 256, 128, 0, n);
	p = map_anon(&e, 3 * n * e.ps, RW, ANON_PRIVATE);

	/* Page n + n/2 is at least n pages from both ends: its window is
	 * wholly inside the mapping, so exactly n pages become present. */
	(void)*(volatile char *)(p + touch * e.ps);
	st = stats(&e);
	assert_int_equal(st.faults, 1);
	assert_int_equal(count_present(&e, p, 3 * n, &first, &last), n);
	assert_int_equal(last - first + 1, n); /* contiguous */
	assert_true(first <= touch && touch <= last);
	/* The window is aligned (to the address, the arena or the mapping). */
	assert_true(((uintptr_t)(p + first * e.ps) / e.ps) % n == 0 ||
	            ((size_t)(p + first * e.ps - e.base) / e.ps) % n == 0 ||
	            first % n == 0);
	assert_int_equal(st.zero_fills, n);
	assert_int_equal(st.pages_resident, n);
	assert_int_equal(pstats(&e).frames_used, n);
	/* Every page of the window reads zero without another fault. */
	for (i = first; i <= last; i++)
		assert_true(all_zero(p + i * e.ps, e.ps));
	assert_int_equal(stats(&e).faults, 1);
	assert_int_equal(pstats(&e).frames_used, n);

	/* Reading the whole mapping: one fault per window, and a run of 3n
	 * pages meets at most 4 aligned windows of n pages. */
	for (i = 0; i < 3 * n; i++)
		assert_int_equal(*(volatile char *)(p + i * e.ps), 0);
	st = stats(&e);
	assert_int_equal(st.pages_resident, 3 * n);
	assert_int_equal(st.zero_fills, 3 * n);
	assert_true(st.faults >= 3);
	assert_true(st.faults <= 4);
	assert_int_equal(pstats(&e).frames_used, 3 * n);
	env_close(&e);
}

/* fault_around stays within the mapping: neighbours are not faulted in. */
static void test_fault_around_mapping_bounds(void **state)
{
	struct env e;
	void *a = NULL, *b = NULL, *c = NULL;
	size_t first, last;

	(void)state;
	env_open_full(&e, 64, 64, 0, 16);
	/* Three one-page mappings side by side, in the middle of a window. */
	assert_int_equal(dpemu_map(e.space, e.base + 17 * e.ps, e.ps, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &a), 0);
	assert_int_equal(dpemu_map(e.space, e.base + 18 * e.ps, e.ps, RW,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &b), 0);
	assert_int_equal(dpemu_map(e.space, e.base + 19 * e.ps, e.ps, RW,
	                           ANON_SHARED | DPEMU_MAP_FIXED, -1, 0, &c), 0);
	((volatile char *)b)[0] = 1;
	assert_int_equal(count_present(&e, e.base, 64, &first, &last), 1);
	assert_int_equal(first, 18);
	assert_int_equal(pstats(&e).frames_used, 1);

	/* A 16-page mapping: every page zero-filled exactly once, however
	 * the windows fall. */
	{
		char *p = NULL;
		void *out = NULL;

		assert_int_equal(dpemu_map(e.space, e.base + 32 * e.ps,
		                           16 * e.ps, RW,
		                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
		                           &out), 0);
		p = out;
		assert_int_equal(stats(&e).faults, 1);
		p[0] = 1; /* one fault brings in some pages */
		p[15 * e.ps] = 2;
		assert_int_equal(p[0], 1);
		assert_int_equal(p[15 * e.ps], 2);
		assert_true(all_zero(p + 1, 15 * e.ps - 1));
		assert_int_equal(stats(&e).zero_fills, 17);
		assert_int_equal(pstats(&e).frames_used, 17);
	}
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon_private),
		cmocka_unit_test(test_anon_shared),
		cmocka_unit_test(test_anon_write_first),
		cmocka_unit_test(test_map_len_rounding),
		cmocka_unit_test(test_map_hint),
		cmocka_unit_test(test_map_fixed),
		cmocka_unit_test(test_map_bad_args),
		cmocka_unit_test(test_map_no_free_range),
		cmocka_unit_test(test_map_too_many_mappings),
		cmocka_unit_test(test_unmap_partial),
		cmocka_unit_test(test_unmap_ranges),
		cmocka_unit_test(test_unmap_sync_bad_args),
		cmocka_unit_test(test_frames_return_to_pool),
		cmocka_unit_test(test_no_data_leak),
		cmocka_unit_test(test_page_size_multiple),
		cmocka_unit_test(test_fault_around_off),
		cmocka_unit_test(test_fault_around_window),
		cmocka_unit_test(test_fault_around_mapping_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
