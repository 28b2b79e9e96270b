/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * working_set.c - a working-set policy (WSClock, Carr and Hennessy 1981)
 * as a dpemu custom policy (dpemu_policy(7), "Writing a policy").
 *
 * A page is in the working set if it was used within the last TAU units
 * of virtual time.  dpemu's virtual time is the pool's clock: frames
 * loaded so far (now), so TAU is counted in loads - page faults.  The
 * policy keeps, per frame, the time of its last use it knows of
 * (last_use[frame]); it learns of uses through reference bits: a frame
 * whose bit is set was used since the last look, so its last use becomes
 * now and its bit is cleared (the next use traps and sets it again).
 *
 * The victim, looking from the old end of the load order:
 *   1. the first frame outside the working set (now - last_use > TAU)
 *      that is clean - no write needed;
 *   2. else the first one outside it that is dirty;
 *   3. else (every frame is in the working set: memory is too small for
 *      it, the program thrashes) the frame used longest ago, clean first
 *      among equals.
 *
 * TAU: the environment variable DPEMU_WS_TAU when the pool is created,
 * else the number of frames.
 *
 * Build:  cc -shared -fPIC -o working_set.so working_set.c
 * Use:    DPEMU_WS_TAU=32 dpemu run --policy-lib ./working_set.so --frames 64 -- PROGRAM
 *
 * init (API side) allocates the pool's state; pick (fault path) only
 * reads and writes it and the array it is given; fini frees it.
 */
#include <errno.h>
#include <stdlib.h>

#include <dpemu.h>

struct ws {
	uint64_t tau;
	uint64_t last_use[]; /* per frame number */
};

static int init(void *arg, size_t frames, void **state)
{
	const char *env = getenv("DPEMU_WS_TAU");
	struct ws *ws = calloc(1, sizeof *ws + frames * sizeof ws->last_use[0]);

	(void)arg;
	if (!ws)
		return -ENOMEM;
	ws->tau = env && *env ? strtoull(env, NULL, 10) : frames;
	*state = ws;
	return 0;
}

static void fini(void *state)
{
	free(state);
}

static size_t pick(void *state, struct dpemu_frame_view *f, size_t n, uint64_t now,
                   uint64_t now_ns)
{
	struct ws *ws = state;
	size_t clean_old = n, dirty_old = n, oldest = 0;

	(void)now_ns;
	for (size_t i = 0; i < n; i++) {
		uint64_t *last = &ws->last_use[f[i].frame];
		if (*last < f[i].loaded) /* a new page in this frame since */
			*last = f[i].loaded;
		if (f[i].referenced) { /* used since the last look */
			*last = now;
			f[i].clear = 1;
		}
		if (now - *last > ws->tau) {
			if (!f[i].dirty && clean_old == n)
				clean_old = i;
			if (f[i].dirty && dirty_old == n)
				dirty_old = i;
		}
		uint64_t best = ws->last_use[f[oldest].frame];
		if (*last < best || (*last == best && f[oldest].dirty && !f[i].dirty))
			oldest = i;
	}
	if (clean_old < n)
		return clean_old;
	if (dirty_old < n)
		return dirty_old;
	return oldest;
}

/* What dpemu run and dpemu replay look for in the shared object. */
const struct dpemu_policy_ops dpemu_policy_plugin = {
	.name = "working-set",
	.init = init,
	.fini = fini,
	.pick = pick,
};
