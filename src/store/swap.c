/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * swap.c - the swap store: the file evicted pages go to, one page-sized
 * slot each, and the swap cache that ties a slot to the frame holding its
 * contents.
 *
 * A slot is named by swap entries: page-table entries of swapped pages
 * (PTE_S, see internal.h) and slots of shared objects (SHARED_SWAPPED).
 * Its reference count is the number of entries naming it, plus one while
 * it is cached: while a frame holds the slot's contents, the frame is the
 * truth and the file may be stale or being written.  So
 *
 *   - a page that comes back finds the frame if another page sharing the
 *     slot brought it back first (swap_fetch_slot: read once, shared again);
 *   - a frame that stays clean after it came back is evicted again without
 *     writing anything: its slot still holds its contents;
 *   - a frame written after it came back gives its slot up, if no other
 *     entry names it (swap_forget): the copy there is stale;
 *   - the frame is freed only after its contents are in the file, or once
 *     nothing names the slot any more (swap_put, swap_cache_release).
 *
 * The slots' contents live in the pool's backing store (store.c: the
 * file store, the Redis store, or the program's); a freed slot is
 * discarded there.
 *
 * Fault path: everything but swap_open and swap_close.  These functions
 * take pool->swap_lock (lock order: the top of internal.h) and call the
 * store through store.c (store_read, store_write, store_discard: no
 * malloc, no stdio, and no lock the store thread could need); no malloc,
 * no stdio.  A swap-in reads with the swap lock held, so two pages racing
 * for one slot never see a frame that is still being filled.
 *
 * Layer: store (src/internal.h).  Calls: store.c, the frames, base; the
 * swap cache is where frames.c's one upcall lands.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* ---- API side ------------------------------------------------------------- */

/*
 * Open the swap store of pool with room for nslots pages: its backing
 * store (store_open: cfg->store, a Redis server, or the file swap_path or
 * a temporary file) and the slot table, reserved, not committed: it costs
 * memory only for slots used.  Returns 0 or a negative errno with the
 * message set; nothing stays open on failure.
 */
int swap_open(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg, size_t nslots)
{
	struct swap_store *sw = &pool->swap;
	int err = store_open(pool, cfg, nslots);

	if (err)
		return err;
	sw->nslots = nslots;
	sw->slots_bytes = nslots * sizeof sw->slots[0];
	sw->slots = mmap(NULL, sw->slots_bytes, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sw->slots == MAP_FAILED) {
		sw->slots = NULL;
		store_close(pool);
		return set_error(-ENOMEM, "dpemu_pool_create: no memory for %zu swap slots", nslots);
	}
	return 0;
}

void swap_close(struct dpemu_pool *pool)
{
	struct swap_store *sw = &pool->swap;

	store_close(pool);
	if (sw->slots)
		munmap(sw->slots, sw->slots_bytes);
	sw->slots = NULL;
}

/* ---- slots (swap_lock held) --------------------------------------------------- */

/* Slot holds nothing any more: back on the free list, and its page is
 * discarded from the store. */
static void slot_free(struct dpemu_pool *pool, uint32_t slot)
{
	struct swap_store *sw = &pool->swap;

	store_discard(pool, slot);
	sw->slots[slot].frame = sw->free_head;
	sw->free_head = slot + 1;
	sw->used--;
}

static void slot_put(struct dpemu_pool *pool, uint32_t slot);

/* Untie cached frame fr from its slot and drop the cache's reference to
 * the slot (the caller clears FRAME_CACHED, or has cleared the word). */
static void cache_unlink(struct dpemu_pool *pool, struct frame *fr)
{
	uint32_t slot = fr->swap - 1;

	pool->swap.slots[slot].frame = 0;
	fr->swap = 0;
	slot_put(pool, slot);
}

/* Drop one reference to slot; the last frees it.  A cached frame that
 * no page maps and no entry names any more is freed with it. */
static void slot_put(struct dpemu_pool *pool, uint32_t slot)
{
	struct swap_slot *sl = &pool->swap.slots[slot];

	if (--sl->refs == 0) {
		slot_free(pool, slot);
		return;
	}
	if (sl->refs == 1 && sl->frame) {
		uint32_t f = sl->frame - 1;
		unsigned want = FRAME_CACHED;
		/* Only the cache is left and no page maps the frame: both go. */
		if (atomic_compare_exchange_strong(&pool->frames[f].refs, &want, 0)) {
			cache_unlink(pool, &pool->frames[f]); /* frees the slot too */
			frame_free(pool, f);
		}
	}
}

/*
 * A new, empty slot (no reference yet: swap_cache_add gives it the
 * cache's).  Returns 0 with *slot set, or -ENOSPC when the store is full.
 */
int swap_alloc(struct dpemu_pool *pool, uint32_t *slot)
{
	struct swap_store *sw = &pool->swap;
	uint32_t s;

	lock_acquire(&pool->swap_lock);
	if (sw->free_head) {
		s = sw->free_head - 1;
		sw->free_head = sw->slots[s].frame;
	} else if (sw->high < sw->nslots) {
		s = (uint32_t)sw->high++;
	} else {
		lock_release(&pool->swap_lock);
		return -ENOSPC;
	}
	sw->slots[s].refs = 0;
	sw->slots[s].frame = 0;
	sw->used++;
	*slot = s;
	lock_release(&pool->swap_lock);
	return 0;
}

/* Cache frame f as the contents of slot (just allocated, or f came from
 * it): the cache's reference, and f's FRAME_CACHED. */
void swap_cache_add(struct dpemu_pool *pool, uint32_t slot, uint32_t f)
{
	lock_acquire(&pool->swap_lock);
	pool->swap.slots[slot].refs++;
	pool->swap.slots[slot].frame = f + 1;
	pool->frames[f].swap = slot + 1;
	atomic_fetch_or(&pool->frames[f].refs, FRAME_CACHED);
	lock_release(&pool->swap_lock);
}

/* One more entry names slot. */
void swap_dup(struct dpemu_pool *pool, uint32_t slot)
{
	lock_acquire(&pool->swap_lock);
	pool->swap.slots[slot].refs++;
	lock_release(&pool->swap_lock);
}

/* An entry naming slot is gone (the page was unmapped, or came back). */
void swap_put(struct dpemu_pool *pool, uint32_t slot)
{
	lock_acquire(&pool->swap_lock);
	slot_put(pool, slot);
	lock_release(&pool->swap_lock);
}

/*
 * The evictor is done with pinned frame f: if no page maps it and no
 * shared object holds it, take it out of the cache (its slot keeps the
 * entries' references) and free it; true then.  False if a page came
 * back to it meanwhile: it stays, cached.
 */
bool swap_uncache(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];
	bool freed = false;

	lock_acquire(&pool->swap_lock);
	unsigned word = atomic_load(&fr->refs);
	if ((word & ~FRAME_CACHED) == FRAME_PINNED &&
	    atomic_compare_exchange_strong(&fr->refs, &word, 0)) {
		if (fr->swap)
			cache_unlink(pool, fr);
		freed = true;
	}
	lock_release(&pool->swap_lock);
	if (freed)
		frame_free(pool, f);
	return freed;
}

