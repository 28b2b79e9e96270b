/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_hostfork.c - the host's own fork(2) of a process using dpemu
 * (issue 4): in the child, inherited arenas and objects are off limits
 * (SIGSEGV with a message, -EPERM), destroy calls only free the child's
 * copies, and the child can build its own pool; the parent's pages,
 * frames and counters are unchanged.  dpemu_space_fork is in test_fork.c.
 *
 * Every test creates its own pool and spaces (fork_env.h) and ends by
 * checking that the pool's statistics are back to zero; each child of
 * fork(2) runs under a watchdog.
 */
#include "fork_env.h"

/* ------------------------------------------------------------------------ */
/* The host process's own fork(2)                                            */
/* ------------------------------------------------------------------------ */

struct host_env {
	dpemu_pool *pool;
	dpemu_space *s, *c;     /* a space and a dpemu_space_fork of it */
	unsigned char *p, *q;   /* their first mapping                  */
	void *touch;            /* what the child of fork(2) touches    */
	int write;
};

/* A pool, a space with 4 pages (pages 0-1 written, 2-3 lazy), a fork of
 * the space (page 0 copied by the fork's write). */
static void host_env_open(struct host_env *h)
{
	memset(h, 0, sizeof *h);
	h->pool = pool_open(32);
	h->s = space_open(h->pool, 8);
	h->p = (unsigned char *)map_at(h->s, 0, 4, RW, ANON_PRIVATE);
	memset(h->p, 0x51, PS);
	memset(h->p + PS, 0x52, PS);
	h->c = fork_of(h->s);
	h->q = (unsigned char *)twin(h->c, h->s, h->p);
	h->q[0] = 0x53;
}

/* The parent's state after any child of fork(2): bytes, frames, stats. */
static void host_env_check(struct host_env *h)
{
	struct dpemu_pool_stats st = pstats(h->pool);

	assert_int_equal(st.frames_used, 3);
	assert_int_equal(st.frames_shared, 1);
	assert_int_equal(st.spaces, 2);
	assert_int_equal(sstats(h->s).pages_resident, 2);
	assert_int_equal(sstats(h->c).pages_resident, 2);
	assert_page_is(h->p, 0x51);
	assert_page_is(h->p + PS, 0x52);
	assert_int_equal(h->q[0], 0x53);
	assert_int_equal(h->q[1], 0x51);
	assert_page_is(h->q + PS, 0x52);
	assert_false(info(h->s, h->p + 2 * PS).present);
	assert_false(info(h->c, h->q + 3 * PS).present);
	assert_true(info(h->c, h->q + PS).cow);
}

/* The parent carries on normally, then cleans up. */
static void host_env_close(struct host_env *h)
{
	h->q[PS] = 0x54;              /* a copy-on-write break still works */
	assert_int_equal(h->p[PS], 0x52);
	h->p[2 * PS] = 0x55;          /* and a lazy page */
	assert_int_equal(dpemu_space_destroy(h->s), 0);
	assert_int_equal(dpemu_space_destroy(h->c), 0);
	pool_close(h->pool);
}

/* Child of fork(2): put dpemu's fault handler back (tu_run_in_child gave
 * SIGSEGV its default action) by creating a pool and space of its own, then
 * touch an inherited arena.  Must die there. */
static void child_touch_inherited(void *arg)
{
	struct host_env *h = arg;
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(4 * tu_host_page());
	dpemu_pool *pool;
	dpemu_space *s;

	alarm(30); /* a watchdog: a hang becomes a SIGALRM death */
	scfg.backend = DPEMU_BACKEND_SIGSEGV; /* what re-installs the handler */
	if (dpemu_pool_create(&pcfg, &pool) != 0)
		_exit(10);
	if (dpemu_space_create(pool, &scfg, &s) != 0)
		_exit(11);
	if (h->write)
		*(volatile unsigned char *)h->touch = 0xfe;
	else
		(void)*(volatile unsigned char *)h->touch;
	_exit(3); /* the touch went through */
}

