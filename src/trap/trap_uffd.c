/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trap_uffd.c - the userfaultfd backend: each space's userfaultfd, and the
 * handler thread of DPEMU_UFFD_THREAD.  (The ioctls on an arena's pages
 * are the host seam's: host/arena.c.)
 *
 * Fault path: uffd_resolve runs in a SIGBUS handler (DPEMU_UFFD_SIGBUS) or
 * on the handler thread, and so does the thread's drain.  They may call
 * the resolver (fault.c) and the host seam (its ioctls); no malloc, no
 * stdio, no lock but the space and pool locks, and on the handler thread
 * none the faulting thread may hold (see drain).  uffd_wake may write(2) a
 * last message and abort(3).  The handler thread may also read
 * /proc/self/task/TID files and queue a signal (unrevoke_after_syscall);
 * uffd_unrevoke_mine runs in dpemu's SIGSEGV handler and calls the
 * registry and fault_unrevoke.  The handler thread blocks every signal and
 * never touches an arena (only the pool's direct map), so it cannot fault
 * on one itself.
 * uffd_available, uffd_space_open, uffd_space_close and the thread's start
 * and stop are API side.
 *
 * How a fault travels:
 *   - the arena's reserve (leaves not backed yet) is anonymous memory,
 *     readable and writable but registered for missing faults, so its
 *     first touch - from user code or inside a system call - reaches dpemu,
 *     which backs the leaf before the access retries; nothing is ever
 *     populated in the reserve itself;
 *   - the arena's backed leaves are memfd mappings registered for missing
 *     faults (the frame's page was never written), minor faults (it was,
 *     but this mapping does not show it yet) and write-protect faults;
 *   - thread mode: the faulting thread sleeps in the kernel; the handler
 *     thread reads the event, resolves it (UFFDIO_CONTINUE, _COPY or
 *     _WRITEPROTECT show the page, without waking anyone), and only then
 *     UFFDIO_WAKE lets the faulting thread go on.  This works for faults
 *     taken inside system calls too;
 *   - SIGBUS mode: the kernel raises SIGBUS in the faulting thread, whose
 *     handler resolves the fault itself: no thread wake-up, the fastest
 *     path, but a fault inside a system call just fails with EFAULT;
 *   - a fault dpemu cannot resolve gives the page the host view its PTE
 *     asks for, or where that would still let the access through, makes
 *     it PROT_NONE, and lets the access retry: it then raises SIGSEGV
 *     (fails with EFAULT inside a system call), and the SIGSEGV path
 *     reports it as for the SIGSEGV backend (message and death, or
 *     dpemu_catch), giving the page its view back first (fault_revoke,
 *     fault_unrevoke in fault.c); after a system call, which raises no
 *     SIGSEGV, a signal queued to the thread does (unrevoke_after_syscall).
 *
 * Layer: trap (src/internal.h).  Calls: registry.c of its own layer,
 * fault.c, the host seam (hostmap.c, arena.c: the ioctls), base.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* Newer than Debian 12's kernel headers: defined here, probed at run time. */
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define NEEDED_FEATURES (UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM)
#define OPTIONAL_FEATURES UFFD_FEATURE_THREAD_ID
#define WP_FEATURES (UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

/* ---- opening ---------------------------------------------------------------- */

static pthread_once_t wp_probe_once = PTHREAD_ONCE_INIT;
static bool wp_continue_ok;

/*
 * Does UFFDIO_CONTINUE_MODE_WP work (Linux 6.4+)?  The feature bit for
 * write-protecting shared memory is older (5.19), and without this mode a
 * copy-on-write page could not be shown write-protected in one step, so
 * dpemu would fall back to mprotect.  Tried once on a one-page memfd.
 */
static void wp_probe(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API,
	                          .features = UFFD_FEATURE_MINOR_SHMEM | WP_FEATURES };
	int mfd = memfd_create("dpemu-probe", MFD_CLOEXEC);
	int ufd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	char *direct = MAP_FAILED, *view = MAP_FAILED;

	if (mfd < 0 || ufd < 0 || ftruncate(mfd, (off_t)ps) < 0 ||
	    ioctl(ufd, UFFDIO_API, &api) < 0)
		goto out;
	direct = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	view = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (direct == MAP_FAILED || view == MAP_FAILED)
		goto out;
	direct[0] = 1; /* a page in the memfd, not mapped in view */
	struct uffdio_register r = { .range = { (uint64_t)(uintptr_t)view, ps },
	                             .mode = UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP };
	struct uffdio_continue c = { .range = { (uint64_t)(uintptr_t)view, ps },
	                             .mode = UFFDIO_CONTINUE_MODE_WP };
	wp_continue_ok = ioctl(ufd, UFFDIO_REGISTER, &r) == 0 &&
	                 ioctl(ufd, UFFDIO_CONTINUE, &c) == 0;
out:
	if (view != MAP_FAILED)
		munmap(view, ps);
	if (direct != MAP_FAILED)
		munmap(direct, ps);
	if (ufd >= 0)
		close(ufd);
	if (mfd >= 0)
		close(mfd);
}

/*
 * A new userfaultfd with the features of `mode`: returns the fd, or a
 * negative errno (-EPERM: not permitted here; -ENOSYS: the kernel lacks
 * userfaultfd or a needed feature).  *wp says whether shared memory can be
 * write-protected.
 */
static int uffd_create(enum dpemu_uffd_mode mode, bool *wp)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	uint64_t want;
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	/* Without privilege, SIGBUS mode can still take faults from user mode
	 * (faults in system calls fail with EFAULT in that mode anyway). */
	if (fd < 0 && errno == EPERM && mode == DPEMU_UFFD_SIGBUS)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return errno == EPERM || errno == EACCES ? -EPERM
		       : errno == EMFILE || errno == ENFILE ? -EMFILE : -ENOSYS;
	/* Ask what the running kernel offers (not what our headers know)... */
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return -ENOSYS;
	}
	close(fd);
	want = NEEDED_FEATURES | (mode == DPEMU_UFFD_SIGBUS ? UFFD_FEATURE_SIGBUS : 0);
	if ((api.features & want) != want)
		return -ENOSYS;
	want |= api.features & OPTIONAL_FEATURES;
	*wp = (api.features & WP_FEATURES) == WP_FEATURES;
	if (*wp) {
		pthread_once(&wp_probe_once, wp_probe);
		*wp = wp_continue_ok;
	}
	if (*wp)
		want |= WP_FEATURES;
	/* ...then take a fresh fd and enable exactly what we use. */
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == EPERM && mode == DPEMU_UFFD_SIGBUS)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return errno == EMFILE ? -EMFILE : -ENOSYS;
	api = (struct uffdio_api){ .api = UFFD_API, .features = want };
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return -ENOSYS;
	}
	return fd;
}

