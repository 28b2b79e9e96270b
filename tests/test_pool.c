/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pool.c - pools, spaces, error strings and the version.
 */
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* A failing call leaves a message for the calling thread. */
static void assert_has_last_error(void)
{
	const char *msg = dpemu_last_error();

	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
}

static void get_pool_stats(const dpemu_pool *pool, struct dpemu_pool_stats *st)
{
	memset(st, 0xa5, sizeof *st);
	assert_int_equal(dpemu_pool_stats(pool, st), 0);
}

/* ------------------------------------------------------------------------ */

/* A pool can be created with the default page size and destroyed. */
static void test_pool_create_destroy_default(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(16, 0);
	struct dpemu_pool_stats st;
	dpemu_pool *pool = NULL;

	(void)state;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_non_null(pool);
	get_pool_stats(pool, &st);
	/* page_size 0 means the host page size. */
	assert_int_equal(st.page_size, tu_host_page());
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* A fresh pool's statistics: all frames free, none used or shared. */
static void test_pool_stats_fresh(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(1000, 0);
	struct dpemu_pool_stats st;
	dpemu_pool *pool = NULL;

	(void)state;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	get_pool_stats(pool, &st);
	assert_int_equal(st.frames_total, 1000);
	assert_int_equal(st.frames_free, 1000);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.frames_shared, 0);
	assert_int_equal(st.page_size, tu_host_page());
	assert_int_equal(st.spaces, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/*
 * frames_used_peak is the high-water mark of frames_used: it stays at the
 * most frames in use at once after they go back, and with a replacement
 * policy it reaches the whole pool once the pool has filled.
 */
static void test_pool_frames_used_peak(void **state)
{
	size_t h = tu_host_page();
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * h);
	struct dpemu_pool_stats st;
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;
	volatile char *p;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	get_pool_stats(pool, &st);
	assert_int_equal(st.frames_used_peak, 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_map(space, NULL, 6 * h, PROT_READ | PROT_WRITE,
	                           DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0,
	                           (void **)&p), 0);
	for (int i = 0; i < 5; i++)
		p[(size_t)i * h] = 1;
	get_pool_stats(pool, &st);
	assert_int_equal(st.frames_used, 5);
	assert_int_equal(st.frames_used_peak, 5);
	assert_int_equal(dpemu_unmap(space, (void *)p, 6 * h), 0);
	assert_int_equal(dpemu_map(space, NULL, 3 * h, PROT_READ | PROT_WRITE,
	                           DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0,
	                           (void **)&p), 0);
	for (int i = 0; i < 3; i++)
		p[(size_t)i * h] = 1;
	get_pool_stats(pool, &st);
	assert_int_equal(st.frames_used, 3);
	assert_int_equal(st.frames_used_peak, 5); /* the mark stays */
	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);

	/* With a policy: 4 frames, 12 pages written. */
	pcfg = tu_pool_config(4, 0);
	pcfg.policy = DPEMU_POLICY_CLOCK;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_map(space, NULL, 12 * h, PROT_READ | PROT_WRITE,
	                           DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0,
	                           (void **)&p), 0);
	for (int i = 0; i < 12; i++)
		p[(size_t)i * h] = 1;
	get_pool_stats(pool, &st);
	assert_true(st.evictions > 0);
	assert_int_equal(st.frames_used_peak, 4);
	assert_int_equal(dpemu_space_destroy(space), 0);
	get_pool_stats(pool, &st);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.frames_used_peak, 4);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* page_size may be any power-of-two multiple of the host page. */
static void test_pool_page_size_multiples(void **state)
{
	size_t mult[] = { 1, 2, 4, 16 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof mult / sizeof mult[0]; i++) {
		struct dpemu_pool_config cfg =
			tu_pool_config(8, mult[i] * tu_host_page());
		struct dpemu_pool_stats st;
		dpemu_pool *pool = NULL;

		assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
		get_pool_stats(pool, &st);
		assert_int_equal(st.page_size, mult[i] * tu_host_page());
		assert_int_equal(st.frames_total, 8);
		assert_int_equal(dpemu_pool_destroy(pool), 0);
	}
}

/* Zero frames is -EINVAL, and *out is not set. */
static void test_pool_zero_frames(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(0, 0);
	dpemu_pool *pool = NULL;

	(void)state;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
	assert_null(pool);
	assert_has_last_error();
}

/* DPEMU_HOSTMAP is "mmap" or unset: anything else is -EINVAL from
 * dpemu_pool_create, with a message naming the value and what is accepted
 * (issue 12: an unknown value used to be ignored). */
