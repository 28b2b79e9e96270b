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
 * The algorithm is the three-state mutex of Drepper's "Futexes Are Tricky":
 * 0 unlocked, 1 locked, 2 locked with possible waiters.
 */
#ifndef DPEMU_LOCK_H
#define DPEMU_LOCK_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

struct lock {
	atomic_int state;
};

#define LOCK_INIT { 0 }

/* Number of dpemu locks the calling thread holds (see fault.c). */
extern __thread int dpemu_locks_held __attribute__((tls_model("initial-exec")));

static inline void futex_wait(atomic_int *addr, int expected)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static inline void futex_wake_one(atomic_int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void lock_acquire(struct lock *l)
{
	int c = 0;
	dpemu_locks_held++;
	if (atomic_compare_exchange_strong(&l->state, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(&l->state, 2);
	while (c != 0) {
		futex_wait(&l->state, 2);
		c = atomic_exchange(&l->state, 2);
	}
}

static inline void lock_release(struct lock *l)
{
	if (atomic_fetch_sub(&l->state, 1) != 1) {
		atomic_store(&l->state, 0);
		futex_wake_one(&l->state);
	}
	dpemu_locks_held--;
}

#endif /* DPEMU_LOCK_H */
