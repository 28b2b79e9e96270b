/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_threads.c - faults from many threads at once, and the rest of the
 * API used concurrently with faults.
 *
 * No timing assertions: threads are started together on a barrier and run a
 * fixed amount of work.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define ANON_SHARED (DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS)
#define NTHREADS 8

static size_t ps;

static void open_space(size_t frames, size_t pages, dpemu_pool **pool,
                       dpemu_space **space)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * ps);

	assert_int_equal(dpemu_pool_create(&pcfg, pool), 0);
	assert_int_equal(dpemu_space_create(*pool, &scfg, space), 0);
}

static void close_space(dpemu_pool *pool, dpemu_space *space)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_space_destroy(space), 0);
	assert_int_equal(dpemu_pool_stats(pool, &st), 0);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

static uint64_t frames_used(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_pool_stats(pool, &st), 0);
	return st.frames_used;
}

/* A random permutation of 0..n-1. */
static size_t *permutation(size_t n, uint64_t seed)
{
	size_t *order = malloc(n * sizeof *order);
	size_t i;

	assert_non_null(order);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(tu_xorshift(&seed) % (i + 1));
		size_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	return order;
}

/* ------------------------------------------------------------------------ */
/* Same pages from all threads                                               */
/* ------------------------------------------------------------------------ */

#define SAME_PAGES 512

struct same_arg {
	pthread_barrier_t *barrier;
	volatile unsigned char *p;
	int id;
};

static void *same_pages_thread(void *arg)
{
	struct same_arg *a = arg;
	size_t *order = NULL;
	size_t i;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);

	/* Each thread its own random order, so they collide everywhere. */
	order = malloc(SAME_PAGES * sizeof *order);
	if (order == NULL)
		return (void *)1;
	for (i = 0; i < SAME_PAGES; i++)
		order[i] = i;
	for (i = SAME_PAGES - 1; i > 0; i--) {
		size_t j = (size_t)(tu_xorshift(&seed) % (i + 1));
		size_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	pthread_barrier_wait(a->barrier);
	/* Thread id writes byte id of every page (half first read it). */
	for (i = 0; i < SAME_PAGES; i++) {
		volatile unsigned char *pg = a->p + order[i] * ps;

		if (a->id & 1)
			(void)pg[ps - 1 - (size_t)a->id];
		pg[a->id] = (unsigned char)(0x40 + a->id + order[i]);
	}
	free(order);
	return NULL;
}

/* 8 threads fault the same pages at once: each page resolved exactly once
 * (one frame, one zero-fill), and no thread's write is lost. */
static void test_threads_same_pages(void **state)
{
	dpemu_pool *pool;
	dpemu_space *space;
	pthread_barrier_t barrier;
	pthread_t th[NTHREADS];
	struct same_arg args[NTHREADS];
	struct dpemu_stats st;
	void *out = NULL;
	volatile unsigned char *p;
	size_t i, j;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		open_space(SAME_PAGES + 16, SAME_PAGES + 16, &pool, &space);
		assert_int_equal(dpemu_map(space, NULL, SAME_PAGES * ps, RW,
		                           round ? ANON_SHARED : ANON_PRIVATE,
		                           -1, 0, &out), 0);
		p = out;
		assert_int_equal(pthread_barrier_init(&barrier, NULL,
		                                      NTHREADS), 0);
		for (i = 0; i < NTHREADS; i++) {
			args[i].barrier = &barrier;
			args[i].p = p;
			args[i].id = (int)i;
			assert_int_equal(pthread_create(&th[i], NULL,
			                                same_pages_thread,
			                                &args[i]), 0);
		}
		for (i = 0; i < NTHREADS; i++) {
			void *ret = (void *)1;

			assert_int_equal(pthread_join(th[i], &ret), 0);
			assert_null(ret);
		}
		pthread_barrier_destroy(&barrier);

		st = (struct dpemu_stats){ 0 };
		assert_int_equal(dpemu_space_stats(space, &st), 0);
		assert_int_equal(st.zero_fills, SAME_PAGES);
		assert_int_equal(st.pages_resident, SAME_PAGES);
		assert_true(st.faults >= SAME_PAGES);
		assert_int_equal(st.protection_faults, 0);
		assert_int_equal(frames_used(pool), SAME_PAGES);

		for (i = 0; i < SAME_PAGES; i++) {
			volatile unsigned char *pg = p + i * ps;

			for (j = 0; j < NTHREADS; j++)
				assert_int_equal(pg[j],
				                 (unsigned char)(0x40 + j + i));
			for (j = NTHREADS; j < ps; j++) {
				if (pg[j] != 0)
					fail_msg("page %zu byte %zu is %d", i,
					         j, pg[j]);
			}
		}
		close_space(pool, space);
	}
}

