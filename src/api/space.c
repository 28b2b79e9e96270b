/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * space.c - address spaces: dpemu_space_create and _destroy, choosing a
 * space's backend, and the space accessors.
 *
 * API side only.  May call every layer below (internal.h): the trap
 * backends (trap/: the registry, the userfaultfd of a space), the
 * pool's list of spaces (evict/), shared objects (store/), the page
 * table and the emulated TLB (mem/) and the arena itself (host/arena.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* The id the next space gets (dpemu-trace(5): 1, 2, ...). */
static atomic_uint next_space_id;

/* Bytes of the mapping that holds a space: the struct, then its stripes'
 * histograms (page-aligned: a stripe's pages are touched only by its own
 * faults, and by nothing at all while it takes none). */
static size_t space_bytes(size_t *lat_offset)
{
	size_t host = (size_t)sysconf(_SC_PAGESIZE);

	*lat_offset = (sizeof(struct dpemu_space) + host - 1) & ~(host - 1);
	return *lat_offset + PTL_STRIPES * sizeof(struct lat_stripe);
}

/*
 * Make a space of size bytes (a multiple of the pool's page size) over
 * pool: reserve its arena, aligned to the page size, and an empty page
 * table.  It is not yet registered (faults in it are not dpemu's) and its
 * colour is unset.  Returns 0, or -ENOMEM with the message set.
 */
int space_new(struct dpemu_pool *pool, size_t size, size_t fault_around, struct dpemu_space **out)
{
	size_t ps = pool->page_size, lat_offset, bytes = space_bytes(&lat_offset);
	struct dpemu_space *s = NULL;
	unsigned char *base;

	/* mmap'd, zero (page-aligned: each split page-table lock has cache
	 * lines of its own); memory is committed only where it is written */
	s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	         -1, 0);
	if (s == MAP_FAILED)
		return set_error(-ENOMEM, "out of memory for a space");
	s->alloc_bytes = bytes;
	s->lat = (struct lat_stripe *)((unsigned char *)s + lat_offset);
	s->id = atomic_fetch_add(&next_space_id, 1) + 1;
	base = arena_reserve(size, ps);
	if (!base) {
		munmap(s, bytes);
		return set_error(-ENOMEM, "cannot reserve %zu bytes of address space", size);
	}

	s->pool = pool;
	s->base = (uintptr_t)base;
	s->size = size;
	s->page_shift = pool->page_shift;
	s->npages = size >> pool->page_shift;
	s->fault_around = fault_around > PT_ENTRIES ? PT_ENTRIES : fault_around;
	s->backend = DPEMU_BACKEND_SIGSEGV;
	s->hostmode = pool->sigsegv_hostmode;
	s->uffd = -1;
	if (pt_init(s)) {
		arena_release(base, size);
		munmap(s, bytes);
		return set_error(-ENOMEM, "out of memory for a page table");
	}
	*out = s;
	return 0;
}

/* Undo space_new (for a space never published, or already emptied). */
void space_free(struct dpemu_space *s)
{
	uffd_space_close(s);
	if (s->size) /* (0: the caller unmapped the arena already) */
		arena_release((void *)s->base, s->size);
	pt_fini(s);
	tlb_fini(s);
	for (uint32_t i = 0; i < s->maps_cap; i++) {
		if (s->maps[i].npages && s->maps[i].fd >= 0)
			close(s->maps[i].fd);
		if (s->maps[i].npages && s->maps[i].shared)
			shared_put(s->pool, s->maps[i].shared);
	}
	free(s->maps);
	munmap(s, s->alloc_bytes);
}

/* Make s's faults dpemu's, and count it as a user of its pool (s is on
 * the pool's list of spaces already: pool_add_space).  0 or -ENOMEM. */
int space_register(struct dpemu_space *s)
{
	if (registry_add(s))
		return set_error(-ENOMEM, "too many spaces (at most %d)", REGISTRY_SLOTS);
	atomic_fetch_add(&s->pool->nspaces, 1);
	return 0;
}

/* Put s on its pool's list of spaces (the evictor sees its pages) and
 * register it.  0, or -ENOMEM with s as it was. */
