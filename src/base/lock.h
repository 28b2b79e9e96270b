/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lock.h - dpemu's lock: a futex-based mutex that may be taken inside a
 * signal handler.
 *
 * Fault path: safe.  lock_acquire/lock_release use only atomics and the
 * futex(2) system call, which are async-signal-safe.  They are not
 * re-entrant: a thread must never take a lock it already holds, which is why
 * every acquisition counts itself in the thread-local _dpemu_locks_held and
 * the fault path refuses to resolve a fault while that count is non-zero
 * (see fault.c).
 *
 * The lock word holds the owner's thread id, as Linux's PI futexes do, so
 * the userfaultfd handler thread can tell exactly whether a faulting thread
 * holds a lock it would need (trap_uffd.c):
 *
 *   31        30                                 0
 *  +---------+------------------------------------+
 *  | waiters |  owner thread id (0: unlocked)     |
 *  +---------+------------------------------------+
 *
 * The lock words say who holds one lock; the handler thread must also know
 * whether a faulting thread holds any dpemu lock at all (a lock of another
 * space an eviction would take, a shared object's lock...): it must never
 * wait for such a thread, which sleeps until its fault is resolved.  So a
 * thread that takes its first lock publishes its id in _dpemu_holders, a
 * small lock-free table (one cache line a slot), and takes it out again
 * when it releases its last; lock_holder_maybe() looks a thread up there.
 * The count is raised before the id is published and lowered after it is
 * withdrawn, so a signal handler that interrupts either step already sees
 * _dpemu_locks_held > 0 and takes no lock: publications never nest.
 *
 * The order in which dpemu's locks (and its pthread mutexes) are taken:
 * the lock-order table at the top of internal.h.
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
extern __thread int _dpemu_locks_held __attribute__((tls_model("initial-exec")));
extern __thread int _dpemu_tid_cache __attribute__((tls_model("initial-exec")));

/* The table of threads that hold a dpemu lock (defined in thread.c). */
#define HOLDER_SLOTS 256
struct holder_slot {
	atomic_int tid;  /* a thread holding at least one dpemu lock, or 0 */
	char pad[60];    /* one slot per cache line: no false sharing      */
};
extern struct holder_slot _dpemu_holders[HOLDER_SLOTS];
extern atomic_int _dpemu_holders_probe;    /* longest probe ever used     */
extern atomic_int _dpemu_holders_overflow; /* holders the table missed    */
/* The calling thread's slot + 1; 0: none; -1: counted in the overflow. */
extern __thread int _dpemu_holder_slot __attribute__((tls_model("initial-exec")));

/* The calling thread's id (gettid), cached per thread. */
static inline int dpemu_tid(void)
{
	if (_dpemu_tid_cache == 0)
		_dpemu_tid_cache = (int)syscall(SYS_gettid);
	return _dpemu_tid_cache;
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

static inline unsigned holder_hash(int tid)
{
	return ((unsigned)tid * 2654435761u) >> 24; /* 0..255 = HOLDER_SLOTS - 1 */
}

/* The calling thread takes its first lock: publish its id (see the top). */
static inline void holder_publish(void)
{
	int tid = dpemu_tid();
	unsigned h = holder_hash(tid);

	for (int k = 0; k < HOLDER_SLOTS; k++) {
		struct holder_slot *slot = &_dpemu_holders[(h + (unsigned)k) % HOLDER_SLOTS];
		int free_ = 0;
		if (atomic_load_explicit(&slot->tid, memory_order_relaxed) != 0 ||
		    !atomic_compare_exchange_strong(&slot->tid, &free_, tid))
			continue;
		int probe = atomic_load(&_dpemu_holders_probe);
		while (probe < k + 1 &&
		       !atomic_compare_exchange_weak(&_dpemu_holders_probe, &probe, k + 1))
			;
		_dpemu_holder_slot = (int)((h + (unsigned)k) % HOLDER_SLOTS) + 1;
		return;
	}
	atomic_fetch_add(&_dpemu_holders_overflow, 1); /* full: "anyone may hold one" */
	_dpemu_holder_slot = -1;
}

/* The calling thread releases its last lock. */
static inline void holder_withdraw(void)
{
	if (_dpemu_holder_slot > 0)
		atomic_store(&_dpemu_holders[_dpemu_holder_slot - 1].tid, 0);
	else if (_dpemu_holder_slot < 0)
		atomic_fetch_sub(&_dpemu_holders_overflow, 1);
	_dpemu_holder_slot = 0;
}

/*
 * Whether thread tid may hold a dpemu lock now: 0 no, 1 perhaps (the
 * table was full: it cannot tell), 2 yes.  Exact for a thread that is
 * stopped (one asleep on a userfaultfd fault, which is what the handler
 * thread asks about).
 */
static inline int lock_holder_maybe(int tid)
{
	unsigned h = holder_hash(tid);
	int probe = atomic_load(&_dpemu_holders_probe);

	for (int k = 0; k < probe; k++)
		if (atomic_load(&_dpemu_holders[(h + (unsigned)k) % HOLDER_SLOTS].tid) == tid)
			return 2;
	return atomic_load(&_dpemu_holders_overflow) > 0 ? 1 : 0;
}

static inline void lock_acquire(struct lock *l)
{
	int tid = dpemu_tid(), c = 0;

	if (_dpemu_locks_held++ == 0)
		holder_publish();
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
	if (_dpemu_locks_held++ == 0)
		holder_publish();
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
	if (_dpemu_locks_held == 1)
		holder_withdraw();
	_dpemu_locks_held--;
}

#endif /* DPEMU_LOCK_H */