/*
 * Frame f's last page or holder let it go and only the cache keeps it:
 * if no entry names its slot either, free both.  Otherwise it stays for
 * the entries that will fault it back (or for the evictor).
 */
void swap_cache_release(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];
	bool freed = false;

	lock_acquire(&pool->swap_lock);
	unsigned want = FRAME_CACHED;
	if (fr->swap && pool->swap.slots[fr->swap - 1].refs == 1 &&
	    atomic_compare_exchange_strong(&fr->refs, &want, 0)) {
		cache_unlink(pool, fr);
		freed = true;
	}
	lock_release(&pool->swap_lock);
	if (freed)
		frame_free(pool, f);
}

/*
 * A page wrote frame f: if f is cached and no entry but the cache names
 * its slot, the slot's copy is stale and nothing will read it - free the
 * slot (f stays, dirty, and goes to a new slot when evicted).  f is pinned
 * meanwhile, so the evictor, which reads f's slot unlocked, neither has it
 * nor takes it; if it is pinned already (being evicted), f keeps its slot.
 */
void swap_forget(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];

	if (!(atomic_load(&fr->refs) & FRAME_CACHED) || !frame_pin(pool, f))
		return;
	lock_acquire(&pool->swap_lock);
	if (fr->swap && pool->swap.slots[fr->swap - 1].refs == 1 &&
	    (atomic_load(&fr->refs) & FRAME_CACHED)) {
		atomic_fetch_and(&fr->refs, ~FRAME_CACHED);
		cache_unlink(pool, fr);
	}
	lock_release(&pool->swap_lock);
	frame_unpin(pool, f);
}