/* ------------------------------------------------------------------------ */
/* Disjoint pages                                                            */
/* ------------------------------------------------------------------------ */

#define DISJOINT_PAGES 1024 /* per thread */

struct disjoint_arg {
	pthread_barrier_t *barrier;
	volatile unsigned char *p; /* this thread's slice */
	int id;
};

static void *disjoint_thread(void *arg)
{
	struct disjoint_arg *a = arg;
	uint64_t seed = 0x2545f4914f6cdd1dull + (uint64_t)a->id;
	size_t i;

	pthread_barrier_wait(a->barrier);
	/* Random order, each page written with the thread's mark. */
	for (i = 0; i < DISJOINT_PAGES; i++) {
		size_t pg = (size_t)(tu_xorshift(&seed) % DISJOINT_PAGES);
		volatile uint64_t *w = (volatile uint64_t *)(a->p + pg * ps);

		w[0] = ((uint64_t)a->id << 32) | pg;
	}
	/* Then every page, in order. */
	for (i = 0; i < DISJOINT_PAGES; i++) {
		volatile uint64_t *w = (volatile uint64_t *)(a->p + i * ps);

		w[1] = ((uint64_t)a->id << 32) | i;
	}
	return NULL;
}

/* 8 threads fault disjoint pages of one mapping at once: all resolved, all
 * writes kept, one frame per page. */
static void test_threads_disjoint_pages(void **state)
{
	const size_t total = NTHREADS * DISJOINT_PAGES;
	dpemu_pool *pool;
	dpemu_space *space;
	pthread_barrier_t barrier;
	pthread_t th[NTHREADS];
	struct disjoint_arg args[NTHREADS];
	struct dpemu_stats st;
	void *out = NULL;
	volatile unsigned char *p;
	size_t i, t;

	(void)state;
	open_space(total, total + 64, &pool, &space);
	assert_int_equal(dpemu_map(space, NULL, total * ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), 0);
	p = out;
	assert_int_equal(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	for (t = 0; t < NTHREADS; t++) {
		args[t].barrier = &barrier;
		args[t].p = p + t * DISJOINT_PAGES * ps;
		args[t].id = (int)t;
		assert_int_equal(pthread_create(&th[t], NULL, disjoint_thread,
		                                &args[t]), 0);
	}
	for (t = 0; t < NTHREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&barrier);

	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.zero_fills, total);
	assert_int_equal(st.pages_resident, total);
	assert_int_equal(frames_used(pool), total);
	for (t = 0; t < NTHREADS; t++) {
		for (i = 0; i < DISJOINT_PAGES; i++) {
			volatile uint64_t *w = (volatile uint64_t *)
				(p + (t * DISJOINT_PAGES + i) * ps);
			uint64_t want = ((uint64_t)t << 32) | i;

			if (w[1] != want)
				fail_msg("thread %zu page %zu: w[1]=%llx", t, i,
				         (unsigned long long)w[1]);
			if (w[0] != 0 && w[0] != want)
				fail_msg("thread %zu page %zu: w[0]=%llx", t, i,
				         (unsigned long long)w[0]);
		}
	}
	close_space(pool, space);
}

/* ------------------------------------------------------------------------ */
/* Map/unmap/query/stats while others fault                                  */
/* ------------------------------------------------------------------------ */

