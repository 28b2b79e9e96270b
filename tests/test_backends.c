/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_backends.c - what differs between the backends, tested by naming
 * each backend explicitly: faults taken inside system calls, dpemu_prefault,
 * the userfaultfd handler thread's lifecycle, and write-protection instead
 * of VMA splits.  (Everything else runs under every backend through
 * tests/each-backend.)
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dpemu.h"
#include "testutil.h"

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

struct kind {
	const char *name;
	enum dpemu_backend backend;
	enum dpemu_uffd_mode mode;
	int syscalls_resolved; /* a fault inside read(2) is resolved */
};

static const struct kind kinds[] = {
	{ "sigsegv", DPEMU_BACKEND_SIGSEGV, DPEMU_UFFD_THREAD, 0 },
	{ "uffd", DPEMU_BACKEND_UFFD, DPEMU_UFFD_THREAD, 1 },
	{ "uffd-sigbus", DPEMU_BACKEND_UFFD, DPEMU_UFFD_SIGBUS, 0 },
};

struct env {
	dpemu_pool *pool;
	dpemu_space *space;
	size_t ps;
};

/* A pool of `frames` and a space of `pages` with the given backend; 0, or
 * the creation error (a refused userfaultfd: the caller skips). */
static int env_open(struct env *e, const struct kind *k, size_t frames, size_t pages)
{
	struct dpemu_pool_config pc = tu_pool_config(frames, 0);
	struct dpemu_space_config sc = tu_space_config(pages * tu_host_page());
	int rc;

	e->ps = tu_host_page();
	sc.backend = k->backend;
	sc.uffd_mode = k->mode;
	assert_int_equal(dpemu_pool_create(&pc, &e->pool), 0);
	rc = dpemu_space_create(e->pool, &sc, &e->space);
	if (rc != 0) {
		print_message("%s refused here: %s\n", k->name, dpemu_last_error());
		assert_true(rc == -EPERM || rc == -ENOSYS);
		assert_int_equal(dpemu_pool_destroy(e->pool), 0);
	}
	return rc;
}

static void env_close(struct env *e)
{
	struct dpemu_pool_stats ps;

	assert_int_equal(dpemu_space_destroy(e->space), 0);
	assert_int_equal(dpemu_pool_stats(e->pool, &ps), 0);
	assert_int_equal(ps.frames_used, 0);
	assert_int_equal(dpemu_pool_destroy(e->pool), 0);
}

static char *map_anon(struct env *e, size_t pages, int prot)
{
	void *out = NULL;

	assert_int_equal(dpemu_map(e->space, NULL, pages * e->ps, prot, ANON_PRIVATE, -1, 0, &out), 0);
	return out;
}

/* read(2) from a pipe into buf; returns read's result, errno in *err. */
static ssize_t read_from_pipe(void *buf, const char *text, int *err)
{
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
	errno = 0;
	n = read(fds[0], buf, strlen(text));
	*err = errno;
	close(fds[0]);
	close(fds[1]);
	return n;
}

/* read(2) into a page that has no frame yet: resolved by the userfaultfd
 * handler thread; EFAULT under SIGSEGV and SIGBUS mode, where dpemu_prefault
 * makes it work. */
static void test_read_into_lazy_page(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct env e;
		struct dpemu_page_info pi;
		int err;
		char *p;

		if (env_open(&e, &kinds[i], 8, 16))
			continue;
		p = map_anon(&e, 2, RW);
		ssize_t n = read_from_pipe(p + 100, "hello", &err);
		if (kinds[i].syscalls_resolved) {
			assert_int_equal(n, 5);
			assert_memory_equal(p + 100, "hello", 5);
			assert_int_equal(p[0], 0);
		} else {
			assert_int_equal(n, -1);
			assert_int_equal(err, EFAULT);
			assert_int_equal(dpemu_query(e.space, p, &pi), 0);
			assert_false(pi.present);
			/* the documented way out: populate first */
			assert_int_equal(dpemu_prefault(e.space, p, e.ps, PROT_WRITE), 0);
			assert_int_equal(read_from_pipe(p + 100, "hello", &err), 5);
			assert_memory_equal(p + 100, "hello", 5);
		}
		/* a file as the source works the same */
		char path[] = "/tmp/dpemu-test-XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		unlink(path);
		assert_int_equal(write(fd, "file!", 5), 5);
		if (!kinds[i].syscalls_resolved)
			assert_int_equal(dpemu_prefault(e.space, p + e.ps, e.ps, PROT_WRITE), 0);
		assert_int_equal(pread(fd, p + e.ps, 5, 0), 5);
		assert_memory_equal(p + e.ps, "file!", 5);
		close(fd);
		env_close(&e);
	}
}

