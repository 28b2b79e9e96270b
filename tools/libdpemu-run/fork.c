/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fork.c - fork(2) of the program under dpemu: the child gets its own copy
 * of the memory in the space, as ordinary private memory.
 *
 * The pool's frames are one shared memory object, so a child of fork(2)
 * must not use the space: libdpemu makes every inherited arena
 * inaccessible in the child (its fork guard, an atfork child handler
 * registered when the pool was made - before this file's).  So:
 *   prepare (the parent, in the thread that forks, before the fork):
 *     dpemu_read copies the whole space, skipping pages that read as zeros,
 *     into fresh private anonymous memory - without faulting anything in,
 *     and with each page read under dpemu's locks, so that no frame can be
 *     evicted or reused while it is copied;
 *   child: after libdpemu's guard has made the arena inaccessible, mremap
 *     moves the copy over the arena, at the same addresses: the heap's
 *     pointers stay good, mimalloc goes on serving it, and from here the
 *     child's memory is the kernel's (a fork of the child is an ordinary
 *     one; its mmaps go to the kernel);
 *   parent: unmaps its reference to the copy (the child keeps its own).
 * The copy is taken at the prepare handler, not at the fork itself: a
 * write another thread of the parent makes between the two is not in the
 * child; one it makes during the copy may be in some pages and not in
 * others (the kernel's fork gives no more to threads that write while
 * another forks: POSIX leaves their memory unspecified).  The forking
 * thread writes nothing in between (glibc's own fork work touches its
 * static data and its own heap only).  Prepare handlers registered before
 * this library's run after the copy; their writes to the heap are lost in
 * the child.  A fork costs a copy of what the space holds (resident and
 * swapped pages), not of the addresses.  vfork(2) and posix_spawn (and so
 * system(3)) share the parent's memory until exec and run no atfork
 * handler: nothing to do for them.
 * Calls: dpemu (dpemu_read), the kernel.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

static void *copy;       /* the prepare handler's copy of the space */
static size_t copy_len;

static void fork_prepare(void)
{
	void *c;

	if (pl_state() != PL_ON || getpid() != pl.pid)
		return;
	copy_len = pl.end - pl.base;
	c = pl_sys_mmap(NULL, copy_len, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c == MAP_FAILED) {
		static const char msg[] = "dpemu run: fork: no address space for the child's copy "
		                          "of the heap; the child dies if it touches it\n";
		if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
			/* nothing more to say */
		}
		return;
	}
	pl_in_lib++;
	if (dpemu_read(pl.space, (void *)pl.base, c, copy_len, DPEMU_READ_SKIP_ZERO) != 0) {
		pl_in_lib--;
		pl_sys_munmap(c, copy_len);
		return;
	}
	pl_in_lib--;
	copy = c;
	atomic_fetch_add(&pl.n.forks, 1);
}

static void fork_parent(void)
{
	if (copy) {
		pl_sys_munmap(copy, copy_len);
		copy = NULL;
	}
}

static void fork_child(void)
{
	void *moved;

	if (!copy)
		return;
	moved = (void *)syscall(SYS_mremap, copy, copy_len, copy_len,
	                        MREMAP_MAYMOVE | MREMAP_FIXED, (void *)pl.base);
	copy = NULL;
	if (moved == MAP_FAILED) {
		static const char msg[] = "dpemu run: fork: cannot move the child's copy of the "
		                          "heap into place; the child dies if it touches it\n";
		if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
			/* nothing more to say */
		}
		return;
	}
	atomic_store_explicit(&pl.state, PL_CHILD, memory_order_release);
}

/* Register the handlers (after libdpemu's, which the pool registered). */
int pl_fork_install(void)
{
	return pthread_atfork(fork_prepare, fork_parent, fork_child);
}
