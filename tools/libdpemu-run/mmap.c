/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mmap.c - the program's mmap, mmap64, munmap, mremap, mprotect and madvise
 * under dpemu; the kernel's calls straight (pl_sys_*); and the host calls of
 * this library's own copy of libdpemu (__wrap_*: see preload.h).
 *
 * What goes where, while the program is served (pl_serving):
 *   - a private anonymous mmap (not a stack, not huge pages, not MAP_32BIT)
 *     is a dpemu mapping: dpemu_map anywhere in the space, or at the
 *     program's address with MAP_FIXED (what was there is unmapped first,
 *     as mmap(2) does); one that does not fit goes to the kernel, counted;
 *   - any other mmap goes to the kernel, counted; one with MAP_FIXED inside
 *     the space (a file or shared mapping over memory the program had
 *     mapped there) takes that range out of dpemu for good: dpemu keeps an
 *     inaccessible placeholder mapping there, so that it never places
 *     anything in it again, and the range is a "host range" - every later
 *     call on it goes to the kernel, and munmap of it leaves a plain
 *     inaccessible reservation (the range stays out of use);
 *   - munmap, mprotect and madvise split their range: the part in the
 *     space goes to dpemu_unmap, dpemu_protect, or (MADV_DONTNEED) an
 *     unmap and map again that makes the pages read as zeros; the rest to
 *     the kernel;
 *   - mremap of a dpemu mapping grows it in place if the pages after it
 *     are free, else (MREMAP_MAYMOVE) makes a new mapping and copies the
 *     contents with dpemu_read (no fault on the old pages), then unmaps
 *     the old one.
 * With a dpemu page larger than the host's, ranges are widened to whole
 * dpemu pages for mprotect, narrowed to them for munmap and madvise.
 * Calls: dpemu (pl_in_lib raised around each call), the kernel.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

/* ---- the kernel's calls ------------------------------------------------------ */

void *pl_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int pl_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

static int sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

static int sys_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

static void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

/* ---- libdpemu's own host calls (linked with -Wl,--wrap=NAME) ---------------- */

PL_HIDDEN void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
PL_HIDDEN int __wrap_munmap(void *addr, size_t len);
PL_HIDDEN int __wrap_mprotect(void *addr, size_t len, int prot);
PL_HIDDEN int __wrap_madvise(void *addr, size_t len, int advice);
PL_HIDDEN void *__wrap_mremap(void *old, size_t old_len, size_t new_len, int flags, ...);
PL_HIDDEN int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
PL_HIDDEN void *__wrap_malloc(size_t size);
PL_HIDDEN void __wrap_free(void *p);
PL_HIDDEN void *__wrap_calloc(size_t n, size_t size);
PL_HIDDEN void *__wrap_realloc(void *p, size_t size);
PL_HIDDEN int __wrap_posix_memalign(void **out, size_t align, size_t size);

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return pl_sys_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	return pl_sys_munmap(addr, len);
}

int __wrap_mprotect(void *addr, size_t len, int prot)
{
	return sys_mprotect(addr, len, prot);
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	return sys_madvise(addr, len, advice);
}

void *__wrap_mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return sys_mremap(old, old_len, new_len, flags, new_addr);
}

/* (The constructor finds glibc's functions before it calls dpemu.) */
int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return pl_libc.sigaction(sig, act, old);
}

void *__wrap_malloc(size_t size)
{
	return pl_libc.malloc(size);
}

void __wrap_free(void *p)
{
	pl_libc.free(p);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return pl_libc.calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return pl_libc.realloc(p, size);
}

int __wrap_posix_memalign(void **out, size_t align, size_t size)
{
	return pl_libc.posix_memalign(out, align, size);
}

/* ---- host ranges ------------------------------------------------------------- */

#define HOST_RANGES 256
static struct { uintptr_t lo, hi; } host_ranges[HOST_RANGES];
static int nhost;
static pthread_mutex_t host_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Whether [lo, hi) meets a host range. */
static bool meets_host_range(uintptr_t lo, uintptr_t hi)
{
	bool hit = false;

	if (__atomic_load_n(&nhost, __ATOMIC_ACQUIRE) == 0)
		return false;
	pthread_mutex_lock(&host_mutex);
	for (int i = 0; i < nhost && !hit; i++)
		hit = host_ranges[i].lo < hi && lo < host_ranges[i].hi;
	pthread_mutex_unlock(&host_mutex);
	return hit;
}

/* Record [lo, hi) as a host range; false when the table is full. */
static bool add_host_range(uintptr_t lo, uintptr_t hi)
{
	bool ok = false;

	pthread_mutex_lock(&host_mutex);
	if (nhost < HOST_RANGES) {
		host_ranges[nhost].lo = lo;
		host_ranges[nhost].hi = hi;
		__atomic_store_n(&nhost, nhost + 1, __ATOMIC_RELEASE);
		ok = true;
	}
	pthread_mutex_unlock(&host_mutex);
	atomic_fetch_add(&pl.n.host_ranges, 1);
	return ok;
}