/* read(2) into a copy-on-write page: the kernel's write takes a copy; the
 * other space keeps the old bytes. */
static void test_read_into_cow_page(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct env e;
		dpemu_space *child = NULL;
		struct dpemu_stats st;
		int err;
		char *p, *c;

		if (env_open(&e, &kinds[i], 8, 16))
			continue;
		p = map_anon(&e, 1, RW);
		memcpy(p, "parent", 6);
		assert_int_equal(dpemu_space_fork(e.space, &child), 0);
		c = (char *)dpemu_space_base(child) + (p - (char *)dpemu_space_base(e.space));
		if (!kinds[i].syscalls_resolved)
			assert_int_equal(dpemu_prefault(e.space, p, e.ps, PROT_WRITE), 0);
		assert_int_equal(read_from_pipe(p, "kernel", &err), 6);
		assert_memory_equal(p, "kernel", 6);
		assert_memory_equal(c, "parent", 6);
		assert_int_equal(dpemu_space_stats(e.space, &st), 0);
		assert_int_equal(st.cow_copies, 1);
		assert_int_equal(dpemu_space_destroy(child), 0);
		env_close(&e);
	}
}

/* dpemu_prefault: pages become present without a trap; each error. */
static void test_prefault(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct env e;
		struct dpemu_stats st;
		struct dpemu_page_info pi;
		char *p, *ro;

		if (env_open(&e, &kinds[i], 6, 32))
			continue;
		p = map_anon(&e, 4, RW);
		ro = map_anon(&e, 1, PROT_READ);
		/* For reading: the pages share the zero frame, no frame used. */
		assert_int_equal(dpemu_prefault(e.space, p, 4 * e.ps, PROT_READ), 0);
		for (int k = 0; k < 4; k++) {
			assert_int_equal(dpemu_query(e.space, p + k * e.ps, &pi), 0);
			assert_true(pi.present);
			assert_true(pi.zero);
		}
		assert_int_equal(dpemu_space_stats(e.space, &st), 0);
		assert_int_equal(st.faults, 0);
		assert_int_equal(st.pages_resident, 4);
		assert_int_equal(p[5], 0); /* no trap needed now */
		/* For writing: each page gets its own frame, still without a trap. */
		assert_int_equal(dpemu_prefault(e.space, p, 4 * e.ps, PROT_WRITE), 0);
		p[0] = 1;
		assert_int_equal(p[0], 1);
		assert_int_equal(dpemu_space_stats(e.space, &st), 0);
		assert_int_equal(st.faults, 0);
		assert_int_equal(dpemu_query(e.space, p, &pi), 0);
		assert_false(pi.zero);

		assert_int_equal(dpemu_prefault(e.space, ro, e.ps, PROT_READ), 0);
		assert_int_equal(dpemu_prefault(e.space, ro, e.ps, PROT_WRITE), -EACCES);
		assert_int_equal(dpemu_prefault(e.space, p + 20 * e.ps, e.ps, PROT_READ), -ENOMEM);
		assert_int_equal(dpemu_prefault(e.space, p, e.ps, PROT_EXEC), -EINVAL);
		assert_int_equal(dpemu_prefault(e.space, p + 1, e.ps, PROT_READ), -EINVAL);
		assert_int_equal(dpemu_prefault(e.space, p, 0, PROT_READ), -EINVAL);
		assert_int_equal(dpemu_prefault(NULL, p, e.ps, PROT_READ), -EINVAL);
		assert_true(dpemu_last_error()[0] != '\0');
		/* 6 frames, 4 used: a 3-page prefault gets two pages, then -ENOSPC */
		char *more = map_anon(&e, 3, RW);
		assert_int_equal(dpemu_prefault(e.space, more, 3 * e.ps, PROT_WRITE), -ENOSPC);
		assert_int_equal(dpemu_query(e.space, more + e.ps, &pi), 0);
		assert_true(pi.present);
		assert_int_equal(dpemu_query(e.space, more + 2 * e.ps, &pi), 0);
		assert_false(pi.present);
		assert_int_equal(dpemu_space_stats(e.space, &st), 0);
		assert_int_equal(st.protection_faults, 0);
		env_close(&e);
	}
}