#define CHURN_FAULTERS 6
#define CHURN_PAGES 2048 /* per faulter */
#define CHURN_MIN_ITERS 300

struct churn {
	dpemu_space *space;
	dpemu_pool *pool;
	volatile unsigned char *big; /* the faulters' mapping */
	pthread_barrier_t barrier;
	volatile int faulters_done;
	int errors;                  /* written by the mapper only */
	char why[256];
	long iterations;
};

struct faulter_arg {
	struct churn *c;
	int id;
};

static void *faulter_thread(void *arg)
{
	struct faulter_arg *a = arg;
	volatile unsigned char *mine =
		a->c->big + (size_t)a->id * CHURN_PAGES * ps;
	size_t i;
	long bad = 0;

	pthread_barrier_wait(&a->c->barrier);
	for (i = 0; i < CHURN_PAGES; i++)
		mine[i * ps + (i % 64)] = (unsigned char)(a->id * 16 + i);
	for (i = 0; i < CHURN_PAGES; i++) {
		if (mine[i * ps + (i % 64)] != (unsigned char)(a->id * 16 + i))
			bad++;
	}
	__atomic_add_fetch(&a->c->faulters_done, 1, __ATOMIC_SEQ_CST);
	return (void *)bad;
}

static void churn_error(struct churn *c, const char *what, int ret)
{
	if (c->errors++ == 0)
		snprintf(c->why, sizeof c->why, "%s: %d (%s)", what, ret,
		         dpemu_last_error());
}

static void *mapper_thread(void *arg)
{
	struct churn *c = arg;
	long it;

	pthread_barrier_wait(&c->barrier);
	for (it = 0; it < CHURN_MIN_ITERS ||
	             __atomic_load_n(&c->faulters_done, __ATOMIC_SEQ_CST) <
	                     CHURN_FAULTERS;
	     it++) {
		void *out = NULL;
		volatile unsigned char *q;
		struct dpemu_page_info info;
		struct dpemu_stats st;
		struct dpemu_pool_stats pst;
		int ret, k;

		ret = dpemu_map(c->space, NULL, 4 * ps, RW,
		                (it & 1) ? ANON_SHARED : ANON_PRIVATE, -1, 0,
		                &out);
		if (ret != 0) {
			churn_error(c, "map", ret);
			break;
		}
		q = out;
		for (k = 0; k < 4; k++) {
			if (q[(size_t)k * ps + 3] != 0)
				churn_error(c, "fresh page not zero", 0);
			q[(size_t)k * ps + 3] = (unsigned char)it;
		}
		ret = dpemu_query(c->space, (void *)(q + ps), &info);
		if (ret != 0 || !info.mapped || !info.present)
			churn_error(c, "query", ret);
		ret = dpemu_query(c->space, (void *)(c->big + 5 * ps), &info);
		if (ret != 0 || !info.mapped)
			churn_error(c, "query big", ret);
		ret = dpemu_space_stats(c->space, &st);
		if (ret != 0 || st.mappings < 2)
			churn_error(c, "stats", ret);
		ret = dpemu_pool_stats(c->pool, &pst);
		if (ret != 0 || pst.frames_used > pst.frames_total)
			churn_error(c, "pool stats", ret);
		for (k = 0; k < 4; k++) {
			if (q[(size_t)k * ps + 3] != (unsigned char)it)
				churn_error(c, "data lost", 0);
		}
		ret = dpemu_unmap(c->space, out, 4 * ps);
		if (ret != 0)
			churn_error(c, "unmap", ret);
	}
	c->iterations = it;
	return NULL;
}

/* One thread maps, touches, queries, reads stats and unmaps in a loop while
 * the others fault on another mapping. */