/* 0 if a space could use userfaultfd in `mode` here, else why not. */
int uffd_available(enum dpemu_uffd_mode mode)
{
	bool wp;
	int fd = uffd_create(mode, &wp);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* ---- the handler thread (thread mode) ---------------------------------------- */

#define MAX_THREAD_SPACES 1024

static struct {
	pthread_mutex_t lifecycle;    /* serialises add/remove (API side)      */
	pthread_mutex_t mu;           /* the list, shared with the thread      */
	                              /* (both: lock order, internal.h)        */
	pthread_cond_t cond;
	struct dpemu_space *spaces[MAX_THREAD_SPACES];
	int n;
	uint64_t epoch, seen;         /* list version; the thread's snapshot   */
	bool running, stop;
	int wakefd;                   /* eventfd: "look at the list again"     */
	pthread_t thread;
} handler = {
	.lifecycle = PTHREAD_MUTEX_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.wakefd = -1,
};

static enum dpemu_access access_of(const struct uffd_msg *msg)
{
	uint64_t flags = msg->arg.pagefault.flags;

	if (flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP))
		return DPEMU_ACCESS_WRITE;
	return DPEMU_ACCESS_READ;
}

/*
 * The fault of thread tid at addr cannot be resolved (tid is inside a dpemu
 * call) nor turned into a SIGSEGV of its own (the revoke failed with err):
 * say so, and send tid a SIGSEGV, which it takes when it is woken: as a
 * sent signal, dpemu passes it to the program's handler or the default
 * action (see trap_sigsegv.c).
 */