/* Does this backend tell reads from writes?  (userfaultfd always; SIGSEGV
 * through the page-fault error code, which dpemu reads on x86-64.) */
static int knows_reads(const struct kind *k)
{
#if defined(__x86_64__)
	(void)k;
	return 1;
#else
	return k->backend == DPEMU_BACKEND_UFFD;
#endif
}

/* A private anonymous page that is first read maps the shared zero frame,
 * read-only and copy-on-write: no frame of its own until its first write.
 * At most ZERO_MAPS_MAX (4096) pages of a pool do (each costs the host a
 * mapping); past that, and with fault-around, reads take frames. */
static void test_zero_frame(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		const size_t pages = 4200;
		struct env e;
		struct dpemu_pool_stats ps;
		struct dpemu_page_info pi;
		char *p;

		if (!knows_reads(&kinds[i]) || env_open(&e, &kinds[i], pages + 8, pages + 64))
			continue;
		p = map_anon(&e, pages, RW);
		assert_int_equal(p[5 * e.ps + 7], 0);
		assert_int_equal(p[6 * e.ps], 0);
		assert_int_equal(dpemu_query(e.space, p + 5 * e.ps, &pi), 0);
		assert_true(pi.present && pi.zero && pi.cow);
		assert_int_equal(pi.frame_refs, 2); /* two pages map it */
		assert_int_equal(dpemu_pool_stats(e.pool, &ps), 0);
		assert_int_equal(ps.frames_used, 0);
		assert_int_equal(ps.zero_maps, 2);

		/* The first write takes a zeroed frame; the other page keeps zero. */
		p[5 * e.ps + 9] = 'w';
		assert_int_equal(p[5 * e.ps + 7], 0);
		assert_int_equal(p[5 * e.ps + 9], 'w');
		assert_int_equal(dpemu_query(e.space, p + 5 * e.ps, &pi), 0);
		assert_false(pi.zero);
		assert_false(pi.cow);
		assert_int_equal(dpemu_pool_stats(e.pool, &ps), 0);
		assert_int_equal(ps.frames_used, 1);
		assert_int_equal(ps.zero_maps, 1);
		assert_int_equal(p[6 * e.ps + 100], 0);

		/* The budget: reading every page leaves 4096 on the zero frame. */
		for (size_t k = 0; k < pages; k++)
			assert_int_equal(p[k * e.ps], 0);
		assert_int_equal(dpemu_pool_stats(e.pool, &ps), 0);
		assert_int_equal(ps.zero_maps, 4096);
		assert_int_equal(ps.frames_used, pages - 4096);
		for (size_t k = 0; k < pages; k++)
			assert_int_equal(p[k * e.ps + 9], k == 5 ? 'w' : 0);
		env_close(&e);
	}
}

/* With fault-around, a read takes frames (zero-frame pages would break up
 * the runs fault-around maps). */
