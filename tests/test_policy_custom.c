/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_policy_custom.c - DPEMU_POLICY_CUSTOM, a replacement policy of the
 * program's own (struct dpemu_policy_ops): the configurations refused,
 * init and fini, what pick is shown (every frame, in load order, with the
 * pool's clock, reference and dirty bits), that its victim is the one
 * evicted, that clear and requeue do what CLOCK does (a CLOCK written as
 * a custom policy takes exactly the library's CLOCK's faults), an index
 * out of range, and every byte surviving.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define MAXF 16

static size_t ps;

/* What a policy saw and did (the tests' policies share it). */
struct seen {
	size_t init_frames;
	int inits, finis, picks;
	int init_err;
	size_t n[64];                   /* per pick: frames shown              */
	uint64_t now[64];
	struct dpemu_frame_view v[64][MAXF];
	size_t answer;                  /* fixed answer; SIZE_MAX: see rule    */
	enum { OLDEST, YOUNGEST, FIXED, CLOCK2 } rule;
};

static int seen_init(void *arg, size_t frames, void **state)
{
	struct seen *s = arg;

	s->inits++;
	s->init_frames = frames;
	*state = s;
	return s->init_err;
}

static void seen_fini(void *state)
{
	((struct seen *)state)->finis++;
}

/* Records what it is shown, then answers by s->rule.  CLOCK2 is second
 * chance: the first frame without its reference bit; the ones before it
 * lose theirs and go to the young end (as the library's CLOCK). */
static size_t seen_pick(void *arg, struct dpemu_frame_view *v, size_t n, uint64_t now,
                        uint64_t now_ns)
{
	struct seen *s = arg;

	(void)now_ns;
	if (s->picks < 64) {
		s->n[s->picks] = n;
		s->now[s->picks] = now;
		memcpy(s->v[s->picks], v, (n < MAXF ? n : MAXF) * sizeof *v);
	}
	s->picks++;
	switch (s->rule) {
	case OLDEST:   return 0;
	case YOUNGEST: return n - 1;
	case FIXED:    return s->answer;
	case CLOCK2:
		for (size_t i = 0; i < n; i++) {
			if (!v[i].referenced)
				return i;
			v[i].clear = 1;
			v[i].requeue = 1;
		}
		return 0; /* every bit was set: the oldest, as CLOCK's second lap */
	}
	return 0;
}

struct rig {
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned char *base;
	struct dpemu_policy_ops ops;
};

static void rig_open(struct rig *r, size_t frames, struct seen *s, size_t pages)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * ps);
	void *p;

	r->ops = (struct dpemu_policy_ops){ .name = "test", .arg = s, .init = seen_init,
	                                    .fini = seen_fini, .pick = seen_pick };
	pcfg.policy = s ? DPEMU_POLICY_CUSTOM : DPEMU_POLICY_CLOCK;
	pcfg.custom = s ? &r->ops : NULL;
	assert_int_equal(dpemu_pool_create(&pcfg, &r->pool), 0);
	assert_int_equal(dpemu_space_create(r->pool, &scfg, &r->space), 0);
	assert_int_equal(dpemu_map(r->space, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	r->base = p;
}

static void rig_close(struct rig *r)
{
	assert_int_equal(dpemu_space_destroy(r->space), 0);
	assert_int_equal(dpemu_pool_destroy(r->pool), 0);
}

static uint64_t page_ins(dpemu_space *sp)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(sp, &st), 0);
	return st.zero_fills + st.file_reads + st.swap_ins;
}

static void write_page(struct rig *r, int page)
{
	((volatile unsigned char *)r->base)[(size_t)page * ps] = (unsigned char)(page + 1);
}

static unsigned read_page(struct rig *r, int page)
{
	return ((volatile unsigned char *)r->base)[(size_t)page * ps];
}

static int pool_create_err(struct dpemu_pool_config *cfg)
{
	dpemu_pool *pool = NULL;
	int err = dpemu_pool_create(cfg, &pool);

	if (err == 0)
		dpemu_pool_destroy(pool);
	return err;
}

