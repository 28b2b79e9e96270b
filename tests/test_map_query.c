/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_map_query.c - dpemu_query: the fields it reports, that it never
 * faults a page in, and mapping_start after parts of a mapping are
 * unmapped.
 */
#include "map_env.h"

/* ------------------------------------------------------------------------ */
/* Query                                                                     */
/* ------------------------------------------------------------------------ */

/* dpemu_query describes pages and never faults anything in. */
static void test_query_fields(void **state)
{
	struct env e;
	struct dpemu_page_info info, info2;
	struct dpemu_stats before;
	char *p;

	(void)state;
	env_open(&e, 16, 32);
	p = map_fixed(&e, e.base + 8 * e.ps, 4 * e.ps, RW, ANON_PRIVATE);

	/* Mapped but not present, and querying does not fault it in. */
	before = stats(&e);
	info = query(&e, p + 2 * e.ps + 7);
	assert_true(info.mapped);
	assert_false(info.present);
	assert_int_equal(info.prot, RW);
	assert_false(info.shared);
	assert_true(info.anonymous);
	assert_false(info.cow);
	assert_ptr_equal(info.mapping_start, p);
	assert_int_equal(stats(&e).faults, before.faults);
	assert_int_equal(stats(&e).pages_resident, 0);
	assert_int_equal(pstats(&e).frames_used, 0);

	/* Present after a touch, with a frame of its own. */
	p[2 * e.ps] = 1;
	p[3 * e.ps] = 1;
	info = query(&e, p + 2 * e.ps);
	assert_true(info.present);
	assert_true(info.frame < 16);
	assert_int_equal(info.frame_refs, 1);
	info2 = query(&e, p + 3 * e.ps);
	assert_true(info2.present);
	assert_true(info2.frame < 16);
	assert_true(info2.frame != info.frame);
	assert_int_equal(info2.frame_refs, 1);

	/* Shared anonymous mapping. */
	p = map_fixed(&e, e.base + 14 * e.ps, e.ps, PROT_READ, ANON_SHARED);
	info = query(&e, p);
	assert_true(info.mapped && info.shared && info.anonymous);
	assert_int_equal(info.prot, PROT_READ);

	/* Unmapped inside the arena: 0 with mapped false. */
	info = query(&e, e.base + 20 * e.ps);
	assert_false(info.mapped);
	assert_false(info.present);
	info = query(&e, e.base);
	assert_false(info.mapped);
	info = query(&e, e.base + 32 * e.ps - 1);
	assert_false(info.mapped);

	/* Outside the arena: -EINVAL.  NULL arguments: -EINVAL. */
	assert_int_equal(dpemu_query(e.space, e.base - 1, &info), -EINVAL);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_int_equal(dpemu_query(e.space, e.base + 32 * e.ps, &info),
	                 -EINVAL);
	assert_int_equal(dpemu_query(e.space, &info, &info), -EINVAL);
	assert_int_equal(dpemu_query(e.space, NULL, &info), -EINVAL);
	assert_int_equal(dpemu_query(NULL, p, &info), -EINVAL);
	assert_int_equal(dpemu_query(e.space, p, NULL), -EINVAL);
	env_close(&e);
}

/* mapping_start is where dpemu_map placed the mapping, even after parts of
 * it are unmapped (dpemu.h); file offsets keep counting from it. */
static void test_query_mapping_start_after_split(void **state)
{
	struct env e;
	char *p;

	(void)state;
	env_open(&e, 32, 32);
	p = map_fixed(&e, e.base + 4 * e.ps, 8 * e.ps, RW, ANON_PRIVATE);
	assert_ptr_equal(query(&e, p + 6 * e.ps).mapping_start, p);
	assert_int_equal(dpemu_unmap(e.space, p + 3 * e.ps, 2 * e.ps), 0);
	assert_ptr_equal(query(&e, p + 2 * e.ps).mapping_start, p);
	assert_ptr_equal(query(&e, p + 7 * e.ps).mapping_start, p);
	assert_int_equal(dpemu_unmap(e.space, p, e.ps), 0);
	assert_ptr_equal(query(&e, p + 2 * e.ps).mapping_start, p);
	assert_false(query(&e, p).mapped);
	assert_false(query(&e, p + 3 * e.ps).mapped);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_mapping_start_after_split),
		cmocka_unit_test(test_query_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
