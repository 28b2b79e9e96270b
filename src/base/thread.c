/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * thread.c - what dpemu knows of the host's threads and process: the
 * per-thread lock count and cached thread id, the table of threads that
 * hold a dpemu lock (lock.h draws it and holds the functions that use it),
 * and whether this process is a child of fork(2) that inherited pools
 * (pool_inherited, internal.h; the atfork handler that sets it: fork.c),
 * and which SIGSEGV handler is dpemu's (set by trap_sigsegv.c, read by
 * trap_uffd.c before it queues a signal to a thread).
 *
 * Only variables: every layer reads them, so they live at the bottom.
 * Fault path: all of it (atomics and thread-local words, no calls).
 */
#include "internal.h"

__thread int _dpemu_locks_held __attribute__((tls_model("initial-exec")));
__thread int _dpemu_tid_cache __attribute__((tls_model("initial-exec")));
struct holder_slot _dpemu_holders[HOLDER_SLOTS];
atomic_int _dpemu_holders_probe, _dpemu_holders_overflow;
__thread int _dpemu_holder_slot __attribute__((tls_model("initial-exec")));

atomic_bool _dpemu_in_forked_child;

void (*_Atomic _dpemu_sigsegv_front)(int, siginfo_t *, void *);
