/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * interpose.h - the host calls a test program takes over, written once.
 *
 * A program that includes this header defines its own mmap, munmap,
 * mprotect, madvise, ioctl, pread (and pread64), pwrite, fallocate,
 * ftruncate, memfd_create, fdatasync and fsync.  The library's calls bind
 * to them: an executable's definition comes first in the dynamic linker's
 * search, and a static link takes it over libc's.  Each one first asks
 * the program's hook whether the call goes on, then forwards it to the
 * system call with syscall(2), as libc would.
 *
 * The program defines, before or after including this header,
 *
 *     static int tu_host_hook(enum tu_host_call call,
 *                             const struct tu_host_args *a);
 *
 * which returns 0 to let the call go through, or -1 with errno set to fail
 * it (the interposed function then returns its failure value: MAP_FAILED
 * or -1).  A program that watches only some calls returns 0 for the
 * others.  The hook runs on every thread, in the fault path's signal
 * handlers and in the userfaultfd handler thread: it may not take locks
 * or allocate, and what it writes should be atomic or volatile.
 *
 * a->ra is the address the interposed function returns to (its caller),
 * for a program that tells the library's calls from the others'.
 *
 * Include it once per program, after testutil.h.
 */
#ifndef DPEMU_TESTS_INTERPOSE_H
#define DPEMU_TESTS_INTERPOSE_H

#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

enum tu_host_call {
	TU_MMAP, TU_MUNMAP, TU_MPROTECT, TU_MADVISE, TU_IOCTL, TU_PREAD,
	TU_PWRITE, TU_FALLOCATE, TU_FTRUNCATE, TU_MEMFD_CREATE, TU_FDATASYNC,
	TU_FSYNC,
};

/* The arguments of one call; the fields a call does not have are 0. */
struct tu_host_args {
	void *ra;          /* the caller's return address                   */
	void *addr;        /* mmap, munmap, mprotect, madvise               */
	size_t len;        /* mmap, munmap, mprotect, madvise, pread,
	                      pwrite, ftruncate, fallocate (the length)     */
	int prot;          /* mmap, mprotect                                */
	int flags;         /* mmap; memfd_create; fallocate (the mode)       */
	int advice;        /* madvise                                       */
	int fd;            /* mmap, ioctl, pread, pwrite, fallocate,
	                      ftruncate, fdatasync, fsync                   */
	off_t off;         /* mmap, pread, pwrite, fallocate                */
	unsigned long req; /* ioctl                                         */
	void *arg;         /* ioctl                                         */
	const void *buf;   /* pread, pwrite                                 */
	const char *name;  /* memfd_create                                  */
};

static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a);

#define TU_RA __builtin_return_address(0)

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct tu_host_args a = { .ra = TU_RA, .addr = addr, .len = len, .prot = prot,
	                          .flags = flags, .fd = fd, .off = off };

	if (tu_host_hook(TU_MMAP, &a) < 0)
		return MAP_FAILED;
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	struct tu_host_args a = { .ra = TU_RA, .addr = addr, .len = len };

	if (tu_host_hook(TU_MUNMAP, &a) < 0)
		return -1;
	return (int)syscall(SYS_munmap, addr, len);
}

int mprotect(void *addr, size_t len, int prot)
{
	struct tu_host_args a = { .ra = TU_RA, .addr = addr, .len = len, .prot = prot };

	if (tu_host_hook(TU_MPROTECT, &a) < 0)
		return -1;
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

int madvise(void *addr, size_t len, int advice)
{
	struct tu_host_args a = { .ra = TU_RA, .addr = addr, .len = len, .advice = advice };

	if (tu_host_hook(TU_MADVISE, &a) < 0)
		return -1;
	return (int)syscall(SYS_madvise, addr, len, advice);
}

/* Every ioctl dpemu makes takes one pointer argument (or none). */
int ioctl(int fd, unsigned long req, ...)
{
	struct tu_host_args a = { .ra = TU_RA, .fd = fd, .req = req };
	va_list ap;

	va_start(ap, req);
	a.arg = va_arg(ap, void *);
	va_end(ap);
	if (tu_host_hook(TU_IOCTL, &a) < 0)
		return -1;
	return (int)syscall(SYS_ioctl, fd, req, a.arg);
}

/* pread with the caller's return address ra (pread and pread64 share it). */
static ssize_t tu_pread(void *ra, int fd, void *buf, size_t len, off_t off)
{
	struct tu_host_args a = { .ra = ra, .fd = fd, .buf = buf, .len = len, .off = off };

	if (tu_host_hook(TU_PREAD, &a) < 0)
		return -1;
	return (ssize_t)syscall(SYS_pread64, fd, buf, len, off);
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	return tu_pread(TU_RA, fd, buf, len, off);
}

ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	return tu_pread(TU_RA, fd, buf, len, off);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct tu_host_args a = { .ra = TU_RA, .fd = fd, .buf = buf, .len = len, .off = off };

	if (tu_host_hook(TU_PWRITE, &a) < 0)
		return -1;
	return (ssize_t)syscall(SYS_pwrite64, fd, buf, len, off);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct tu_host_args a = { .ra = TU_RA, .fd = fd, .flags = mode, .off = off,
	                          .len = (size_t)len };

	if (tu_host_hook(TU_FALLOCATE, &a) < 0)
		return -1;
	return (int)syscall(SYS_fallocate, fd, mode, off, len);
}

int ftruncate(int fd, off_t len)
{
	struct tu_host_args a = { .ra = TU_RA, .fd = fd, .len = (size_t)len };

	if (tu_host_hook(TU_FTRUNCATE, &a) < 0)
		return -1;
	return (int)syscall(SYS_ftruncate, fd, len);
}

int memfd_create(const char *name, unsigned int flags)
{
	struct tu_host_args a = { .ra = TU_RA, .name = name, .flags = (int)flags };

	if (tu_host_hook(TU_MEMFD_CREATE, &a) < 0)
		return -1;
	return (int)syscall(SYS_memfd_create, name, flags);
}

int fdatasync(int fd)
{
	struct tu_host_args a = { .ra = TU_RA, .fd = fd };

	if (tu_host_hook(TU_FDATASYNC, &a) < 0)
		return -1;
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	struct tu_host_args a = { .ra = TU_RA, .fd = fd };

	if (tu_host_hook(TU_FSYNC, &a) < 0)
		return -1;
	return (int)syscall(SYS_fsync, fd);
}

#undef TU_RA

#endif /* DPEMU_TESTS_INTERPOSE_H */
