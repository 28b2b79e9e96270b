/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * preload.h - libdpemu-run.so, the preload library of `dpemu run`: what
 * its files share.
 *
 * `dpemu run` (tools/dpemu/run.c) starts a program with this library in
 * LD_PRELOAD and its configuration in DPEMU_RUN_* environment variables.
 * In the process the tool started (DPEMU_RUN_PID; also after it execs
 * another program) the library's constructor creates a pool and one
 * space, maps most of it as one private anonymous dpemu mapping and hands
 * that to mimalloc (mi_manage_os_memory, with mi_option_limit_os_alloc so
 * that mimalloc takes no memory from the system for its heap); from then
 * on the malloc family goes to mimalloc, and private anonymous mmaps are
 * placed in the space.  At exit the library writes its report where the
 * tool asked (DPEMU_RUN_REPORT).  Every other process that loads the
 * library (a child that ran exec) is passive: the malloc family goes to
 * glibc's, mmap to the kernel, and the library takes itself out of
 * LD_PRELOAD for that process's own children.
 *
 * The files:
 *   init.c    the constructor and destructor, the configuration, the
 *             state, _exit
 *   libc.c    glibc's allocator and sigaction found by dlsym, and the
 *             bootstrap buffer that serves allocations made meanwhile
 *   alloc.c   malloc, free, calloc, realloc, ... (the interposed family)
 *   mmap.c    mmap, munmap, mremap, mprotect, madvise; and the host calls
 *             of the library's own copy of dpemu (__wrap_*, see below)
 *   fork.c    fork(2): the child's private copy of the space's memory
 *   signal.c  sigaction and signal for SIGSEGV and SIGBUS
 *   report.c  the report written at exit
 *
 * The library links its own copy of libdpemu's sources (hidden), with
 * -Wl,--wrap for the calls that this library interposes: libdpemu's own
 * mmap, munmap, mprotect, madvise, mremap and sigaction go straight to the
 * kernel (or glibc), and its malloc family to glibc's, whatever thread
 * makes them - the userfaultfd handler thread included - so that nothing
 * of dpemu's own lands in the space it serves.  Calls this library makes
 * into dpemu run with pl_in_lib raised, so that what glibc allocates for
 * them (stdio buffers of /proc files, thread stacks' bookkeeping) goes to
 * glibc too.
 */
#ifndef DPEMU_RUN_PRELOAD_H
#define DPEMU_RUN_PRELOAD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dpemu.h"

#define PL_HIDDEN __attribute__((visibility("hidden")))
#define PL_EXPORT __attribute__((visibility("default")))

/* Where the process stands. */
enum pl_state {
	PL_STARTING, /* before the constructor decided: glibc serves         */
	PL_PASSIVE,  /* not the program dpemu run started: glibc, the kernel */
	PL_ON,       /* the program, under dpemu                            */
	PL_CHILD,    /* a child of its fork(2): the heap is private memory,
	                mimalloc still serves it; mmap goes to the kernel   */
};

/* Counters of what the library placed where (atomics; report.c). */
struct pl_counts {
	atomic_ullong mmap_placed, mmap_placed_bytes;     /* mmaps in the space    */
	atomic_ullong mmap_fallback, mmap_fallback_bytes; /* did not fit: kernel's */
	atomic_ullong mmap_other, mmap_other_bytes;       /* not private anonymous
	                                                     (files, shared, stacks)
	                                                     or MAP_FIXED outside   */
	atomic_ullong early_allocs, early_bytes;          /* malloc calls before the
	                                                     heap existed: glibc's  */
	atomic_ullong forks;                               /* fork(2)s copied       */
	atomic_ullong fork_bytes;                          /* bytes the children got */
	atomic_ullong host_ranges;                         /* ranges of the space
	                                                     given to the kernel for
	                                                     a file or shared map  */
};

struct pl {
	_Atomic int state;       /* enum pl_state                                */
	dpemu_pool *pool;
	dpemu_space *space;
	uintptr_t base, end;     /* the space's arena                            */
	uintptr_t heap, heap_end; /* the part given to mimalloc                  */
	size_t page_size;        /* dpemu's page                                 */
	size_t host_page;
	enum dpemu_backend backend;
	enum dpemu_uffd_mode uffd_mode;
	const char *backend_name;
	const char *policy_name; /* what the report calls the pool's policy     */
	size_t tlb_entries;      /* the space's emulated TLB (0: none)          */
	bool tracing;            /* DPEMU_RUN_TRACE started a trace              */
	pid_t pid;               /* the program's process                        */
	char report[4096];       /* DPEMU_RUN_REPORT                             */
	uint64_t start_ns;       /* CLOCK_MONOTONIC at the constructor           */
	struct pl_counts n;
};

PL_HIDDEN extern struct pl pl;
/* Nesting of this thread's calls into dpemu (and glibc on its behalf):
 * while raised, the malloc family goes to glibc, mmap to the kernel. */
PL_HIDDEN extern __thread int pl_in_lib __attribute__((tls_model("initial-exec")));

static inline int pl_state(void)
{
	return atomic_load_explicit(&pl.state, memory_order_acquire);
}

/* Whether this call is the program's own, in the process under dpemu. */
static inline bool pl_serving(void)
{
	return pl_state() == PL_ON && pl_in_lib == 0;
}

static inline bool pl_in_space(uintptr_t a)
{
	return a >= pl.base && a < pl.end;
}

static inline bool pl_in_heap(const void *p)
{
	return (uintptr_t)p >= pl.heap && (uintptr_t)p < pl.heap_end;
}

/* libc.c: glibc's functions, found once (pl_libc_resolve, before any
 * allocation is served by them: until then the bootstrap buffer serves). */
struct pl_libc {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	void (*(*signal)(int, void (*)(int)))(int);
};
PL_HIDDEN extern struct pl_libc pl_libc;
PL_HIDDEN bool pl_libc_resolve(void);
PL_HIDDEN void *pl_boot_alloc(size_t size, size_t align);
PL_HIDDEN bool pl_in_boot(const void *p);
PL_HIDDEN size_t pl_boot_size(const void *p);

/* The kernel's calls, straight (mmap.c). */
PL_HIDDEN void *pl_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
PL_HIDDEN int pl_sys_munmap(void *addr, size_t len);

/* init.c */
PL_HIDDEN uint64_t pl_now_ns(void);
PL_HIDDEN void pl_strip_environment(void);
/* fork.c */
PL_HIDDEN int pl_fork_install(void);
/* signal.c */
PL_HIDDEN void pl_signals_init(void);
/* report.c */
PL_HIDDEN void pl_report_line(const char *key, const char *text);
PL_HIDDEN void pl_report_final(void);
PL_HIDDEN void pl_die(const char *what, const char *why) __attribute__((noreturn));

#endif
