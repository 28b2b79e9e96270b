/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_read.c - dpemu_read: the contents of present, swapped, lazy file,
 * forked shared and never-touched pages, copied without an access (no
 * fault, no page or counter changes), byte ranges across pages,
 * DPEMU_READ_SKIP_ZERO, and its refusals.
 */
#include "map_env.h"

#include <sys/wait.h>

/* The counters dpemu_read must leave alone, in one comparable struct. */
struct counts {
	uint64_t faults, resident, swap_ins, swap_outs, evictions, frames_used;
};

static struct counts counts(struct env *e)
{
	struct dpemu_stats st = stats(e);
	struct dpemu_pool_stats ps = pstats(e);
	struct counts c = { st.faults, st.pages_resident, ps.swap_ins, ps.swap_outs,
	                    ps.evictions, ps.frames_used };
	return c;
}

static void assert_same_counts(struct counts a, struct counts b)
{
	assert_int_equal(a.faults, b.faults);
	assert_int_equal(a.resident, b.resident);
	assert_int_equal(a.swap_ins, b.swap_ins);
	assert_int_equal(a.swap_outs, b.swap_outs);
	assert_int_equal(a.evictions, b.evictions);
	assert_int_equal(a.frames_used, b.frames_used);
}

/* Present pages are copied, never-touched ones read as zeros and stay
 * lazy; a byte range across pages; PROT_NONE pages are read too. */
static void test_read_present_and_lazy(void **state)
{
	struct env e;
	struct counts before;
	unsigned char *buf;
	char *p;

	(void)state;
	env_open(&e, 16, 32);
	p = map_anon(&e, 4 * e.ps, RW, ANON_PRIVATE);
	fill(p, e.ps, 1);
	fill(p + 2 * e.ps, e.ps, 3);
	buf = malloc(4 * e.ps);
	assert_non_null(buf);
	memset(buf, 0xaa, 4 * e.ps);
	before = counts(&e);
	assert_int_equal(dpemu_read(e.space, p, buf, 4 * e.ps, 0), 0);
	assert_true(holds(buf, e.ps, 1));
	assert_true(all_zero(buf + e.ps, e.ps));
	assert_true(holds(buf + 2 * e.ps, e.ps, 3));
	assert_true(all_zero(buf + 3 * e.ps, e.ps));
	assert_same_counts(before, counts(&e));
	assert_false(query(&e, p + e.ps).present);

	/* From the middle of page 0 to the middle of page 2. */
	memset(buf, 0xaa, 4 * e.ps);
	assert_int_equal(dpemu_read(e.space, p + e.ps / 2, buf, 2 * e.ps, 0), 0);
	assert_true(holds_at(buf, e.ps / 2, 1, e.ps / 2));
	assert_true(all_zero(buf + e.ps / 2, e.ps));
	assert_true(holds(buf + e.ps + e.ps / 2, e.ps / 2, 3));
	assert_int_equal(buf[2 * e.ps], 0xaa);

	/* PROT_NONE does not stop it. */
	assert_int_equal(dpemu_protect(e.space, p, 4 * e.ps, PROT_NONE), 0);
	memset(buf, 0, 4 * e.ps);
	assert_int_equal(dpemu_read(e.space, p, buf, e.ps, 0), 0);
	assert_true(holds(buf, e.ps, 1));
	assert_same_counts(before, counts(&e));
	free(buf);
	env_close(&e);
}

/* DPEMU_READ_SKIP_ZERO leaves buf alone where a page reads as zeros: never
 * touched, written with zeros, or not mapped at all. */
static void test_read_skip_zero(void **state)
{
	struct env e;
	unsigned char *buf;
	char *p;

	(void)state;
	env_open(&e, 16, 32);
	p = map_fixed(&e, e.base + 4 * e.ps, 3 * e.ps, RW, ANON_PRIVATE);
	fill(p, e.ps, 5);
	memset(p + 2 * e.ps, 0, e.ps); /* present, but zeros */
	buf = malloc(8 * e.ps);
	assert_non_null(buf);
	memset(buf, 0xaa, 8 * e.ps);
	assert_int_equal(dpemu_read(e.space, e.base + 2 * e.ps, buf, 8 * e.ps,
	                            DPEMU_READ_SKIP_ZERO), 0);
	for (size_t pg = 0; pg < 8; pg++) {
		if (pg == 2)
			assert_true(holds(buf + pg * e.ps, e.ps, 5));
		else
			for (size_t i = 0; i < e.ps; i++)
				assert_int_equal(buf[pg * e.ps + i], 0xaa);
	}
	/* Without the flag the same range is zeros but for page 2. */
	assert_int_equal(dpemu_read(e.space, e.base + 2 * e.ps, buf, 8 * e.ps, 0), 0);
	assert_true(all_zero(buf, 2 * e.ps));
	assert_true(holds(buf + 2 * e.ps, e.ps, 5));
	assert_true(all_zero(buf + 3 * e.ps, 5 * e.ps));
	free(buf);
	env_close(&e);
}

