/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shared.c - shared objects: the pages of a shared mapping that several
 * spaces map after dpemu_space_fork, as the kernel's shmem object (or page
 * cache) is for a MAP_SHARED mapping after fork(2).
 *
 * A shared object has one slot per page of the mapping as it was created:
 * the frame that holds that page, or none yet.  The first space to fault a
 * page in fills a frame and records it; every other space that faults the
 * same page finds it there.  So a write in one space shows in the others
 * even for pages nobody had touched when they forked.  The object holds its
 * frames (FRAME_HELD, see struct frame) until the last mapping that uses it
 * goes away; then frames no page maps any more return to the pool.
 *
 * A shared mapping that was never forked has no object: its pages are only
 * ever faulted by one space, and it pays nothing for this.
 *
 * When the evictor takes such a page's frame back (evict.c), the slot
 * names the page's swap slot instead (SHARED_SWAPPED, see internal.h), or
 * nothing again for a page its file or zeros can refill; the first space
 * to fault it next brings it back for all.
 *
 * Fault path: shared_lookup, shared_record, shared_swapped,
 * shared_record_swap and shared_evict run in the fault handler with the
 * object's lock held (lock order: the top of internal.h); they only
 * read and write the slot array and reference counts.  shared_new,
 * shared_get and shared_put are API side.
 *
 * Layer: store (src/internal.h).  Calls: swap.c of its own layer (a shared
 * page's swap slot), the frames, base.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

/*
 * A new object for a mapping of npages pages, used by one mapping.  The
 * slots are mapped without reserving memory: a huge mapping costs only the
 * slots of the pages that are actually shared.  NULL when out of memory.
 */
struct shared_object *shared_new(uint64_t npages)
{
	struct shared_object *o = calloc(1, sizeof *o);

	if (!o)
		return NULL;
	o->npages = npages;
	o->bytes = npages * sizeof o->slots[0];
	o->slots = mmap(NULL, o->bytes, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (o->slots == MAP_FAILED) {
		free(o);
		return NULL;
	}
	atomic_store(&o->users, 1);
	return o;
}

/* One more mapping (in another space) uses o. */
void shared_get(struct shared_object *o)
{
	atomic_fetch_add(&o->users, 1);
}

/* A mapping stops using o; the last one lets its frames go and frees it. */
void shared_put(struct dpemu_pool *pool, struct shared_object *o)
{
	if (atomic_fetch_sub(&o->users, 1) != 1)
		return;
	for (uint64_t i = 0; i < o->npages; i++) {
		uint64_t v = o->slots[i];
		if (v & SHARED_SWAPPED)
			swap_put(pool, (uint32_t)v);
		else if (v)
			frame_unhold(pool, (uint32_t)(v - 1));
	}
	munmap(o->slots, o->bytes);
	free(o);
}

/* The frame recorded for page idx of the mapping, or FRAME_NONE.
 * Fault path; o->lock held. */
uint32_t shared_lookup(const struct shared_object *o, uint64_t idx)
{
	if (idx >= o->npages || !o->slots[idx] || (o->slots[idx] & SHARED_SWAPPED))
		return FRAME_NONE;
	return (uint32_t)(o->slots[idx] - 1);
}

/* True, with *slot set, if page idx is in the swap store.  o->lock held. */
bool shared_swapped(const struct shared_object *o, uint64_t idx, uint32_t *slot)
{
	if (idx >= o->npages || !(o->slots[idx] & SHARED_SWAPPED))
		return false;
	*slot = (uint32_t)o->slots[idx];
	return true;
}

/* Page idx, which has no frame, is in swap slot `slot`: the object takes
 * over the caller's reference to the slot.  o->lock held. */
void shared_record_swap(struct shared_object *o, uint64_t idx, uint32_t slot)
{
	o->slots[idx] = SHARED_SWAPPED | slot;
}

/*
 * The evictor takes frame f of page idx back: the slot names swap slot
 * `slot` (taking a reference to it), or nothing (slot FRAME_NONE: the
 * file or zeros refill the page), and the object lets f go.  o->lock held.
 */
void shared_evict(struct dpemu_pool *pool, struct shared_object *o, uint64_t idx, uint32_t f,
                  uint32_t slot)
{
	if (slot != FRAME_NONE) {
		swap_dup(pool, slot);
		o->slots[idx] = SHARED_SWAPPED | slot;
	} else {
		o->slots[idx] = 0;
	}
	frame_unhold(pool, f);
}

/* Record frame f for page idx, unless a frame is recorded already, and
 * hold it.  A swap slot recorded there is replaced: the caller has dealt
 * with its reference.  Fault path; o->lock held (or the only user). */
void shared_record(struct dpemu_pool *pool, struct shared_object *o, uint64_t idx, uint32_t f)
{
	if (idx >= o->npages || (o->slots[idx] && !(o->slots[idx] & SHARED_SWAPPED)))
		return;
	o->slots[idx] = (uint64_t)f + 1;
	frame_hold(pool, f);
}