/* ---- helpers ----------------------------------------------------------------- */

static inline uintptr_t round_up(uintptr_t x, size_t to)
{
	return (x + to - 1) & ~(uintptr_t)(to - 1);
}

static inline uintptr_t round_down(uintptr_t x, size_t to)
{
	return x & ~(uintptr_t)(to - 1);
}

/* errno from a dpemu result; -1. */
static int fail(int err)
{
	errno = -err;
	return -1;
}

/* Whether the kernel would take an mmap with these flags and prot as a
 * private anonymous mapping dpemu can hold. */
static bool eligible(int prot, int flags)
{
	const int ok_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE |
	                     MAP_NORESERVE | MAP_POPULATE | MAP_LOCKED | MAP_DENYWRITE |
	                     MAP_EXECUTABLE | MAP_NONBLOCK;

	return (flags & MAP_TYPE) == MAP_PRIVATE && (flags & MAP_ANONYMOUS) &&
	       !(flags & ~ok_flags) && !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC));
}

static int dp_flags(int flags)
{
	return DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS |
	       ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) ? DPEMU_MAP_FIXED : 0);
}

/* dpemu_unmap of the whole dpemu pages inside [lo, hi) of the space. */
static int unmap_pages(uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = round_up(lo, pl.page_size), b = round_down(hi, pl.page_size);
	int err = 0;

	if (a < b) {
		pl_in_lib++;
		err = dpemu_unmap(pl.space, (void *)a, b - a);
		pl_in_lib--;
	}
	return err;
}

/* A private anonymous mapping made by the program: in the space, or (not
 * enough room) by the kernel.  MAP_FIXED here means inside the space. */
static void *map_anon(void *addr, size_t len, int prot, int flags)
{
	void *out = NULL;
	int err;

	pl_in_lib++;
	if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE))
		dpemu_unmap(pl.space, addr, len);
	err = dpemu_map(pl.space, addr, len, prot, dp_flags(flags), -1, 0, &out);
	pl_in_lib--;
	if (err == 0) {
		atomic_fetch_add_explicit(&pl.n.mmap_placed, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&pl.n.mmap_placed_bytes, len, memory_order_relaxed);
		return out;
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		errno = err == -EEXIST ? EEXIST : err == -ENOMEM ? ENOMEM : EINVAL;
		return MAP_FAILED;
	}
	atomic_fetch_add_explicit(&pl.n.mmap_fallback, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pl.n.mmap_fallback_bytes, len, memory_order_relaxed);
	return pl_sys_mmap(addr, len, prot, flags, -1, 0);
}

/* A file or shared mapping (or a stack, ...) made with MAP_FIXED over part
 * of the space: the range becomes a host range (see the top). */
static void *map_host_range(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uintptr_t lo = round_down((uintptr_t)addr, pl.page_size);
	uintptr_t hi = round_up((uintptr_t)addr + len, pl.page_size);
	void *out = NULL;

	if (!meets_host_range(lo, hi)) {
		pl_in_lib++;
		dpemu_unmap(pl.space, (void *)lo, hi - lo);
		int err = dpemu_map(pl.space, (void *)lo, hi - lo, PROT_NONE,
		                    DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED, -1, 0,
		                    &out);
		pl_in_lib--;
		if (err || !add_host_range(lo, hi)) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
	}
	atomic_fetch_add_explicit(&pl.n.mmap_other, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pl.n.mmap_other_bytes, len, memory_order_relaxed);
	return pl_sys_mmap(addr, len, prot, flags, fd, off);
}

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uintptr_t a = (uintptr_t)addr, end = a + len;
	bool fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;

	if (!pl_serving() || len == 0 || len > PTRDIFF_MAX)
		return pl_sys_mmap(addr, len, prot, flags, fd, off);
	if (fixed && a < pl.end && end > pl.base) {
		if (a < pl.base || end > pl.end) {
			errno = ENOMEM; /* half in the space: not supported */
			return MAP_FAILED;
		}
		if (eligible(prot, flags) && !meets_host_range(a, end) &&
		    !(a & (pl.page_size - 1)))
			return map_anon(addr, len, prot, flags);
		return map_host_range(addr, len, prot, flags, fd, off);
	}
	if (!fixed && eligible(prot, flags))
		return map_anon(addr, len, prot, flags);
	atomic_fetch_add_explicit(&pl.n.mmap_other, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pl.n.mmap_other_bytes, len, memory_order_relaxed);
	return pl_sys_mmap(addr, len, prot, flags, fd, off);
}