static void test_pool_bad_hostmap_env(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(4, 0);
	const char *old = getenv("DPEMU_HOSTMAP");
	char *saved = old ? strdup(old) : NULL;
	dpemu_pool *pool = NULL;
	int rc;

	(void)state;
	assert_int_equal(setenv("DPEMU_HOSTMAP", "bogus", 1), 0);
	rc = dpemu_pool_create(&cfg, &pool);
	assert_int_equal(rc, -EINVAL);
	assert_null(pool);
	assert_non_null(strstr(dpemu_last_error(), "DPEMU_HOSTMAP=bogus"));
	assert_non_null(strstr(dpemu_last_error(), "mmap"));
	assert_int_equal(setenv("DPEMU_HOSTMAP", "mmap", 1), 0);
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	if (saved)
		setenv("DPEMU_HOSTMAP", saved, 1);
	else
		unsetenv("DPEMU_HOSTMAP");
	free(saved);
}

/* More than 2^32 - 2 frames is -EINVAL. */
static void test_pool_too_many_frames(void **state)
{
	struct dpemu_pool_config cfg;
	dpemu_pool *pool = NULL;

	(void)state;
	if (sizeof(size_t) < 8)
		skip();
	cfg = tu_pool_config((size_t)UINT32_MAX, 0);
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
	assert_has_last_error();
	cfg = tu_pool_config(SIZE_MAX, 0);
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
	assert_has_last_error();
}

/* page_size that is not a power-of-two multiple of the host page: -EINVAL. */
static void test_pool_bad_page_size(void **state)
{
	size_t h = tu_host_page();
	size_t bad[] = { 3 * h, h / 2, h + 1, h - 1, 1, 6 * h, 2 * h + h / 2,
	                 SIZE_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct dpemu_pool_config cfg = tu_pool_config(4, bad[i]);
		dpemu_pool *pool = NULL;

		assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
		assert_null(pool);
		assert_has_last_error();
	}
}

/* NULL arguments are -EINVAL, never a crash. */
static void test_pool_null_args(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(4, 0);
	struct dpemu_pool_stats st;
	dpemu_pool *pool = NULL;
	int ret;

	(void)state;
	assert_int_equal(dpemu_pool_create(NULL, &pool), -EINVAL);
	assert_has_last_error();
	assert_int_equal(dpemu_pool_create(&cfg, NULL), -EINVAL);
	assert_has_last_error();
	assert_int_equal(dpemu_pool_stats(NULL, &st), -EINVAL);
	assert_has_last_error();

	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_int_equal(dpemu_pool_stats(pool, NULL), -EINVAL);
	assert_has_last_error();
	assert_int_equal(dpemu_pool_destroy(pool), 0);

	/* Destroying NULL: -EINVAL (or a harmless no-op), not a crash. */
	ret = dpemu_pool_destroy(NULL);
	assert_true(ret == -EINVAL || ret == 0);
}