/* Fail unless the child of fork(2) exited with status 0. */
static void assert_child_ok(const struct tu_child *ch)
{
	if (WIFSIGNALED(ch->status) && WTERMSIG(ch->status) == SIGALRM)
		fail_msg("the child of fork(2) hung (killed by its 30 s watchdog); "
		         "stderr: %s", ch->err);
	if (!WIFEXITED(ch->status) || WEXITSTATUS(ch->status) != 0)
		fail_msg("child status %#x (exit code %d: see its CHK), stderr: %s",
		         ch->status, WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : -1,
		         ch->err);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * In a child of fork(2), touching an inherited arena (a written page, a
 * lazy page, a copy-on-write page of a dpemu_space_fork child; read or
 * write) kills the child with SIGSEGV after one line on stderr saying the
 * space belongs to the parent process.  The parent's pages, frames and
 * counters are unchanged afterwards.
 */
static void test_hostfork_touch_kills_child(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	struct {
		void *addr;
		int write;
	} cases[] = {
		{ h.p + 10, 1 },          /* resident, private to the parent */
		{ h.p + PS + 10, 0 },     /* resident, shared with the fork  */
		{ h.p + 2 * PS + 10, 1 }, /* lazy                            */
		{ h.q + PS + 10, 1 },     /* the dpemu fork's cow page       */
		{ h.q + 10, 0 },          /* the dpemu fork's own copy       */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h.touch = cases[i].addr;
		h.write = cases[i].write;
		assert_int_equal(tu_run_in_child(child_touch_inherited, &h, &ch), 0);
		if (!WIFSIGNALED(ch.status) || WTERMSIG(ch.status) != SIGSEGV)
			fail_msg("case %zu: child status %#x (exit %d), stderr: %s", i,
			         ch.status, WIFEXITED(ch.status) ? WEXITSTATUS(ch.status) : -1,
			         ch.err);
		if (strstr(ch.err, "belongs to the parent process") == NULL)
			fail_msg("case %zu: stderr lacks the reason: %s", i, ch.err);
		assert_int_equal(count_lines(ch.err), 1);
		assert_int_equal(ch.err[ch.err_len - 1], '\n');
		host_env_check(&h);
	}
	host_env_close(&h);
}

#define CHK(cond, code) \
	do { \
		if (!(cond)) \
			_exit(code); \
	} while (0)

/* Child of fork(2): every call on inherited objects is -EPERM, except the
 * destroy calls, which succeed. */
static void child_calls_on_inherited(void *arg)
{
	struct host_env *h = arg;
	struct dpemu_space_config scfg = tu_space_config(4 * tu_host_page());
	struct dpemu_pool_stats pst;
	struct dpemu_page_info pi;
	struct dpemu_stats st;
	dpemu_space *out = NULL;
	void *addr = NULL;

	alarm(30); /* a watchdog: a hang becomes a SIGALRM death */
	CHK(dpemu_map(h->s, NULL, PS, RW, ANON_PRIVATE, -1, 0, &addr) == -EPERM, 20);
	CHK(dpemu_map(h->c, h->q + 5 * PS, PS, RW, ANON_PRIVATE | DPEMU_MAP_FIXED,
	              -1, 0, &addr) == -EPERM, 22);
	CHK(dpemu_query(h->s, h->p, &pi) == -EPERM, 23);
	CHK(dpemu_query(h->c, h->q, &pi) == -EPERM, 24);
	CHK(dpemu_space_stats(h->s, &st) == -EPERM, 25);
	CHK(dpemu_pool_stats(h->pool, &pst) == -EPERM, 26);
	CHK(dpemu_space_fork(h->s, &out) == -EPERM, 27);
	CHK(dpemu_space_create(h->pool, &scfg, &out) == -EPERM, 29);
	CHK(dpemu_unmap(h->s, h->p, PS) == -EPERM, 31);
	CHK(dpemu_protect(h->s, h->p, PS, PROT_READ) == -EPERM, 32);
	CHK(dpemu_sync(h->s, h->p, PS) == -EPERM, 33);
	CHK(strstr(dpemu_last_error(), "parent process") != NULL, 34);
	/* The pool is still in use by the (inherited) spaces. */
	CHK(dpemu_pool_destroy(h->pool) == -EBUSY, 35);
	CHK(dpemu_space_destroy(h->c) == 0, 36);
	CHK(dpemu_space_destroy(h->s) == 0, 37);
	CHK(dpemu_pool_destroy(h->pool) == 0, 38);
}

/*
 * In a child of fork(2), dpemu calls on inherited objects fail with
 * -EPERM (map, query, stats, fork, create on the pool, unmap, protect,
 * sync); dpemu_space_destroy and dpemu_pool_destroy succeed there and free
 * only the child's copies: the parent's spaces, pages and pool are intact.
 */
static void test_hostfork_inherited_calls(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	assert_int_equal(tu_run_in_child(child_calls_on_inherited, &h, &ch), 0);
	assert_child_ok(&ch);
	assert_int_equal(ch.err_len, 0);
	host_env_check(&h);
	/* The parent's objects still work in every way. */
	assert_int_equal(sstats(h.s).mappings, 1);
	dpemu_space *g = fork_of(h.c);
	assert_int_equal(twin(g, h.c, h.q)[0], 0x53);
	assert_int_equal(dpemu_space_destroy(g), 0);
	host_env_close(&h);
}

/* Child of fork(2): a pool and space of its own work normally, fork
 * included, next to inherited ones it cannot use. */
static void child_own_pool(void *arg)
{
	struct host_env *h = arg;
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(4 * tu_host_page());
	struct dpemu_pool_stats pst;
	struct dpemu_page_info pi;
	struct dpemu_stats st;
	dpemu_pool *pool;
	dpemu_space *s, *c;
	volatile unsigned char *p, *q;
	void *out;

	alarm(30); /* a watchdog: a hang becomes a SIGALRM death */
	CHK(dpemu_pool_create(&pcfg, &pool) == 0, 40);
	CHK(dpemu_space_create(pool, &scfg, &s) == 0, 41);
	CHK(dpemu_map(s, NULL, 2 * PS, RW, ANON_PRIVATE, -1, 0, &out) == 0, 42);
	p = out;
	CHK(p[0] == 0, 43);
	p[1] = 0x71;
	p[PS] = 0x72;
	CHK(dpemu_space_fork(s, &c) == 0, 44);
	q = (unsigned char *)dpemu_space_base(c) +
	    ((unsigned char *)out - (unsigned char *)dpemu_space_base(s));
	CHK(q[1] == 0x71 && q[PS] == 0x72, 45);
	q[1] = 0x73;
	CHK(p[1] == 0x71 && q[1] == 0x73, 46);
	CHK(dpemu_space_stats(c, &st) == 0 && st.cow_copies == 1, 47);
	CHK(dpemu_query(c, (const void *)q, &pi) == 0 && pi.present && !pi.cow, 48);
	CHK(dpemu_pool_stats(pool, &pst) == 0 && pst.frames_used == 3 &&
	    pst.frames_shared == 1 && pst.spaces == 2, 49);
	/* The inherited ones are still off limits. */
	CHK(dpemu_query(h->s, h->p, &pi) == -EPERM, 50);
	CHK(dpemu_space_destroy(c) == 0, 51);
	CHK(dpemu_space_destroy(s) == 0, 52);
	CHK(dpemu_pool_stats(pool, &pst) == 0 && pst.frames_used == 0, 53);
	CHK(dpemu_pool_destroy(pool) == 0, 54);
	/* Leave the inherited copies behind on purpose: exit cleans up. */
}

/*
 * A child of fork(2) can create a pool and spaces of its own and use them
 * normally (map, fault, dpemu_space_fork, copy-on-write, stats); the parent
 * is not disturbed.
 */
static void test_hostfork_child_own_pool(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	assert_int_equal(tu_run_in_child(child_own_pool, &h, &ch), 0);
	assert_child_ok(&ch);
	host_env_check(&h);
	host_env_close(&h);
}

/* Child of fork(2): puts memory of its own over the inherited arena (as
 * dpemu run's preload does with its copy of the heap), then forks: the
 * grandchild must see that memory, not have it reset a second time. */
static void child_maps_over_arena_then_forks(void *arg)
{
	struct host_env *h = arg;
	int status;
	pid_t pid;

	alarm(30);
	void *m = mmap(h->p, 2 * PS, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHK(m == h->p, 60);
	h->p[0] = 0x5a;
	h->p[PS + 7] = 0xa5;
	pid = fork();
	CHK(pid >= 0, 61);
	if (pid == 0)
		_exit(h->p[0] == 0x5a && h->p[PS + 7] == 0xa5 ? 0 : 62); /* a SIGSEGV: the bug */
	CHK(waitpid(pid, &status, 0) == pid, 63);
	CHK(WIFEXITED(status) && WEXITSTATUS(status) == 0, 64);
	CHK(h->p[0] == 0x5a, 65);
}

/*
 * An inherited arena is reset once, in the child: a grandchild leaves
 * alone what the child has mapped there since (a bug once: every fork
 * reset it again, and dpemu run's programs whose children fork - bash's
 * $(a | b) - died of SIGSEGV in the grandchild).
 */
static void test_hostfork_grandchild_keeps_childs_memory(void **state)
{
	struct host_env h;
	struct tu_child ch;

	(void)state;
	host_env_open(&h);
	assert_int_equal(tu_run_in_child(child_maps_over_arena_then_forks, &h, &ch), 0);
	if (!WIFEXITED(ch.status) || WEXITSTATUS(ch.status) != 0)
		fail_msg("child status %#x (exit %d), stderr: %s", ch.status,
		         WIFEXITED(ch.status) ? WEXITSTATUS(ch.status) : -1, ch.err);
	host_env_check(&h);
	host_env_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostfork_touch_kills_child),
		cmocka_unit_test(test_hostfork_inherited_calls),
		cmocka_unit_test(test_hostfork_child_own_pool),
		cmocka_unit_test(test_hostfork_grandchild_keeps_childs_memory),
	};

	PS = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