/* True if frame f is cached and no entry but the cache names its slot:
 * a page that maps f alone may write it in place. */
bool swap_exclusive(struct dpemu_pool *pool, uint32_t f)
{
	lock_acquire(&pool->swap_lock);
	uint32_t slot = pool->frames[f].swap;
	bool only = slot && pool->swap.slots[slot - 1].refs == 1;
	lock_release(&pool->swap_lock);
	return only;
}

/* ---- I/O ------------------------------------------------------------------------ */

/* Write frame f into slot.  0 or -errno (the file store: -ENOSPC when the
 * file system is full, -EIO and the like; a store that is unreachable:
 * -EIO). */
int swap_write(struct dpemu_pool *pool, uint32_t slot, uint32_t f)
{
	return store_write(pool, slot, frame_data(pool, f));
}

/*
 * Copy slot's contents into buf (one page) without bringing it back: from
 * the frame the swap cache keeps for it (the truth while it has one), else
 * from the file.  The caller holds a lock that keeps an entry naming the
 * slot (a page's stripe, or the shared object's lock), so the slot stays
 * allocated.  0 or the read's negative errno.  (dpemu_read.)
 */
int swap_read(struct dpemu_pool *pool, uint32_t slot, void *buf)
{
	uint32_t cached;
	int err = 0;

	lock_acquire(&pool->swap_lock);
	cached = pool->swap.slots[slot].frame;
	if (cached)
		memcpy(buf, frame_data(pool, cached - 1), pool->page_size);
	else
		err = store_read(pool, slot, buf);
	lock_release(&pool->swap_lock);
	return err;
}

/*
 * The frame holding slot's contents, for a swap entry (a PTE or a shared
 * object's slot) that names slot and is about to name the frame instead:
 * drops that entry's reference to the slot.  The frame is the slot's cached frame if it has one
 * (another page brought it back, or it was never freed), else a new frame
 * (preferably `preferred`, with rmap) filled from the file and cached.
 * *read says whether the file was read; *others whether other entries
 * still name the slot or other pages map the frame (a private page must
 * then share it copy-on-write).
 * Returns the frame, one page reference taken; FRAME_NONE with *err
 * -ENOSPC (no free frame: the entry's reference is kept) or the read's
 * negative errno (the entry's reference is kept too).
 */
uint32_t swap_fetch_slot(struct dpemu_pool *pool, uint32_t slot, uint64_t preferred,
                         uint64_t rmap, int *err, bool *read, bool *others)
{
	struct swap_slot *sl = &pool->swap.slots[slot];
	uint32_t f;

	*read = false;
	lock_acquire(&pool->swap_lock);
	if (sl->frame) {
		f = sl->frame - 1;
		frame_get(pool, f);
	} else {
		f = frame_alloc(pool, preferred, rmap);
		if (f == FRAME_NONE) {
			lock_release(&pool->swap_lock);
			*err = -ENOSPC;
			return FRAME_NONE;
		}
		*err = store_read(pool, slot, frame_data(pool, f));
		if (*err) {
			atomic_store(&pool->frames[f].refs, 0);
			lock_release(&pool->swap_lock);
			frame_free(pool, f);
			return FRAME_NONE;
		}
		pool->frames[f].zero = 0;
		sl->refs++;
		sl->frame = f + 1;
		pool->frames[f].swap = slot + 1;
		atomic_fetch_or(&pool->frames[f].refs, FRAME_CACHED);
		pool->swap_ins++;
		*read = true;
	}
	slot_put(pool, slot);
	*others = sl->refs > 1 || frame_pages(pool, f) > 1;
	lock_release(&pool->swap_lock);
	return f;
}