PL_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off);
}

PL_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off);
}

/*
 * Split [addr, addr+len) into the parts before, inside and after the
 * space, and call in() for the inside and out() for the rest.  0, or -1
 * with errno of the first part that failed (the others are done too, as
 * the kernel does for munmap and madvise across mappings).
 */
static int split_range(void *addr, size_t len, int (*in)(uintptr_t, uintptr_t, int),
                       int (*out)(uintptr_t, uintptr_t, int), int arg)
{
	uintptr_t a = (uintptr_t)addr, end = a + len;
	int rc = 0, saved = 0;

	if (len == 0 || end < a)
		return out(a, end, arg);
	if (a < pl.base) {
		uintptr_t e = end < pl.base ? end : pl.base;
		if (out(a, e, arg) < 0) {
			rc = -1;
			saved = errno;
		}
	}
	if (a < pl.end && end > pl.base) {
		uintptr_t lo = a > pl.base ? a : pl.base, hi = end < pl.end ? end : pl.end;
		if ((meets_host_range(lo, hi) ? out(lo, hi, arg) : in(lo, hi, arg)) < 0 && !rc) {
			rc = -1;
			saved = errno;
		}
	}
	if (end > pl.end) {
		uintptr_t s = a > pl.end ? a : pl.end;
		if (out(s, end, arg) < 0 && !rc) {
			rc = -1;
			saved = errno;
		}
	}
	if (rc)
		errno = saved;
	return rc;
}

/* ---- munmap ------------------------------------------------------------------ */

static int munmap_in(uintptr_t lo, uintptr_t hi, int unused)
{
	int err = unmap_pages(lo, hi);

	(void)unused;
	return err ? fail(err) : 0;
}

static int munmap_out(uintptr_t lo, uintptr_t hi, int unused)
{
	(void)unused;
	if (pl_in_space(lo)) /* a host range: it stays reserved, out of use */
		return pl_sys_mmap((void *)lo, hi - lo, PROT_NONE,
		                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		                   0) == MAP_FAILED ? -1 : 0;
	return pl_sys_munmap((void *)lo, hi - lo);
}

PL_EXPORT int munmap(void *addr, size_t len)
{
	if (!pl_serving())
		return pl_sys_munmap(addr, len);
	if (((uintptr_t)addr & (pl.host_page - 1)) || len == 0) {
		errno = EINVAL;
		return -1;
	}
	return split_range(addr, round_up(len, pl.host_page), munmap_in, munmap_out, 0);
}

/* ---- mprotect ---------------------------------------------------------------- */

static int mprotect_in(uintptr_t lo, uintptr_t hi, int prot)
{
	uintptr_t a = round_down(lo, pl.page_size), b = round_up(hi, pl.page_size);
	int err;

	pl_in_lib++;
	err = dpemu_protect(pl.space, (void *)a, b - a, prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
	pl_in_lib--;
	return err ? fail(err == -EINVAL ? -EINVAL : err == -EACCES ? -EACCES : -ENOMEM) : 0;
}

static int mprotect_out(uintptr_t lo, uintptr_t hi, int prot)
{
	return sys_mprotect((void *)lo, hi - lo, prot);
}

PL_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	if (!pl_serving())
		return sys_mprotect(addr, len, prot);
	if ((uintptr_t)addr & (pl.host_page - 1)) {
		errno = EINVAL;
		return -1;
	}
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) &&
	    (uintptr_t)addr < pl.end && (uintptr_t)addr + len > pl.base) {
		errno = EINVAL; /* PROT_GROWSDOWN and the like: not for dpemu pages */
		return -1;
	}
	if (len == 0)
		return 0;
	return split_range(addr, round_up(len, pl.host_page), mprotect_in, mprotect_out, prot);
}

/* ---- madvise ----------------------------------------------------------------- */

/* MADV_DONTNEED on dpemu pages [lo, hi): each run of mapped pages of one
 * protection is unmapped and mapped again, so that it reads as zeros.
 * Pages not mapped make it fail with ENOMEM, as madvise(2) does, after
 * the others are done. */
static int dontneed(uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = round_up(lo, pl.page_size), b = round_down(hi, pl.page_size);
	int rc = 0;

	pl_in_lib++;
	while (a < b) {
		struct dpemu_page_info info;
		uintptr_t run = a;
		if (dpemu_query(pl.space, (void *)a, &info) != 0 || !info.mapped) {
			rc = -ENOMEM;
			a += pl.page_size;
			continue;
		}
		int prot = info.prot;
		while (run < b && dpemu_query(pl.space, (void *)run, &info) == 0 && info.mapped &&
		       info.prot == prot && info.anonymous && !info.shared)
			run += pl.page_size;
		if (run == a) { /* not private anonymous: left alone */
			a += pl.page_size;
			continue;
		}
		void *out;
		if (dpemu_unmap(pl.space, (void *)a, run - a) != 0 ||
		    dpemu_map(pl.space, (void *)a, run - a, prot,
		              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED, -1, 0,
		              &out) != 0)
			rc = -ENOMEM;
		a = run;
	}
	pl_in_lib--;
	return rc ? fail(rc) : 0;
}