static void refuse_by_signal(void *addr, int tid, int err)
{
	char line[256];
	size_t pos = fmt_str(line, sizeof line, 0, "dpemu: host fault at ");

	pos = fmt_hex(line, sizeof line, pos, (uintptr_t)addr);
	pos = fmt_str(line, sizeof line, pos, " (access): fault while thread ");
	pos = fmt_dec(line, sizeof line, pos, (uint64_t)tid);
	pos = fmt_str(line, sizeof line, pos, " was inside a dpemu call, and the page could "
	              "not be revoked to report it (");
	pos = fmt_errno(line, sizeof line, pos, err);
	pos = fmt_str(line, sizeof line, pos, "): sending it SIGSEGV\n");
	if (write(STDERR_FILENO, line, pos) < 0) {
		/* nothing more can be done about a failed message */
	}
	syscall(SYS_tgkill, getpid(), tid, SIGSEGV);
}

/* ---- pages revoked for a system call ------------------------------------------ */

/*
 * Fuzzer finding F2.  A fault dpemu cannot resolve is refused the only way
 * userfaultfd allows: the page is revoked (PROT_NONE, fault_revoke) before
 * the thread is woken, so that the kernel's retry of the access fails.
 * From user code that retry raises SIGSEGV, and the SIGSEGV path gives the
 * page its view back (fault_unrevoke).  Inside a system call it raises
 * nothing - the call fails with EFAULT - and the page used to stay revoked:
 * every later system call on it failed with EFAULT too, once it could be
 * served again (mapped, given a frame), until user code touched it.
 *
 * Nothing in userfaultfd says when the retry is over; but a signal queued
 * to the thread before it is woken is delivered exactly when the system
 * call returns, after the retry.  So the handler thread notes (thread,
 * address) in a slot and queues the thread a SIGSEGV with si_code
 * UFFD_SI_UNREVOKE; dpemu's SIGSEGV handler, seeing it, calls
 * uffd_unrevoke_mine, which gives the thread's noted pages their view back
 * (a signal without its information, should the kernel have had no room
 * for it, is recognised by the slots as well: trap_sigsegv.c).
 *
 * Only for a thread inside a system call (/proc/self/task/TID/syscall
 * names one; it says -1 for a fault from user code): a fault from user code
 * must keep its page revoked until its retry raises SIGSEGV, and the
 * signal, which cuts the thread's sleep short before that retry, would give
 * the page back first and let the access come here again, for ever.  Where
 * this cannot be done (no /proc, no thread id, no free slot, SIGSEGV
 * blocked in the thread, a handler of the program in front of dpemu's),
 * the page stays revoked as before.
 */
#define UNREVOKE_SLOTS 64

static struct {
	atomic_int tid;              /* 0: free; claimed by the handler thread */
	_Atomic uintptr_t addr;
} unrevoke_slots[UNREVOKE_SLOTS];

/* Read the start of /proc/self/task/TID/NAME into buf (NUL-terminated):
 * its length, or -1. */