/* A pool cannot be destroyed while a space uses it; afterwards it can. */
static void test_pool_destroy_busy(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * tu_host_page());
	struct dpemu_pool_stats st;
	dpemu_pool *pool = NULL;
	dpemu_space *a = NULL, *b = NULL;
	void *p = NULL;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &a), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &b), 0);
	get_pool_stats(pool, &st);
	assert_int_equal(st.spaces, 2);

	assert_int_equal(dpemu_pool_destroy(pool), -EBUSY);
	assert_has_last_error();

	/* The failed destroy changed nothing: the spaces still work. */
	assert_int_equal(dpemu_map(a, NULL, tu_host_page(),
	                           PROT_READ | PROT_WRITE,
	                           DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0,
	                           &p), 0);
	((volatile char *)p)[0] = 42;
	assert_int_equal(((volatile char *)p)[0], 42);
	get_pool_stats(pool, &st);
	assert_int_equal(st.frames_used, 1);

	assert_int_equal(dpemu_space_destroy(a), 0);
	get_pool_stats(pool, &st);
	assert_int_equal(st.spaces, 1);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.frames_free, 8);
	assert_int_equal(dpemu_pool_destroy(pool), -EBUSY);

	assert_int_equal(dpemu_space_destroy(b), 0);
	get_pool_stats(pool, &st);
	assert_int_equal(st.spaces, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ------------------------------------------------------------------------ */
/* Spaces                                                                    */
/* ------------------------------------------------------------------------ */

/* A space's accessors: base, size (reserve rounded up), pool, backend. */
static void test_space_accessors(void **state)
{
	size_t h = tu_host_page();
	struct dpemu_pool_config pcfg = tu_pool_config(8, 4 * h);
	struct dpemu_space_config scfg = tu_space_config(10 * h + 1);
	struct dpemu_stats st;
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_non_null(space);
	assert_non_null(dpemu_space_base(space));
	/* reserve is rounded up to the pool's page size (4 host pages). */
	assert_int_equal(dpemu_space_size(space), 12 * h);
	assert_int_equal((uintptr_t)dpemu_space_base(space) % h, 0);
	assert_ptr_equal(dpemu_space_pool(space), pool);
	assert_int_equal(dpemu_space_backend(space), tu_auto_backend());

	/* A fresh space has no faults, no mappings, nothing resident. */
	memset(&st, 0xa5, sizeof st);
	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.faults, 0);
	assert_int_equal(st.zero_fills, 0);
	assert_int_equal(st.file_reads, 0);
	assert_int_equal(st.cow_copies, 0);
	assert_int_equal(st.cow_reuses, 0);
	assert_int_equal(st.protection_faults, 0);
	assert_int_equal(st.writebacks, 0);
	assert_int_equal(st.pages_resident, 0);
	assert_int_equal(st.mappings, 0);

	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* Backends: AUTO chooses userfaultfd where the kernel allows it (or what
 * DPEMU_BACKEND says), SIGSEGV works, UFFD works in both modes or is
 * refused with -EPERM/-ENOSYS and a message, bad values are -EINVAL. */
static void test_space_backends(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(16 * tu_host_page());
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);

	scfg.backend = DPEMU_BACKEND_AUTO;
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_space_backend(space), tu_auto_backend());
	assert_int_equal(dpemu_space_destroy(space), 0);

	scfg.backend = DPEMU_BACKEND_SIGSEGV;
	space = NULL;
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_space_backend(space), DPEMU_BACKEND_SIGSEGV);
	assert_int_equal(dpemu_space_destroy(space), 0);

	for (int mode = DPEMU_UFFD_THREAD; mode <= DPEMU_UFFD_SIGBUS; mode++) {
		char why[256];
		int rc;

		scfg.backend = DPEMU_BACKEND_UFFD;
		scfg.uffd_mode = (enum dpemu_uffd_mode)mode;
		space = NULL;
		rc = dpemu_space_create(pool, &scfg, &space);
		if (tu_uffd_available((enum dpemu_uffd_mode)mode, why, sizeof why)) {
			assert_int_equal(rc, 0);
			assert_int_equal(dpemu_space_backend(space), DPEMU_BACKEND_UFFD);
			assert_int_equal(dpemu_space_destroy(space), 0);
		} else {
			print_message("userfaultfd mode %d refused here: %s\n", mode, why);
			assert_true(rc == -EPERM || rc == -ENOSYS);
			assert_null(space);
			assert_has_last_error();
		}
	}
	scfg.uffd_mode = (enum dpemu_uffd_mode)9;
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), -EINVAL);
	assert_null(space);
	scfg.uffd_mode = DPEMU_UFFD_THREAD;

	/* An unknown backend is -EINVAL. */
	scfg.backend = (enum dpemu_backend)77;
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), -EINVAL);
	assert_null(space);
	assert_has_last_error();

	/* None of the failures left a space behind. */
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* Bad space_create arguments: NULL pool/cfg/out, zero reserve. */
static void test_space_create_bad_args(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(16 * tu_host_page());
	struct dpemu_space_config zero = tu_space_config(0);
	struct dpemu_pool_stats pst;
	struct dpemu_stats st;
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;
	int ret;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(NULL, &scfg, &space), -EINVAL);
	assert_has_last_error();
	assert_int_equal(dpemu_space_create(pool, NULL, &space), -EINVAL);
	assert_has_last_error();
	assert_int_equal(dpemu_space_create(pool, &scfg, NULL), -EINVAL);
	assert_has_last_error();
	assert_int_equal(dpemu_space_create(pool, &zero, &space), -EINVAL);
	assert_has_last_error();
	assert_null(space);

	/* An impossible reservation fails cleanly with -ENOMEM. */
	scfg.reserve = SIZE_MAX - tu_host_page();
	ret = dpemu_space_create(pool, &scfg, &space);
	assert_true(ret == -ENOMEM || ret == -EINVAL);
	assert_null(space);
	assert_has_last_error();

	get_pool_stats(pool, &pst);
	assert_int_equal(pst.spaces, 0);

	assert_int_equal(dpemu_space_destroy(NULL), -EINVAL);
	assert_int_equal(dpemu_space_stats(NULL, &st), -EINVAL);

	scfg.reserve = 16 * tu_host_page();
	assert_int_equal(dpemu_space_create(pool, &scfg, &space), 0);
	assert_int_equal(dpemu_space_stats(space, NULL), -EINVAL);
	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* Several spaces on one pool get disjoint arenas. */
