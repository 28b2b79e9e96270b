/*
 * lock.h - dpemu's lock: a futex-based mutex that may be taken inside a
 * signal handler.
 *
 * Fault path: safe.  lock_acquire/lock_release use only atomics and the
 * futex(2) system call, which are async-signal-safe.  They are not
 * re-entrant: a thread must never take a lock it already holds, which is why
 * every acquisition counts itself in the thread-local dpemu_locks_held and
 * the fault path refuses to resolve a fault while that count is non-zero
 * (see fault.c).
 *
 * The lock word holds the owner's thread id, as Linux's PI futexes do, so
 * the userfaultfd handler thread can tell exactly whether a faulting thread
 * holds a lock it would need (uffd.c):
 *
 *   31        30                                 0
 *  +---------+------------------------------------+
 *  | waiters |  owner thread id (0: unlocked)     |
 *  +---------+------------------------------------+
 */
#ifndef DPEMU_LOCK_H
#define DPEMU_LOCK_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * ThreadSanitizer: the lock is built from C11 atomics, which TSan already
 * orders; these annotations also tell it which atomics are a mutex, so it
 * checks lock order (potential deadlocks) and names the locks held in its
 * reports.  Nothing in other builds.  See `make tsan-check`.
 */
#if defined(__SANITIZE_THREAD__)
#define DPEMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DPEMU_TSAN 1
#endif
#endif
#ifdef DPEMU_TSAN
#include <sanitizer/tsan_interface.h>
#define tsan_pre_lock(l, fl) __tsan_mutex_pre_lock((l), (fl))
#define tsan_post_lock(l, fl) __tsan_mutex_post_lock((l), (fl), 0)
#define tsan_pre_unlock(l) __tsan_mutex_pre_unlock((l), 0)
#define tsan_post_unlock(l) __tsan_mutex_post_unlock((l), 0)
#define TSAN_TRY __tsan_mutex_try_lock
#define TSAN_TRY_FAILED (__tsan_mutex_try_lock | __tsan_mutex_try_lock_failed)
#else
#define tsan_pre_lock(l, fl) ((void)0)
#define tsan_post_lock(l, fl) ((void)0)
#define tsan_pre_unlock(l) ((void)0)
#define tsan_post_unlock(l) ((void)0)
#define TSAN_TRY 0
#define TSAN_TRY_FAILED 0
#endif

struct lock {
	atomic_int state;
};

#define LOCK_INIT { 0 }
#define LOCK_WAITERS ((int)0x40000000) /* thread ids stay below 2^30 */
#define LOCK_OWNER_MASK (LOCK_WAITERS - 1)

/* Number of dpemu locks the calling thread holds (see fault.c). */
extern __thread int dpemu_locks_held __attribute__((tls_model("initial-exec")));
extern __thread int dpemu_tid_cache __attribute__((tls_model("initial-exec")));

/* The calling thread's id (gettid), cached per thread. */
static inline int dpemu_tid(void)
{
	if (dpemu_tid_cache == 0)
		dpemu_tid_cache = (int)syscall(SYS_gettid);
	return dpemu_tid_cache;
}

static inline void futex_wait(atomic_int *addr, int expected)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static inline void futex_wake_one(atomic_int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The thread id of the lock's holder, 0 if it is free. */
static inline int lock_owner(struct lock *l)
{
	return atomic_load(&l->state) & LOCK_OWNER_MASK;
}

static inline void lock_acquire(struct lock *l)
{
	int tid = dpemu_tid(), c = 0;

	dpemu_locks_held++;
	tsan_pre_lock(l, 0);
	if (atomic_compare_exchange_strong(&l->state, &c, tid)) {
		tsan_post_lock(l, 0);
		return;
	}
	for (;;) {
		if (c == 0) {
			/* free: take it, keeping "maybe waiters" for the release */
			if (atomic_compare_exchange_strong(&l->state, &c, tid | LOCK_WAITERS)) {
				tsan_post_lock(l, 0);
				return;
			}
			continue;
		}
		if (!(c & LOCK_WAITERS) &&
		    !atomic_compare_exchange_strong(&l->state, &c, c | LOCK_WAITERS))
			continue;
		futex_wait(&l->state, c | LOCK_WAITERS);
		c = atomic_load(&l->state);
	}
}

/* Take l if it is free; false (and nothing taken) if anyone holds it. */
static inline bool lock_try(struct lock *l)
{
	int c = 0;

	tsan_pre_lock(l, TSAN_TRY);
	if (!atomic_compare_exchange_strong(&l->state, &c, dpemu_tid())) {
		tsan_post_lock(l, TSAN_TRY_FAILED);
		return false;
	}
	tsan_post_lock(l, TSAN_TRY);
	dpemu_locks_held++;
	return true;
}

static inline void lock_release(struct lock *l)
{
	int c = dpemu_tid();

	tsan_pre_unlock(l);
	if (!atomic_compare_exchange_strong(&l->state, &c, 0)) {
		atomic_store(&l->state, 0); /* someone may wait */
		futex_wake_one(&l->state);
	}
	tsan_post_unlock(l);
	dpemu_locks_held--;
}

#endif /* DPEMU_LOCK_H */