static ssize_t read_task_file(int tid, const char *name, char *buf, size_t len)
{
	char path[64];
	size_t pos = fmt_str(path, sizeof path, 0, "/proc/self/task/");

	pos = fmt_dec(path, sizeof path, pos, (uint64_t)tid);
	pos = fmt_str(path, sizeof path, pos, "/");
	fmt_str(path, sizeof path, pos, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/*
 * Whether thread tid of this process, asleep in a fault, is inside a
 * system call and will take a SIGSEGV as soon as it returns (SIGSEGV not
 * blocked: a thread that blocks it would keep the signal pending, for a
 * sigwait(3) to find).  false where that cannot be told.
 */
static bool in_syscall(int tid)
{
	char buf[2048];

	/* "NR args...", "-1 sp pc" outside a system call, or "running" */
	if (read_task_file(tid, "syscall", buf, sizeof buf) <= 0 || buf[0] < '0' || buf[0] > '9')
		return false;
	if (read_task_file(tid, "status", buf, sizeof buf) <= 0)
		return false;
	const char *p = strstr(buf, "\nSigBlk:");
	if (!p)
		return false;
	p += strlen("\nSigBlk:");
	while (*p == ' ' || *p == '\t')
		p++;
	uint64_t blocked = 0;
	for (int k = 0; k < 16; k++, p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return false;
		blocked = blocked << 4 | (uint64_t)d;
	}
	return !(blocked & (UINT64_C(1) << (SIGSEGV - 1)));
}

/* A free slot for the handler thread (the only one that claims slots), or
 * -1.  A slot whose thread is gone (killed before it got its signal) is
 * taken back when no other is free. */
static int unrevoke_slot_claim(void)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < UNREVOKE_SLOTS; i++) {
			int t = atomic_load_explicit(&unrevoke_slots[i].tid, memory_order_acquire);
			if (t == 0 || (pass == 1 && syscall(SYS_tgkill, getpid(), t, 0) < 0 &&
			               errno == ESRCH))
				return i;
		}
	return -1;
}

/*
 * Thread tid's fault at addr was refused by revoking the page (handler
 * thread, before the wake): if the thread is inside a system call, have it
 * give the page its view back once that call has failed (see above).
 */
static void unrevoke_after_syscall(int tid, void *addr)
{
	if (tid == 0 || !trap_sigsegv_front() || !in_syscall(tid))
		return;
	int i = unrevoke_slot_claim();
	if (i < 0)
		return;
	atomic_store_explicit(&unrevoke_slots[i].addr, (uintptr_t)addr, memory_order_relaxed);
	atomic_store_explicit(&unrevoke_slots[i].tid, tid, memory_order_release);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGSEGV;
	si.si_code = UFFD_SI_UNREVOKE;
	si.si_pid = getpid();
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, SIGSEGV, &si) < 0)
		atomic_store_explicit(&unrevoke_slots[i].tid, 0, memory_order_release);
}

int uffd_unrevoke_mine(void)
{
	int tid = dpemu_tid(), n = 0;

	for (int i = 0; i < UNREVOKE_SLOTS; i++) {
		if (atomic_load_explicit(&unrevoke_slots[i].tid, memory_order_acquire) != tid)
			continue;
		void *addr = (void *)atomic_load_explicit(&unrevoke_slots[i].addr,
		                                          memory_order_relaxed);
		atomic_store_explicit(&unrevoke_slots[i].tid, 0, memory_order_release);
		unsigned ticket = registry_enter();
		struct dpemu_space *s = registry_find(addr);
		if (s)
			fault_unrevoke(s, addr);
		registry_leave(ticket);
		n++;
	}
	return n;
}

/*
 * Keep the handler thread on the CPU of the thread whose faults it
 * resolves.  A fault costs two thread wake-ups (faulting thread -> handler,
 * handler -> faulting thread); across CPUs each is an inter-processor
 * interrupt, on a virtual machine a wake-up of a halted vCPU, and thread
 * mode measured 50-60 us a fault there against 5-7 us with both threads
 * on one CPU, where the faulting thread's sleep hands its CPU straight to
 * the handler and back (doc/performance.md).  The faulting thread cannot
 * be moved (it is the program's), so the handler follows it: it looks up
 * the CPU of the thread it is about to wake (/proc/self/task/TID/stat,
 * field 39) at its first fault and every FOLLOW_EVERY faults after (a
 * look costs about two faults' time), and moves there if that differs.
 * With several threads faulting it follows one of them at a time; the
 * others' faults pay the crossing (a handler per CPU would not, but the
 * kernel wakes every reader of a userfaultfd).  A wrong guess costs only
 * speed.
 * DPEMU_UFFD_FOLLOW=0 turns it off (for measuring the difference).
 * Handler thread only.
 */