static void test_space_disjoint_arenas(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(256 * tu_host_page());
	dpemu_pool *pool = NULL;
	dpemu_space *s[4];
	int i, j;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(dpemu_space_create(pool, &scfg, &s[i]), 0);
	for (i = 0; i < 4; i++) {
		uintptr_t bi = (uintptr_t)dpemu_space_base(s[i]);

		for (j = 0; j < 4; j++) {
			uintptr_t bj = (uintptr_t)dpemu_space_base(s[j]);

			if (i == j)
				continue;
			assert_true(bi + dpemu_space_size(s[i]) <= bj ||
			            bj + dpemu_space_size(s[j]) <= bi);
		}
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(dpemu_space_destroy(s[i]), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ------------------------------------------------------------------------ */
/* Error strings, version, fault kind names                                  */
/* ------------------------------------------------------------------------ */

/* dpemu_strerror never returns NULL, and describes errors distinctly. */
static void test_strerror(void **state)
{
	int values[] = { 0, -EINVAL, -EBUSY, -ENOMEM, -EEXIST, -ENOSYS,
	                 -EBADF, -EACCES, -ENODEV, -EIO, -123456, 123456,
	                 INT_MIN, INT_MAX, 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		const char *s = dpemu_strerror(values[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	assert_string_not_equal(dpemu_strerror(-EINVAL),
	                        dpemu_strerror(-EBUSY));
	assert_string_not_equal(dpemu_strerror(0), dpemu_strerror(-EINVAL));
}

/* dpemu_version() matches the DPEMU_VERSION_* macros of the header. */
static void test_version(void **state)
{
	char expect[64];

	(void)state;
	snprintf(expect, sizeof expect, "%d.%d.%d", DPEMU_VERSION_MAJOR,
	         DPEMU_VERSION_MINOR, DPEMU_VERSION_PATCH);
	assert_non_null(dpemu_version());
	assert_string_equal(dpemu_version(), expect);
}

/* Each fault kind has its documented short name; unknown kinds a non-NULL. */
static void test_fault_kind_names(void **state)
{
	(void)state;
	assert_string_equal(dpemu_fault_kind_name(DPEMU_FAULT_UNMAPPED),
	                    "unmapped");
	assert_string_equal(dpemu_fault_kind_name(DPEMU_FAULT_PROTECTION),
	                    "protection");
	assert_string_equal(dpemu_fault_kind_name(DPEMU_FAULT_OUT_OF_FRAMES),
	                    "out of frames");
	assert_non_null(dpemu_fault_kind_name(DPEMU_FAULT_NONE));
	assert_non_null(dpemu_fault_kind_name(DPEMU_FAULT_HOST));
	assert_true(strlen(dpemu_fault_kind_name(DPEMU_FAULT_HOST)) > 0);
	assert_non_null(dpemu_fault_kind_name((enum dpemu_fault_kind)999));
}

/* dpemu_last_error: empty in a thread that never failed, per-thread. */
struct last_error_result {
	int empty_at_start;
	int set_after_failure;
	char msg[512];
};

static void *last_error_thread(void *arg)
{
	struct last_error_result *r = arg;
	struct dpemu_pool_config cfg = tu_pool_config(0, 0);
	dpemu_pool *pool = NULL;

	r->empty_at_start = dpemu_last_error() != NULL &&
	                    dpemu_last_error()[0] == '\0';
	if (dpemu_pool_create(&cfg, &pool) == -EINVAL) {
		const char *m = dpemu_last_error();

		r->set_after_failure = m != NULL && m[0] != '\0';
		if (m != NULL)
			snprintf(r->msg, sizeof r->msg, "%s", m);
	}
	return NULL;
}

static void test_last_error_per_thread(void **state)
{
	struct dpemu_pool_config bad = tu_pool_config(4, 3 * tu_host_page());
	struct last_error_result r;
	char mine[512];
	pthread_t t;
	dpemu_pool *pool = NULL;

	(void)state;
	/* Fail in this thread, remember the message. */
	assert_int_equal(dpemu_pool_create(&bad, &pool), -EINVAL);
	assert_has_last_error();
	snprintf(mine, sizeof mine, "%s", dpemu_last_error());

	memset(&r, 0, sizeof r);
	assert_int_equal(pthread_create(&t, NULL, last_error_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(r.empty_at_start);
	assert_true(r.set_after_failure);

	/* The other thread's failure did not change this thread's message. */
	assert_string_equal(dpemu_last_error(), mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_create_destroy_default),
		cmocka_unit_test(test_pool_stats_fresh),
		cmocka_unit_test(test_pool_frames_used_peak),
		cmocka_unit_test(test_pool_page_size_multiples),
		cmocka_unit_test(test_pool_zero_frames),
		cmocka_unit_test(test_pool_bad_hostmap_env),
		cmocka_unit_test(test_pool_too_many_frames),
		cmocka_unit_test(test_pool_bad_page_size),
		cmocka_unit_test(test_pool_null_args),
		cmocka_unit_test(test_pool_destroy_busy),
		cmocka_unit_test(test_space_accessors),
		cmocka_unit_test(test_space_backends),
		cmocka_unit_test(test_space_create_bad_args),
		cmocka_unit_test(test_space_disjoint_arenas),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_fault_kind_names),
		cmocka_unit_test(test_last_error_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
