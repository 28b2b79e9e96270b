/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_uffd_syscall.c - system calls on a page after a fault dpemu could
 * not resolve (issue 11, fuzzer findings F1 and F2).
 *
 * In userfaultfd's thread mode a fault inside a system call is resolved
 * like any other (dpemu(3)).  An unresolvable fault (a write to a
 * read-only page, an access to an unmapped address) used to leave the
 * page's host view revoked (PROT_NONE), so that later system calls on it
 * failed with EFAULT - also after the address was mapped again - until a
 * user-space access happened to trap and refresh it; and a fault inside a
 * system call that had to revoke the page (it raises no SIGSEGV to give
 * the page back) left it so for good (F2).  Each case runs in a
 * forked child with an alarm, and is skipped where system calls into lazy
 * pages are documented to fail (the SIGSEGV backend, SIGBUS mode).
 */
#include "testutil.h"

#include <sys/mman.h>

#define NPAGES 4

struct env {
	dpemu_pool *pool;
	dpemu_space *space;
	size_t ps;
	int fd;            /* a scratch file, for pread/pwrite */
	char path[64];
};

/* Whether system calls on lazy pages are resolved under this run's backend. */
static bool syscalls_resolved(void)
{
	const char *env = getenv("DPEMU_BACKEND");

	if (env && strcmp(env, "uffd-sigbus") == 0)
		return false;
	return tu_auto_backend() == DPEMU_BACKEND_UFFD;
}

static void env_open(struct env *e, size_t frames)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(0);
	static const char zeros[4 * 65536];

	memset(e, 0, sizeof *e);
	if (dpemu_pool_create(&pcfg, &e->pool) != 0)
		_exit(10);
	e->ps = tu_host_page();
	scfg.reserve = NPAGES * e->ps;
	if (dpemu_space_create(e->pool, &scfg, &e->space) != 0)
		_exit(11);
	if (dpemu_space_backend(e->space) != DPEMU_BACKEND_UFFD)
		_exit(12);
	e->fd = tu_temp_file(zeros, 4 * e->ps, e->path);
	if (e->fd < 0)
		_exit(13);
	unlink(e->path);
}

/* A write to a PROT_READ page, caught as a protection fault; then system
 * calls that read the page must work, and one that writes it fails with
 * EFAULT without spoiling the next read. */
static void readonly_child(void *arg)
{
	struct env e;
	struct dpemu_fault f;
	char buf[128];
	void *p;

	(void)arg;
	alarm(20);
	env_open(&e, 16);
	if (dpemu_map(e.space, NULL, 2 * e.ps, PROT_READ,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &p) != 0)
		_exit(20);
	if (tu_try_access(p, 1, 7, &f) != 1 || f.kind != DPEMU_FAULT_PROTECTION)
		_exit(21);
	if (pwrite(e.fd, p, 100, 0) != 100)
		_exit(22); /* was: EFAULT, the page left revoked */
	if (write(e.fd, p, 41) != 41)
		_exit(23);
	/* A system call that writes the page faults inside the kernel... */
	if (pread(e.fd, p, 64, 0) != -1 || errno != EFAULT)
		_exit(24);
	/* ...and the page stays readable to system calls and to user code. */
	if (pwrite(e.fd, p, 64, 0) != 64)
		_exit(25);
	if (pread(e.fd, buf, 64, 0) != 64 || buf[0] != 0)
		_exit(26);
	if (tu_try_access(p, 0, 0, &f) != 0)
		_exit(27);
	/* The second page, never touched: a write from a system call first. */
	if (pread(e.fd, (char *)p + e.ps, 8, 0) != -1 || errno != EFAULT)
		_exit(28);
	if (pwrite(e.fd, (char *)p + e.ps, 8, 0) != 8)
		_exit(29);
	_exit(0);
}

/* A system call (and a user access) at an unmapped address fail; once the
 * address is mapped there, system calls on it must work. */
static void unmapped_child(void *arg)
{
	struct env e;
	struct dpemu_fault f;
	char *base, *q = NULL;
	int user = *(int *)arg;
	char msg[32] = "hello, page";

	alarm(20);
	env_open(&e, 16);
	base = dpemu_space_base(e.space);
	char *a = base + e.ps;
	if (user) {
		if (tu_try_access(a, 0, 0, &f) != 1 || f.kind != DPEMU_FAULT_UNMAPPED)
			_exit(30);
	} else if (write(e.fd, a, 16) != -1 || errno != EFAULT) {
		_exit(31);
	}
	if (dpemu_map(e.space, a, e.ps, PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED, -1, 0,
	              (void **)&q) != 0 || q != a)
		_exit(32);
	if (pwrite(e.fd, a, 16, 0) != 16)
		_exit(33); /* was: EFAULT, the reserve page left revoked */
	if (pwrite(e.fd, msg, sizeof msg, 0) != (ssize_t)sizeof msg ||
	    pread(e.fd, a + 8, sizeof msg, 0) != (ssize_t)sizeof msg)
		_exit(34);
	if (memcmp(a + 8, msg, sizeof msg) != 0)
		_exit(35);
	/* Unmapped again, and mapped again: the same. */
	if (dpemu_unmap(e.space, a, e.ps) != 0)
		_exit(36);
	if (write(e.fd, a, 16) != -1 || errno != EFAULT)
		_exit(37);
	if (dpemu_map(e.space, a, e.ps, PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED, -1, 0,
	              (void **)&q) != 0)
		_exit(38);
	if (pread(e.fd, a, sizeof msg, 0) != (ssize_t)sizeof msg || memcmp(a, msg, sizeof msg))
		_exit(39);
	_exit(0);
}