#define FOLLOW_EVERY 256

static int follow_state;       /* 1: on (read by handler_add)        */
static int follow_cpu = -1;    /* where it moved last, -1: nowhere */
static unsigned follow_count;

/* The CPU thread tid last ran on, or -1. */
static int task_cpu(int tid)
{
	char buf[1024];
	if (read_task_file(tid, "stat", buf, sizeof buf) <= 0)
		return -1;
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return -1;
	/* fields 3, 4, ... follow ") "; the processor is field 39 */
	for (int field = 2; field < 39 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? atoi(p + 1) : -1;
}

static void follow_faulter(int tid)
{
	if (!follow_state || tid == 0)
		return;
	if (follow_cpu >= 0 && ++follow_count % FOLLOW_EVERY != 0)
		return;
	follow_count = 0;
	int cpu = task_cpu(tid);
	if (cpu < 0 || cpu == follow_cpu || cpu >= CPU_SETSIZE)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) == 0)
		follow_cpu = cpu;
}

/*
 * Read and resolve every pending event of s's userfaultfd.
 *
 * The faulting thread sleeps until we wake it, so this thread must never
 * wait for a lock that thread holds - which it does when a signal handler
 * of the program touched an arena while the thread was inside dpemu
 * (between its first lock and its last).  Which locks a resolution takes
 * is not known in advance (an eviction takes other spaces' page locks, a
 * forked shared mapping its object's lock), so the test is whether the
 * thread holds any dpemu lock at all (lock_holder_maybe, lock.h).  If it
 * may, nothing is resolved here: the page is made inaccessible and the
 * thread woken, its retry raises SIGSEGV, and its own SIGSEGV handler,
 * which knows exactly what it holds, reports a HOST fault with -EDEADLK
 * (or resolves it, when the table could not tell), giving the page its
 * view back first if the locks it needs for that are free (fault_unrevoke).  Without
 * UFFD_FEATURE_THREAD_ID (ptid 0) the faulting thread is unknown; the
 * page lock and space lock owners cannot be compared then either.
 *
 * The revoke is an mprotect, which can fail (ENOMEM at vm.max_map_count).
 * Then the retry would come straight back here, for ever: so a thread
 * known to hold a lock is sent SIGSEGV instead (refuse_by_signal), which
 * kills it as an uncaught fault would, or runs the program's handler.  A
 * thread only perhaps holding one (the table was full) is resolved as
 * before the table existed.
 */
static void drain(struct dpemu_space *s)
{
	struct uffd_msg msgs[16];

	for (;;) {
		ssize_t n = read(s->uffd, msgs, sizeof msgs);
		if (n <= 0)
			return; /* EAGAIN: nothing more */
		/* A fault's latency starts when its event is read. */
		uint64_t t0 = atomic_load_explicit(&_dpemu_latency_off, memory_order_relaxed)
		              ? 0 : now_ns();
		for (size_t i = 0; i < (size_t)n / sizeof msgs[0]; i++) {
			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			void *addr = (void *)(uintptr_t)msgs[i].arg.pagefault.address;
			int tid = (int)msgs[i].arg.pagefault.feat.ptid;
			follow_faulter(tid);
			int holds = tid ? lock_holder_maybe(tid) : 0;
			int err = holds ? host_revoke(s, space_page_index(s, addr), NULL) : 0;
			bool revoked = holds && !err;
			if (err && holds == 2)
				refuse_by_signal(addr, tid, err);
			else if (!holds || err)
				revoked = uffd_resolve(s, addr, access_of(&msgs[i]),
				                       &(struct trap_stamp){ t0, tid });
			/* A refused system call gives the page back (F2). */
			if (revoked)
				unrevoke_after_syscall(tid, addr);
			/* Only now, with the fault resolved to the end and the
			 * page's lock released, may the faulting thread go on
			 * (the ioctls that showed the page did not wake it). */
			uffd_wake(s, addr);
		}
	}
}

