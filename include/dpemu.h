/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dpemu.h - the public interface of libdpemu, a userspace demand-paging
 * emulator.
 *
 * A program reserves an arena of virtual addresses (a dpemu_space).  Every
 * touch of a page that has no frame yet traps, and dpemu resolves the fault
 * the way a kernel would: it finds the lazy mapping that covers the address,
 * takes a frame from a simulated pool of physical memory (a dpemu_pool),
 * fills it (zeros, or bytes read from a file), records it in the space's page
 * table and makes it visible at the faulting address.  The access then
 * resumes as if nothing had happened.
 *
 * Conventions (see dpemu(3)):
 *  - Functions that can fail return int: 0 on success, a negative errno value
 *    on failure.  dpemu_strerror() describes any of them, and
 *    dpemu_last_error() gives the calling thread's detailed message for its
 *    most recent failure.  No function aborts, exits or prints on bad input.
 *  - Objects are opaque.  Configuration structs are zero-initialisable: a
 *    zero field means the default.  They may grow at the end in later
 *    versions; always zero the whole struct before filling it.
 *  - All functions are thread-safe; faults may come from any thread.
 *  - Structs passed by pointer (configs read, results and handles written)
 *    may lie in an arena, also in a page that is not present: dpemu touches
 *    them holding none of its locks, as an ordinary access that faults.
 */
#ifndef DPEMU_H
#define DPEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/mman.h> /* PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(DPEMU_BUILDING)
#define DPEMU_API __attribute__((visibility("default")))
#else
#define DPEMU_API
#endif

