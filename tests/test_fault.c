/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fault.c - faults dpemu cannot resolve: the default death (in forked
 * children), dpemu_catch, faults outside every arena and the handler the
 * program had before, several spaces on one pool, and the fault counters.
 */
#include "testutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

struct env {
	dpemu_pool *pool;
	dpemu_space *space;
	char *base;
	size_t ps;
};

static void env_open(struct env *e, size_t frames, size_t pages)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * tu_host_page());

	memset(e, 0, sizeof *e);
	e->ps = tu_host_page();
	assert_int_equal(dpemu_pool_create(&pcfg, &e->pool), 0);
	assert_int_equal(dpemu_space_create(e->pool, &scfg, &e->space), 0);
	e->base = dpemu_space_base(e->space);
}

static void env_close(struct env *e)
{
	assert_int_equal(dpemu_space_destroy(e->space), 0);
	assert_int_equal(dpemu_pool_destroy(e->pool), 0);
}

static char *map_fixed(struct env *e, size_t page, size_t pages, int prot)
{
	void *out = NULL;

	assert_int_equal(dpemu_map(e->space, e->base + page * e->ps,
	                           pages * e->ps, prot,
	                           ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out),
	                 0);
	return out;
}

static struct dpemu_stats stats(dpemu_space *s)
{
	struct dpemu_stats st;

	assert_int_equal(dpemu_space_stats(s, &st), 0);
	return st;
}

static uint64_t frames_used(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	assert_int_equal(dpemu_pool_stats(pool, &st), 0);
	return st.frames_used;
}

/* SIGSEGV and SIGBUS are not left blocked (e.g. by an abandoned handler). */
static void assert_fault_signals_unblocked(void)
{
	sigset_t set;

	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
	assert_false(sigismember(&set, SIGSEGV));
	assert_false(sigismember(&set, SIGBUS));
}

/* ------------------------------------------------------------------------ */
/* Faults outside every arena: the program's own handler                     */
/* ------------------------------------------------------------------------ */

static sigjmp_buf chain_jmp;
static void *volatile chain_addr;
static volatile int chain_calls;
static volatile int chain_signo;
static volatile int chain_fix; /* 1: make the page accessible and return */
static void *volatile chain_page;
static size_t chain_len;

static void chain_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	chain_calls++;
	chain_signo = sig;
	chain_addr = si->si_addr;
	if (chain_fix) {
		mprotect(chain_page, chain_len, PROT_READ | PROT_WRITE);
		return;
	}
	siglongjmp(chain_jmp, 1);
}

static void install_chain_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = chain_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, NULL), 0);
}

/*
 * A program's SA_SIGINFO handler installed before the first
 * dpemu_space_create receives faults outside every arena, with their real
 * si_addr; it may siglongjmp out, or fix the page and return.  Faults inside
 * the arena stay dpemu's.
 *
 * This must be the first test of the program: no space may exist before it.
 */
static void test_previous_handler_gets_outside_faults(void **state)
{
	struct env e;
	volatile char *page;
	char *p;
	size_t ps = tu_host_page();

	(void)state;
	chain_calls = 0;
	chain_fix = 0;
	install_chain_handler();
	env_open(&e, 16, 64); /* dpemu's first install in this process */

	page = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	chain_page = (void *)page;
	chain_len = ps;

	/* Inside the arena: dpemu resolves it, the program's handler is not
	 * called. */
	p = map_fixed(&e, 0, 4, RW);
	p[0] = 1;
	assert_int_equal(p[0], 1);
	assert_int_equal(chain_calls, 0);

	/* Outside: the program's handler sees the real address. */
	if (sigsetjmp(chain_jmp, 1) == 0) {
		(void)page[123];
		fail_msg("the read of a PROT_NONE page went through");
	}
	assert_int_equal(chain_calls, 1);
	assert_int_equal(chain_signo, SIGSEGV);
	assert_ptr_equal(chain_addr, (void *)(page + 123));

	/* The handler may also make the page accessible and return: the
	 * access is then retried and succeeds. */
	chain_fix = 1;
	page[7] = 42;
	assert_int_equal(page[7], 42);
	assert_int_equal(chain_calls, 2);
	assert_ptr_equal(chain_addr, (void *)(page + 7));

	/* dpemu still works, for resolvable and unresolvable faults. */
	p[e.ps] = 2;
	assert_int_equal(p[e.ps], 2);
	tu_assert_caught(e.space, e.base + 10 * e.ps, 0, DPEMU_FAULT_UNMAPPED);
	assert_int_equal(chain_calls, 2);
	assert_fault_signals_unblocked();

	munmap((void *)page, ps);
	env_close(&e);
}

