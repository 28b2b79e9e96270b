/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool.c - dpemu_pool_create, _destroy and _stats: a pool of simulated
 * physical frames (mem/frames.c), its replacement policy and swap store
 * (evict/evict.c), and the host mode its spaces will use (host/hostmap.c).
 *
 * API side only.  May call observe.c of its own layer (DPEMU_TRACE) and
 * every layer below (internal.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

DPEMU_API int dpemu_pool_create(const struct dpemu_pool_config *cfg, dpemu_pool **out)
{
	size_t host = (size_t)sysconf(_SC_PAGESIZE);
	size_t ps;
	struct dpemu_pool *pool;
	int err;

	if (!cfg || !out)
		return set_error(-EINVAL, "dpemu_pool_create: cfg and out must not be NULL");
	*out = NULL;
	ps = cfg->page_size ? cfg->page_size : host;
	if (ps < host || (ps & (ps - 1)) || ps % host)
		return set_error(-EINVAL, "dpemu_pool_create: page_size %zu is not a power-of-two "
		                 "multiple of the host page size %zu", cfg->page_size, host);
	if (cfg->frames == 0)
		return set_error(-EINVAL, "dpemu_pool_create: frames must be > 0");
	if (cfg->frames >= FRAME_NONE || cfg->frames > (SIZE_MAX / 2) / ps)
		return set_error(-EINVAL, "dpemu_pool_create: %zu frames of %zu bytes is too many "
		                 "(at most %u frames)", cfg->frames, ps, FRAME_NONE - 1);
	if ((unsigned)cfg->policy > DPEMU_POLICY_CUSTOM)
		return set_error(-EINVAL, "dpemu_pool_create: unknown policy %d", (int)cfg->policy);
	if (cfg->policy == DPEMU_POLICY_CUSTOM && (!cfg->custom || !cfg->custom->pick))
		return set_error(-EINVAL, "dpemu_pool_create: DPEMU_POLICY_CUSTOM needs custom, "
		                 "a struct dpemu_policy_ops with a pick callback");
	if (cfg->policy != DPEMU_POLICY_CUSTOM && cfg->custom)
		return set_error(-EINVAL, "dpemu_pool_create: custom is set but policy is %s, "
		                 "not DPEMU_POLICY_CUSTOM", dpemu_policy_name(cfg->policy));
	if (cfg->policy == DPEMU_POLICY_NONE && (cfg->swap_path || cfg->swap_slots || cfg->store))
		return set_error(-EINVAL, "dpemu_pool_create: swap_path, swap_slots and store need "
		                 "a replacement policy (policy is DPEMU_POLICY_NONE)");
	if (cfg->store && cfg->swap_path)
		return set_error(-EINVAL, "dpemu_pool_create: swap_path and store both name a "
		                 "backing store; set one");
	if (cfg->swap_slots >= FRAME_NONE || cfg->swap_slots > (SIZE_MAX / 2) / ps)
		return set_error(-EINVAL, "dpemu_pool_create: %zu swap slots is too many (at most %u)",
		                 cfg->swap_slots, FRAME_NONE - 1);

	/* (aligned: trace_users has a cache line of its own) */
	if (posix_memalign((void **)&pool, _Alignof(struct dpemu_pool), sizeof *pool) != 0)
		return set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	memset(pool, 0, sizeof *pool);
	pool->page_size = ps;
	pool->page_shift = (unsigned)__builtin_ctzll(ps);
	pool->nframes = cfg->frames;
	pool->resident_head = pool->resident_tail = FRAME_NONE;
	pool->memfd = -1;
	err = frames_create(pool, cfg);
	if (err)
		goto fail;
	err = hostmap_probe(pool->memfd, ps, &pool->sigsegv_hostmode);
	if (err)
		goto fail;
	err = evict_init(pool, cfg);
	if (err)
		goto fail;
	pool->owner = getpid();
	fork_guard_install();
	err = observe_pool_start(pool); /* DPEMU_TRACE */
	if (err) {
		err = wrap_error(err, "dpemu_pool_create");
		goto fail;
	}
	*out = pool;
	return 0;
fail:
	evict_fini(pool);
	frames_destroy(pool);
	free(pool);
	return err;
}

DPEMU_API int dpemu_pool_destroy(dpemu_pool *pool)
{
	if (!pool)
		return set_error(-EINVAL, "dpemu_pool_destroy: pool is NULL");
	if (atomic_load(&pool->nspaces) > 0)
		return set_error(-EBUSY, "dpemu_pool_destroy: %d space(s) still use this pool; "
		                 "destroy them first", atomic_load(&pool->nspaces));
	observe_pool_stop(pool);
	evict_fini(pool);
	frames_destroy(pool);
	free(pool);
	return 0;
}

/*
 * Fill *out with the pool's counters.  They are gathered in a local under
 * the pool's locks and copied out with none held, since *out may be in an
 * arena whose page faults (a fault needs those locks).  0, -EINVAL (NULL
 * argument) or -EPERM (inherited through fork(2)).
 */
DPEMU_API int dpemu_pool_stats(const dpemu_pool *cpool, struct dpemu_pool_stats *out)
{
	struct dpemu_pool *pool = (struct dpemu_pool *)cpool;
	struct dpemu_pool_stats st;

	if (!pool || !out)
		return set_error(-EINVAL, "dpemu_pool_stats: pool and out must not be NULL");
	if (pool_inherited(pool))
		return set_error(-EPERM, "dpemu_pool_stats: this pool belongs to the parent "
		                 "process of fork(2)");
	memset(&st, 0, sizeof st);
	lock_acquire(&pool->swap_lock);
	st.swap_slots_used = pool->swap.used;
	st.swap_ins = pool->swap_ins;
	lock_release(&pool->swap_lock);
	lock_acquire(&pool->lock);
	st.frames_free = pool->nfree;
	st.frames_used_peak = pool->nframes - pool->nfree_low;
	st.frames_shared = atomic_load(&pool->nshared);
	lock_release(&pool->lock);
	lock_acquire(&pool->evict_lock);
	st.evictions = pool->evictions;
	st.swap_outs = pool->swap_outs;
	st.writebacks = pool->writebacks;
	lock_release(&pool->evict_lock);
	st.policy = pool->policy;
	st.swap_slots = pool->swap.nslots;
	st.frames_total = pool->nframes;
	st.frames_used = st.frames_total - st.frames_free;
	st.page_size = pool->page_size;
	st.spaces = (uint64_t)atomic_load(&pool->nspaces);
	st.zero_maps = (uint64_t)atomic_load(&pool->zero_maps);
	*out = st; /* no lock held: a fault here is an ordinary one */
	return 0;
}

DPEMU_API const char *dpemu_policy_name(enum dpemu_policy policy)
{
	switch (policy) {
	case DPEMU_POLICY_NONE:   return "none";
	case DPEMU_POLICY_FIFO:   return "fifo";
	case DPEMU_POLICY_CLOCK:  return "clock";
	case DPEMU_POLICY_LRU:    return "lru";
	case DPEMU_POLICY_RANDOM: return "random";
	case DPEMU_POLICY_CUSTOM: return "custom";
	}
	return "unknown";
}