static void test_threads_map_while_faulting(void **state)
{
	const size_t total = CHURN_FAULTERS * CHURN_PAGES;
	struct churn *c;
	struct faulter_arg args[CHURN_FAULTERS];
	pthread_t th[CHURN_FAULTERS], mapper;
	struct dpemu_stats st;
	void *out = NULL;
	size_t i;

	(void)state;
	c = calloc(1, sizeof *c);
	assert_non_null(c);
	open_space(total + 64, total + 256, &c->pool, &c->space);
	assert_int_equal(dpemu_map(c->space, NULL, total * ps, RW,
	                           ANON_PRIVATE, -1, 0, &out), 0);
	c->big = out;
	assert_int_equal(pthread_barrier_init(&c->barrier, NULL,
	                                      CHURN_FAULTERS + 1), 0);
	assert_int_equal(pthread_create(&mapper, NULL, mapper_thread, c), 0);
	for (i = 0; i < CHURN_FAULTERS; i++) {
		args[i].c = c;
		args[i].id = (int)i;
		assert_int_equal(pthread_create(&th[i], NULL, faulter_thread,
		                                &args[i]), 0);
	}
	for (i = 0; i < CHURN_FAULTERS; i++) {
		void *bad = (void *)1;

		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_null(bad);
	}
	assert_int_equal(pthread_join(mapper, NULL), 0);
	pthread_barrier_destroy(&c->barrier);
	if (c->errors != 0)
		fail_msg("mapper thread: %d errors, first: %s", c->errors,
		         c->why);
	assert_true(c->iterations >= CHURN_MIN_ITERS);

	assert_int_equal(dpemu_space_stats(c->space, &st), 0);
	assert_int_equal(st.mappings, 1);
	assert_int_equal(st.pages_resident, total);
	assert_int_equal(frames_used(c->pool), total);
	close_space(c->pool, c->space);
	free(c);
}

/* ------------------------------------------------------------------------ */
/* Spaces created and destroyed from several threads                         */
/* ------------------------------------------------------------------------ */

#define LIFE_THREADS 4
#define LIFE_ROUNDS 40

struct life_arg {
	dpemu_pool *shared_pool;
	pthread_barrier_t *barrier;
	int id;
	int errors;
	char why[256];
};

static void life_error(struct life_arg *a, const char *what, int ret)
{
	if (a->errors++ == 0)
		snprintf(a->why, sizeof a->why, "%s: %d (%s)", what, ret,
		         dpemu_last_error());
}

static void *life_thread(void *arg)
{
	struct life_arg *a = arg;
	int r;

	pthread_barrier_wait(a->barrier);
	for (r = 0; r < LIFE_ROUNDS; r++) {
		struct dpemu_space_config scfg = tu_space_config(64 * ps);
		dpemu_pool *pool = a->shared_pool;
		dpemu_space *space = NULL;
		void *out = NULL;
		volatile unsigned char *q;
		int ret, k;

		/* Every other round, a pool of the thread's own. */
		if (r & 1) {
			struct dpemu_pool_config pcfg = tu_pool_config(16, 0);

			ret = dpemu_pool_create(&pcfg, &pool);
			if (ret != 0) {
				life_error(a, "pool_create", ret);
				continue;
			}
		}
		ret = dpemu_space_create(pool, &scfg, &space);
		if (ret != 0) {
			life_error(a, "space_create", ret);
			goto next;
		}
		ret = dpemu_map(space, NULL, 8 * ps, RW, ANON_PRIVATE, -1, 0,
		                &out);
		if (ret != 0) {
			life_error(a, "map", ret);
		} else {
			q = out;
			for (k = 0; k < 8; k++) {
				if (q[(size_t)k * ps] != 0)
					life_error(a, "not zero", 0);
				q[(size_t)k * ps + 1] =
					(unsigned char)(a->id + r + k);
			}
			for (k = 0; k < 8; k++) {
				if (q[(size_t)k * ps + 1] !=
				    (unsigned char)(a->id + r + k))
					life_error(a, "data lost", 0);
			}
		}
		ret = dpemu_space_destroy(space);
		if (ret != 0)
			life_error(a, "space_destroy", ret);
	next:
		if (r & 1) {
			ret = dpemu_pool_destroy(pool);
			if (ret != 0)
				life_error(a, "pool_destroy", ret);
		}
	}
	return NULL;
}