/* ------------------------------------------------------------------------ */
/* Children that die                                                          */
/* ------------------------------------------------------------------------ */

/* Shared with the children: the address a child is about to touch. */
static void *volatile *shared_addr;

static void child_setup(struct env *e, size_t frames, size_t pages)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(pages * tu_host_page());

	e->ps = tu_host_page();
	if (dpemu_pool_create(&pcfg, &e->pool) != 0)
		_exit(10);
	if (dpemu_space_create(e->pool, &scfg, &e->space) != 0)
		_exit(11);
	e->base = dpemu_space_base(e->space);
}

static char *child_map(struct env *e, size_t page, size_t pages, int prot)
{
	void *out = NULL;

	if (dpemu_map(e->space, e->base + page * e->ps, pages * e->ps, prot,
	              ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &out) != 0)
		_exit(12);
	return out;
}

static void child_unmapped(void *arg)
{
	struct env e;
	volatile char *p;

	(void)arg;
	child_setup(&e, 8, 16);
	p = child_map(&e, 0, 2, RW);
	p[0] = 1; /* resolvable: no message, no death */
	*shared_addr = e.base + 5 * e.ps + 123;
	(void)*(volatile char *)(e.base + 5 * e.ps + 123);
	_exit(3);
}

static void child_protection(void *arg)
{
	struct env e;
	volatile char *p;

	(void)arg;
	child_setup(&e, 8, 16);
	p = child_map(&e, 2, 2, PROT_READ);
	if (p[0] != 0)
		_exit(13);
	*shared_addr = (void *)(p + 77);
	p[77] = 1;
	_exit(3);
}

static void child_out_of_frames(void *arg)
{
	struct env e;
	volatile char *p;

	(void)arg;
	child_setup(&e, 2, 16);
	p = child_map(&e, 0, 3, RW);
	p[0] = 1;
	p[e.ps] = 1;
	*shared_addr = (void *)(p + 2 * e.ps + 9);
	p[2 * e.ps + 9] = 1;
	_exit(3);
}

/* Touching a destroyed space's arena is an ordinary segmentation fault. */
static void child_after_destroy(void *arg)
{
	struct env e;
	volatile char *p;

	(void)arg;
	child_setup(&e, 8, 16);
	p = child_map(&e, 0, 2, RW);
	p[0] = 1;
	if (dpemu_space_destroy(e.space) != 0)
		_exit(14);
	*shared_addr = (void *)p;
	p[0] = 2;
	_exit(3);
}

/* A NULL dereference in a program that uses dpemu.  (Exempt from UBSan,
 * which would report the deliberate store instead of letting it fault.) */
__attribute__((no_sanitize("undefined")))
static void child_null(void *arg)
{
	struct env e;
	volatile char *p;

	(void)arg;
	child_setup(&e, 8, 16);
	p = child_map(&e, 0, 2, RW);
	p[0] = 1;
	*(volatile int *)(uintptr_t)arg = 1;
	_exit(3);
}

static void run_child(void (*fn)(void *), void *arg, struct tu_child *c)
{
	*shared_addr = NULL;
	assert_int_equal(tu_run_in_child(fn, arg, c), 0);
	if (WIFEXITED(c->status))
		fail_msg("child exited with status %d (stderr: %s)",
		         WEXITSTATUS(c->status), c->err);
	assert_true(WIFSIGNALED(c->status));
}

