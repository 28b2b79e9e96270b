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
 * A parent with an emulated TLB gives the child one of the same size,
 * empty (tlb.c): the child's first access to a page it shares is a TLB
 * miss, or a copy-on-write break.
 *
 * Host fork(2): the pool is one MAP_SHARED memory object, so a child
 * process that touched its copy of an arena would write into the parent's
 * frames.  dpemu makes that impossible instead of silent: in the child,
 * every inherited arena is replaced by inaccessible memory, any touch of it
 * is reported as a host fault ("belongs to the parent process") and kills
 * the child, and every dpemu call on an inherited pool or space fails with
 * -EPERM (except the destroy calls, which only free the child's copies).
 *
 * Layer: api (src/internal.h).  Calls: space.c and mapping.c of its own
 * layer, the trap backends (trap_uffd.c, registry.c: for the host's
 * fork(2)), evict.c's list of spaces, the stores, the frames, the emulated
 * TLB and the page table, the host view, base.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

struct fork_walk {
	struct host_protbatch hp; /* the parent's pages turning read-only */
};

/* The child's PTE for page pg, and the parent's PTE *e made copy-on-write. */
static uint64_t fork_pte(struct dpemu_space *parent, struct dpemu_space *child, uint64_t *e,
                         uint64_t pg, void *arg)
{
	struct fork_walk *w = arg;
	uint64_t c = host_view_none(*e);

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

struct fork_undo {
	bool revoke; /* a write-protection of the parent's pages failed */
};

/*
 * A failed fork, once the child's pages are gone: give back parent page
 * *e what the fork took.  A private page whose frame no other page maps
 * now was made copy-on-write by this fork (or by an earlier one whose
 * child has gone): it is the parent's alone, so PTE_C goes.  If a
 * write-protection batch failed, the host view of such a page is unknown
 * (an mprotect or UFFDIO_WRITEPROTECT may have failed half way, while
 * host_narrow already recorded the read-only rights in the PTE): it is
 * revoked (host_revoke: PROT_NONE, recorded as such), and its next access
 * gives it its rights back (fault.c, host_force_prot) - so that no PTE
 * records rights narrower than the host's, which would let the next fork
 * skip the write-protection of a frame it shares.
 */
static int fork_undo_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                           uint64_t npages, void *arg)
{
	struct fork_undo *u = arg;
	uint32_t f = pte_frame(*e);

	(void)npages;
	if (level > 0 || pte_map(*e) == 0 || !(*e & PTE_P) || !(*e & PTE_C))
		return 0;
	if (f == s->pool->zero_frame || frame_pages(s->pool, f) != 1)
		return 0; /* still shared (with a child of an earlier fork) */
	*e &= ~PTE_C;
	if (u->revoke && (*e & PTE_V) && host_revoke(s, pg, e) != 0)
		*e = host_view_unknown(*e);
	return 0;
}

/*
 * Undo a fork that failed, parent and child locked whole: drop the child's pages
 * (and with them its references to the frames and swap slots; the child
 * is not published, and none of its pages is visible), then give the
 * parent's pages back what the fork took (fork_undo_visit).  revoke: a
 * write-protection of the parent's pages failed.
 */
static void fork_undo(struct dpemu_space *parent, struct dpemu_space *child, bool revoke)
{
	struct fork_undo u = { .revoke = revoke };

	space_unmap_pages(child, 0, child->npages);
	pt_walk(parent, 0, parent->npages, false, fork_undo_visit, &u);
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
	if ((err = tlb_init(child, parent->tlb.cap))) {
		space_free(child);
		return set_error(err, "dpemu_space_fork: %s", dpemu_last_error());
	}
	child->colour = parent->colour;
	if (parent->hostmode == HOSTMODE_UFFD && (err = uffd_space_open(child, parent->uffd_mode))) {
		space_free(child);
		return set_error(err, "dpemu_space_fork: %s", dpemu_last_error());
	}

	/*
	 * The child goes on the pool's list of spaces before it shares a
	 * frame, and stays locked until its page table is complete: an
	 * evictor (a fault elsewhere in the pool) must find the child's pages
	 * as well as the parent's, or a frame they share could never be
	 * freed and the pool would look out of frames.  (evict_lock is taken
	 * before any space lock: pool_add_space comes first.  Nothing else
	 * knows the child, so locking it before the parent cannot deadlock.)
	 */
	pool_add_space(child);
	space_lock_all(child);
	space_lock_all(parent);
	/* (No fault of the parent can race with shared_record here: the parent
	 * is locked whole, and the child is not registered yet.) */
	err = copy_mappings(parent, child);
	if (!err)
		err = pt_copy(parent, child, fork_pte, &w);
	host_setprot_flush(parent, &w.hp);
	if (!err && w.hp.err)
		err = w.hp.err;
	if (err)
		fork_undo(parent, child, w.hp.err != 0);
	space_unlock_all(parent);
	space_unlock_all(child);

	if (!err && (err = space_register(child)) != 0) {
		space_lock_all(child);
		space_lock_all(parent);
		fork_undo(parent, child, false);
		space_unlock_all(parent);
		space_unlock_all(child);
	}
	if (err)
		pool_remove_space(child); /* (it maps no frame any more) */
	if (err) {
		space_free(child);
		return set_error(err, "dpemu_space_fork: %s; the parent is as it was", err == -ENOMEM
		                 ? "out of memory (or host mappings: see vm.max_map_count)"
		                 : strerror(-err));
	}
	TRACE(parent->pool, DPEMU_EVENT_FORK, UINT32_MAX, .space = parent->id, .aux = child->id);
	*out = child;
	return 0;
}

/* ---- the host process's own fork(2) ----------------------------------------- */

/* In the child of fork(2): make every inherited arena inaccessible, so no
 * access reaches the frames it shares with the parent. */
static void fork_child_handler(void)
{
	atomic_store(&_dpemu_in_forked_child, true);
	_dpemu_tid_cache = 0; /* this thread has a new id in the child */
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
