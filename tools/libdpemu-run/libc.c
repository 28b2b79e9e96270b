/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libc.c - glibc's allocator and signal functions, found by name in
 * libc.so.6 itself, and the bootstrap buffer that serves the allocations
 * made before they are found.
 *
 * The preload library defines malloc and its family, so it cannot call
 * glibc's by name: the name is its own.  Nor through RTLD_NEXT or
 * __libc_malloc, which libmimalloc (a dependency of this library, built to
 * override malloc) defines as well.  dlsym on the handle of libc.so.6
 * looks in glibc alone.  dlopen and dlsym may allocate; what they allocate
 * while we look (and anything else meanwhile, on any thread) comes from a
 * static buffer, never freed (free ignores its pointers).
 * Calls: dlfcn, atomics.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "preload.h"

PL_HIDDEN struct pl_libc pl_libc;

/* 0: not looked for yet, 1: being looked for, 2: found, 3: not found. */
static atomic_int resolved;

/* The bootstrap buffer: bump allocation, a size word before each block. */
#define BOOT_BYTES (256u * 1024u)
#define BOOT_HEADER 16u
static _Alignas(4096) unsigned char boot[BOOT_BYTES];
static atomic_size_t boot_used;

/*
 * A block of the bootstrap buffer, aligned to align (a power of two, at
 * least 16), zeroed (the buffer is never reused); NULL with errno ENOMEM
 * when it is used up.
 */
void *pl_boot_alloc(size_t size, size_t align)
{
	size_t old, start, end;

	if (align < BOOT_HEADER)
		align = BOOT_HEADER;
	old = atomic_load(&boot_used);
	do {
		start = (old + BOOT_HEADER + align - 1) & ~(align - 1);
		if (size > BOOT_BYTES || start > BOOT_BYTES - size) {
			errno = ENOMEM;
			return NULL;
		}
		end = start + size;
	} while (!atomic_compare_exchange_weak(&boot_used, &old, end));
	memcpy(boot + start - sizeof(size_t), &size, sizeof size);
	return boot + start;
}

bool pl_in_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + BOOT_BYTES;
}

size_t pl_boot_size(const void *p)
{
	size_t size;

	memcpy(&size, (const unsigned char *)p - sizeof(size_t), sizeof size);
	return size;
}

/*
 * Find glibc's functions (once; later calls return at once).  True when
 * they are found; false while another call is looking (the caller then
 * uses the bootstrap buffer) or when they cannot be found (the same, for
 * good: only a very broken process gets there).
 */
bool pl_libc_resolve(void)
{
	int expected = 0;
	void *h;

	if (atomic_load_explicit(&resolved, memory_order_acquire) == 2)
		return true;
	if (!atomic_compare_exchange_strong(&resolved, &expected, 1))
		return atomic_load(&resolved) == 2;
	h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (!h) {
		atomic_store(&resolved, 3);
		return false;
	}
	*(void **)&pl_libc.malloc = dlsym(h, "malloc");
	*(void **)&pl_libc.free = dlsym(h, "free");
	*(void **)&pl_libc.calloc = dlsym(h, "calloc");
	*(void **)&pl_libc.realloc = dlsym(h, "realloc");
	*(void **)&pl_libc.memalign = dlsym(h, "memalign");
	*(void **)&pl_libc.posix_memalign = dlsym(h, "posix_memalign");
	*(void **)&pl_libc.aligned_alloc = dlsym(h, "aligned_alloc");
	*(void **)&pl_libc.valloc = dlsym(h, "valloc");
	*(void **)&pl_libc.pvalloc = dlsym(h, "pvalloc");
	*(void **)&pl_libc.malloc_usable_size = dlsym(h, "malloc_usable_size");
	*(void **)&pl_libc.sigaction = dlsym(h, "sigaction");
	*(void **)&pl_libc.signal = dlsym(h, "signal");
	/* (The handle stays: libc.so.6 is never unloaded.) */
	if (!pl_libc.malloc || !pl_libc.free || !pl_libc.calloc || !pl_libc.realloc ||
	    !pl_libc.memalign || !pl_libc.posix_memalign || !pl_libc.aligned_alloc ||
	    !pl_libc.valloc || !pl_libc.pvalloc || !pl_libc.malloc_usable_size ||
	    !pl_libc.sigaction || !pl_libc.signal) {
		atomic_store(&resolved, 3);
		return false;
	}
	atomic_store_explicit(&resolved, 2, memory_order_release);
	return true;
}