/* stderr holds one line "dpemu: ...", naming kind and the address. */
static void assert_death_line(const struct tu_child *c, const char *kind,
                              void *addr)
{
	char a[64];
	const char *at, *nl;
	int found = 0;

	snprintf(a, sizeof a, "%p", addr);
	assert_true(c->err_len > 0);
	nl = strchr(c->err, '\n');
	if (nl == NULL || nl[1] != '\0')
		fail_msg("expected exactly one line, got: \"%s\"", c->err);
	if (strncmp(c->err, "dpemu: ", 7) != 0)
		fail_msg("line does not start with \"dpemu: \": %s", c->err);
	if (strstr(c->err, kind) == NULL)
		fail_msg("line does not name \"%s\": %s", kind, c->err);
	/* The address in lowercase hex, not just a prefix of a longer one. */
	for (at = strstr(c->err, a); at != NULL; at = strstr(at + 1, a)) {
		char next = at[strlen(a)];

		if (!((next >= '0' && next <= '9') ||
		      (next >= 'a' && next <= 'f') ||
		      (next >= 'A' && next <= 'F')))
			found = 1;
	}
	if (!found)
		fail_msg("line does not contain the address %s: %s", a,
		         c->err);
}

/* An access where no mapping is: one line naming "unmapped", SIGSEGV. */
static void test_death_unmapped(void **state)
{
	struct tu_child c;

	(void)state;
	run_child(child_unmapped, NULL, &c);
	assert_int_equal(WTERMSIG(c.status), SIGSEGV);
	assert_non_null(*shared_addr);
	assert_death_line(&c, dpemu_fault_kind_name(DPEMU_FAULT_UNMAPPED),
	                  *shared_addr);
	assert_non_null(strstr(c.err, "unmapped"));
}

/* A write to a read-only page: one line naming "protection", SIGSEGV. */
static void test_death_protection(void **state)
{
	struct tu_child c;

	(void)state;
	run_child(child_protection, NULL, &c);
	assert_int_equal(WTERMSIG(c.status), SIGSEGV);
	assert_non_null(*shared_addr);
	assert_death_line(&c, "protection", *shared_addr);
}

/* A touch when the pool is empty: one line naming "out of frames", SIGBUS. */
static void test_death_out_of_frames(void **state)
{
	struct tu_child c;

	(void)state;
	run_child(child_out_of_frames, NULL, &c);
	assert_int_equal(WTERMSIG(c.status), SIGBUS);
	assert_non_null(*shared_addr);
	assert_death_line(&c, "out of frames", *shared_addr);
}

/* A destroyed space's arena: an ordinary SIGSEGV. */
static void test_death_after_destroy(void **state)
{
	struct tu_child c;

	(void)state;
	run_child(child_after_destroy, NULL, &c);
	assert_int_equal(WTERMSIG(c.status), SIGSEGV);
	assert_non_null(*shared_addr);
}

/* A NULL dereference still dies of SIGSEGV (not swallowed by dpemu). */
static void test_death_null_deref(void **state)
{
	struct tu_child c;

	(void)state;
	run_child(child_null, NULL, &c);
	assert_int_equal(WTERMSIG(c.status), SIGSEGV);
}

/* A handler installed after dpemu's, then a new space: dpemu re-installs
 * itself and passes faults outside every arena on to that handler. */
static void child_reinstall(void *arg)
{
	struct env e;
	struct dpemu_fault f;
	struct tu_access a;
	volatile char *page, *p;
	size_t ps = tu_host_page();

	(void)arg;
	child_setup(&e, 8, 16);    /* dpemu installed (previous: SIG_DFL) */
	chain_calls = 0;
	chain_fix = 0;
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = chain_handler;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL); /* displaces dpemu */
	}
	{
		struct dpemu_space *s2;
		struct dpemu_space_config scfg = tu_space_config(16 * ps);

		if (dpemu_space_create(e.pool, &scfg, &s2) != 0)
			_exit(20);
	}
	/* dpemu is back: arena faults are resolved or caught. */
	p = child_map(&e, 0, 2, RW);
	p[0] = 1;
	if (p[0] != 1 || chain_calls != 0)
		_exit(21);
	a.p = (volatile unsigned char *)(e.base + 8 * e.ps);
	a.write = 0;
	a.done = 0;
	if (dpemu_catch(tu_do_access, &a, &f) != 1 ||
	    f.kind != DPEMU_FAULT_UNMAPPED)
		_exit(22);
	/* And faults outside go to the program's handler. */
	page = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		_exit(23);
	if (sigsetjmp(chain_jmp, 1) == 0) {
		(void)page[5];
		_exit(24);
	}
	if (chain_calls != 1)
		_exit(25);
	if (chain_addr != (void *)(page + 5))
		_exit(26);
	_exit(0);
}

