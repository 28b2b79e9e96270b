/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_api.c - a coverage-guided fuzzer over dpemu's public API, checked
 * against a plain-memory model.
 *
 * An input is a byte-coded program.  Its first three bytes configure one
 * pool (policy, frames, page size, fault-around, a small swap store); then
 * each operation is an opcode byte followed by its arguments (missing bytes
 * read as 0).  The operations - create, map, unmap, protect, fork, write,
 * read, sync, prefault, query, stats, destroy, calls with bad arguments -
 * run against dpemu and against the model: per space an array of pages,
 * each with its mapping, its protection and its bytes (a private page has
 * bytes of its own, a page of a shared mapping names a page of a shared
 * object, so that forked spaces see each other's writes).
 *
 * What is compared (a difference calls abort(), which libFuzzer reports):
 *  - every return value the model can predict (errno included);
 *  - every byte read, and every fault: an access the model says must fault
 *    (unmapped, protection) is made inside dpemu_catch and must stop at
 *    exactly that byte with that kind; an access that needs a frame may
 *    stop with DPEMU_FAULT_OUT_OF_FRAMES only if the pool is really out of
 *    frames (no policy) or its swap store is full (a policy);
 *  - after every operation, dpemu_query of every page of every space
 *    against the model (mapped, prot, shared, anonymous, mapping_start,
 *    file_offset), frame reference counts against the pages that show each
 *    frame, pages sharing a frame hold the same bytes and are copy-on-write
 *    or pages of one shared object, and dpemu_space_stats/dpemu_pool_stats
 *    (pages_resident, mappings, protection_faults, frames, frames_shared,
 *    zero_maps, spaces, swap slots);
 *  - the file: a page of a shared file mapping that no space maps any more,
 *    or that dpemu_sync wrote back, must be on the file as the model has it;
 *  - at the end every page is read back, every space destroyed, and the pool
 *    must have every frame free and no swap slot used before it is
 *    destroyed.  Every input cleans up fully, so runs are independent.
 *
 * The file: one temporary file of FILE_BYTES (the end is not page-aligned:
 * bytes past it read as zero).  Its first SHARED_PAGES pages are handed out
 * in turn to shared file mappings (each gets a region no other mapping
 * touches, so a page's bytes depend only on its own object); private file
 * mappings map the rest, which nothing writes, and may reach past the end.
 *
 * Backend: spaces are created with DPEMU_BACKEND_AUTO, so the environment
 * variable DPEMU_BACKEND picks it, as in the test suite.
 *
 * Build: `make fuzz` (clang -fsanitize=fuzzer,address,undefined with the
 * library sources); tests/fuzz_replay runs the corpus in `make check`.
 * See doc/guide.md, "Fuzzing".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dpemu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_SPACES 4
#define MAX_PAGES 16      /* pages per arena at most                       */
#define MAX_OBJS 96       /* objects (one per dpemu_map call) per input     */
#define MAX_MAPS 128      /* mapping records (one per map, per fork copy)   */
#define MAX_OPS 200       /* operations per input at most                  */
#define MAX_ACCESS 64     /* bytes per read or write                        */
#define MAX_PS (4 * 4096) /* largest page size used                         */
#define SHARED_PAGES 24   /* file pages for shared mappings                 */
#define FILE_BYTES (32 * MAX_PS - 3000)


/* ------------------------------------------------------------------------ */
/* The model                                                                 */
/* ------------------------------------------------------------------------ */

struct mobj {              /* what one dpemu_map call mapped                */
	bool used;
	bool shared, anon, fd_rw;
	off_t foff;            /* file offset of page 0 (file mappings)         */
	int npages;
	uint8_t *data[MAX_PAGES]; /* shared: the object's bytes per page        */
	int maprefs[MAX_PAGES];   /* shared: pages of spaces that map it        */
};

struct mmap_rec {          /* a mapping of one space, for stats.mappings    */
	bool used;
	int space;
	int start;             /* page index where dpemu_map placed it          */
	int remaining;         /* pages it still covers                         */
};

struct mpte {
	bool mapped;
	int prot;
	int obj, idx;          /* the object and its page                       */
	int map;               /* the mapping record                            */
	uint8_t *priv;         /* private mappings: the page's bytes            */
};

struct mspace {
	dpemu_space *s;        /* NULL: the slot is free                        */
	uint8_t *base;
	int npages;
	uint64_t caught;       /* unresolvable faults provoked (protection_faults) */
	struct mpte pte[MAX_PAGES];
};

static struct {
	const uint8_t *in;
	size_t len, pos;
	int op;                     /* operation number, for messages          */
	dpemu_pool *pool;
	struct dpemu_pool_config cfg;
	size_t ps;                  /* page size                               */
	size_t fault_around;
	struct mspace sp[MAX_SPACES];
	struct mobj obj[MAX_OBJS];
	struct mmap_rec map[MAX_MAPS];
	int shared_next;            /* next free page of the shared file region */
	bool populate;
} M;

/* The file, kept across inputs: fd_rw and a read-only fd of the same file. */
static int fd_rw = -1, fd_ro = -1;
static uint8_t filepat[FILE_BYTES];

/* Statistics over the whole run (fuzz_replay prints them). */
unsigned long fuzz_sequences, fuzz_operations;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_api: MISMATCH at operation %d (policy %s, %zu frames, page %zu, "
	        "fault_around %zu, backend %s): ", M.op, dpemu_policy_name(M.cfg.policy),
	        M.cfg.frames, M.ps, M.fault_around, getenv("DPEMU_BACKEND") ? getenv("DPEMU_BACKEND") : "auto");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  dpemu_last_error: %s\n", dpemu_last_error());
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)
#define CHECK_RC(got, want, what) \
	CHECK((got) == (want), "%s returned %d (%s), the model says %d (%s)", what, (got), \
	      dpemu_strerror(got), (want), dpemu_strerror(want))

static unsigned next(void)
{
	return M.pos < M.len ? M.in[M.pos++] : 0;
}

static uint8_t pat(size_t off)
{
	return (uint8_t)((off * 131u) ^ (off >> 9) ^ 0x5a);
}

static void *xcalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		abort();
	return p;
}

