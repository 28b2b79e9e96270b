/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlb.c - a space's emulated TLB (dpemu_space_config.tlb_entries): at most
 * cap of its pages are visible (PTE_V) at once, so that an access to any
 * other present page traps - a TLB miss - and shows that page again, hiding
 * the TLB's oldest entry to make room.
 *
 * What its replacement is.  A hit does not trap: an access to a visible
 * page reaches its frame without dpemu knowing.  So the TLB knows the order
 * in which its pages entered it - the order of the misses that brought
 * them - and nothing else: which of them was used last is unknowable, and
 * the victim is the oldest entry (FIFO over entries, which is LRU over the
 * misses, not over the uses).  Over the program's page-reference string
 * the TLB is exactly a FIFO cache of cap pages: a hit changes nothing, a
 * miss (a TLB miss, or a page fault that brings the page its frame) makes
 * the page the newest entry and, when the TLB is full, hides the oldest.
 *
 * What its trace is worth.  Every fault record of a TLB space is a real
 * reference, in order: the trace is a subsequence of the reference string.
 *   - cap 1: only the page referenced last is visible, so every change of
 *     page traps, and the fault records are the reference string with
 *     consecutive repeats collapsed.  A repeat changes nothing in FIFO,
 *     LRU, OPT (or CLOCK: the page's bit is set already), so their miss
 *     counts on the records, for any number of frames, are those of the
 *     whole string.  (An instruction whose one access spans two pages -
 *     a load across a page boundary - never completes: each page it
 *     faults in hides the other.  A real TLB has entries enough for any
 *     one instruction; take 2 or more for such a program.)
 *   - cap k >= 2: the records are the miss stream of a FIFO cache of k
 *     pages, and the number of TLB fills is that cache's miss count.  LRU
 *     miss counts of m >= k frames replayed on them are NOT exact in
 *     general, and no TLB whose hits do not trap can make them so: after
 *     1 2 with k = 2 both pages are visible, so the programs 1 2 1 3 4 1
 *     and 1 2 3 4 1 trap alike (1 2 3 4 1), and LRU with 3 frames misses 4
 *     times on the first, 5 on the second.  What the hits leave out - the
 *     order of use among the pages the TLB holds - is exactly what LRU
 *     needs (nor would a true-LRU TLB do: deleting the hits of LRU-k from a
 *     string does not keep LRU-m counts for m > k either, same example).
 *
 * Entries and the page table.  A page enters when it is about to be shown
 * (tlb_fill, from fault.c, before the host call) and leaves when the TLB
 * hides it, when it is evicted or unmapped (tlb_forget, from evict.c and
 * mapping.c), or when a fault that filled it fails; so an entry's page is
 * present, and every visible page of a TLB space has an entry.  An entry's
 * page may be hidden by someone else: the replacement policy hiding it to
 * see its reference bit (evict.c) keeps it in the TLB, as a kernel that
 * clears an accessed bit need not flush the TLB - its next access is a
 * reference fault, not a TLB miss, and the page keeps its place.  An entry
 * whose page is not visible may be dropped at any time (its next access
 * is then a TLB miss that refills it); a victim found not visible, or not
 * even present, is only dropped.
 *
 * Victims.  Hiding one (host_hide_now: the host-view bits stay hostmap.c's)
 * needs the victim page's stripe.  The caller holds its own (the page it
 * fills); another stripe is only tried (lock_try) - its holder may be a
 * fault waiting for this TLB's lock - and a busy one is passed over for the
 * next oldest entry.  If every entry's stripe is busy, the TLB goes over
 * capacity (over counts those fills), by TLB_SLACK entries at most, and the
 * next fill evicts it back down to cap; beyond that the page is not shown
 * at all (TLB_FULL) and its access retries.  Under no contention (one
 * thread) neither happens and the replacement is exact FIFO.
 *
 * Fault path: tlb_fill, tlb_forget and tlb_holds run with the page's
 * stripe held (or the whole space), take the TLB's lock (lock order:
 * internal.h, 3a), try victims' stripes, and make the host calls of
 * host_hide_now; no allocation (the TLB's memory is mapped when the space
 * is made).  tlb_init and tlb_fini are API side.
 *
 * Layer: mem (src/internal.h).  Calls: pagetable.c (pt_find), the host view
 * (host_hide_now), base (its lock, messages).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* How far over capacity the TLB may go while its victims' stripes are
 * busy: one entry per stripe another thread may hold. */
