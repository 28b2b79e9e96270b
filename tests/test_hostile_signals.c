/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_hostile_signals.c - the signal side of dpemu under hostile use:
 * program handlers that chain to the one they displaced, one-shot
 * handlers, SIG_IGN, the signal mask a program's handler runs with, signal
 * handlers that touch an arena while their thread is inside dpemu, and
 * fault reports that must not call strerror(3).
 *
 * Every case runs in a forked child with an alarm, since the failures it
 * looks for are hangs, endless recursion and silent deaths.
 *
 * To make a signal arrive exactly while the thread is inside a dpemu call
 * (holding its locks), this program takes over the library's mprotect,
 * madvise and ioctl (interpose.h, as in test_populate.c): while `armed`,
 * each call on the main thread first raises SIGUSR1.  Its hook also makes
 * pread, a file read on the fault path, fail with an unusual errno.  It
 * defines strerror, to see whether the fault path calls it, and write, to
 * raise SIGUSR1 while dpemu holds the handler thread's mutex.
 */
#include "testutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "interpose.h"

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

static size_t ps;

/* ---- interposed library functions ---------------------------------------- */

static volatile sig_atomic_t armed;      /* raise SIGUSR1 in host calls        */
static volatile sig_atomic_t in_usr1;    /* the SIGUSR1 handler is running     */
static volatile sig_atomic_t raised;     /* how many times it was raised       */
static pid_t main_tid;
static volatile int pread_errno;         /* non-zero: pread fails with it      */
static volatile int wake_armed;          /* raise SIGUSR1 in an eventfd write  */
static volatile int revoke_fail;         /* mprotect(PROT_NONE) off the main
                                            thread fails with ENOMEM         */

static void maybe_raise(void)
{
	if (armed && !in_usr1 && (pid_t)syscall(SYS_gettid) == main_tid && raised < 64) {
		raised++;
		raise(SIGUSR1);
	}
}

/*
 * The interposed calls (interpose.h) ask here: mprotect, madvise and ioctl
 * raise SIGUSR1 while armed (mprotect(PROT_NONE) off the main thread fails
 * first, while revoke_fail); pread fails with pread_errno while set.
 */
static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a)
{
	switch (call) {
	case TU_MPROTECT:
		if (revoke_fail && a->prot == PROT_NONE &&
		    (pid_t)syscall(SYS_gettid) != main_tid) {
			errno = ENOMEM;
			return -1;
		}
		maybe_raise();
		return 0;
	case TU_MADVISE:
	case TU_IOCTL:
		maybe_raise();
		return 0;
	case TU_PREAD:
		if (pread_errno) {
			errno = pread_errno;
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * An 8-byte write to an eventfd on the main thread while wake_armed: the
 * handler thread's wake-up in handler_sync (uffd.c), made with handler.mu
 * held.  Write it, give the woken handler thread time to reach that mutex,
 * then raise SIGUSR1 with the mutex still held.
 */
ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t n = syscall(SYS_write, fd, buf, len);
	char path[64], link[64];

	if (wake_armed && len == 8 && (pid_t)syscall(SYS_gettid) == main_tid) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t l = readlink(path, link, sizeof link - 1);
		if (l > 0) {
			link[l] = '\0';
			if (strstr(link, "eventfd")) {
				wake_armed = 0;
				usleep(50000);
				raise(SIGUSR1);
			}
		}
	}
	return n;
}

char *strerror(int err)
{
	static char text[] = "STRERROR-CALLED";

	(void)err;
	if (write(STDERR_FILENO, "STRERROR-CALLED\n", 16) < 0) {
		/* the parent sees the missing line */
	}
	return text;
}

/* ---- helpers ------------------------------------------------------------- */

static void say(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0) {
		/* nothing to do */
	}
}

/* A pool, a space and an n-page anonymous read-write mapping in it, or _exit. */
static void *child_space(dpemu_pool **pool, dpemu_space **space, size_t frames,
                         enum dpemu_policy policy, size_t n)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * ps);
	void *p;

	pcfg.policy = policy;
	if (*pool == NULL && dpemu_pool_create(&pcfg, pool) != 0)
		_exit(101);
	if (dpemu_space_create(*pool, &scfg, space) != 0)
		_exit(102);
	if (dpemu_map(*space, NULL, n * ps, RW, ANON_PRIVATE, -1, 0, &p) != 0)
		_exit(103);
	return p;
}

