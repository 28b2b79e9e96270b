/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay.h - the parts of `dpemu replay` (issue 16), shared by its files
 * and by tests/test_replay.c:
 *
 *   replay.c        the command: options, the per-access table, totals,
 *                   JSON, and the --live comparison's report;
 *   replay_input.c  reading a reference string: page numbers, a valgrind
 *                   lackey log or a dpemu trace file (stdio, libc);
 *   replay_sim.c    the policies, simulated (libc only): fifo, lru, opt,
 *                   clock, aging, random - clock, aging and random as the
 *                   library's evict.c decides, so that --live agrees;
 *   replay_curve.c  misses for a range of frame counts: Mattson's stack
 *                   distances for exact LRU, the simulator for the rest,
 *                   Belady's anomaly, the SVG (stdio);
 *   replay_live.c   the same string through the real library (<dpemu.h>).
 *
 * A reference string's pages are numbered densely, 0, 1, 2, ... in the
 * order of their first reference (rp_string.page); what the input called
 * them is kept for printing (rp_label).
 */
#ifndef DPEMU_CLI_REPLAY_H
#define DPEMU_CLI_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <dpemu.h>

/* ---- the reference string (replay_input.c) ---------------------------------- */

enum rp_format {
	RP_NUMBERS, /* page numbers separated by commas, blanks or newlines */
	RP_LACKEY,  /* valgrind --tool=lackey --trace-mem=yes              */
	RP_TRACE,   /* a dpemu trace file (DPEMU_TRACE_MAGIC)              */
};

struct rp_string {
	size_t n;              /* references                                  */
	uint32_t *page;        /* page[i]: the dense number of reference i    */
	unsigned char *write;  /* write[i]: 1 if reference i writes           */
	size_t npages;         /* distinct pages: 0 .. npages - 1             */
	uint64_t *pageno;      /* pageno[p]: the page number the input gave p */
	uint32_t *space;       /* space[p]: its space (traces; else 0)        */
	int spaces;            /* more than one space: labels name it         */
	enum rp_format format;
	uint64_t page_size;    /* lackey, trace: bytes per page               */
	size_t cap, pcap;      /* (allocated lengths)                         */
	struct rp_map *map;    /* (page number -> dense number, while reading) */
};

/*
 * Read the reference string in file `path` ("-": standard input), its
 * format detected from its first bytes and lines: a trace by its magic
 * (DPEMU_TRACE_MAGIC; the format of <dpemu.h>, dpemu-trace(5), version
 * DPEMU_TRACE_VERSION, its fault events DPEMU_EVENT_ZERO_FILL to
 * DPEMU_EVENT_UNRESOLVED the references),
 * a lackey log by a first line that starts with "==" or is a lackey
 * record; else page numbers.  page_size: bytes per page for a lackey log
 * (and for a trace when not 0; 0: the trace header's).  Returns 0 with *s
 * filled in (rp_string_free frees it), or -1 after printing
 * "dpemu replay: WHERE: WHAT" on stderr (WHERE: the file, with the line
 * for text input); an input without a single reference is an error.
 */
int rp_read(const char *path, uint64_t page_size, struct rp_string *s);

/* The same from a buffer (name: what messages call it). */
int rp_parse(const char *name, const unsigned char *buf, size_t len, uint64_t page_size,
             struct rp_string *s);

/* Append reference (space, pageno, write) to s (building a string by
 * hand, as the tests do).  0, or -1 when memory runs out. */
int rp_append(struct rp_string *s, uint32_t space, uint64_t pageno, int write);

void rp_string_free(struct rp_string *s);

/* How page p of s is printed: its number in decimal (page numbers) or
 * hexadecimal (lackey, trace), after "SPACE:" when the trace has several
 * spaces.  Returns buf. */
char *rp_label(const struct rp_string *s, uint32_t p, char *buf, size_t len);


/* ---- the policies, simulated (replay_sim.c) ------------------------------- */

enum rp_policy { RP_FIFO, RP_LRU, RP_OPT, RP_CLOCK, RP_AGING, RP_RANDOM, RP_CUSTOM,
                 RP_NPOLICIES };

#define RP_NONE UINT32_MAX /* no page, no frame */

/* The custom policy RP_CUSTOM runs (struct dpemu_policy_ops: a student's,
 * loaded by --policy-lib); it must be set before RP_CUSTOM is used, and
 * outlive its simulations.  Its name is what rp_policy_name gives. */
void rp_policy_set_custom(const struct dpemu_policy_ops *ops);
const struct dpemu_policy_ops *rp_policy_custom(void);

