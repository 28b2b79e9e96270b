/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * arena.c - the host seam for whole arenas: reserving one, giving it back,
 * making it plain reserve again, arming it for userfaultfd, and every
 * userfaultfd ioctl on an arena's pages.  With hostmap.c (the host view
 * of single pages) this folder holds every mmap, mprotect, madvise and
 * userfaultfd ioctl on an arena; the layers above decide, these files do
 * it.  (Memory that is not an arena - the pool's memfd and direct map,
 * page-table nodes, bookkeeping arrays - is mapped by the file it
 * belongs to.)
 *
 * Fault path: the uffd_* ioctls run in a SIGBUS handler (userfaultfd's
 * SIGBUS mode) or on the handler thread: ioctl(2) only, and uffd_wake may
 * write(2) a last message and abort(3).  arena_reset runs in the child of
 * fork(2) (async-signal-safe: mmap only).  The rest is API side.
 * Calls: error.c's formatters only.
 */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* Newer than Debian 12's kernel headers: defined here, probed at run time
 * (trap_uffd.c). */
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

static inline uint64_t addr_of(const struct dpemu_space *s, uint64_t pg)
{
	return (uint64_t)(uintptr_t)space_page_addr(s, pg);
}

static inline uint64_t len_of(const struct dpemu_space *s, uint64_t n)
{
	return n << s->page_shift;
}

/* ---- whole arenas (API side) ----------------------------------------------------- */

/*
 * Reserve size bytes of address space aligned to ps (a power of two), all
 * PROT_NONE and committing nothing: one page more is reserved and the ends
 * trimmed.  The arena's address, or NULL (errno set by mmap).
 */