/* Memory of the program's own that is not dpemu's: any access faults. */
static volatile char *wild_page(void)
{
	void *p = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(104);
	return p;
}

/* A 2-page shared mapping of a 1-byte file of the program's own: reading
 * its second page is a SIGBUS that is not dpemu's.  On failure _exit with
 * code (no file) or code + 1 (no mapping). */
static volatile char *past_eof_file(int code)
{
	char path[64];
	int fd = tu_temp_file("x", 1, path);
	volatile char *file;

	if (fd < 0)
		_exit(code);
	unlink(path);
	file = mmap(NULL, 2 * ps, PROT_READ, MAP_SHARED, fd, 0);
	if (file == MAP_FAILED)
		_exit(code + 1);
	return file;
}

/* Handle sig with handler (or SIG_IGN, SIG_DFL) and flags, nothing blocked. */
static void set_action(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void run(void (*fn)(void *), struct tu_child *c)
{
	assert_int_equal(tu_run_in_child(fn, NULL, c), 0);
}

static void assert_died_of(const struct tu_child *c, int sig)
{
	if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != sig)
		print_error("child status %#x (wanted death by signal %d); stderr:\n%s\n",
		            c->status, sig, c->err);
	assert_true(WIFSIGNALED(c->status));
	assert_int_equal(WTERMSIG(c->status), sig);
}

static void assert_exited(const struct tu_child *c, int code)
{
	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != code)
		print_error("child status %#x (wanted exit %d); stderr:\n%s\n", c->status, code,
		            c->err);
	assert_true(WIFEXITED(c->status));
	assert_int_equal(WEXITSTATUS(c->status), code);
}

/* Run fn in a child; it must exit 0 after saying "done". */
static void run_to_done(void (*fn)(void *))
{
	struct tu_child c;

	run(fn, &c);
	assert_exited(&c, 0);
	assert_non_null(strstr(c.err, "done\n"));
}

/* Skip the test unless this run's backend is uffd in thread mode
 * (DPEMU_BACKEND=uffd, as tests/each-backend sets it). */
static void skip_unless_thread_mode(void)
{
	const char *b = getenv("DPEMU_BACKEND");

	if (!b || strcmp(b, "uffd") != 0)
		skip();
}

/* ---- defect 3: a program handler that chains to the one it displaced ---- */

static struct sigaction displaced;

static void chaining_handler(int sig, siginfo_t *si, void *uc)
{
	say("H\n");
	if (displaced.sa_flags & SA_SIGINFO) {
		displaced.sa_sigaction(sig, si, uc);
	} else if (displaced.sa_handler == SIG_DFL) {
		signal(sig, SIG_DFL);
	} else if (displaced.sa_handler != SIG_IGN) {
		displaced.sa_handler(sig);
	}
}

static void install_chaining(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = chaining_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &displaced) != 0)
		_exit(105);
}

/* dpemu, then a chaining handler, then dpemu again in front: a fault
 * outside every arena reaches the handler once and then kills; arena
 * faults are still dpemu's. */
static void chain_cycle_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *a, *b;
	volatile char *wild = wild_page();
	volatile char *pa, *pb;

	(void)unused;
	alarm(10);
	pa = child_space(&pool, &a, 16, DPEMU_POLICY_NONE, 2);
	install_chaining(SIGSEGV);
	pb = child_space(&pool, &b, 16, DPEMU_POLICY_NONE, 2);
	pa[0] = 1; /* arena faults: dpemu's, in front again */
	pb[0] = 2;
	if (pa[0] != 1 || pb[0] != 2)
		_exit(106);
	say("arena-ok\n");
	wild[0] = 1; /* neither's */
	_exit(107);
}

static void test_chain_cycle(void **state)
{
	struct tu_child c;

	(void)state;
	run(chain_cycle_child, &c);
	assert_died_of(&c, SIGSEGV);
	assert_non_null(strstr(c.err, "arena-ok\n"));
	assert_int_equal(count(c.err, "H\n"), 1);
}