static void test_previous_handler_after_reinstall(void **state)
{
	struct tu_child c;

	(void)state;
	assert_int_equal(tu_run_in_child(child_reinstall, NULL, &c), 0);
	if (!WIFEXITED(c.status))
		fail_msg("child died of signal %d (stderr: %s)",
		         WTERMSIG(c.status), c.err);
	assert_int_equal(WEXITSTATUS(c.status), 0);
}

/* ------------------------------------------------------------------------ */
/* dpemu_catch                                                               */
/* ------------------------------------------------------------------------ */

static void noop(void *arg)
{
	*(int *)arg += 1;
}

/* dpemu_catch of a function that returns: 0 and kind NONE; bad args. */
static void test_catch_no_fault_and_bad_args(void **state)
{
	struct dpemu_fault f;
	int calls = 0;

	(void)state;
	memset(&f, 0xa5, sizeof f);
	assert_int_equal(dpemu_catch(noop, &calls, &f), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(f.kind, DPEMU_FAULT_NONE);

	assert_int_equal(dpemu_catch(NULL, &calls, &f), -EINVAL);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_int_equal(dpemu_catch(noop, &calls, NULL), -EINVAL);
	assert_int_equal(calls, 1);
}

/* Each unresolvable kind is caught with kind, address, access and space;
 * the process goes on and the space keeps working. */
static void test_catch_each_kind(void **state)
{
	struct env e;
	struct dpemu_stats st;
	char *rw, *ro, *none, *sh;
	void *out = NULL;

	(void)state;
	env_open(&e, 4, 64);
	rw = map_fixed(&e, 0, 8, RW);
	ro = map_fixed(&e, 8, 2, PROT_READ);
	none = map_fixed(&e, 10, 2, PROT_NONE);
	assert_int_equal(dpemu_map(e.space, e.base + 12 * e.ps, 2 * e.ps, RW,
	                           DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED,
	                           -1, 0, &out), 0);
	sh = out;

	/* Unmapped: reads and writes, anywhere in the arena. */
	tu_assert_caught(e.space, e.base + 20 * e.ps + 1, 0, DPEMU_FAULT_UNMAPPED);
	tu_assert_caught(e.space, e.base + 63 * e.ps + e.ps - 1, 1,
	              DPEMU_FAULT_UNMAPPED);
	/* Protection: write to read-only, any access to PROT_NONE. */
	tu_assert_caught(e.space, ro + 5, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(e.space, none, 0, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(e.space, none + e.ps + 8, 1, DPEMU_FAULT_PROTECTION);
	assert_int_equal(frames_used(e.pool), 0);

	/* Out of frames: 4 frames, the fifth page fails: a write, or a read
	 * of a shared page (a private one that is only read needs no frame:
	 * it shares the zero frame). */
	rw[0] = 1;
	rw[e.ps] = 2;
	rw[2 * e.ps] = 3;
	(void)*(volatile char *)sh;
	assert_int_equal(frames_used(e.pool), 4);
	tu_assert_caught(e.space, rw + 3 * e.ps + 11, 1,
	              DPEMU_FAULT_OUT_OF_FRAMES);
	tu_assert_caught(e.space, sh + e.ps, 0, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_int_equal(*(volatile char *)(ro + e.ps), 0); /* the zero frame */
	{
		struct dpemu_page_info info;

		assert_int_equal(dpemu_query(e.space, rw + 3 * e.ps, &info), 0);
		assert_true(info.mapped);
		assert_false(info.present);
	}

	st = stats(e.space);
	assert_int_equal(st.protection_faults, 7);
	assert_int_equal(st.zero_fills, 5);
	assert_int_equal(st.pages_resident, 5);
	assert_fault_signals_unblocked();

	/* The process goes on; freeing a frame lets the page in. */
	assert_int_equal(dpemu_unmap(e.space, sh, 2 * e.ps), 0);
	rw[3 * e.ps + 11] = 4;
	assert_int_equal(rw[3 * e.ps + 11], 4);
	assert_int_equal(rw[0], 1);
	assert_int_equal(rw[e.ps], 2);
	assert_int_equal(rw[2 * e.ps], 3);
	assert_int_equal(frames_used(e.pool), 4);
	env_close(&e);
}

/* Catching many faults in a row leaks nothing (signal mask, stack). */
static void test_catch_many(void **state)
{
	struct env e;
	char *p;
	int i;

	(void)state;
	env_open(&e, 8, 16);
	p = map_fixed(&e, 0, 1, PROT_READ);
	for (i = 0; i < 2000; i++) {
		tu_assert_caught(e.space, e.base + (2 + (size_t)i % 14) * e.ps, i & 1,
		              DPEMU_FAULT_UNMAPPED);
		if (i % 100 == 0)
			tu_assert_caught(e.space, p, 1, DPEMU_FAULT_PROTECTION);
	}
	assert_int_equal(stats(e.space).protection_faults, 2000 + 20);
	assert_fault_signals_unblocked();
	assert_int_equal(p[0], 0);
	env_close(&e);
}

/* Nested catches: the inner one catches its fault, the outer function
 * continues, and a later fault goes to the outer catch. */
struct nest {
	struct env *e;
	int inner_ret;
	struct dpemu_fault inner;
	int after_inner;
	int inner2_ret;
	struct dpemu_fault inner2;
	int reached_end;
};

static void inner_fn(void *arg)
{
	struct nest *n = arg;

	(void)*(volatile char *)(n->e->base + 30 * n->e->ps + 1);
}

static void inner_ok_fn(void *arg)
{
	struct nest *n = arg;

	*(volatile char *)(n->e->base) = 5;
}

static void outer_fn(void *arg)
{
	struct nest *n = arg;

	n->inner_ret = dpemu_catch(inner_fn, n, &n->inner);
	n->after_inner = 1;
	n->inner2_ret = dpemu_catch(inner_ok_fn, n, &n->inner2);
	/* The outer catch takes this one. */
	*(volatile char *)(n->e->base + 40 * n->e->ps + 2) = 1;
	n->reached_end = 1;
}

static void test_catch_nested(void **state)
{
	struct env e;
	struct nest n;
	struct dpemu_fault f;

	(void)state;
	env_open(&e, 8, 64);
	map_fixed(&e, 0, 1, RW);
	memset(&n, 0, sizeof n);
	n.e = &e;
	assert_int_equal(dpemu_catch(outer_fn, &n, &f), 1);
	assert_int_equal(n.inner_ret, 1);
	assert_int_equal(n.inner.kind, DPEMU_FAULT_UNMAPPED);
	assert_ptr_equal(n.inner.addr, e.base + 30 * e.ps + 1);
	assert_int_equal(n.after_inner, 1);
	assert_int_equal(n.inner2_ret, 0);
	assert_int_equal(n.inner2.kind, DPEMU_FAULT_NONE);
	assert_int_equal(n.reached_end, 0);
	assert_int_equal(f.kind, DPEMU_FAULT_UNMAPPED);
	assert_ptr_equal(f.addr, e.base + 40 * e.ps + 2);
	assert_ptr_equal(f.space, e.space);
	assert_int_equal(e.base[0], 5);
	assert_fault_signals_unblocked();

	/* And a catch after all that still works. */
	tu_assert_caught(e.space, e.base + 50 * e.ps, 0, DPEMU_FAULT_UNMAPPED);
	env_close(&e);
}

/* dpemu_catch works on other threads; each thread's catch is its own. */
struct thread_catch {
	struct env *e;
	size_t page;
	int ret;
	struct dpemu_fault f;
};

static void thread_catch_fn(void *arg)
{
	struct thread_catch *t = arg;
	int i;

	/* Some resolvable faults first, then an unresolvable one. */
	for (i = 0; i < 4; i++)
		t->e->base[(t->page + (size_t)i) * t->e->ps] = 1;
	(void)*(volatile char *)(t->e->base + 60 * t->e->ps + t->page);
}

static void *thread_catch_main(void *arg)
{
	struct thread_catch *t = arg;

	t->ret = dpemu_catch(thread_catch_fn, t, &t->f);
	return NULL;
}

static void test_catch_in_threads(void **state)
{
	struct env e;
	struct thread_catch t[4];
	pthread_t th[4];
	int i;

	(void)state;
	env_open(&e, 32, 64);
	map_fixed(&e, 0, 16, RW);
	for (i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof t[i]);
		t[i].e = &e;
		t[i].page = 4 * (size_t)i;
		assert_int_equal(pthread_create(&th[i], NULL, thread_catch_main,
		                                &t[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].ret, 1);
		assert_int_equal(t[i].f.kind, DPEMU_FAULT_UNMAPPED);
		assert_ptr_equal(t[i].f.addr, e.base + 60 * e.ps + t[i].page);
	}
	assert_int_equal(stats(e.space).pages_resident, 16);
	assert_int_equal(stats(e.space).protection_faults, 4);
	env_close(&e);
}

/* ------------------------------------------------------------------------ */
/* Two spaces, one pool                                                      */
/* ------------------------------------------------------------------------ */

/* Faults in two spaces sharing a pool: frames are shared, faults and
 * counters are each space's own. */
static void test_two_spaces_one_pool(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(32 * tu_host_page());
	size_t ps = tu_host_page();
	dpemu_pool *pool = NULL;
	dpemu_space *a = NULL, *b = NULL;
	char *pa, *pb;
	void *out = NULL;
	struct dpemu_stats sa, sb;
	size_t i;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &a), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &b), 0);
	assert_int_equal(dpemu_map(a, NULL, 8 * ps, RW, ANON_PRIVATE, -1, 0,
	                           &out), 0);
	pa = out;
	assert_int_equal(dpemu_map(b, NULL, 8 * ps, RW, ANON_PRIVATE, -1, 0,
	                           &out), 0);
	pb = out;

	for (i = 0; i < 5; i++)
		pa[i * ps] = (char)('a' + i);
	for (i = 0; i < 3; i++)
		pb[i * ps] = (char)('A' + i);
	assert_int_equal(frames_used(pool), 8);

	/* The pool is empty: B's next page is out of frames, in B. */
	tu_assert_caught(b, pb + 3 * ps, 1, DPEMU_FAULT_OUT_OF_FRAMES);
	tu_assert_caught(a, pa + 5 * ps, 1, DPEMU_FAULT_OUT_OF_FRAMES);
	/* An unmapped fault names the space it happened in. */
	tu_assert_caught(a, (char *)dpemu_space_base(a) + 30 * ps, 0,
	              DPEMU_FAULT_UNMAPPED);
	tu_assert_caught(b, (char *)dpemu_space_base(b) + 31 * ps, 1,
	              DPEMU_FAULT_UNMAPPED);

	sa = stats(a);
	sb = stats(b);
	assert_int_equal(sa.zero_fills, 5);
	assert_int_equal(sb.zero_fills, 3);
	assert_int_equal(sa.pages_resident, 5);
	assert_int_equal(sb.pages_resident, 3);
	assert_int_equal(sa.protection_faults, 2);
	assert_int_equal(sb.protection_faults, 2);

	/* Frames freed in A serve B. */
	assert_int_equal(dpemu_unmap(a, pa, 2 * ps), 0);
	pb[3 * ps] = 'D';
	pb[4 * ps] = 'E';
	assert_int_equal(frames_used(pool), 8);
	for (i = 0; i < 5; i++)
		assert_int_equal(pb[i * ps], (char)('A' + i));
	for (i = 2; i < 5; i++)
		assert_int_equal(pa[i * ps], (char)('a' + i));
	/* B's new pages are zero apart from what B wrote. */
	assert_int_equal(pb[3 * ps + 1], 0);

	/* Destroying A gives its frames back; B goes on. */
	assert_int_equal(dpemu_space_destroy(a), 0);
	assert_int_equal(frames_used(pool), 5);
	assert_int_equal(pb[0], 'A');
	assert_int_equal(dpemu_space_destroy(b), 0);
	assert_int_equal(frames_used(pool), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                  */
/* ------------------------------------------------------------------------ */

/* faults, zero_fills, file_reads, protection_faults, pages_resident and
 * mappings count what happened. */
static void test_stats_counts(void **state)
{
	struct env e;
	struct dpemu_stats st;
	char path[64];
	char buf[3 * 4096 * 4];
	size_t ps = tu_host_page();
	char *anon, *file;
	void *out = NULL;
	int fd;

	(void)state;
	assert_true(sizeof buf >= 3 * ps);
	memset(buf, 'f', 3 * ps);
	fd = tu_temp_file(buf, 3 * ps, path);
	assert_true(fd >= 0);
	env_open(&e, 16, 64);

	anon = map_fixed(&e, 0, 4, RW);
	assert_int_equal(dpemu_map(e.space, NULL, 3 * ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, fd, 0, &out), 0);
	file = out;
	close(fd);
	unlink(path);
	st = stats(e.space);
	assert_int_equal(st.mappings, 2);
	assert_int_equal(st.faults, 0);
	assert_true(st.metadata_bytes > 0);

	/* Two anonymous pages read: two traps, two zero-fills. */
	assert_int_equal(anon[0], 0);
	assert_int_equal(anon[2 * ps], 0);
	st = stats(e.space);
	assert_int_equal(st.faults, 2);
	assert_int_equal(st.zero_fills, 2);
	assert_int_equal(st.file_reads, 0);
	assert_int_equal(st.pages_resident, 2);

	/* Reading them again: no trap. */
	assert_int_equal(anon[1], 0);
	assert_int_equal(anon[2 * ps + 1], 0);
	assert_int_equal(stats(e.space).faults, 2);

	/* Three file pages read: three traps, three file reads. */
	assert_int_equal(file[0], 'f');
	assert_int_equal(file[ps], 'f');
	assert_int_equal(file[2 * ps + ps - 1], 'f');
	st = stats(e.space);
	assert_int_equal(st.faults, 5);
	assert_int_equal(st.zero_fills, 2);
	assert_int_equal(st.file_reads, 3);
	assert_int_equal(st.pages_resident, 5);

	/* Unresolvable faults: counted in protection_faults. */
	tu_assert_caught(e.space, file, 1, DPEMU_FAULT_PROTECTION);
	tu_assert_caught(e.space, e.base + 40 * ps, 0, DPEMU_FAULT_UNMAPPED);
	st = stats(e.space);
	assert_int_equal(st.protection_faults, 2);
	assert_int_equal(st.zero_fills, 2);
	assert_int_equal(st.file_reads, 3);
	assert_int_equal(st.pages_resident, 5);
	assert_true(st.faults >= 5);
	assert_int_equal(st.writebacks, 0);
	assert_int_equal(st.cow_copies, 0);

	/* Unmapping drops resident pages and mappings, keeps history. */
	assert_int_equal(dpemu_unmap(e.space, file, 3 * ps), 0);
	st = stats(e.space);
	assert_int_equal(st.pages_resident, 2);
	assert_int_equal(st.mappings, 1);
	assert_int_equal(st.file_reads, 3);
	assert_int_equal(st.writebacks, 0); /* private: never written */
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Must stay first: it needs a process with no space yet. */
		cmocka_unit_test(test_previous_handler_gets_outside_faults),
		cmocka_unit_test(test_previous_handler_after_reinstall),
		cmocka_unit_test(test_death_unmapped),
		cmocka_unit_test(test_death_protection),
		cmocka_unit_test(test_death_out_of_frames),
		cmocka_unit_test(test_death_after_destroy),
		cmocka_unit_test(test_death_null_deref),
		cmocka_unit_test(test_catch_no_fault_and_bad_args),
		cmocka_unit_test(test_catch_each_kind),
		cmocka_unit_test(test_catch_many),
		cmocka_unit_test(test_catch_nested),
		cmocka_unit_test(test_catch_in_threads),
		cmocka_unit_test(test_two_spaces_one_pool),
		cmocka_unit_test(test_stats_counts),
	};
	void *shared;

	/* One page the children write the address they fault at to. */
	shared = mmap(NULL, tu_host_page(), PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	shared_addr = shared;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