void *arena_reserve(size_t size, size_t ps)
{
	unsigned char *raw, *base;

	raw = mmap(NULL, size + ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	base = (unsigned char *)(((uintptr_t)raw + ps - 1) & ~(uintptr_t)(ps - 1));
	if (base > raw)
		munmap(raw, (size_t)(base - raw));
	if (raw + size + ps > base + size)
		munmap(base + size, (size_t)(raw + size + ps - (base + size)));
	return base;
}

/* Give the arena [base, base + size) back to the host: 0 or -errno. */
int arena_release(void *base, size_t size)
{
	return munmap(base, size) == 0 ? 0 : -errno;
}

/*
 * Make s's arena plain reserve again: PROT_NONE, no userfaultfd
 * registration, no frame shown (one mmap over the whole arena, which
 * replaces whatever was there and needs no new host mapping).  0 or -errno.
 */
int arena_reset(struct dpemu_space *s)
{
	if (mmap((void *)s->base, s->size, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

/*
 * Arm s's arena, still plain reserve, for its userfaultfd s->uffd: the
 * reserve becomes readable and writable anonymous memory registered for
 * missing faults, so its first touch, in user code or inside a system
 * call, reaches dpemu (trap_uffd.c).  0, or -errno with the arena plain
 * PROT_NONE reserve again.
 */
int arena_uffd_arm(struct dpemu_space *s)
{
	struct uffdio_register r = {
		.range = { s->base, s->size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int err;

	if (mprotect((void *)s->base, s->size, PROT_READ | PROT_WRITE) == 0 &&
	    ioctl(s->uffd, UFFDIO_REGISTER, &r) == 0)
		return 0;
	err = -errno;
	if (arena_reset(s) < 0)
		mprotect((void *)s->base, s->size, PROT_NONE);
	return err;
}

/* ---- userfaultfd ioctls on an arena (fault path) --------------------------------- */

/* Register pages [pg, pg+n) (identity-mapped) for missing, minor and, where
 * the kernel can, write-protect faults. */
int uffd_register(struct dpemu_space *s, uint64_t pg, uint64_t n)
{
	struct uffdio_register r = {
		.range = { addr_of(s, pg), len_of(s, n) },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR |
		        (s->uffd_wp ? UFFDIO_REGISTER_MODE_WP : 0),
	};

	return ioctl(s->uffd, UFFDIO_REGISTER, &r) < 0 ? -errno : 0;
}

/*
 * Map the frames already in the memfd under pages [pg, pg+n) (the frames
 * the host mappings there point at), write-protected if wp, waking no one
 * (see uffd_wake).  A frame never written has no page in the memfd
 * yet: UFFDIO_COPY puts a zeroed one there instead.  Returns 0 only when
 * every page of the range is mapped.
 *
 * EEXIST means two things.  From UFFDIO_CONTINUE: this mapping already
 * has the page (a racing fault showed it).  From UFFDIO_COPY on shared
 * memory: the memfd already has a page at that offset - another mapping
 * of the same frame (the zero frame, shown by every space of the pool)
 * copied one in since our UFFDIO_CONTINUE failed - and nothing is mapped
 * here yet: so UFFDIO_CONTINUE again, which now finds it.
 */
int uffd_continue(struct dpemu_space *s, uint64_t pg, uint64_t n, bool wp)
{
	uint64_t done = 0, len = len_of(s, n);
	bool copied_over = false; /* the page at `done` lost a UFFDIO_COPY race */

	while (done < len) {
		struct uffdio_continue c = {
			.range = { addr_of(s, pg) + done, len - done },
			.mode = UFFDIO_CONTINUE_MODE_DONTWAKE | (wp ? UFFDIO_CONTINUE_MODE_WP : 0),
		};
		if (ioctl(s->uffd, UFFDIO_CONTINUE, &c) == 0)
			return 0;
		if (c.mapped > 0) {
			done += (uint64_t)c.mapped;
			copied_over = false;
			continue;
		}
		if (errno == EEXIST) {
			done += len_of(s, 1); /* already mapped: a racing fault */
			copied_over = false;
			continue;
		}
		if (errno != EFAULT && errno != ENOENT)
			return -errno;
		if (copied_over)
			return -EIO; /* the page the memfd had is gone again: no holes are punched */
		/* No page in the memfd: the frame is all zeros; copy them in. */
		struct uffdio_copy cp = {
			.dst = addr_of(s, pg) + done,
			.src = (uint64_t)(uintptr_t)s->pool->zero_page,
			.len = len_of(s, 1),
			.mode = UFFDIO_COPY_MODE_DONTWAKE | (wp ? UFFDIO_COPY_MODE_WP : 0),
		};
		if (ioctl(s->uffd, UFFDIO_COPY, &cp) < 0) {
			if (errno != EEXIST)
				return -errno;
			copied_over = true; /* the memfd has a page now: continue it */
			continue;
		}
		done += len_of(s, 1);
	}
	return 0;
}

/* Show page pg, whose frame was never written (a hole in the memfd), by
 * copying zeros into it: one ioctl, where _CONTINUE would fail first. */
int uffd_zero(struct dpemu_space *s, uint64_t pg, bool wp)
{
	struct uffdio_copy cp = {
		.dst = addr_of(s, pg),
		.src = (uint64_t)(uintptr_t)s->pool->zero_page,
		.len = len_of(s, 1),
		.mode = UFFDIO_COPY_MODE_DONTWAKE | (wp ? UFFDIO_COPY_MODE_WP : 0),
	};

	if (ioctl(s->uffd, UFFDIO_COPY, &cp) == 0)
		return 0;
	if (errno == EEXIST || errno == ENOENT || errno == EFAULT)
		return uffd_continue(s, pg, 1, wp); /* it has a page after all */
	return -errno;
}

/* Write-protect pages [pg, pg+n), or lift the protection (without waking
 * anyone: see uffd_wake). */
int uffd_writeprotect(struct dpemu_space *s, uint64_t pg, uint64_t n, bool wp)
{
	struct uffdio_writeprotect w = {
		.range = { addr_of(s, pg), len_of(s, n) },
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
	};

	if (s->hostmode != HOSTMODE_UFFD)
		return -EINVAL;
	return ioctl(s->uffd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
}

/*
 * Wake threads waiting on the page at addr (thread mode).  The ioctls that
 * show a page (UFFDIO_CONTINUE, _COPY, _WRITEPROTECT) never wake: they run
 * in the middle of a resolution, and a thread woken there would go on
 * while the rest of its fault (the reference a copy-on-write break drops,
 * counters) is still to be done.  The handler thread wakes it here, once
 * fault_resolve has returned.
 *
 * A wake that fails leaves the faulting thread asleep for ever, so it is
 * checked.  The kernel fails UFFDIO_WAKE only for a range it finds invalid
 * (EINVAL: not page-aligned, or not inside the process's address space)
 * or an unreadable argument (EFAULT) - neither can happen for a page of a
 * live arena; EINTR and EAGAIN cannot either (this thread blocks every
 * signal, and the wake does not wait), but are retried, a bounded number
 * of times, should a kernel return them.  Anything else: wake the whole
 * arena instead (a thread woken without its page being shown just faults
 * again and comes back here); if even that fails, say so on stderr and
 * abort, since the alternative is a process that hangs without a word.
 */
void uffd_wake(struct dpemu_space *s, void *addr)
{
	struct uffdio_range r = {
		(uint64_t)(uintptr_t)addr & ~(uint64_t)(len_of(s, 1) - 1), len_of(s, 1)
	};
	bool whole = false;

	for (int tries = 0;; tries++) {
		if (ioctl(s->uffd, UFFDIO_WAKE, &r) == 0)
			return;
		if ((errno == EINTR || errno == EAGAIN) && tries < 1000)
			continue;
		if (whole)
			break;
		r = (struct uffdio_range){ s->base, s->size };
		whole = true;
	}
	char line[160];
	size_t pos = fmt_str(line, sizeof line, 0, "dpemu: cannot wake the thread that faulted at ");
	pos = fmt_hex(line, sizeof line, pos, (uintptr_t)addr);
	pos = fmt_str(line, sizeof line, pos, ": UFFDIO_WAKE failed (");
	pos = fmt_errno(line, sizeof line, pos, -errno);
	pos = fmt_str(line, sizeof line, pos, "); it would wait for ever\n");
	if (write(STDERR_FILENO, line, pos) < 0) {
		/* nothing more can be done about a failed message */
	}
	abort();
}

