/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_scale.c - many pages and huge reservations.
 *
 *  - 200,000 pages touched in random order must not explode the number of
 *    host mappings (vm.max_map_count is 65530), and every page must keep
 *    its data;
 *  - a 1 TiB reservation with a few pages touched must cost little memory.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

/* 200,000 pages touched in random order: few VMAs, all data kept. */
static void test_scale_random_touch(void **state)
{
	const size_t pages = 200000;
	size_t ps = tu_host_page();
	struct dpemu_pool_config pcfg = tu_pool_config(pages, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * ps);
	struct dpemu_pool_stats pst;
	struct dpemu_stats st;
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;
	uint32_t *order;
	void *out = NULL;
	volatile unsigned char *p;
	uint64_t seed = 0x853c49e6748fea9bull;
	long lines_before, lines;
	size_t i;

	(void)state;
	if (tu_hostmap_is_mmap()) {
		print_message("skipped: DPEMU_HOSTMAP=mmap maps one host VMA per "
		              "page, and 200,000 pages exceed vm.max_map_count\n");
		skip();
	}
	order = malloc(pages * sizeof *order);
	assert_non_null(order);
	for (i = 0; i < pages; i++)
		order[i] = (uint32_t)i;
	for (i = pages - 1; i > 0; i--) {
		size_t j = (size_t)(tu_xorshift(&seed) % (i + 1));
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	lines_before = tu_count_maps_lines();
	assert_true(lines_before > 0);
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_map(space, NULL, pages * ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), 0);
	p = out;

	for (i = 0; i < pages; i++) {
		volatile uint32_t *w = (volatile uint32_t *)(p + order[i] * ps);

		w[0] = order[i] ^ 0xa5a5a5a5u;
		w[1] = (uint32_t)i;
	}

	lines = tu_count_maps_lines();
	print_message("/proc/self/maps: %ld lines before, %ld after\n",
	              lines_before, lines);
	assert_true(lines > 0);
	assert_true(lines < 1000);

	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.pages_resident, pages);
	assert_int_equal(st.zero_fills, pages);
	assert_int_equal(dpemu_pool_stats(pool, &pst), 0);
	assert_int_equal(pst.frames_used, pages);
	assert_int_equal(pst.frames_free, 0);

	for (i = 0; i < pages; i++) {
		volatile uint32_t *w = (volatile uint32_t *)(p + order[i] * ps);

		if (w[0] != (order[i] ^ 0xa5a5a5a5u) || w[1] != (uint32_t)i)
			fail_msg("page %u: %08x %08x", order[i], w[0], w[1]);
		if (w[2] != 0)
			fail_msg("page %u: byte 8 not zero", order[i]);
	}

	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_stats(pool, &pst), 0);
	assert_int_equal(pst.frames_used, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	free(order);
	/* Everything dpemu mapped is gone again: no mapping of a pool's memfd
	 * is left (the total line count would also count the allocator's). */
	assert_int_equal(tu_count_maps_matching("dpemu-pool"), 0);
}

/* A 1 TiB reservation, mapped whole, with a few pages touched far apart:
 * the page table stays small and so does the resident set. */
static void test_scale_terabyte(void **state)
{
	const size_t tib = (size_t)1 << 40;
	size_t ps = tu_host_page();
	struct dpemu_pool_config pcfg = tu_pool_config(64, 0);
	struct dpemu_space_config scfg = tu_space_config(tib);
	struct dpemu_stats st;
	struct dpemu_page_info info;
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;
	void *out = NULL;
	volatile unsigned char *p;
	size_t offs[] = { 0, ps, (size_t)1 << 30, (size_t)1 << 35,
	                  ((size_t)1 << 39) + 12345 * ps, tib / 2 + ps,
	                  tib - ((size_t)1 << 32), tib - ps };
	size_t n = sizeof offs / sizeof offs[0], i;
	long rss_before, rss_after;

	(void)state;
	if (sizeof(size_t) < 8)
		skip();
	rss_before = tu_vm_rss_kib();
	assert_true(rss_before > 0);
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_space_size(space), tib);
	assert_int_equal(dpemu_map(space, NULL, tib, RW, ANON_PRIVATE, -1, 0,
	                           &out), 0);
	p = out;
	assert_ptr_equal(out, dpemu_space_base(space));

	for (i = 0; i < n; i++)
		p[offs[i] + 1] = (unsigned char)(i + 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(p[offs[i] + 1], (unsigned char)(i + 1));
		assert_int_equal(p[offs[i]], 0);
		assert_int_equal(dpemu_query(space, (const void *)(p + offs[i]),
		                             &info), 0);
		assert_true(info.mapped && info.present);
	}
	assert_int_equal(dpemu_query(space, (const void *)(p + tib / 4),
	                             &info), 0);
	assert_true(info.mapped);
	assert_false(info.present);

	assert_int_equal(dpemu_space_stats(space, &st), 0);
	print_message("1 TiB space: metadata_bytes %llu\n",
	              (unsigned long long)st.metadata_bytes);
	assert_int_equal(st.pages_resident, n);
	assert_true(st.metadata_bytes > 0);
	assert_true(st.metadata_bytes < 2u * 1024 * 1024);

	rss_after = tu_vm_rss_kib();
	print_message("VmRSS: %ld KiB before, %ld KiB after\n", rss_before,
	              rss_after);
	assert_true(rss_after - rss_before < 32 * 1024);

	/* Unmapping most of it in one call is fine too. */
	assert_int_equal(dpemu_unmap(space, out, tib - ps), 0);
	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.pages_resident, 1);
	assert_int_equal(p[tib - ps + 1], (unsigned char)n);

	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_random_touch),
		cmocka_unit_test(test_scale_terabyte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
