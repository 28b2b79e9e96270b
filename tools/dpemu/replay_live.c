/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay_live.c - `dpemu replay --live`: a reference string replayed
 * through the real library, next to the simulator (replay_sim.c), and
 * compared reference by reference.  Calls <dpemu.h>, replay_sim.c, libc.
 *
 * The set-up makes the library's decisions the policy's alone:
 *   - a pool of exactly `frames` frames, used by one space only: every
 *     eviction frees one frame, which the faulting page then gets (the
 *     library's frame numbering, which random depends on, is then the
 *     simulator's: replay_sim.c);
 *   - fault_around 0: one page per fault, no neighbour takes a frame;
 *   - a pool with a policy never maps the shared zero frame, so a page
 *     that is only read takes a frame too, and an evicted one comes back:
 *     a clean page that was never written is zero-filled again, a written
 *     one is read back from swap - either way one miss, so whether a
 *     reference reads or writes (the input says: lackey S and M, a
 *     trace's write faults; page numbers read) changes where the page
 *     goes, never what the policy decides;
 *   - a swap store with a slot for every page of the string, so that it
 *     never fills (a full one would fail the eviction);
 *   - the reference bits: the library clears a bit only together with
 *     revoking the page, so the page's next reference traps and sets the
 *     bit again (a reference fault, not a miss): its bit is exactly "used
 *     since it was cleared", as the simulator keeps it.  A first write to
 *     a page that was read before traps too (exact dirty bits), and sets
 *     the bit that is set already.
 * A miss is a fault that gave the page a frame: zero_fills + swap_ins
 * (+ file_reads, none here) of dpemu_space_stats; reference faults and
 * dirty-bit traps are not.
 *
 * One thing of the library's is not policy: its livelock guard
 * (dpemu_policy(7), "Accesses larger than the pool") stops an access as
 * out of frames when 64 evicting faults in a row each evict the frame the
 * previous one brought in, at addresses that repeat with a period of at
 * most 4 - which a pool of one frame and a string that cycles over a few
 * pages does.  The eviction has been made then and the frame is free, so
 * the access is simply tried again (counted in `retries`): it takes the
 * free frame without evicting, as the simulator has it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "replay.h"

#define RETRIES 4 /* tries of one access the guard may stop */

struct touch {
	volatile unsigned char *addr;
	int write;
};

static void touch(void *arg)
{
	struct touch *t = arg;

	if (t->write)
		*t->addr = 1;
	else
		(void)*t->addr;
}

struct live {
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned char *base;
	size_t ps;
};

/* The library's message for a failed call, on stderr; -1. */
static int failed(const char *what, int rc)
{
	const char *msg = dpemu_last_error();

	fprintf(stderr, "dpemu replay: --live: %s: %s\n", what,
	        msg && *msg ? msg : dpemu_strerror(rc));
	return -1;
}

/* The pool, the space and its mapping for string s.  0 or -1 (printed). */
static int live_setup(struct live *l, enum rp_policy p, size_t frames, uint64_t seed,
                      enum dpemu_backend backend, enum dpemu_uffd_mode mode,
                      const struct rp_string *s)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	void *base;
	int rc;

	memset(l, 0, sizeof *l);
	l->ps = (size_t)sysconf(_SC_PAGESIZE);
	memset(&pc, 0, sizeof pc);
	pc.frames = frames;
	pc.policy = rp_policy_live(p);
	pc.seed = seed;
	if (pc.policy == DPEMU_POLICY_CUSTOM)
		pc.custom = rp_policy_custom();
	pc.swap_slots = s->npages + 1;
	if ((rc = dpemu_pool_create(&pc, &l->pool)) != 0)
		return failed("dpemu_pool_create", rc);
	memset(&sc, 0, sizeof sc);
	sc.reserve = s->npages * l->ps;
	sc.backend = backend;
	sc.uffd_mode = mode;
	sc.fault_around = 0;
	if ((rc = dpemu_space_create(l->pool, &sc, &l->space)) != 0) {
		failed("dpemu_space_create", rc);
		dpemu_pool_destroy(l->pool);
		return -1;
	}
	rc = dpemu_map(l->space, NULL, s->npages * l->ps, PROT_READ | PROT_WRITE,
	               DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &base);
	if (rc != 0) {
		failed("dpemu_map", rc);
		dpemu_space_destroy(l->space);
		dpemu_pool_destroy(l->pool);
		return -1;
	}
	l->base = base;
	return 0;
}

static void live_teardown(struct live *l)
{
	dpemu_space_destroy(l->space);
	dpemu_pool_destroy(l->pool);
}

static uint64_t misses_of(const struct dpemu_stats *st)
{
	return st->zero_fills + st->swap_ins + st->file_reads;
}

/* Whether page p of the string is present in the space. */
static int present(const struct live *l, uint32_t p)
{
	struct dpemu_page_info info;

	return dpemu_query(l->space, l->base + (size_t)p * l->ps, &info) == 0 && info.present;
}

/* Reference i through the library: 0, or -1 (printed) if an access could
 * not be made even after the guard's retries. */
static int live_touch(const struct live *l, const struct rp_string *s, size_t i,
                      struct rp_live *out)
{
	struct touch t = { l->base + (size_t)s->page[i] * l->ps, s->write[i] };
	struct dpemu_fault fault;

	for (int tries = 0; tries < RETRIES; tries++) {
		if (dpemu_catch(touch, &t, &fault) == 0)
			return 0;
		if (fault.kind != DPEMU_FAULT_OUT_OF_FRAMES)
			break;
		out->retries++;
	}
	fprintf(stderr, "dpemu replay: --live: reference %zu: the library did not resolve the "
	        "access (%s): %s\n", i + 1, dpemu_fault_kind_name(fault.kind), dpemu_last_error());
	return -1;
}

/* Note the first difference between library and simulator, at reference i. */
static void differ(struct rp_live *out, const struct rp_string *s, size_t i, const char *fmt,
                   uint32_t page)
{
	char label[48];

	if (out->first_diff != SIZE_MAX)
		return;
	out->first_diff = i;
	snprintf(out->diff, sizeof out->diff, fmt, rp_label(s, page, label, sizeof label));
}

/* Reference i just made: compare what the library did with the
 * simulator's step (hit, victim); before: the stats before it. */
static void compare(const struct live *l, const struct rp_string *s, size_t i, int hit,
                    uint32_t victim, const struct dpemu_stats *before,
                    const struct dpemu_stats *after, struct rp_live *out)
{
	uint64_t missed = misses_of(after) - misses_of(before);
	uint64_t evicted = after->evictions - before->evictions;

	if (missed != (uint64_t)!hit)
		differ(out, s, i, hit ? "page %s: the simulator hits, the library misses"
		                      : "page %s: the simulator misses, the library hits", s->page[i]);
	else if (evicted != (victim != RP_NONE))
		differ(out, s, i, victim != RP_NONE
		       ? "page %s: the simulator evicts a page, the library none"
		       : "page %s: the library evicts a page, the simulator none", s->page[i]);
	else if (victim != RP_NONE && present(l, victim))
		differ(out, s, i, "the simulator evicts page %s, the library keeps it", victim);
	else if (!present(l, s->page[i]))
		differ(out, s, i, "page %s is not present after its reference", s->page[i]);
}

/* The backend space got, by the name DPEMU_BACKEND gives it: AUTO is
 * userfaultfd in thread mode, unless DPEMU_BACKEND says uffd-sigbus. */
static const char *backend_name(const dpemu_space *space, enum dpemu_backend asked,
                                enum dpemu_uffd_mode mode)
{
	const char *env = getenv("DPEMU_BACKEND");

	if (dpemu_space_backend(space) == DPEMU_BACKEND_SIGSEGV)
		return "sigsegv";
	if (asked == DPEMU_BACKEND_AUTO)
		return env && strcmp(env, "uffd-sigbus") == 0 ? "uffd-sigbus" : "uffd";
	return mode == DPEMU_UFFD_SIGBUS ? "uffd-sigbus" : "uffd";
}

int rp_live_run(enum rp_policy p, size_t frames, uint64_t seed, enum dpemu_backend backend,
                enum dpemu_uffd_mode uffd_mode, const struct rp_string *s, struct rp_live *out)
{
	struct dpemu_stats before, after;
	struct rp_sim *sim;
	struct live l;
	uint32_t victim;
	int rc = 0;

	memset(out, 0, sizeof *out);
	out->first_diff = SIZE_MAX;
	if (rp_policy_live(p) == DPEMU_POLICY_NONE) {
		fprintf(stderr, "dpemu replay: --live: the library has no %s policy\n",
		        rp_policy_name(p));
		return -1;
	}
	if (!(sim = rp_sim_new(p, frames, seed, s))) {
		if (p != RP_CUSTOM) /* (a custom init's failure has its message) */
			fprintf(stderr, "dpemu replay: --live: out of memory\n");
		return -1;
	}
	if (live_setup(&l, p, frames, seed, backend, uffd_mode, s) != 0) {
		rp_sim_free(sim);
		return -1;
	}
	out->backend = backend_name(l.space, backend, uffd_mode);
	dpemu_space_stats(l.space, &before);
	after = before;
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		int hit = rp_sim_step(sim, i, &victim);
		out->sim_misses += !hit;
		out->sim_evictions += victim != RP_NONE;
		rc = live_touch(&l, s, i, out);
		dpemu_space_stats(l.space, &after);
		compare(&l, s, i, hit, victim, &before, &after, out);
		before = after;
	}
	out->misses = misses_of(&after);
	out->zero_fills = after.zero_fills;
	out->swap_ins = after.swap_ins;
	out->evictions = after.evictions;
	out->swap_outs = after.swap_outs;
	out->reference_faults = after.reference_faults;
	out->faults = after.faults;
	live_teardown(&l);
	rp_sim_free(sim);
	return rc;
}