int space_publish(struct dpemu_space *s)
{
	pool_add_space(s);
	if (space_register(s)) {
		pool_remove_space(s);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The backend and userfaultfd mode a space asks for: cfg's, where AUTO may
 * be overridden by the environment (DPEMU_BACKEND=sigsegv|uffd|uffd-sigbus,
 * which is how the test suite runs under each backend).  *strict is false
 * when AUTO may still fall back to SIGSEGV.  0 or -EINVAL.
 */
static int choose_backend(const struct dpemu_space_config *cfg, enum dpemu_backend *backend,
                          enum dpemu_uffd_mode *mode, bool *strict)
{
	const char *env = getenv("DPEMU_BACKEND");

	*backend = cfg->backend;
	*mode = cfg->uffd_mode;
	*strict = true;
	if ((unsigned)cfg->uffd_mode > DPEMU_UFFD_SIGBUS)
		return set_error(-EINVAL, "dpemu_space_create: unknown uffd_mode %d",
		                 (int)cfg->uffd_mode);
	switch (cfg->backend) {
	case DPEMU_BACKEND_SIGSEGV:
	case DPEMU_BACKEND_UFFD:
		return 0;
	case DPEMU_BACKEND_AUTO:
		break;
	default:
		return set_error(-EINVAL, "dpemu_space_create: unknown backend %d", (int)cfg->backend);
	}
	if (!env || !*env) {
		*backend = DPEMU_BACKEND_UFFD;
		*strict = false;
	} else if (!strcmp(env, "sigsegv")) {
		*backend = DPEMU_BACKEND_SIGSEGV;
	} else if (!strcmp(env, "uffd")) {
		*backend = DPEMU_BACKEND_UFFD;
		*mode = DPEMU_UFFD_THREAD;
	} else if (!strcmp(env, "uffd-sigbus")) {
		*backend = DPEMU_BACKEND_UFFD;
		*mode = DPEMU_UFFD_SIGBUS;
	} else {
		return set_error(-EINVAL, "dpemu_space_create: DPEMU_BACKEND=%s is not one of "
		                 "sigsegv, uffd, uffd-sigbus", env);
	}
	return 0;
}

DPEMU_API int dpemu_space_create(dpemu_pool *pool, const struct dpemu_space_config *cfg,
                                 dpemu_space **out)
{
	enum dpemu_backend backend;
	enum dpemu_uffd_mode mode;
	struct dpemu_space *s;
	size_t ps, size;
	bool strict;
	int err;

	if (!pool || !cfg || !out)
		return set_error(-EINVAL, "dpemu_space_create: pool, cfg and out must not be NULL");
	*out = NULL;
	err = choose_backend(cfg, &backend, &mode, &strict);
	if (err)
		return err;
	if (pool_inherited(pool))
		return set_error(-EPERM, "dpemu_space_create: this pool belongs to the parent "
		                 "process of fork(2)");
	ps = pool->page_size;
	if (cfg->reserve == 0)
		return set_error(-EINVAL, "dpemu_space_create: reserve must be > 0");
	if (cfg->reserve > ((size_t)1 << 47) || cfg->reserve > SIZE_MAX - 2 * ps)
		return set_error(-ENOMEM, "dpemu_space_create: reserve of %zu bytes is larger than "
		                 "the address space", cfg->reserve);
	size = (cfg->reserve + ps - 1) & ~(ps - 1);
	if ((size >> pool->page_shift) > ((uint64_t)1 << 36))
		return set_error(-ENOMEM, "dpemu_space_create: at most 2^36 pages per space");
	err = trap_sigsegv_install();
	if (err)
		return wrap_error(err, "dpemu_space_create");
	if (backend == DPEMU_BACKEND_UFFD && mode == DPEMU_UFFD_SIGBUS)
		trap_sigbus_install();
	err = space_new(pool, size, cfg->fault_around, &s);
	if (err)
		return wrap_error(err, "dpemu_space_create");
	err = tlb_init(s, cfg->tlb_entries);
	if (err) {
		space_free(s);
		return wrap_error(err, "dpemu_space_create");
	}
	if (backend == DPEMU_BACKEND_UFFD) {
		err = uffd_space_open(s, mode);
		if (err && strict) {
			space_free(s);
			return wrap_error(err, "dpemu_space_create");
		}
		/* AUTO: no userfaultfd here; s stays a SIGSEGV space */
		if (err)
			clear_error();
	}
	lock_acquire(&pool->lock);
	s->colour = pool->next_colour;
	pool->next_colour = (pool->next_colour + s->npages) % pool->nframes;
	lock_release(&pool->lock);
	err = space_publish(s);
	if (err) {
		space_free(s);
		return wrap_error(err, "dpemu_space_create");
	}
	*out = s;
	return 0;
}

/*
 * Destroy s (dpemu.h), in an order that loses no data and leaves no frame
 * visible:
 *  1. the dirty pages of shared file mappings are written back and their
 *     files fdatasync'ed (space_flush_pages).  If that fails, nothing is
 *     destroyed: s stays published and usable, its pages still dirty, and
 *     the error is returned, so that the caller can retry (or dpemu_unmap
 *     the mapping, which drops pages whose write-back fails, and then
 *     destroy);
 *  2. s leaves the registry (no fault handler looks at it any more);
 *  3. with every lock of s held, its whole arena is unmapped from the host:
 *     every host view of a frame in it goes at once, so the frames can go
 *     back to the pool without a host call that could fail
 *     (space_drop_pages).  Only if the host refuses even that munmap
 *     (it cannot, for a whole mapping, on Linux) are the pages hidden one
 *     by one (space_unmap_pages), which keeps out of the pool any frame it
 *     could not hide.
 * The space stays on its pool's list of spaces until its frames are
 * released: an evictor running meanwhile (a fault in another space of the
 * pool) must still find the pages that map those frames, or it would see
 * frames held by nothing and report the pool out of frames.  It waits for
 * s's locks while the pages go, and finds nothing mapped in s afterwards.
 * Returns 0, -EINVAL (s is NULL), or step 1's error (-EIO, -ENOSPC, ...)
 * with the message set and s untouched.
 */
DPEMU_API int dpemu_space_destroy(dpemu_space *s)
{
	bool arena_gone = false;
	int err;

	if (!s)
		return set_error(-EINVAL, "dpemu_space_destroy: space is NULL");
	if (!pool_inherited(s->pool)) {
		space_lock_all(s);
		err = space_flush_pages(s);
		space_unlock_all(s);
		if (err)
			return set_error(err, "dpemu_space_destroy: %s; nothing was destroyed (the "
			                 "pages stay dirty: retry, or dpemu_unmap the mapping to drop "
			                 "them)", dpemu_last_error());
	}
	registry_remove(s);
	if (!pool_inherited(s->pool)) {
		space_lock_all(s);
		arena_gone = arena_release((void *)s->base, s->size) == 0;
		if (arena_gone)
			space_drop_pages(s);
		else
			space_unmap_pages(s, 0, s->npages); /* (already written back) */
		space_unlock_all(s);
		pool_remove_space(s); /* every frame is back: no evictor needs s now */
	}
	/* (A copy inherited through fork(2) is only freed: nothing shared is
	 * touched.) */
	if (!pool_inherited(s->pool))
		TRACE(s->pool, DPEMU_EVENT_DESTROY, UINT32_MAX, .space = s->id);
	atomic_fetch_sub(&s->pool->nspaces, 1);
	if (arena_gone)
		s->size = 0; /* space_free must not unmap the range again */
	space_free(s);
	return 0;
}

DPEMU_API void *dpemu_space_base(const dpemu_space *s)
{
	return s ? (void *)s->base : NULL;
}

DPEMU_API size_t dpemu_space_size(const dpemu_space *s)
{
	return s ? s->size : 0;
}

DPEMU_API enum dpemu_backend dpemu_space_backend(const dpemu_space *s)
{
	return s ? s->backend : DPEMU_BACKEND_AUTO;
}

DPEMU_API dpemu_pool *dpemu_space_pool(const dpemu_space *s)
{
	return s ? s->pool : NULL;
}

/*
 * Fill *out with the sum of the stripes' counters.  The snapshot is built
 * in a local under space_lock_all and copied out only after the locks are
 * released: *out may be in an arena (of this space or another), where the
 * write may fault, and a fault taken with a lock held cannot be resolved.
 * 0, -EINVAL (NULL argument) or -EPERM (inherited through fork(2)).
 */
DPEMU_API int dpemu_space_stats(const dpemu_space *cs, struct dpemu_stats *out)
{
	struct dpemu_space *s = (struct dpemu_space *)cs;
	struct dpemu_stats st;

	if (!s || !out)
		return set_error(-EINVAL, "dpemu_space_stats: space and out must not be NULL");
	if (pool_inherited(s->pool))
		return set_error(-EPERM, "dpemu_space_stats: this space belongs to the parent "
		                 "process of fork(2)");
	memset(&st, 0, sizeof st);
	uint64_t lat_stripes = 0;
	space_lock_all(s);
	for (unsigned i = 0; i < PTL_STRIPES; i++) {
		const struct dpemu_stats *p = &s->ptl[i].stats;
		lat_stripes += s->ptl[i].lat_kinds != 0;
		st.faults += p->faults;
		st.zero_fills += p->zero_fills;
		st.file_reads += p->file_reads;
		st.cow_copies += p->cow_copies;
		st.cow_reuses += p->cow_reuses;
		st.protection_faults += p->protection_faults;
		st.writebacks += p->writebacks;
		st.pages_resident += p->pages_resident;
		st.evictions += p->evictions;
		st.swap_outs += p->swap_outs;
		st.swap_ins += p->swap_ins;
		st.reference_faults += p->reference_faults;
		st.tlb_misses += p->tlb_misses;
	}
	st.mappings = s->maps_live;
	/* (the histograms: those of stripes that took a fault, the most that
	 * can be committed of them) */
	st.metadata_bytes = sizeof *s + s->nodes_in_use * PT_NODE_BYTES +
	                    (uint64_t)s->maps_cap * sizeof(struct mapping) +
	                    lat_stripes * sizeof(struct lat_stripe) + s->tlb.bytes;
	space_unlock_all(s);
	*out = st; /* no lock held: a fault here is an ordinary one */
	return 0;
}