#define DPEMU_VERSION_MAJOR 0
#define DPEMU_VERSION_MINOR 1
#define DPEMU_VERSION_PATCH 0

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH". */
DPEMU_API const char *dpemu_version(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Describe a value returned by a dpemu function: 0, or a negative errno.
 * Never returns NULL; unknown values get a generic description.
 */
DPEMU_API const char *dpemu_strerror(int err);

/*
 * The calling thread's message for its most recent failed dpemu call: what
 * was wrong and what to do about it (for example which argument was bad, or
 * that vm.max_map_count was reached).  An empty string if no call of this
 * thread has failed yet.  The text stays valid until this thread's next
 * failing dpemu call.
 */
DPEMU_API const char *dpemu_last_error(void);

/* ------------------------------------------------------------------------ */
/* Pool: simulated physical memory                                           */
/* ------------------------------------------------------------------------ */

typedef struct dpemu_pool dpemu_pool;

/*
 * What a full pool does when a page needs a frame (see dpemu_policy(7)).
 * Every policy replaces globally: the victim may be any resident frame of
 * the pool, whichever space maps it.
 */
enum dpemu_policy {
	DPEMU_POLICY_NONE,   /* no replacement: a full pool is an
	                        out-of-frames fault the program sees          */
	DPEMU_POLICY_FIFO,   /* the frame loaded first                         */
	DPEMU_POLICY_CLOCK,  /* second chance: FIFO order, but a frame used
	                        since the hand last passed loses its reference
	                        bit and goes round again                      */
	DPEMU_POLICY_LRU,    /* LRU approximated by aging: an 8-bit counter per
	                        frame, shifted right at every eviction with the
	                        reference bit entering at the top; the lowest
	                        counter goes                                   */
	DPEMU_POLICY_RANDOM, /* a uniformly random frame (seeded: reproducible) */
	DPEMU_POLICY_CUSTOM, /* the program's own: dpemu_pool_config.custom   */
};

/*
 * A replacement policy of the program's own (DPEMU_POLICY_CUSTOM), as a
 * student writes one: see dpemu_policy(7), "Writing a policy", and the
 * examples in doc/policies/.
 *
 * When the pool is full and a page needs a frame, pick() is shown every
 * frame it may take, as a kernel's policy sees them, and returns the one
 * to evict.  The library then does the rest (hides the frame's pages,
 * writes dirty contents to swap or to their file, frees the frame).
 *
 * The pool's clock counts frames loaded: every frame handed to a page
 * (a first touch, a swap-in, a file read, a copy-on-write copy) is stamped
 * with the clock's value and advances it by one, so "now" is the stamp the
 * frame being made room for will get - virtual time, in loads.
 */
struct dpemu_frame_view {
	uint32_t frame;      /* frame number, 0 .. frames - 1                   */
	uint32_t pages;      /* pages mapping it now (> 1: shared since a fork) */
	uint64_t loaded;     /* the pool's clock when the frame got its page    */
	uint8_t referenced;  /* 1: a page used it since its bit was last
	                        cleared (set when loaded)                      */
	uint8_t dirty;       /* 1: written since filled from its backing store
	                        (evicting it costs a write)                    */
	/* Out: what the policy asks for frames it does not pick (0 on entry): */
	uint8_t clear;       /* clear the reference bit; the frame's pages trap
	                        on their next use, which sets it again         */
	uint8_t requeue;     /* move the frame to the young end of the load
	                        order (second chance); `loaded` keeps its stamp */
};

struct dpemu_policy_ops {
	const char *name;    /* what reports call it, for example "wsclock"   */
	void *arg;           /* handed to init (without init: the pool's state) */
	/*
	 * Optional, API side (may allocate): called once by dpemu_pool_create
	 * with the pool's frame count, before any fault, so the policy can
	 * set up its state for this pool (per-frame state indexed by frame
	 * number) and store it in *state: what pick and fini get.  Several
	 * pools may use one ops at once, each with its own state.  0, or a
	 * negative errno: dpemu_pool_create fails with it.
	 */
	int (*init)(void *arg, size_t frames, void **state);
	/* Optional, API side: called once by dpemu_pool_destroy with the
	 * pool's state (not after a failed init). */
	void (*fini)(void *state);
	/*
	 * Required, fault path: choose a victim.  frames[0 .. n) is every
	 * frame that may be evicted now, in load order (oldest first; a
	 * requeued frame counts as loaded when requeued), n >= 1.  now: the
	 * pool's clock; now_ns: CLOCK_MONOTONIC in nanoseconds.  Returns the
	 * victim's index in frames[] (an index >= n takes frames[0]); may set
	 * .clear and .requeue on the others (ignored on the victim).
	 * It runs in the faulting thread (inside a signal handler with the
	 * SIGSEGV backend) with the pool's frame lock held, so it may read
	 * and write its own memory and call async-signal-safe functions that
	 * take no lock - no malloc, no stdio, no dpemu_* function.
	 */
	size_t (*pick)(void *state, struct dpemu_frame_view *frames, size_t n, uint64_t now,
	               uint64_t now_ns);
};

/*
 * A backing store: where a pool's evicted pages go (dpemu_store(3)).  The
 * pool numbers the pages it puts there by slot, 0 .. nslots-1, and every
 * page is page_size bytes.  Callbacks return 0 or a negative errno; a
 * page the store has lost is -EIO (never a page of zeros): the program
 * sees a DPEMU_FAULT_HOST fault with that error for it.
 *
 * Where they run.  open and close run inside dpemu_pool_create and
 * dpemu_pool_destroy.  read, write, discard and the batch callbacks run
 * on the fault path: inside a SIGSEGV handler or userfaultfd's handler
 * thread, while dpemu holds its locks.  A store whose flags include
 * DPEMU_STORE_SIGNAL_SAFE promises that these are async-signal-safe (no
 * malloc, no stdio, no lock another thread may hold - pread and pwrite
 * are fine) and never touch dpemu memory: they are called on the
 * faulting thread.  Any other store is driven by a store thread that
 * dpemu starts at create (every signal blocked): the faulting thread hands
 * it the request and sleeps on a futex until it answers, holding nothing
 * the thread needs.  Its callbacks may then use malloc, sockets and
 * stdio, but must still not touch memory of a dpemu space.
 */
#define DPEMU_STORE_SIGNAL_SAFE 1u

struct dpemu_store_ops {
	const char *name;  /* for messages ("my-store"); NULL: a generic name */
	unsigned flags;    /* DPEMU_STORE_SIGNAL_SAFE, or 0                   */
	/* API side, optional: make the store for nslots pages of page_size
	 * bytes from arg (dpemu_pool_config.store_arg), *store its object.
	 * NULL: the object is arg itself. */
	int (*open)(void *arg, uint64_t nslots, size_t page_size, void **store);
	/* API side, optional: free everything, the pages too. */
	void (*close)(void *store);
	/* Fault path, required: the page of slot into buf / buf into slot. */
	int (*read)(void *store, uint64_t slot, void *buf);
	int (*write)(void *store, uint64_t slot, const void *buf);
	/* Fault path, optional: slot holds nothing any more. */
	void (*discard)(void *store, uint64_t slot);
	/* Fault path, optional: n pages in one go (NULL: n single calls). */
	int (*read_batch)(void *store, const uint64_t *slots, void *const *bufs, size_t n);
	int (*write_batch)(void *store, const uint64_t *slots, const void *const *bufs,
	                   size_t n);
};

struct dpemu_pool_config {
	size_t frames;    /* capacity in frames, > 0 (at most 2^32 - 2)         */
	size_t page_size; /* 0: the host page size; else a power-of-two multiple
	                     of it.  One fault maps a whole emulated page.      */
	enum dpemu_policy policy; /* DPEMU_POLICY_NONE (0): no replacement      */
	const char *swap_path;    /* with a policy: the file evicted anonymous
	                             and dirty private pages go to (created if
	                             missing; its old contents are overwritten);
	                             a regular file on a file system that stores
	                             data; "redis://HOST[:PORT][/DB]": a Redis
	                             server (dpemu_store(3)); NULL: an unlinked
	                             temporary file                            */
	uint64_t seed;            /* DPEMU_POLICY_RANDOM: the generator's seed  */
	size_t swap_slots;        /* with a policy: capacity of the swap store in
	                             pages; 0: 16 x frames                      */
	bool populate;            /* give every frame its host memory now,
	                             zeroed, as a machine's physical memory
	                             exists before it is used: first touches then
	                             pay no host page allocation.  Commits
	                             frames x page_size bytes at once, if the
	                             host can (MemAvailable, tmpfs and memory
	                             cgroup limits; else -ENOMEM, before
	                             anything is committed).  false:
	                             memory is committed as frames are first
	                             written                                    */
	const struct dpemu_store_ops *store; /* with a policy: the program's
	                             backing store instead of swap_path (not
	                             both); NULL: swap_path's                   */
	void *store_arg;          /* given to store->open                       */
	uint64_t store_latency_ns; /* emulated latency added to every access to
	                             the backing store (read, write, batch);
	                             0: DPEMU_STORE_LATENCY's, else none        */
	uint64_t store_latency_max_ns; /* > store_latency_ns: each access draws
	                             its latency uniformly from the range       */
	const struct dpemu_policy_ops *custom; /* DPEMU_POLICY_CUSTOM (then
	                             required, and only then): the policy, copied
	                             at create; its arg must outlive the pool   */
};

/*
 * Create a pool of cfg->frames frames of cfg->page_size bytes, carved from one
 * anonymous shared memory object.  Host memory is committed only as frames
 * are first written, or all at once with cfg->populate.  With a replacement
 * policy, the swap store is opened (or created) now.
 * Returns 0 and sets *out, or -EINVAL (bad argument: zero frames, page_size
 * not a power-of-two multiple of the host page, too many frames, unknown
 * policy, swap_path or swap_slots without a policy, DPEMU_POLICY_CUSTOM
 * without custom or custom->pick, custom with another policy, an environment variable
 * DPEMU_HOSTMAP that is neither unset, empty nor "mmap", or a bad
 * DPEMU_TRACE_RING with DPEMU_TRACE set), -ENOMEM (also: populate
 * asks for more than the host can commit, or the host could not populate
 * the frames), -EISDIR (swap_path is a directory), -ENODEV (the swap store
 * cannot hold pages: not a regular file, or on procfs, sysfs and the like),
 * -ENOSPC (the swap store cannot grow to swap_slots pages: RLIMIT_FSIZE,
 * the file system's largest file), or the error
 * of the failing system call (opening swap_path: -EACCES, -ENOENT, ...;
 * opening the trace file DPEMU_TRACE names, with a message naming it), or
 * the error custom->init returned.
 */
DPEMU_API int dpemu_pool_create(const struct dpemu_pool_config *cfg,
                                dpemu_pool **out);

/* Destroy an unused pool.  -EBUSY while any space still uses it. */
DPEMU_API int dpemu_pool_destroy(dpemu_pool *pool);

struct dpemu_pool_stats {
	uint64_t frames_total;  /* capacity                                  */
	uint64_t frames_free;   /* on the free list                          */
	uint64_t frames_used;   /* not free: mapped by a page, or kept by a
	                           forked shared mapping or the swap cache   */
	uint64_t frames_shared; /* mapped by more than one page              */
	uint64_t page_size;     /* bytes per frame                           */
	uint64_t spaces;        /* spaces currently using the pool           */
	enum dpemu_policy policy;
	uint64_t swap_slots;    /* capacity of the swap store (0: none)      */
	uint64_t swap_slots_used; /* slots holding a page                    */
	uint64_t evictions;     /* frames taken back by the policy           */
	uint64_t swap_outs;     /* pages written to the swap store           */
	uint64_t swap_ins;      /* pages read back from it                   */
	uint64_t writebacks;    /* dirty shared file pages written back to
	                           their file when evicted                   */
	uint64_t zero_maps;     /* pages mapping the shared zero frame: pages
	                           of private anonymous mappings that were only
	                           read so far (not counted in frames_*); never
	                           in a pool with a replacement policy       */
	uint64_t frames_used_peak; /* the most frames that were in use at once
	                           since the pool was created: its high-water
	                           mark of frames_used                      */
};

/* A short name for a policy ("none", "fifo", "clock", "lru", "random",
 * "custom"). */
DPEMU_API const char *dpemu_policy_name(enum dpemu_policy policy);

/* Fill *out with a consistent snapshot.  -EINVAL on NULL arguments. */
DPEMU_API int dpemu_pool_stats(const dpemu_pool *pool,
                               struct dpemu_pool_stats *out);

/* ------------------------------------------------------------------------ */
/* Space: one arena of virtual addresses and its page table                  */
/* ------------------------------------------------------------------------ */

typedef struct dpemu_space dpemu_space;

enum dpemu_backend {
	DPEMU_BACKEND_AUTO,    /* userfaultfd where the kernel allows it, else
	                          SIGSEGV; the environment variable DPEMU_BACKEND
	                          (sigsegv, uffd or uffd-sigbus) overrides AUTO  */
	DPEMU_BACKEND_SIGSEGV, /* traps through GNU libsigsegv; faults taken in
	                          system calls fail with EFAULT (dpemu_prefault) */
	DPEMU_BACKEND_UFFD,    /* Linux userfaultfd (see enum dpemu_uffd_mode)   */
};

/* How the userfaultfd backend takes its faults. */
enum dpemu_uffd_mode {
	DPEMU_UFFD_THREAD, /* a handler thread resolves every fault, also those
	                      taken inside system calls (read(2) into a lazy
	                      page works); each fault costs a thread wake-up   */
	DPEMU_UFFD_SIGBUS, /* the faulting thread resolves its own fault in a
	                      SIGBUS handler: the fastest mode, but faults in
	                      system calls fail with EFAULT, as with SIGSEGV   */
};

struct dpemu_space_config {
	size_t reserve;              /* bytes of address space to reserve, > 0;
	                                rounded up to the pool's page size      */
	enum dpemu_backend backend;  /* see enum dpemu_backend                  */
	size_t fault_around;         /* pages made present per fault: the
	                                faulting one and its not-yet-present
	                                neighbours in the same mapping, within
	                                an aligned window of this many pages.
	                                0 or 1: exactly one page per fault.     */
	enum dpemu_uffd_mode uffd_mode; /* for DPEMU_BACKEND_UFFD (and AUTO
	                                when it picks userfaultfd)              */
	size_t tlb_entries;          /* an emulated TLB of this many entries:
	                                at most that many pages of the space
	                                are accessible at once, and touching
	                                another present page traps (a TLB
	                                miss: dpemu_stats.tlb_misses, event
	                                DPEMU_EVENT_TLB_MISS).  Replacement is
	                                FIFO over the misses, the only order a
	                                TLB whose hits do not trap can know.
	                                1: every change of page traps, and the
	                                trace is the program's page-reference
	                                string.  0: no TLB (the default); see
	                                dpemu_space_create(3)                   */
};

/*
 * Reserve an arena of cfg->reserve bytes (PROT_NONE: nothing is accessible
 * until mapped and touched) that takes its frames from pool.
 * Returns 0 and sets *out; -EINVAL (NULL argument, zero reserve, unknown
 * backend or uffd_mode, bad DPEMU_BACKEND value), -ENOSYS (userfaultfd was
 * asked for and this kernel lacks it or a feature dpemu needs), -EPERM
 * (userfaultfd was asked for and is not permitted: see
 * vm.unprivileged_userfaultfd), -ENOMEM (no address space, or too many
 * spaces), -EMFILE (no file descriptor for the userfaultfd).
 */
DPEMU_API int dpemu_space_create(dpemu_pool *pool,
                                 const struct dpemu_space_config *cfg,
                                 dpemu_space **out);

/*
 * Destroy a space: write back dirty pages of shared file mappings (and
 * fdatasync them, as dpemu_unmap does), return every frame to the pool and
 * release the arena.  Touching the arena afterwards is an ordinary
 * segmentation fault.  Returns 0 (the space is gone: host calls that fail
 * while it is torn down are not reported - the whole arena is unmapped,
 * so no frame stays visible), -EINVAL on NULL, or, when the write-back
 * fails, -EIO (a write failed) or fdatasync's error (-EIO, -ENOSPC,
 * -EDQUOT, ...): then nothing is destroyed - the space is usable and its
 * pages stay dirty - so that the caller can retry once the cause is
 * fixed, or dpemu_unmap the mappings (which drops pages whose write-back
 * fails) and destroy.
 */
DPEMU_API int dpemu_space_destroy(dpemu_space *space);

DPEMU_API void *dpemu_space_base(const dpemu_space *space);
DPEMU_API size_t dpemu_space_size(const dpemu_space *space);
/*
 * fork(2) for one space: *child becomes a new space of the same size over
 * the same pool, with every mapping at the same offset from its base.
 * Nothing is copied: resident pages of private mappings are shared
 * copy-on-write by parent and child (the first write to one copies it, or
 * keeps the frame if no other page maps it any more); pages of shared
 * mappings stay shared; pages never touched stay lazy in both.  File
 * mappings get their own duplicate of the fd.
 * Returns 0, or -EINVAL (NULL argument), -ENOMEM (memory, address space,
 * too many spaces, or host mappings: write-protecting the parent's pages
 * failed, another host error of that is returned as it is), -EPERM (the
 * space was inherited through fork(2)), or, for a userfaultfd parent, what
 * opening the child's userfaultfd returned (-EMFILE, -ENOSYS, -EPERM).  A
 * failed fork leaves the parent as it was (its pages may take one more
 * fault each) and makes no child.
 */
DPEMU_API int dpemu_space_fork(dpemu_space *parent, dpemu_space **child);

/* The backend the space uses (what DPEMU_BACKEND_AUTO chose). */
DPEMU_API enum dpemu_backend dpemu_space_backend(const dpemu_space *space);
/* The pool the space takes its frames from. */
DPEMU_API dpemu_pool *dpemu_space_pool(const dpemu_space *space);

/* ------------------------------------------------------------------------ */
/* Mappings (mmap-like)                                                      */
/* ------------------------------------------------------------------------ */

#define DPEMU_MAP_PRIVATE   0x01 /* exactly one of PRIVATE and SHARED        */
#define DPEMU_MAP_SHARED    0x02
#define DPEMU_MAP_ANONYMOUS 0x04 /* fd is -1; pages zero-filled on first touch */
#define DPEMU_MAP_FIXED     0x08 /* addr page-aligned, inside the arena, free */

/*
 * Create a lazy mapping of len bytes (rounded up to the page size) in space.
 * No frame is allocated: the first access to each page faults it in.
 * Anonymous pages are zero-filled; file pages are read from fd at offset
 * (bytes past the end of the file read as zero).  dpemu keeps its own
 * duplicate of fd, so the caller may close it.
 *
 * Without DPEMU_MAP_FIXED, addr is NULL or a hint and the mapping goes
 * wherever it fits.  Returns 0 and sets *out to the mapping's start, or:
 *   -EINVAL  NULL space or out, zero len, unknown flag bits or prot bits,
 *            neither or both of PRIVATE and SHARED, offset negative or not
 *            a multiple of the page size, anonymous with fd != -1, FIXED
 *            with an unaligned addr or a range outside the arena;
 *   -EEXIST  FIXED and part of the range is already mapped;
 *   -EBADF   file mapping with an fd that is not open, or opened O_PATH;
 *   -EACCES  fd not open for reading, or SHARED with PROT_WRITE and fd not
 *            open for writing or open with O_APPEND (as mmap(2): an
 *            append-only fd cannot write a page back at its offset);
 *   -ENODEV  fd is not a regular file;
 *   -EOVERFLOW  offset + len (rounded up) passes the largest off_t;
 *   -ENOMEM  no free range of len bytes, too many mappings (65535), or
 *            the host refused memory for the page or mapping table (the
 *            message says which, and RLIMIT_AS with its value if set).
 * On failure nothing changes (the count of live mappings included).
 */
DPEMU_API int dpemu_map(dpemu_space *space, void *addr, size_t len, int prot,
                        int flags, int fd, off_t offset, void **out);

/*
 * Remove mappings from [addr, addr+len): dirty pages of shared file mappings
 * are written back and made durable (one fdatasync(2) per mapping written,
 * unlike munmap(2)), frames are released (a frame returns to the pool when
 * no page maps it any more).  Parts of the range that are not mapped are
 * ignored, like munmap(2).  -EINVAL: NULL space, unaligned addr, zero len,
 * range outside the arena.  -EIO if a write-back failed, or fdatasync's
 * error (-EIO, -ENOSPC, ...) if the file could not be made durable (the
 * pages are unmapped all the same; the message says which).  -ENOMEM: the
 * host refused to take pages out of its view (vm.max_map_count); they are
 * unmapped all the same, and a frame it may still show is never reused.
 */
DPEMU_API int dpemu_unmap(dpemu_space *space, void *addr, size_t len);

/*
 * Change the protection of every page in [addr, addr+len).  -EINVAL: NULL
 * space, unaligned addr, zero len, unknown prot bits, range outside the
 * arena.  -ENOMEM: part of the range is not mapped, or the host refused a
 * change half way (vm.max_map_count); either way nothing is changed.
 * -EACCES: PROT_WRITE on a shared file mapping whose fd is read-only or
 * O_APPEND (as mprotect(2)).
 */
DPEMU_API int dpemu_protect(dpemu_space *space, void *addr, size_t len,
                            int prot);

/*
 * Write back the dirty pages of shared file mappings in [addr, addr+len)
 * and make them durable, like msync(MS_SYNC): the pages are written, then
 * each writable shared file mapping in the range is fdatasync'ed once (also
 * pages written back earlier by eviction reach the disk).  They stay
 * resident and become clean.  Other pages are ignored.  -EINVAL as for
 * dpemu_unmap; -EIO if a write failed; fdatasync's error (-EIO, -ENOSPC,
 * -EDQUOT, ...) if it failed: that mapping's resident pages in the range
 * are then dirty again, so a later dpemu_sync writes them again.
 */
DPEMU_API int dpemu_sync(dpemu_space *space, void *addr, size_t len);

/*
 * Give every page of [addr, addr+len) its frame now, as an access would:
 * with PROT_WRITE, as a write (copy-on-write pages are copied, shared file
 * pages marked dirty); with PROT_READ, as a read.  Use it before handing
 * the range to a system call under the SIGSEGV backend or the SIGBUS
 * userfaultfd mode, where a fault inside the call fails with EFAULT.
 * prot is PROT_READ, or PROT_WRITE (alone or with PROT_READ).  Counts no
 * fault in the statistics.
 * Returns 0, or -EINVAL (bad range or prot), -ENOMEM (part of the range is
 * not mapped), -EACCES (the pages do not allow that access), -ENOSPC (the
 * pool ran out of frames; the pages done so far stay present), -EPERM (the
 * space was inherited through fork(2)), or the error of the host operation
 * that failed (-EIO and the like when reading a file failed).
 */
DPEMU_API int dpemu_prefault(dpemu_space *space, void *addr, size_t len, int prot);

/* ------------------------------------------------------------------------ */
/* Introspection                                                             */
/* ------------------------------------------------------------------------ */

struct dpemu_stats {
	uint64_t faults;            /* every trap dpemu handled for this space  */
	uint64_t zero_fills;        /* pages filled with zeros                  */
	uint64_t file_reads;        /* pages read from a file                   */
	uint64_t cow_copies;        /* copy-on-write breaks that copied         */
	uint64_t cow_reuses;        /* breaks that reused the last reference    */
	uint64_t protection_faults; /* faults dpemu could not resolve           */
	uint64_t writebacks;        /* pages written back to a file             */
	uint64_t pages_resident;    /* pages that have a frame now              */
	uint64_t mappings;          /* live mappings                            */
	uint64_t metadata_bytes;    /* memory of this space's page table and
	                               mapping table                            */
	uint64_t evictions;         /* pages of this space whose frame the
	                               replacement policy took back             */
	uint64_t swap_outs;         /* of those, pages written to the swap store
	                               (a frame several spaces share counts once,
	                               in one of them)                          */
	uint64_t swap_ins;          /* pages read back from the swap store (a
	                               page another space had already brought
	                               back is found in memory, not counted)   */
	uint64_t reference_faults;  /* traps taken only to set a reference bit
	                               the policy had cleared (CLOCK, LRU)      */
	uint64_t tlb_misses;        /* traps taken only because the emulated
	                               TLB (tlb_entries) did not hold a present
	                               page: they refill it.  Faults that also
	                               fill or copy a frame count as that kind
	                               (and refill the TLB too)                 */
};

/* Fill *out with a snapshot of the space's counters.  -EINVAL on NULL. */
DPEMU_API int dpemu_space_stats(const dpemu_space *space,
                                struct dpemu_stats *out);

struct dpemu_page_info {
	bool mapped;          /* a mapping covers addr                          */
	bool present;         /* the page has a frame                           */
	int prot;             /* the page's PROT_* bits                          */
	bool dirty;           /* written since it was filled or written back     */
	bool cow;             /* shares its frame copy-on-write                  */
	uint64_t frame;       /* frame number, when present                      */
	uint32_t frame_refs;  /* pages mapping that frame, when present          */
	bool shared;          /* the mapping is DPEMU_MAP_SHARED                 */
	bool anonymous;       /* the mapping is DPEMU_MAP_ANONYMOUS              */
	void *mapping_start;  /* where dpemu_map placed the mapping that covers
	                         addr (parts of it may have been unmapped since;
	                         file_offset counts from its offset)          */
	off_t file_offset;    /* file offset of the page (file mappings)         */
	bool swapped;         /* not present: the contents are in swap_slot      */
	uint64_t swap_slot;   /* slot of the swap store, when swapped            */
	bool referenced;      /* present, and its reference bit is set           */
	bool zero;            /* maps the shared zero frame (read, never written:
	                         see dpemu_pool_stats zero_maps); frame is then
	                         the zero frame's number, frames_total          */
	bool in_tlb;          /* the space's emulated TLB (tlb_entries) holds the
	                         page: its accesses do not trap; false without a
	                         TLB                                             */
};

/*
 * Describe the page that holds addr.  Never faults anything in.  An address
 * outside the arena gives -EINVAL; an unmapped one inside it gives 0 with
 * out->mapped false.
 */
DPEMU_API int dpemu_query(dpemu_space *space, const void *addr,
                          struct dpemu_page_info *out);

/* Flags of dpemu_read. */
#define DPEMU_READ_SKIP_ZERO 0x1 /* leave buf as it is where a page reads as
                                    all zeros                              */

/*
 * Copy len bytes of space from addr on into buf as reads would see them,
 * but without an access: nothing is faulted in, no page changes state
 * (present, dirty, reference bits, swap slots), no counter moves, and
 * protection does not matter (PROT_NONE pages are read too).  Each page's
 * bytes come from where they are: its frame, its swap slot, or its file
 * (bytes past the end of the file read as zeros).  Addresses no mapping
 * covers, and pages of anonymous mappings that were never written, read
 * as zeros.  With DPEMU_READ_SKIP_ZERO, the bytes of every page that reads
 * as all zeros are not written: a copy into fresh anonymous memory then
 * commits host memory only for pages that hold something (a child of
 * fork(2) copying its parent's heap).  Pages are read one leaf of the page
 * table at a time (faults in the space wait meanwhile), each as it is at
 * that moment: a thread that writes during the call may be seen in some
 * pages and not in others.  buf may lie in an arena: it is written
 * holding none of dpemu's locks.
 * Returns 0, or -EINVAL (NULL space, NULL buf with len > 0, unknown flags,
 * a range outside the arena), -EPERM (the space was inherited through
 * fork(2)), -ENOMEM (no memory for dpemu's buffer), or the error of a
 * read of the swap store or of a file that failed (-EIO ...).
 */
DPEMU_API int dpemu_read(dpemu_space *space, const void *addr, void *buf, size_t len,
                         unsigned flags);

/* ------------------------------------------------------------------------ */
/* Faults dpemu cannot resolve                                               */
/* ------------------------------------------------------------------------ */

enum dpemu_fault_kind {
	DPEMU_FAULT_NONE,          /* no fault                                  */
	DPEMU_FAULT_UNMAPPED,      /* no mapping covers the address             */
	DPEMU_FAULT_PROTECTION,    /* the access breaks the page's protection   */
	DPEMU_FAULT_OUT_OF_FRAMES, /* the pool has no free frame                */
	DPEMU_FAULT_HOST,          /* the host refused an operation dpemu needed
	                              (a failed read of the backing file, or
	                              vm.max_map_count reached); see error      */
};

enum dpemu_access {
	DPEMU_ACCESS_UNKNOWN,
	DPEMU_ACCESS_READ,
	DPEMU_ACCESS_WRITE,
	DPEMU_ACCESS_EXEC,
};

struct dpemu_fault {
	enum dpemu_fault_kind kind;
	void *addr;                /* the faulting address                      */
	enum dpemu_access access;  /* what the access was, when the trap says   */
	dpemu_space *space;        /* the space whose arena holds addr          */
	int error;                 /* for DPEMU_FAULT_HOST: the negative errno  */
};

/*
 * Run fn(arg).  If an access in fn (on this thread) makes a fault dpemu
 * cannot resolve, fn is abandoned at that point, *out describes the fault
 * and dpemu_catch returns 1; nothing is printed and the process lives on.
 * If fn returns normally, returns 0 and out->kind is DPEMU_FAULT_NONE.
 * fn must not hold locks or own resources it would leak if abandoned.
 * Calls nest.  -EINVAL if fn or out is NULL.
 */
DPEMU_API int dpemu_catch(void (*fn)(void *arg), void *arg,
                          struct dpemu_fault *out);

/* A short name for a fault kind ("unmapped", "protection", ...). */
DPEMU_API const char *dpemu_fault_kind_name(enum dpemu_fault_kind kind);

/* ------------------------------------------------------------------------ */
/* Observing: latency histograms and the event trace                         */
/* ------------------------------------------------------------------------ */

/*
 * What happened, for the latency histograms (the resolved fault kinds and
 * DPEMU_EVENT_UNRESOLVED) and for the trace (all of them).  The values are
 * part of the trace file format (dpemu-trace(5)): never renumbered, new
 * ones only appended.
 */
enum dpemu_event {
	DPEMU_EVENT_ZERO_FILL = 1,  /* fault: a frame filled with zeros (also
	                               the first write to a zero-map page)      */
	DPEMU_EVENT_FILE_READ,      /* fault: a frame read from the file        */
	DPEMU_EVENT_COW_COPY,       /* fault: a copy-on-write break that copied */
	DPEMU_EVENT_COW_REUSE,      /* fault: a break that kept the frame       */
	DPEMU_EVENT_SWAP_IN,        /* fault: a page brought back from swap     */
	DPEMU_EVENT_ZERO_MAP,       /* fault: the shared zero frame mapped      */
	DPEMU_EVENT_REFERENCE,      /* fault: only a reference bit set again,
	                               or another trap on a present page, or a
	                               frame another space had filled (a forked
	                               shared mapping) shown: nothing filled    */
	DPEMU_EVENT_TLB_MISS,       /* fault: an emulated TLB miss (a present
	                               page shown again: tlb_entries)           */
	DPEMU_EVENT_UNRESOLVED,     /* fault: dpemu could not resolve it        */
	DPEMU_EVENT_EVICT,          /* a frame taken back by the policy         */
	DPEMU_EVENT_SWAP_OUT,       /* a page written to the swap store         */
	DPEMU_EVENT_WRITEBACK,      /* a page written back to its file          */
	DPEMU_EVENT_MAP,            /* dpemu_map                                */
	DPEMU_EVENT_UNMAP,          /* dpemu_unmap                              */
	DPEMU_EVENT_FORK,           /* dpemu_space_fork (space: the parent)     */
	DPEMU_EVENT_DESTROY,        /* dpemu_space_destroy                      */
	DPEMU_EVENT_LOST,           /* trace only: events dropped (aux: count)  */
};
#define DPEMU_EVENT_MAX DPEMU_EVENT_LOST

/* The event's name as the trace tools spell it ("zero-fill", "cow-copy",
 * ...), or "unknown". */
DPEMU_API const char *dpemu_event_name(enum dpemu_event event);

/* Fault latency, from the trap (the signal handler's entry; for the
 * userfaultfd handler thread, when it reads the event) to the access's
 * retry (the end of the resolution: in DPEMU_UFFD_THREAD mode the wake-up
 * of the faulting thread follows), in nanoseconds (CLOCK_MONOTONIC). */
struct dpemu_latency {
	uint64_t count;             /* faults counted                           */
	uint64_t min_ns, max_ns;    /* exact                                    */
	uint64_t mean_ns;           /* exact (sum / count)                      */
	uint64_t p50_ns, p90_ns, p99_ns, p999_ns; /* from the histogram: within
	                               1/8 (12.5%) of the true value            */
};

/*
 * Fill *out with the latency of every fault of the space that dpemu
 * handled (resolved or not), since the space was created.  Kept always,
 * per split page-table lock, without allocation.  0, -EINVAL (NULL), or
 * -EPERM (inherited through fork(2)).
 */
DPEMU_API int dpemu_space_latency(const dpemu_space *space, struct dpemu_latency *out);

/* The same for faults of one kind: event is one of the fault events
 * (DPEMU_EVENT_ZERO_FILL ... DPEMU_EVENT_UNRESOLVED); -EINVAL otherwise. */
DPEMU_API int dpemu_space_latency_kind(const dpemu_space *space, enum dpemu_event event,
                                       struct dpemu_latency *out);

/*
 * Record every event of every space of pool (faults with their latency,
 * evictions, swap-outs, write-backs, maps, unmaps, forks, destroys) into
 * the file at path (created or truncated, mode 0644), in the format of
 * dpemu-trace(5), until dpemu_trace_stop.  The fault path only appends to a
 * per-pool ring in memory; a thread of dpemu's writes it out.  Events the
 * ring has no room for are dropped and counted (a DPEMU_EVENT_LOST record
 * says how many), never silently.  0, -EINVAL (NULL), -EBUSY (already
 * tracing), -EPERM (inherited), or the errno of opening path, with a
 * message.  DPEMU_TRACE=PATH in the environment starts a trace for every
 * pool when it is created (PATH.N for the Nth pool after the first; %p in
 * PATH stands for the process id), stopped by dpemu_pool_destroy; one
 * that cannot start fails dpemu_pool_create.  See dpemu_trace_start(3).
 */
DPEMU_API int dpemu_trace_start(dpemu_pool *pool, const char *path);

/* Stop tracing pool: drain the ring, write the file out and close it.
 * 0, -EINVAL (NULL or not tracing), or the errno of a failed write. */
DPEMU_API int dpemu_trace_stop(dpemu_pool *pool);

/*
 * The trace file (dpemu-trace(5)), little-endian, fixed-size records:
 *
 *   struct dpemu_trace_header    once, at offset 0 (header_bytes long)
 *   struct dpemu_trace_record    then one per event, record_bytes each,
 *                                in the order the writer drained them
 *                                (time_ns sorts them; per thread they are
 *                                in order of their end, time_ns +
 *                                latency_ns: an eviction a fault made
 *                                lies inside the fault's interval)
 *
 * A reader checks magic and version, and skips header_bytes and
 * record_bytes (which later versions may grow, appending fields).
 */
#define DPEMU_TRACE_MAGIC "DPEMUTRC"
#define DPEMU_TRACE_VERSION 1

struct dpemu_trace_header {
	char magic[8];              /* DPEMU_TRACE_MAGIC, no terminating NUL    */
	uint32_t version;           /* DPEMU_TRACE_VERSION                      */
	uint32_t header_bytes;      /* sizeof(struct dpemu_trace_header) (64)   */
	uint32_t record_bytes;      /* sizeof(struct dpemu_trace_record) (48)   */
	uint32_t page_size;         /* the pool's page size                     */
	uint64_t frames;            /* the pool's frames                        */
	uint64_t start_realtime_ns; /* CLOCK_REALTIME when the trace started    */
	uint64_t start_monotonic_ns;/* CLOCK_MONOTONIC then; time_ns counts from
	                               it                                       */
	uint32_t pid;               /* the traced process                       */
	uint32_t policy;            /* enum dpemu_policy of the pool            */
	uint8_t reserved[8];        /* 0                                        */
};

struct dpemu_trace_record {
	uint64_t time_ns;           /* since start_monotonic_ns (faults: the
	                               trap; resolved latency_ns later)         */
	uint64_t addr;              /* the page's address (faults: the faulting
	                               address); map/unmap: the range's start;
	                               0 where none                             */
	uint64_t latency_ns;        /* faults: trap to retry; else 0            */
	uint64_t aux;               /* map/unmap: bytes; fork: the child's space
	                               id; swap-out/swap-in: the slot; lost: the
	                               events dropped; else 0                   */
	uint32_t space;             /* the space's id (1, 2, ... in order of
	                               creation in the process); 0: none        */
	uint32_t tid;               /* the thread (gettid) it happened on       */
	uint32_t frame;             /* the frame, or UINT32_MAX                 */
	uint16_t event;             /* enum dpemu_event                         */
	uint8_t access;             /* enum dpemu_access (faults), else 0       */
	uint8_t outcome;            /* unresolved faults: enum dpemu_fault_kind;
	                               else 0                                   */
};

#ifdef __cplusplus
}
#endif

#endif /* DPEMU_H */