/* The same for SIGBUS: dpemu's SIGBUS handler (SIGBUS-mode spaces) and a
 * chaining one; the SIGBUS of an access past the end of a file mapping of
 * the program's own is neither's. */
static void chain_cycle_bus_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *a, *b;
	volatile char *file;

	(void)unused;
	alarm(10);
	file = past_eof_file(108);
	child_space(&pool, &a, 16, DPEMU_POLICY_NONE, 2);
	install_chaining(SIGBUS);
	child_space(&pool, &b, 16, DPEMU_POLICY_NONE, 2);
	say("go\n");
	(void)file[ps]; /* past the end of the file: SIGBUS */
	_exit(110);
}

static void test_chain_cycle_sigbus(void **state)
{
	struct tu_child c;

	(void)state;
	run(chain_cycle_bus_child, &c);
	assert_died_of(&c, SIGBUS);
	assert_int_equal(count(c.err, "H\n"), 1);
}

/* ---- defect 4: SA_RESETHAND, the handler's mask, SIG_IGN ----------------- */

static void oneshot_handler(int sig)
{
	(void)sig;
	say("R\n"); /* and return: the access faults again */
}

static void resethand_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *s;
	volatile char *wild = wild_page();

	(void)unused;
	alarm(10);
	set_action(SIGSEGV, oneshot_handler, SA_RESETHAND);
	child_space(&pool, &s, 16, DPEMU_POLICY_NONE, 1);
	wild[0] = 1;
	_exit(111);
}

static void test_resethand(void **state)
{
	struct tu_child c;

	(void)state;
	run(resethand_child, &c);
	assert_died_of(&c, SIGSEGV);
	assert_int_equal(count(c.err, "R\n"), 1);
}

/* The program's handler sees the mask the kernel would give it: exit code
 * bit 0: SIGSEGV blocked, bit 1: SIGUSR1 blocked, bit 2: SIGUSR2 blocked. */
static void mask_reporting_handler(int sig)
{
	sigset_t now;
	int code = 0;

	(void)sig;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	code |= sigismember(&now, SIGSEGV) ? 1 : 0;
	code |= sigismember(&now, SIGUSR1) ? 2 : 0;
	code |= sigismember(&now, SIGUSR2) ? 4 : 0;
	_exit(code);
}

static int mask_mode; /* 0: sa_mask {SIGUSR1}; 1: SA_NODEFER, sa_mask {} */

static void mask_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *s;
	volatile char *wild = wild_page();
	struct sigaction sa;

	(void)unused;
	alarm(10);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = mask_reporting_handler;
	sigemptyset(&sa.sa_mask);
	if (mask_mode == 0)
		sigaddset(&sa.sa_mask, SIGUSR1);
	else
		sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	child_space(&pool, &s, 16, DPEMU_POLICY_NONE, 1);
	wild[0] = 1;
	_exit(112);
}

static void test_previous_handler_mask(void **state)
{
	struct tu_child c;

	(void)state;
	mask_mode = 0;
	run(mask_child, &c);
	assert_exited(&c, 1 | 2);
	mask_mode = 1;
	run(mask_child, &c);
	assert_exited(&c, 0);
}

/* SIG_IGN: a sent SIGSEGV or SIGBUS is ignored; a real fault still kills. */
static int ign_sig;

static void ign_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *s;
	volatile char *wild = wild_page();
	volatile char *file;

	(void)unused;
	alarm(10);
	file = past_eof_file(113);
	set_action(ign_sig, SIG_IGN, 0);
	child_space(&pool, &s, 16, DPEMU_POLICY_NONE, 1);
	kill(getpid(), ign_sig);
	pthread_kill(pthread_self(), ign_sig);
	say("alive\n");
	if (ign_sig == SIGSEGV)
		wild[0] = 1;
	else
		(void)file[ps];
	_exit(115);
}

static void test_sig_ign(void **state)
{
	struct tu_child c;

	(void)state;
	ign_sig = SIGSEGV;
	run(ign_child, &c);
	assert_died_of(&c, SIGSEGV);
	assert_non_null(strstr(c.err, "alive\n"));
	ign_sig = SIGBUS;
	run(ign_child, &c);
	assert_died_of(&c, SIGBUS);
	assert_non_null(strstr(c.err, "alive\n"));
}

