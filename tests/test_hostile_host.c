/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_hostile_host.c - dpemu when the host says no: a userfaultfd backend
 * that cannot be set up, a fork(2) in the middle of faults, host calls
 * that fail (vm.max_map_count reached, modelled by injected ENOMEM), and
 * an access that needs more pages at once than the pool has frames.
 *
 * Host failures are injected by interposition (interpose.h): the
 * library's mmap, mprotect, madvise and ioctl calls bind to this
 * program's, which pass each call through to the system call, except
 * while a test has armed a failure for it (see struct inject).  Nothing
 * here changes vm.max_map_count, which is system-wide.
 *
 * Every test that may hang or die runs in a forked child with an alarm.
 */
#include "testutil.h"

#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "interpose.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* ---- failure injection ------------------------------------------------- */

enum inject_call { INJ_MMAP, INJ_MPROTECT, INJ_MADVISE, INJ_IOCTL, INJ_KINDS };

/*
 * Armed failures, one per kind of call: while `left` > 0, each call of the
 * kind that matches (see matches()) counts down `skip` first, then fails
 * with `err`, and `left` counts the failures still to come (INJ_FOREVER:
 * no end).  `seen` counts the matching calls.
 */
#define INJ_FOREVER 1000000000
struct inject {
	atomic_int skip, left, seen;
	int err;
	int filter; /* mmap: flags that must all be set; madvise: the advice
	               (-1: any); ioctl: the request (0: any); mprotect: the
	               prot (-1: any) */
	size_t maxlen; /* mmap, mprotect, madvise: only calls of at most this
	               many bytes fail (0: any) - a call over a whole host
	               mapping splits nothing, and vm.max_map_count does not
	               stop it */
};
static struct inject inj[INJ_KINDS];
static atomic_int inj_failed; /* calls failed so far, all kinds */

static void inject_arm(enum inject_call k, int filter, int skip, int times, int err)
{
	atomic_store(&inj[k].left, 0);
	inj[k].filter = filter;
	inj[k].err = err;
	inj[k].maxlen = 0;
	atomic_store(&inj[k].seen, 0);
	atomic_store(&inj[k].skip, skip);
	atomic_store(&inj[k].left, times);
}

static void inject_off(void)
{
	for (int k = 0; k < INJ_KINDS; k++)
		atomic_store(&inj[k].left, 0);
}

/* Whether this call fails; sets errno if so. */
static int inject_fails(enum inject_call k, int match)
{
	if (atomic_load(&inj[k].left) <= 0 || !match)
		return 0;
	atomic_fetch_add(&inj[k].seen, 1);
	if (atomic_load(&inj[k].skip) > 0 && atomic_fetch_sub(&inj[k].skip, 1) > 0)
		return 0;
	if (atomic_fetch_sub(&inj[k].left, 1) <= 0)
		return 0;
	errno = inj[k].err;
	atomic_fetch_add(&inj_failed, 1);
	return 1;
}

/*
 * The interposed calls (interpose.h) ask here.  mmap: the flags in the
 * filter must all be set; mprotect, madvise: the prot or advice must be
 * the filter's (-1: any); ioctl: the request must be the filter's (0:
 * any); and mmap, mprotect, madvise: at most maxlen bytes, when set.
 */
static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a)
{
	const struct inject *mm = &inj[INJ_MMAP], *mp = &inj[INJ_MPROTECT],
	                    *ma = &inj[INJ_MADVISE], *io = &inj[INJ_IOCTL];

	switch (call) {
	case TU_MMAP:
		return -inject_fails(INJ_MMAP, (a->flags & mm->filter) == mm->filter &&
		                               (!mm->maxlen || a->len <= mm->maxlen));
	case TU_MPROTECT:
		return -inject_fails(INJ_MPROTECT, (mp->filter < 0 || mp->filter == a->prot) &&
		                                   (!mp->maxlen || a->len <= mp->maxlen));
	case TU_MADVISE:
		return -inject_fails(INJ_MADVISE, (ma->filter < 0 || ma->filter == a->advice) &&
		                                  (!ma->maxlen || a->len <= ma->maxlen));
	case TU_IOCTL:
		return -inject_fails(INJ_IOCTL, io->filter == 0 ||
		                                (unsigned long)(unsigned)io->filter ==
		                                (a->req & 0xffffffffu));
	default:
		return 0;
	}
}

/* ---- helpers ------------------------------------------------------------ */

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

static size_t ps;

/* Exit statuses of the children. */
#define CHILD_SKIP 77

/* Run fn in a child; fail with its messages unless it exits 0 (77: skip). */
static void run_child(void (*fn)(void *), void *arg, const char *what)
{
	struct tu_child c;

	assert_int_equal(tu_run_in_child(fn, arg, &c), 0);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == CHILD_SKIP) {
		fprintf(stderr, "%s: skipped: %s", what, c.err);
		skip();
	}
	tu_assert_child_ok(&c, what);
}

/* In a child: stop with a message and exit status 1 (testutil.h). */
#define CHECK TU_CHECK