/* Faults the PTE allows but dpemu cannot resolve now - out of frames, or
 * a read of a PROT_WRITE-only page, which the host lets through once the
 * page is present - are revoked to raise SIGSEGV: once reported, the page
 * must work for system calls again. */
static void revoked_child(void *arg)
{
	struct env e;
	struct dpemu_fault f;
	char *w, *q;

	(void)arg;
	alarm(20);
	env_open(&e, 1);
	if (dpemu_map(e.space, NULL, e.ps, PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&w) != 0 ||
	    dpemu_map(e.space, NULL, e.ps, PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&q) != 0)
		_exit(40);
	if (tu_try_access(w, 0, 0, &f) != 1 || f.kind != DPEMU_FAULT_PROTECTION)
		_exit(41);
	if (pread(e.fd, w, 16, 0) != 16)
		_exit(42); /* was: EFAULT, the page left revoked */
	/* The pool's one frame is w's now. */
	if (tu_try_access(q, 1, 5, &f) != 1 || f.kind != DPEMU_FAULT_OUT_OF_FRAMES)
		_exit(43);
	if (dpemu_unmap(e.space, w, e.ps) != 0)
		_exit(44);
	if (pread(e.fd, q, 16, 0) != 16)
		_exit(45); /* was: EFAULT */
	_exit(0);
}

/* Fuzzer finding F2: the same faults as revoked_child, taken inside system
 * calls.  The first call fails with EFAULT (or stops short); no SIGSEGV
 * follows it, and once the page can be served, system calls on it must
 * work - they used to fail with EFAULT for as long as no user-space access
 * came to give the page its view back. */
static void revoked_syscall_child(void *arg)
{
	struct env e;
	char *w, *q;

	(void)arg;
	alarm(20);
	env_open(&e, 1);
	if (dpemu_map(e.space, NULL, e.ps, PROT_WRITE,
	              DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&w) != 0 ||
	    dpemu_map(e.space, NULL, e.ps, PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&q) != 0)
		_exit(50);
	/* The kernel reads a PROT_WRITE page that has no frame yet: refused. */
	if (pwrite(e.fd, w, 16, 0) != -1 || errno != EFAULT)
		_exit(51);
	/* A system call that writes it is allowed. */
	if (pread(e.fd, w, 16, 0) != 16)
		_exit(52); /* was: EFAULT, the page left revoked */
	/* The pool's one frame is w's now: a system call into q runs out. */
	if (pread(e.fd, q, 16, 0) != -1 || errno != EFAULT)
		_exit(53);
	if (dpemu_unmap(e.space, w, e.ps) != 0)
		_exit(54);
	if (pread(e.fd, q, 16, 0) != 16)
		_exit(55); /* was: EFAULT */
	if (pwrite(e.fd, q, 16, 0) != 16)
		_exit(56);
	_exit(0);
}

/* The same with SIGSEGV blocked in the thread: dpemu must not leave a
 * signal of its own pending there (a sigwait would find it); the page may
 * then stay revoked for system calls (dpemu(3)) until user code touches
 * it, which must work. */
static void blocked_child(void *arg)
{
	struct env e;
	sigset_t set, pending;
	char *w;

	(void)arg;
	alarm(20);
	env_open(&e, 4);
	if (dpemu_map(e.space, NULL, e.ps, PROT_WRITE,
	              DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&w) != 0)
		_exit(60);
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		_exit(61);
	if (pwrite(e.fd, w, 16, 0) != -1 || errno != EFAULT)
		_exit(62);
	if (sigpending(&pending) != 0 || sigismember(&pending, SIGSEGV))
		_exit(63);
	if (pthread_sigmask(SIG_UNBLOCK, &set, NULL) != 0)
		_exit(64);
	w[3] = 7;
	if (pread(e.fd, w, 16, 0) != 16)
		_exit(65);
	_exit(0);
}

static void run_child(void (*fn)(void *), void *arg)
{
	struct tu_child c;

	if (!syscalls_resolved())
		skip();
	assert_int_equal(tu_run_in_child(fn, arg, &c), 0);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
		print_error("child: status %#x, stderr: %s\n", c.status, c.err);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
}

static void test_syscall_after_protection_fault(void **state)
{
	(void)state;
	run_child(readonly_child, NULL);
}

static void test_syscall_after_revoke(void **state)
{
	(void)state;
	run_child(revoked_child, NULL);
}

static void test_syscall_after_revoked_syscall(void **state)
{
	(void)state;
	run_child(revoked_syscall_child, NULL);
}

static void test_syscall_segv_blocked(void **state)
{
	(void)state;
	run_child(blocked_child, NULL);
}

static void test_syscall_after_unmapped_syscall(void **state)
{
	int user = 0;

	(void)state;
	run_child(unmapped_child, &user);
}

static void test_syscall_after_unmapped_fault(void **state)
{
	int user = 1;

	(void)state;
	run_child(unmapped_child, &user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_after_protection_fault),
		cmocka_unit_test(test_syscall_after_unmapped_syscall),
		cmocka_unit_test(test_syscall_after_unmapped_fault),
		cmocka_unit_test(test_syscall_after_revoke),
		cmocka_unit_test(test_syscall_after_revoked_syscall),
		cmocka_unit_test(test_syscall_segv_blocked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
