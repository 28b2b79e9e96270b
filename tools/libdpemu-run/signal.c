/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * signal.c - sigaction and signal of the program under dpemu, for SIGSEGV
 * and SIGBUS: the program's own handler keeps working, behind dpemu's.
 *
 * dpemu's SIGSEGV handler (and its SIGBUS handler, for userfaultfd's
 * SIGBUS mode) must stay in front: it resolves the faults in the space and
 * passes every other one to the handler it displaced.  A handler the
 * program installs after dpemu started would displace it instead.  So
 * when the program installs one, it is installed as the kernel's action
 * for a moment, and a throwaway dpemu space is created and destroyed:
 * dpemu_space_create puts dpemu's handler back in front and keeps the one
 * it found as the one it passes faults to (dpemu_catch(3), NOTES) -
 * exactly the program's new handler.  The program sees its own actions:
 * what sigaction reports as the old action is the last one it installed
 * (at first, what the kernel had before dpemu), never dpemu's.
 * Calls: glibc's sigaction (libc.c), dpemu (pl_in_lib raised).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "preload.h"

/* The program's view of SIGSEGV [0] and SIGBUS [1]. */
static struct sigaction program_action[2];
static pthread_mutex_t signal_mutex = PTHREAD_MUTEX_INITIALIZER;

static int which(int sig)
{
	return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : -1;
}

/* Before the space exists: what the program has now is its view. */
void pl_signals_init(void)
{
	pl_libc.sigaction(SIGSEGV, NULL, &program_action[0]);
	pl_libc.sigaction(SIGBUS, NULL, &program_action[1]);
}

/* Put dpemu's handlers back in front (see the top). */
static void refront(void)
{
	struct dpemu_space_config sc;
	dpemu_space *s;

	memset(&sc, 0, sizeof sc);
	sc.reserve = pl.page_size;
	sc.backend = pl.backend;
	sc.uffd_mode = pl.uffd_mode;
	if (dpemu_space_create(pl.pool, &sc, &s) == 0)
		dpemu_space_destroy(s);
}

PL_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int w = which(sig), rc = 0;
	struct sigaction previous;

	if (w < 0 || !pl_serving()) {
		if (!pl_libc_resolve()) {
			errno = ENOSYS;
			return -1;
		}
		return pl_libc.sigaction(sig, act, old);
	}
	pthread_mutex_lock(&signal_mutex);
	previous = program_action[w];
	if (act) {
		pl_in_lib++;
		rc = pl_libc.sigaction(sig, act, NULL);
		if (rc == 0) {
			program_action[w] = *act;
			refront();
		}
		pl_in_lib--;
	}
	pthread_mutex_unlock(&signal_mutex);
	if (rc == 0 && old)
		*old = previous;
	return rc;
}

PL_EXPORT void (*signal(int sig, void (*handler)(int)))(int)
{
	struct sigaction act, old;

	if (which(sig) < 0 || !pl_serving()) {
		if (!pl_libc_resolve()) {
			errno = ENOSYS;
			return SIG_ERR;
		}
		return pl_libc.signal(sig, handler);
	}
	/* glibc's signal(): BSD semantics. */
	memset(&act, 0, sizeof act);
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = SA_RESTART;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}