/* Spaces (and pools) created, used and destroyed from several threads at
 * once, some sharing one pool. */
static void test_threads_space_lifecycle(void **state)
{
	struct dpemu_pool_config pcfg =
		tu_pool_config(LIFE_THREADS * 8 + 8, 0);
	struct dpemu_pool_stats pst;
	pthread_barrier_t barrier;
	pthread_t th[LIFE_THREADS];
	struct life_arg args[LIFE_THREADS];
	dpemu_pool *pool = NULL;
	dpemu_space *keep = NULL;
	struct dpemu_space_config scfg = tu_space_config(16 * ps);
	void *out = NULL;
	int i;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	/* A space of this thread's that must survive the others' churn. */
	assert_int_equal(dpemu_space_create(pool, &scfg, &keep), 0);
	assert_int_equal(dpemu_map(keep, NULL, 4 * ps, RW, ANON_PRIVATE, -1, 0,
	                           &out), 0);
	memset(out, 0x5e, 4 * ps);

	assert_int_equal(pthread_barrier_init(&barrier, NULL, LIFE_THREADS), 0);
	for (i = 0; i < LIFE_THREADS; i++) {
		memset(&args[i], 0, sizeof args[i]);
		args[i].shared_pool = pool;
		args[i].barrier = &barrier;
		args[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, life_thread,
		                                &args[i]), 0);
	}
	for (i = 0; i < LIFE_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (args[i].errors != 0)
			fail_msg("thread %d: %d errors, first: %s", i,
			         args[i].errors, args[i].why);
	}
	pthread_barrier_destroy(&barrier);

	/* Our space still holds its data; the pool has only its frames. */
	for (i = 0; i < (int)(4 * ps); i++)
		assert_int_equal(((volatile unsigned char *)out)[i], 0x5e);
	assert_int_equal(dpemu_pool_stats(pool, &pst), 0);
	assert_int_equal(pst.frames_used, 4);
	assert_int_equal(pst.spaces, 1);
	assert_int_equal(dpemu_space_destroy(keep), 0);
	assert_int_equal(dpemu_pool_stats(pool, &pst), 0);
	assert_int_equal(pst.frames_used, 0);
	assert_int_equal(pst.spaces, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ------------------------------------------------------------------------ */
/* Faults that run out of frames from several threads                        */
/* ------------------------------------------------------------------------ */

struct oof_arg {
	pthread_barrier_t *barrier;
	volatile unsigned char *p;
	size_t pages;
	int id;
	long resolved;
	long out_of_frames;
	long other;
};

struct oof_touch {
	volatile unsigned char *pg;
	unsigned char val;
};

static void oof_touch_fn(void *arg)
{
	struct oof_touch *t = arg;

	t->pg[0] = t->val;
}

static void *oof_thread(void *arg)
{
	struct oof_arg *a = arg;
	size_t *order;
	size_t i;

	order = permutation(a->pages, 77 + (uint64_t)a->id);
	pthread_barrier_wait(a->barrier);
	for (i = 0; i < a->pages; i++) {
		struct oof_touch t = { a->p + order[i] * ps, 1 };
		struct dpemu_fault f;
		int ret = dpemu_catch(oof_touch_fn, &t, &f);

		if (ret == 0)
			a->resolved++;
		else if (ret == 1 && f.kind == DPEMU_FAULT_OUT_OF_FRAMES)
			a->out_of_frames++;
		else
			a->other++;
	}
	free(order);
	return NULL;
}

/* Threads racing for the last frames: exactly frames_total pages get one,
 * every other touch is an out-of-frames fault. */
static void test_threads_out_of_frames(void **state)
{
	const size_t frames = 100, pages = 400;
	dpemu_pool *pool;
	dpemu_space *space;
	pthread_barrier_t barrier;
	pthread_t th[4];
	struct oof_arg args[4];
	struct dpemu_stats st;
	void *out = NULL;
	size_t i, present = 0;
	long oof = 0;

	(void)state;
	open_space(frames, pages + 16, &pool, &space);
	assert_int_equal(dpemu_map(space, NULL, pages * ps, RW, ANON_PRIVATE,
	                           -1, 0, &out), 0);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, 4), 0);
	for (i = 0; i < 4; i++) {
		memset(&args[i], 0, sizeof args[i]);
		args[i].barrier = &barrier;
		args[i].p = out;
		args[i].pages = pages;
		args[i].id = (int)i;
		assert_int_equal(pthread_create(&th[i], NULL, oof_thread,
		                                &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].other, 0);
		oof += args[i].out_of_frames;
	}
	pthread_barrier_destroy(&barrier);

	assert_int_equal(frames_used(pool), frames);
	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.pages_resident, frames);
	assert_int_equal(st.zero_fills, frames);
	assert_int_equal(st.protection_faults, (uint64_t)oof);
	for (i = 0; i < pages; i++) {
		struct dpemu_page_info info;

		assert_int_equal(dpemu_query(space, (char *)out + i * ps,
		                             &info), 0);
		if (info.present) {
			present++;
			assert_int_equal(((volatile unsigned char *)out)[i * ps],
			                 1);
		}
	}
	assert_int_equal(present, frames);
	/* Each thread touched all 400 pages: 300 of them could not be had. */
	for (i = 0; i < 4; i++)
		assert_int_equal(args[i].out_of_frames, pages - frames);
	close_space(pool, space);
}

