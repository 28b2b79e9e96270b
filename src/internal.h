/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * internal.h - dpemu's private types: the frame pool, the page table, the
 * lazy mappings and the space that ties them together.
 *
 * Names here are not exported (the library is built with hidden
 * visibility; only DPEMU_API functions of dpemu.h are visible).
 *
 * Layers.  src/ has one folder per layer, and a call only goes down:
 *
 *   api/    pool.c fork.c space.c mapping.c   the functions of dpemu.h
 *           observe.c read.c
 *     |
 *   trap/   trap_sigsegv.c trap_uffd.c        how a fault arrives (a signal,
 *           registry.c                        a userfaultfd event) and which
 *     |                                       space it belongs to
 *   fault/  fault.c                           resolving one fault
 *     |
 *   evict/  evict.c                           taking a frame back (policies)
 *     |
 *   store/  shared.c swap.c store.c           where pages live when no frame
 *           redis.c file.c                    holds them: shared objects, swap
 *     |                                       slots, the backing stores
 *   mem/    frames.c tlb.c pagetable.c        the frame pool, the emulated
 *     |                                       TLB, the page table
 *   host/   hostmap.c arena.c                 the host seam: every mmap,
 *     |                                       mprotect, madvise and
 *     |                                       userfaultfd ioctl on an arena
 *   base/   trace.c latency.c error.c         the event trace's ring and
 *           thread.c lock.h                   writer, latency histograms,
 *                                             messages, formatters, locks,
 *                                             what dpemu knows of threads
 *
 * A file may call files of the layers below it, and files of its own
 * folder listed after it above (fork.c calls space.c, space.c mapping.c;
 * shared.c calls swap.c).  Each file's first comment says what it calls.
 * `make layers` prints the graph from the object files, and
 * tests/check-layers.sh (in make check) fails on any other call up.
 *
 * One upcall remains, on purpose: frames.c -> swap_cache_release
 * (store/swap.c).  A frame whose last page lets go while the swap cache
 * still keeps it (FRAME_CACHED) must go back to the swap cache, which
 * alone may free it, since it names the frame from its slot under the
 * swap lock; frame_put cannot know the slot without asking it.  The
 * kernel's put_page does the same towards the page cache.  (Doing it by a
 * function pointer would only hide the edge.)
 *
 * Memory that is not an arena (the pool's memfd and direct map, page-table
 * node slabs, bookkeeping arrays) is mapped by the file it belongs to.
 *
 * Reserved prefix.  Hidden visibility protects only the shared library: in
 * libdpemu.a every non-static function and variable is a global symbol, so
 * a program that links it statically and defines its own set_error or
 * frame_alloc would fail to link.  Every such name therefore carries the
 * prefix _dpemu_ in the object files (as mimalloc's internals carry _mi_);
 * dpemu_ is the public prefix, kept for dpemu.h.  The source keeps the short
 * names and the block of #defines below maps each one, grouped by the file
 * that defines it: the fault path reads as before (frame_alloc, host_show,
 * pt_lock_leaf... in the tone of xv6), a new internal function gets one line
 * here, and tests/check-symbols.sh fails the build's tests if one is missed.
 * (A debugger or a backtrace shows the _dpemu_ spelling.)  The few global
 * variables (lock.h, fork.c) are spelled _dpemu_ in the source itself.
 *
 * Lock order - the one table; the other files point here.  dpemu's own
 * locks (struct lock, lock.h: futexes, safe in a signal handler, not
 * re-entrant) are taken top to bottom, never one while holding a lock
 * below it:
 *
 *   1. pool->evict_lock     one evictor at a time; the pool's list of
 *                           spaces (evict.c)
 *   2. s->lock              a space's tree shape and mapping table
 *                           (struct ptl below, pagetable.c)
 *   3. s->ptl[k].lock       the split page-table locks, k ascending
 *                           (space_lock_all: 2, then every 3)
 *   3a. s->tlb.lock         the space's emulated TLB (tlb.c), taken under
 *                           the stripe of the page it is asked about;
 *                           under it the victims' stripes are only tried
 *                           (lock_try), and nothing else is taken
 *   4. o->lock              a shared object's slots (shared.c)
 *   5. pool->swap_lock      the swap store and the swap cache (swap.c)
 *   5a. the store thread's  one request at a time to a backing store that
 *       mailbox lock        is not async-signal-safe (store.c); nothing
 *                           is taken under it, and the store thread that
 *                           answers takes no dpemu lock at all
 *   6. pool->lock           free and resident lists, policy state (frames.c)
 *
 * and, on top of the order:
 *   - nobody waits for s->lock holding a stripe of s: a fault that finds
 *     its stripe busy lets go of s->lock first (pt_lock_leaf);
 *   - a fault holds its page's stripe, and s->lock only during the walk;
 *     under the stripe it may take 4, 5, 6.  It calls pool_evict (1, then
 *     one page's 2 and 3 at a time, then 4, 5, 6) only after dropping
 *     every lock of its space (fault.c, evict.c);
 *   - dpemu_space_fork holds two spaces' 2 and 3: the child's first (not
 *     yet published: nobody else can hold them), then the parent's;
 *   - a thread that already holds a dpemu lock (_dpemu_locks_held > 0,
 *     e.g. a signal handler that interrupted dpemu) resolves nothing, or
 *     only tries locks (lock_try; fault_unrevoke);
 *   - the holder table (lock.h, _dpemu_holders: which threads hold any
 *     dpemu lock) is lock-free; the userfaultfd handler thread reads it
 *     and never waits for a faulting thread listed there (trap_uffd.c).
 *
 * The pthread mutexes are API side only: never in a signal handler, never
 * taken while a dpemu lock is held, and none held while taking another
 * but as shown:
 *   handler.lifecycle -> handler.mu   trap_uffd.c, the thread-mode handler's
 *                                     list; the handler thread itself only
 *                                     tries handler.mu while it has spaces
 *   registry_mutex                    registry.c, the registry's slots (faults
 *                                     read the registry without it)
 *   install_mutex                     trap_sigsegv.c, installing the
 *                                     SIGSEGV and SIGBUS handlers
 *   trace_mutex -> ring->mu           observe.c, starting and stopping
 *                                     traces; trace.c, the writer thread's
 *                                     sleep (the fault path never takes
 *                                     either: it only appends to the ring,
 *                                     lock-free)
 */
#ifndef DPEMU_INTERNAL_H
#define DPEMU_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "dpemu.h"
#include "base/lock.h"

/* The reserved prefix (see above), by defining file. */
/* error.c */
#define clear_error _dpemu_clear_error
#define fmt_dec _dpemu_fmt_dec
#define fmt_errno _dpemu_fmt_errno
#define fmt_hex _dpemu_fmt_hex
#define fmt_str _dpemu_fmt_str
#define set_error _dpemu_set_error
#define wrap_error _dpemu_wrap_error

/* trace.c */
#define trace_forget _dpemu_trace_forget
#define trace_put _dpemu_trace_put
#define trace_start _dpemu_trace_start
#define trace_stop _dpemu_trace_stop

/* latency.c */
#define lat_add _dpemu_lat_add
#define lat_merge _dpemu_lat_merge
#define lat_summary _dpemu_lat_summary

/* mem/frames.c */
#define frames_create _dpemu_frames_create
#define frames_destroy _dpemu_frames_destroy
#define frame_alloc _dpemu_frame_alloc
#define frame_free _dpemu_frame_free
#define frame_get _dpemu_frame_get
#define frame_hold _dpemu_frame_hold
#define frame_make_youngest _dpemu_frame_make_youngest
#define frame_pin _dpemu_frame_pin
#define frame_put _dpemu_frame_put
#define frame_unhold _dpemu_frame_unhold
#define frame_unpin _dpemu_frame_unpin

/* tlb.c */
#define tlb_fill _dpemu_tlb_fill
#define tlb_fini _dpemu_tlb_fini
#define tlb_forget _dpemu_tlb_forget
#define tlb_holds _dpemu_tlb_holds
#define tlb_init _dpemu_tlb_init

/* pagetable.c */
#define space_lock_all _dpemu_space_lock_all
#define space_unlock_all _dpemu_space_unlock_all
#define pt_copy _dpemu_pt_copy
#define pt_find _dpemu_pt_find
#define pt_fini _dpemu_pt_fini
#define pt_init _dpemu_pt_init
#define pt_leaf _dpemu_pt_leaf
#define pt_lock_leaf _dpemu_pt_lock_leaf
#define pt_peek _dpemu_pt_peek
#define pt_peek_run _dpemu_pt_peek_run
#define pt_walk _dpemu_pt_walk

/* hostmap.c */
#define host_flush _dpemu_host_flush
#define host_hide _dpemu_host_hide
#define host_hide_now _dpemu_host_hide_now
#define host_narrow _dpemu_host_narrow
#define host_force_prot _dpemu_host_force_prot
#define host_update_prot _dpemu_host_update_prot
#define host_revoke _dpemu_host_revoke
#define host_scrub _dpemu_host_scrub
#define host_setprot _dpemu_host_setprot
#define host_setprot_flush _dpemu_host_setprot_flush
#define host_settle _dpemu_host_settle
#define host_show _dpemu_host_show
#define host_show_run _dpemu_host_show_run
#define hostmap_probe _dpemu_hostmap_probe
#define pte_effective_prot _dpemu_pte_effective_prot

/* space.c */
#define space_free _dpemu_space_free
#define space_new _dpemu_space_new
#define space_publish _dpemu_space_publish
#define space_register _dpemu_space_register

/* mapping.c */
#define space_drop_pages _dpemu_space_drop_pages
#define space_flush_pages _dpemu_space_flush_pages
#define space_unmap_pages _dpemu_space_unmap_pages

/* fault.c */
#define fault_resolve _dpemu_fault_resolve
#define fault_revoke _dpemu_fault_revoke
#define fault_unrevoke _dpemu_fault_unrevoke

/* fork.c */
#define fork_guard_install _dpemu_fork_guard_install

/* observe.c */
#define observe_pool_start _dpemu_observe_pool_start
#define observe_pool_stop _dpemu_observe_pool_stop

/* shared.c */
#define shared_evict _dpemu_shared_evict
#define shared_get _dpemu_shared_get
#define shared_lookup _dpemu_shared_lookup
#define shared_new _dpemu_shared_new
#define shared_put _dpemu_shared_put
#define shared_record _dpemu_shared_record
#define shared_record_swap _dpemu_shared_record_swap
#define shared_swapped _dpemu_shared_swapped

/* swap.c */
#define swap_alloc _dpemu_swap_alloc
#define swap_cache_add _dpemu_swap_cache_add
#define swap_cache_release _dpemu_swap_cache_release
#define swap_close _dpemu_swap_close
#define swap_dup _dpemu_swap_dup
#define swap_exclusive _dpemu_swap_exclusive
#define swap_forget _dpemu_swap_forget
#define swap_fetch_slot _dpemu_swap_fetch_slot
#define swap_open _dpemu_swap_open
#define swap_put _dpemu_swap_put
#define swap_read _dpemu_swap_read
#define swap_uncache _dpemu_swap_uncache
#define swap_write _dpemu_swap_write

/* store.c */
#define store_close _dpemu_store_close
#define store_discard _dpemu_store_discard
#define store_open _dpemu_store_open
#define store_parse_latency _dpemu_store_parse_latency
#define store_read _dpemu_store_read
#define store_read_batch _dpemu_store_read_batch
#define store_write _dpemu_store_write
#define store_write_batch _dpemu_store_write_batch
#define store_thread_hook _dpemu_store_thread_hook

/* redis.c */
#define redis_store_ops _dpemu_redis_store_ops

/* file.c */
#define file_read_page _dpemu_file_read_page
#define file_store_ops _dpemu_file_store_ops
#define file_write_page _dpemu_file_write_page

/* evict.c */
#define evict_fini _dpemu_evict_fini
#define evict_init _dpemu_evict_init
#define pool_add_space _dpemu_pool_add_space
#define pool_evict _dpemu_pool_evict
#define pool_remove_space _dpemu_pool_remove_space

/* trap_uffd.c */
#define uffd_available _dpemu_uffd_available
#define uffd_continue _dpemu_uffd_continue
#define uffd_forget_handler _dpemu_uffd_forget_handler
#define uffd_register _dpemu_uffd_register
#define uffd_resolve _dpemu_uffd_resolve
#define uffd_space_close _dpemu_uffd_space_close
#define uffd_space_open _dpemu_uffd_space_open
#define uffd_unrevoke_mine _dpemu_uffd_unrevoke_mine
#define uffd_wake _dpemu_uffd_wake
#define uffd_writeprotect _dpemu_uffd_writeprotect
#define uffd_zero _dpemu_uffd_zero

/* registry.c */
#define registry_add _dpemu_registry_add
#define registry_enter _dpemu_registry_enter
#define registry_find _dpemu_registry_find
#define registry_leave _dpemu_registry_leave
#define registry_remove _dpemu_registry_remove
#define registry_revoke_all _dpemu_registry_revoke_all

/* arena.c */
#define arena_release _dpemu_arena_release
#define arena_reserve _dpemu_arena_reserve
#define arena_reset _dpemu_arena_reset
#define arena_uffd_arm _dpemu_arena_uffd_arm

/* trap_sigsegv.c */
#define trap_sigbus_install _dpemu_trap_sigbus_install
#define trap_sigsegv_install _dpemu_trap_sigsegv_install


/* ------------------------------------------------------------------------ */
/* Frame pool (frames.c)                                                     */
/* ------------------------------------------------------------------------ */

#define FRAME_NONE UINT32_MAX /* "no frame": end of the free list, failure */

/* Per-frame metadata, one per frame of the pool. */
/*
 * A frame's reference word:
 *
 *   31       30       29       28                        0
 *  +--------+--------+--------+---------------------------+
 *  |  held  | pinned | cached |  pages mapping the frame  |
 *  +--------+--------+--------+---------------------------+
 *
 * held:   a shared object (shared.c) keeps the frame for a page of a shared
 *         mapping, so spaces that fault the page later find it;
 * pinned: the evictor is taking the frame back (evict.c), or a fault
 *         copies from it (a copy-on-write break making room, fault.c) or
 *         drops its swap slot (swap_forget): nobody else may free it or
 *         pick it;
 * cached: the swap cache (swap.c) keeps the frame as the copy of its swap
 *         slot, so pages that still name the slot find it.
 * The frame is free when the whole word is 0.
 */
#define FRAME_HELD   0x80000000u
#define FRAME_PINNED 0x40000000u
#define FRAME_CACHED 0x20000000u
#define FRAME_PAGES_MASK 0x1fffffffu

struct frame {
	atomic_uint refs;  /* see above; 0 while the frame is free              */
	uint32_t next;     /* list links (frame numbers): the free list while
	                      free, else the resident list in load order       */
	uint32_t prev;
	atomic_uchar zero; /* contents known to be all zeros (never handed out):
	                      a hole in the memfd, or a populated page; atomic:
	                      two spaces faulting one shared frame read and
	                      clear it under different stripe locks          */
	atomic_uchar free; /* on the free list (written under pool->lock; the
	                      RANDOM policy reads it as a hint without it)    */
	atomic_uchar dirty;/* written since filled from its backing store (the
	                      file, the swap slot, or zeros); exact only when
	                      the pool has a replacement policy                */
	atomic_uchar referenced; /* a page used it since the policy last looked */
	uint8_t age;       /* DPEMU_POLICY_LRU: the aging counter (pool->lock)  */
	uint64_t loaded;   /* pool->clock when allocated (pool->lock; a custom
	                      policy's dpemu_frame_view.loaded)                */
	uint32_t swap;     /* swap slot + 1 that holds (or is to hold) a copy
	                      of the contents; 0: none (swap.c)                */
	_Atomic uint64_t rmap; /* reverse map: page index of the page that took
	                      the frame; every page sharing it (after a fork)
	                      sits at the same index of a related space.  Set
	                      under pool->lock; the evictor reads it without (a
	                      hint: what it finds there is checked)             */
};

/* How a space's arena shows frames (hostmap.c). */
enum hostmode {
	HOSTMODE_GUARD, /* identity-mapped runs + madvise guard regions        */
	HOSTMODE_MMAP,  /* one mmap(MAP_FIXED) per visible page (fallback)     */
	HOSTMODE_UFFD,  /* identity-mapped runs registered with userfaultfd    */
};

/* The swap store (swap.c): page-sized slots in a backing store (store.c). */
struct swap_slot {
	uint32_t refs;  /* swap entries that name it, + 1 while cached         */
	uint32_t frame; /* frame + 1 holding its contents (the swap cache); 0:
	                   only the file has them.  Free slots: next free + 1  */
};

struct store_thread; /* store.c */

struct swap_store {
	const struct dpemu_store_ops *ops; /* the backing store; NULL: none    */
	void *obj;              /* what its open returned                      */
	struct store_thread *thread; /* drives a store that is not
	                           async-signal-safe; NULL: called directly    */
	uint64_t lat_min_ns, lat_max_ns; /* emulated latency per access         */
	_Atomic uint64_t lat_state; /* its generator (a range)                 */
	char name[160];         /* for messages: the path, the URL, ops->name  */
	uint64_t nslots;        /* capacity                                    */
	uint64_t used;          /* slots with refs > 0                         */
	uint64_t high;          /* slots [0, high) have been handed out once   */
	uint32_t free_head;     /* free slot + 1, 0: none below high           */
	struct swap_slot *slots;
	size_t slots_bytes;
};

struct trace_ring; /* base/trace.c */

struct dpemu_pool {
	struct lock lock;       /* the free and resident lists, policy state   */
	struct lock evict_lock; /* one evictor at a time; the list of spaces    */
	struct lock swap_lock;  /* the swap store and swap cache                */
	int memfd;              /* the shared memory object: all frames         */
	unsigned char *direct;  /* the whole pool mapped once (the "physmap")   */
	size_t page_size;
	unsigned page_shift;
	uint64_t nframes;
	struct frame *frames;   /* nframes entries                              */
	size_t frames_bytes;    /* size of the frames array mapping             */
	uint32_t free_head;     /* doubly-linked free list, FRAME_NONE if empty */
	uint64_t nfree;
	uint64_t nfree_low;     /* the fewest nfree has been (frames_used_peak) */
	atomic_uint_fast64_t nshared; /* frames with refs > 1                   */
	atomic_int nspaces;
	pid_t owner;            /* the process that created the pool (fork.c)  */
	uint64_t next_colour;   /* identity offset handed to the next space     */
	enum hostmode sigsegv_hostmode; /* what SIGSEGV spaces use (probed)     */
	void *zero_page;        /* page_size bytes of read-only zeros           */

	/* replacement (evict.c) and swap (swap.c) */
	enum dpemu_policy policy;
	uint32_t resident_head; /* resident frames, oldest first (FIFO, CLOCK)  */
	uint32_t resident_tail;
	uint64_t random_state;  /* DPEMU_POLICY_RANDOM: xorshift64* state      */
	uint64_t clock;         /* frames allocated so far (pool->lock)         */
	struct dpemu_policy_ops custom; /* DPEMU_POLICY_CUSTOM: the policy      */
	void *custom_state;     /* what custom.init made (else custom.arg)      */
	bool custom_ready;      /* custom.init succeeded: fini is owed          */
	struct dpemu_frame_view *views; /* nframes entries for custom.pick      */
	size_t views_bytes;
	uint32_t *scratch;      /* nframes entries for the evictor             */
	size_t scratch_bytes;
	struct dpemu_space *spaces; /* every published space (evict_lock)      */
	struct swap_store swap;
	uint64_t evictions, swap_outs, swap_ins, writebacks; /* totals (evict_lock,
	                           swap_lock)                                  */
	bool populated;         /* every frame has its host page (cfg.populate):
	                           no frame is a hole in the memfd             */
	uint32_t zero_frame;    /* = nframes: the shared zero frame (fault.c)   */
	atomic_int zero_maps;   /* pages mapping it                             */

	/* the event trace (base/trace.c): the ring being written, NULL when
	 * the pool is not traced - the one word the fault path reads (relaxed)
	 * when tracing is off */
	_Atomic(struct trace_ring *) trace;
	bool trace_env;         /* the trace is DPEMU_TRACE's (observe.c)       */
	/* producers inside trace_put: stop waits for none before it frees the
	 * ring.  A cache line of its own (the pool is allocated aligned). */
	atomic_long trace_users __attribute__((aligned(64)));
};

/* Pages of one pool that may map the zero frame at once: each costs the
 * host a mapping of its own (see fault.c). */
#define ZERO_MAPS_MAX 4096

/* API side (frames.c). */
int frames_create(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg);
void frames_destroy(struct dpemu_pool *pool);
/* Fault path: safe (lock, list operations, no allocation). */
uint32_t frame_alloc(struct dpemu_pool *pool, uint64_t preferred, uint64_t rmap);
void frame_get(struct dpemu_pool *pool, uint32_t f);
void frame_put(struct dpemu_pool *pool, uint32_t f);
void frame_hold(struct dpemu_pool *pool, uint32_t f);
void frame_unhold(struct dpemu_pool *pool, uint32_t f);
void frame_free(struct dpemu_pool *pool, uint32_t f);
bool frame_pin(struct dpemu_pool *pool, uint32_t f);
void frame_make_youngest(struct dpemu_pool *pool, uint32_t f);
void frame_unpin(struct dpemu_pool *pool, uint32_t f);

/* A page used frame f (its reference bit, for CLOCK and LRU). */
static inline void frame_referenced(struct dpemu_pool *pool, uint32_t f)
{
	if (f >= pool->nframes)
		return; /* the zero frame is never evicted */
	atomic_store_explicit(&pool->frames[f].referenced, 1, memory_order_relaxed);
}

/* A page wrote frame f: its backing store's copy is stale. */
static inline void frame_dirtied(struct dpemu_pool *pool, uint32_t f)
{
	if (f >= pool->nframes)
		return;
	atomic_store_explicit(&pool->frames[f].dirty, 1, memory_order_relaxed);
}

/* Pages that map frame f. */
static inline unsigned frame_pages(struct dpemu_pool *pool, uint32_t f)
{
	if (f == pool->zero_frame)
		return (unsigned)atomic_load(&pool->zero_maps);
	return atomic_load(&pool->frames[f].refs) & FRAME_PAGES_MASK;
}

static inline unsigned char *frame_data(const struct dpemu_pool *pool, uint32_t f)
{
	return pool->direct + ((size_t)f << pool->page_shift);
}

/* ------------------------------------------------------------------------ */
/* Page table (pagetable.c)                                                  */
/* ------------------------------------------------------------------------ */
/*
 * A radix tree of 512-entry nodes over the arena's page indexes, like the
 * x86-64 page table: level 0 nodes hold page-table entries (PTEs), one per
 * page; a node of level k > 0 holds entries that each cover 512^k pages.
 *
 * An interior entry is one of
 *   0                       nothing is mapped below it;
 *   node address | PTE_T    a table of the level below;
 *   mapping id + prot       "coarse": every page below belongs to that
 *                           mapping, has that protection and no frame.
 * so a mapping of any size costs a few entries until its pages are touched,
 * and the tree is also the index from an address to its mapping.
 *
 * A leaf entry (PTE):
 *
 *  63          48 47                 16 15 14  12  11  10   9   8   7  6  4  3   2   1   0
 * +--------------+---------------------+--+------+---+---+---+---+---+-----+---+---+---+---+
 * |  mapping id  |    frame number     |Z |  HP  | T | U | L | V | B | PROT| A | C | D | P |
 * +--------------+---------------------+--+------+---+---+---+---+---+-----+---+---+---+---+
 *
 *   P     present: the page holds a reference to `frame`
 *   D     dirty: written since filled or last written back
 *   C     copy-on-write: `frame` is shared; a write must copy or reuse it
 *   A     accessed since the bit was last cleared
 *   PROT  the page's PROT_READ|PROT_WRITE|PROT_EXEC
 *   B     backed: the host shows this page through the pool's memfd with
 *         VMA protection HP (guard mode); else it is the PROT_NONE reserve
 *   V     visible: an access reaches the frame (no guard marker); only with P
 *   L     alias: the host maps `frame` here, not this page's identity frame
 *   U     write-protected through userfaultfd (UFFDIO_WRITEPROTECT) although
 *         HP allows writing: a write traps without splitting the VMA
 *   HP    the host VMA's PROT_* bits at this page (valid with B)
 *   Z     the frame was never written and its pool is not populated: the
 *         memfd has a hole there (all zeros), so userfaultfd shows it with
 *         UFFDIO_COPY, not _CONTINUE
 *   S     (same bit as Z, pages without P) swapped: the page's contents
 *         are in the swap slot held in the frame field (swap.c), which
 *         this entry holds a reference to
 *   T     (interior entries only) the entry points to a table; the table
 *         address fills the bits above 12, as in a hardware page table
 *   mapping id  index+1 into space->maps; 0: no mapping covers the page
 */
#define PT_BITS 9
#define PT_ENTRIES 512u
#define PT_NODE_BYTES (PT_ENTRIES * sizeof(uint64_t))

#define PTE_P       (1ull << 0)
#define PTE_D       (1ull << 1)
#define PTE_C       (1ull << 2)
#define PTE_A       (1ull << 3)
#define PTE_PROT_SHIFT 4
#define PTE_PROT_MASK  (7ull << PTE_PROT_SHIFT)
#define PTE_B       (1ull << 7)
#define PTE_V       (1ull << 8)
#define PTE_L       (1ull << 9)
#define PTE_U       (1ull << 10)
#define PTE_T       (1ull << 11)
#define PTE_HP_SHIFT 12
#define PTE_HP_MASK (7ull << PTE_HP_SHIFT)
#define PTE_Z       (1ull << 15) /* with P    */
#define PTE_S       (1ull << 15) /* without P */
#define PTE_FRAME_SHIFT 16
#define PTE_FRAME_MASK (0xffffffffull << PTE_FRAME_SHIFT)
#define PTE_MAP_SHIFT 48

/* The bits that describe the host's view, kept when a page is unmapped. */
#define PTE_HOST_BITS (PTE_B | PTE_HP_MASK)

static inline int pte_prot(uint64_t e) { return (int)((e & PTE_PROT_MASK) >> PTE_PROT_SHIFT); }
static inline int pte_hostprot(uint64_t e) { return (int)((e & PTE_HP_MASK) >> PTE_HP_SHIFT); }
static inline uint32_t pte_frame(uint64_t e) { return (uint32_t)((e & PTE_FRAME_MASK) >> PTE_FRAME_SHIFT); }
static inline uint32_t pte_map(uint64_t e) { return (uint32_t)(e >> PTE_MAP_SHIFT); }
static inline bool pte_swapped(uint64_t e) { return (e & (PTE_P | PTE_S)) == PTE_S; }
/* A lazy PTE: mapping, protection and host view kept, no frame, no slot. */
static inline uint64_t pte_lazy(uint64_t e)
{
	return e & (~0ull << PTE_MAP_SHIFT | PTE_PROT_MASK | PTE_B | PTE_HP_MASK);
}
static inline bool pte_is_table(uint64_t e) { return (e & PTE_T) != 0; }
static inline uint64_t *pte_table(uint64_t e) { return (uint64_t *)(uintptr_t)(e & ~(uint64_t)0xfff); }

static inline uint64_t pte_with_prot(uint64_t e, int prot)
{
	return (e & ~PTE_PROT_MASK) | ((uint64_t)prot << PTE_PROT_SHIFT);
}
static inline uint64_t pte_with_hostprot(uint64_t e, int prot)
{
	return (e & ~PTE_HP_MASK) | ((uint64_t)prot << PTE_HP_SHIFT);
}
static inline uint64_t pte_with_frame(uint64_t e, uint32_t f)
{
	return (e & ~PTE_FRAME_MASK) | ((uint64_t)f << PTE_FRAME_SHIFT);
}
static inline uint64_t pte_coarse(uint32_t map_id, int prot)
{
	return ((uint64_t)map_id << PTE_MAP_SHIFT) | ((uint64_t)prot << PTE_PROT_SHIFT);
}

struct dpemu_space;
struct ptl;

/*
 * Visitor of pt_walk: called for each entry that meets the range, in address
 * order.  `level` 0 is a PTE (npages 1); above that the entry is 0 or coarse
 * and covers npages pages from pg.  Return non-zero to stop the walk.
 */
typedef int (*pt_visit_fn)(struct dpemu_space *s, uint64_t *e, unsigned level,
                           uint64_t pg, uint64_t npages, void *arg);

/* Fault path: safe (nodes come from mmap, never malloc). */
uint64_t *pt_leaf(struct dpemu_space *s, uint64_t pg, int *err);
uint64_t *pt_lock_leaf(struct dpemu_space *s, uint64_t pg, int *err, struct ptl **ptl);
uint64_t pt_peek(const struct dpemu_space *s, uint64_t pg);
uint64_t pt_peek_run(const struct dpemu_space *s, uint64_t pg, uint64_t *left, bool *leaf);
uint64_t *pt_find(struct dpemu_space *s, uint64_t pg);

/* For pt_copy: the PTE the copy gets for page pg, whose source PTE is *e. */
typedef uint64_t (*pt_copy_fn)(struct dpemu_space *src, struct dpemu_space *dst, uint64_t *e,
                               uint64_t pg, void *arg);

/* API side only. */
int pt_copy(struct dpemu_space *src, struct dpemu_space *dst, pt_copy_fn fn, void *arg);
int pt_init(struct dpemu_space *s);
void pt_fini(struct dpemu_space *s);
int pt_walk(struct dpemu_space *s, uint64_t first, uint64_t n, bool split,
            pt_visit_fn fn, void *arg);

/* ------------------------------------------------------------------------ */
/* Mappings (mapping.c)                                                      */
/* ------------------------------------------------------------------------ */

struct shared_object;

struct mapping {
	int flags;          /* DPEMU_MAP_* as given                              */
	struct shared_object *shared; /* the pages of a shared mapping, once it
	                      has been forked (shared.c); NULL otherwise        */
	uint64_t len;       /* pages when created                                */
	int fd;             /* dpemu's own duplicate; -1 for anonymous           */
	bool fd_writable;   /* the fd allows write-back                          */
	uint64_t start;     /* page index where the mapping began               */
	off_t offset;       /* file offset of page `start`                       */
	uint64_t npages;    /* pages still covered; 0: the slot is free          */
};

static inline bool mapping_tracks_dirty(const struct mapping *m)
{
	return (m->flags & DPEMU_MAP_SHARED) && m->fd >= 0;
}

/* ------------------------------------------------------------------------ */
/* Shared objects (shared.c)                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A slot of a shared object:
 *
 *   63        33   32   31                         0
 *  +-------------+----+-----------------------------+
 *  |      0      | S  |  frame + 1, or swap slot    |
 *  +-------------+----+-----------------------------+
 *
 * 0: the page has neither yet.  S: the page is in that swap slot, and the
 * object holds a reference to the slot.
 */
#define SHARED_SWAPPED (1ull << 32)

struct shared_object {
	struct lock lock;    /* the slots (fault path)                          */
	atomic_int users;    /* mappings that use the object                    */
	uint64_t npages;
	uint64_t *slots;     /* one per page of the mapping, see above          */
	size_t bytes;
};

/* API side. */
struct shared_object *shared_new(uint64_t npages);
void shared_get(struct shared_object *o);
void shared_put(struct dpemu_pool *pool, struct shared_object *o);
/* Fault path: safe (o->lock held). */
uint32_t shared_lookup(const struct shared_object *o, uint64_t idx);
void shared_record(struct dpemu_pool *pool, struct shared_object *o, uint64_t idx, uint32_t f);
bool shared_swapped(const struct shared_object *o, uint64_t idx, uint32_t *slot);
void shared_record_swap(struct shared_object *o, uint64_t idx, uint32_t slot);
void shared_evict(struct dpemu_pool *pool, struct shared_object *o, uint64_t idx, uint32_t f,
                  uint32_t slot);

/* ------------------------------------------------------------------------ */
/* Space (space.c)                                                           */
/* ------------------------------------------------------------------------ */

struct node_slab;

/*
 * Split page-table locks.  Linux gives every page of PTEs a lock of its
 * own, so that faults in different parts of an address space do not wait
 * for each other; dpemu does the same with a fixed array of stripes: the
 * PTEs of leaf k (pages [512k, 512k + 512)), and the host view of those
 * pages, belong to stripe k % PTL_STRIPES.  A fault holds its stripe
 * across the host call that shows the page, so two threads faulting in
 * different leaves run in parallel; s->lock is held only while the fault
 * walks (and perhaps grows) the tree to its leaf.
 *
 * Each stripe also keeps its share of the space's counters, updated under
 * its lock: no counter cache line is shared by two faulting threads.
 * dpemu_space_stats adds them up.
 *
 * Who holds what:
 *   s->lock           the tree's shape (nodes, interior entries) and the
 *                     mapping table; alone, only briefly;
 *   a stripe          its leaves' PTEs, their pages' host view, the
 *                     mappings those PTEs name (which cannot go away or
 *                     move while it is held), its counters;
 *   s->lock + every   everything: what changes mappings or walks ranges
 *   stripe            (map, unmap, protect, sync, fork, destroy) and the
 *                     counter snapshot - space_lock_all.
 * Lock order: the table at the top of this file.
 */
#define PTL_STRIPES 64u

struct ptl {
	struct lock lock;
	uint16_t lat_kinds;       /* bit k: lat[stripe].kind[k] has counted a
	                             fault (latency.c): the others are never
	                             read, so their memory is never touched   */
	struct dpemu_stats stats; /* this stripe's share of the counters      */
} __attribute__((aligned(64)));

/*
 * Fault latency histograms (latency.c), one per stripe and fault kind,
 * kept under the stripe's lock like its counters: log-linear buckets, 8
 * per power of two from 64 ns (values below 64 ns in 8 buckets of 8 ns,
 * values from 2^32 ns = 4.3 s on in the last), so a percentile read off
 * them is within 1/8 of the true value; count, sum, min and max exact.
 * A stripe's histograms fill two pages of their own (struct lat_stripe)
 * in the space's allocation (space.c: mmap, so only the pages of stripes
 * that took a fault cost memory).
 */
#define LAT_KINDS (DPEMU_EVENT_UNRESOLVED - DPEMU_EVENT_ZERO_FILL + 1)
#define LAT_BUCKETS 216

struct lat_kind {
	uint64_t count, sum_ns, min_ns, max_ns;
	uint32_t bucket[LAT_BUCKETS];
};

struct lat_stripe {
	struct lat_kind kind[LAT_KINDS]; /* by event - DPEMU_EVENT_ZERO_FILL  */
} __attribute__((aligned(4096)));

/* The sum of some lat_kinds (API side: a local of dpemu_space_latency). */
struct lat_sum {
	uint64_t count, sum_ns, min_ns, max_ns;
	uint64_t bucket[LAT_BUCKETS];
};

/* Fault path: count a fault of kind k (event - DPEMU_EVENT_ZERO_FILL) that
 * took ns in stripe st, whose ptl's lat_kinds is *kinds (stripe held). */
void lat_add(struct lat_stripe *st, uint16_t *kinds, unsigned k, uint64_t ns);
/* API side. */
void lat_merge(struct lat_sum *acc, const struct lat_kind *k);
void lat_summary(const struct lat_sum *acc, struct dpemu_latency *out);

/* DPEMU_NO_LATENCY=1 at the first pool: faults are not timed (a switch for
 * measuring what the timing costs; latency.c). */
extern atomic_bool _dpemu_latency_off;

/*
 * USDT probes (bpftrace, perf, SystemTap: provider "dpemu"), where
 * configure found <sys/sdt.h>; nothing otherwise.  A probe is a nop and a
 * note in the object file: fault path safe, free when nobody listens.
 *   fault_entry(space id, addr, access)           fault_resolve starts
 *   fault_exit(space id, addr, event, latency ns)  a counted fault is over
 *   evict(space id, addr, frame)                   a frame was taken back
 */
#ifdef HAVE_SYS_SDT_H
#include <sys/sdt.h>
#define DPEMU_PROBE3(name, a, b, c) DTRACE_PROBE3(dpemu, name, a, b, c)
#define DPEMU_PROBE4(name, a, b, c, d) DTRACE_PROBE4(dpemu, name, a, b, c, d)
#else
#define DPEMU_PROBE3(name, a, b, c) ((void)0)
#define DPEMU_PROBE4(name, a, b, c, d) ((void)0)
#endif

/* CLOCK_MONOTONIC in nanoseconds.  Fault path: safe (the vDSO). */
static inline uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * The emulated TLB (tlb.c; dpemu_space_config.tlb_entries): the pages of a
 * space that may be visible, in the order they entered it, oldest first -
 * a doubly linked list of entries, and an open-addressing hash table
 * (linear probing) from page index to entry.  All under its lock (lock
 * order: internal.h's table, 3a); cap 0: the space has no TLB, and nothing
 * here is allocated.
 */
struct tlb_entry {
	uint64_t pg;      /* the page                                          */
	uint32_t older;   /* entry + 1 that entered before it; 0: none (free:
	                     the next free entry + 1)                          */
	uint32_t newer;   /* entry + 1 that entered after it; 0: none          */
};

struct tlb {
	struct lock lock;
	uint32_t cap;     /* entries before the oldest must go; 0: no TLB      */
	uint32_t size;    /* cap + TLB_SLACK: room for going over capacity
	                     while victims' stripes are busy (tlb.c)           */
	uint32_t count;   /* entries in use                                    */
	uint32_t oldest, newest; /* entry + 1; 0: empty                        */
	uint32_t free;    /* a freed entry + 1; 0: none                        */
	uint32_t high;    /* entries [0, high) have been handed out once       */
	unsigned hbits;   /* the hash table has 2^hbits slots (>= 2 size)      */
	struct tlb_entry *entry; /* size entries                               */
	uint32_t *hash;   /* entry + 1 per slot; 0: empty                      */
	size_t bytes;     /* the mmap holding entry and hash                   */
	uint64_t over;    /* fills that left it over cap (victims busy)        */
};

/* A space with an emulated TLB (tlb.c): at most s->tlb.cap pages visible. */
#define tlb_on(s) ((s)->tlb.cap != 0)

struct dpemu_space {
	struct ptl ptl[PTL_STRIPES]; /* split page-table locks (above)        */
	struct lock lock;          /* the tree's shape, the mapping table      */
	struct dpemu_pool *pool;
	uintptr_t base;            /* the arena: [base, base + size)           */
	size_t size;
	uint64_t npages;
	unsigned page_shift;
	uint64_t colour;           /* identity frame of page 0                 */
	size_t fault_around;
	enum dpemu_backend backend;
	enum hostmode hostmode;    /* how the arena shows frames (hostmap.c)   */
	int uffd;                  /* userfaultfd, -1 unless HOSTMODE_UFFD     */
	enum dpemu_uffd_mode uffd_mode;
	bool uffd_wp;              /* the kernel write-protects shmem pages    */

	/* page table */
	unsigned levels;
	uint64_t *root;
	struct node_slab *slabs;   /* where nodes come from                    */
	uint64_t *free_nodes;      /* singly linked through word 0             */
	uint64_t nodes_in_use;

	/* mappings, indexed by id - 1 */
	struct mapping *maps;
	uint32_t maps_cap;
	uint32_t maps_live;

	int registry_slot;
	struct dpemu_space *pool_next; /* the pool's list of spaces (evict.c)   */
	struct dpemu_space *pool_prev;

	uint32_t id;               /* 1, 2, ... in order of creation (trace)   */
	struct tlb tlb;            /* the emulated TLB (tlb.c); cap 0: none    */
	struct lat_stripe *lat;    /* PTL_STRIPES histograms (struct ptl)      */
	size_t alloc_bytes;        /* the mmap that holds the space and lat    */
};

static inline uint64_t space_page_index(const struct dpemu_space *s, const void *addr)
{
	return ((uintptr_t)addr - s->base) >> s->page_shift;
}
static inline void *space_page_addr(const struct dpemu_space *s, uint64_t pg)
{
	return (void *)(s->base + ((uintptr_t)pg << s->page_shift));
}
/* The frame whose memfd offset lines up with page pg (see hostmap.c). */
static inline uint64_t space_identity_frame(const struct dpemu_space *s, uint64_t pg)
{
	return (s->colour + pg) % s->pool->nframes;
}

/* The stripe of page pg's leaf (see struct ptl). */
static inline struct ptl *space_ptl(struct dpemu_space *s, uint64_t pg)
{
	return &s->ptl[(pg >> PT_BITS) % PTL_STRIPES];
}

/* Page pg's share of the space's counters (its stripe held). */
#define PG_STATS(s, pg) (space_ptl((s), (pg))->stats)

/* Stripe ptl's histograms. */
static inline struct lat_stripe *space_lat(struct dpemu_space *s, const struct ptl *ptl)
{
	return &s->lat[ptl - s->ptl];
}

/*
 * The emulated TLB (tlb.c).  What tlb_fill did with a page about to be
 * shown: it was in the TLB already (TLB_HIT: hidden by someone else, a
 * policy's reference bit), it entered it now (TLB_FILLED: a miss, and
 * another page may have been hidden to make room), or there is no room
 * at all (TLB_FULL: every entry's page is busy and the TLB as far over
 * capacity as it may go; the page must stay hidden, its access retries).
 */
enum tlb_fill { TLB_HIT, TLB_FILLED, TLB_FULL };
/* API side. */
int tlb_init(struct dpemu_space *s, size_t entries);
void tlb_fini(struct dpemu_space *s);
/* Fault path: safe (page pg's stripe held; the TLB's lock, host calls). */
enum tlb_fill tlb_fill(struct dpemu_space *s, uint64_t pg);
void tlb_forget(struct dpemu_space *s, uint64_t pg);
bool tlb_holds(struct dpemu_space *s, uint64_t pg);

/* Take all of s: s->lock, then every stripe (pagetable.c; API side). */
void space_lock_all(struct dpemu_space *s);
void space_unlock_all(struct dpemu_space *s);

/* API side (space.c). */
int space_new(struct dpemu_pool *pool, size_t size, size_t fault_around, struct dpemu_space **out);
void space_free(struct dpemu_space *s);
int space_publish(struct dpemu_space *s);
int space_register(struct dpemu_space *s);

/* The registry (registry.c).  Fault path: safe. */
#define REGISTRY_SLOTS 4096
struct dpemu_space *registry_find(const void *addr);
unsigned registry_enter(void);
void registry_leave(unsigned ticket);
void registry_revoke_all(void);
/* API side. */
int registry_add(struct dpemu_space *s);
void registry_remove(struct dpemu_space *s);

/* Whole arenas (arena.c): API side, but arena_reset is async-signal-safe. */
void *arena_reserve(size_t size, size_t ps);
int arena_release(void *base, size_t size);
int arena_reset(struct dpemu_space *s);
int arena_uffd_arm(struct dpemu_space *s);

/* ------------------------------------------------------------------------ */
/* Host view (hostmap.c) - all fault-path safe                               */
/* ------------------------------------------------------------------------ */
/*
 * The host-view bits of a PTE (B, V, L, U, Z and HP, drawn above) are
 * hostmap.c's: they say what the host shows at the page, and only
 * hostmap.c and the helpers just below change them; everyone else reads
 * them at most.
 */

/*
 * Whether page writes to mapping m must trap first so that the page's
 * dirty bit is exact: shared file pages (written back only if dirty), and
 * every page of a pool with a replacement policy (a clean page is evicted
 * without being written anywhere).
 */
static inline bool pte_dirty_exact(const struct dpemu_space *s, const struct mapping *m)
{
	return s->pool->policy != DPEMU_POLICY_NONE || mapping_tracks_dirty(m);
}

/* The protection the host should give present page e: its PROT minus
 * write where a write must trap first (copy-on-write, or exact dirty). */
int pte_effective_prot(const struct dpemu_space *s, uint64_t e);

/* Page *e takes frame f.  Z records whether the memfd still has a hole at
 * f (f known zero and never given host memory), which userfaultfd must
 * fill with UFFDIO_COPY; from here f is not "known zero" any more.  (A
 * caller that wrote f through the direct map clears f's zero mark first.) */
static inline void host_take_frame(struct dpemu_pool *pool, uint64_t *e, uint32_t f)
{
	*e = pte_with_frame(*e, f) & ~PTE_Z;
	if (pool->frames[f].zero && !pool->populated)
		*e |= PTE_Z;
	pool->frames[f].zero = 0;
}

/* What the host view leaves of PTE e when its page leaves its mapping: the
 * arena there is still shown as B and HP say, and no frame is. */
static inline uint64_t host_view_only(uint64_t e) { return e & PTE_HOST_BITS; }

/* PTE e without any host view: for a new space's copy of a page (fork),
 * whose arena shows nothing yet. */
static inline uint64_t host_view_none(uint64_t e) { return e & ~(PTE_HOST_BITS | PTE_V | PTE_L); }

/* PTE e whose VMA protection is no longer known (a revoke failed): every
 * protection, so the next change sets it for certain. */
static inline uint64_t host_view_unknown(uint64_t e)
{
	return pte_with_hostprot(e, PROT_READ | PROT_WRITE | PROT_EXEC);
}

struct host_protbatch;
int hostmap_probe(int memfd, size_t page_size, enum hostmode *mode);
int host_revoke(struct dpemu_space *s, uint64_t pg, uint64_t *e);
int host_force_prot(struct dpemu_space *s, uint64_t pg, uint64_t *e);
int host_settle(struct dpemu_space *s, uint64_t pg, uint64_t *e);
void host_narrow(struct dpemu_space *s, struct host_protbatch *b, uint64_t pg, uint64_t *e);
int host_show(struct dpemu_space *s, uint64_t pg, uint64_t *e, bool frame_changed);
int host_show_run(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t n);
int host_update_prot(struct dpemu_space *s, uint64_t pg, uint64_t *e);

/* Batches of pages to hide (make inaccessible again), flushed in runs. */
struct host_batch {
	uint64_t first, n;
	int err;
};
void host_hide(struct dpemu_space *s, struct host_batch *b, uint64_t pg, uint64_t *e);
void host_flush(struct dpemu_space *s, struct host_batch *b);
int host_hide_now(struct dpemu_space *s, uint64_t pg, uint64_t *e);
int host_scrub(struct dpemu_space *s, uint64_t pg, uint64_t *e);

/* Batches of backed pages whose VMA protection is to become `prot`, or,
 * with prot -1, that are to be write-protected through userfaultfd. */
struct host_protbatch {
	uint64_t first, n;
	int prot;
	int err;
	bool exact; /* set VMA protections even where HP says they are right */
};
void host_setprot(struct dpemu_space *s, struct host_protbatch *b, uint64_t pg,
                  uint64_t *e, int prot);
void host_setprot_flush(struct dpemu_space *s, struct host_protbatch *b);

/* The host process forked and this is the child (set by fork.c's atfork
 * handler, defined in thread.c): the pool is not ours. */
extern atomic_bool _dpemu_in_forked_child;
static inline bool pool_inherited(const struct dpemu_pool *pool)
{
	return atomic_load(&_dpemu_in_forked_child) && pool->owner != getpid();
}
void fork_guard_install(void);

/* Remove pages from their mappings (mapping.c, API side). */
int space_unmap_pages(struct dpemu_space *s, uint64_t first, uint64_t n);
int space_flush_pages(struct dpemu_space *s);
void space_drop_pages(struct dpemu_space *s);


/* ------------------------------------------------------------------------ */
/* Faults (fault.c, trap_sigsegv.c)                                          */
/* ------------------------------------------------------------------------ */

enum resolve_result { RESOLVED, UNRESOLVED };

/* What the trap layer tells fault_resolve of a fault, for its latency and
 * its trace record. */
struct trap_stamp {
	uint64_t t0;  /* now_ns() when the trap was entered; 0: not timed     */
	int tid;      /* the faulting thread; 0: the calling thread          */
};

/* Flags of fault_resolve. */
#define RESOLVE_RETRIED 1 /* an unresolved access will retry and be reported
                             by the SIGSEGV path: count it there           */
#define RESOLVE_NO_TRAP 2 /* not a trap (dpemu_prefault): count nothing   */

/* Fault path: the resolver shared by every backend. */
enum resolve_result fault_resolve(struct dpemu_space *s, void *addr,
                                  enum dpemu_access access,
                                  const struct trap_stamp *stamp,
                                  struct dpemu_fault *fault, char *why,
                                  size_t whylen, unsigned flags);
bool fault_revoke(struct dpemu_space *s, void *addr, enum dpemu_access access);
void fault_unrevoke(struct dpemu_space *s, void *addr);
/* Make sure dpemu's SIGSEGV handling is installed and first in line. */
int trap_sigsegv_install(void);
/* The same for SIGBUS, which userfaultfd's SIGBUS mode raises. */
int trap_sigbus_install(void);
/* dpemu's front SIGSEGV handler, once trap_sigsegv_install has installed
 * it (defined in thread.c: state of the process, read by trap_uffd.c). */
extern void (*_Atomic _dpemu_sigsegv_front)(int, siginfo_t *, void *);
/* Fault path: whether SIGSEGV's action is dpemu's (front) handler now. */
static inline bool trap_sigsegv_front(void)
{
	struct sigaction current;
	void (*front)(int, siginfo_t *, void *) = atomic_load(&_dpemu_sigsegv_front);

	return front && sigaction(SIGSEGV, NULL, &current) == 0 &&
	       (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == front;
}

/* The userfaultfd backend (trap_uffd.c). */
int uffd_space_open(struct dpemu_space *s, enum dpemu_uffd_mode mode);
void uffd_space_close(struct dpemu_space *s);
void uffd_forget_handler(void);
int uffd_available(enum dpemu_uffd_mode mode);
/* Fault path: safe (ioctls only). */
int uffd_register(struct dpemu_space *s, uint64_t pg, uint64_t n);
int uffd_continue(struct dpemu_space *s, uint64_t pg, uint64_t n, bool wp);
int uffd_zero(struct dpemu_space *s, uint64_t pg, bool wp);
int uffd_writeprotect(struct dpemu_space *s, uint64_t pg, uint64_t n, bool wp);
void uffd_wake(struct dpemu_space *s, void *addr);
bool uffd_resolve(struct dpemu_space *s, void *addr, enum dpemu_access access,
                  const struct trap_stamp *stamp);
/* The si_code of the SIGSEGV that trap_uffd.c queues to a thread whose
 * system call it refused (any negative code the kernel and libc do not use). */
#define UFFD_SI_UNREVOKE (-0x6470)
/* Signal context (dpemu's SIGSEGV handler): give the calling thread's pages
 * revoked for its failed system call their view back; how many it had. */
int uffd_unrevoke_mine(void);

/* ------------------------------------------------------------------------ */
/* Swap store (swap.c) and replacement (evict.c)                             */
/* ------------------------------------------------------------------------ */

/* API side. */
int swap_open(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg, size_t nslots);
void swap_close(struct dpemu_pool *pool);
int evict_init(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg);
void evict_fini(struct dpemu_pool *pool);
void pool_add_space(struct dpemu_space *s);
void pool_remove_space(struct dpemu_space *s);

/* Fault path: safe (the swap lock, pread/pwrite, no allocation). */
int swap_alloc(struct dpemu_pool *pool, uint32_t *slot);
void swap_dup(struct dpemu_pool *pool, uint32_t slot);
void swap_put(struct dpemu_pool *pool, uint32_t slot);
void swap_cache_add(struct dpemu_pool *pool, uint32_t slot, uint32_t f);
bool swap_uncache(struct dpemu_pool *pool, uint32_t f);
void swap_cache_release(struct dpemu_pool *pool, uint32_t f);
uint32_t swap_fetch_slot(struct dpemu_pool *pool, uint32_t slot, uint64_t preferred,
                         uint64_t rmap, int *err, bool *read, bool *others);
int swap_write(struct dpemu_pool *pool, uint32_t slot, uint32_t f);
/* API side (dpemu_read): a slot's contents, without a swap-in. */
int swap_read(struct dpemu_pool *pool, uint32_t slot, void *buf);
bool swap_exclusive(struct dpemu_pool *pool, uint32_t f);
void swap_forget(struct dpemu_pool *pool, uint32_t f);

/* The backing store (store.c).  API side: */
int store_open(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg, size_t nslots);
void store_close(struct dpemu_pool *pool);
int store_parse_latency(const char *s, uint64_t *lo, uint64_t *hi);
/* Fault path: safe (futex, the store's callbacks on the calling thread
 * only for a signal-safe store; no lock the store thread needs). */
int store_read(struct dpemu_pool *pool, uint64_t slot, void *buf);
int store_write(struct dpemu_pool *pool, uint64_t slot, const void *buf);
void store_discard(struct dpemu_pool *pool, uint64_t slot);
int store_read_batch(struct dpemu_pool *pool, const uint64_t *slots, void *const *bufs, size_t n);
int store_write_batch(struct dpemu_pool *pool, const uint64_t *slots, const void *const *bufs,
                      size_t n);
/* The stores dpemu has: the file store (file.c), and the Redis store
 * (redis.c; NULL when built without hiredis). */
extern const struct dpemu_store_ops file_store_ops;
const struct dpemu_store_ops *redis_store_ops(void);
/* Called first on the store thread, where defined (weak): dpemu run's
 * preload library sends that thread's malloc family to glibc, so that what
 * a store's library allocates never lands in the space it serves. */
void store_thread_hook(void) __attribute__((weak));
/* File mappings' pages (file.c).  Fault path: safe. */
int file_write_page(int fd, off_t off, const void *data, size_t len);
int file_read_page(int fd, off_t off, void *dst, size_t len);

/* Take one frame back for the pool (no lock of a space held).  0: a frame was
 * freed (*victim: the frame evicted, or FRAME_NONE); else a negative errno
 * with why (a message) filled in. */
int pool_evict(struct dpemu_pool *pool, char *why, size_t whylen, uint32_t *victim);

/* ------------------------------------------------------------------------ */
/* The event trace (trace.c, observe.c)                                      */
/* ------------------------------------------------------------------------ */

struct trace_ring;

/* Append record r (time_ns: CLOCK_MONOTONIC now, 0: take it now; tid 0:
 * the calling thread's) to pool's trace.  Fault path: safe (lock-free, no
 * allocation, never waits); a full ring drops it and counts the drop. */
void trace_put(struct dpemu_pool *pool, struct dpemu_trace_record *r);

/* Whether pool is traced: one relaxed load, all that tracing costs when
 * it is off. */
static inline bool trace_on(const struct dpemu_pool *pool)
{
	return atomic_load_explicit(&((struct dpemu_pool *)pool)->trace,
	                            memory_order_relaxed) != NULL;
}

/* Trace event ev of frame f (UINT32_MAX: none), the other fields as
 * designated initializers: TRACE(pool, DPEMU_EVENT_MAP, UINT32_MAX,
 * .space = s->id, .addr = a).  Costs one relaxed load when off. */
#define TRACE(pool, ev, f, ...)                                                \
	do {                                                                   \
		if (trace_on(pool)) {                                          \
			struct dpemu_trace_record r_ = { .frame = (f),         \
			                                 .event = (ev), __VA_ARGS__ }; \
			trace_put((pool), &r_);                                \
		}                                                              \
	} while (0)

/* API side (trace_mutex of observe.c held): start (0, -EBUSY, -EINVAL
 * for a bad DPEMU_TRACE_RING, the errno of opening or writing path; the
 * message set) and stop (0 or the errno of the first failed write) the
 * trace of pool. */
int trace_start(struct dpemu_pool *pool, const char *path);
int trace_stop(struct dpemu_pool *pool);
/* In a child of fork(2): drop the inherited trace (no thread here). */
void trace_forget(struct dpemu_pool *pool);

/* observe.c, for pool.c: what the environment asks of a new pool
 * (DPEMU_TRACE, DPEMU_NO_LATENCY; 0 or the error, message set), and the
 * end of its trace at dpemu_pool_destroy. */
int observe_pool_start(struct dpemu_pool *pool);
void observe_pool_stop(struct dpemu_pool *pool);

/* ------------------------------------------------------------------------ */
/* Errors (error.c)                                                          */
/* ------------------------------------------------------------------------ */

/* Record the calling thread's message and return err (negative errno). */
int set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error(void);
int wrap_error(int err, const char *fn);

/* Async-signal-safe formatting for the fault path (no stdio). */
size_t fmt_str(char *buf, size_t len, size_t pos, const char *s);
size_t fmt_hex(char *buf, size_t len, size_t pos, uint64_t v);
size_t fmt_dec(char *buf, size_t len, size_t pos, uint64_t v);
/* err's description (negative errno): dpemu_strerror's where it has one
 * of its own, else "errno N" - never strerror(3), which is not safe here. */
size_t fmt_errno(char *buf, size_t len, size_t pos, int err);

#endif /* DPEMU_INTERNAL_H */
