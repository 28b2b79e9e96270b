/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_hostile_api.c - the public calls used the way a hostile (or merely
 * unlucky) program uses them:
 *
 *  - result structs (and config structs) that live in an arena, in a page
 *    that is not present - never touched, or evicted - of the same space
 *    or of another space of the same pool: every call must succeed with the
 *    right values, and faults must work afterwards, from this thread and
 *    from others (a call that wrote its result while holding dpemu's locks
 *    died, left the locks held, or deadlocked with the evictor);
 *  - the same calls under dpemu_catch with the result in a read-only page:
 *    an ordinary protection fault, nothing left locked;
 *  - a space destroyed while another space of the same pool faults: never
 *    an out-of-frames fault because the dying space's frames were briefly
 *    invisible to the evictor;
 *  - dpemu_map failing with -ENOMEM under an address-space limit: the
 *    count of live mappings, the mapping slot and its fd are given back,
 *    the message names the true cause with its numbers.
 *
 * The cases that used to crash or hang run in a forked child with a
 * watchdog (alarm), which reports what went wrong with an exit code and a
 * line on stderr.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/resource.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

static size_t ps;

/* In a child: report a failed check and exit. */
#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",  \
			        __FILE__, __LINE__, #cond, dpemu_last_error());        \
			_exit(1);                                                      \
		}                                                                      \
	} while (0)

/* Run fn(arg) in a child with a watchdog; it must exit 0. */
static void run_child(void (*fn)(void *), void *arg, const char *what)
{
	struct tu_child c;

	assert_int_equal(tu_run_in_child(fn, arg, &c), 0);
	tu_assert_child_ok(&c, what);
}

/* The byte the pattern gives offset off of page pg of space k. */
static unsigned char pattern(int k, size_t pg, size_t off)
{
	return (unsigned char)(k * 101 + pg * 7 + off * 13 + 1);
}

static void fill_page(unsigned char *p, int k, size_t pg)
{
	for (size_t off = 0; off < ps; off++)
		p[off] = pattern(k, pg, off);
}

/* ------------------------------------------------------------------------ */
/* Defect 1: results written into arena pages that are not present           */
/* ------------------------------------------------------------------------ */

#define AP_PAGES 64     /* mapped pages of each space                        */
#define AP_TARGET 10    /* first page of the target space used for results   */
#define AP_CFG 5        /* page of the target space that holds the configs   */
#define AP_SKIP 256     /* bytes at the start of a target page a result may
                           overwrite (every result struct is smaller)        */

struct placement {
	int other;   /* results in space B (same pool), not in A itself       */
	int evicted; /* results in evicted pages (a pool with a policy), not
	                in pages never touched                                */
};

struct ap_rig {
	dpemu_pool *pool;
	dpemu_space *a, *b;
	unsigned char *pa, *pb; /* the mapped pages of A and B               */
	unsigned char *tgt;     /* the target space's pages (pa or pb)       */
	int tk;                 /* its pattern key (0: A, 1: B)              */
	const struct placement *pl;
	int next;               /* next target page                          */
};

/* The next page for a result, checked to be in the state asked for. */
static void *ap_target(struct ap_rig *r)
{
	struct dpemu_page_info pi;
	unsigned char *p = r->tgt + (size_t)(AP_TARGET + r->next++) * ps;

	CHECK(r->next < AP_PAGES - AP_TARGET);
	CHECK(dpemu_query(r->tk ? r->b : r->a, p, &pi) == 0);
	CHECK(pi.mapped && !pi.present);
	CHECK(r->pl->evicted ? pi.swapped : !pi.swapped);
	return p;
}

/* What an untouched or evicted target page must hold outside its result. */
static void ap_check_space(struct ap_rig *r, int k)
{
	unsigned char *base = k ? r->pb : r->pa;

	for (size_t pg = 0; pg < AP_PAGES; pg++) {
		unsigned char *p = base + pg * ps;
		int target = k == r->tk && pg >= AP_TARGET;
		int cfg = k == r->tk && pg == AP_CFG;
		int filled = r->pl->evicted || pg < 4 || cfg;

		for (size_t off = 0; off < ps; off++) {
			if (target && off < AP_SKIP)
				continue;
			if (cfg && off >= ps / 2 && off < ps / 2 + AP_SKIP)
				continue;
			unsigned char want = filled ? pattern(k, pg, off) : 0;
			if (p[off] != want) {
				fprintf(stderr, "space %d page %zu offset %zu: %#x, expected %#x\n", k,
				        pg, off, p[off], want);
				_exit(2);
			}
		}
	}
}

