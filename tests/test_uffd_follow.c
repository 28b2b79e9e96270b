/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_uffd_follow.c - userfaultfd's thread mode keeps its handler thread
 * on the CPU of the thread whose faults it resolves (issue 13: a wake-up
 * across CPUs cost ten times one on the same CPU), and DPEMU_UFFD_FOLLOW=0
 * leaves it where the scheduler puts it.  Nothing is timed: the test looks
 * at the CPU affinity of the process's threads.  Each case runs in a
 * forked child with an alarm; skipped but under thread mode, and with a
 * single CPU.
 */
#include "testutil.h"

#include <dirent.h>
#include <sched.h>

#define NPAGES 64

static bool thread_mode(void)
{
	const char *env = getenv("DPEMU_BACKEND");

	if (env && strcmp(env, "uffd-sigbus") == 0)
		return false;
	return tu_auto_backend() == DPEMU_BACKEND_UFFD;
}

/* How many threads of this process but the caller may run on `cpu` only. */
static int threads_pinned_to(int cpu)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0, self = (int)gettid();

	if (!d)
		_exit(20);
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);
		cpu_set_t set;
		if (tid <= 0 || tid == self)
			continue;
		if (sched_getaffinity(tid, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 &&
		    CPU_ISSET(cpu, &set))
			n++;
	}
	closedir(d);
	return n;
}

struct follow_arg {
	const char *follow; /* DPEMU_UFFD_FOLLOW's value, NULL: unset */
	int want;           /* handler threads expected on our CPU      */
};

static void follow_child(void *arg)
{
	const struct follow_arg *a = arg;
	struct dpemu_pool_config pcfg = tu_pool_config(NPAGES, 0);
	struct dpemu_space_config scfg = tu_space_config(0);
	dpemu_pool *pool;
	dpemu_space *s;
	cpu_set_t set;
	int cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;

	alarm(60);
	tu_default_fault_signals();
	if (a->follow)
		setenv("DPEMU_UFFD_FOLLOW", a->follow, 1);
	else
		unsetenv("DPEMU_UFFD_FOLLOW");
	if (dpemu_pool_create(&pcfg, &pool) != 0)
		_exit(10);
	scfg.reserve = NPAGES * tu_host_page();
	if (dpemu_space_create(pool, &scfg, &s) != 0)
		_exit(11);
	if (dpemu_space_backend(s) != DPEMU_BACKEND_UFFD)
		_exit(77);
	/* this thread on the last CPU, once the handler thread exists (it
	 * inherited our affinity then: every CPU) */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		_exit(77);
	char *p;
	if (dpemu_map(s, NULL, NPAGES * tu_host_page(), PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&p) != 0)
		_exit(12);
	for (int i = 0; i < NPAGES; i++)
		p[(size_t)i * tu_host_page()] = (char)i; /* faults, in thread mode */
	for (int i = 0; i < NPAGES; i++)
		if (p[(size_t)i * tu_host_page()] != (char)i)
			_exit(13);
	if (threads_pinned_to(cpu) != a->want)
		_exit(14);
	if (dpemu_space_destroy(s) != 0 || dpemu_pool_destroy(pool) != 0)
		_exit(15);
}

static void run_follow(const char *follow, int want)
{
	struct follow_arg a = { follow, want };
	struct tu_child c;

	if (!thread_mode() || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	assert_int_equal(tu_run_in_child(follow_child, &a, &c), 0);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 77)
		skip();
	tu_assert_child_ok(&c, "follow");
}

/* The handler moves to the faulting thread's CPU at its first fault. */
static void test_handler_follows(void **state)
{
	(void)state;
	run_follow(NULL, 1);
}

/* DPEMU_UFFD_FOLLOW=0: nobody pins the handler. */
static void test_follow_off(void **state)
{
	(void)state;
	run_follow("0", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handler_follows),
		cmocka_unit_test(test_follow_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