static void test_config_refused(void **state)
{
	struct seen s = { 0 };
	struct dpemu_policy_ops ops = { .name = "x", .arg = &s, .pick = seen_pick };
	struct dpemu_policy_ops no_pick = { .name = "x", .arg = &s };
	struct dpemu_pool_config cfg = tu_pool_config(4, 0);

	(void)state;
	cfg.policy = DPEMU_POLICY_CUSTOM;
	assert_int_equal(pool_create_err(&cfg), -EINVAL); /* no custom */
	assert_non_null(strstr(dpemu_last_error(), "pick"));
	cfg.custom = &no_pick;
	assert_int_equal(pool_create_err(&cfg), -EINVAL);
	cfg.custom = &ops;
	cfg.policy = DPEMU_POLICY_FIFO;
	assert_int_equal(pool_create_err(&cfg), -EINVAL); /* custom with FIFO */
	assert_non_null(strstr(dpemu_last_error(), "DPEMU_POLICY_CUSTOM"));
	cfg.policy = DPEMU_POLICY_NONE;
	assert_int_equal(pool_create_err(&cfg), -EINVAL);
	cfg.policy = (enum dpemu_policy)(DPEMU_POLICY_CUSTOM + 1);
	assert_int_equal(pool_create_err(&cfg), -EINVAL);
	cfg.policy = DPEMU_POLICY_CUSTOM;
	assert_int_equal(pool_create_err(&cfg), 0); /* init and fini are optional */
	assert_int_equal(s.picks, 0);
	assert_string_equal(dpemu_policy_name(DPEMU_POLICY_CUSTOM), "custom");
}

/* init sees the frame count once; its error is the create's, and then
 * fini is not called; fini runs once at destroy. */
static void test_init_and_fini(void **state)
{
	struct seen s = { .init_err = -ENOSPC };
	struct dpemu_policy_ops ops = { .name = "mine", .arg = &s, .init = seen_init,
	                                .fini = seen_fini, .pick = seen_pick };
	struct dpemu_pool_config cfg = tu_pool_config(7, 0);
	dpemu_pool *pool;

	(void)state;
	cfg.policy = DPEMU_POLICY_CUSTOM;
	cfg.custom = &ops;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -ENOSPC);
	assert_non_null(strstr(dpemu_last_error(), "mine"));
	assert_int_equal(s.inits, 1);
	assert_int_equal(s.finis, 0);
	s.init_err = 0;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_int_equal(s.inits, 2);
	assert_int_equal(s.init_frames, 7);
	assert_int_equal(s.finis, 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	assert_int_equal(s.finis, 1);
}

/* Per-pool state: each pool's init makes its own, pick and fini get it. */
static int counted[2], nfini;

static int count_init(void *arg, size_t frames, void **state)
{
	(void)frames;
	*state = &counted[(*(int *)arg)++];
	return 0;
}

static size_t count_pick(void *state, struct dpemu_frame_view *v, size_t n, uint64_t now,
                         uint64_t now_ns)
{
	(void)v, (void)n, (void)now, (void)now_ns;
	(*(int *)state)++;
	return 0;
}

static void count_fini(void *state)
{
	assert_true(state == &counted[0] || state == &counted[1]);
	nfini++;
}