static void test_zero_frame_not_with_fault_around(void **state)
{
	struct dpemu_pool_config pc = tu_pool_config(64, 0);
	struct dpemu_space_config sc = tu_space_config(64 * tu_host_page());
	struct dpemu_pool_stats ps;
	dpemu_pool *pool;
	dpemu_space *s;
	char *p = NULL;

	(void)state;
	sc.fault_around = 4;
	assert_int_equal(dpemu_pool_create(&pc, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &sc, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, 8 * tu_host_page(), RW, ANON_PRIVATE, -1, 0,
	                           (void **)&p), 0);
	assert_int_equal(p[0], 0);
	assert_int_equal(dpemu_pool_stats(pool, &ps), 0);
	assert_int_equal(ps.zero_maps, 0);
	assert_int_equal(ps.frames_used, 4);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* read(2) into a page that shares the zero frame: the kernel's write takes
 * the page a frame of its own (userfaultfd thread mode). */
static void test_read_into_zero_page(void **state)
{
	struct env e;
	struct dpemu_page_info pi;
	int err;
	char *p;

	(void)state;
	if (env_open(&e, &kinds[1], 8, 16))
		return;
	p = map_anon(&e, 1, RW);
	assert_int_equal(p[3], 0);
	assert_int_equal(dpemu_query(e.space, p, &pi), 0);
	assert_true(pi.zero);
	assert_int_equal(read_from_pipe(p + 10, "kernel", &err), 6);
	assert_memory_equal(p + 10, "kernel", 6);
	assert_int_equal(p[3], 0);
	assert_int_equal(dpemu_query(e.space, p, &pi), 0);
	assert_false(pi.zero);
	env_close(&e);
}

/* The handler thread starts with the first thread-mode space and stops
 * with the last one; no thread and no descriptor is left behind. */
static void test_handler_thread_lifecycle(void **state)
{
	const struct kind *k = &kinds[1];
	struct env e;
	dpemu_space *more[3];
	int threads0, fds0;

	(void)state;
	threads0 = tu_count_dir("/proc/self/task");
	fds0 = tu_count_dir("/proc/self/fd");
	if (env_open(&e, k, 8, 16))
		return;
	assert_int_equal(tu_count_dir("/proc/self/task"), threads0 + 1);
	for (int i = 0; i < 3; i++) {
		struct dpemu_space_config sc = tu_space_config(16 * e.ps);
		sc.backend = DPEMU_BACKEND_UFFD;
		assert_int_equal(dpemu_space_create(e.pool, &sc, &more[i]), 0);
		char *p = NULL;
		assert_int_equal(dpemu_map(more[i], NULL, e.ps, RW, ANON_PRIVATE, -1, 0, (void **)&p), 0);
		p[0] = (char)i; /* resolved by the one thread */
	}
	assert_int_equal(tu_count_dir("/proc/self/task"), threads0 + 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dpemu_space_destroy(more[i]), 0);
	assert_int_equal(tu_count_dir("/proc/self/task"), threads0 + 1);
	env_close(&e);
	assert_int_equal(tu_count_dir("/proc/self/task"), threads0);
	assert_int_equal(tu_count_dir("/proc/self/fd"), fds0);

	/* and it comes back for the next space */
	if (env_open(&e, k, 8, 16))
		return;
	assert_int_equal(tu_count_dir("/proc/self/task"), threads0 + 1);
	env_close(&e);
	assert_int_equal(tu_count_dir("/proc/self/task"), threads0);
}

/* After a fork, the parent's copy-on-write pages are write-protected
 * through userfaultfd, not by mprotect: the host's mappings do not split,
 * even when every other page is resident. */
static void test_cow_without_vma_splits(void **state)
{
	(void)state;
	for (size_t i = 1; i < sizeof kinds / sizeof kinds[0]; i++) {
		const size_t pages = 2048;
		struct env e;
		dpemu_space *child = NULL;
		long before, after;
		char *p, *c;

		if (env_open(&e, &kinds[i], pages * 2, pages))
			continue;
		p = map_anon(&e, pages, RW);
		for (size_t k = 0; k < pages; k += 2)
			p[k * e.ps] = (char)k;
		before = tu_count_maps_lines();
		assert_int_equal(dpemu_space_fork(e.space, &child), 0);
		c = (char *)dpemu_space_base(child) + (p - (char *)dpemu_space_base(e.space));
		for (size_t k = 0; k < pages; k += 2)
			assert_int_equal(c[k * e.ps], (char)k);
		after = tu_count_maps_lines();
		print_message("%s: %ld host mappings before the fork, %ld after it and the "
		              "child's reads\n", kinds[i].name, before, after);
		assert_true(after - before < 64);
		/* and copy-on-write still works: writes on both sides */
		p[0] = 'p';
		c[2 * e.ps] = 'c';
		assert_int_equal(c[0], 0);
		assert_int_equal(p[2 * e.ps], 2);
		assert_int_equal(dpemu_space_destroy(child), 0);
		env_close(&e);
	}
}

/* ---- a fault inside a dpemu call (a signal handler touches an arena) ---- */

#define SIG_PAGES 2000
static char *sig_pages;
static size_t sig_ps;
static volatile sig_atomic_t sig_next, sig_resolved, sig_refused, sig_other;

static void touch_sig_page(void *arg)
{
	*(volatile char *)arg = 1;
}

/* Touch the next lazy page.  (No dpemu call here: they are not
 * async-signal-safe, and this handler may interrupt one.) */
static void on_usr1(int sig)
{
	struct dpemu_fault f;

	(void)sig;
	if (sig_next >= SIG_PAGES)
		return;
	if (dpemu_catch(touch_sig_page, sig_pages + (size_t)sig_next++ * sig_ps, &f) == 0)
		sig_resolved++;
	else if (f.kind == DPEMU_FAULT_HOST && f.error == -EDEADLK)
		sig_refused++;
	else
		sig_other++;
}

static void *send_usr1(void *arg)
{
	pthread_t target = *(pthread_t *)arg;

	for (int i = 0; i < SIG_PAGES; i++) {
		pthread_kill(target, SIGUSR1);
		usleep(50);
	}
	return NULL;
}

/* Runs in a child: the main thread stays inside dpemu calls (holding the
 * space lock) while SIGUSR1 handlers touch a lazy page of the same space.
 * Each touch is either resolved or refused as "inside a dpemu call"; none
 * may deadlock (the alarm would kill the child). */
static void child_fault_inside_call(const struct kind *k)
{
	struct env e;
	struct sigaction sa;
	pthread_t self = pthread_self(), sender;
	struct dpemu_stats st;

	alarm(60);
	if (env_open(&e, k, SIG_PAGES, SIG_PAGES))
		_exit(77);
	sig_ps = e.ps;
	sig_pages = map_anon(&e, SIG_PAGES, RW);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&sender, NULL, send_usr1, &self);
	for (int i = 0; i < 200000; i++)
		dpemu_space_stats(e.space, &st);
	pthread_join(sender, NULL);
	/* every signal that arrived was handled one way or the other */
	if (sig_other != 0 || sig_resolved + sig_refused == 0)
		_exit(1);
	printf("%s: %d touches resolved, %d refused inside a dpemu call\n", k->name,
	       (int)sig_resolved, (int)sig_refused);
	fflush(stdout);
	_exit(0);
}

static void test_fault_inside_dpemu_call(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0)
			child_fault_inside_call(&kinds[i]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s: child %s %d", kinds[i].name,
			         WIFSIGNALED(status) ? "killed by signal" : "exited with",
			         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_into_lazy_page),
		cmocka_unit_test(test_read_into_cow_page),
		cmocka_unit_test(test_prefault),
		cmocka_unit_test(test_handler_thread_lifecycle),
		cmocka_unit_test(test_cow_without_vma_splits),
		cmocka_unit_test(test_fault_inside_dpemu_call),
		cmocka_unit_test(test_zero_frame),
		cmocka_unit_test(test_zero_frame_not_with_fault_around),
		cmocka_unit_test(test_read_into_zero_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
