/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_map_protect.c - dpemu_protect: read-only and PROT_NONE pages
 * (also pages not yet faulted in), and the calls it refuses.
 */
#include "map_env.h"

/* ------------------------------------------------------------------------ */
/* Protect                                                                   */
/* ------------------------------------------------------------------------ */

/* PROT_READ on a written page: reads work, data intact, writes fault. */
static void test_protect_read_only(void **state)
{
	struct env e;
	struct dpemu_stats st;
	char *p;

	(void)state;
	env_open(&e, 16, 32);
	p = map_anon(&e, 4 * e.ps, RW, ANON_PRIVATE);
	fill(p, 4 * e.ps, 61);

	assert_int_equal(dpemu_protect(e.space, p + e.ps, 2 * e.ps, PROT_READ),
	                 0);
	assert_int_equal(query(&e, p + e.ps).prot, PROT_READ);
	assert_int_equal(query(&e, p + 2 * e.ps).prot, PROT_READ);
	assert_int_equal(query(&e, p).prot, RW);
	assert_int_equal(query(&e, p + 3 * e.ps).prot, RW);
	assert_true(holds(p, 4 * e.ps, 61));

	st = stats(&e);
	tu_assert_caught(e.space, p + e.ps + 33, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(e.space, p + 2 * e.ps, 1, DPEMU_FAULT_PROTECTION);
	assert_int_equal(stats(&e).protection_faults,
	                 st.protection_faults + 2);
	/* The failed writes changed nothing. */
	assert_true(holds(p, 4 * e.ps, 61));
	/* Neighbours stay writable. */
	p[0] = 1;
	p[3 * e.ps] = 2;

	/* Back to read-write: writes work again. */
	assert_int_equal(dpemu_protect(e.space, p + e.ps, 2 * e.ps, RW), 0);
	p[e.ps + 33] = 3;
	assert_int_equal(p[e.ps + 33], 3);
	assert_int_equal(query(&e, p + e.ps).prot, RW);
	env_close(&e);
}

/* PROT_NONE: every access faults; protection of untouched pages applies. */
static void test_protect_none_and_lazy(void **state)
{
	struct env e;
	char *p;
	volatile char c;

	(void)state;
	env_open(&e, 16, 32);
	p = map_anon(&e, 4 * e.ps, RW, ANON_PRIVATE);
	p[0] = 9;
	assert_int_equal(dpemu_protect(e.space, p, 4 * e.ps, PROT_NONE), 0);
	tu_assert_caught(e.space, p, 0, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(e.space, p, 1, DPEMU_FAULT_PROTECTION);
	/* Untouched pages under PROT_NONE: no frame is taken. */
	tu_assert_caught(e.space, p + 2 * e.ps, 0, DPEMU_FAULT_PROTECTION);
	assert_false(query(&e, p + 2 * e.ps).present);
	assert_int_equal(pstats(&e).frames_used, 1);

	/* Untouched pages under PROT_READ: read zero-fills, write faults. */
	assert_int_equal(dpemu_protect(e.space, p, 4 * e.ps, PROT_READ), 0);
	assert_int_equal(p[0], 9);
	c = p[3 * e.ps];
	assert_int_equal(c, 0);
	tu_assert_caught(e.space, p + 3 * e.ps + 1, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(e.space, p + e.ps, 1, DPEMU_FAULT_PROTECTION);

	/* A mapping created read-only. */
	p = map_anon(&e, e.ps, PROT_READ, ANON_PRIVATE);
	assert_true(all_zero(p, e.ps));
	tu_assert_caught(e.space, p, 1, DPEMU_FAULT_PROTECTION);
	/* A mapping created PROT_NONE. */
	p = map_anon(&e, e.ps, PROT_NONE, ANON_SHARED);
	tu_assert_caught(e.space, p + 5, 0, DPEMU_FAULT_PROTECTION);
	assert_int_equal(query(&e, p).prot, PROT_NONE);
	assert_int_equal(dpemu_protect(e.space, p, e.ps, RW), 0);
	assert_true(all_zero(p, e.ps));
	p[5] = 5;
	assert_int_equal(p[5], 5);
	env_close(&e);
}

/* Protect errors: unmapped part -ENOMEM (nothing changed), bad args -EINVAL,
 * PROT_WRITE on a shared mapping of a read-only fd -EACCES. */
static void test_protect_errors(void **state)
{
	struct env e;
	char *p;
	void *out = NULL;
	char path[64];
	int fd, rdonly;

	(void)state;
	env_open(&e, 16, 32);
	env_add_ref(&e);
	p = map_fixed(&e, e.base, 4 * e.ps, RW, ANON_PRIVATE);
	fill(p, 4 * e.ps, 71);

	/* Range with an unmapped page (page 4): -ENOMEM, nothing changed. */
	assert_int_equal(dpemu_protect(e.space, p, 5 * e.ps, PROT_READ),
	                 -ENOMEM);
	assert_failed_cleanly(&e);
	assert_int_equal(query(&e, p).prot, RW);
	assert_int_equal(query(&e, p + 3 * e.ps).prot, RW);
	p[0] = 'a';
	p[3 * e.ps] = 'b';
	/* Wholly unmapped range. */
	assert_int_equal(dpemu_protect(e.space, e.base + 10 * e.ps, e.ps,
	                               PROT_READ), -ENOMEM);
	assert_failed_cleanly(&e);

	/* -EINVAL: unaligned, zero len, bad prot, NULL, outside the arena. */
	assert_int_equal(dpemu_protect(e.space, p + 1, e.ps, PROT_READ),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_protect(e.space, p, 0, PROT_READ), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_protect(e.space, p, e.ps, PROT_READ | 0x100),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_protect(NULL, p, e.ps, PROT_READ), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_protect(e.space, e.base - e.ps, e.ps,
	                               PROT_READ), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_protect(e.space, e.ref, 4 * e.ps, PROT_READ),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(query(&e, p).prot, RW);
	p[1] = 'c';

	/* PROT_WRITE on a SHARED mapping of a read-only fd: -EACCES. */
	fd = make_file(2 * e.ps, 72, path);
	rdonly = open(path, O_RDONLY);
	assert_true(rdonly >= 0);
	assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, PROT_READ,
	                           DPEMU_MAP_SHARED, rdonly, 0, &out), 0);
	assert_true(holds(out, 2 * e.ps, 72));
	assert_int_equal(dpemu_protect(e.space, out, 2 * e.ps, RW), -EACCES);
	assert_failed_cleanly(&e);
	assert_int_equal(query(&e, out).prot, PROT_READ);
	tu_assert_caught(e.space, out, 1, DPEMU_FAULT_PROTECTION);
	assert_true(file_holds(fd, 0, 2 * e.ps, 72));
	/* PRIVATE mapping of a read-only fd: PROT_WRITE is fine. */
	assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, rdonly, 0, &out), 0);
	assert_int_equal(dpemu_protect(e.space, out, 2 * e.ps, RW), 0);
	((volatile char *)out)[0] = 'z';
	assert_true(file_holds(fd, 0, 2 * e.ps, 72));

	close(rdonly);
	close(fd);
	unlink(path);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protect_read_only),
		cmocka_unit_test(test_protect_none_and_lazy),
		cmocka_unit_test(test_protect_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