/* ------------------------------------------------------------------------ */
/* The zero frame, shown for the first time by several spaces at once        */
/* ------------------------------------------------------------------------ */

#define ZRACE_SPACES 4
#define ZRACE_ROUNDS 150

struct zrace_arg {
	pthread_barrier_t *barrier;
	dpemu_space *space;
	volatile unsigned char *p; /* page 0 untouched, page 1 written */
	int id;
	int errors;
	char why[128];
};

static void zrace_error(struct zrace_arg *a, const char *what)
{
	if (a->errors++ == 0)
		snprintf(a->why, sizeof a->why, "%s", what);
}

static void *zrace_thread(void *arg)
{
	struct zrace_arg *a = arg;
	struct dpemu_page_info info;

	pthread_barrier_wait(a->barrier);
	if (a->p[7] != 0) /* a read first: the zero frame */
		zrace_error(a, "zero page not zero");
	if (dpemu_query(a->space, (void *)a->p, &info) != 0 || !info.zero)
		zrace_error(a, "a read-first page does not map the zero frame");
	a->p[8] = (unsigned char)(0x60 + a->id); /* then a frame of its own */
	if (a->p[7] != 0 || a->p[8] != (unsigned char)(0x60 + a->id))
		zrace_error(a, "data lost");
	return NULL;
}

/* The spaces of a pool read their first page at the same moment, over and
 * over, each round on a new pool: every read shows the zero frame, which
 * starts as a hole in the memfd, so the first spaces to show it race to
 * put its page there (under userfaultfd, UFFDIO_COPY of one space against
 * UFFDIO_CONTINUE of another).  Each read must see zeros - and return. */
