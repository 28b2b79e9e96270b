/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fork.c - dpemu_space_fork, fork(2) for one space by copy-on-write; and
 * what becomes of dpemu's memory when the host process itself forks.
 *
 * API side only, except fork_child_handler, which runs in the child of
 * fork(2) (async-signal-safe calls only: mmap, getpid, atomics).
 *
 * Space fork: nothing is copied.  The child gets a copy of the mapping
 * table (its own duplicates of the files) and of the page table; every
 * present page of a private mapping becomes copy-on-write in both spaces,
 * sharing its frame, whose reference count says how many pages map it;
 * pages of shared mappings share their frame and stay writable; pages never
 * touched stay lazy in both - a shared mapping gets a shared object
 * (shared.c) at its first fork, so that both find the same frame for a
 * page whichever touches it first.  The child has the parent's colour, so a
 * shared frame is the identity frame of its page in both arenas and the
 * child shows it without splitting a host mapping.  The child's host view
 * starts empty: its first access to each page traps and shows the frame.
 *
 * Host fork(2): the pool is one MAP_SHARED memory object, so a child
 * process that touched its copy of an arena would write into the parent's
 * frames.  dpemu makes that impossible instead of silent: in the child,
 * every inherited arena is replaced by inaccessible memory, any touch of it
 * is reported as a host fault ("belongs to the parent process") and kills
 * the child, and every dpemu call on an inherited pool or space fails with
 * -EPERM (except the destroy calls, which only free the child's copies).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

atomic_bool dpemu_in_forked_child;
static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

struct fork_walk {
	struct host_protbatch hp; /* the parent's pages turning read-only */
};

/* The child's PTE for page pg, and the parent's PTE *e made copy-on-write. */
static uint64_t fork_pte(struct dpemu_space *parent, struct dpemu_space *child, uint64_t *e,
                         uint64_t pg, void *arg)
{
	struct fork_walk *w = arg;
	uint64_t c = *e & ~(PTE_HOST_BITS | PTE_V | PTE_L);

	if (pte_map(*e) != 0 && pte_swapped(*e)) {
		const struct mapping *m = &parent->maps[pte_map(*e) - 1];
		host_setprot_flush(parent, &w->hp);
		if (m->shared) {
			/* The shared object names the slot from now on, for both. */
			shared_record_swap(m->shared, pg - m->start, pte_frame(*e));
			*e = pte_lazy(*e);
			return pte_lazy(c);
		}
		swap_dup(parent->pool, pte_frame(*e)); /* both name the slot */
		return c;
	}
	if (pte_map(*e) == 0 || !(*e & PTE_P)) {
		host_setprot_flush(parent, &w->hp);
		return c;
	}
	const struct mapping *m = &parent->maps[pte_map(*e) - 1];
	frame_get(parent->pool, pte_frame(*e));
	PG_STATS(child, pg).pages_resident++;
	if (m->flags & DPEMU_MAP_SHARED) {
		shared_record(parent->pool, m->shared, pg - m->start, pte_frame(*e));
		host_setprot_flush(parent, &w->hp);
		return c;
	}
	*e |= PTE_C;
	host_narrow(parent, &w->hp, pg, e);
	return c | PTE_C;
}

/* Give child a copy of parent's mapping table, with its own fds; shared
 * mappings get (or keep) a shared object, used by both. */
static int copy_mappings(struct dpemu_space *parent, struct dpemu_space *child)
{
	if (parent->maps_cap == 0)
		return 0;
	child->maps = calloc(parent->maps_cap, sizeof *child->maps);
	if (!child->maps)
		return -ENOMEM;
	child->maps_cap = parent->maps_cap;
	for (uint32_t i = 0; i < parent->maps_cap; i++) {
		struct mapping *pm = &parent->maps[i];
		struct mapping m = *pm;
		if (m.npages == 0) {
			m.fd = -1;
			m.shared = NULL;
			child->maps[i] = m;
			continue;
		}
		if ((m.flags & DPEMU_MAP_SHARED) && !pm->shared &&
		    !(pm->shared = shared_new(pm->len)))
			return -ENOMEM;
		m.shared = pm->shared;
		m.fd = -1;
		m.npages = 0; /* until both the fd and the object are the child's */
		child->maps[i] = m;
		if (pm->fd >= 0 && (child->maps[i].fd = fcntl(pm->fd, F_DUPFD_CLOEXEC, 3)) < 0)
			return -errno;
		if (m.shared)
			shared_get(m.shared);
		child->maps[i].npages = pm->npages;
		child->maps_live++;
	}
	return 0;
}

DPEMU_API int dpemu_space_fork(dpemu_space *parent, dpemu_space **out)
{
	struct fork_walk w = { .hp = { 0, 0, 0, 0 } };
	struct dpemu_space *child;
	int err;

	if (!parent || !out)
		return set_error(-EINVAL, "dpemu_space_fork: parent and out must not be NULL");
	*out = NULL;
	if (pool_inherited(parent->pool))
		return set_error(-EPERM, "dpemu_space_fork: this space belongs to the parent "
		                 "process of fork(2)");
	err = space_new(parent->pool, parent->size, parent->fault_around, &child);
	if (err)
		return set_error(err, "dpemu_space_fork: %s", dpemu_last_error());
	child->colour = parent->colour;
	if (parent->hostmode == HOSTMODE_UFFD && (err = uffd_space_open(child, parent->uffd_mode))) {
		space_free(child);
		return set_error(err, "dpemu_space_fork: %s", dpemu_last_error());
	}

	space_lock_all(parent);
	/* (No fault of the parent can race with shared_record here: the parent
	 * is locked whole, and the child is not published yet.) */
	err = copy_mappings(parent, child);
	if (!err)
		err = pt_copy(parent, child, fork_pte, &w);
	host_setprot_flush(parent, &w.hp);
	space_unlock_all(parent);

	if (!err && w.hp.err)
		err = w.hp.err; /* the parent's pages are COW in its PTEs all the same */
	if (!err)
		err = space_publish(child);
	if (err) {
		space_unmap_pages(child, 0, child->npages);
		space_free(child);
		return set_error(err, "dpemu_space_fork: %s", err == -ENOMEM
		                 ? "out of memory (or host mappings: see vm.max_map_count)"
		                 : strerror(-err));
	}
	*out = child;
	return 0;
}

/* ---- the host process's own fork(2) ----------------------------------------- */

bool pool_inherited(const struct dpemu_pool *pool)
{
	return atomic_load(&dpemu_in_forked_child) && pool->owner != getpid();
}

/* In the child of fork(2): make every inherited arena inaccessible, so no
 * access reaches the frames it shares with the parent. */
static void fork_child_handler(void)
{
	atomic_store(&dpemu_in_forked_child, true);
	dpemu_tid_cache = 0; /* this thread has a new id in the child */
	registry_revoke_all();
	uffd_forget_handler();
}

static void fork_guard_register(void)
{
	pthread_atfork(NULL, NULL, fork_child_handler);
}

/* Arrange for fork_child_handler to run in every child of fork(2). */
void fork_guard_install(void)
{
	pthread_once(&fork_guard_once, fork_guard_register);
}