/* Open the file once, and give its shared region its pattern back. */
static void file_reset(void)
{
	if (fd_rw < 0) {
		char path[] = "/tmp/dpemu-fuzz-XXXXXX";
		fd_rw = mkstemp(path);
		if (fd_rw < 0)
			abort();
		fd_ro = open(path, O_RDONLY);
		unlink(path);
		if (fd_ro < 0)
			abort();
		for (size_t i = 0; i < FILE_BYTES; i++)
			filepat[i] = pat(i);
		if (pwrite(fd_rw, filepat, FILE_BYTES, 0) != FILE_BYTES)
			abort();
		return;
	}
	/* Only the shared region is ever written. */
	size_t n = (size_t)M.shared_next * M.ps;
	if (n > 0 && pwrite(fd_rw, filepat, n, 0) != (ssize_t)n)
		abort();
}

/* The model's bytes of page pg of space i. */
static uint8_t *mpage(int i, int pg)
{
	struct mpte *t = &M.sp[i].pte[pg];
	struct mobj *o = &M.obj[t->obj];

	return o->shared ? o->data[t->idx] : t->priv;
}

/* Initial bytes of page idx of object o. */
static void fill_initial(const struct mobj *o, int idx, uint8_t *buf)
{
	memset(buf, 0, M.ps);
	if (o->anon)
		return;
	off_t off = o->foff + (off_t)idx * (off_t)M.ps;
	if (off < FILE_BYTES) {
		size_t n = FILE_BYTES - (size_t)off;
		memcpy(buf, filepat + off, n < M.ps ? n : M.ps);
	}
}

/* Compare page idx of shared file object o with the file. */
static void check_file_page(int oi, int idx)
{
	struct mobj *o = &M.obj[oi];
	static uint8_t buf[MAX_PS];
	off_t off = o->foff + (off_t)idx * (off_t)M.ps;

	if (o->anon || !o->shared || !o->data[idx])
		return;
	ssize_t n = pread(fd_rw, buf, M.ps, off);
	CHECK(n == (ssize_t)M.ps, "pread of the file at %lld: %zd", (long long)off, n);
	for (size_t b = 0; b < M.ps; b++)
		CHECK(buf[b] == o->data[idx][b], "file offset %lld holds %#x, the model says %#x "
		      "(page %d of shared object %d, written back)", (long long)(off + (off_t)b),
		      buf[b], o->data[idx][b], idx, oi);
}

/* Page pg of space i is no longer mapped (unmap, destroy). */
static void drop_pte(int i, int pg, int *file_checks, int *nchecks)
{
	struct mpte *t = &M.sp[i].pte[pg];
	struct mobj *o = &M.obj[t->obj];

	if (!t->mapped)
		return;
	if (o->shared) {
		if (--o->maprefs[t->idx] == 0 && !o->anon)
			file_checks[(*nchecks)++] = t->obj * MAX_PAGES + t->idx;
	}
	free(t->priv);
	M.map[t->map].remaining--;
	memset(t, 0, sizeof *t);
}