static int madvise_in(uintptr_t lo, uintptr_t hi, int advice)
{
	switch (advice) {
	case MADV_DONTNEED:
		return dontneed(lo, hi);
	case MADV_REMOVE:
		return fail(-EINVAL); /* (as for private anonymous memory) */
	default:
		/* MADV_FREE may keep the contents; the rest are hints. */
		return 0;
	}
}

static int madvise_out(uintptr_t lo, uintptr_t hi, int advice)
{
	return sys_madvise((void *)lo, hi - lo, advice);
}

PL_EXPORT int madvise(void *addr, size_t len, int advice)
{
	if (!pl_serving())
		return sys_madvise(addr, len, advice);
	if ((uintptr_t)addr & (pl.host_page - 1)) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0)
		return 0;
	return split_range(addr, round_up(len, pl.host_page), madvise_in, madvise_out, advice);
}

/* ---- mremap ------------------------------------------------------------------ */

/* A new home of new_len bytes for the dpemu mapping at old (old_len bytes,
 * protection prot), at new_addr if fixed: the contents copied, the old
 * one unmapped. */
static void *remap_move(void *old, size_t old_len, size_t new_len, int prot, void *new_addr,
                        bool fixed)
{
	void *dst = fixed ? mmap(new_addr, new_len, prot,
	                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
	                  : mmap(NULL, new_len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t n = old_len < new_len ? old_len : new_len;
	int err;

	if (dst == MAP_FAILED)
		return MAP_FAILED;
	if (!(prot & PROT_WRITE) && mprotect(dst, new_len, prot | PROT_WRITE) != 0) {
		munmap(dst, new_len);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	pl_in_lib++;
	err = dpemu_read(pl.space, old, dst, n, DPEMU_READ_SKIP_ZERO);
	pl_in_lib--;
	if (err) {
		munmap(dst, new_len);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (!(prot & PROT_WRITE))
		mprotect(dst, new_len, prot);
	munmap(old, old_len);
	return dst;
}

static void *remap_in_space(void *old, size_t old_len, size_t new_len, int flags,
                            void *new_addr)
{
	uintptr_t o = (uintptr_t)old;
	struct dpemu_page_info info;
	void *out;
	int err;

	if ((flags & MREMAP_DONTUNMAP) || old_len == 0 || meets_host_range(o, o + old_len)) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	pl_in_lib++;
	err = dpemu_query(pl.space, old, &info);
	pl_in_lib--;
	if (err || !info.mapped || !info.anonymous || info.shared) {
		errno = EFAULT;
		return MAP_FAILED;
	}
	if (flags & MREMAP_FIXED)
		return remap_move(old, old_len, new_len, info.prot, new_addr, true);
	if (new_len <= old_len) {
		unmap_pages(o + new_len, o + old_len);
		return old;
	}
	if (o + round_up(old_len, pl.page_size) == round_up(o + old_len, pl.page_size) &&
	    o + new_len <= pl.end) {
		uintptr_t from = round_up(o + old_len, pl.page_size);
		uintptr_t to = round_up(o + new_len, pl.page_size);
		pl_in_lib++;
		err = from >= to ? 0 : dpemu_map(pl.space, (void *)from, to - from, info.prot,
		                                 DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS |
		                                 DPEMU_MAP_FIXED, -1, 0, &out);
		pl_in_lib--;
		if (err == 0)
			return old;
	}
	if (!(flags & MREMAP_MAYMOVE)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return remap_move(old, old_len, new_len, info.prot, NULL, false);
}

PL_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	uintptr_t o = (uintptr_t)old;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!pl_serving())
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	if ((o & (pl.host_page - 1)) || new_len == 0) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	old_len = round_up(old_len, pl.host_page);
	new_len = round_up(new_len, pl.host_page);
	if (o < pl.end && o + old_len > pl.base) {
		if (o < pl.base || o + old_len > pl.end) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		return remap_in_space(old, old_len, new_len, flags, new_addr);
	}
	if ((flags & MREMAP_FIXED) && (uintptr_t)new_addr < pl.end &&
	    (uintptr_t)new_addr + new_len > pl.base) {
		errno = EINVAL; /* kernel memory moved into the space: not supported */
		return MAP_FAILED;
	}
	return sys_mremap(old, old_len, new_len, flags, new_addr);
}