#define TLB_SLACK PTL_STRIPES

/* ---- the hash table: page index -> entry + 1 --------------------------------- */

static inline uint64_t slot_mask(const struct tlb *t)
{
	return ((uint64_t)1 << t->hbits) - 1;
}

static inline uint64_t home(const struct tlb *t, uint64_t pg)
{
	return (pg * 0x9e3779b97f4a7c15ull) >> (64 - t->hbits);
}

/* The slot that names page pg's entry, or else the empty slot where it
 * would go (the table is never more than half full). */
static uint64_t slot_of(const struct tlb *t, uint64_t pg)
{
	uint64_t i = home(t, pg);

	for (;;) {
		uint32_t x = t->hash[i];
		if (x == 0 || t->entry[x - 1].pg == pg)
			return i;
		i = (i + 1) & slot_mask(t);
	}
}

/* Empty slot i, moving later entries of its probe run back (linear
 * probing's deletion: no tombstones). */
static void unhash(struct tlb *t, uint64_t i)
{
	uint64_t mask = slot_mask(t);

	for (uint64_t j = i;;) {
		t->hash[i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (t->hash[j] == 0)
				return;
			uint64_t k = home(t, t->entry[t->hash[j] - 1].pg);
			/* j's entry stays if its home lies cyclically in (i, j] */
			bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
			if (!stays)
				break;
		}
		t->hash[i] = t->hash[j];
		i = j;
	}
}

/* ---- the entries, oldest first ---------------------------------------------------- */

/* A free entry + 1 (count < size). */
static uint32_t entry_new(struct tlb *t)
{
	uint32_t x = t->free;

	if (x)
		t->free = t->entry[x - 1].older;
	else
		x = ++t->high;
	return x;
}

/* Entry x (+ 1) becomes the newest, for page pg. */
static void push_newest(struct tlb *t, uint32_t x, uint64_t pg)
{
	struct tlb_entry *n = &t->entry[x - 1];

	n->pg = pg;
	n->older = t->newest;
	n->newer = 0;
	if (t->newest)
		t->entry[t->newest - 1].newer = x;
	else
		t->oldest = x;
	t->newest = x;
	t->count++;
}

/* Drop the entry slot i names: out of the hash table and the list, onto
 * the free list. */
static void drop(struct tlb *t, uint64_t i)
{
	uint32_t x = t->hash[i];
	struct tlb_entry *n = &t->entry[x - 1];

	unhash(t, i);
	if (n->older)
		t->entry[n->older - 1].newer = n->newer;
	else
		t->oldest = n->newer;
	if (n->newer)
		t->entry[n->newer - 1].older = n->older;
	else
		t->newest = n->older;
	n->older = t->free;
	n->newer = 0;
	t->free = x;
	t->count--;
}

/*
 * Make room (the TLB's lock held; own: the stripe the caller holds): hide
 * the page of the oldest entry whose stripe is own or can be taken without
 * waiting, and drop the entry.  True if one went.
 *
 * The victim's PTE is found without s->lock (its holder may wait for our
 * stripe: nobody waits for s->lock holding a stripe): an entry's page is
 * present, so every entry on its path is a table, which only
 * space_lock_all rewrites or frees - and that cannot run while this thread
 * holds a stripe.  (A page found without a leaf, not present or not
 * visible needs no hide: the entry just goes.)
 */
static bool evict_one(struct dpemu_space *s, const struct ptl *own)
{
	struct tlb *t = &s->tlb;

	for (uint32_t x = t->oldest; x; x = t->entry[x - 1].newer) {
		uint64_t v = t->entry[x - 1].pg;
		struct ptl *ptl = space_ptl(s, v);
		if (ptl != own && !lock_try(&ptl->lock))
			continue; /* busy: try the next oldest */
		uint64_t *e = pt_find(s, v);
		bool gone = !e || (*e & (PTE_P | PTE_V)) != (PTE_P | PTE_V) ||
		            host_hide_now(s, v, e) == 0;
		if (ptl != own)
			lock_release(&ptl->lock);
		if (gone) {
			drop(t, slot_of(t, v));
			return true;
		}
		/* the host would not hide it (not even by a scrub): it stays
		 * visible, and in the TLB */
	}
	return false;
}