/* ---- defect 5: a signal handler touches an arena inside a dpemu call ---- */

#define TOUCH_PAGES 48
static volatile char *touch_base;
static volatile int touch_next;
static struct {
	int rc, kind, error;
} results[64];
static volatile int nresults;

static void touch_one(void *arg)
{
	volatile char *p = arg;

	p[0] = (char)0x5a;
}

/* SIGUSR1: write the next untouched page of touch_base under dpemu_catch. */
static void usr1_handler(int sig)
{
	int saved = errno;
	struct dpemu_fault f;

	(void)sig;
	in_usr1 = 1;
	if (touch_next < TOUCH_PAGES && nresults < 64) {
		int i = nresults++;
		results[i].rc = dpemu_catch(touch_one, (void *)(touch_base + touch_next++ * ps), &f);
		results[i].kind = f.kind;
		results[i].error = f.error;
	}
	in_usr1 = 0;
	errno = saved;
}

/*
 * Check the results: each touch either worked, or was reported as a HOST
 * fault with -EDEADLK; at least `deadlocks` of the latter.  Then every
 * page must work normally.  _exit codes 120+.
 */
static void check_results(int deadlocks)
{
	int seen = 0;

	for (int i = 0; i < nresults; i++) {
		if (results[i].rc == 0)
			continue;
		if (results[i].rc != 1 || results[i].kind != DPEMU_FAULT_HOST ||
		    results[i].error != -EDEADLK) {
			char line[128];
			snprintf(line, sizeof line, "touch %d: rc %d kind %d error %d\n", i,
			         results[i].rc, results[i].kind, results[i].error);
			say(line);
			_exit(121);
		}
		seen++;
	}
	if (seen < deadlocks) {
		say("no fault was reported as a deadlock\n");
		_exit(122);
	}
	for (int i = 0; i < TOUCH_PAGES; i++) {
		touch_base[i * ps] = (char)i;
		if (touch_base[i * ps] != (char)i)
			_exit(123);
	}
}

/* The start of a child of the signal-inside-dpemu cases: a 20 s watchdog,
 * and SIGUSR1 handled by usr1_handler, raised on this (the main) thread. */
static void start_usr1_child(void)
{
	alarm(20);
	set_action(SIGUSR1, usr1_handler, 0);
	main_tid = (pid_t)syscall(SYS_gettid);
}

/*
 * dpemu_protect, _unmap and _map of space a with the signal arriving in
 * their host calls; the handler touches space b of the same pool, a pool
 * full enough that b's faults evict: the eviction would take a's locks,
 * which the interrupted call holds.
 */
static void in_call_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *a, *b;
	volatile char *pa;

	(void)unused;
	start_usr1_child();
	pa = child_space(&pool, &a, 8, DPEMU_POLICY_CLOCK, 8);
	touch_base = child_space(&pool, &b, 8, DPEMU_POLICY_CLOCK, TOUCH_PAGES);
	for (int i = 0; i < 8; i++)
		pa[i * ps] = (char)(i + 1); /* the pool is full of a's pages */
	armed = 1;
	for (int round = 0; round < 4; round++) {
		if (dpemu_protect(a, (void *)pa, 8 * ps, PROT_READ) != 0 ||
		    dpemu_protect(a, (void *)pa, 8 * ps, RW) != 0)
			_exit(116);
	}
	if (dpemu_unmap(a, (void *)(pa + 4 * ps), 4 * ps) != 0)
		_exit(117);
	armed = 0;
	if (raised == 0)
		_exit(118);
	check_results(1);
	for (int i = 0; i < 4; i++)
		if (pa[i * ps] != (char)(i + 1))
			_exit(119);
	say("done\n");
}

static void test_signal_inside_call(void **state)
{
	(void)state;
	run_to_done(in_call_child);
}

/*
 * Thread mode, and the handler thread cannot revoke the page of a fault it
 * must not resolve (mprotect fails, as at vm.max_map_count): the faulting
 * thread gets a SIGSEGV with a message, not an endless round of faults.
 */