static uint64_t space_faults(dpemu_space *s)
{
	struct dpemu_stats st;

	if (dpemu_space_stats(s, &st) != 0)
		return UINT64_MAX;
	return st.faults;
}

static uint64_t pool_free(dpemu_pool *p)
{
	struct dpemu_pool_stats st;

	if (dpemu_pool_stats(p, &st) != 0)
		return UINT64_MAX;
	return st.frames_free;
}

/* Read or write one byte under dpemu_catch: 0 if it completed, else the
 * fault's kind (DPEMU_FAULT_*). */
static int try_access(void *addr, int write, unsigned char val, unsigned char *got)
{
	struct dpemu_fault f;
	struct tu_access a = { addr, write, val, 0 };

	memset(&f, 0, sizeof f);
	if (dpemu_catch(tu_do_access, &a, &f) == 0) {
		if (got)
			*got = a.val;
		return 0;
	}
	return f.kind == DPEMU_FAULT_NONE ? -1 : (int)f.kind;
}

/* ---- defect 2: a userfaultfd open that fails leaves nothing behind ------- */

#define THREAD_SPACES 1024 /* what the handler thread takes (uffd.c) */

static void many_spaces_child(void *unused)
{
	struct dpemu_pool_config pcfg = tu_pool_config(64, 0);
	struct dpemu_space_config ucfg = tu_space_config(ps);
	struct dpemu_space_config acfg = tu_space_config(2 * ps);
	static dpemu_space *spaces[THREAD_SPACES];
	dpemu_space *extra = NULL, *fallback = NULL;
	dpemu_pool *pool = NULL;
	struct rlimit rl;
	char why[256];
	void *p = NULL;
	int n = 0;

	(void)unused;
	alarm(120);
	/* One fd per thread-mode space, and some to spare. */
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	if (rl.rlim_cur < THREAD_SPACES + 64) {
		rl.rlim_cur = rl.rlim_max < THREAD_SPACES + 256 ? rl.rlim_max : THREAD_SPACES + 256;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < THREAD_SPACES + 64) {
		fprintf(stderr, "RLIMIT_NOFILE is %lu, cannot hold %d userfaultfds\n",
		        (unsigned long)rl.rlim_cur, THREAD_SPACES);
		_exit(CHILD_SKIP);
	}
	if (!tu_uffd_available(DPEMU_UFFD_THREAD, why, sizeof why)) {
		fprintf(stderr, "no userfaultfd thread mode here: %s\n", why);
		_exit(CHILD_SKIP);
	}
	/* AUTO may fall back to SIGSEGV only without DPEMU_BACKEND. */
	unsetenv("DPEMU_BACKEND");
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0, "pool");
	ucfg.backend = DPEMU_BACKEND_UFFD;
	ucfg.uffd_mode = DPEMU_UFFD_THREAD;
	for (n = 0; n < THREAD_SPACES; n++)
		if (dpemu_space_create(pool, &ucfg, &spaces[n]) != 0)
			break;
	CHECK(n == THREAD_SPACES, "only %d thread-mode spaces", n);

	/* AUTO: falls back to a SIGSEGV space that traps like any other. */
	acfg.backend = DPEMU_BACKEND_AUTO;
	acfg.uffd_mode = DPEMU_UFFD_THREAD;
	CHECK(dpemu_space_create(pool, &acfg, &fallback) == 0, "AUTO space");
	CHECK(dpemu_space_backend(fallback) == DPEMU_BACKEND_SIGSEGV, "fell back to SIGSEGV");
	unsigned char *base = dpemu_space_base(fallback);
	/* Before anything is mapped, the arena is not plain memory. */
	CHECK(try_access(base, 1, 1, NULL) == DPEMU_FAULT_UNMAPPED, "unmapped write traps");
	CHECK(dpemu_map(fallback, base, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0,
	      "map");
	uint64_t before = space_faults(fallback);
	base[10] = 42;
	CHECK(space_faults(fallback) == before + 1, "the first write is a fault (%llu -> %llu)",
	      (unsigned long long)before, (unsigned long long)space_faults(fallback));
	struct dpemu_page_info info;
	CHECK(dpemu_query(fallback, base, &info) == 0 && info.present, "page present");
	CHECK(try_access(base + ps, 0, 0, NULL) == DPEMU_FAULT_UNMAPPED, "unmapped read traps");
	CHECK(dpemu_space_destroy(fallback) == 0, "destroy fallback");

	/* Asked for by name: a clean failure, no space. */
	int rc = dpemu_space_create(pool, &ucfg, &extra);
	CHECK(rc < 0 && extra == NULL, "space %d: %d", n + 1, rc);
	CHECK(strstr(dpemu_last_error(), "1024") != NULL, "message names the limit");

	/* One space fewer: thread mode works again. */
	CHECK(dpemu_space_destroy(spaces[--n]) == 0, "destroy");
	CHECK(dpemu_space_create(pool, &ucfg, &spaces[n]) == 0, "thread mode again");
	unsigned char *u = dpemu_space_base(spaces[n]);
	CHECK(dpemu_map(spaces[n], u, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0, "map");
	u[1] = 7;
	CHECK(u[1] == 7 && space_faults(spaces[n]) == 1, "uffd space faults");
	for (n = THREAD_SPACES; n-- > 0;)
		CHECK(dpemu_space_destroy(spaces[n]) == 0, "destroy %d", n);
	CHECK(dpemu_pool_destroy(pool) == 0, "pool destroy");
}

static void test_thread_spaces_full(void **state)
{
	(void)state;
	run_child(many_spaces_child, NULL, "1025th thread-mode space");
}

/* ---- defect 6: fork(2) while other threads fault --------------------------- */

#define FORK_THREADS 3
#define FORK_PAGES 16

struct fork_rig {
	dpemu_pool *pool;
	dpemu_space *space;
	atomic_bool stop;
	atomic_long rounds;
};

/* Map, touch and unmap a range of one's own, for ever: a fault at a time. */
static void *fork_faulter(void *arg)
{
	struct fork_rig *r = arg;
	static atomic_int next;
	int me = atomic_fetch_add(&next, 1);
	unsigned char *base = (unsigned char *)dpemu_space_base(r->space) +
	                      (size_t)me * FORK_PAGES * ps;

	while (!atomic_load(&r->stop)) {
		void *p;
		if (dpemu_map(r->space, base, FORK_PAGES * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED,
		              -1, 0, &p) != 0)
			break;
		for (size_t i = 0; i < FORK_PAGES; i++)
			base[i * ps] = (unsigned char)i;
		dpemu_unmap(r->space, base, FORK_PAGES * ps);
		atomic_fetch_add(&r->rounds, 1);
	}
	return NULL;
}

static void fork_child_destroys(void *arg)
{
	struct fork_rig *r = arg;
	pthread_t t[FORK_THREADS];
	int bad = 0;

	alarm(120);
	struct dpemu_pool_config pcfg = tu_pool_config(FORK_THREADS * FORK_PAGES * 2, 0);
	struct dpemu_space_config scfg = tu_space_config(FORK_THREADS * FORK_PAGES * ps);
	CHECK(dpemu_pool_create(&pcfg, &r->pool) == 0, "pool");
	CHECK(dpemu_space_create(r->pool, &scfg, &r->space) == 0, "space");
	for (int i = 0; i < FORK_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, fork_faulter, r) == 0, "thread");
	while (atomic_load(&r->rounds) < 10)
		sched_yield();
	/* Fork many times: some forks land while a thread is inside a fault. */
	for (int k = 0; k < 40 && !bad; k++) {
		pid_t pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			alarm(5); /* a spinning destroy dies of SIGALRM */
			int rs = dpemu_space_destroy(r->space);
			int rp = dpemu_pool_destroy(r->pool);
			_exit(rs == 0 && rp == 0 ? 0 : 3);
		}
		int st;
		CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "fork %d: the child's destroy %s %d\n", k,
			        WIFEXITED(st) ? "exited with" : "died of signal",
			        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad = 1;
		}
		usleep(1000);
	}
	atomic_store(&r->stop, true);
	for (int i = 0; i < FORK_THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(!bad, "a child could not destroy what it inherited");
	CHECK(dpemu_space_destroy(r->space) == 0, "destroy");
	CHECK(dpemu_pool_destroy(r->pool) == 0, "pool destroy");
}