/*
 * Page pg (present, its stripe held) is about to be shown: make it an
 * entry of s's TLB (s has one), the newest, hiding the oldest entries'
 * pages while the TLB is full.  TLB_HIT: it is an entry already (hidden
 * by someone else, a policy looking for its reference bit); TLB_FILLED: it
 * entered now - a TLB miss, or the page's first show; TLB_FULL: no room,
 * the page must stay hidden (every entry's stripe was busy and the TLB is
 * TLB_SLACK over capacity already).
 */
enum tlb_fill tlb_fill(struct dpemu_space *s, uint64_t pg)
{
	struct tlb *t = &s->tlb;
	const struct ptl *own = space_ptl(s, pg);
	enum tlb_fill r = TLB_FILLED;

	lock_acquire(&t->lock);
	if (t->hash[slot_of(t, pg)]) {
		r = TLB_HIT;
	} else {
		while (t->count >= t->cap && evict_one(s, own))
			;
		if (t->count >= t->size) {
			r = TLB_FULL;
		} else {
			if (t->count >= t->cap)
				t->over++;
			uint32_t x = entry_new(t);
			push_newest(t, x, pg);
			t->hash[slot_of(t, pg)] = x;
		}
	}
	lock_release(&t->lock);
	return r;
}

/* Page pg (its stripe held, or the whole space) is not visible and leaves
 * s's TLB, if it has one and pg is an entry: evicted, unmapped, or a fault
 * that filled it failed.  The TLB hides nothing. */
void tlb_forget(struct dpemu_space *s, uint64_t pg)
{
	struct tlb *t = &s->tlb;

	if (!tlb_on(s))
		return;
	lock_acquire(&t->lock);
	uint64_t i = slot_of(t, pg);
	if (t->hash[i])
		drop(t, i);
	lock_release(&t->lock);
}

/* Whether page pg (its stripe held) is an entry of s's TLB (false without
 * one). */
bool tlb_holds(struct dpemu_space *s, uint64_t pg)
{
	struct tlb *t = &s->tlb;

	if (!tlb_on(s))
		return false;
	lock_acquire(&t->lock);
	bool in = t->hash[slot_of(t, pg)] != 0;
	lock_release(&t->lock);
	return in;
}

/* ---- API side ------------------------------------------------------------- */

/*
 * Give s (new, its TLB zeroed) a TLB of `entries` entries (0: none).  More
 * entries than s can ever have pages present - its arena's pages, or the
 * pool's frames and the zero frame's most pages - are never all used: the
 * TLB gets that many, is never full and never hides a page, but still
 * sees the first access to each page that is present and not yet shown
 * (a fault-around neighbour, a page a fork shared).  The memory (entries
 * and hash table) is mapped now, committed as it is used.  0, or -ENOMEM
 * with the message set.
 */
int tlb_init(struct dpemu_space *s, size_t entries)
{
	struct tlb *t = &s->tlb;
	uint64_t cap = entries, most = s->pool->nframes + ZERO_MAPS_MAX;
	unsigned bits = 1;

	if (entries == 0)
		return 0;
	if (cap > s->npages)
		cap = s->npages;
	if (cap > most)
		cap = most;
	if (cap > UINT32_MAX - TLB_SLACK - 1)
		cap = UINT32_MAX - TLB_SLACK - 1;
	uint64_t size = cap + TLB_SLACK;
	while (((uint64_t)1 << bits) < 2 * size)
		bits++;
	size_t entry_bytes = (size_t)size * sizeof(struct tlb_entry);
	size_t bytes = entry_bytes + ((size_t)1 << bits) * sizeof(uint32_t);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return set_error(-ENOMEM, "out of memory for an emulated TLB of %zu entries",
		                 entries);
	t->entry = mem;
	t->hash = (uint32_t *)((unsigned char *)mem + entry_bytes);
	t->bytes = bytes;
	t->hbits = bits;
	t->size = (uint32_t)size;
	t->cap = (uint32_t)cap;
	return 0;
}

/* Release s's TLB (s is going away: nobody uses it). */
void tlb_fini(struct dpemu_space *s)
{
	struct tlb *t = &s->tlb;

	if (t->entry)
		munmap(t->entry, t->bytes);
	memset(t, 0, sizeof *t);
}