static void *ap_fault_thread(void *arg)
{
	struct ap_rig *r = arg;

	/* Faults from a thread that made none of the calls: write and read
	 * back a byte of every page of both spaces. */
	for (size_t pg = 0; pg < AP_PAGES; pg++) {
		unsigned char *p = r->pa + pg * ps + ps - 1;
		unsigned char *q = r->pb + pg * ps + ps - 1;
		*p = (unsigned char)(*p + 1);
		*q = (unsigned char)(*q + 1);
	}
	return NULL;
}

static void child_results_in_arena(void *arg)
{
	const struct placement *pl = arg;
	struct dpemu_pool_config pcfg = tu_pool_config(pl->evicted ? 4 : 256, 0);
	struct dpemu_space_config scfg = tu_space_config(2 * AP_PAGES * ps);
	struct ap_rig r = { .pl = pl };
	void *p;

	alarm(60); /* a watchdog: a hang becomes a SIGALRM death */
	if (pl->evicted) {
		pcfg.policy = DPEMU_POLICY_CLOCK;
		pcfg.swap_slots = 4 * AP_PAGES;
	}
	CHECK(dpemu_pool_create(&pcfg, &r.pool) == 0);
	CHECK(dpemu_space_create(r.pool, &scfg, &r.a) == 0);
	CHECK(dpemu_space_create(r.pool, &scfg, &r.b) == 0);
	CHECK(dpemu_map(r.a, NULL, AP_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	r.pa = p;
	CHECK(dpemu_map(r.b, NULL, AP_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	r.pb = p;
	r.tk = pl->other;
	r.tgt = pl->other ? r.pb : r.pa;

	/* The configs the create calls read, in an arena page too. */
	struct dpemu_pool_config *cfg_pool = (void *)(r.tgt + AP_CFG * ps + ps / 2);
	struct dpemu_space_config *cfg_space = (void *)(r.tgt + AP_CFG * ps + ps / 2 + 128);

	if (pl->evicted) {
		/* Every page written, then the config page, then pages of the
		 * other space again: all but the last four are evicted. */
		for (size_t pg = 0; pg < AP_PAGES; pg++)
			fill_page(r.pa + pg * ps, 0, pg);
		for (size_t pg = 0; pg < AP_PAGES; pg++)
			fill_page(r.pb + pg * ps, 1, pg);
	} else {
		for (size_t pg = 0; pg < 4; pg++) {
			fill_page(r.pa + pg * ps, 0, pg);
			fill_page(r.pb + pg * ps, 1, pg);
		}
		fill_page(r.tgt + AP_CFG * ps, r.tk, AP_CFG);
	}
	*cfg_pool = tu_pool_config(2, 0);
	*cfg_space = tu_space_config(8 * ps);
	if (pl->evicted) {
		unsigned char *o = pl->other ? r.pa : r.pb;
		for (size_t pg = AP_PAGES - 8; pg < AP_PAGES; pg++)
			fill_page(o + pg * ps, !pl->other, pg);
	}

	/* dpemu_space_stats */
	struct dpemu_stats st0, *st;
	CHECK(dpemu_space_stats(r.a, &st0) == 0);
	st = ap_target(&r);
	CHECK(dpemu_space_stats(r.a, st) == 0);
	CHECK(st->faults == st0.faults && st->pages_resident == st0.pages_resident);
	CHECK(st->mappings == 1 && st->evictions == st0.evictions);
	CHECK(st->zero_fills == st0.zero_fills && st->swap_ins == st0.swap_ins);

	/* dpemu_query */
	struct dpemu_page_info pi0, *pi;
	CHECK(dpemu_query(r.a, r.pa + 3 * ps, &pi0) == 0);
	pi = ap_target(&r);
	CHECK(dpemu_query(r.a, r.pa + 3 * ps, pi) == 0);
	CHECK(pi->mapped && pi->present == pi0.present && pi->frame == pi0.frame);
	CHECK(pi->swapped == pi0.swapped && pi->swap_slot == pi0.swap_slot);
	CHECK(pi->prot == RW && pi->mapping_start == r.pa && pi->anonymous && !pi->shared);

	/* dpemu_pool_stats */
	struct dpemu_pool_stats ps0, *pst;
	CHECK(dpemu_pool_stats(r.pool, &ps0) == 0);
	pst = ap_target(&r);
	CHECK(dpemu_pool_stats(r.pool, pst) == 0);
	CHECK(pst->frames_total == ps0.frames_total && pst->frames_used == ps0.frames_used);
	CHECK(pst->frames_free == ps0.frames_free && pst->spaces == 2);
	CHECK(pst->evictions == ps0.evictions && pst->swap_outs == ps0.swap_outs);
	CHECK(pst->swap_slots_used == ps0.swap_slots_used && pst->page_size == ps);

	/* dpemu_map */
	void **where = ap_target(&r);
	struct dpemu_page_info mi;
	CHECK(dpemu_map(r.a, NULL, ps, RW, ANON_PRIVATE, -1, 0, where) == 0);
	CHECK((uintptr_t)*where >= (uintptr_t)dpemu_space_base(r.a) &&
	      (uintptr_t)*where < (uintptr_t)dpemu_space_base(r.a) + dpemu_space_size(r.a));
	CHECK(dpemu_query(r.a, *where, &mi) == 0 && mi.mapped);
	CHECK(dpemu_unmap(r.a, *where, ps) == 0);

	/* dpemu_space_fork */
	dpemu_space **child = ap_target(&r);
	CHECK(dpemu_space_fork(r.a, child) == 0);
	CHECK(*child != NULL && dpemu_space_size(*child) == dpemu_space_size(r.a));
	CHECK(dpemu_space_destroy(*child) == 0);

	/* dpemu_pool_create, its config in the arena too */
	dpemu_pool **newpool = ap_target(&r);
	struct dpemu_pool_stats nst;
	CHECK(dpemu_pool_create(cfg_pool, newpool) == 0);
	CHECK(dpemu_pool_stats(*newpool, &nst) == 0 && nst.frames_total == 2);
	CHECK(dpemu_pool_destroy(*newpool) == 0);

	/* dpemu_space_create, likewise */
	dpemu_space **newspace = ap_target(&r);
	CHECK(dpemu_space_create(r.pool, cfg_space, newspace) == 0);
	CHECK(dpemu_space_size(*newspace) == 8 * ps);
	CHECK(dpemu_space_destroy(*newspace) == 0);

	/* Nothing is left locked: faults work from this thread ... */
	ap_check_space(&r, 0);
	ap_check_space(&r, 1);
	/* ... and from another one. */
	pthread_t th;
	CHECK(pthread_create(&th, NULL, ap_fault_thread, &r) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(r.pa[ps - 1] == (unsigned char)(pattern(0, 0, ps - 1) + 1));
	CHECK(dpemu_space_stats(r.a, &st0) == 0 && st0.mappings == 1);

	CHECK(dpemu_space_destroy(r.a) == 0);
	CHECK(dpemu_space_destroy(r.b) == 0);
	CHECK(dpemu_pool_stats(r.pool, &ps0) == 0 && ps0.frames_used == 0);
	CHECK(ps0.swap_slots_used == 0);
	CHECK(dpemu_pool_destroy(r.pool) == 0);
}

static void test_results_in_untouched_page_same_space(void **state)
{
	static const struct placement pl = { .other = 0, .evicted = 0 };
	(void)state;
	run_child(child_results_in_arena, (void *)&pl, "untouched page, same space");
}

static void test_results_in_untouched_page_other_space(void **state)
{
	static const struct placement pl = { .other = 1, .evicted = 0 };
	(void)state;
	run_child(child_results_in_arena, (void *)&pl, "untouched page, other space");
}

static void test_results_in_evicted_page_same_space(void **state)
{
	static const struct placement pl = { .other = 0, .evicted = 1 };
	(void)state;
	run_child(child_results_in_arena, (void *)&pl, "evicted page, same space");
}

static void test_results_in_evicted_page_other_space(void **state)
{
	static const struct placement pl = { .other = 1, .evicted = 1 };
	(void)state;
	run_child(child_results_in_arena, (void *)&pl, "evicted page, other space");
}

/* ---- the same calls under dpemu_catch, the result in a read-only page ---- */

enum call { CALL_SPACE_STATS, CALL_QUERY, CALL_POOL_STATS, CALL_MAP, CALL_FORK, NCALLS };

struct catch_call {
	enum call which;
	dpemu_space *space;
	dpemu_pool *pool;
	void *out;
	int rc;
	int returned; /* the call returned (no fault abandoned it) */
};

static void do_call(void *arg)
{
	struct catch_call *c = arg;

	switch (c->which) {
	case CALL_SPACE_STATS: c->rc = dpemu_space_stats(c->space, c->out); break;
	case CALL_QUERY: c->rc = dpemu_query(c->space, dpemu_space_base(c->space), c->out); break;
	case CALL_POOL_STATS: c->rc = dpemu_pool_stats(c->pool, c->out); break;
	case CALL_MAP: c->rc = dpemu_map(c->space, NULL, ps, RW, ANON_PRIVATE, -1, 0, c->out); break;
	default: c->rc = dpemu_space_fork(c->space, c->out); break;
	}
	c->returned = 1;
}

struct lazy_toucher {
	unsigned char *p;
	size_t pages;
};

static void *touch_pages(void *arg)
{
	struct lazy_toucher *t = arg;

	for (size_t i = 0; i < t->pages; i++)
		t->p[i * ps] = (unsigned char)(i + 1);
	return NULL;
}

static void child_catch_readonly_result(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(64, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	struct dpemu_stats st;
	void *p, *ro;

	(void)arg;
	alarm(60);
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	CHECK(dpemu_map(s, NULL, 2 * ps, PROT_READ, ANON_PRIVATE, -1, 0, &ro) == 0);
	CHECK(dpemu_map(s, NULL, 4 * NCALLS * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	CHECK(((volatile unsigned char *)ro)[0] == 0); /* present (read); ro + ps stays lazy */

	unsigned char *lazy = p;
	for (int which = 0; which < NCALLS; which++) {
		for (int page = 0; page < 2; page++) {
			struct catch_call c = { .which = (enum call)which, .space = s, .pool = pool,
			                        .out = (unsigned char *)ro + (size_t)page * ps };
			struct dpemu_fault f;

			CHECK(dpemu_catch(do_call, &c, &f) == 1);
			if (f.kind != DPEMU_FAULT_PROTECTION) {
				fprintf(stderr, "call %d, page %d: a %s fault (error %d), expected "
				        "protection\n", which, page, dpemu_fault_kind_name(f.kind),
				        f.error);
				_exit(3);
			}
			CHECK(!c.returned && f.space == s);
			CHECK((unsigned char *)f.addr >= (unsigned char *)ro + (size_t)page * ps &&
			      (unsigned char *)f.addr < (unsigned char *)ro + (size_t)(page + 1) * ps);
			/* Faults still work on this thread, and the call itself does. */
			struct tu_access a = { lazy, 1, 7, 0 };
			CHECK(dpemu_catch(tu_do_access, &a, &f) == 0 && a.done);
			lazy += ps;
		}
	}
	/* Nothing was left half done: no mapping and no space were added. */
	CHECK(dpemu_space_stats(s, &st) == 0 && st.mappings == 2);
	struct dpemu_pool_stats pst;
	CHECK(dpemu_pool_stats(pool, &pst) == 0 && pst.spaces == 1);
	/* Another thread can fault (and so take the locks). */
	struct lazy_toucher t = { lazy, 2 * NCALLS }; /* the pages not touched yet */
	pthread_t th;
	CHECK(pthread_create(&th, NULL, touch_pages, &t) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(lazy[0] == 1 && lazy[(2 * NCALLS - 1) * ps] == 2 * NCALLS);
	CHECK(dpemu_unmap(s, p, 4 * NCALLS * ps) == 0);
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

static void test_catch_result_in_readonly_page(void **state)
{
	(void)state;
	run_child(child_catch_readonly_result, NULL, "result in a read-only page");
}

/* ---- a result in an evicted page, under dpemu_catch ---- */

static void child_catch_evicted_result(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(32 * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	unsigned char *b;
	void *p;

	(void)arg;
	alarm(60);
	pcfg.policy = DPEMU_POLICY_LRU;
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	CHECK(dpemu_map(s, NULL, 16 * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	b = p;
	for (size_t pg = 0; pg < 16; pg++)
		fill_page(b + pg * ps, 0, pg);
	for (int which = 0; which < NCALLS; which++) {
		struct dpemu_page_info pi;
		struct catch_call c = { .which = (enum call)which, .space = s, .pool = pool,
		                        .out = b + (size_t)which * ps };
		struct dpemu_fault f;

		CHECK(dpemu_query(s, c.out, &pi) == 0 && pi.swapped);
		CHECK(dpemu_catch(do_call, &c, &f) == 0);
		CHECK(c.returned && c.rc == 0 && f.kind == DPEMU_FAULT_NONE);
		if (which == CALL_FORK)
			CHECK(dpemu_space_destroy(*(dpemu_space **)c.out) == 0);
		/* the rest of the page came back from swap */
		for (size_t off = AP_SKIP; off < ps; off++)
			CHECK(b[which * ps + off] == pattern(0, (size_t)which, off));
	}
	for (size_t pg = NCALLS; pg < 16; pg++)
		for (size_t off = 0; off < ps; off++)
			CHECK(b[pg * ps + off] == pattern(0, pg, off));
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

static void test_catch_result_in_evicted_page(void **state)
{
	(void)state;
	run_child(child_catch_evicted_result, NULL, "result in an evicted page under dpemu_catch");
}

/* ---- a result page that another thread's faults keep evicting ---- */

#define EM_PAGES 16      /* the evicting thread's pages, round a 4-frame pool */
#define EM_BUSY 2048     /* resident pages of A that the forking thread copies */
#define EM_FORKS 100      /* calls go on until A was forked this often */

struct em_shared {
	unsigned char *c;  /* space C's pages (pool Q, 4 frames)             */
	dpemu_space *a;
	atomic_int stop;
	atomic_int forks;
};

static void *em_evict_main(void *arg)
{
	struct em_shared *sh = arg;

	for (size_t i = 0; !atomic_load(&sh->stop); i++)
		sh->c[(i % EM_PAGES) * ps + 8] = (unsigned char)i;
	return NULL;
}

/* Hold all of A's locks again and again, for a while each time. */
static void *em_fork_main(void *arg)
{
	struct em_shared *sh = arg;

	while (!atomic_load(&sh->stop)) {
		dpemu_space *child;
		if (dpemu_space_fork(sh->a, &child) != 0 || dpemu_space_destroy(child) != 0)
			_exit(6);
		atomic_fetch_add(&sh->forks, 1);
	}
	return NULL;
}

/*
 * Calls on space A put their results in page P of space C, of another
 * pool, while one thread writes C's other pages round that pool (so P is
 * evicted again and again) and another forks A over and over (so a call
 * waits for A's locks, a while each time, after it may first have touched
 * *out).  Every call must return normally with the right values: a result
 * written under A's locks faulted with the locks held, which the fault
 * path refuses (it cannot know the fault needs none of them).
 */
static void child_results_evicted_meanwhile(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(EM_BUSY + 16, 0);
	struct dpemu_pool_config qcfg = tu_pool_config(4, 0);
	struct dpemu_space_config acfg = tu_space_config(EM_BUSY * ps);
	struct dpemu_space_config ccfg = tu_space_config((EM_PAGES + 1) * ps);
	struct em_shared sh;
	dpemu_pool *pool, *q;
	dpemu_space *a, *c;
	pthread_t ev, fk;
	void *pa, *pc;

	(void)arg;
	alarm(120);
	qcfg.policy = DPEMU_POLICY_FIFO;
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_pool_create(&qcfg, &q) == 0);
	CHECK(dpemu_space_create(pool, &acfg, &a) == 0);
	CHECK(dpemu_space_create(q, &ccfg, &c) == 0);
	CHECK(dpemu_map(a, NULL, EM_BUSY * ps, RW, ANON_PRIVATE, -1, 0, &pa) == 0);
	CHECK(dpemu_map(c, NULL, (EM_PAGES + 1) * ps, RW, ANON_PRIVATE, -1, 0, &pc) == 0);
	CHECK(dpemu_prefault(a, pa, EM_BUSY * ps, PROT_WRITE) == 0);
	struct dpemu_stats a0;
	CHECK(dpemu_space_stats(a, &a0) == 0);
	sh.c = pc;
	sh.a = a;
	atomic_init(&sh.stop, 0);
	atomic_init(&sh.forks, 0);
	unsigned char *page = (unsigned char *)pc + EM_PAGES * ps;
	fill_page(page, 1, EM_PAGES);
	CHECK(pthread_create(&ev, NULL, em_evict_main, &sh) == 0);
	CHECK(pthread_create(&fk, NULL, em_fork_main, &sh) == 0);
	for (int i = 0; atomic_load(&sh.forks) < EM_FORKS; i++) {
		struct catch_call cc = { .which = (enum call)(i % 2), .space = a, .pool = pool,
		                         .out = page };
		struct dpemu_fault f;

		if (dpemu_catch(do_call, &cc, &f) != 0) {
			fprintf(stderr, "call %d: a %s fault (error %d)\n", i,
			        dpemu_fault_kind_name(f.kind), f.error);
			_exit(3);
		}
		CHECK(cc.returned && cc.rc == 0);
		if (cc.which == CALL_SPACE_STATS) {
			const struct dpemu_stats *st = (const void *)page;
			CHECK(st->mappings == 1 && st->pages_resident == EM_BUSY);
			CHECK(st->zero_fills == a0.zero_fills);
		} else {
			const struct dpemu_page_info *pi = (const void *)page;
			CHECK(pi->mapped && pi->present && pi->mapping_start == pa);
		}
	}
	atomic_store(&sh.stop, 1);
	CHECK(pthread_join(ev, NULL) == 0);
	CHECK(pthread_join(fk, NULL) == 0);
	for (size_t off = AP_SKIP; off < ps; off++)
		CHECK(page[off] == pattern(1, EM_PAGES, off));
	CHECK(dpemu_space_destroy(a) == 0);
	CHECK(dpemu_space_destroy(c) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
	CHECK(dpemu_pool_destroy(q) == 0);
}

static void test_results_in_page_evicted_meanwhile(void **state)
{
	(void)state;
	run_child(child_results_evicted_meanwhile, NULL, "result page evicted meanwhile");
}

/* ------------------------------------------------------------------------ */
/* Defect 8: destroying a space while another space of the pool faults       */
/* ------------------------------------------------------------------------ */

#define DD_FRAMES 16
#define DD_PAGES 48    /* space A's working set: three times the pool       */
#define DD_THREADS 2
#define DD_B_PAGES 32  /* space B fills the pool, and more, then goes       */
#define DD_ROUNDS 100

struct dd_shared {
	dpemu_pool *pool;
	unsigned char *a;
	unsigned char *shadow;
	atomic_int stop;
	atomic_ulong failed;   /* accesses that faulted (out of frames)      */
	atomic_ulong mismatch; /* bytes that read back wrong                 */
	atomic_ulong ops;
};

struct dd_thread {
	struct dd_shared *sh;
	unsigned id;
	uint64_t seed;
};

struct dd_access {
	volatile unsigned char *p;
	unsigned char val, got;
	int write;
};

static void dd_do(void *arg)
{
	struct dd_access *x = arg;

	if (x->write)
		*x->p = x->val;
	else
		x->got = *x->p;
}

/* Each thread owns the pages p with p % DD_THREADS == id. */
static void *dd_fault_main(void *arg)
{
	struct dd_thread *t = arg;
	struct dd_shared *sh = t->sh;

	while (!atomic_load(&sh->stop)) {
		uint64_t r = tu_xorshift(&t->seed);
		size_t pg = (size_t)(r % (DD_PAGES / DD_THREADS)) * DD_THREADS + t->id;
		size_t off = pg * ps + (size_t)((r >> 16) % ps);
		struct dd_access x = { sh->a + off, (unsigned char)(r >> 40), 0, (int)(r >> 8) & 1 };
		struct dpemu_fault f;

		if (dpemu_catch(dd_do, &x, &f) != 0) {
			atomic_fetch_add(&sh->failed, 1);
			continue;
		}
		if (x.write)
			sh->shadow[off] = x.val;
		else if (x.got != sh->shadow[off])
			atomic_fetch_add(&sh->mismatch, 1);
		atomic_fetch_add(&sh->ops, 1);
	}
	return NULL;
}

static void dd_run(enum dpemu_policy policy)
{
	struct dpemu_pool_config pcfg = tu_pool_config(DD_FRAMES, 0);
	struct dpemu_space_config scfg = tu_space_config(DD_PAGES * ps);
	struct dpemu_space_config bcfg = tu_space_config(DD_B_PAGES * ps);
	struct dd_shared sh = { .a = NULL };
	struct dd_thread t[DD_THREADS];
	pthread_t th[DD_THREADS];
	dpemu_space *a;
	unsigned long b_failed = 0;
	void *p;

	pcfg.policy = policy;
	pcfg.seed = 7;
	CHECK(dpemu_pool_create(&pcfg, &sh.pool) == 0);
	CHECK(dpemu_space_create(sh.pool, &scfg, &a) == 0);
	CHECK(dpemu_map(a, NULL, DD_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	sh.a = p;
	sh.shadow = calloc(DD_PAGES, ps);
	CHECK(sh.shadow != NULL);
	atomic_init(&sh.stop, 0);
	for (unsigned i = 0; i < DD_THREADS; i++) {
		t[i] = (struct dd_thread){ &sh, i, 0x51ed27ull * (i + 3) };
		CHECK(pthread_create(&th[i], NULL, dd_fault_main, &t[i]) == 0);
	}
	for (int round = 0; round < DD_ROUNDS; round++) {
		dpemu_space *b;
		unsigned char *pb;

		CHECK(dpemu_space_create(sh.pool, &bcfg, &b) == 0);
		CHECK(dpemu_map(b, NULL, DD_B_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
		pb = p;
		for (size_t pg = 0; pg < DD_B_PAGES; pg++) {
			struct dd_access x = { pb + pg * ps, (unsigned char)(round + pg), 0, 1 };
			struct dpemu_fault f;
			b_failed += (unsigned long)dpemu_catch(dd_do, &x, &f);
		}
		for (size_t pg = 0; pg < DD_B_PAGES; pg++) {
			struct dd_access x = { pb + pg * ps, 0, 0, 0 };
			struct dpemu_fault f;
			if (dpemu_catch(dd_do, &x, &f) != 0)
				b_failed++;
			else if (x.got != (unsigned char)(round + pg))
				atomic_fetch_add(&sh.mismatch, 1);
		}
		CHECK(dpemu_space_destroy(b) == 0);
	}
	atomic_store(&sh.stop, 1);
	for (unsigned i = 0; i < DD_THREADS; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	if (atomic_load(&sh.failed) || b_failed || atomic_load(&sh.mismatch)) {
		fprintf(stderr, "%s: %lu of %lu accesses of A and %lu of B's faulted, %lu bytes "
		        "read back wrong\n", dpemu_policy_name(policy), atomic_load(&sh.failed),
		        atomic_load(&sh.ops), b_failed, atomic_load(&sh.mismatch));
		_exit(4);
	}
	for (size_t i = 0; i < DD_PAGES * ps; i++)
		CHECK(sh.a[i] == sh.shadow[i]);
	CHECK(dpemu_space_destroy(a) == 0);
	struct dpemu_pool_stats st;
	CHECK(dpemu_pool_stats(sh.pool, &st) == 0);
	CHECK(st.frames_used == 0 && st.swap_slots_used == 0 && st.evictions > 0);
	CHECK(dpemu_pool_destroy(sh.pool) == 0);
	free(sh.shadow);
}

static void child_destroy_while_faulting(void *arg)
{
	(void)arg;
	alarm(120);
	for (int pol = DPEMU_POLICY_FIFO; pol <= DPEMU_POLICY_RANDOM; pol++)
		dd_run((enum dpemu_policy)pol);
}

static void test_destroy_other_space_while_faulting(void **state)
{
	(void)state;
	run_child(child_destroy_while_faulting, NULL, "destroy while another space faults");
}

/* ------------------------------------------------------------------------ */
/* Defect 11: dpemu_map failing with -ENOMEM under RLIMIT_AS                 */
/* ------------------------------------------------------------------------ */

/* Lower the address-space limit to what is in use plus slack bytes. */
static void limit_address_space(size_t slack)
{
	long kib = tu_status_kib("VmSize:");
	struct rlimit rl;

	CHECK(kib > 0);
	CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
	rl.rlim_cur = (rlim_t)kib * 1024 + slack;
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
}

static void unlimit_address_space(void)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
}

static uint64_t live_mappings(dpemu_space *s)
{
	struct dpemu_stats st;

	CHECK(dpemu_space_stats(s, &st) == 0);
	return st.mappings;
}

/*
 * One-page mappings, each in a 512-page block of its own so that each
 * needs a page-table node, until the node slab cannot be mapped: the
 * failed map must give back its count, its slot and its fd.
 */
#define PT_BLOCK 512
#define PT_BLOCKS 256

static void child_map_enomem_page_table(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(PT_BLOCKS, 0);
	struct dpemu_space_config scfg = tu_space_config((size_t)PT_BLOCK * PT_BLOCKS * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	unsigned char *base;
	char path[64];
	void *p;
	int fd, fds_before, k, rc = 0;

	(void)arg;
	alarm(60);
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	base = dpemu_space_base(s);
	/* Grow the mapping table first (128 slots), so that the page table's
	 * node slab is what the limit refuses. */
	for (k = 0; k < 128; k++)
		CHECK(dpemu_map(s, base + (size_t)k * ps, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1,
		                0, &p) == 0);
	CHECK(dpemu_unmap(s, base, 128 * ps) == 0);
	CHECK(live_mappings(s) == 0);
	fd = tu_temp_file("x", 1, path);
	CHECK(fd >= 0);
	unlink(path);
	fds_before = tu_count_dir("/proc/self/fd");

	limit_address_space(128 * 1024);
	for (k = 0; k < PT_BLOCKS; k++) {
		rc = dpemu_map(s, base + (size_t)k * PT_BLOCK * ps, ps, RW,
		               ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p);
		if (rc != 0)
			break;
	}
	CHECK(k > 0 && k < PT_BLOCKS);
	CHECK(rc == -ENOMEM);
	char msg[512];
	snprintf(msg, sizeof msg, "%s", dpemu_last_error());
	CHECK(live_mappings(s) == (uint64_t)k);
	if (!strstr(msg, "page table") || !strstr(msg, "RLIMIT_AS") || strstr(msg, "too many")) {
		fprintf(stderr, "the message does not name the cause: %s\n", msg);
		_exit(5);
	}
	/* A file mapping fails the same way and keeps no fd. */
	CHECK(dpemu_map(s, base + (size_t)k * PT_BLOCK * ps, ps, PROT_READ,
	                DPEMU_MAP_PRIVATE | DPEMU_MAP_FIXED, fd, 0, &p) == -ENOMEM);
	CHECK(live_mappings(s) == (uint64_t)k);
	struct dpemu_page_info pi;
	CHECK(dpemu_query(s, base + (size_t)k * PT_BLOCK * ps, &pi) == 0 && !pi.mapped);
	/* Unmapping one gives its node back: the next map fits in it. */
	CHECK(dpemu_unmap(s, base + (size_t)(k - 1) * PT_BLOCK * ps, ps) == 0);
	CHECK(live_mappings(s) == (uint64_t)k - 1);
	CHECK(dpemu_map(s, base + (size_t)k * PT_BLOCK * ps, ps, RW,
	                ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0);
	CHECK(live_mappings(s) == (uint64_t)k);
	unlimit_address_space();
	CHECK(tu_count_dir("/proc/self/fd") == fds_before);
	/* With the limit gone, every block maps: as many as there should be. */
	CHECK(dpemu_map(s, base + (size_t)(k - 1) * PT_BLOCK * ps, ps, RW,
	                ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0);
	for (int j = k + 1; j < PT_BLOCKS; j++)
		CHECK(dpemu_map(s, base + (size_t)j * PT_BLOCK * ps, ps, RW,
		                ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0);
	CHECK(live_mappings(s) == PT_BLOCKS);
	for (int j = 0; j < PT_BLOCKS; j++) /* each is a working mapping */
		base[(size_t)j * PT_BLOCK * ps] = 1;
	close(fd);
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

static void test_map_enomem_page_table(void **state)
{
	(void)state;
	run_child(child_map_enomem_page_table, NULL, "dpemu_map -ENOMEM (page table)");
}

/*
 * 16,384 mappings, then a limit that stops the mapping table from growing
 * to 32,768 entries: -ENOMEM that says so, not "too many mappings".
 */
#define MT_MAPS 16384

static void child_map_enomem_table(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(16, 0);
	struct dpemu_space_config scfg = tu_space_config((size_t)(MT_MAPS + 512) * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	unsigned char *base;
	void *p;

	(void)arg;
	alarm(60);
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	base = dpemu_space_base(s);
	for (size_t k = 0; k < MT_MAPS; k++)
		CHECK(dpemu_map(s, base + k * ps, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
		                &p) == 0);
	limit_address_space(128 * 1024);
	CHECK(dpemu_map(s, base + MT_MAPS * ps, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
	                &p) == -ENOMEM);
	const char *msg = dpemu_last_error();
	if (strstr(msg, "65535") || strstr(msg, "too many") || !strstr(msg, "16384 mappings") ||
	    !strstr(msg, "32768 entries") || !strstr(msg, "RLIMIT_AS")) {
		fprintf(stderr, "the message does not name the cause: %s\n", msg);
		_exit(5);
	}
	CHECK(live_mappings(s) == MT_MAPS);
	unlimit_address_space();
	CHECK(dpemu_map(s, base + MT_MAPS * ps, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
	                &p) == 0);
	CHECK(live_mappings(s) == MT_MAPS + 1);
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif

static void test_map_enomem_mapping_table(void **state)
{
	(void)state;
#ifdef TU_ASAN
	/* AddressSanitizer's allocator treats a refused realloc as a fatal
	 * error (and does not support RLIMIT_AS): nothing to learn here. */
	skip();
#endif
	run_child(child_map_enomem_table, NULL, "dpemu_map -ENOMEM (mapping table)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_in_untouched_page_same_space),
		cmocka_unit_test(test_results_in_untouched_page_other_space),
		cmocka_unit_test(test_results_in_evicted_page_same_space),
		cmocka_unit_test(test_results_in_evicted_page_other_space),
		cmocka_unit_test(test_catch_result_in_readonly_page),
		cmocka_unit_test(test_catch_result_in_evicted_page),
		cmocka_unit_test(test_results_in_page_evicted_meanwhile),
		cmocka_unit_test(test_destroy_other_space_while_faulting),
		cmocka_unit_test(test_map_enomem_page_table),
		cmocka_unit_test(test_map_enomem_mapping_table),
	};

	ps = tu_host_page();
	if (getenv("DPEMU_TEST_FILTER")) /* e.g. "test_map_*" */
		cmocka_set_test_filter(getenv("DPEMU_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
