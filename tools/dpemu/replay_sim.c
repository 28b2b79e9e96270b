/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay_sim.c - the replacement policies of `dpemu replay`, simulated on
 * a reference string, one reference at a time.  Calls libc only.
 *
 * The textbook policies: fifo, lru (exact: the page used longest ago), opt
 * (Belady's MIN: the page used again furthest in the future; among pages
 * never used again, the one loaded last, as OSTEP's paging-policy.py
 * breaks that tie).  The library's: clock, aging, random, as
 * src/evict/evict.c decides for a pool whose frames only one space uses,
 * one page per fault (fault_around 0), so that `dpemu replay --live`
 * agrees with the library on every string:
 *
 *   - frames in a resident list, in load order: a new page's frame joins
 *     the young end; fifo evicts the oldest;
 *   - clock: the oldest frame, unless its reference bit is set - then the
 *     bit is cleared and the frame moves to the young end; a frame's bit
 *     is set when it is loaded and at every reference (the library
 *     revokes the page when it clears the bit, so that the next reference
 *     traps and sets it);
 *   - aging: at each eviction every resident frame, in list order, gets
 *     age = age >> 1 | (bit ? 0x80 : 0) and its bit cleared; the first
 *     frame with the lowest age goes; a new frame has age 0, bit set;
 *   - random: frame number xorshift64*(state) % frames, the state seeded
 *     with the seed (0: 0x9e3779b97f4a7c15, the library's default).
 *     Frame numbers are the library's: until the pool is full, the k-th
 *     page loaded gets frame k (its identity frame - the space maps page
 *     p of the string at page p, so page k's identity frame is k - which
 *     is also what the free list would give); after that, a new page gets
 *     the frame its victim had, the only free one;
 *   - custom (a policy of the program's own, struct dpemu_policy_ops):
 *     shown what the library's pick_custom shows - every resident frame
 *     in list order with its frame number, load stamp (the pool's clock:
 *     frames loaded so far), reference bit and dirty bit (set by a write,
 *     cleared by a load that reads) - and its clear and requeue carried
 *     out the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay.h"

struct sframe {
	uint32_t page;
	uint32_t prev, next; /* the resident list, in load order */
	uint8_t ref, age, dirty;
	uint64_t last;       /* lru: the reference that used it last */
	uint64_t loaded;     /* custom: the clock when loaded */
};

struct rp_sim {
	enum rp_policy policy;
	size_t frames, used;
	const struct rp_string *s;
	struct sframe *fr;
	uint32_t *where;     /* where[page]: its frame, or RP_NONE */
	uint32_t head, tail;
	uint64_t rng;
	size_t *nextpos;     /* opt: the next reference to the same page (n: none) */
	size_t *nextuse;     /* opt: nextuse[page], from its last reference */
	uint64_t clock;      /* frames loaded so far (the pool's clock) */
	const struct dpemu_policy_ops *ops; /* custom: the policy, its state, */
	void *cstate;        /* its views, and whether fini is owed */
	struct dpemu_frame_view *views;
	int cready;
};

static const struct dpemu_policy_ops *custom_ops;

void rp_policy_set_custom(const struct dpemu_policy_ops *ops)
{
	custom_ops = ops;
}

const struct dpemu_policy_ops *rp_policy_custom(void)
{
	return custom_ops;
}

static const struct {
	const char *name, *order;
	enum dpemu_policy live;
} policies[RP_NPOLICIES] = {
	[RP_FIFO] = { "fifo", "first in to last in", DPEMU_POLICY_FIFO },
	[RP_LRU] = { "lru", "least to most recently used", DPEMU_POLICY_NONE },
	[RP_OPT] = { "opt", "in load order", DPEMU_POLICY_NONE },
	[RP_CLOCK] = { "clock", "from the hand (oldest) round to the youngest; "
	               "* reference bit set", DPEMU_POLICY_CLOCK },
	[RP_AGING] = { "aging", "in load order, page:age in hex; * reference bit set",
	               DPEMU_POLICY_LRU },
	[RP_RANDOM] = { "random", "by frame number", DPEMU_POLICY_RANDOM },
	[RP_CUSTOM] = { "custom", "in load order; * reference bit set, + dirty",
	                DPEMU_POLICY_CUSTOM },
};

const char *rp_policy_name(enum rp_policy p)
{
	if (p == RP_CUSTOM && custom_ops && custom_ops->name && *custom_ops->name)
		return custom_ops->name;
	return policies[p].name;
}

const char *rp_policy_order(enum rp_policy p)
{
	return policies[p].order;
}

enum dpemu_policy rp_policy_live(enum rp_policy p)
{
	return policies[p].live;
}

int rp_policy_parse(const char *name)
{
	for (int p = 0; p < RP_NPOLICIES; p++)
		if (p != RP_CUSTOM && strcmp(name, policies[p].name) == 0)
			return p;
	return -1;
}

/* The library's generator (evict.c). */
static uint64_t xorshift64star(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

struct rp_sim *rp_sim_new(enum rp_policy p, size_t frames, uint64_t seed,
                          const struct rp_string *s)
{
	struct rp_sim *sim = calloc(1, sizeof *sim);

	if (!sim)
		return NULL;
	sim->policy = p;
	sim->frames = frames;
	sim->s = s;
	sim->head = sim->tail = RP_NONE;
	sim->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	/* Never more frames in use than pages. */
	size_t nf = frames < s->npages ? frames : s->npages;
	sim->fr = calloc(nf ? nf : 1, sizeof *sim->fr);
	sim->where = malloc((s->npages ? s->npages : 1) * sizeof *sim->where);
	if (!sim->fr || !sim->where)
		goto fail;
	for (size_t pg = 0; pg < s->npages; pg++)
		sim->where[pg] = RP_NONE;
	if (p == RP_CUSTOM) {
		sim->ops = custom_ops;
		sim->views = malloc((nf ? nf : 1) * sizeof *sim->views);
		if (!sim->ops || !sim->views)
			goto fail;
		sim->cstate = sim->ops->arg;
		if (sim->ops->init) {
			int err = sim->ops->init(sim->ops->arg, frames, &sim->cstate);
			if (err) {
				fprintf(stderr, "dpemu replay: the %s policy's init failed (%d)\n",
				        rp_policy_name(p), err);
				goto fail;
			}
		}
		sim->cready = 1;
	}
	if (p == RP_OPT) {
		sim->nextpos = malloc((s->n ? s->n : 1) * sizeof *sim->nextpos);
		sim->nextuse = malloc((s->npages ? s->npages : 1) * sizeof *sim->nextuse);
		if (!sim->nextpos || !sim->nextuse)
			goto fail;
		for (size_t pg = 0; pg < s->npages; pg++)
			sim->nextuse[pg] = s->n;
		for (size_t i = s->n; i-- > 0;) {
			sim->nextpos[i] = sim->nextuse[s->page[i]];
			sim->nextuse[s->page[i]] = i;
		}
	}
	return sim;
fail:
	rp_sim_free(sim);
	return NULL;
}

void rp_sim_free(struct rp_sim *sim)
{
	if (!sim)
		return;
	if (sim->cready && sim->ops->fini)
		sim->ops->fini(sim->cstate);
	free(sim->views);
	free(sim->fr);
	free(sim->where);
	free(sim->nextpos);
	free(sim->nextuse);
	free(sim);
}

/* ---- the resident list ------------------------------------------------------- */

static void list_unlink(struct rp_sim *sim, uint32_t f)
{
	struct sframe *x = &sim->fr[f];

	if (x->prev != RP_NONE)
		sim->fr[x->prev].next = x->next;
	else
		sim->head = x->next;
	if (x->next != RP_NONE)
		sim->fr[x->next].prev = x->prev;
	else
		sim->tail = x->prev;
}

static void list_append(struct rp_sim *sim, uint32_t f)
{
	struct sframe *x = &sim->fr[f];

	x->next = RP_NONE;
	x->prev = sim->tail;
	if (sim->tail != RP_NONE)
		sim->fr[sim->tail].next = f;
	else
		sim->head = f;
	sim->tail = f;
}

/* ---- victims (the pool full) ------------------------------------------------------- */

/* clock: second chance, the hand at the old end of the list (pick_clock). */
static uint32_t pick_clock(struct rp_sim *sim)
{
	for (;;) {
		uint32_t f = sim->head;
		if (!sim->fr[f].ref)
			return f;
		sim->fr[f].ref = 0;
		list_unlink(sim, f);
		list_append(sim, f);
	}
}

/* aging: every frame aged, bits cleared; the first of the lowest age
 * (pick_lru). */
static uint32_t pick_aging(struct rp_sim *sim)
{
	uint32_t best = RP_NONE;
	unsigned best_age = 256;

	for (uint32_t f = sim->head; f != RP_NONE; f = sim->fr[f].next) {
		struct sframe *x = &sim->fr[f];
		x->age = (uint8_t)((x->age >> 1) | (x->ref ? 0x80 : 0));
		x->ref = 0;
		if (x->age < best_age) {
			best = f;
			best_age = x->age;
		}
	}
	return best;
}

/* lru: the frame used longest ago. */
static uint32_t pick_lru(const struct rp_sim *sim)
{
	uint32_t best = 0;

	for (uint32_t f = 1; f < sim->used; f++)
		if (sim->fr[f].last < sim->fr[best].last)
			best = f;
	return best;
}

/* opt: the page used again furthest ahead; of those never used again,
 * the last in load order (paging-policy.py's ">=" over its list). */
static uint32_t pick_opt(const struct rp_sim *sim)
{
	uint32_t best = RP_NONE;
	size_t furthest = 0;

	for (uint32_t f = sim->head; f != RP_NONE; f = sim->fr[f].next) {
		size_t when = sim->nextuse[sim->fr[f].page];
		if (best == RP_NONE || when >= furthest) {
			best = f;
			furthest = when;
		}
	}
	return best;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* custom: the policy's choice among the resident list, its clear and
 * requeue carried out on the others in list order (pick_custom). */
static uint32_t pick_custom(struct rp_sim *sim)
{
	size_t n = 0, k;

	for (uint32_t f = sim->head; f != RP_NONE; f = sim->fr[f].next)
		sim->views[n++] = (struct dpemu_frame_view){
			.frame = f, .pages = 1, .loaded = sim->fr[f].loaded,
			.referenced = sim->fr[f].ref, .dirty = sim->fr[f].dirty };
	k = sim->ops->pick(sim->cstate, sim->views, n, sim->clock, monotonic_ns());
	if (k >= n)
		k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t f = sim->views[i].frame;
		if (i == k)
			continue;
		if (sim->views[i].clear)
			sim->fr[f].ref = 0;
		if (sim->views[i].requeue && sim->tail != f) {
			list_unlink(sim, f);
			list_append(sim, f);
		}
	}
	return sim->views[k].frame;
}

static uint32_t pick_victim(struct rp_sim *sim)
{
	switch (sim->policy) {
	case RP_CUSTOM: return pick_custom(sim);
	case RP_CLOCK:  return pick_clock(sim);
	case RP_AGING:  return pick_aging(sim);
	case RP_LRU:    return pick_lru(sim);
	case RP_OPT:    return pick_opt(sim);
	case RP_RANDOM: return (uint32_t)(xorshift64star(&sim->rng) % sim->frames);
	default:        return sim->head;
	}
}

int rp_sim_step(struct rp_sim *sim, size_t i, uint32_t *victim)
{
	uint32_t p = sim->s->page[i], f = sim->where[p];
	int hit = f != RP_NONE;

	*victim = RP_NONE;
	if (!hit) {
		if (sim->used < sim->frames) {
			f = (uint32_t)sim->used++;
		} else {
			f = pick_victim(sim);
			*victim = sim->fr[f].page;
			sim->where[*victim] = RP_NONE;
			list_unlink(sim, f);
		}
		sim->fr[f].page = p;
		sim->fr[f].age = 0;
		sim->fr[f].dirty = 0;
		sim->fr[f].loaded = sim->clock++;
		list_append(sim, f);
		sim->where[p] = f;
	}
	if (sim->s->write && sim->s->write[i])
		sim->fr[f].dirty = 1;
	sim->fr[f].ref = 1;
	sim->fr[f].last = i;
	if (sim->nextuse)
		sim->nextuse[p] = sim->nextpos[i];
	return hit;
}

static int by_last_use(const void *a, const void *b, void *arg)
{
	const struct rp_sim *sim = arg;
	uint64_t x = sim->fr[((const struct rp_resident *)a)->frame].last;
	uint64_t y = sim->fr[((const struct rp_resident *)b)->frame].last;

	return x < y ? -1 : x > y;
}

size_t rp_sim_memory(const struct rp_sim *sim, struct rp_resident *out)
{
	size_t n = 0;

	if (sim->policy == RP_RANDOM || sim->policy == RP_LRU) {
		for (uint32_t f = 0; f < sim->used; f++)
			out[n++] = (struct rp_resident){ sim->fr[f].page, f, sim->fr[f].ref,
			                                 sim->fr[f].age, sim->fr[f].dirty };
		if (sim->policy == RP_LRU)
			qsort_r(out, n, sizeof *out, by_last_use, (void *)sim);
		return n;
	}
	for (uint32_t f = sim->head; f != RP_NONE; f = sim->fr[f].next)
		out[n++] = (struct rp_resident){ sim->fr[f].page, f, sim->fr[f].ref, sim->fr[f].age,
		                                 sim->fr[f].dirty };
	return n;
}

int rp_sim_run(enum rp_policy p, size_t frames, uint64_t seed, const struct rp_string *s,
               uint64_t *misses, uint64_t *evictions)
{
	struct rp_sim *sim = rp_sim_new(p, frames, seed, s);
	uint32_t victim;

	*misses = *evictions = 0;
	if (!sim)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		*misses += !rp_sim_step(sim, i, &victim);
		*evictions += victim != RP_NONE;
	}
	rp_sim_free(sim);
	return 0;
}