static void test_fork_while_faulting(void **state)
{
	struct fork_rig r;

	(void)state;
	memset(&r, 0, sizeof r);
	run_child(fork_child_destroys, &r, "fork while faulting");
}

/* ---- defect 7: vm.max_map_count reached ------------------------------------ */

#define LEAF 512 /* pages of a page-table leaf (internal.h) */

/* A pool and a space of the run's backend, with pages mapped at the start. */
struct rig {
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned char *base;
};

static void rig_open(struct rig *r, size_t frames, enum dpemu_policy policy, size_t reserve_pages,
                     size_t mapped_pages, int prot)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(reserve_pages * ps);
	void *p;

	pcfg.policy = policy;
	CHECK(dpemu_pool_create(&pcfg, &r->pool) == 0, "pool");
	CHECK(dpemu_space_create(r->pool, &scfg, &r->space) == 0, "space");
	r->base = dpemu_space_base(r->space);
	if (mapped_pages)
		CHECK(dpemu_map(r->space, r->base, mapped_pages * ps, prot,
		                ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0, "map");
}

static void rig_close(struct rig *r)
{
	CHECK(dpemu_space_destroy(r->space) == 0, "destroy");
	CHECK(dpemu_pool_destroy(r->pool) == 0, "pool destroy");
}

/* Faults that the host cannot turn into a SIGSEGV (revoking the page's
 * rights fails) are still reported, with their own kind, and end. */