static int mappings_of(int i)
{
	int n = 0;

	for (int m = 0; m < MAX_MAPS; m++)
		if (M.map[m].used && M.map[m].space == i && M.map[m].remaining > 0)
			n++;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Invariants over everything                                                */
/* ------------------------------------------------------------------------ */

struct qpage {
	struct dpemu_page_info q;
	int space, pg;
};

static void check_all(void)
{
	static struct qpage qs[MAX_SPACES * MAX_PAGES];
	int nq = 0, live = 0;
	uint64_t zero_ptes = 0;
	struct dpemu_pool_stats ps;
	int rc;

	rc = dpemu_pool_stats(M.pool, &ps);
	CHECK_RC(rc, 0, "dpemu_pool_stats");
	for (int i = 0; i < MAX_SPACES; i++) {
		struct mspace *ms = &M.sp[i];
		uint64_t present = 0;

		if (!ms->s)
			continue;
		live++;
		for (int pg = 0; pg < ms->npages; pg++) {
			struct dpemu_page_info *q = &qs[nq].q;
			struct mpte *t = &ms->pte[pg];
			uint8_t *addr = ms->base + (size_t)pg * M.ps;

			memset(q, 0xa5, sizeof *q);
			rc = dpemu_query(ms->s, addr + (pg % 3) * 7, q);
			CHECK_RC(rc, 0, "dpemu_query");
			qs[nq].space = i;
			qs[nq].pg = pg;
			nq++;
			CHECK(q->mapped == t->mapped, "space %d page %d: query says mapped %d", i, pg,
			      q->mapped);
			if (!t->mapped) {
				CHECK(!q->present && !q->swapped, "space %d page %d: unmapped but "
				      "present %d swapped %d", i, pg, q->present, q->swapped);
				continue;
			}
			struct mobj *o = &M.obj[t->obj];
			CHECK(q->prot == t->prot, "space %d page %d: query prot %d, model %d", i, pg,
			      q->prot, t->prot);
			CHECK(q->shared == o->shared && q->anonymous == o->anon,
			      "space %d page %d: query shared %d anonymous %d, model %d %d", i, pg,
			      q->shared, q->anonymous, o->shared, o->anon);
			uint8_t *start = ms->base + (size_t)M.map[t->map].start * M.ps;
			CHECK(q->mapping_start == start, "space %d page %d: mapping_start %p, model %p",
			      i, pg, q->mapping_start, (void *)start);
			if (!o->anon) {
				off_t want = o->foff + (off_t)t->idx * (off_t)M.ps;
				CHECK(q->file_offset == want, "space %d page %d: file_offset %lld, model "
				      "%lld", i, pg, (long long)q->file_offset, (long long)want);
			}
			if (q->present) {
				present++;
				CHECK(!q->swapped, "space %d page %d: present and swapped", i, pg);
				if (q->zero) {
					zero_ptes++;
					CHECK(q->frame == ps.frames_total, "space %d page %d: zero page with "
					      "frame %llu", i, pg, (unsigned long long)q->frame);
					CHECK(!o->shared && o->anon && !q->dirty &&
					      M.cfg.policy == DPEMU_POLICY_NONE, "space %d page %d: zero "
					      "frame where it cannot be (shared %d anon %d dirty %d)", i, pg,
					      o->shared, o->anon, q->dirty);
					for (size_t b = 0; b < M.ps; b++)
						CHECK(mpage(i, pg)[b] == 0, "space %d page %d maps the zero "
						      "frame, the model has %#x at %zu", i, pg, mpage(i, pg)[b], b);
				} else {
					CHECK(q->frame < ps.frames_total, "space %d page %d: frame %llu",
					      i, pg, (unsigned long long)q->frame);
				}
				CHECK(q->frame_refs >= 1, "space %d page %d: present, frame_refs 0", i, pg);
			} else if (q->swapped) {
				CHECK(M.cfg.policy != DPEMU_POLICY_NONE && q->swap_slot < ps.swap_slots,
				      "space %d page %d: swapped to slot %llu of %llu", i, pg,
				      (unsigned long long)q->swap_slot, (unsigned long long)ps.swap_slots);
			}
		}
		struct dpemu_stats st;
		rc = dpemu_space_stats(ms->s, &st);
		CHECK_RC(rc, 0, "dpemu_space_stats");
		CHECK(st.pages_resident == present, "space %d: pages_resident %llu, query finds %llu",
		      i, (unsigned long long)st.pages_resident, (unsigned long long)present);
		CHECK(st.mappings == (uint64_t)mappings_of(i), "space %d: mappings %llu, model %d", i,
		      (unsigned long long)st.mappings, mappings_of(i));
		CHECK(st.protection_faults == ms->caught, "space %d: protection_faults %llu, the "
		      "model provoked %llu", i, (unsigned long long)st.protection_faults,
		      (unsigned long long)ms->caught);
		CHECK(st.faults >= st.protection_faults, "space %d: faults %llu < protection_faults",
		      i, (unsigned long long)st.faults);
	}

	/* Frames: who shows them. */
	uint64_t distinct = 0, shared_frames = 0;
	for (int a = 0; a < nq; a++) {
		struct dpemu_page_info *qa = &qs[a].q;
		int refs = 0;
		bool first = true;

		if (!qa->mapped || !qa->present || qa->zero)
			continue;
		for (int b = 0; b < nq; b++) {
			struct dpemu_page_info *qb = &qs[b].q;
			if (!qb->mapped || !qb->present || qb->zero || qb->frame != qa->frame)
				continue;
			if (b < a)
				first = false;
			refs++;
			if (b == a)
				continue;
			struct mpte *ta = &M.sp[qs[a].space].pte[qs[a].pg];
			struct mpte *tb = &M.sp[qs[b].space].pte[qs[b].pg];
			bool same_obj = M.obj[ta->obj].shared && ta->obj == tb->obj && ta->idx == tb->idx;
			CHECK(same_obj || (qa->cow && qb->cow), "frame %llu is shown by space %d page "
			      "%d and space %d page %d, neither one shared page nor copy-on-write "
			      "(cow %d %d)", (unsigned long long)qa->frame, qs[a].space, qs[a].pg,
			      qs[b].space, qs[b].pg, qa->cow, qb->cow);
			CHECK(memcmp(mpage(qs[a].space, qs[a].pg), mpage(qs[b].space, qs[b].pg), M.ps)
			      == 0, "frame %llu is shown by space %d page %d and space %d page %d, "
			      "whose bytes differ in the model", (unsigned long long)qa->frame,
			      qs[a].space, qs[a].pg, qs[b].space, qs[b].pg);
		}
		CHECK(qa->frame_refs == (uint32_t)refs, "space %d page %d: frame %llu has frame_refs "
		      "%u, %d pages show it", qs[a].space, qs[a].pg, (unsigned long long)qa->frame,
		      qa->frame_refs, refs);
		if (first) {
			distinct++;
			if (refs > 1)
				shared_frames++;
		}
	}
	/* Pages of one shared object that are present show one frame. */
	for (int a = 0; a < nq; a++) {
		struct mpte *ta = &M.sp[qs[a].space].pte[qs[a].pg];
		if (!qs[a].q.present || !ta->mapped || !M.obj[ta->obj].shared)
			continue;
		for (int b = a + 1; b < nq; b++) {
			struct mpte *tb = &M.sp[qs[b].space].pte[qs[b].pg];
			if (qs[b].q.present && tb->mapped && tb->obj == ta->obj && tb->idx == ta->idx)
				CHECK(qs[b].q.frame == qs[a].q.frame, "page %d of shared object %d: frame "
				      "%llu in space %d, %llu in space %d", ta->idx, ta->obj,
				      (unsigned long long)qs[a].q.frame, qs[a].space,
				      (unsigned long long)qs[b].q.frame, qs[b].space);
		}
	}
	rc = dpemu_pool_stats(M.pool, &ps);
	CHECK_RC(rc, 0, "dpemu_pool_stats");
	CHECK(ps.frames_total == M.cfg.frames && ps.frames_free + ps.frames_used == ps.frames_total,
	      "pool: total %llu free %llu used %llu", (unsigned long long)ps.frames_total,
	      (unsigned long long)ps.frames_free, (unsigned long long)ps.frames_used);
	CHECK(ps.frames_used >= distinct, "pool: frames_used %llu, pages show %llu frames",
	      (unsigned long long)ps.frames_used, (unsigned long long)distinct);
	CHECK(ps.frames_shared == shared_frames, "pool: frames_shared %llu, pages share %llu",
	      (unsigned long long)ps.frames_shared, (unsigned long long)shared_frames);
	CHECK(ps.zero_maps == zero_ptes, "pool: zero_maps %llu, pages map the zero frame %llu",
	      (unsigned long long)ps.zero_maps, (unsigned long long)zero_ptes);
	CHECK(ps.spaces == (uint64_t)live, "pool: spaces %llu, model %d",
	      (unsigned long long)ps.spaces, live);
	CHECK(ps.policy == M.cfg.policy && ps.page_size == M.ps, "pool: policy/page size");
	CHECK(ps.swap_slots_used <= ps.swap_slots, "pool: swap slots used %llu of %llu",
	      (unsigned long long)ps.swap_slots_used, (unsigned long long)ps.swap_slots);
}

/* ------------------------------------------------------------------------ */
/* Accesses                                                                  */
/* ------------------------------------------------------------------------ */

struct access {
	volatile uint8_t *p;
	size_t len;
	bool write;
	uint8_t seed;
	uint8_t *buf;
	volatile size_t done;
};

static uint8_t wval(uint8_t seed, size_t i)
{
	return (uint8_t)(seed + i * 29u + 1);
}

static void do_access(void *arg)
{
	struct access *a = arg;

	for (size_t i = 0; i < a->len; i++) {
		if (a->write)
			a->p[i] = wval(a->seed, i);
		else
			a->buf[i] = a->p[i];
		a->done = i + 1;
	}
}

enum expect { EX_OK, EX_MAYBE, EX_UNMAPPED, EX_PROT };

/* What an access to page pg of space i must do, as the model sees it. */
static enum expect expect_access(int i, int pg, bool write)
{
	struct mpte *t = &M.sp[i].pte[pg];

	if (!t->mapped)
		return EX_UNMAPPED;
	if (write)
		return (t->prot & PROT_WRITE) ? EX_OK : EX_PROT;
	if (t->prot & PROT_READ)
		return EX_OK;
	/* PROT_WRITE or PROT_EXEC without PROT_READ: the host lets reads of a
	 * present page through on x86-64, dpemu refuses them at a trap.  The
	 * model accepts either (correct bytes, or a protection fault). */
	return (t->prot & (PROT_WRITE | PROT_EXEC)) ? EX_MAYBE : EX_PROT;
}

/* An access that needed a frame may fail out of frames only when there is
 * truly none to be had. */
static bool out_of_frames_allowed(void)
{
	struct dpemu_pool_stats ps;

	if (dpemu_pool_stats(M.pool, &ps) != 0)
		return false;
	if (M.cfg.policy == DPEMU_POLICY_NONE)
		return ps.frames_free == 0;
	return ps.swap_slots_used == ps.swap_slots;
}

/*
 * Read or write len bytes at byte offset off of space i (within the arena),
 * inside dpemu_catch, and check the outcome against the model; apply a
 * write's bytes to the model.
 */
static void access_check(int i, size_t off, size_t len, bool write, uint8_t seed)
{
	struct mspace *ms = &M.sp[i];
	static uint8_t buf[MAX_PS];
	struct access a = { ms->base + off, len, write, seed, buf, 0 };
	struct dpemu_fault f;
	int rc;

	rc = dpemu_catch(do_access, &a, &f);
	CHECK(rc == 0 || rc == 1, "dpemu_catch returned %d", rc);
	size_t done = a.done;
	CHECK(rc == 1 || done == len, "dpemu_catch returned 0 after %zu of %zu bytes", done, len);
	for (size_t k = 0; k < done; k++) {
		size_t o = off + k;
		int pg = (int)(o / M.ps);
		enum expect e = expect_access(i, pg, write);
		CHECK(e == EX_OK || e == EX_MAYBE, "space %d: %s of byte %zu (page %d) succeeded, "
		      "the model says %s fault", i, write ? "write" : "read", o, pg,
		      e == EX_UNMAPPED ? "an unmapped" : "a protection");
		uint8_t *mp = mpage(i, pg);
		if (write)
			mp[o % M.ps] = wval(seed, k);
		else
			CHECK(buf[k] == mp[o % M.ps], "space %d: read byte %zu (page %d, offset %zu) "
			      "is %#x, the model says %#x", i, o, pg, o % M.ps, buf[k], mp[o % M.ps]);
	}
	if (rc == 0) {
		CHECK(f.kind == DPEMU_FAULT_NONE, "dpemu_catch 0 with kind %d", f.kind);
		return;
	}
	ms->caught++;
	size_t o = off + done;
	CHECK(done < len, "fault after the access ended");
	int pg = (int)(o / M.ps);
	enum expect e = expect_access(i, pg, write);
	CHECK(f.space == ms->s, "fault in space %p, expected %p", (void *)f.space, (void *)ms->s);
	CHECK((uint8_t *)f.addr == ms->base + o, "fault address %p, the access stopped at %p",
	      f.addr, (void *)(ms->base + o));
	switch (f.kind) {
	case DPEMU_FAULT_UNMAPPED:
		CHECK(e == EX_UNMAPPED, "space %d page %d: unmapped fault, the model says %d", i, pg, e);
		break;
	case DPEMU_FAULT_PROTECTION:
		CHECK(e == EX_PROT || e == EX_MAYBE, "space %d page %d: protection fault on a %s, "
		      "the model says %d (prot %d)", i, pg, write ? "write" : "read", e,
		      ms->pte[pg].prot);
		break;
	case DPEMU_FAULT_OUT_OF_FRAMES:
		CHECK(e == EX_OK || e == EX_MAYBE, "space %d page %d: out of frames, the model "
		      "says %d", i, pg, e);
		CHECK(out_of_frames_allowed(), "space %d page %d: out-of-frames fault on a %s "
		      "although the pool has a frame to give", i, pg, write ? "write" : "read");
		break;
	default:
		fail("space %d page %d: fault kind %s (error %d) on a %s", i, pg,
		     dpemu_fault_kind_name(f.kind), f.error, write ? "write" : "read");
	}
	if (f.access != DPEMU_ACCESS_UNKNOWN)
		CHECK(f.access == (write ? DPEMU_ACCESS_WRITE : DPEMU_ACCESS_READ),
		      "fault access %d on a %s", f.access, write ? "write" : "read");
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                */
/* ------------------------------------------------------------------------ */

static int space_arg(void)
{
	return (int)(next() % MAX_SPACES);
}

/* A live space from the argument (the next live one after it), or -1. */
static int live_space(void)
{
	int i = space_arg();

	for (int k = 0; k < MAX_SPACES; k++) {
		int j = (i + k) % MAX_SPACES;
		if (M.sp[j].s)
			return j;
	}
	return -1;
}

/* Create space i of np pages (if slot i is free). */
static void create_space(int i, int np)
{
	struct dpemu_space_config sc;

	if (M.sp[i].s)
		return;
	memset(&sc, 0, sizeof sc);
	sc.reserve = (size_t)np * M.ps;
	sc.backend = DPEMU_BACKEND_AUTO;
	sc.fault_around = M.fault_around;
	int rc = dpemu_space_create(M.pool, &sc, &M.sp[i].s);
	CHECK_RC(rc, 0, "dpemu_space_create");
	CHECK(dpemu_space_size(M.sp[i].s) == sc.reserve, "space size %zu",
	      dpemu_space_size(M.sp[i].s));
	memset(M.sp[i].pte, 0, sizeof M.sp[i].pte);
	M.sp[i].base = dpemu_space_base(M.sp[i].s);
	M.sp[i].npages = np;
	M.sp[i].caught = 0;
}

static void op_create(void)
{
	int i = space_arg(), np = 4 + (int)(next() % (MAX_PAGES - 3));

	create_space(i, np);
}

static int new_obj(void)
{
	for (int o = 0; o < MAX_OBJS; o++)
		if (!M.obj[o].used)
			return o;
	return -1;
}

static int new_map(void)
{
	for (int m = 0; m < MAX_MAPS; m++)
		if (!M.map[m].used)
			return m;
	return -1;
}

static const int prots[8] = {
	PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
	PROT_WRITE, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC, PROT_READ | PROT_WRITE,
};

static void op_map(void)
{
	int i = live_space();
	unsigned pgarg = next(), narg = next(), kind = next(), parg = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	int n = 1 + (int)(narg % 4);
	int pg = (int)(pgarg % (unsigned)ms->npages);
	bool fixed = kind & 0x10, shared = kind & 1, file = kind & 2, ro = kind & 0x20;
	int prot = prots[parg % 8];
	int flags = (shared ? DPEMU_MAP_SHARED : DPEMU_MAP_PRIVATE) |
	            (file ? 0 : DPEMU_MAP_ANONYMOUS) | (fixed ? DPEMU_MAP_FIXED : 0);
	off_t foff = 0;
	int oi = new_obj(), mi = new_map();

	if (oi < 0 || mi < 0)
		return;
	if (fixed && pg + n > ms->npages)
		n = ms->npages - pg;
	if (file) {
		if (shared) {
			if (M.shared_next + n > SHARED_PAGES)
				return; /* the shared region is used up */
			foff = (off_t)M.shared_next * (off_t)M.ps;
		} else {
			int avail = (int)((FILE_BYTES - SHARED_PAGES * M.ps) / M.ps);
			foff = (off_t)(SHARED_PAGES + (int)((kind >> 2) % (unsigned)(avail + 2))) *
			       (off_t)M.ps;
		}
	}

	/* What the model expects. */
	int want = 0, at = -1;
	if (file && shared && ro && (prot & PROT_WRITE)) {
		want = -EACCES;
	} else if (fixed) {
		at = pg;
		for (int k = pg; k < pg + n; k++)
			if (ms->pte[k].mapped)
				want = -EEXIST;
	} else {
		for (int st = -1; st < ms->npages && at < 0; st++) {
			int s0 = st < 0 ? pg : st, free_run = s0 + n <= ms->npages;
			for (int k = s0; free_run && k < s0 + n; k++)
				free_run = !ms->pte[k].mapped;
			if (free_run)
				at = s0;
		}
		if (at < 0)
			want = -ENOMEM;
	}
	void *out = (void *)1;
	int fd = file ? (ro ? fd_ro : fd_rw) : -1;
	size_t len = (size_t)n * M.ps - (kind & 0x40 ? M.ps / 2 : 0);
	int rc = dpemu_map(ms->s, ms->base + (size_t)pg * M.ps, len, prot, flags, fd, foff, &out);
	CHECK_RC(rc, want, "dpemu_map");
	if (rc != 0) {
		CHECK(out == NULL, "dpemu_map failed and set *out to %p", out);
		CHECK(dpemu_last_error()[0] != '\0', "dpemu_map failed without a message");
		return;
	}
	CHECK(out == ms->base + (size_t)at * M.ps, "dpemu_map placed the mapping at %p, the "
	      "model at page %d (%p)", out, at, (void *)(ms->base + (size_t)at * M.ps));

	struct mobj *o = &M.obj[oi];
	memset(o, 0, sizeof *o);
	o->used = true;
	o->shared = shared;
	o->anon = !file;
	o->fd_rw = !ro;
	o->foff = foff;
	o->npages = n;
	if (file && shared)
		M.shared_next += n;
	M.map[mi] = (struct mmap_rec){ true, i, at, n };
	for (int k = 0; k < n; k++) {
		struct mpte *t = &ms->pte[at + k];
		t->mapped = true;
		t->prot = prot;
		t->obj = oi;
		t->idx = k;
		t->map = mi;
		if (shared) {
			o->data[k] = xcalloc(M.ps);
			fill_initial(o, k, o->data[k]);
			o->maprefs[k] = 1;
		} else {
			t->priv = xcalloc(M.ps);
			fill_initial(o, k, t->priv);
		}
	}
}

static void check_files(const int *checks, int n)
{
	for (int k = 0; k < n; k++)
		check_file_page(checks[k] / MAX_PAGES, checks[k] % MAX_PAGES);
}

/* The pages an operation on space ms works on, from two of its arguments:
 * the first is pgarg modulo the space's pages (into *pg), and 1 + narg %
 * most of them, cut at the space's end; returns how many. */
static int pick_range(const struct mspace *ms, unsigned pgarg, unsigned narg, unsigned most,
                      int *pg)
{
	int n = 1 + (int)(narg % most);

	*pg = (int)(pgarg % (unsigned)ms->npages);
	if (*pg + n > ms->npages)
		n = ms->npages - *pg;
	return n;
}

static void op_unmap(void)
{
	int i = live_space();
	unsigned pgarg = next(), narg = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	int pg, n = pick_range(ms, pgarg, narg, 6, &pg);
	int rc = dpemu_unmap(ms->s, ms->base + (size_t)pg * M.ps,
	                     (size_t)n * M.ps - (narg & 0x80 ? 1 : 0));
	CHECK_RC(rc, 0, "dpemu_unmap");
	int checks[MAX_PAGES], nchecks = 0;
	for (int k = pg; k < pg + n; k++)
		drop_pte(i, k, checks, &nchecks);
	check_files(checks, nchecks);
}

static void op_protect(void)
{
	int i = live_space();
	unsigned pgarg = next(), narg = next(), parg = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	int pg, n = pick_range(ms, pgarg, narg, 4, &pg);
	int prot = prots[parg % 8], want = 0;
	for (int k = pg; k < pg + n; k++)
		if (!ms->pte[k].mapped)
			want = -ENOMEM;
	if (!want && (prot & PROT_WRITE))
		for (int k = pg; k < pg + n; k++) {
			struct mobj *o = &M.obj[ms->pte[k].obj];
			if (o->shared && !o->anon && !o->fd_rw)
				want = -EACCES;
		}
	int rc = dpemu_protect(ms->s, ms->base + (size_t)pg * M.ps, (size_t)n * M.ps, prot);
	CHECK_RC(rc, want, "dpemu_protect");
	if (rc == 0)
		for (int k = pg; k < pg + n; k++)
			ms->pte[k].prot = prot;
}

static void op_fork(void)
{
	int i = live_space(), c = -1;
	if (i < 0)
		return;
	for (int k = 0; k < MAX_SPACES; k++)
		if (!M.sp[k].s) {
			c = k;
			break;
		}
	if (c < 0)
		return;
	int recmap[MAX_MAPS];
	for (int m = 0; m < MAX_MAPS; m++)
		recmap[m] = -1;
	/* Mapping records for the child first, so that no room is missing later. */
	for (int m = 0; m < MAX_MAPS; m++) {
		if (!M.map[m].used || M.map[m].space != i || M.map[m].remaining == 0)
			continue;
		int nm = new_map();
		if (nm < 0) {
			for (int k = 0; k < MAX_MAPS; k++)
				if (recmap[k] >= 0)
					M.map[recmap[k]].used = false;
			return;
		}
		M.map[nm] = M.map[m];
		M.map[nm].space = c;
		recmap[m] = nm;
	}
	struct mspace *ms = &M.sp[i], *cs = &M.sp[c];
	dpemu_space *child = NULL;
	int rc = dpemu_space_fork(ms->s, &child);
	CHECK_RC(rc, 0, "dpemu_space_fork");
	CHECK(dpemu_space_size(child) == dpemu_space_size(ms->s), "fork: child size");
	cs->s = child;
	cs->base = dpemu_space_base(child);
	cs->npages = ms->npages;
	cs->caught = 0;
	memset(cs->pte, 0, sizeof cs->pte);
	for (int pg = 0; pg < ms->npages; pg++) {
		struct mpte *t = &ms->pte[pg], *u = &cs->pte[pg];
		if (!t->mapped)
			continue;
		*u = *t;
		u->map = recmap[t->map];
		if (M.obj[t->obj].shared) {
			M.obj[t->obj].maprefs[t->idx]++;
		} else {
			u->priv = xcalloc(M.ps);
			memcpy(u->priv, t->priv, M.ps);
		}
	}
}

static void op_access(bool write, bool big)
{
	int i = live_space();
	unsigned pgarg = next(), oarg = next(), larg = next(), seed = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	size_t size = (size_t)ms->npages * M.ps;
	size_t off = (size_t)(pgarg % (unsigned)ms->npages) * M.ps;
	size_t len;

	if (big) {
		/* One byte in each of several pages: eviction pressure. */
		int n = 1 + (int)(larg % 8);
		for (int k = 0; k < n && off < size; k++, off += M.ps)
			access_check(i, off + (oarg % M.ps), 1, write, (uint8_t)(seed + k));
		return;
	}
	/* oarg picks where in the page: near the end sometimes, to straddle. */
	size_t in = (oarg & 0x80) ? M.ps - 1 - (oarg & 0x3f) : (size_t)oarg * 13 % M.ps;
	off += in;
	len = 1 + larg % MAX_ACCESS;
	if (off + len > size)
		len = size - off;
	access_check(i, off, len, write, (uint8_t)seed);
}

/* Whether space i resolves faults taken inside system calls (thread mode). */
static bool syscalls_fault_in(int i)
{
	const char *b = getenv("DPEMU_BACKEND");

	return dpemu_space_backend(M.sp[i].s) == DPEMU_BACKEND_UFFD &&
	       !(b && strcmp(b, "uffd-sigbus") == 0);
}

/*
 * The kernel touches the arena on our behalf: write(2)-like (pwrite from
 * the arena to a scratch file) or read(2)-like (pread from it into the
 * arena).  In userfaultfd's thread mode the faults are resolved; elsewhere
 * the call may fail with EFAULT or stop short.  Either way it may not go
 * past a byte the model says must fault, and the bytes must be right.
 */
static void op_syscall(void)
{
	int i = live_space();
	unsigned pgarg = next(), oarg = next(), larg = next(), seed = next();
	static int scratch = -1;
	static uint8_t src[MAX_ACCESS], back[MAX_ACCESS];
	if (i < 0)
		return;
	if (scratch < 0) {
		char path[] = "/tmp/dpemu-fuzz-scratch-XXXXXX";
		scratch = mkstemp(path);
		if (scratch < 0)
			abort();
		unlink(path);
	}
	struct mspace *ms = &M.sp[i];
	size_t size = (size_t)ms->npages * M.ps;
	size_t off = (size_t)(pgarg % (unsigned)ms->npages) * M.ps +
	             ((oarg & 0x80) ? M.ps - 1 - (oarg & 0x3f) : (size_t)oarg * 13 % M.ps);
	size_t len = 1 + (larg & 0x7f) % MAX_ACCESS;
	bool kernel_writes = larg & 0x80;
	if (off + len > size)
		len = size - off;
	/* The first byte the model says must fault, and whether the pages
	 * before it may need a frame. */
	size_t stop = len;
	for (size_t k = 0; k < len && stop == len; k++) {
		enum expect e = expect_access(i, (int)((off + k) / M.ps), kernel_writes);
		if (e == EX_UNMAPPED || e == EX_PROT || e == EX_MAYBE)
			stop = k;
	}
	ssize_t n;
	if (kernel_writes) {
		for (size_t k = 0; k < len; k++)
			src[k] = wval((uint8_t)seed, k);
		if (pwrite(scratch, src, len, 0) != (ssize_t)len)
			abort();
		n = pread(scratch, ms->base + off, len, 0);
	} else {
		n = pwrite(scratch, ms->base + off, len, 0);
	}
	int err = n < 0 ? errno : 0;
	CHECK(n >= 0 || err == EFAULT, "%s of the arena failed with %s", kernel_writes ? "pread"
	      : "pwrite", strerror(err));
	size_t got = n < 0 ? 0 : (size_t)n;
	bool expected_all = stop == len;
	for (size_t k = 0; k < len; k++) {
		int pg = (int)((off + k) / M.ps);
		if (expect_access(i, pg, kernel_writes) == EX_MAYBE)
			expected_all = false;
	}
	CHECK(got <= len, "system call returned %zd for %zu bytes", n, len);
	CHECK(got <= stop || stop == len || expect_access(i, (int)((off + stop) / M.ps),
	      kernel_writes) == EX_MAYBE, "space %d: a system call %s %zu bytes at %zu, past "
	      "byte %zu, which the model says must fault", i, kernel_writes ? "wrote" : "read",
	      got, off, stop);
	if (syscalls_fault_in(i) && expected_all && got < len)
		CHECK(out_of_frames_allowed(), "space %d: in thread mode a system call %s only "
		      "%zd of %zu bytes at %zu (%s), though the model says all are accessible (pages "
		      "%zu-%zu)", i, kernel_writes ? "wrote" : "read", n, len, off,
		      n < 0 ? strerror(err) : "short", off / M.ps, (off + len - 1) / M.ps);
	if (kernel_writes) {
		for (size_t k = 0; k < got; k++)
			mpage(i, (int)((off + k) / M.ps))[(off + k) % M.ps] = src[k];
		return;
	}
	if (got > 0 && pread(scratch, back, got, 0) != (ssize_t)got)
		abort();
	for (size_t k = 0; k < got; k++) {
		uint8_t want = mpage(i, (int)((off + k) / M.ps))[(off + k) % M.ps];
		CHECK(back[k] == want, "space %d: write(2) from byte %zu took %#x, the model says "
		      "%#x", i, off + k, back[k], want);
	}
}

static void op_sync(void)
{
	int i = live_space();
	unsigned pgarg = next(), narg = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	int pg, n = pick_range(ms, pgarg, narg, 8, &pg);
	int rc = dpemu_sync(ms->s, ms->base + (size_t)pg * M.ps, (size_t)n * M.ps);
	CHECK_RC(rc, 0, "dpemu_sync");
	/* A page only this space maps is on the file now (a page another space
	 * maps too may be dirty there, not here: its write-back is that space's). */
	for (int k = pg; k < pg + n; k++) {
		struct mpte *t = &ms->pte[k];
		if (t->mapped && M.obj[t->obj].shared && M.obj[t->obj].maprefs[t->idx] == 1)
			check_file_page(t->obj, t->idx);
	}
}

static void destroy_space(int i)
{
	struct mspace *ms = &M.sp[i];
	int checks[MAX_PAGES], nchecks = 0;

	int rc = dpemu_space_destroy(ms->s);
	CHECK_RC(rc, 0, "dpemu_space_destroy");
	for (int pg = 0; pg < ms->npages; pg++)
		drop_pte(i, pg, checks, &nchecks);
	for (int m = 0; m < MAX_MAPS; m++)
		if (M.map[m].used && M.map[m].space == i)
			M.map[m].used = false;
	ms->s = NULL;
	check_files(checks, nchecks);
}

static void op_destroy(void)
{
	int i = live_space();
	if (i >= 0)
		destroy_space(i);
}

static void op_query(void)
{
	int i = live_space();
	unsigned how = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	struct dpemu_page_info q;
	const uint8_t *a = how & 1 ? ms->base + (size_t)ms->npages * M.ps + (how >> 1) % 5
	                           : ms->base - 1 - (how >> 1) % 5;
	int rc = dpemu_query(ms->s, a, &q);
	CHECK_RC(rc, -EINVAL, "dpemu_query outside the arena");
	rc = dpemu_query(ms->s, ms->base, NULL);
	CHECK_RC(rc, -EINVAL, "dpemu_query with NULL out");
}

static void op_prefault(void)
{
	int i = live_space();
	unsigned pgarg = next(), narg = next(), parg = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	int pg, n = pick_range(ms, pgarg, narg, 4, &pg);
	int prot = parg % 3 == 0 ? PROT_READ : parg % 3 == 1 ? PROT_WRITE : PROT_READ | PROT_WRITE;
	int need = prot == PROT_READ ? PROT_READ : PROT_WRITE;
	int want = 0, bad = -1;
	for (int k = pg; k < pg + n && bad < 0; k++) {
		if (!ms->pte[k].mapped)
			want = -ENOMEM, bad = k;
		else if (!(ms->pte[k].prot & need))
			want = -EACCES, bad = k;
	}
	int rc = dpemu_prefault(ms->s, ms->base + (size_t)pg * M.ps, (size_t)n * M.ps, prot);
	if (rc == -ENOSPC) {
		CHECK(want == 0 || bad > pg, "dpemu_prefault: -ENOSPC, the model says %d", want);
		CHECK(out_of_frames_allowed(), "dpemu_prefault: -ENOSPC although the pool has a "
		      "frame to give");
		return;
	}
	CHECK_RC(rc, want, "dpemu_prefault");
}

/* Calls with bad arguments: the documented error, and nothing changes. */
static void op_bad(void)
{
	int i = live_space();
	unsigned which = next();
	if (i < 0)
		return;
	struct mspace *ms = &M.sp[i];
	uint8_t *b = ms->base;
	size_t ps = M.ps, size = (size_t)ms->npages * ps;
	void *out;
	int rc, want = -EINVAL;
	const char *what;

	switch (which % 16) {
	case 0: what = "dpemu_map len 0";
		rc = dpemu_map(ms->s, NULL, 0, PROT_READ, DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &out);
		break;
	case 1: what = "dpemu_map FIXED unaligned";
		rc = dpemu_map(ms->s, b + 1, ps, PROT_READ, DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS |
		               DPEMU_MAP_FIXED, -1, 0, &out);
		break;
	case 2: what = "dpemu_map PRIVATE|SHARED";
		rc = dpemu_map(ms->s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE | DPEMU_MAP_SHARED |
		               DPEMU_MAP_ANONYMOUS, -1, 0, &out);
		break;
	case 3: what = "dpemu_map unknown prot";
		rc = dpemu_map(ms->s, NULL, ps, 0x10, DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &out);
		break;
	case 4: what = "dpemu_map unaligned offset";
		rc = dpemu_map(ms->s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, fd_rw, 100, &out);
		break;
	case 5: what = "dpemu_map anonymous with an fd";
		rc = dpemu_map(ms->s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS,
		               fd_rw, 0, &out);
		break;
	case 6: what = "dpemu_map larger than the arena"; want = -ENOMEM;
		rc = dpemu_map(ms->s, NULL, size + ps, PROT_READ, DPEMU_MAP_PRIVATE |
		               DPEMU_MAP_ANONYMOUS, -1, 0, &out);
		break;
	case 7: what = "dpemu_map a closed fd"; want = -EBADF;
		rc = dpemu_map(ms->s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, 1000000, 0, &out);
		break;
	case 8: what = "dpemu_map FIXED past the arena";
		rc = dpemu_map(ms->s, b + size - ps, 2 * ps, PROT_READ, DPEMU_MAP_PRIVATE |
		               DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED, -1, 0, &out);
		break;
	case 9: what = "dpemu_unmap unaligned";
		rc = dpemu_unmap(ms->s, b + ps / 2, ps);
		break;
	case 10: what = "dpemu_unmap past the arena";
		rc = dpemu_unmap(ms->s, b + size - ps, 2 * ps);
		break;
	case 11: what = "dpemu_protect unknown prot";
		rc = dpemu_protect(ms->s, b, ps, 0x40);
		break;
	case 12: what = "dpemu_prefault PROT_NONE";
		rc = dpemu_prefault(ms->s, b, ps, PROT_NONE);
		break;
	case 13: what = "dpemu_sync len 0";
		rc = dpemu_sync(ms->s, b, 0);
		break;
	case 14: what = "dpemu_map negative offset";
		rc = dpemu_map(ms->s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, fd_rw, -(off_t)ps, &out);
		break;
	default: what = "dpemu_map neither PRIVATE nor SHARED";
		rc = dpemu_map(ms->s, NULL, ps, PROT_READ, DPEMU_MAP_ANONYMOUS, -1, 0, &out);
		break;
	}
	CHECK_RC(rc, want, what);
	CHECK(dpemu_last_error()[0] != '\0', "%s failed without a message", what);
}

/* ------------------------------------------------------------------------ */
/* One input                                                                 */
/* ------------------------------------------------------------------------ */

static void setup(void)
{
	unsigned b0 = next(), b1 = next(), b2 = next();
	static const size_t fa[4] = { 0, 1, 2, 4 };
	size_t host = (size_t)sysconf(_SC_PAGESIZE);

	memset(&M.cfg, 0, sizeof M.cfg);
	M.cfg.policy = (enum dpemu_policy)(b0 % 5);
	M.ps = host << ((b0 >> 4) % 3);
	if (M.ps > MAX_PS)
		M.ps = host;
	M.cfg.page_size = M.ps;
	M.cfg.frames = 4 + (b1 & 15) % 13;
	M.cfg.seed = b1;
	if ((b1 & 0x80) && M.cfg.policy != DPEMU_POLICY_NONE)
		M.cfg.swap_slots = 1 + ((b1 >> 4) & 7); /* a small store: it fills */
	M.fault_around = fa[b2 & 3];
	M.cfg.populate = (b2 & 4) != 0;
	int rc = dpemu_pool_create(&M.cfg, &M.pool);
	CHECK_RC(rc, 0, "dpemu_pool_create");
}

static void teardown(void)
{
	struct dpemu_pool_stats ps;

	/* Read back every page the model says is readable. */
	for (int i = 0; i < MAX_SPACES; i++) {
		if (!M.sp[i].s)
			continue;
		for (int pg = 0; pg < M.sp[i].npages; pg++)
			if (M.sp[i].pte[pg].mapped && (M.sp[i].pte[pg].prot & PROT_READ))
				access_check(i, (size_t)pg * M.ps, M.ps, false, 0);
	}
	check_all();
	for (int i = 0; i < MAX_SPACES; i++)
		if (M.sp[i].s)
			destroy_space(i);
	int rc = dpemu_pool_stats(M.pool, &ps);
	CHECK_RC(rc, 0, "dpemu_pool_stats");
	CHECK(ps.frames_free == ps.frames_total && ps.frames_used == 0 && ps.frames_shared == 0,
	      "every space destroyed, yet %llu of %llu frames are used (%llu shared)",
	      (unsigned long long)ps.frames_used, (unsigned long long)ps.frames_total,
	      (unsigned long long)ps.frames_shared);
	CHECK(ps.swap_slots_used == 0, "every space destroyed, yet %llu swap slots are used",
	      (unsigned long long)ps.swap_slots_used);
	CHECK(ps.spaces == 0 && ps.zero_maps == 0, "every space destroyed, yet spaces %llu "
	      "zero_maps %llu", (unsigned long long)ps.spaces, (unsigned long long)ps.zero_maps);
	rc = dpemu_pool_destroy(M.pool);
	CHECK_RC(rc, 0, "dpemu_pool_destroy");
	for (int o = 0; o < MAX_OBJS; o++)
		for (int k = 0; k < MAX_PAGES; k++)
			free(M.obj[o].data[k]);
	file_reset();
}

static void print_counts(void)
{
	fprintf(stderr, "fuzz_api: %lu sequences, %lu operations (pid %d)\n", fuzz_sequences,
	        fuzz_operations, (int)getpid());
}

/* libFuzzer calls this once: report the counts at exit (make fuzz logs them). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	atexit(print_counts);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&M, 0, sizeof M);
	M.in = data;
	M.len = size;
	M.op = -1;
	file_reset();
	setup();
	M.op = 0;
	create_space(0, 4 + (int)(size > 2 ? data[2] % (MAX_PAGES - 3) : 0));
	check_all();
	static int trace = -1;
	if (trace < 0)
		trace = getenv("FUZZ_TRACE") != NULL;
	while (M.pos < M.len && M.op < MAX_OPS) {
		M.op++;
		if (trace) {
			fprintf(stderr, "fuzz_api: op %d:", M.op);
			for (size_t k = M.pos; k < M.pos + 6 && k < M.len; k++)
				fprintf(stderr, " %u", M.in[k]);
			fprintf(stderr, "\n");
		}
		switch (next() % 16) {
		case 0: op_create(); break;
		case 1: case 2: op_map(); break;
		case 3: op_unmap(); break;
		case 4: op_protect(); break;
		case 5: op_fork(); break;
		case 6: op_access(true, false); break;
		case 7: op_access(false, false); break;
		case 8: op_access(true, true); break;
		case 9: op_access(false, true); break;
		case 10: op_sync(); break;
		case 11: op_destroy(); break;
		case 12: op_query(); break;
		case 13: op_prefault(); break;
		case 14: op_bad(); break;
		default: op_syscall(); break;
		}
		check_all();
		fuzz_operations++;
	}
	teardown();
	fuzz_sequences++;
	return 0;
}
