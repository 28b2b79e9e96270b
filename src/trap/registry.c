/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c - which space a faulting address belongs to: the table every
 * trap backend looks an address up in, and the guarantee that a space is
 * freed only once no fault handler can still be looking at it.
 *
 * Fault path: registry_find, registry_enter and registry_leave run inside
 * the fault handler: lock-free loads and atomic counters only.
 * registry_revoke_all runs in the child of fork(2) (async-signal-safe).
 * registry_add and registry_remove are API side (registry_mutex).
 * Calls: arena_reset (host/arena.c).
 *
 * The registry is a fixed array of slots, published with atomics.  A space
 * is freed only after it has left the registry and every fault handler
 * that might have found it has finished, so a handler never touches a
 * freed space.  "Every handler that might have found it" is tracked as
 * SRCU does, with two counters and an epoch: a handler counts itself in
 * the counter of the epoch it entered in; registry_remove empties the
 * slot, flips the epoch and waits only for the old epoch's counter to
 * drain.  Handlers that enter after the flip cannot find the space, and
 * they count in the other counter - so a stream of faults in other spaces
 * never keeps a destroy waiting (with one counter, two threads faulting
 * without pause kept it above zero for minutes on a loaded 2-CPU machine).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "internal.h"

static _Atomic(struct dpemu_space *) registry[REGISTRY_SLOTS];
static atomic_int registry_high;     /* slots [0, high) may be in use */
/* Slots whose space's arena a fork child handler of this process or of an
 * ancestor has already reset: the memory at those addresses is the
 * process's own since (a child may map anything there, as dpemu run's
 * preload moves its copy of the heap there), and a fork of the child must
 * leave it alone.  Written only by the one thread of a fork child, and by
 * registry_add under registry_mutex. */
static bool registry_revoked[REGISTRY_SLOTS];
static atomic_uint registry_epoch;    /* its low bit: the counter new handlers use */
static atomic_long registry_inflight[2]; /* fault handlers running, per epoch */
/* The registry's slots (lock order: internal.h). */
static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;

/* A fault handler starts looking at the registry: returns the ticket to
 * give registry_leave. */
unsigned registry_enter(void)
{
	unsigned i = atomic_load(&registry_epoch) & 1;

	atomic_fetch_add(&registry_inflight[i], 1);
	return i;
}

void registry_leave(unsigned ticket)
{
	atomic_fetch_sub(&registry_inflight[ticket], 1);
}

/* The space whose arena holds addr, or NULL.  Call between enter/leave. */
struct dpemu_space *registry_find(const void *addr)
{
	int high = atomic_load(&registry_high);
	uintptr_t a = (uintptr_t)addr;

	for (int i = 0; i < high; i++) {
		struct dpemu_space *s = atomic_load(&registry[i]);
		if (s && a >= s->base && a - s->base < s->size)
			return s;
	}
	return NULL;
}

/*
 * In the child of fork(2) (fork.c, an atfork child handler: async-signal-
 * safe calls only): replace every arena by inaccessible private memory
 * (once: not again in a grandchild, see registry_revoked), and
 * start the registry's bookkeeping afresh.  Only the forking thread exists
 * in the child, so the fault handlers that other threads of the parent were
 * running when it forked will never leave (registry_inflight would stay
 * above zero for ever, and every destroy would wait for it), and
 * registry_mutex may have been held by one of them.
 */
void registry_revoke_all(void)
{
	int high = atomic_load(&registry_high);
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	registry_mutex = fresh;
	atomic_store(&registry_inflight[0], 0);
	atomic_store(&registry_inflight[1], 0);

	for (int i = 0; i < high; i++) {
		struct dpemu_space *s = atomic_load(&registry[i]);
		if (s && !registry_revoked[i]) {
			arena_reset(s);
			registry_revoked[i] = true;
		}
	}
}

int registry_add(struct dpemu_space *s)
{
	int rc = -ENOMEM;

	pthread_mutex_lock(&registry_mutex);
	for (int i = 0; i < REGISTRY_SLOTS; i++) {
		if (atomic_load(&registry[i]) == NULL) {
			s->registry_slot = i;
			registry_revoked[i] = false; /* a space of this process */
			atomic_store(&registry[i], s);
			if (i >= atomic_load(&registry_high))
				atomic_store(&registry_high, i + 1);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&registry_mutex);
	return rc;
}

/*
 * Take s out of the registry and wait until no fault handler can still be
 * looking at it: those of the epoch before the flip (see the top).  A
 * handler that read the old epoch just before the flip and counts itself
 * only after the wait saw zero comes after the slot was emptied (all
 * seq_cst), so it cannot find s either.  registry_mutex keeps removers in
 * turn, each flip waiting for the epoch it closes.
 */
void registry_remove(struct dpemu_space *s)
{
	pthread_mutex_lock(&registry_mutex);
	atomic_store(&registry[s->registry_slot], NULL);
	unsigned old = atomic_load(&registry_epoch) & 1;
	atomic_store(&registry_epoch, old ^ 1);
	while (atomic_load(&registry_inflight[old]) != 0)
		sched_yield();
	pthread_mutex_unlock(&registry_mutex);
}