static void revoke_fails_child(void *unused)
{
	struct rig r;
	unsigned char v = 1;
	void *p;

	(void)unused;
	alarm(20);
	/* Page 1 (leaf 0) is shown before; the faults are in leaf 1, which is
	 * not backed yet: under userfaultfd, all of it is the read-write
	 * reserve that traps through userfaultfd alone. */
	rig_open(&r, 8, DPEMU_POLICY_NONE, 2 * LEAF, 0, 0);
	unsigned char *ro = r.base + LEAF * ps, *hole = ro + 2 * ps;
	CHECK(dpemu_map(r.space, r.base + ps, ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0,
	      "map");
	CHECK(dpemu_map(r.space, ro, ps, PROT_READ, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0,
	      "map");
	r.base[ps + 3] = 33;
	/* vm.max_map_count reached: no one-page mprotect can split a mapping. */
	inject_arm(INJ_MPROTECT, PROT_NONE, 0, INJ_FOREVER, ENOMEM);
	inj[INJ_MPROTECT].maxlen = ps;
	int k = try_access(hole, 0, 0, NULL);
	CHECK(k == DPEMU_FAULT_UNMAPPED, "read of an unmapped page: %d", k);
	k = try_access(hole + ps + 5, 1, 9, NULL);
	CHECK(k == DPEMU_FAULT_UNMAPPED, "write to an unmapped page: %d", k);
	k = try_access(ro + 8, 1, 9, NULL);
	CHECK(k == DPEMU_FAULT_PROTECTION, "write to a read-only page: %d", k);
	int seen = atomic_load(&inj[INJ_MPROTECT].seen);
	inject_off();
	if (dpemu_space_backend(r.space) == DPEMU_BACKEND_UFFD)
		CHECK(seen > 0, "no revoke was tried: the test misses its point");
	/* Usable afterwards. */
	CHECK(try_access(ro + 8, 0, 0, &v) == 0 && v == 0, "read the page");
	CHECK(try_access(ro + 8, 1, 9, NULL) == DPEMU_FAULT_PROTECTION, "still read-only");
	CHECK(try_access(hole, 0, 0, NULL) == DPEMU_FAULT_UNMAPPED, "still unmapped");
	CHECK(try_access(r.base + ps + 3, 0, 0, &v) == 0 && v == 33, "the other page kept its data");
	CHECK(try_access(r.base + ps + 4, 1, 44, NULL) == 0 && r.base[ps + 4] == 44, "and is writable");
	rig_close(&r);
}

static void test_revoke_fails(void **state)
{
	(void)state;
	run_child(revoke_fails_child, NULL, "revoke fails");
}

/* dpemu_protect refused half way by the host changes nothing, and every
 * page's protection is still enforced. */
static void protect_fails_child(void *unused)
{
	struct rig r;
	struct dpemu_page_info info;
	const size_t pages = 3 * LEAF;
	unsigned char v;

	(void)unused;
	alarm(30);
	rig_open(&r, 16, DPEMU_POLICY_NONE, pages, pages, RW);
	/* Pages in the first and last leaf are shown; the middle leaf is not
	 * touched, which splits the change into two host calls. */
	r.base[0] = 1;
	r.base[2 * LEAF * ps] = 2;
	/* The first PROT_READ change goes through, the second fails. */
	inject_arm(INJ_MPROTECT, PROT_READ, 1, 1, ENOMEM);
	int rc = dpemu_protect(r.space, r.base, pages * ps, PROT_READ);
	int seen = atomic_load(&inj[INJ_MPROTECT].seen);
	inject_off();
	CHECK(rc == -ENOMEM, "dpemu_protect: %d (mprotect(PROT_READ) calls: %d)", rc, seen);
	CHECK(seen == 2, "two host calls, not %d", seen);
	CHECK(strstr(dpemu_last_error(), "max_map_count") != NULL, "message");
	static const size_t probe[] = { 0, 1, LEAF + 3, 2 * LEAF, 3 * LEAF - 1 };
	for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
		unsigned char *a = r.base + probe[i] * ps;
		CHECK(dpemu_query(r.space, a, &info) == 0 && info.prot == RW,
		      "page %zu: prot %d after a failed protect", probe[i], info.prot);
		CHECK(try_access(a + 1, 1, 7, NULL) == 0, "page %zu writable", probe[i]);
		CHECK(try_access(a + 1, 0, 0, &v) == 0 && v == 7, "page %zu reads back", probe[i]);
	}
	/* And the call works once the host does. */
	CHECK(dpemu_protect(r.space, r.base, pages * ps, PROT_READ) == 0, "protect");
	for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
		unsigned char *a = r.base + probe[i] * ps;
		CHECK(try_access(a + 1, 1, 8, NULL) == DPEMU_FAULT_PROTECTION, "page %zu read-only",
		      probe[i]);
		CHECK(try_access(a + 1, 0, 0, &v) == 0 && v == 7, "page %zu kept its data", probe[i]);
	}
	rig_close(&r);
}

static void test_protect_fails(void **state)
{
	(void)state;
	run_child(protect_fails_child, NULL, "protect fails");
}

/* ---- defect 15: a frame the host may still show is never reused ------------ */

/* Which call hides a page in this run's host mode: madvise (guard markers,
 * userfaultfd) or mmap (DPEMU_HOSTMAP=mmap, old kernels).  Found by
 * counting the calls of one unmap. */
