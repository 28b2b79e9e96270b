/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evict.c - page replacement: when a page needs a frame and the pool has
 * none free, a policy picks a resident frame (the victim) and the evictor
 * takes it back from every page that maps it, saving its contents where
 * they belong, as a kernel's page reclaim does.
 *
 * Policies (enum dpemu_policy), all global over the pool's frames:
 *   FIFO    the oldest frame of the resident list (frames in load order);
 *   CLOCK   second chance: the oldest frame, unless its reference bit is
 *           set - then the bit is cleared and the frame goes to the young
 *           end of the list (the hand moves on);
 *   LRU     aging: at each eviction every frame's 8-bit age is shifted
 *           right with its reference bit entering at the top, the bit is
 *           cleared, and the frame with the lowest age goes (the oldest of
 *           equals).  Unlike exact LRU it knows only in which eviction
 *           interval a page was last used, for the last 8 intervals;
 *   RANDOM  a frame drawn by a seeded xorshift64* generator;
 *   CUSTOM  the program's own (struct dpemu_policy_ops): shown every frame
 *           it may take, in load order, it returns the victim and may ask
 *           for reference bits to be cleared and frames requeued - enough
 *           to write any of the above, WSClock, or a student's own.
 *
 * Reference bits are emulated the way kernels without hardware accessed
 * bits do it: clearing a frame's bit also revokes every mapping page's
 * access (the host hides it, PTE_A is cleared), so the next access traps,
 * and the fault path sets the bit again (a reference fault, fault.c).  A
 * page the host will not hide stays visible, referenced (its PTE_A and
 * the frame's bit set again).
 *
 * Evicting frame f (pinned, so nobody frees or reuses it meanwhile):
 *   1. hide every page that maps f (found through the reverse map: the
 *      page index f->rmap in each space of the pool), scrubbing one the
 *      host refuses to hide (host_scrub); if even that fails, the page
 *      keeps f and the eviction of f is abandoned as in 4 - f never
 *      reaches another page while a host view may show it.  Find the
 *      shared object that holds f, if any; from the mapping, decide where
 *      the contents go:
 *        shared file mapping          its file, if dirty;
 *        clean, never swapped         nowhere: zero-fill or re-read it;
 *        anything else                a swap slot (its old one if it came
 *                                     from swap and is clean: no write);
 *   2. write the contents there;
 *   3. turn every mapping page into a swap entry (or a lazy page), the
 *      holding object's slot too, and drop their references;
 *   4. free f, unless a page brought it back meanwhile (a page that traps
 *      during 1-3 finds the frame again: through its still-present PTE,
 *      the shared object, or the swap cache) - then the eviction of f is
 *      abandoned and the policy picks another.
 *
 * Fault path: pool_evict runs in the fault handler with no lock of a space held
 * (fault.c drops its own first).  It takes pool->evict_lock (one evictor at
 * a time; it also guards the list of spaces), then one page's locks at a
 * time, as the lock order at the top of internal.h says;
 * it calls mmap/mprotect/madvise/ioctl (hostmap.c) and pread/pwrite/fstat,
 * never malloc or stdio; a custom policy's pick runs there too, with
 * pool->lock held (dpemu.h says what it may do).  The rest of the file is
 * API side.
 *
 * Trace (base/trace.c): an EVICT record per frame taken back (as the
 * pool's evictions count), after a SWAP_OUT record when its contents went
 * to the swap store; a WRITEBACK record per page written to its file.
 * They name the first space found holding the frame.
 *
 * An evicted page leaves its space's emulated TLB (tlb_forget, in step 3);
 * a page hidden for its reference bit stays in it (tlb.c says why).
 *
 * Layer: evict (src/internal.h).  Calls: the stores (swap.c, shared.c),
 * the frames, the emulated TLB and the page table, the host view, base.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"

/* ---- API side ------------------------------------------------------------- */

/*
 * DPEMU_POLICY_CUSTOM: keep a copy of the program's policy, room for the
 * frames it is shown (one view per frame: pick runs on the fault path,
 * which may not allocate), and let it set itself up.  0, or -ENOMEM, or
 * the error ops->init returned, with the message set.
 */
static int custom_init(struct dpemu_pool *pool, const struct dpemu_policy_ops *ops)
{
	pool->custom = *ops;
	pool->views_bytes = pool->nframes * sizeof pool->views[0];
	pool->views = mmap(NULL, pool->views_bytes, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool->views == MAP_FAILED) {
		pool->views = NULL;
		return set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	}
	pool->custom_state = ops->arg;
	if (ops->init) {
		int err = ops->init(ops->arg, pool->nframes, &pool->custom_state);
		if (err)
			return set_error(err < 0 ? err : -EINVAL, "dpemu_pool_create: the %s "
			                 "policy's init failed (%d)", ops->name ? ops->name : "custom",
			                 err);
	}
	pool->custom_ready = true;
	return 0;
}

/*
 * Set up replacement for a new pool: the evictor's scratch list and, with
 * a policy, the swap store (cfg->store, cfg->swap_path, or a temporary
 * file).  0 or a
 * negative errno with the message set.
 */
int evict_init(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg)
{
	size_t slots = cfg->swap_slots;

	pool->policy = cfg->policy;
	pool->random_state = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ull;
	if (pool->policy == DPEMU_POLICY_NONE)
		return 0;
	pool->scratch_bytes = pool->nframes * sizeof pool->scratch[0];
	pool->scratch = mmap(NULL, pool->scratch_bytes, PROT_READ | PROT_WRITE,
	                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool->scratch == MAP_FAILED) {
		pool->scratch = NULL;
		return set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	}
	if (pool->policy == DPEMU_POLICY_CUSTOM) {
		int err = custom_init(pool, cfg->custom);
		if (err)
			return err;
	}
	if (slots == 0)
		slots = pool->nframes * 16 < FRAME_NONE - 1 ? pool->nframes * 16 : FRAME_NONE - 1;
	return swap_open(pool, cfg, slots);
}

void evict_fini(struct dpemu_pool *pool)
{
	swap_close(pool);
	if (pool->custom_ready && pool->custom.fini)
		pool->custom.fini(pool->custom_state);
	pool->custom_ready = false;
	if (pool->views)
		munmap(pool->views, pool->views_bytes);
	pool->views = NULL;
	if (pool->scratch)
		munmap(pool->scratch, pool->scratch_bytes);
	pool->scratch = NULL;
}

/* s takes frames from its pool: the evictor must see its pages. */
void pool_add_space(struct dpemu_space *s)
{
	struct dpemu_pool *pool = s->pool;

	lock_acquire(&pool->evict_lock);
	s->pool_prev = NULL;
	s->pool_next = pool->spaces;
	if (pool->spaces)
		pool->spaces->pool_prev = s;
	pool->spaces = s;
	lock_release(&pool->evict_lock);
}

/* s is going away: no evictor may look at it any more.  Call it without
 * holding s's lock, and only once s maps no frame (dpemu_space_destroy
 * unmaps first): until then the evictor must see s's pages, or the frames
 * they map would look held by nothing and a fault elsewhere in the pool
 * could find no frame to evict. */
void pool_remove_space(struct dpemu_space *s)
{
	struct dpemu_pool *pool = s->pool;

	lock_acquire(&pool->evict_lock);
	if (s->pool_prev)
		s->pool_prev->pool_next = s->pool_next;
	else if (pool->spaces == s)
		pool->spaces = s->pool_next;
	if (s->pool_next)
		s->pool_next->pool_prev = s->pool_prev;
	s->pool_next = s->pool_prev = NULL;
	lock_release(&pool->evict_lock);
}

/* ---- visiting the pages of a frame -------------------------------------------- */

struct evict {
	struct dpemu_pool *pool;
	uint32_t f;
	uint64_t pg;             /* f's reverse map                             */
	enum { TO_NOWHERE, TO_SWAP, TO_FILE } dest;
	bool found;              /* a page maps f, or a shared object holds it  */
	bool file_backed;        /* ... and its mapping says: shared file       */
	bool written;            /* step 2 wrote the contents                   */
	bool counted;            /* the swap-out is counted in a space          */
	bool abandoned;          /* a page came back to f                       */
	bool refused;            /* the host would not hide a page of f         */
	uint32_t slot;           /* TO_SWAP: the slot                           */
	int err;
	struct dpemu_space *holder; /* the first space found holding f (trace) */
};

typedef void (*evict_visit_fn)(struct evict *ev, struct dpemu_space *t, uint64_t *e,
                               struct mapping *m);

/*
 * Call fn for each space of the pool whose mapping covers page ev->pg,
 * with the page's stripe held (struct ptl): e is the page's PTE (NULL if
 * it has no leaf entry), m its mapping.  The space lock is held only to
 * walk the tree (a page's mapping changes only under space_lock_all, so
 * a coarse entry's id read then stays right); a PTE is read with the
 * stripe held, which faults rewrite it under.  Waiting for the stripe with
 * the space lock held is allowed, since a stripe's holder never waits for
 * the space lock.
 */
static void visit_spaces(struct evict *ev, evict_visit_fn fn)
{
	for (struct dpemu_space *t = ev->pool->spaces; t; t = t->pool_next) {
		if (ev->pg >= t->npages)
			continue;
		struct ptl *ptl = space_ptl(t, ev->pg);
		lock_acquire(&t->lock);
		uint64_t *e = pt_find(t, ev->pg);
		uint32_t id = e ? 0 : pte_map(pt_peek(t, ev->pg));
		if (!e && id == 0) {
			lock_release(&t->lock);
			continue;
		}
		/* A PTE is read under its stripe only: faults rewrite it there. */
		lock_acquire(&ptl->lock);
		lock_release(&t->lock);
		if (e)
			id = pte_map(*e);
		if (id)
			fn(ev, t, e, &t->maps[id - 1]);
		lock_release(&ptl->lock);
	}
}

static bool maps_frame(const uint64_t *e, uint32_t f)
{
	return e && (*e & PTE_P) && pte_frame(*e) == f;
}

/* ---- reference bits -------------------------------------------------------------- */

/*
 * Revoke page ev->pg's access to frame ev->f so that its next use traps
 * (and sets the bit again).  If the host refuses, the page stays visible
 * and so counts as referenced: PTE_A and the frame's bit are set again
 * (host_hide_now put the rest of the PTE back), rather than claim a hidden
 * page whose uses nobody would see.
 */
static void clear_reference_visit(struct evict *ev, struct dpemu_space *t, uint64_t *e,
                                  struct mapping *m)
{
	(void)m;
	if (!maps_frame(e, ev->f))
		return;
	if (host_hide_now(t, ev->pg, e) != 0) {
		*e |= PTE_A;
		frame_referenced(ev->pool, ev->f);
		return;
	}
	*e &= ~PTE_A;
}

/* Frame f's reference bit was cleared: make every page that maps it trap
 * on its next access. */
static void revoke_references(struct dpemu_pool *pool, uint32_t f)
{
	struct evict ev = { .pool = pool, .f = f, .pg = pool->frames[f].rmap };

	visit_spaces(&ev, clear_reference_visit);
}

/* ---- policies (pool->lock held) ------------------------------------------------ */

static uint64_t xorshift64star(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Take frame f's reference bit; remember it for revocation if it was set. */
static bool take_reference(struct dpemu_pool *pool, uint32_t f, uint64_t *nrevoke)
{
	if (!atomic_exchange(&pool->frames[f].referenced, 0))
		return false;
	if (*nrevoke < pool->nframes)
		pool->scratch[(*nrevoke)++] = f;
	return true;
}

static uint32_t pick_fifo(struct dpemu_pool *pool)
{
	for (uint32_t f = pool->resident_head; f != FRAME_NONE; f = pool->frames[f].next)
		if (frame_pin(pool, f))
			return f;
	return FRAME_NONE;
}

static uint32_t pick_clock(struct dpemu_pool *pool, uint64_t *nrevoke)
{
	/* Two laps at most: the first clears every bit it finds. */
	for (uint64_t n = 0; n <= 2 * pool->nframes && pool->resident_head != FRAME_NONE; n++) {
		uint32_t f = pool->resident_head;
		if (!take_reference(pool, f, nrevoke) && frame_pin(pool, f))
			return f;
		frame_make_youngest(pool, f);
	}
	return FRAME_NONE;
}

static uint32_t pick_lru(struct dpemu_pool *pool, uint64_t *nrevoke)
{
	uint32_t best = FRAME_NONE;
	unsigned best_age = 256;

	for (uint32_t f = pool->resident_head; f != FRAME_NONE; f = pool->frames[f].next) {
		struct frame *fr = &pool->frames[f];
		fr->age = (uint8_t)((fr->age >> 1) | (take_reference(pool, f, nrevoke) ? 0x80 : 0));
		/* A frame whose last reference just went (refs 0, frame_free is
		 * waiting for pool->lock to unlink it) cannot be pinned. */
		unsigned word = atomic_load(&fr->refs);
		if (fr->age < best_age && word != 0 && !(word & FRAME_PINNED)) {
			best = f;
			best_age = fr->age;
		}
	}
	return best != FRAME_NONE && frame_pin(pool, best) ? best : FRAME_NONE;
}

static uint32_t pick_random(struct dpemu_pool *pool)
{
	uint64_t start = xorshift64star(&pool->random_state) % pool->nframes;

	for (uint64_t i = 0; i < pool->nframes; i++) {
		uint32_t f = (uint32_t)((start + i) % pool->nframes);
		if (!pool->frames[f].free && frame_pin(pool, f))
			return f;
	}
	return FRAME_NONE;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * DPEMU_POLICY_CUSTOM: show the program's policy every frame it may take
 * (resident, not pinned, not being freed), in load order, and carry out
 * what it asks of the others: clear a reference bit (revoked like
 * CLOCK's, once pool->lock is dropped), requeue at the young end (in the
 * order of the views, so requeued frames keep their relative order).
 * Returns its victim pinned - frames[0] for an index out of range - or
 * FIFO's if the victim could not be pinned, or FRAME_NONE.
 */
static uint32_t pick_custom(struct dpemu_pool *pool, uint64_t *nrevoke)
{
	struct dpemu_frame_view *v = pool->views;
	size_t n = 0;

	for (uint32_t f = pool->resident_head; f != FRAME_NONE; f = pool->frames[f].next) {
		struct frame *fr = &pool->frames[f];
		unsigned word = atomic_load(&fr->refs);
		if (word == 0 || (word & FRAME_PINNED))
			continue;
		v[n++] = (struct dpemu_frame_view){
			.frame = f,
			.pages = word & FRAME_PAGES_MASK,
			.loaded = fr->loaded,
			.referenced = atomic_load(&fr->referenced) != 0,
			.dirty = atomic_load(&fr->dirty) != 0,
		};
	}
	if (n == 0)
		return FRAME_NONE;
	size_t k = pool->custom.pick(pool->custom_state, v, n, pool->clock, monotonic_ns());
	if (k >= n)
		k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == k)
			continue;
		if (v[i].clear)
			take_reference(pool, v[i].frame, nrevoke);
		if (v[i].requeue)
			frame_make_youngest(pool, v[i].frame);
	}
	return frame_pin(pool, v[k].frame) ? v[k].frame : pick_fifo(pool);
}

/* The policy's victim, pinned, or FRAME_NONE (no resident frame can be
 * pinned now: those left are being freed); frames whose reference bit it
 * cleared have their pages' access revoked. */
static uint32_t pick_victim(struct dpemu_pool *pool)
{
	uint64_t nrevoke = 0;
	uint32_t f;

	lock_acquire(&pool->lock);
	switch (pool->policy) {
	case DPEMU_POLICY_CLOCK:  f = pick_clock(pool, &nrevoke); break;
	case DPEMU_POLICY_LRU:    f = pick_lru(pool, &nrevoke); break;
	case DPEMU_POLICY_RANDOM: f = pick_random(pool); break;
	case DPEMU_POLICY_CUSTOM: f = pick_custom(pool, &nrevoke); break;
	default:                  f = pick_fifo(pool); break;
	}
	lock_release(&pool->lock);
	for (uint64_t i = 0; i < nrevoke; i++)
		if (pool->scratch[i] != f)
			revoke_references(pool, pool->scratch[i]);
	return f;
}

/* ---- evicting one frame ----------------------------------------------------------- */

/* Whether f is the frame of page ev->pg in t: its PTE maps f, or the
 * shared object of its mapping holds f (t's lock held). */
static bool holds_frame(struct evict *ev, uint64_t *e, struct mapping *m)
{
	bool ours = maps_frame(e, ev->f);

	if (!ours && m->shared) {
		lock_acquire(&m->shared->lock);
		ours = shared_lookup(m->shared, ev->pg - m->start) == ev->f;
		lock_release(&m->shared->lock);
	}
	return ours;
}

/* Step 1: hide the pages that map f (one the host will not hide, not even
 * by a scrub, stays visible and keeps f: the eviction of f is abandoned);
 * find out what backs it. */
static void hide_visit(struct evict *ev, struct dpemu_space *t, uint64_t *e, struct mapping *m)
{
	bool ours = holds_frame(ev, e, m);

	if (maps_frame(e, ev->f) && host_hide_now(t, ev->pg, e)) {
		ev->refused = true;
		if (!ev->err)
			ev->err = -EAGAIN; /* still visible: leave f alone */
	}
	if (ours) {
		ev->found = true;
		ev->file_backed = (m->flags & DPEMU_MAP_SHARED) && m->fd >= 0;
		if (!ev->holder)
			ev->holder = t;
	}
}

/* Step 2 for a shared file page: write it back through a mapping of it -
 * one that holds f: another space may map another file at the same page. */
static void writeback_visit(struct evict *ev, struct dpemu_space *t, uint64_t *e,
                            struct mapping *m)
{
	if (ev->written || ev->err || !((m->flags & DPEMU_MAP_SHARED) && m->fd >= 0) ||
	    !holds_frame(ev, e, m))
		return;
	off_t off = m->offset + (off_t)((ev->pg - m->start) << t->page_shift);
	ev->err = file_write_page(m->fd, off, frame_data(ev->pool, ev->f), ev->pool->page_size);
	if (!ev->err) {
		ev->written = true;
		PG_STATS(t, ev->pg).writebacks++;
		TRACE(ev->pool, DPEMU_EVENT_WRITEBACK, ev->f, .space = t->id,
		      .addr = (uintptr_t)space_page_addr(t, ev->pg));
	}
}

/* Step 3: each page that maps f becomes a swap entry or a lazy page. */
static void unmap_frame_visit(struct evict *ev, struct dpemu_space *t, uint64_t *e, struct mapping *m)
{
	if (ev->abandoned || !maps_frame(e, ev->f))
		return;
	if (*e & PTE_V) {
		ev->abandoned = true; /* it trapped and was shown again */
		return;
	}
	uint64_t lazy = pte_lazy(*e);
	if (ev->dest == TO_SWAP && !m->shared) {
		swap_dup(ev->pool, ev->slot);
		lazy = pte_with_frame(lazy, ev->slot) | PTE_S;
	}
	*e = lazy;
	tlb_forget(t, ev->pg); /* (hidden in step 1: it leaves the TLB now) */
	PG_STATS(t, ev->pg).evictions++;
	PG_STATS(t, ev->pg).pages_resident--;
	if (ev->written && ev->dest == TO_SWAP && !ev->counted) {
		PG_STATS(t, ev->pg).swap_outs++;
		ev->counted = true;
	}
	frame_put(ev->pool, ev->f); /* pinned: not freed */
}

/* Step 3 for a shared object that holds f, once no page maps it. */
static void release_visit(struct evict *ev, struct dpemu_space *t, uint64_t *e,
                          struct mapping *m)
{
	(void)t;
	(void)e;
	if (ev->abandoned || !m->shared)
		return;
	lock_acquire(&m->shared->lock);
	if (shared_lookup(m->shared, ev->pg - m->start) == ev->f) {
		if (frame_pages(ev->pool, ev->f) != 0)
			ev->abandoned = true;
		else
			shared_evict(ev->pool, m->shared, ev->pg - m->start, ev->f,
			             ev->dest == TO_SWAP ? ev->slot : FRAME_NONE);
	}
	lock_release(&m->shared->lock);
}

static void say(char *why, size_t len, const char *what, uint64_t n, const char *rest)
{
	size_t pos = fmt_str(why, len, 0, what);
	if (rest) {
		pos = fmt_dec(why, len, pos, n);
		fmt_str(why, len, pos, rest);
	}
}

/* A short name for a write error (strerror is not async-signal-safe). */
static const char *errno_name(int err)
{
	switch (-err) {
	case ENOSPC: return "no space left on the device (ENOSPC)";
	case EIO:    return "I/O error (EIO)";
	case EDQUOT: return "disk quota exceeded (EDQUOT)";
	case EFBIG:  return "file too large (EFBIG)";
	case EROFS:  return "read-only file system (EROFS)";
	case EBADF:  return "not open for writing (EBADF)";
	default:     return "write error";
	}
}

/*
 * Step 1's decision: where the contents of ev->f go (ev->dest, and the
 * slot for TO_SWAP), from what hide_visit found.  A dirty page that needs
 * a new slot takes one and enters the swap cache.  0 (ev->err -EAGAIN if
 * nothing holds the frame that we can find), or -ENOSPC with why filled in
 * when the swap store is full.
 */
static int evict_destination(struct evict *ev, bool dirty, char *why, size_t whylen)
{
	struct dpemu_pool *pool = ev->pool;
	struct frame *fr = &pool->frames[ev->f];

	if (ev->file_backed) {
		ev->dest = TO_FILE;
	} else if (fr->swap) {
		ev->dest = TO_SWAP;
		ev->slot = fr->swap - 1;
	} else if (!ev->found) {
		ev->err = -EAGAIN; /* held by nothing we can find */
	} else if (!dirty) {
		ev->dest = TO_NOWHERE; /* zeros, or its file's bytes */
	} else {
		ev->dest = TO_SWAP;
		if (swap_alloc(pool, &ev->slot)) {
			say(why, whylen, "the pool has no free frame and the swap store is full (",
			    pool->swap.nslots, " slots)");
			return -ENOSPC;
		}
		swap_cache_add(pool, ev->slot, ev->f);
	}
	return 0;
}

/*
 * Step 2: write the dirty contents of ev->f to ev->dest (its swap slot, or
 * every shared file page that maps it).  0, or the write's negative errno
 * with why filled in and the frame dirty again.
 */
static int evict_write(struct evict *ev, char *why, size_t whylen)
{
	struct frame *fr = &ev->pool->frames[ev->f];

	atomic_store(&fr->dirty, 0); /* a write from now on dirties it again */
	if (ev->dest == TO_SWAP) {
		ev->err = swap_write(ev->pool, ev->slot, ev->f);
		ev->written = ev->err == 0;
	} else {
		visit_spaces(ev, writeback_visit);
	}
	if (!ev->err)
		return 0;
	atomic_store(&fr->dirty, 1);
	size_t pos = fmt_str(why, whylen, 0, ev->dest == TO_SWAP
	                     ? "the pool has no free frame and writing a page to the "
	                       "swap store failed: "
	                     : "the pool has no free frame and writing a page back to "
	                       "its file failed: ");
	fmt_str(why, whylen, pos, errno_name(ev->err));
	return ev->err;
}

/*
 * Evict pinned frame f (steps above).  Returns 0 (f is free), -EAGAIN (a
 * page came back to f, the host would not hide a page that maps it -
 * *refused set then - or nothing can be done with it: try another), or
 * the error that stopped it - -ENOSPC (the swap store is full) or a write
 * error - with why filled in.  On every failure f stays usable: pages
 * that were turned into swap entries find it in the swap cache, and a
 * page the host still shows it through keeps it.
 */
static int evict_frame(struct dpemu_pool *pool, uint32_t f, char *why, size_t whylen,
                       bool *refused)
{
	struct frame *fr = &pool->frames[f];
	struct evict ev = { .pool = pool, .f = f, .pg = fr->rmap };
	int err;

	/* 1 */
	visit_spaces(&ev, hide_visit);
	*refused = ev.refused;
	if (ev.err)
		goto abandon;
	bool dirty = atomic_load(&fr->dirty);
	err = evict_destination(&ev, dirty, why, whylen);
	if (err) {
		frame_unpin(pool, f);
		return err;
	}
	if (ev.err)
		goto abandon;

	/* 2 */
	if (dirty && ev.dest != TO_NOWHERE) {
		err = evict_write(&ev, why, whylen);
		if (err) {
			frame_unpin(pool, f);
			return err;
		}
	}

	/* 3 */
	visit_spaces(&ev, unmap_frame_visit);
	visit_spaces(&ev, release_visit);

	/* 4 */
	if (ev.abandoned || !swap_uncache(pool, f)) {
		atomic_store(&fr->dirty, 1); /* it may have been written since */
		ev.err = -EAGAIN;
		goto abandon;
	}
	pool->evictions++;
	if (ev.written && ev.dest == TO_SWAP)
		pool->swap_outs++;
	else if (ev.written)
		pool->writebacks++;
	DPEMU_PROBE3(evict, ev.holder ? ev.holder->id : 0,
	             ev.holder ? (uintptr_t)space_page_addr(ev.holder, ev.pg) : 0, f);
	if (trace_on(pool)) {
		uint32_t id = ev.holder ? ev.holder->id : 0;
		uint64_t addr = ev.holder ? (uintptr_t)space_page_addr(ev.holder, ev.pg) : 0;
		if (ev.written && ev.dest == TO_SWAP)
			TRACE(pool, DPEMU_EVENT_SWAP_OUT, f, .space = id, .addr = addr,
			      .aux = ev.slot);
		TRACE(pool, DPEMU_EVENT_EVICT, f, .space = id, .addr = addr);
	}
	return 0;

abandon:
	frame_unpin(pool, f);
	return ev.err;
}

/*
 * Free a frame by the pool's policy, called by a fault that found the pool
 * empty, holding no lock of a space.  Returns 0 when a frame is free (this call
 * freed one, or another did meanwhile), else -ENOSPC or the write error
 * that prevented it, with why filled in.  *victim: the frame this call
 * evicted, FRAME_NONE if none (fault.c watches it for livelocks).
 */
int pool_evict(struct dpemu_pool *pool, char *why, size_t whylen, uint32_t *victim)
{
	int err = -EAGAIN;
	bool refused = false;

	*victim = FRAME_NONE;

	lock_acquire(&pool->evict_lock);
	for (uint64_t tries = 0; err == -EAGAIN && tries <= pool->nframes; tries++) {
		lock_acquire(&pool->lock);
		bool have_free = pool->nfree > 0;
		lock_release(&pool->lock);
		if (have_free) {
			err = 0;
			break;
		}
		uint32_t f = pick_victim(pool);
		if (f == FRAME_NONE)
			continue; /* a frame is on its way to the free list: look again */
		bool this_refused = false;
		err = evict_frame(pool, f, why, whylen, &this_refused);
		refused |= this_refused;
		if (err == 0)
			*victim = f;
		if (err == -EAGAIN) {
			/* Let the policy look elsewhere next time. */
			lock_acquire(&pool->lock);
			if (!pool->frames[f].free)
				frame_make_youngest(pool, f);
			lock_release(&pool->lock);
		}
	}
	lock_release(&pool->evict_lock);
	if (err == -EAGAIN) {
		say(why, whylen, refused
		    ? "the pool has no free frame and no resident frame could be evicted: the host "
		      "refused to hide pages (vm.max_map_count reached?)"
		    : "the pool has no free frame and no resident frame could be evicted",
		    0, NULL);
		err = -ENOSPC;
	}
	return err;
}