static void *handler_main(void *unused)
{
	static struct dpemu_space *snap[MAX_THREAD_SPACES];
	static struct pollfd pfd[MAX_THREAD_SPACES + 1];
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	int n = 0;

	for (;;) {
		int timeout = -1;

		/* Never wait for handler.mu: a thread holding it (inside
		 * dpemu_space_create or _destroy) may have faulted on an arena
		 * from a signal handler, and sleeps until we resolve that.  So
		 * while it is taken, go on with the old snapshot (whose spaces
		 * are not freed before we take a new one, see handler_sync) and
		 * try again in a moment. */
		if (n == 0)
			pthread_mutex_lock(&handler.mu); /* no space: no fault can wait */
		else if (pthread_mutex_trylock(&handler.mu) != 0)
			timeout = 1;
		if (timeout < 0) {
			if (handler.stop) {
				pthread_mutex_unlock(&handler.mu);
				return NULL;
			}
			n = handler.n;
			memcpy(snap, handler.spaces, (size_t)n * sizeof snap[0]);
			handler.seen = handler.epoch;
			pthread_cond_broadcast(&handler.cond);
			pthread_mutex_unlock(&handler.mu);
		}

		pfd[0] = (struct pollfd){ .fd = handler.wakefd, .events = POLLIN };
		for (int i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = snap[i]->uffd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n + 1, timeout) <= 0)
			continue;
		if (pfd[0].revents) {
			uint64_t v;
			if (read(handler.wakefd, &v, sizeof v) < 0) {
				/* EAGAIN: someone else consumed it */
			}
		}
		for (int i = 0; i < n; i++)
			if (pfd[i + 1].revents)
				drain(snap[i]);
	}
}

/* Make the thread take a new snapshot of the list, and wait until it has:
 * after this, it no longer looks at a space removed before the call. */
static void handler_sync(void)
{
	uint64_t one = 1, target;

	pthread_mutex_lock(&handler.mu);
	target = ++handler.epoch;
	if (write(handler.wakefd, &one, sizeof one) < 0) {
		/* the eventfd cannot overflow with these few writes */
	}
	while (handler.seen < target)
		pthread_cond_wait(&handler.cond, &handler.mu);
	pthread_mutex_unlock(&handler.mu);
}

static int handler_add(struct dpemu_space *s)
{
	int err = 0;

	pthread_mutex_lock(&handler.lifecycle);
	if (handler.n == MAX_THREAD_SPACES) {
		err = -ENOMEM;
		goto out;
	}
	if (!handler.running) {
		handler.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (handler.wakefd < 0) {
			err = -errno;
			goto out;
		}
		handler.stop = false;
		const char *follow = getenv("DPEMU_UFFD_FOLLOW");
		follow_state = !(follow && strcmp(follow, "0") == 0);
		follow_cpu = -1;
		if ((err = -pthread_create(&handler.thread, NULL, handler_main, NULL))) {
			close(handler.wakefd);
			handler.wakefd = -1;
			goto out;
		}
		handler.running = true;
	}
	pthread_mutex_lock(&handler.mu);
	handler.spaces[handler.n++] = s;
	pthread_mutex_unlock(&handler.mu);
	handler_sync();
out:
	pthread_mutex_unlock(&handler.lifecycle);
	return err;
}

/* Take s off the thread's list; the last space stops the thread. */
static void handler_remove(struct dpemu_space *s)
{
	pthread_mutex_lock(&handler.lifecycle);
	if (!handler.running) {
		/* a child of fork(2): the thread stayed with the parent */
		pthread_mutex_unlock(&handler.lifecycle);
		return;
	}
	pthread_mutex_lock(&handler.mu);
	for (int i = 0; i < handler.n; i++) {
		if (handler.spaces[i] == s) {
			handler.spaces[i] = handler.spaces[--handler.n];
			break;
		}
	}
	handler.stop = handler.n == 0;
	pthread_mutex_unlock(&handler.mu);
	if (handler.stop) {
		uint64_t one = 1;
		if (write(handler.wakefd, &one, sizeof one) < 0) {
			/* cannot fail: see handler_sync */
		}
		pthread_join(handler.thread, NULL);
		close(handler.wakefd);
		handler.wakefd = -1;
		handler.running = false;
	} else {
		handler_sync();
	}
	pthread_mutex_unlock(&handler.lifecycle);
}