static enum inject_call hide_call(struct rig *r, unsigned char *page)
{
	page[0] = 1;
	inject_arm(INJ_MADVISE, -1, INJ_FOREVER, INJ_FOREVER, 0);
	CHECK(dpemu_unmap(r->space, page, ps) == 0, "unmap");
	int seen = atomic_load(&inj[INJ_MADVISE].seen);
	inject_off();
	return seen > 0 ? INJ_MADVISE : INJ_MMAP;
}

static void unmap_hide_fails_child(void *unused)
{
	struct rig r;
	struct dpemu_pool_stats st;
	unsigned char v = 0;
	void *p;

	(void)unused;
	alarm(20);
	rig_open(&r, 4, DPEMU_POLICY_NONE, 8, 0, 0);
	CHECK(dpemu_map(r.space, r.base, 4 * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0,
	      "map");
	enum inject_call k = hide_call(&r, r.base + 3 * ps);
	r.base[5] = 0x5a;
	r.base[ps + 5] = 0x5b;
	CHECK(pool_free(r.pool) == 2, "two frames in use");
	/* Hiding the two pages fails once. */
	inject_arm(k, k == INJ_MMAP ? MAP_FIXED | MAP_ANONYMOUS : -1, 0, 1, ENOMEM);
	int rc = dpemu_unmap(r.space, r.base, 2 * ps);
	int seen = atomic_load(&inj[k].seen);
	inject_off();
	CHECK(seen >= 1, "the hide was not injected");
	CHECK(rc == -ENOMEM, "unmap: %d", rc);
	/* The pages are unmapped, and nothing shows their old frames. */
	CHECK(try_access(r.base + 5, 0, 0, &v) == DPEMU_FAULT_UNMAPPED, "read page 0 (got %#x)", v);
	CHECK(try_access(r.base + ps + 5, 0, 0, &v) == DPEMU_FAULT_UNMAPPED, "read page 1");
	/* No frame lost: the scrub made them safe to reuse. */
	CHECK(dpemu_pool_stats(r.pool, &st) == 0 && st.frames_free == 4,
	      "free frames: %llu of 4", (unsigned long long)st.frames_free);
	/* Reuse them through other pages, then map the first pages again. */
	CHECK(dpemu_map(r.space, r.base + 4 * ps, 4 * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
	                &p) == 0, "map");
	for (int i = 0; i < 4; i++)
		r.base[(4 + (size_t)i) * ps] = (unsigned char)(0xc0 + i);
	CHECK(dpemu_unmap(r.space, r.base + 6 * ps, 2 * ps) == 0, "unmap");
	CHECK(dpemu_map(r.space, r.base, 2 * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0, &p) == 0,
	      "map again");
	CHECK(try_access(r.base + 5, 0, 0, &v) == 0 && v == 0, "page 0 reads zeros, not %#x", v);
	CHECK(try_access(r.base + ps + 5, 0, 0, &v) == 0 && v == 0, "page 1 reads zeros, not %#x", v);
	rig_close(&r);
}

static void test_unmap_hide_fails(void **state)
{
	(void)state;
	run_child(unmap_hide_fails_child, NULL, "unmap: hiding fails");
}

/*
 * A copy-on-write break whose showing of the copy fails after the copy
 * was mapped (userfaultfd: registering the alias) must not leave the freed
 * copy visible; where the host cannot fail there (SIGSEGV spaces: one
 * mmap), the mmap itself fails.
 */
static void cow_show_fails_child(void *unused)
{
	struct rig r;
	dpemu_space *child = NULL;
	struct dpemu_pool_stats st;
	unsigned char v = 0;

	(void)unused;
	alarm(20);
	rig_open(&r, 4, DPEMU_POLICY_NONE, 4, 4, RW);
	r.base[7] = 0x11;
	CHECK(dpemu_space_fork(r.space, &child) == 0, "fork");
	unsigned char *c = dpemu_space_base(child);
	CHECK(try_access(c + 7, 0, 0, &v) == 0 && v == 0x11, "the child reads the parent's page");
	CHECK(pool_free(r.pool) == 3, "one frame shared");
	if (dpemu_space_backend(child) == DPEMU_BACKEND_UFFD)
		inject_arm(INJ_IOCTL, (int)(UFFDIO_REGISTER & 0xffffffffu), 0, INJ_FOREVER, ENOMEM);
	else
		inject_arm(INJ_MMAP, MAP_FIXED | MAP_SHARED, 0, INJ_FOREVER, ENOMEM);
	int k = try_access(c + 7, 1, 0x22, NULL);
	int seen = atomic_load(&inj[INJ_IOCTL].seen) + atomic_load(&inj[INJ_MMAP].seen);
	inject_off();
	if (k == 0) {
		/* The host offered no failure point (no write-protection: the
		 * copy is one mmap, which worked). */
		CHECK(seen == 0, "the write went through although %d host calls failed", seen);
		fprintf(stderr, "no failure point for a copy's show here\n");
		_exit(CHILD_SKIP);
	}
	CHECK(k == DPEMU_FAULT_HOST, "the write is a host fault: %d", k);
	/* The copy went back to the pool. */
	CHECK(pool_free(r.pool) == 3, "free frames %llu, not 3", (unsigned long long)pool_free(r.pool));
	/* The child's pages 1-3 take the free frames, the freed copy among them. */
	for (int i = 1; i < 4; i++)
		c[(size_t)i * ps] = 0x77;
	CHECK(pool_free(r.pool) == 0, "all frames used");
	/* Page 0 of the child still shows the shared frame, not a reused copy. */
	CHECK(try_access(c + 7, 0, 0, &v) == 0 && v == 0x11, "child page 0 reads %#x, not 0x11", v);
	CHECK(try_access(r.base + 7, 0, 0, &v) == 0 && v == 0x11, "parent page 0 reads %#x", v);
	/* The write works once the host does (and a frame is free). */
	CHECK(dpemu_unmap(child, c + ps, 3 * ps) == 0, "unmap");
	CHECK(try_access(c + 7, 1, 0x22, NULL) == 0, "write again");
	CHECK(try_access(c + 7, 0, 0, &v) == 0 && v == 0x22, "child reads its write");
	CHECK(try_access(r.base + 7, 0, 0, &v) == 0 && v == 0x11, "parent keeps 0x11");
	CHECK(dpemu_space_destroy(child) == 0, "destroy child");
	CHECK(dpemu_pool_stats(r.pool, &st) == 0 && st.frames_free == 3, "frames back");
	rig_close(&r);
}

static void test_cow_show_fails(void **state)
{
	(void)state;
	run_child(cow_show_fails_child, NULL, "copy-on-write: showing the copy fails");
}

/*
 * An eviction whose hiding of a page fails - the victim's, or one whose
 * access the policy revokes to see its next use (CLOCK, LRU) - must not
 * hand the frame to another page while the old page may still show it.
 * A pool of EH_FRAMES frames, EH_PAGES pages written in turn for
 * EH_ROUNDS rounds (each write and each check of the pages written so far
 * may evict), and
 * one failure injected into the k-th matching host call, for every k: the
 * call that hides a page (madvise, or in DPEMU_HOSTMAP=mmap mode the mmap
 * over it) and, where pages have identity frames, the shared-memory mmap
 * (which shows an alias, and puts an alias's identity mapping back when
 * it is hidden).  The hiding call is also failed together with the scrub
 * that follows it (host_scrub, an anonymous mmap), so that the page must
 * keep its frame.  An access may fail only as a host or
 * out-of-frames fault, only while the injection fires, and then works
 * once retried; in the end every byte of every page is what was last
 * written, and every frame is back after destroy.
 */
#define EH_FRAMES 2
#define EH_PAGES 5 /* odd: pages get frames other than their identity (aliases) */
#define EH_ROUNDS 3

struct eh_page {
	unsigned char *page;
	unsigned char seed;
	int write;
	size_t bad;           /* check: 1 + the first wrong byte's index */
	unsigned char got;
};

static unsigned char eh_byte(unsigned char seed, size_t j)
{
	return (unsigned char)(seed + j * 7 + (j >> 8));
}

/* Fill a page with its pattern, or check every byte of it. */
static void eh_access(void *arg)
{
	struct eh_page *a = arg;

	for (size_t j = 0; j < ps; j++) {
		if (a->write) {
			a->page[j] = eh_byte(a->seed, j);
		} else if (((volatile unsigned char *)a->page)[j] != eh_byte(a->seed, j)) {
			a->bad = j + 1;
			a->got = a->page[j];
			return;
		}
	}
}

/* The seed of page i's contents in round r (never 0 for the pages and
 * rounds used: 0 marks a page not written yet). */
static unsigned char eh_seed(int i, int round)
{
	return (unsigned char)(1 + i * 0x25 + round * 0x51);
}

/*
 * Write page i of r with seed (read: check it holds seed) under
 * dpemu_catch.  A fault is allowed only if an injected failure fired
 * during the access, and only as a host or out-of-frames fault; the
 * access is then retried and must work.  what/skip name the run.
 */
static void eh_step(struct rig *r, int i, unsigned char seed, int write, const char *what,
                    int skip)
{
	struct eh_page a = { r->base + (size_t)i * ps, seed, write, 0, 0 };
	struct dpemu_fault f;
	int fired_before = atomic_load(&inj_failed);

	memset(&f, 0, sizeof f);
	if (dpemu_catch(eh_access, &a, &f) != 0) {
		int fired_now = atomic_load(&inj_failed) != fired_before;
		CHECK(fired_now && (f.kind == DPEMU_FAULT_HOST || f.kind == DPEMU_FAULT_OUT_OF_FRAMES),
		      "%s, skip %d: %s page %d: fault kind %d, error %d, injected now: %d", what,
		      skip, write ? "writing" : "reading", i, (int)f.kind, f.error, fired_now);
		a.bad = 0;
		CHECK(dpemu_catch(eh_access, &a, &f) == 0, "%s, skip %d: %s page %d, retried: "
		      "fault kind %d", what, skip, write ? "writing" : "reading", i, (int)f.kind);
	}
	CHECK(a.bad == 0, "%s, skip %d: page %d byte %zu is %#x, not %#x (another page's frame?)",
	      what, skip, i, a.bad - 1, a.got, eh_byte(seed, a.bad - 1));
}

/* One run: inject one failure of kind k (filter) after skip matching calls
 * (skip INJ_FOREVER: count only) - and, with scrub, one of the next
 * anonymous MAP_FIXED mmap (what scrubs a page).  Each write is followed
 * by a check of every page written so far, so that a page whose frame
 * was wrongly given away is seen before it is evicted again.  Returns the
 * matching calls seen; *both: whether the second failure was injected
 * too. */
static int evict_hide_run(enum dpemu_policy policy, enum inject_call k, int filter, int skip,
                          bool scrub, bool *both)
{
	const char *what = dpemu_policy_name(policy);
	unsigned char model[EH_PAGES] = { 0 };
	struct rig r;
	struct dpemu_pool_stats st;
	int seen, times = skip == INJ_FOREVER ? INJ_FOREVER : 1;

	rig_open(&r, EH_FRAMES, policy, EH_PAGES + 2, EH_PAGES, RW);
	for (int round = 0; round < EH_ROUNDS; round++) {
		for (int i = 0; i < EH_PAGES; i++) {
			if (round == 0 && i == EH_FRAMES) {
				if (scrub && k == INJ_MMAP)
					times = 2; /* (hiding is an anonymous mmap too) */
				else if (scrub)
					inject_arm(INJ_MMAP, MAP_FIXED | MAP_ANONYMOUS, 0, 1, ENOMEM);
				inject_arm(k, filter, skip, times, ENOMEM);
				atomic_store(&inj_failed, 0);
			}
			model[i] = eh_seed(i, round);
			eh_step(&r, i, model[i], 1, what, skip);
			for (int j = 0; j < EH_PAGES; j++)
				if (model[j])
					eh_step(&r, j, model[j], 0, what, skip);
		}
	}
	seen = atomic_load(&inj[k].seen);
	*both = scrub && atomic_load(&inj_failed) == 2;
	inject_off();
	/* Every page holds what was last written to it: none shows another
	 * page's frame. */
	for (int i = 0; i < EH_PAGES; i++)
		eh_step(&r, i, model[i], 0, what, skip);
	/* Every frame is back once the space is gone. */
	CHECK(dpemu_space_destroy(r.space) == 0, "destroy");
	CHECK(dpemu_pool_stats(r.pool, &st) == 0 && st.frames_free == EH_FRAMES,
	      "%s, skip %d: %llu of %d frames free after destroy", what, skip,
	      (unsigned long long)st.frames_free, EH_FRAMES);
	CHECK(dpemu_pool_destroy(r.pool) == 0, "pool destroy");
	return seen;
}

static void evict_hide_fails_child(void *arg)
{
	enum dpemu_policy policy = (enum dpemu_policy)(intptr_t)arg;
	struct { enum inject_call k; int filter; } calls[2];
	int ncalls = 0, injected = 0, doubled = 0;
	bool both;
	struct rig r;

	alarm(120);
	rig_open(&r, 2, DPEMU_POLICY_NONE, 2, 2, RW);
	enum inject_call hide = hide_call(&r, r.base);
	rig_close(&r);
	calls[ncalls].k = hide;
	calls[ncalls++].filter = hide == INJ_MMAP ? MAP_FIXED | MAP_ANONYMOUS : -1;
	if (hide == INJ_MADVISE) {
		calls[ncalls].k = INJ_MMAP;
		calls[ncalls++].filter = MAP_FIXED | MAP_SHARED;
	}
	for (int c = 0; c < ncalls; c++) {
		int n = evict_hide_run(policy, calls[c].k, calls[c].filter, INJ_FOREVER, false, &both);
		CHECK(n > 0, "%s: no matching host call to fail", dpemu_policy_name(policy));
		for (int skip = 0; skip < n && skip < 256; skip++, injected++) {
			evict_hide_run(policy, calls[c].k, calls[c].filter, skip, false, &both);
			if (c == 0) {
				evict_hide_run(policy, calls[c].k, calls[c].filter, skip, true, &both);
				doubled += both;
			}
		}
	}
	CHECK(injected > 0, "nothing injected");
	CHECK(doubled > 0, "%s: no hide failed together with its scrub", dpemu_policy_name(policy));
}

static void test_evict_hide_fails(void **state)
{
	static const enum dpemu_policy policies[] = { DPEMU_POLICY_FIFO, DPEMU_POLICY_CLOCK,
	                                              DPEMU_POLICY_LRU };

	(void)state;
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
		run_child(evict_hide_fails_child, (void *)(intptr_t)policies[i],
		          dpemu_policy_name(policies[i]));
}

/* ---- defect 9: an access that needs more pages than the pool has frames ---- */

struct straddle {
	unsigned char *at; /* 4 bytes before a page boundary */
	int kind;          /* see straddle_access */
	uint64_t got;
};

/* One instruction that needs both pages around a->at at once: an
 * unaligned 8-byte load or store, or (x86-64) a one-byte rep movsb from
 * the first page to the second - or, kind 3, the same copy done as a load
 * and a store, two instructions that each need one page. */
static void straddle_access(void *arg)
{
	struct straddle *a = arg;

	switch (a->kind) {
#if defined(__x86_64__)
	/* (In assembly: one instruction for sure, and no misaligned access in
	 * C for the sanitizers to object to.) */
	case 0:
		__asm__ volatile("movq (%1), %0" : "=r"(a->got) : "r"(a->at) : "memory");
		break;
	case 1:
		__asm__ volatile("movq %1, (%0)" : : "r"(a->at), "r"(0x0102030405060708ull) : "memory");
		break;
	case 2: {
		void *src = a->at, *dst = a->at + ps;
		size_t n = 1;
		__asm__ volatile("rep movsb" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
		break;
	}
#endif
	default:
		a->at[ps] = *(volatile unsigned char *)a->at;
		break;
	}
}

static void straddle_child(void *arg)
{
	enum dpemu_policy policy = (enum dpemu_policy)(intptr_t)arg;
	static const char *const kinds[] = { "unaligned read", "unaligned write", "rep movsb" };

	alarm(30);
#if !defined(__x86_64__)
	fprintf(stderr, "the straddling instructions are written for x86-64\n");
	_exit(CHILD_SKIP);
#endif
	for (int kind = 0; kind < 3; kind++) {
		struct rig r;
		struct dpemu_fault f;
		rig_open(&r, 1, policy, 4, 4, RW);
		struct straddle a = { r.base + ps - 4, kind, 0 };
		memset(&f, 0, sizeof f);
		int rc = dpemu_catch(straddle_access, &a, &f);
		CHECK(rc == 1, "%s: %s straddling two pages of a one-frame pool completed",
		      dpemu_policy_name(policy), kinds[kind]);
		CHECK(f.kind == DPEMU_FAULT_OUT_OF_FRAMES, "%s: %s: fault kind %d",
		      dpemu_policy_name(policy), kinds[kind], (int)f.kind);
		/* The pool still works for accesses that fit. */
		unsigned char v = 0;
		CHECK(try_access(r.base + 2 * ps, 1, 5, NULL) == 0, "a one-page write");
		CHECK(try_access(r.base + 3 * ps, 0, 0, &v) == 0 && v == 0, "a one-page read");
		CHECK(try_access(r.base + 2 * ps, 0, 0, &v) == 0 && v == 5, "the write came back");
		rig_close(&r);
	}
	/* Two frames hold both pages: the same accesses complete; with one, a
	 * copy done one page at a time does. */
	{
		struct rig r;
		struct dpemu_fault f;
		rig_open(&r, 1, policy, 4, 4, RW);
		struct straddle a = { r.base + ps - 4, 3, 0 };
		CHECK(dpemu_catch(straddle_access, &a, &f) == 0, "%s: a load and a store",
		      dpemu_policy_name(policy));
		rig_close(&r);
	}
	for (int kind = 0; kind < 3; kind++) {
		struct rig r;
		struct dpemu_fault f;
		rig_open(&r, 2, policy, 4, 4, RW);
		struct straddle a = { r.base + ps - 4, kind, 0 };
		CHECK(dpemu_catch(straddle_access, &a, &f) == 0, "%s: %s with two frames",
		      dpemu_policy_name(policy), kinds[kind]);
		rig_close(&r);
	}
	/* Legitimate thrashing is not a livelock: pages touched one at a time
	 * in a cycle longer than the pool, each access evicting. */
	{
		struct rig r;
		rig_open(&r, 2, policy, 8, 8, RW);
		for (int round = 0; round < 200; round++)
			for (int i = 0; i < 3; i++)
				CHECK(try_access(r.base + (size_t)i * ps + 1, 1, (unsigned char)round, NULL) == 0,
				      "%s: cyclic access, round %d page %d", dpemu_policy_name(policy), round, i);
		rig_close(&r);
	}
}

static void test_straddle_one_frame(void **state)
{
	static const enum dpemu_policy policies[] = { DPEMU_POLICY_FIFO, DPEMU_POLICY_CLOCK,
	                                              DPEMU_POLICY_LRU, DPEMU_POLICY_RANDOM };

	(void)state;
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
		run_child(straddle_child, (void *)(intptr_t)policies[i], dpemu_policy_name(policies[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_spaces_full),
		cmocka_unit_test(test_fork_while_faulting),
		cmocka_unit_test(test_revoke_fails),
		cmocka_unit_test(test_protect_fails),
		cmocka_unit_test(test_unmap_hide_fails),
		cmocka_unit_test(test_cow_show_fails),
		cmocka_unit_test(test_evict_hide_fails),
		cmocka_unit_test(test_straddle_one_frame),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