static void test_threads_zero_frame_first_show(void **state)
{
	(void)state;
	for (int round = 0; round < ZRACE_ROUNDS; round++) {
		struct dpemu_pool_config pcfg = tu_pool_config(2 * ZRACE_SPACES, 0);
		struct dpemu_space_config scfg = tu_space_config(4 * ps);
		struct zrace_arg args[ZRACE_SPACES];
		pthread_t th[ZRACE_SPACES];
		pthread_barrier_t barrier;
		struct dpemu_pool_stats pst;
		dpemu_pool *pool;
		int i;

		assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
		assert_int_equal(pthread_barrier_init(&barrier, NULL, ZRACE_SPACES), 0);
		for (i = 0; i < ZRACE_SPACES; i++) {
			void *out = NULL;

			memset(&args[i], 0, sizeof args[i]);
			assert_int_equal(dpemu_space_create(pool, &scfg, &args[i].space), 0);
			assert_int_equal(dpemu_map(args[i].space, NULL, 2 * ps, RW,
			                           ANON_PRIVATE, -1, 0, &out), 0);
			args[i].p = out;
			args[i].p[ps] = 1; /* the host view is set up: the race is the zero frame's */
			args[i].barrier = &barrier;
			args[i].id = i;
		}
		for (i = 0; i < ZRACE_SPACES; i++)
			assert_int_equal(pthread_create(&th[i], NULL, zrace_thread, &args[i]), 0);
		for (i = 0; i < ZRACE_SPACES; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			if (args[i].errors != 0)
				fail_msg("round %d, space %d: %d errors, first: %s", round, i,
				         args[i].errors, args[i].why);
		}
		pthread_barrier_destroy(&barrier);
		assert_int_equal(dpemu_pool_stats(pool, &pst), 0);
		assert_int_equal(pst.zero_maps, 0);
		assert_int_equal(pst.frames_used, 2 * ZRACE_SPACES);
		for (i = 0; i < ZRACE_SPACES; i++)
			assert_int_equal(dpemu_space_destroy(args[i].space), 0);
		assert_int_equal(dpemu_pool_destroy(pool), 0);
	}
}

/* ------------------------------------------------------------------------ */
/* Mapping changes in some leaves while others fault                         */
/* ------------------------------------------------------------------------ */

/*
 * Faults take only their leaf's split page-table lock (internal.h); map,
 * protect, query and unmap take the whole space.  Here owner threads keep
 * mapping (64 mappings of 8 pages), writing, write-protecting and
 * unmapping a leaf each - which frees the leaf's page-table node and makes
 * a new one next round - while faulter threads fault other leaves, two of
 * which share a lock stripe with an owner's leaf (stripes are leaf number
 * mod 64).
 */
#define LC_LEAF 512u         /* pages per leaf                          */
#define LC_OWNERS 4
#define LC_ROUNDS 40
#define LC_TOUCH 64          /* pages an owner writes per round         */
#define LC_FAULTERS 2
#define LC_FAULT_PAGES 1024  /* per faulter: two leaves                  */
#define LC_LEAVES 80

struct lc_arg {
	dpemu_space *space;
	pthread_barrier_t *barrier;
	volatile unsigned char *region;
	int id;
	int errors;
	char why[256];
};

static void lc_error(struct lc_arg *a, const char *what, int ret)
{
	if (a->errors++ == 0)
		snprintf(a->why, sizeof a->why, "%s: %d (%s)", what, ret, dpemu_last_error());
}

static void *lc_owner(void *arg)
{
	struct lc_arg *a = arg;

	pthread_barrier_wait(a->barrier);
	for (int r = 0; r < LC_ROUNDS; r++) {
		struct dpemu_page_info info;
		int ret;
		/* One mapping per 8 pages: in the first round the space's mapping
		 * table grows (and moves) while the faulters use it. */
		for (size_t m = 0; m < LC_LEAF / 8; m++) {
			void *out = NULL;
			void *at = (void *)(a->region + m * 8 * ps);
			ret = dpemu_map(a->space, at, 8 * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED,
			                -1, 0, &out);
			if (ret != 0 || out != at) {
				lc_error(a, "map", ret);
				return NULL;
			}
		}
		for (size_t i = 0; i < LC_TOUCH; i++) {
			volatile unsigned char *pg = a->region + i * 8 * ps;
			pg[5] = (unsigned char)(a->id * 64 + r + i); /* one fault */
			if (pg[4] != 0 || pg[6] != 0)
				lc_error(a, "a fresh page is not zero", 0);
		}
		ret = dpemu_protect(a->space, (void *)a->region, LC_LEAF / 2 * ps, PROT_READ);
		if (ret != 0)
			lc_error(a, "protect", ret);
		for (size_t i = 0; i < LC_TOUCH; i++)
			if (a->region[i * 8 * ps + 5] != (unsigned char)(a->id * 64 + r + i))
				lc_error(a, "data lost", 0);
		ret = dpemu_query(a->space, (void *)a->region, &info);
		if (ret != 0 || !info.present || info.prot != PROT_READ)
			lc_error(a, "query", ret);
		ret = dpemu_unmap(a->space, (void *)a->region, LC_LEAF * ps);
		if (ret != 0)
			lc_error(a, "unmap", ret);
	}
	return NULL;
}