static void revoke_fails_child(void *unused)
{
	revoke_fail = 1;
	in_call_child(unused);
}

static void test_signal_inside_call_revoke_fails(void **state)
{
	struct tu_child c;

	(void)state;
	skip_unless_thread_mode(); /* only the handler thread revokes for another thread */
	run(revoke_fails_child, &c);
	assert_died_of(&c, SIGSEGV);
	assert_non_null(strstr(c.err, "could not be revoked to report it (out of memory"));
}

/*
 * Thread mode: the signal arrives while the thread holds the handler
 * thread's list mutex (creating a second space), which the handler thread
 * must then not wait for: the touch of the first space is resolved.
 */
static void list_mutex_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *a, *b;

	(void)unused;
	start_usr1_child();
	touch_base = child_space(&pool, &a, 64, DPEMU_POLICY_NONE, TOUCH_PAGES);
	wake_armed = 1;
	child_space(&pool, &b, 64, DPEMU_POLICY_NONE, 1);
	if (wake_armed || nresults != 1 || results[0].rc != 0)
		_exit(128);
	check_results(0);
	say("done\n");
}

static void test_signal_holding_list_mutex(void **state)
{
	(void)state;
	skip_unless_thread_mode(); /* only thread mode has a handler thread */
	run_to_done(list_mutex_child);
}

/*
 * The signal arrives in a host call of dpemu's fault path itself (the
 * SIGSEGV handler, or in SIGBUS mode the SIGBUS handler - during which
 * SIGBUS is blocked, so a fault of a handler running there killed the
 * process on the spot).  dpemu's handlers hold asynchronous signals back
 * until they return: every touch then simply works.
 */
static void in_fault_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *a, *b;
	volatile char *pa;

	(void)unused;
	start_usr1_child();
	pa = child_space(&pool, &a, 64, DPEMU_POLICY_NONE, 16);
	touch_base = child_space(&pool, &b, 64, DPEMU_POLICY_NONE, TOUCH_PAGES);
	armed = 1;
	for (int i = 0; i < 16; i++)
		pa[i * ps] = (char)(i + 1);
	armed = 0;
	check_results(0);
	for (int i = 0; i < nresults; i++)
		if (results[i].rc != 0)
			_exit(124);
	say("done\n");
}

static void test_signal_inside_fault(void **state)
{
	(void)state;
	run_to_done(in_fault_child);
}

/* ---- defect 15: no strerror(3) in a fault report ------------------------- */

static void strerror_child(void *unused)
{
	dpemu_pool *pool = NULL;
	dpemu_space *s;
	struct dpemu_pool_config pcfg = tu_pool_config(16, 0);
	struct dpemu_space_config scfg = tu_space_config(16 * ps);
	char path[64];
	int fd = tu_temp_file("data", 4, path);
	volatile char *p;
	void *m;

	(void)unused;
	alarm(10);
	if (fd < 0)
		_exit(125);
	unlink(path);
	if (dpemu_pool_create(&pcfg, &pool) != 0 || dpemu_space_create(pool, &scfg, &s) != 0 ||
	    dpemu_map(s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, fd, 0, &m) != 0)
		_exit(126);
	p = m;
	pread_errno = EXDEV; /* no description of dpemu's own */
	(void)p[0];
	_exit(127);
}

static void test_fault_report_no_strerror(void **state)
{
	struct tu_child c;

	(void)state;
	run(strerror_child, &c);
	assert_died_of(&c, SIGSEGV);
	assert_non_null(strstr(c.err, "dpemu: host fault at "));
	assert_non_null(strstr(c.err, "(errno 18)"));
	assert_null(strstr(c.err, "STRERROR-CALLED"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_cycle),
		cmocka_unit_test(test_chain_cycle_sigbus),
		cmocka_unit_test(test_resethand),
		cmocka_unit_test(test_previous_handler_mask),
		cmocka_unit_test(test_sig_ign),
		cmocka_unit_test(test_signal_inside_call),
		cmocka_unit_test(test_signal_inside_call_revoke_fails),
		cmocka_unit_test(test_signal_holding_list_mutex),
		cmocka_unit_test(test_signal_inside_fault),
		cmocka_unit_test(test_fault_report_no_strerror),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