/* Swapped-out pages are read from the swap store without a swap-in. */
static void test_read_swapped(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * tu_host_page());
	struct env e;
	struct counts before;
	unsigned char *buf;
	char *p;
	size_t swapped = 0;

	(void)state;
	memset(&e, 0, sizeof e);
	e.ps = tu_host_page();
	e.pages = 64;
	pcfg.policy = DPEMU_POLICY_FIFO;
	assert_int_equal(dpemu_pool_create(&pcfg, &e.pool), 0);
	assert_int_equal(dpemu_space_create(e.pool, &scfg, &e.space), 0);
	e.base = dpemu_space_base(e.space);
	p = map_anon(&e, 12 * e.ps, RW, ANON_PRIVATE);
	for (unsigned i = 0; i < 12; i++)
		fill(p + i * e.ps, e.ps, 10 + i);
	for (unsigned i = 0; i < 12; i++)
		swapped += query(&e, p + i * e.ps).swapped;
	assert_true(swapped >= 8);
	buf = malloc(12 * e.ps);
	assert_non_null(buf);
	before = counts(&e);
	assert_int_equal(dpemu_read(e.space, p, buf, 12 * e.ps, 0), 0);
	for (unsigned i = 0; i < 12; i++)
		assert_true(holds(buf + i * e.ps, e.ps, 10 + i));
	assert_same_counts(before, counts(&e));
	free(buf);
	env_close(&e);
}

/* A file page never touched is read from the file, zeros past its end;
 * a forked shared page another space touched is found through the
 * shared object. */
static void test_read_file_and_shared(void **state)
{
	struct env e;
	char path[64];
	unsigned char *buf;
	dpemu_space *child;
	void *f;
	char *sh, *csh;
	int fd;

	(void)state;
	env_open(&e, 16, 32);
	fd = make_file(e.ps + 100, 7, path);
	assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, PROT_READ, DPEMU_MAP_PRIVATE, fd, 0,
	                           &f), 0);
	buf = malloc(2 * e.ps);
	assert_non_null(buf);
	memset(buf, 0xaa, 2 * e.ps);
	assert_int_equal(dpemu_read(e.space, f, buf, 2 * e.ps, 0), 0);
	assert_true(holds(buf, e.ps + 100, 7));
	assert_true(all_zero(buf + e.ps + 100, e.ps - 100));
	assert_false(query(&e, f).present);
	assert_int_equal(stats(&e).file_reads, 0);

	sh = map_anon(&e, e.ps, RW, ANON_SHARED);
	assert_int_equal(dpemu_space_fork(e.space, &child), 0);
	csh = (char *)dpemu_space_base(child) + (sh - e.base);
	fill(csh, e.ps, 9); /* the child's touch; the parent's page stays lazy */
	assert_false(query(&e, sh).present);
	assert_int_equal(dpemu_read(e.space, sh, buf, e.ps, 0), 0);
	assert_true(holds(buf, e.ps, 9));
	assert_int_equal(dpemu_space_destroy(child), 0);
	free(buf);
	close(fd);
	unlink(path);
	env_close(&e);
}

static void read_in_child(void *arg)
{
	struct env *e = arg;
	char c;

	_exit(dpemu_read(e->space, e->base, &c, 1, 0) == -EPERM ? 0 : 1);
}

/* What it refuses: NULL, unknown flags, ranges outside the arena, a space
 * inherited through fork(2); a zero length is nothing to do. */
static void test_read_refusals(void **state)
{
	struct env e;
	struct tu_child child;
	char buf[16];

	(void)state;
	env_open(&e, 16, 32);
	assert_int_equal(dpemu_read(NULL, e.base, buf, 1, 0), -EINVAL);
	assert_int_equal(dpemu_read(e.space, e.base, NULL, 1, 0), -EINVAL);
	assert_int_equal(dpemu_read(e.space, e.base, buf, 1, 0x100), -EINVAL);
	assert_int_equal(dpemu_read(e.space, e.base - 1, buf, 1, 0), -EINVAL);
	assert_int_equal(dpemu_read(e.space, e.base + 32 * e.ps - 8, buf, 16, 0), -EINVAL);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_int_equal(dpemu_read(e.space, e.base + 32 * e.ps - 8, buf, 8, 0), 0);
	assert_int_equal(dpemu_read(e.space, e.base, NULL, 0, 0), 0);
	assert_int_equal(tu_run_in_child(read_in_child, &e, &child), 0);
	tu_assert_child_ok(&child, "dpemu_read in a child of fork(2)");
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_present_and_lazy),
		cmocka_unit_test(test_read_skip_zero),
		cmocka_unit_test(test_read_swapped),
		cmocka_unit_test(test_read_file_and_shared),
		cmocka_unit_test(test_read_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