/* The policy's name ("fifo", ...), and the policy a name means (-1: none;
 * never RP_CUSTOM, which only --policy-lib names). */
const char *rp_policy_name(enum rp_policy p);
int rp_policy_parse(const char *name);
/* In what order rp_sim_memory lists the resident pages, in words. */
const char *rp_policy_order(enum rp_policy p);
/* The library's policy that --live replays p with (DPEMU_POLICY_NONE:
 * none: lru and opt). */
enum dpemu_policy rp_policy_live(enum rp_policy p);

struct rp_sim;

/* A simulation of policy p with `frames` frames over string s (which it
 * reads, not copies: s must outlive it); seed: random's.  NULL when
 * memory runs out, or the custom policy's init fails (after a message
 * on stderr). */
struct rp_sim *rp_sim_new(enum rp_policy p, size_t frames, uint64_t seed,
                          const struct rp_string *s);
void rp_sim_free(struct rp_sim *sim);

/* Reference number i of the string (the next one: i counts 0, 1, ...):
 * 1 if it hits, 0 if it misses; *victim: the page evicted, or RP_NONE. */
int rp_sim_step(struct rp_sim *sim, size_t i, uint32_t *victim);

/* One resident page as rp_sim_memory lists it. */
struct rp_resident {
	uint32_t page;
	uint32_t frame;     /* the frame the library would give it            */
	unsigned referenced;/* clock, aging, custom: the reference bit         */
	unsigned age;       /* aging: the 8-bit age                            */
	unsigned dirty;     /* custom: written since loaded                   */
};

/* The resident pages in the policy's order (rp_policy_order) into out[]
 * (room for `frames`); returns how many. */
size_t rp_sim_memory(const struct rp_sim *sim, struct rp_resident *out);

/* Run the whole string: its misses and evictions.  0, or -1 when memory
 * runs out. */
int rp_sim_run(enum rp_policy p, size_t frames, uint64_t seed, const struct rp_string *s,
               uint64_t *misses, uint64_t *evictions);

/* ---- curves (replay_curve.c) -------------------------------------------------- */

/*
 * Exact LRU's misses for every memory of 1 .. s->npages frames, in one
 * pass (Mattson's stack distances): out[k - 1] for k frames, k from 1 to
 * npages (more frames miss as often as npages: the first references).
 * out has room for s->npages.  0, or -1 when memory runs out.
 */
int rp_lru_curve(const struct rp_string *s, uint64_t *out);

/* One policy's misses for from .. to frames (misses[k - from]). */
struct rp_curve {
	enum rp_policy policy;
	uint64_t *misses;
};

/* Fill curves[0 .. n) (misses allocated here; free them) for from .. to
 * frames; seed: random's.  0, or -1 when memory runs out. */
int rp_curves(const struct rp_string *s, size_t from, size_t to, uint64_t seed,
              struct rp_curve *curves, size_t n);

/* Write the curves as an SVG picture to f (misses against frames, one
 * line per policy, anomalies marked).  0, or -1 on a write error. */
int rp_curve_svg(FILE *f, const struct rp_string *s, size_t from, size_t to,
                 const struct rp_curve *curves, size_t n);

/* ---- live (replay_live.c) --------------------------------------------------- */

struct rp_live {
	uint64_t misses;           /* zero_fills + swap_ins + file_reads    */
	uint64_t zero_fills, swap_ins;
	uint64_t evictions, swap_outs, reference_faults, faults;
	uint64_t retries;          /* accesses tried again after the library's
	                              livelock guard stopped them            */
	uint64_t sim_misses, sim_evictions;
	size_t first_diff;         /* the first reference where the library
	                              and the simulator part, or SIZE_MAX     */
	char diff[256];            /* what differs there                      */
	const char *backend;       /* the backend the space got               */
};

/*
 * Replay s through the library: a pool of `frames` frames with the
 * library's policy for p (rp_policy_live; seed for random), one space of
 * s->npages pages (backend, uffd_mode; fault_around 0) with one private
 * anonymous mapping, page p of the string at page p of the mapping; each
 * reference a read or a write of its page's first byte, in order.  The
 * simulator runs alongside, and each reference is compared: a miss in one
 * is a miss in the other (the space's zero-fills and swap-ins), the same
 * page is evicted, the referenced page is present.  Returns 0 with *out
 * filled in (out->first_diff says whether they agreed), or -1 after
 * printing the library's message on stderr (a pool or space it would not
 * create, an access it would not resolve).
 */
int rp_live_run(enum rp_policy p, size_t frames, uint64_t seed, enum dpemu_backend backend,
                enum dpemu_uffd_mode uffd_mode, const struct rp_string *s, struct rp_live *out);

#endif
