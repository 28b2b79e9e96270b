/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fault.c - resolving a fault: the heart of dpemu, shared by every backend.
 *
 * Fault path: everything in this file runs inside a signal handler or on
 * the userfaultfd handler thread.  It may call: dpemu's locks (futexes),
 * pread(2), memset/memcpy, the page-table walk (pagetable.c, nodes from
 * mmap) and the host-view functions (hostmap.c: mmap, mprotect, madvise,
 * userfaultfd ioctls).  It must not call malloc, stdio or anything that
 * takes a lock the faulting thread may hold; errno is saved and restored
 * by the trap layer (trap_sigsegv.c) around the whole resolution.
 *
 * Locks: a fault holds its page's split page-table lock (internal.h,
 * struct ptl) from the walk to the end, the host call included, and the
 * space lock only during the walk (pt_lock_leaf).  So faults in different
 * leaves of one space run in parallel.  fault_unrevoke, on the SIGSEGV
 * path after a report, takes the page's lock the same way - or, when this
 * thread already holds a lock of dpemu's, only tries the two locks.  What
 * it may take under the stripe: the lock order at the top of internal.h.
 *
 * Fault path too: pool_evict (evict.c), called with no lock of the space
 * held.
 *
 * The steps, as a kernel takes them (fault_resolve, numbered alike; the
 * sections of doc/guide.md in brackets):
 *   1. find the page-table entry for the address (its mapping id says which
 *      lazy mapping covers it; none: an unmapped fault) [2.2 Lookup];
 *   2. check the access against the page's protection [2.3];
 *   3. if the page has no frame: take one (its identity frame if free),
 *      fill it with zeros, file data or what it had when it was swapped
 *      out, record it in the PTE, and show it to the program (fault-around
 *      does the same for free neighbours) [2.4-2.6, 2.8].  If the pool is
 *      empty and has a replacement policy: drop the page's lock, evict a
 *      frame, start over (fault_make_room) [2.11].  A private anonymous
 *      page that is only read gets the shared zero frame instead (pools
 *      without a policy), read-only, until its first write;
 *   4. if it has one but the access still trapped (resolve_present, 4a-4f):
 *      it is in use (its reference bit); it was kept read-only on purpose -
 *      a write to a frame shared copy-on-write gets a copy (or the frame
 *      itself, if this is its last page) [2.9], a first write to a clean
 *      page whose dirty bit must be exact marks it dirty; or a policy hid
 *      it, or the emulated TLB did (a TLB miss), or a revoke left it
 *      without its rights: it is shown again.  Otherwise it is a
 *      protection fault;
 *   5. the host shows the page: the page's lock is let go and the access
 *      runs again [2.7].
 *
 * Latency and trace: every fault the statistics count is timed from its
 * trap (the trap layer's stamp) to the end of fault_resolve, just before
 * the access retries, and counted in its stripe's histogram of what it did
 * (struct outcome, fault_observe); a traced pool gets its record.
 *
 * Emulated TLB (tlb.c; a space's tlb_entries): every page this file shows
 * enters the TLB just before it is shown (tlb_fill), which may hide the
 * TLB's oldest page; fault-around neighbours are then paged in but not
 * shown.  A trap on a present page the TLB does not hold is a TLB miss
 * (resolve_present).
 *
 * Layer: fault (src/internal.h).  Calls: pool_evict (evict.c), the stores
 * (swap.c, shared.c), the frames, the emulated TLB and the page table, the
 * host view, base (latency.c, trace.c).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The last address this thread found already resolved (see step 4). */
static __thread void *last_spurious __attribute__((tls_model("initial-exec")));

/*
 * What a fault did, for the latency histograms and the trace: the event
 * (the fault kinds of enum dpemu_event) and, for a swap-in, the slot.
 * The steps below set it as they go; a fault that only shows a present
 * page again - or a frame another space already filled (a forked shared
 * mapping) - stays DPEMU_EVENT_REFERENCE.
 */
struct outcome {
	enum dpemu_event event;
	uint64_t aux;
};

/* Page PTE *e (present) is written from now on. */
static void mark_dirty(struct dpemu_space *s, uint64_t *e)
{
	*e |= PTE_D;
	frame_dirtied(s->pool, pte_frame(*e));
	if (pte_frame(*e) < s->pool->nframes)
		swap_forget(s->pool, pte_frame(*e)); /* its swap copy is stale now */
}

static int access_needs(enum dpemu_access access)
{
	switch (access) {
	case DPEMU_ACCESS_READ:  return PROT_READ;
	case DPEMU_ACCESS_WRITE: return PROT_WRITE;
	case DPEMU_ACCESS_EXEC:  return PROT_EXEC;
	default:                 return 0;
	}
}

/*
 * Fill frame f for page pg of mapping m: zeros, or the file's bytes (zeros
 * past its end).  Returns 0 or a negative errno from pread.
 */
static int fill_frame(struct dpemu_space *s, const struct mapping *m, uint64_t pg, uint32_t f,
                      struct outcome *o)
{
	struct frame *fr = &s->pool->frames[f];
	unsigned char *dst = frame_data(s->pool, f);
	size_t ps = s->pool->page_size;

	if (m->fd < 0) {
		if (!fr->zero)
			memset(dst, 0, ps); /* else: known zeros (a hole, or populated) */
		PG_STATS(s, pg).zero_fills++;
		o->event = DPEMU_EVENT_ZERO_FILL;
		return 0;
	}
	int err = file_read_page(m->fd, m->offset + (off_t)((pg - m->start) << s->page_shift),
	                         dst, ps);
	if (err)
		return err;
	fr->zero = 0;
	PG_STATS(s, pg).file_reads++;
	o->event = DPEMU_EVENT_FILE_READ;
	return 0;
}

/*
 * A filled frame for page pg of mapping m: a new one, or, for a shared
 * mapping that has been forked, the one another space already filled for
 * the same page (shared.c).  Returns the frame or FRAME_NONE with *err
 * (-ENOSPC: the pool is empty; else the fill's negative errno).
 */
static uint32_t frame_for(struct dpemu_space *s, const struct mapping *m, uint64_t pg, int *err,
                          struct outcome *out)
{
	struct shared_object *o = m->shared;
	uint32_t f = FRAME_NONE, slot;

	if (o) {
		lock_acquire(&o->lock);
		f = shared_lookup(o, pg - m->start);
		if (f != FRAME_NONE) {
			frame_get(s->pool, f);
			lock_release(&o->lock);
			return f;
		}
		if (shared_swapped(o, pg - m->start, &slot)) {
			bool read, others;
			f = swap_fetch_slot(s->pool, slot, space_identity_frame(s, pg), pg, err,
			                    &read, &others);
			if (f != FRAME_NONE) {
				shared_record(s->pool, o, pg - m->start, f);
				PG_STATS(s, pg).swap_ins += read;
				out->event = DPEMU_EVENT_SWAP_IN;
				out->aux = slot;
			}
			lock_release(&o->lock);
			return f;
		}
	}
	f = frame_alloc(s->pool, space_identity_frame(s, pg), pg);
	*err = f == FRAME_NONE ? -ENOSPC : fill_frame(s, m, pg, f, out);
	if (*err && f != FRAME_NONE) {
		frame_put(s->pool, f);
		f = FRAME_NONE;
	}
	if (o) {
		if (f != FRAME_NONE)
			shared_record(s->pool, o, pg - m->start, f);
		lock_release(&o->lock);
	}
	return f;
}

/*
 * page_in for a swapped page pg (PTE *e names its slot): its frame comes
 * from the swap cache or the swap store (swap_fetch_slot), and the PTE
 * becomes present.  A private page whose slot other pages still name
 * shares the frame with them copy-on-write.  A write brings it back dirty
 * (else the write would trap a second time).  Returns 0, -ENOSPC when the
 * pool is empty, or the read's negative errno; the PTE is unchanged then.
 */
static int page_in_swapped(struct dpemu_space *s, uint64_t pg, uint64_t *e,
                           enum dpemu_access access, struct outcome *o)
{
	const struct mapping *m = &s->maps[pte_map(*e) - 1];
	bool read, others;
	int err = 0;
	uint32_t f = swap_fetch_slot(s->pool, pte_frame(*e), space_identity_frame(s, pg), pg,
	                             &err, &read, &others);

	if (f == FRAME_NONE)
		return err;
	o->event = DPEMU_EVENT_SWAP_IN;
	o->aux = pte_frame(*e);
	*e = pte_with_frame(*e & ~PTE_S, f) | PTE_P | PTE_A;
	/* A frame found in the swap cache has been used as much as a new one
	 * (which frame_alloc gives its bit): a policy must see the use. */
	frame_referenced(s->pool, f);
	if (others && !(m->flags & DPEMU_MAP_SHARED))
		*e |= PTE_C;
	else if (access == DPEMU_ACCESS_WRITE && (pte_prot(*e) & PROT_WRITE))
		mark_dirty(s, e);
	PG_STATS(s, pg).swap_ins += read;
	PG_STATS(s, pg).pages_resident++;
	return 0;
}

/*
 * Give page pg (PTE *e, not present) a filled frame.  Returns 0, -ENOSPC
 * when the pool is empty, or the fill's negative errno.
 */
static int page_in(struct dpemu_space *s, uint64_t pg, uint64_t *e, enum dpemu_access access,
                   struct outcome *o)
{
	const struct mapping *m = &s->maps[pte_map(*e) - 1];
	struct dpemu_pool *pool = s->pool;
	int err = 0;
	uint32_t f;

	if (pte_swapped(*e))
		return page_in_swapped(s, pg, e, access, o);
	/* The zero frame only in pools without a policy: with one, a
	 * read-first page's clean zero-filled frame costs nothing to evict,
	 * and every page of a reference string takes a frame, as in the
	 * textbooks. */
	bool zero_ok = access == DPEMU_ACCESS_READ && m->fd < 0 &&
	               (m->flags & DPEMU_MAP_PRIVATE) && s->fault_around <= 1 &&
	               pool->policy == DPEMU_POLICY_NONE;

	if (zero_ok && atomic_fetch_add(&pool->zero_maps, 1) < ZERO_MAPS_MAX) {
		/* Read first: share the zero frame, copy-on-write.  It costs no
		 * frame; its first write takes one (cow_break).  (Not with
		 * fault-around: each zero-frame page is a host mapping of its own,
		 * which would break up the runs fault-around maps.) */
		*e = pte_with_frame(*e, pool->zero_frame) | PTE_P | PTE_A | PTE_C;
		PG_STATS(s, pg).zero_fills++;
		o->event = DPEMU_EVENT_ZERO_MAP;
		PG_STATS(s, pg).pages_resident++;
		return 0;
	}
	if (zero_ok)
		atomic_fetch_sub(&pool->zero_maps, 1); /* over budget: a frame of its own */
	f = frame_for(s, m, pg, &err, o);
	if (f == FRAME_NONE)
		return err;
	*e |= PTE_P | PTE_A;
	host_take_frame(s->pool, e, f); /* (perhaps still a hole: zeros, no page yet) */
	frame_referenced(s->pool, f);
	/* Dirty is exact where writes trap first (pte_dirty_exact); any other
	 * writable page counts as dirty once it is shown writable. */
	if (access == DPEMU_ACCESS_WRITE || (!pte_dirty_exact(s, m) && (pte_prot(*e) & PROT_WRITE)))
		mark_dirty(s, e);
	PG_STATS(s, pg).pages_resident++;
	return 0;
}

/*
 * Page in the free neighbours of pg in its aligned fault-around window
 * (same mapping and protection, same leaf), then show them and pg, in as
 * few calls as the host allows - pg only if show_pg.  In a space with an
 * emulated TLB the neighbours are paged in but not shown: each one's first
 * access is then a TLB miss, a reference the trace sees (and the TLB holds
 * only the pages it was asked for).
 *
 * Only the pages this fault made present are shown: a present page of the
 * window that is hidden stays hidden - most often its access was revoked
 * to emulate its reference bit (evict.c), and showing it here would let
 * its next use go unseen by the policy.
 *
 * host_show_run reveals a run of identity pages with one call, which must
 * not span two host mappings (UFFDIO_CONTINUE fails on such a range): so
 * the runs handed to it also stop where the identity frames wrap round the
 * end of the pool (the host mapping of the identity frames ends there,
 * hostmap.c) and where the host protection changes.
 */
static int fault_around(struct dpemu_space *s, uint64_t pg, uint64_t *e, bool show_pg)
{
	uint64_t fa = s->fault_around;
	uint64_t lo = pg - pg % fa, hi = lo + fa;
	uint64_t leaf_lo = pg & ~(uint64_t)(PT_ENTRIES - 1);
	uint64_t fresh[PT_ENTRIES / 64] = { 0 }; /* bit q - lo: q was paged in here */
	struct outcome neighbour; /* (what a neighbour's page-in did: not this fault) */
	int err = 0;

	if (lo < leaf_lo)
		lo = leaf_lo;
	if (hi > leaf_lo + PT_ENTRIES)
		hi = leaf_lo + PT_ENTRIES;
	if (hi > s->npages)
		hi = s->npages;
	uint64_t *first = e - (pg - lo);
	uint64_t same = *e & ((~0ull << PTE_MAP_SHIFT) | PTE_PROT_MASK);
	fresh[(pg - lo) / 64] |= 1ull << ((pg - lo) % 64);
	for (uint64_t q = lo; q < hi; q++) {
		uint64_t *qe = first + (q - lo);
		if (q == pg || (*qe & (PTE_P | PTE_S)))
			continue; /* present, or swapped: no speculative swap-in */
		if ((*qe & ((~0ull << PTE_MAP_SHIFT) | PTE_PROT_MASK)) != same)
			continue;
		err = page_in(s, q, qe, DPEMU_ACCESS_UNKNOWN, &neighbour);
		if (err == -ENOSPC)
			break; /* neighbours are a bonus: never evict for them */
		if (!err)
			fresh[(q - lo) / 64] |= 1ull << ((q - lo) % 64);
	}
	if (tlb_on(s))
		memset(fresh, 0, sizeof fresh); /* neighbours stay hidden */
	if (tlb_on(s) && show_pg)
		fresh[(pg - lo) / 64] |= 1ull << ((pg - lo) % 64);
#define FRESH(q) (fresh[((q) - lo) / 64] >> (((q) - lo) % 64) & 1)
	err = 0;
	for (uint64_t q = lo; q < hi && !err;) {
		if (!FRESH(q)) {
			q++;
			continue;
		}
		uint64_t r = q + 1;
		while (r < hi && FRESH(r) && space_identity_frame(s, r) != 0 &&
		       pte_hostprot(first[r - lo]) == pte_hostprot(first[q - lo]))
			r++;
		err = host_show_run(s, q, first + (q - lo), r - q);
		q = r;
	}
#undef FRESH
	return err;
}

/*
 * Showing copy, page pg's new frame, failed (PTE *e; before: the PTE as it
 * was).  Give the page its old PTE and the copy back to the pool - but not
 * while the host may show the copy at pg: map_alias leaves L set and V
 * clear once its mmap has put the copy there, and a stale alias of a
 * freed frame would show (or let the program write) whatever page gets it
 * next.  Such a page is scrubbed (host_scrub: the alias is a host mapping
 * of its own, so that splits nothing), which leaves it hidden and not
 * backed - the next access shows the old frame again; if even that fails
 * the copy is kept out of the pool for good.
 */
static void cow_unshow(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t before,
                       uint32_t copy)
{
	bool aliased = (*e & PTE_L) && !(*e & PTE_V);

	*e = before;
	if (aliased && host_scrub(s, pg, e) != 0)
		return; /* the copy may still be visible: never free it */
	frame_put(s->pool, copy);
}

/*
 * A write to page pg whose frame is shared copy-on-write.  If this page
 * holds the frame's last reference it simply keeps it (cow_reuses);
 * otherwise it gets a private copy (cow_copies) and drops its reference to
 * the shared frame.  Returns 0, -ENOSPC (no frame for the copy), or a host
 * error with the page's PTE unchanged and the copy hidden again and freed
 * (cow_unshow).
 */
static int cow_break(struct dpemu_space *s, uint64_t pg, uint64_t *e, struct outcome *o)
{
	struct dpemu_pool *pool = s->pool;
	uint32_t shared = pte_frame(*e);
	uint64_t before = *e;
	uint32_t copy;
	int err;

	if (shared == pool->zero_frame) {
		/* First write to a page that was only read: a zeroed frame. */
		copy = frame_alloc(pool, space_identity_frame(s, pg), pg);
		if (copy == FRAME_NONE)
			return -ENOSPC;
		if (!pool->frames[copy].zero)
			memset(frame_data(pool, copy), 0, pool->page_size);
		*e &= ~PTE_C;
		host_take_frame(pool, e, copy);
		mark_dirty(s, e);
		err = host_show(s, pg, e, true);
		if (err) {
			cow_unshow(s, pg, e, before, copy);
			return err;
		}
		frame_put(pool, shared);
		o->event = DPEMU_EVENT_ZERO_FILL; /* (no copy: a frame of zeros) */
		return 0;
	}
	/* One page and nothing else keeps the frame - or only the swap cache,
	 * for a slot that no other page names. */
	unsigned word = atomic_load(&pool->frames[shared].refs);
	if (word == 1 || (word == (FRAME_CACHED | 1) && swap_exclusive(pool, shared))) {
		*e &= ~PTE_C;
		mark_dirty(s, e);
		err = host_show(s, pg, e, false);
		if (err) {
			*e = before;
		} else {
			PG_STATS(s, pg).cow_reuses++;
			o->event = DPEMU_EVENT_COW_REUSE;
		}
		return err;
	}
	copy = frame_alloc(pool, space_identity_frame(s, pg), pg);
	if (copy == FRAME_NONE)
		return -ENOSPC;
	memcpy(frame_data(pool, copy), frame_data(pool, shared), pool->page_size);
	pool->frames[copy].zero = 0; /* written: the memfd has its page */
	*e &= ~PTE_C;
	host_take_frame(pool, e, copy);
	mark_dirty(s, e);
	err = host_show(s, pg, e, true);
	if (err) {
		cow_unshow(s, pg, e, before, copy);
		return err;
	}
	frame_put(pool, shared);
	PG_STATS(s, pg).cow_copies++;
	o->event = DPEMU_EVENT_COW_COPY;
	return 0;
}

/*
 * The pool is empty: if it has a replacement policy, evict a frame with
 * the fault's stripe ptl dropped (the evictor takes the locks of the pages
 * it takes back, perhaps this one).  True if a frame is free: the fault
 * must start over, and holds no lock now; *victim is the frame evicted
 * (FRAME_NONE: another fault freed one).  False with why saying what
 * stopped it, and ptl held.
 */
static bool make_room(struct dpemu_space *s, struct ptl *ptl, char *why, size_t whylen,
                      uint32_t *victim)
{
	*victim = FRAME_NONE;
	if (s->pool->policy == DPEMU_POLICY_NONE)
		return false;
	lock_release(&ptl->lock);
	int err = pool_evict(s->pool, why, whylen, victim);
	if (err == 0)
		return true;
	lock_acquire(&ptl->lock);
	return false;
}

/*
 * Livelock: an access that needs more pages at once than the pool can hold
 * (an unaligned load across two pages of a one-frame pool, a memcpy whose
 * source and destination need three, ...) never completes: each page it
 * faults in evicts the one it faulted in before, and the instruction
 * retries for ever.  The host does not say whether an instruction
 * retired, so dpemu watches the resolving thread's faults instead: when
 * LIVELOCK_ROUNDS evicting faults in a row each evict the very frame the
 * previous one brought in, at addresses that repeat with a period of at
 * most LIVELOCK_PERIOD, the fault is reported as out of frames.  A policy
 * never picks the frame just used while another one can go, so this
 * happens only when a single frame is evictable - where a program that
 * strictly alternates between the same few addresses, one access per
 * page, looks the same and is stopped too (dpemu_policy(7)).
 *
 * The state is the resolving thread's: the faulting thread itself, but in
 * DPEMU_UFFD_THREAD mode the handler thread, for every faulting thread.
 * Plain thread-local words: no allocation, no lock.
 */
#define LIVELOCK_ROUNDS 64
#define LIVELOCK_PERIOD 4

struct progress {
	const struct dpemu_pool *pool;
	uintptr_t addr[LIVELOCK_PERIOD]; /* the last evicting faults, newest first */
	uint32_t frame;                  /* what the newest one's page got           */
	unsigned rounds;                 /* evictions in a row that fit the pattern  */
};
static __thread struct progress progress __attribute__((tls_model("initial-exec")));

/* Whether addr is one of the addresses of this thread's last evicting
 * faults, in s's pool. */
static bool in_cycle(const struct progress *p, const struct dpemu_space *s, const void *addr)
{
	bool cycle = false;

	for (unsigned i = 0; i < LIVELOCK_PERIOD; i++)
		cycle |= p->addr[i] == (uintptr_t)addr;
	return cycle && p->pool == s->pool;
}

/* A fault at addr (flags: fault_resolve's) just evicted victim: true if
 * that makes it a livelock. */
static bool livelock_found(const struct dpemu_space *s, const void *addr, uint32_t victim,
                           unsigned flags)
{
	struct progress *p = &progress;

	if (flags & RESOLVE_NO_TRAP)
		return false;
	if (victim != FRAME_NONE && victim == p->frame && in_cycle(p, s, addr))
		p->rounds++;
	else
		p->rounds = 0;
	return p->rounds >= LIVELOCK_ROUNDS;
}

/*
 * A fault at addr needs a frame evicted: true if the pattern is found
 * already and the fault fits it - then it is the livelock again, and
 * evicting would only free a frame the retried instruction's other page
 * takes without a fault this thread sees (in DPEMU_UFFD_THREAD mode the
 * faulting thread retries on the SIGSEGV path, which must count its own
 * rounds).
 */
static bool livelock_known(const struct dpemu_space *s, const void *addr, unsigned flags)
{
	const struct progress *p = &progress;

	return !(flags & RESOLVE_NO_TRAP) && p->rounds >= LIVELOCK_ROUNDS && in_cycle(p, s, addr);
}

/*
 * A fault at addr is resolved, its page in frame f; evicted: it took a
 * frame from another page to get there.  Faults that evicted nothing are
 * left out: they neither make nor break the pattern (when the pattern is
 * found, the fault that ends it has freed a frame it does not use, and the
 * retried instruction's first page takes that frame without evicting).
 * Once found, the pattern stays found while the faults go on fitting it,
 * so that the SIGSEGV path, which a userfaultfd fault left unresolved is
 * retried on, reports it too.
 */
static void progress_note(const struct dpemu_space *s, const void *addr, bool evicted, uint32_t f)
{
	struct progress *p = &progress;

	if (!evicted)
		return;
	memmove(&p->addr[1], &p->addr[0], (LIVELOCK_PERIOD - 1) * sizeof p->addr[0]);
	p->addr[0] = (uintptr_t)addr;
	p->frame = f;
	p->pool = s->pool;
}

static void describe(char *why, size_t len, const char *what, uint64_t e)
{
	static const char *const prots[8] = { "---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx" };
	size_t pos = fmt_str(why, len, 0, what);

	if (pte_map(e) == 0)
		return;
	pos = fmt_str(why, len, pos, "; page prot ");
	pos = fmt_str(why, len, pos, prots[pte_prot(e) & 7]);
	if (e & PTE_P) {
		pos = fmt_str(why, len, pos, ", present in frame ");
		pos = fmt_dec(why, len, pos, pte_frame(e));
	} else {
		pos = fmt_str(why, len, pos, ", not present");
	}
}

/* ---- fault_resolve and its steps ------------------------------------------- */

/* The host (or the backing store: what says which) failed the fault with
 * err: fill in *fault and why. */
static inline void report_host(struct dpemu_fault *fault, int err, const char *what, char *why,
                               size_t whylen)
{
	fault->kind = DPEMU_FAULT_HOST;
	fault->error = err;
	fmt_str(why, whylen, 0, what);
}

/* Before step 1: a fault dpemu must not resolve at all.  True with *fault
 * and why filled in. */
static inline bool fault_refused(struct dpemu_space *s, struct dpemu_fault *fault, char *why,
                                 size_t whylen)
{
	if (pool_inherited(s->pool)) {
		report_host(fault, -EPERM, "this space belongs to the parent process of fork(2)",
		            why, whylen);
		return true;
	}
	if (_dpemu_locks_held > 0) {
		/* The faulting thread is inside dpemu itself (a signal handler
		 * touched an arena): waiting for our own lock would deadlock. */
		report_host(fault, -EDEADLK, "fault while this thread was inside a dpemu call",
		            why, whylen);
		return true;
	}
	return false;
}

/* Step 1 found no mapping (err: or no page-table node for the walk):
 * fill in *fault and why. */
static inline void report_unmapped(struct dpemu_fault *fault, int err, char *why, size_t whylen)
{
	if (err) {
		report_host(fault, err, "no memory for a page-table node", why, whylen);
	} else {
		fault->kind = DPEMU_FAULT_UNMAPPED;
		fmt_str(why, whylen, 0, "no mapping covers this address");
	}
}

/* The fault at hand is a livelock (livelock_found): fill in *fault and
 * why.  Reported for good (not retried elsewhere, flags: fault_resolve's),
 * it starts the count afresh. */
static inline void report_livelock(struct dpemu_fault *fault, unsigned flags, char *why,
                                   size_t whylen)
{
	if (!(flags & RESOLVE_RETRIED))
		progress.rounds = 0;
	fault->kind = DPEMU_FAULT_OUT_OF_FRAMES;
	size_t pos = fmt_str(why, whylen, 0, "the access needs more pages at once than the pool "
	                     "has frames (its pages evicted each other ");
	pos = fmt_dec(why, whylen, pos, LIVELOCK_ROUNDS);
	fmt_str(why, whylen, pos, " times)");
}

/* Step 2: whether page protection prot allows an access that needs `need`
 * (0: the access type is not known). */
static inline bool access_allowed(int prot, int need)
{
	return prot != PROT_NONE && (!need || (prot & need));
}

/* What step 3 did with a page that has no frame. */
enum absent {
	ABSENT_SHOWN,     /* it has a frame, the host shows it (*err: or not)  */
	ABSENT_NO_ROOM,   /* the pool is empty                                 */
	ABSENT_UNFILLED,  /* filling the frame failed (*err), the PTE unchanged */
};

/*
 * Step 3: page pg (PTE *e, stripe held, not present) gets a filled frame
 * (page_in) and the host shows it, and its neighbours with fault-around.
 * With an emulated TLB the page enters it first (tlb_fill, which may hide
 * the oldest entry's page); if the TLB has no room at all the page stays
 * hidden (present: its retried access is a TLB miss).
 */
static inline enum absent resolve_absent(struct dpemu_space *s, uint64_t pg, uint64_t *e,
                                         enum dpemu_access access, int *err, struct outcome *o)
{
	bool show = true;

	*err = page_in(s, pg, e, access, o);
	if (*err == -ENOSPC)
		return ABSENT_NO_ROOM;
	if (*err)
		return ABSENT_UNFILLED;
	if (tlb_on(s))
		show = tlb_fill(s, pg) != TLB_FULL;
	if (s->fault_around > 1)
		*err = fault_around(s, pg, e, show);
	else if (show)
		*err = host_show(s, pg, e, false);
	return ABSENT_SHOWN;
}

/* What steps 3 and 4 do when the pool has no free frame. */
enum room {
	ROOM_MADE,          /* a frame was freed: start over (no lock held)     */
	ROOM_NONE,          /* none can be: out of frames (the stripe held)     */
	ROOM_LIVELOCK,      /* freed, but the fault is a livelock (no lock held) */
	ROOM_LIVELOCK_HELD, /* a known livelock: nothing evicted (stripe held)  */
};

/*
 * The pool is empty and the fault at addr needs a frame (what: why says so
 * if nothing can be done): unless it is a known livelock, evict one
 * (make_room, the stripe ptl dropped meanwhile) with frame `pin` pinned
 * (FRAME_NONE: none) so that it is not the victim.  *evicted is set when a
 * frame was evicted.
 */
static inline enum room fault_make_room(struct dpemu_space *s, struct ptl *ptl, void *addr,
                                        unsigned flags, uint32_t pin, const char *what,
                                        char *why, size_t whylen, bool *evicted)
{
	uint32_t victim;

	if (livelock_known(s, addr, flags))
		return ROOM_LIVELOCK_HELD;
	bool pinned = pin != FRAME_NONE && frame_pin(s->pool, pin);
	fmt_str(why, whylen, 0, what);
	bool room = make_room(s, ptl, why, whylen, &victim);
	if (pinned)
		frame_unpin(s->pool, pin);
	if (!room)
		return ROOM_NONE;
	*evicted = true;
	return livelock_found(s, addr, victim, flags) ? ROOM_LIVELOCK : ROOM_MADE;
}

/* What step 4 did with a present page that trapped. */
enum present {
	PRESENT_SHOWN,    /* the host shows it as its PTE asks (*err: or not)  */
	PRESENT_NO_ROOM,  /* a copy-on-write copy found the pool empty         */
	PRESENT_SPURIOUS, /* nothing to do: retry the access once              */
	PRESENT_DENIED,   /* a protection fault                                */
};

/*
 * Step 4: present page pg (PTE *e, stripe held) trapped on an access that
 * needs `need` (0: unknown) and its protection allows: the page was in use,
 * kept read-only on purpose (copy-on-write, exact dirty bits), hidden by
 * the policy or the emulated TLB, or left revoked.  *err: the host's or
 * cow_break's error.
 *
 * A hidden page of a space with a TLB enters the TLB first (tlb_fill):
 * if it was not an entry, this is a TLB miss - counted as one (and as no
 * reference fault, though it sets the reference bit as every use does)
 * when showing it is all there is to do, else as what the fault did (a
 * copy-on-write break).  One still in the TLB was hidden by the policy:
 * a reference fault, as without a TLB.  No room at all in the TLB
 * (TLB_FULL): nothing is done, the access retries.
 */
static inline enum present resolve_present(struct dpemu_space *s, uint64_t pg, uint64_t *e,
                                           void *addr, int need, unsigned flags, int *err,
                                           struct outcome *o)
{
	uint64_t pte = *e;
	bool tlb_miss = false;

	if (tlb_on(s) && !(pte & PTE_V)) {
		enum tlb_fill fill = tlb_fill(s, pg);
		if (fill == TLB_FULL)
			return PRESENT_SPURIOUS;
		tlb_miss = fill == TLB_FILLED;
	}
	/* 4a. the page is in use (its reference bit) */
	if (!(pte & PTE_A)) {
		*e |= PTE_A;
		if (!(pte & PTE_V) && !tlb_miss && !(flags & RESOLVE_NO_TRAP))
			PG_STATS(s, pg).reference_faults++; /* the policy revoked it */
	}
	frame_referenced(s->pool, pte_frame(pte));
	/* 4b. a write to a frame shared copy-on-write: a copy, or the frame */
	if ((pte & PTE_C) && (pte_prot(pte) & PROT_WRITE) &&
	    (need == PROT_WRITE || (!need && (pte & PTE_V)))) {
		*err = cow_break(s, pg, e, o);
		return *err == -ENOSPC ? PRESENT_NO_ROOM : PRESENT_SHOWN;
	}
	/* 4c. hidden (a policy looking for use, or the TLB's miss): show it
	 * again */
	if (!(pte & PTE_V)) {
		*err = host_show(s, pg, e, false);
		if (!*err && tlb_miss) {
			o->event = DPEMU_EVENT_TLB_MISS;
			if (!(flags & RESOLVE_NO_TRAP))
				PG_STATS(s, pg).tlb_misses++;
		}
		return PRESENT_SHOWN;
	}
	int eff = pte_effective_prot(s, pte);
	if (need && (eff & need)) {
		/* 4d. another thread resolved it first, or an unresolved fault of
		 * the userfaultfd backend left it revoked: its rights back */
		*err = host_force_prot(s, pg, e);
		return PRESENT_SHOWN;
	}
	if ((pte_prot(pte) & PROT_WRITE) && !(eff & PROT_WRITE) && need != PROT_READ &&
	    need != PROT_EXEC && !(pte & PTE_C)) {
		/* 4e. first write to a clean page (pte_dirty_exact) */
		mark_dirty(s, e);
		*err = host_update_prot(s, pg, e);
		return PRESENT_SHOWN;
	}
	if (!need && last_spurious != addr) {
		/* 4f. access type unknown and nothing to upgrade: perhaps another
		 * thread resolved it; retry once before calling it a fault */
		last_spurious = addr;
		return PRESENT_SPURIOUS;
	}
	return PRESENT_DENIED;
}

/*
 * The fault at addr is over, counted in s's statistics as o->event (the
 * stripe ptl still held, e its PTE or NULL): count its latency, from the
 * trap (stamp->t0) to now, in the stripe's histogram of that kind, and
 * fill in its trace record *r (time_ns: the trap; sent before the stripe
 * is let go).  A fault
 * that is not timed (DPEMU_NO_LATENCY) is traced with latency 0.
 */
static inline void fault_observe(struct dpemu_space *s, struct ptl *ptl, const uint64_t *e,
                                 void *addr, enum dpemu_access access,
                                 const struct trap_stamp *stamp, const struct outcome *o,
                                 const struct dpemu_fault *fault,
                                 struct dpemu_trace_record *r)
{
	uint64_t end = 0, ns = 0;

	if (stamp && stamp->t0) {
		end = now_ns();
		ns = end > stamp->t0 ? end - stamp->t0 : 0;
		lat_add(space_lat(s, ptl), &ptl->lat_kinds,
		        (unsigned)(o->event - DPEMU_EVENT_ZERO_FILL), ns);
	}
	DPEMU_PROBE4(fault_exit, s->id, addr, (int)o->event, ns);
	if (!trace_on(s->pool))
		return;
	*r = (struct dpemu_trace_record){
		.time_ns = stamp && stamp->t0 ? stamp->t0 : 0, /* the trap (0: now) */
		.addr = (uintptr_t)addr,
		.latency_ns = ns,
		.aux = o->aux,
		.space = s->id,
		.tid = stamp ? (uint32_t)stamp->tid : 0,
		.frame = e && (*e & PTE_P) ? pte_frame(*e) : UINT32_MAX,
		.event = (uint16_t)o->event,
		.access = (uint8_t)access,
		.outcome = o->event == DPEMU_EVENT_UNRESOLVED ? (uint8_t)fault->kind : 0,
	};
}

/*
 * Resolve a fault at addr (inside s's arena) for the given access: the
 * steps at the top of this file, numbered alike below.  stamp: when the
 * trap was entered and by which thread (NULL: not a trap), for the
 * latency histograms and the trace (fault_observe), which see every fault
 * the statistics count.
 * Returns RESOLVED when the access can be retried, else UNRESOLVED with
 * *fault and why (a one-line description of what is at addr) filled in.
 */
enum resolve_result fault_resolve(struct dpemu_space *s, void *addr, enum dpemu_access access,
                                  const struct trap_stamp *stamp, struct dpemu_fault *fault,
                                  char *why, size_t whylen, unsigned flags)
{
	uint64_t pg = space_page_index(s, addr);
	int need = access_needs(access);
	uint64_t *e, pte = 0;
	struct ptl *ptl;
	bool counted = false, evicted = false;
	enum room room;
	int err = 0;
	struct outcome out;
	struct dpemu_trace_record rec = { .event = 0 };

	fault->kind = DPEMU_FAULT_NONE;
	fault->addr = addr;
	fault->access = access;
	fault->space = s;
	fault->error = 0;
	DPEMU_PROBE3(fault_entry, s->id, addr, (int)access);
	if (fault_refused(s, fault, why, whylen))
		return UNRESOLVED;

restart:
	out = (struct outcome){ DPEMU_EVENT_REFERENCE, 0 };
	/* 1. the page-table entry, and the mapping it names; from here on
	 *    the page's stripe is held */
	e = pt_lock_leaf(s, pg, &err, &ptl);
	if (!counted && !(flags & (RESOLVE_RETRIED | RESOLVE_NO_TRAP)))
		PG_STATS(s, pg).faults++;
	counted = true;
	pte = e ? *e : 0;
	if (!e || pte_map(pte) == 0) {
		report_unmapped(fault, err, why, whylen);
		goto unresolved;
	}

	/* 2. protection */
	if (!access_allowed(pte_prot(pte), need))
		goto denied;

	/* 3. no frame yet: demand paging proper - take and fill a frame, then
	 *    show it (and its neighbours: fault-around) */
	if (!(pte & PTE_P)) {
		switch (resolve_absent(s, pg, e, access, &err, &out)) {
		case ABSENT_SHOWN:
			goto shown;
		case ABSENT_NO_ROOM:
			room = fault_make_room(s, ptl, addr, flags, FRAME_NONE,
			                       "the pool has no free frame", why, whylen, &evicted);
			goto no_room;
		case ABSENT_UNFILLED:
			break;
		}
		report_host(fault, err, pte_swapped(pte)
		            ? "reading the page back from the swap store failed"
		            : "reading the backing file failed", why, whylen);
		if (pte_swapped(pte)) { /* name the store: a file, a server */
			size_t pos = fmt_str(why, whylen, 0, "reading the page back from the swap store ");
			pos = fmt_str(why, whylen, pos, s->pool->swap.name);
			fmt_str(why, whylen, pos, " failed");
		}
		goto unresolved;
	}

	/* 4. present but it trapped */
	switch (resolve_present(s, pg, e, addr, need, flags, &err, &out)) {
	case PRESENT_SHOWN:
		goto shown;
	case PRESENT_NO_ROOM:
		/* Make room with the frame to copy from pinned: evicted, it
		 * would come back from swap into the frame just freed and the
		 * copy would need another - round and round in a pool of one
		 * frame.  Pinned, it is no victim; the copy fails as
		 * out-of-frames if nothing else can go. */
		room = fault_make_room(s, ptl, addr, flags, pte_frame(pte),
		                       "no free frame for a copy-on-write copy", why, whylen,
		                       &evicted);
		goto no_room;
	case PRESENT_SPURIOUS:
		goto resolved;
	case PRESENT_DENIED:
		break;
	}
denied:
	fault->kind = DPEMU_FAULT_PROTECTION;
	describe(why, whylen, "the access is not allowed", pte);
	goto unresolved;

no_room:
	switch (room) {
	case ROOM_MADE:
		goto restart;
	case ROOM_LIVELOCK:
		/* make_room let go of the stripe: take it back for the exit path */
		lock_acquire(&ptl->lock);
		/* fall through */
	case ROOM_LIVELOCK_HELD:
		report_livelock(fault, flags, why, whylen);
		goto unresolved;
	case ROOM_NONE:
		break;
	}
	fault->kind = DPEMU_FAULT_OUT_OF_FRAMES;
	goto unresolved;

shown:
	/* 5. the host shows the page: the access runs again */
	if (err) {
		report_host(fault, err, err == -ENOMEM
		            ? "the host refused a mapping: vm.max_map_count reached?"
		            : "the host refused to map the page", why, whylen);
		goto unresolved;
	}
	if (!(flags & RESOLVE_NO_TRAP))
		progress_note(s, addr, evicted, pte_frame(*e));
	last_spurious = NULL;
resolved:
	if (flags & RESOLVE_RETRIED)
		PG_STATS(s, pg).faults++;
	if (!(flags & RESOLVE_NO_TRAP))
		fault_observe(s, ptl, e, addr, access, stamp, &out, fault, &rec);
	/* (traced before the stripe is let go: an eviction of the page,
	 * which needs the stripe, is traced after its fault) */
	if (rec.event)
		trace_put(s->pool, &rec);
	lock_release(&ptl->lock);
	return RESOLVED;

unresolved:
	/* (a page left hidden leaves the TLB: its next access is a miss
	 * again, not a "reference" of a page the TLB would claim to hold) */
	if (tlb_on(s) && e && !(*e & PTE_V))
		tlb_forget(s, pg);
	if (!(flags & (RESOLVE_RETRIED | RESOLVE_NO_TRAP))) {
		PG_STATS(s, pg).protection_faults++;
		out = (struct outcome){ DPEMU_EVENT_UNRESOLVED, 0 };
		fault_observe(s, ptl, e, addr, access, stamp, &out, fault, &rec);
	}
	if (rec.event)
		trace_put(s->pool, &rec);
	lock_release(&ptl->lock);
	last_spurious = NULL;
	return UNRESOLVED;
}

/* Whether a page whose VMA protection is prot stops access before it
 * reaches the userfaultfd.  A read is only known to be stopped by
 * PROT_NONE: x86 lets reads through PROT_WRITE and PROT_EXEC pages, and
 * userfaultfd does not tell an instruction fetch from a read. */
static bool host_stops(int prot, enum dpemu_access access)
{
	if (access == DPEMU_ACCESS_WRITE)
		return !(prot & PROT_WRITE);
	return prot == PROT_NONE;
}

/*
 * An access to addr that userfaultfd reported could not be resolved: make
 * sure its retry raises SIGSEGV (from user code; EFAULT inside a system
 * call), where the SIGSEGV path resolves or reports it like any other.
 *
 * First the page gets the host view its PTE asks for (host_settle: a page
 * still in the reserve, which lets every access through to the
 * userfaultfd, gets its leaf backed).  Where that view already stops the
 * access - an unmapped page, a write to a read-only one - nothing more is
 * needed, and nothing is left to undo: a later access its PTE allows, from
 * a system call too, reaches the userfaultfd as always.  Otherwise (the
 * PTE allows the access, but the pool has no frame or the host failed; or
 * a read of a PROT_WRITE- or PROT_EXEC-only page) the page is revoked
 * (host_revoke) until fault_unrevoke or the next show.  Returns whether
 * it revoked the page (then something must give it back: for a fault
 * inside a system call, uffd.c's unrevoke_after_syscall).
 */
bool fault_revoke(struct dpemu_space *s, void *addr, enum dpemu_access access)
{
	uint64_t pg = space_page_index(s, addr);
	bool revoked = false;
	int err;

	if (_dpemu_locks_held > 0) {
		/* This thread holds a lock of dpemu's (a signal handler inside
		 * a dpemu call): revoke without the page's; the next show
		 * refreshes HP. */
		return host_revoke(s, pg, NULL) == 0;
	}
	struct ptl *ptl;
	uint64_t *e = pt_lock_leaf(s, pg, &err, &ptl);
	if (!e || host_settle(s, pg, e) != 0 || !host_stops(pte_hostprot(*e), access))
		revoked = host_revoke(s, pg, e) == 0;
	lock_release(&ptl->lock);
	return revoked;
}

/*
 * The SIGSEGV path has reported an unresolved fault at addr (trap_sigsegv.c,
 * before report() jumps away): if a userfaultfd space revoked the page to
 * get it there, give it back the view its PTE asks for (host_settle), so
 * that its next access - from user code or inside a system call - reaches
 * the userfaultfd again.  A page no revoke touched keeps its view.
 *
 * The page's lock is taken as a fault takes it; but when this thread
 * already holds a lock of dpemu's (the report is the HOST -EDEADLK of a
 * signal handler inside a dpemu call), only if the space lock and the
 * page's lock are free, without waiting (and without allocating a
 * page-table node): otherwise the page stays revoked, and its next access
 * from user code resolves it.  Called with the registry entered.
 */
void fault_unrevoke(struct dpemu_space *s, void *addr)
{
	uint64_t pg = space_page_index(s, addr);
	struct ptl *ptl = space_ptl(s, pg);
	uint64_t *e;
	int err;

	if (s->hostmode != HOSTMODE_UFFD || pool_inherited(s->pool))
		return;
	if (_dpemu_locks_held == 0) {
		e = pt_lock_leaf(s, pg, &err, &ptl);
	} else {
		if (!lock_try(&s->lock))
			return;
		e = pt_find(s, pg);
		bool got = lock_try(&ptl->lock);
		lock_release(&s->lock);
		if (!got)
			return;
	}
	if (e)
		host_settle(s, pg, e);
	lock_release(&ptl->lock);
}