/*
 * In the child of fork(2) (fork.c calls this): the handler thread does not
 * exist here, and another parent thread may have held the mutexes.  Start
 * from nothing: the child's inherited spaces are unusable anyway, and its
 * own new spaces start a thread of its own.
 */
void uffd_forget_handler(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

	handler.lifecycle = fresh;
	handler.mu = fresh;
	handler.cond = cond;
	handler.n = 0;
	handler.epoch = handler.seen = 0;
	handler.running = false;
	handler.stop = false;
	if (handler.wakefd >= 0)
		close(handler.wakefd);
	handler.wakefd = -1;
}

/* ---- a space's userfaultfd ------------------------------------------------------ */

/*
 * Give s a userfaultfd in `mode` and make it a HOSTMODE_UFFD space.
 * Returns 0, or -EPERM, -ENOSYS, -EMFILE, -ENOMEM (message set).
 *
 * A failure leaves nothing behind: s is the SIGSEGV space space_new made
 * (backend, hostmode and uffd as they were, the arena PROT_NONE and not
 * registered), so that DPEMU_BACKEND_AUTO can fall back to it.  To that
 * end the space joins the handler thread (thread mode) before the arena
 * is made accessible: nothing can fail after that but the registration,
 * which is undone with the arena's protection.
 */
int uffd_space_open(struct dpemu_space *s, enum dpemu_uffd_mode mode)
{
	bool wp = false;
	int err, fd = uffd_create(mode, &wp);

	if (fd < 0)
		return set_error(fd, "userfaultfd: %s", fd == -EPERM
		                 ? "not permitted (needs root, CAP_SYS_PTRACE or "
		                   "vm.unprivileged_userfaultfd=1)"
		                 : fd == -EMFILE ? "no file descriptor left"
		                 : "this kernel lacks userfaultfd or its shared-memory "
		                   "minor faults (Linux 5.14+)");
	s->uffd = fd;
	s->uffd_mode = mode;
	s->uffd_wp = wp;
	if (mode == DPEMU_UFFD_THREAD && (err = handler_add(s))) {
		close(fd);
		s->uffd = -1;
		s->uffd_wp = false;
		return set_error(err, "userfaultfd: %s", err == -ENOMEM
		                 ? "too many thread-mode spaces (at most 1024)"
		                 : "cannot start the handler thread");
	}
	/* The reserve: missing faults instead of PROT_NONE (see the top). */
	err = arena_uffd_arm(s);
	if (err) {
		if (mode == DPEMU_UFFD_THREAD)
			handler_remove(s);
		close(fd);
		s->uffd = -1;
		s->uffd_wp = false;
		return set_error(err, "userfaultfd: cannot register the arena: %s", strerror(-err));
	}
	s->hostmode = HOSTMODE_UFFD;
	s->backend = DPEMU_BACKEND_UFFD;
	return 0;
}

void uffd_space_close(struct dpemu_space *s)
{
	if (s->uffd < 0)
		return;
	if (s->uffd_mode == DPEMU_UFFD_THREAD)
		handler_remove(s);
	close(s->uffd);
	s->uffd = -1;
}

/* Resolve a fault reported by userfaultfd (stamp: its trap, for the
 * latency); one dpemu cannot resolve is turned into a SIGSEGV on retry,
 * which reports it (see the top) and counts it.  Returns whether the page
 * was revoked to that end (fault_revoke). */
bool uffd_resolve(struct dpemu_space *s, void *addr, enum dpemu_access access,
                  const struct trap_stamp *stamp)
{
	struct dpemu_fault fault;
	char why[160];

	return fault_resolve(s, addr, access, stamp, &fault, why, sizeof why, RESOLVE_RETRIED) ==
	       UNRESOLVED && fault_revoke(s, addr, access);
}
