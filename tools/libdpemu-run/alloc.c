/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alloc.c - the malloc family of the program under dpemu: malloc, free,
 * calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc, malloc_usable_size.  (C++'s operator new and delete
 * call malloc and free in libstdc++.)
 *
 * Who serves a call:
 *   - the program's own, once the heap exists (pl_serving): mimalloc, whose
 *     only memory for blocks is the dpemu heap;
 *   - any call before that, in a passive process, or made for dpemu
 *     (pl_in_lib): glibc's allocator (libc.c), or the bootstrap buffer
 *     while glibc's has not been found yet;
 *   - a child of fork(2) keeps mimalloc: its heap is its private copy.
 * A block goes back to whoever gave it, told by its address: the heap's
 * range is mimalloc's, the bootstrap buffer's is nobody's (never freed),
 * anything else glibc's.  So a block allocated early and freed late, or
 * the other way round, goes home.
 * Calls: mimalloc, libc.c.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <malloc.h>
#include <mimalloc.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

/* mimalloc serves this call: the program's, in the program or its child. */
static inline bool use_mimalloc(void)
{
	int st = pl_state();

	return (st == PL_ON || st == PL_CHILD) && pl_in_lib == 0;
}

/* An early allocation of the program (before the heap): counted. */
static inline void count_early(size_t size)
{
	if (pl_state() == PL_STARTING && pl_in_lib == 0) {
		atomic_fetch_add_explicit(&pl.n.early_allocs, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&pl.n.early_bytes, size, memory_order_relaxed);
	}
}

/* glibc's aligned allocation, or the bootstrap buffer's. */
static void *other_aligned(size_t align, size_t size)
{
	count_early(size);
	if (pl_libc_resolve())
		return pl_libc.memalign(align, size);
	return pl_boot_alloc(size, align);
}

PL_EXPORT void *malloc(size_t size)
{
	if (use_mimalloc())
		return mi_malloc(size);
	count_early(size);
	if (pl_libc_resolve())
		return pl_libc.malloc(size);
	return pl_boot_alloc(size, 16);
}

PL_EXPORT void free(void *p)
{
	if (!p || pl_in_boot(p))
		return;
	if (pl_in_heap(p))
		mi_free(p);
	else if (pl_libc_resolve())
		pl_libc.free(p);
	/* else: not ours, and glibc cannot be reached - nothing to do. */
}

PL_EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (use_mimalloc())
		return mi_calloc(n, size);
	count_early(total);
	if (pl_libc_resolve())
		return pl_libc.calloc(n, size);
	return pl_boot_alloc(total, 16); /* (zeroed: never reused) */
}

PL_EXPORT void *realloc(void *p, size_t size)
{
	if (!p)
		return malloc(size);
	if (pl_in_heap(p))
		return mi_realloc(p, size);
	if (pl_in_boot(p)) {
		size_t old = pl_boot_size(p);
		void *q = malloc(size);
		if (q)
			memcpy(q, p, old < size ? old : size);
		return q;
	}
	if (pl_libc_resolve())
		return pl_libc.realloc(p, size);
	errno = ENOMEM;
	return NULL;
}

PL_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}

PL_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (use_mimalloc())
		return mi_posix_memalign(out, align, size);
	p = other_aligned(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

PL_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (align == 0 || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (use_mimalloc())
		return mi_aligned_alloc(align, size);
	return other_aligned(align, size);
}

PL_EXPORT void *memalign(size_t align, size_t size)
{
	/* glibc rounds an alignment that is not a power of two up to one. */
	size_t a = align < 16 ? 16 : align;

	if (a & (a - 1)) {
		size_t up = 16;
		while (up < a && up < ((size_t)1 << 62))
			up <<= 1;
		a = up;
	}
	if (use_mimalloc())
		return mi_malloc_aligned(size, a);
	return other_aligned(a, size);
}

PL_EXPORT void *valloc(size_t size)
{
	return memalign(pl.host_page ? pl.host_page : 4096, size);
}

PL_EXPORT void *pvalloc(size_t size)
{
	size_t ps = pl.host_page ? pl.host_page : 4096, rounded;

	if (size > SIZE_MAX - ps) {
		errno = ENOMEM;
		return NULL;
	}
	rounded = (size + ps - 1) & ~(ps - 1);
	return memalign(ps, rounded ? rounded : ps);
}

PL_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (pl_in_heap(p))
		return mi_usable_size(p);
	if (pl_in_boot(p))
		return pl_boot_size(p);
	return pl_libc_resolve() ? pl_libc.malloc_usable_size(p) : 0;
}