static void test_state_per_pool(void **state)
{
	int next = 0;
	struct dpemu_policy_ops ops = { .name = "count", .arg = &next, .init = count_init,
	                                .fini = count_fini, .pick = count_pick };
	struct rig r[2];

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct dpemu_pool_config pcfg = tu_pool_config(2, 0);
		struct dpemu_space_config scfg = tu_space_config(8 * ps);
		void *p;
		pcfg.policy = DPEMU_POLICY_CUSTOM;
		pcfg.custom = &ops;
		assert_int_equal(dpemu_pool_create(&pcfg, &r[k].pool), 0);
		assert_int_equal(dpemu_space_create(r[k].pool, &scfg, &r[k].space), 0);
		assert_int_equal(dpemu_map(r[k].space, NULL, 8 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
		r[k].base = p;
	}
	assert_int_equal(next, 2);
	for (int p = 0; p < 5; p++) /* pool 0: 3 evictions */
		write_page(&r[0], p);
	for (int p = 0; p < 3; p++) /* pool 1: 1 */
		write_page(&r[1], p);
	assert_int_equal(counted[0], 3);
	assert_int_equal(counted[1], 1);
	rig_close(&r[0]);
	rig_close(&r[1]);
	assert_int_equal(nfini, 2);
}

/* pick is shown every frame in load order with their load stamps, the
 * clock (frames loaded so far), and the dirty bits; the oldest as victim
 * is FIFO: Belady's string takes 9 faults with 3 frames, 10 with 4. */
static void test_shown_in_load_order_fifo(void **state)
{
	static const int belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
	(void)state;
	for (size_t frames = 3; frames <= 4; frames++) {
		struct seen s = { .rule = OLDEST };
		struct rig r;
		rig_open(&r, frames, &s, 8);
		for (size_t i = 0; i < sizeof belady / sizeof belady[0]; i++)
			write_page(&r, belady[i] - 1);
		uint64_t faults = page_ins(r.space);
		assert_int_equal(faults, frames == 3 ? 9 : 10);
		assert_int_equal(s.picks, (int)(faults - frames));
		for (int k = 0; k < s.picks && k < 64; k++) {
			assert_int_equal(s.n[k], frames);
			assert_int_equal(s.now[k], frames + (uint64_t)k); /* loads so far */
			for (size_t i = 0; i < frames; i++) {
				assert_true(s.v[k][i].frame < frames);
				assert_int_equal(s.v[k][i].pages, 1);
				assert_int_equal(s.v[k][i].dirty, 1);
				if (i > 0)
					assert_true(s.v[k][i - 1].loaded < s.v[k][i].loaded);
			}
			/* FIFO keeps the newest `frames` loads */
			assert_int_equal(s.v[k][0].loaded, s.now[k] - frames);
		}
		rig_close(&r);
		assert_int_equal(s.finis, 1);
	}
}

/* The victim picked is the page evicted: always the youngest (MRU). */
static void test_victim_is_evicted(void **state)
{
	struct seen s = { .rule = YOUNGEST };
	struct rig r;

	(void)state;
	rig_open(&r, 3, &s, 8);
	for (int p = 0; p < 4; p++) /* 0, 1, 2 fill; 3 evicts 2 */
		write_page(&r, p);
	assert_int_equal(page_ins(r.space), 4);
	assert_int_equal(read_page(&r, 0), 1);
	assert_int_equal(read_page(&r, 1), 2);
	assert_int_equal(page_ins(r.space), 4); /* 0 and 1 stayed */
	assert_int_equal(read_page(&r, 2), 3);  /* 2 comes back from swap */
	assert_int_equal(page_ins(r.space), 5);
	rig_close(&r);
}

/* The dirty bit: a page only read is clean, a written one dirty. */
static void test_dirty_bits(void **state)
{
	struct seen s = { .rule = OLDEST };
	struct rig r;

	(void)state;
	rig_open(&r, 3, &s, 8);
	write_page(&r, 0);
	(void)read_page(&r, 1);
	write_page(&r, 2);
	write_page(&r, 3);
	assert_int_equal(s.picks, 1);
	assert_int_equal(s.n[0], 3);
	assert_int_equal(s.v[0][0].dirty, 1);
	assert_int_equal(s.v[0][1].dirty, 0);
	assert_int_equal(s.v[0][2].dirty, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.v[0][i].referenced, 1); /* set when loaded */
	rig_close(&r);
}

/* An index past the end takes the oldest frame, as if it said 0. */
static void test_index_out_of_range(void **state)
{
	struct seen s = { .rule = FIXED, .answer = 99 };
	struct rig r;

	(void)state;
	rig_open(&r, 2, &s, 8);
	write_page(&r, 0);
	write_page(&r, 1);
	write_page(&r, 2); /* evicts 0 */
	assert_int_equal(read_page(&r, 1), 2);
	assert_int_equal(page_ins(r.space), 3);
	assert_int_equal(read_page(&r, 0), 1);
	assert_int_equal(page_ins(r.space), 4);
	rig_close(&r);
}

/* clear and requeue are CLOCK's tools: a second chance written with them
 * takes exactly the library's CLOCK's faults on a mixed string, and every
 * byte comes back. */
static void test_clock_written_as_custom(void **state)
{
	enum { PAGES = 10, N = 400 };
	int refs[N];
	uint64_t x = 88172645463325252ull;
	uint64_t faults[2];

	(void)state;
	for (int i = 0; i < N; i++) { /* a skewed string: low pages often */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		refs[i] = (int)((x % PAGES) * (x / PAGES % PAGES) / PAGES);
	}
	for (int k = 0; k < 2; k++) {
		struct seen s = { .rule = CLOCK2 };
		struct rig r;
		unsigned char want[PAGES] = { 0 };
		rig_open(&r, 4, k ? &s : NULL, PAGES);
		for (int i = 0; i < N; i++) {
			if (i % 3 == 0) {
				assert_int_equal(read_page(&r, refs[i]), want[refs[i]]);
			} else {
				want[refs[i]] = (unsigned char)(i | 1);
				((volatile unsigned char *)r.base)[(size_t)refs[i] * ps] = want[refs[i]];
			}
		}
		for (int p = 0; p < PAGES; p++)
			assert_int_equal(read_page(&r, p), want[p]);
		faults[k] = page_ins(r.space);
		rig_close(&r);
	}
	assert_true(faults[0] > 4);
	assert_int_equal(faults[1], faults[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_init_and_fini),
		cmocka_unit_test(test_state_per_pool),
		cmocka_unit_test(test_shown_in_load_order_fifo),
		cmocka_unit_test(test_victim_is_evicted),
		cmocka_unit_test(test_dirty_bits),
		cmocka_unit_test(test_index_out_of_range),
		cmocka_unit_test(test_clock_written_as_custom),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