static void *lc_faulter(void *arg)
{
	struct lc_arg *a = arg;
	size_t *order = permutation(LC_FAULT_PAGES, 77 + (uint64_t)a->id);

	pthread_barrier_wait(a->barrier);
	for (size_t i = 0; i < LC_FAULT_PAGES; i++) {
		volatile uint64_t *w = (volatile uint64_t *)(a->region + order[i] * ps);
		w[2] = ((uint64_t)a->id << 32) | order[i];
	}
	for (size_t i = 0; i < LC_FAULT_PAGES; i++) {
		volatile uint64_t *w = (volatile uint64_t *)(a->region + i * ps);
		if (w[2] != (((uint64_t)a->id << 32) | i))
			lc_error(a, "data lost", 0);
	}
	free(order);
	return NULL;
}

static void test_threads_leaf_churn(void **state)
{
	const int n = LC_OWNERS + LC_FAULTERS;
	struct lc_arg args[LC_OWNERS + LC_FAULTERS];
	pthread_t th[LC_OWNERS + LC_FAULTERS];
	pthread_barrier_t barrier;
	struct dpemu_stats st;
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned char *base;

	(void)state;
	open_space(LC_OWNERS * LC_TOUCH + LC_FAULTERS * LC_FAULT_PAGES + 64,
	           LC_LEAVES * LC_LEAF, &pool, &space);
	base = dpemu_space_base(space);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, (unsigned)n), 0);
	for (int i = 0; i < n; i++) {
		memset(&args[i], 0, sizeof args[i]);
		args[i].space = space;
		args[i].barrier = &barrier;
		args[i].id = i;
		if (i < LC_OWNERS) {
			/* leaves 0, 2, 4, 6 */
			args[i].region = base + (size_t)(2 * i) * LC_LEAF * ps;
		} else {
			/* leaves 64-65 and 66-67: the stripes of leaves 0-1 and 2-3 */
			void *out = NULL;
			int f = i - LC_OWNERS;
			args[i].region = base + (size_t)(64 + 2 * f) * LC_LEAF * ps;
			assert_int_equal(dpemu_map(space, (void *)args[i].region,
			                           LC_FAULT_PAGES * ps, RW,
			                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out), 0);
		}
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&th[i], NULL,
		                                i < LC_OWNERS ? lc_owner : lc_faulter, &args[i]), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (args[i].errors != 0)
			fail_msg("thread %d: %d errors, first: %s", i, args[i].errors, args[i].why);
	}
	pthread_barrier_destroy(&barrier);

	/* Every counter is the sum of the stripes' shares: all counted once. */
	assert_int_equal(dpemu_space_stats(space, &st), 0);
	assert_int_equal(st.faults, LC_OWNERS * LC_ROUNDS * LC_TOUCH +
	                            LC_FAULTERS * LC_FAULT_PAGES);
	assert_int_equal(st.zero_fills, st.faults);
	assert_int_equal(st.protection_faults, 0);
	assert_int_equal(st.pages_resident, LC_FAULTERS * LC_FAULT_PAGES);
	assert_int_equal(st.mappings, LC_FAULTERS);
	assert_int_equal(frames_used(pool), LC_FAULTERS * LC_FAULT_PAGES);
	close_space(pool, space);
}

static int setup(void **state)
{
	(void)state;
	ps = tu_host_page();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_same_pages),
		cmocka_unit_test(test_threads_disjoint_pages),
		cmocka_unit_test(test_threads_map_while_faulting),
		cmocka_unit_test(test_threads_space_lifecycle),
		cmocka_unit_test(test_threads_out_of_frames),
		cmocka_unit_test(test_threads_zero_frame_first_show),
		cmocka_unit_test(test_threads_leaf_churn),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
