/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * observe.c - watching dpemu work: the latency histograms
 * (dpemu_space_latency, dpemu_space_latency_kind) and the event trace
 * (dpemu_trace_start, dpemu_trace_stop, and DPEMU_TRACE / DPEMU_NO_LATENCY
 * in the environment for pool.c).
 *
 * API side only.  The histograms are counted by the fault path
 * (fault/fault.c, base/latency.c) under each split page-table lock; the
 * trace's ring and writer thread are base/trace.c's.
 *
 * Layer: api (src/internal.h).  Calls: base (latency.c, trace.c, error.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Starting and stopping traces, one at a time (lock order: internal.h). */
static pthread_mutex_t trace_mutex = PTHREAD_MUTEX_INITIALIZER;

/* ---- latency ----------------------------------------------------------- */

/*
 * Fill *out with the latency of s's faults of the kinds in mask (bit k:
 * event DPEMU_EVENT_ZERO_FILL + k).  Each stripe's histograms are added to
 * a local under that stripe's lock alone (a fault of another stripe goes
 * on meanwhile), and *out is written only once no lock is held: it may be
 * in an arena, where the write may fault.
 */
static int latency_of(const char *fn, const dpemu_space *cs, unsigned mask,
                      struct dpemu_latency *out)
{
	struct dpemu_space *s = (struct dpemu_space *)cs;
	struct lat_sum acc;
	struct dpemu_latency res;

	if (!s || !out)
		return set_error(-EINVAL, "%s: space and out must not be NULL", fn);
	if (pool_inherited(s->pool))
		return set_error(-EPERM, "%s: this space belongs to the parent process of fork(2)",
		                 fn);
	memset(&acc, 0, sizeof acc);
	for (unsigned i = 0; i < PTL_STRIPES; i++) {
		struct ptl *ptl = &s->ptl[i];
		lock_acquire(&ptl->lock);
		unsigned kinds = ptl->lat_kinds & mask; /* (others: untouched memory) */
		for (unsigned k = 0; kinds; k++, kinds >>= 1)
			if (kinds & 1)
				lat_merge(&acc, &s->lat[i].kind[k]);
		lock_release(&ptl->lock);
	}
	lat_summary(&acc, &res);
	*out = res; /* no lock held: a fault here is an ordinary one */
	return 0;
}

DPEMU_API int dpemu_space_latency(const dpemu_space *s, struct dpemu_latency *out)
{
	return latency_of("dpemu_space_latency", s, (1u << LAT_KINDS) - 1, out);
}

DPEMU_API int dpemu_space_latency_kind(const dpemu_space *s, enum dpemu_event event,
                                       struct dpemu_latency *out)
{
	if ((unsigned)event < DPEMU_EVENT_ZERO_FILL || (unsigned)event > DPEMU_EVENT_UNRESOLVED)
		return set_error(-EINVAL, "dpemu_space_latency_kind: event %d is not a fault kind "
		                 "(DPEMU_EVENT_ZERO_FILL ... DPEMU_EVENT_UNRESOLVED)", (int)event);
	return latency_of("dpemu_space_latency_kind", s,
	                  1u << ((unsigned)event - DPEMU_EVENT_ZERO_FILL), out);
}

/* ---- the trace ----------------------------------------------------------- */

DPEMU_API int dpemu_trace_start(dpemu_pool *pool, const char *path)
{
	int err;

	if (!pool || !path)
		return set_error(-EINVAL, "dpemu_trace_start: pool and path must not be NULL");
	if (pool_inherited(pool))
		return set_error(-EPERM, "dpemu_trace_start: this pool belongs to the parent "
		                 "process of fork(2)");
	pthread_mutex_lock(&trace_mutex);
	err = trace_start(pool, path);
	if (!err)
		pool->trace_env = false;
	pthread_mutex_unlock(&trace_mutex);
	return err ? wrap_error(err, "dpemu_trace_start") : 0;
}

DPEMU_API int dpemu_trace_stop(dpemu_pool *pool)
{
	int err;

	if (!pool)
		return set_error(-EINVAL, "dpemu_trace_stop: pool is NULL");
	if (pool_inherited(pool))
		return set_error(-EPERM, "dpemu_trace_stop: this pool belongs to the parent "
		                 "process of fork(2)");
	pthread_mutex_lock(&trace_mutex);
	err = trace_stop(pool);
	pthread_mutex_unlock(&trace_mutex);
	return err ? wrap_error(err, "dpemu_trace_stop") : 0;
}

/* ---- the environment --------------------------------------------------- */

/* Pools this process has started a DPEMU_TRACE trace for (a child of
 * fork(2) goes on counting where its parent was). */
static atomic_uint env_pools;

/*
 * The file of the nth (1, 2, ...) DPEMU_TRACE pool: the variable's value
 * with every %p replaced by the process id, and .N appended from the
 * second on (N = n - 1: the Nth pool after the first).  False if it does
 * not fit in len bytes.
 */
static bool env_path(const char *value, unsigned n, char *buf, size_t len)
{
	size_t pos = 0;
	int w;

	for (const char *c = value; *c; c++) {
		if (c[0] == '%' && c[1] == 'p') {
			w = snprintf(buf + pos, len - pos, "%ld", (long)getpid());
			c++;
		} else {
			w = snprintf(buf + pos, len - pos, "%c", *c);
		}
		if (w < 0 || (size_t)w >= len - pos)
			return false;
		pos += (size_t)w;
	}
	if (n > 1) {
		w = snprintf(buf + pos, len - pos, ".%u", n - 1);
		if (w < 0 || (size_t)w >= len - pos)
			return false;
	}
	return true;
}

/*
 * For dpemu_pool_create, once pool is complete: DPEMU_NO_LATENCY (read at
 * the first pool: any value but empty or "0" stops the timing of faults),
 * and DPEMU_TRACE=PATH, which starts a trace of the pool into PATH (see
 * env_path).  Strict: a user who asked for a trace must not silently get
 * none, so a trace that cannot start fails the pool's creation.  0, or
 * trace_start's error with a message naming DPEMU_TRACE.
 */
int observe_pool_start(struct dpemu_pool *pool)
{
	static atomic_bool read_once;
	const char *value = getenv("DPEMU_TRACE");
	char path[4096];
	int err;

	if (!atomic_exchange(&read_once, true)) {
		const char *nl = getenv("DPEMU_NO_LATENCY");
		atomic_store(&_dpemu_latency_off, nl && *nl && strcmp(nl, "0") != 0);
	}
	if (!value || !*value)
		return 0;
	unsigned n = atomic_fetch_add(&env_pools, 1) + 1;
	if (!env_path(value, n, path, sizeof path))
		return set_error(-ENAMETOOLONG, "DPEMU_TRACE=%s: the trace file's name is too long",
		                 value);
	pthread_mutex_lock(&trace_mutex);
	err = trace_start(pool, path);
	if (!err)
		pool->trace_env = true;
	pthread_mutex_unlock(&trace_mutex);
	if (err)
		return set_error(err, "DPEMU_TRACE=%s: %s", value, dpemu_last_error());
	return 0;
}

/*
 * For dpemu_pool_destroy: stop the pool's trace, if it still has one.  A
 * DPEMU_TRACE trace whose writing failed says so on stderr (nobody else
 * would learn of it); one of dpemu_trace_start's was to be stopped by
 * dpemu_trace_stop, which reports its errors.  An inherited pool (a child
 * of fork(2)) only lets go of its copy.
 */
void observe_pool_stop(struct dpemu_pool *pool)
{
	if (pool_inherited(pool)) {
		trace_forget(pool);
		return;
	}
	pthread_mutex_lock(&trace_mutex);
	if (atomic_load(&pool->trace)) {
		int err = trace_stop(pool);
		if (err && pool->trace_env)
			fprintf(stderr, "dpemu: DPEMU_TRACE: %s\n", dpemu_last_error());
	}
	pthread_mutex_unlock(&trace_mutex);
}
