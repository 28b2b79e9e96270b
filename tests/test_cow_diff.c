/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cow_diff.c - differential test of copy-on-write fork against a model
 * made of plain memory.
 *
 * A seeded random sequence of operations (write, read, fork, protect,
 * unmap, destroy, map, both FIXED and placed by dpemu, private and shared)
 * runs on up to 8 live dpemu spaces of 64 pages over one pool, and on a
 * model in which each page of each live model space is unmapped, lazy, or
 * points at a model frame: a malloc'ed page of bytes with a reference
 * count.  The model follows the documented semantics: fork shares every
 * present page's frame (private ones copy-on-write in both spaces), a write
 * to a copy-on-write page copies its frame or, holding the last reference,
 * reuses it; a frame goes away with its last page.
 *
 * Checked:
 *  - every read (an operation) returns the model's bytes;
 *  - accesses the model refuses (unmapped, PROT_NONE, a write to a
 *    read-only page) are faults of the right kind under dpemu_catch, at the
 *    first refused byte, and change nothing; bytes before it were written;
 *  - map, unmap and protect return what the model predicts (-EEXIST,
 *    -ENOMEM, 0) and placement without FIXED lands in a free range;
 *  - at intervals and at the end, for every live space and page: mapped,
 *    prot, present, cow and frame_refs match the model, model frames and
 *    dpemu frames correspond one to one, the space counters (cow_copies,
 *    cow_reuses, zero_fills, pages_resident) and the pool's frames_used and
 *    frames_shared match, and every present byte matches (at the end, every
 *    byte of every mapped page, lazy ones included);
 *  - after everything is destroyed the pool balances to zero.
 *
 * The pool has a frame for every page of 8 full spaces, so an out-of-frames
 * fault never happens.  A shared mapping gets a shared object at its first
 * fork (src/store/shared.c): whichever space faults a page of it first fills the
 * frame, the others find it, and the object holds its frames until the last
 * space using the mapping unmaps all of it.  A private page whose first
 * touch is a read maps the zero frame (g.zero), copy-on-write, until its
 * first write.
 *
 * The seed: DPEMU_TEST_SEED if set (run only that one), else a fixed seed
 * and a time-based one.  It is printed first and in every failure message;
 * DPEMU_TEST_SEED=<seed> replays a run.
 */
#include "testutil.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define MAX_LIVE 8
#define NPAGES 64
#define NFRAMES (MAX_LIVE * NPAGES + 16)
#define NOPS 10000
#define COMPARE_EVERY 500
#define DEFAULT_SEED 20261123ull

/* ------------------------------------------------------------------------ */
/* The model                                                                 */
/* ------------------------------------------------------------------------ */

struct mframe {
	int refs;         /* pages mapping it */
	int held;         /* a shared object keeps it */
	unsigned char *bytes;
	int64_t dframe; /* the dpemu frame it was seen in, during a compare */
};

/* A shared object: the frames of a forked shared mapping, by page index
 * (every space that uses it maps it at the same offset). */
struct mobj {
	int users;        /* spaces whose mapping uses it */
	struct mframe *slot[NPAGES];
};

struct mpage {
	int mapped;
	int prot;
	int shared;       /* of a DPEMU_MAP_SHARED mapping */
	int cow;          /* copy-on-write (private, shared at a fork) */
	int mapid;        /* which dpemu_map made it (kept across forks) */
	struct mobj *obj; /* shared mappings, once forked */
	struct mframe *f; /* NULL: lazy */
};

struct mspace {
	dpemu_space *s;   /* NULL: slot free */
	unsigned char *base;
	int id;           /* for messages */
	struct mpage pg[NPAGES];
	uint64_t copies, reuses, zero_fills;
};

static struct {
	uint64_t seed, rng;
	long op;
	size_t ps;
	dpemu_pool *pool;
	struct mspace sp[MAX_LIVE];
	int live, next_id, next_map;
	uint64_t frames, shared; /* live model frames, those with refs > 1 */
	struct mframe zero;      /* the zero frame: refs = pages mapping it */
	char log[16][128];       /* the last operations, for failure reports */
	long log_op[16];
	unsigned char *zeros, *buf;
	/* what the run did, printed at the end */
	long n_write, n_read, n_fork, n_protect, n_unmap, n_map, n_destroy,
	     n_faults, n_compare;
} g;

static void dump_log(void)
{
	print_error("last operations (oldest first):\n");
	for (long i = g.op - 15; i <= g.op; i++)
		if (i >= 0 && g.log_op[i % 16] == i && g.log[i % 16][0])
			print_error("  %s\n", g.log[i % 16]);
}

#define DIFF_FAIL(fmt, ...) \
	do { \
		dump_log(); \
		fail_msg("seed %" PRIu64 " op %ld: " fmt \
		         " (replay: DPEMU_TEST_SEED=%" PRIu64 ")", \
		         g.seed, g.op, ##__VA_ARGS__, g.seed); \
	} while (0)

#define DCHECK(cond, fmt, ...) \
	do { \
		if (!(cond)) \
			DIFF_FAIL("%s: " fmt, #cond, ##__VA_ARGS__); \
	} while (0)

static void logop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logop(const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(g.log[g.op % 16], sizeof g.log[0], "#%ld ", g.op);

	g.log_op[g.op % 16] = g.op;

	va_start(ap, fmt);
	vsnprintf(g.log[g.op % 16] + n, sizeof g.log[0] - (size_t)n, fmt, ap);
	va_end(ap);
}

/* splitmix64 */
static uint64_t rnd(void)
{
	uint64_t z = (g.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static struct mframe *frame_new(void)
{
	struct mframe *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->bytes = calloc(1, g.ps);
	assert_non_null(f->bytes);
	f->refs = 1;
	f->dframe = -1;
	g.frames++;
	return f;
}

static void frame_ref(struct mframe *f)
{
	if (f == &g.zero) {
		f->refs++;
		return;
	}
	if (++f->refs == 2)
		g.shared++;
}

static void frame_free_if_unused(struct mframe *f)
{
	if (f->refs == 0 && !f->held) {
		free(f->bytes);
		free(f);
		g.frames--;
	}
}

static void frame_unref(struct mframe *f)
{
	if (f == &g.zero) {
		f->refs--;
		return;
	}
	if (f->refs-- == 2)
		g.shared--;
	frame_free_if_unused(f);
}

/* A space stops using shared object o; the last one lets its frames go. */
static void obj_put(struct mobj *o)
{
	if (--o->users > 0)
		return;
	for (size_t i = 0; i < NPAGES; i++) {
		if (o->slot[i]) {
			o->slot[i]->held = 0;
			frame_free_if_unused(o->slot[i]);
		}
	}
	free(o);
}

/* The page gets a frame as an access would give it: the one its shared
 * object has for it, the zero frame for a read of a private page, or a new
 * zero-filled one. */
static void page_touch(struct mspace *m, struct mpage *p, int write)
{
	size_t i = (size_t)(p - m->pg);

	if (p->f)
		return;
	if (!write && !p->shared) {
		p->f = &g.zero;
		g.zero.refs++;
		p->cow = 1;
		m->zero_fills++;
		return;
	}
	if (p->obj && p->obj->slot[i]) {
		p->f = p->obj->slot[i];
		frame_ref(p->f);
		return;
	}
	p->f = frame_new();
	m->zero_fills++;
	if (p->obj) {
		p->obj->slot[i] = p->f;
		p->f->held = 1;
	}
}

/* A write to the page: break copy-on-write first. */
static void page_write(struct mspace *m, struct mpage *p, size_t off,
                       const unsigned char *src, size_t len)
{
	page_touch(m, p, 1);
	if (p->cow) {
		if (p->f == &g.zero) {
			/* the first write to a page that was only read */
			frame_unref(p->f);
			p->f = frame_new();
		} else if (p->f->refs > 1) {
			struct mframe *c = frame_new();

			memcpy(c->bytes, p->f->bytes, g.ps);
			frame_unref(p->f);
			p->f = c;
			m->copies++;
		} else {
			m->reuses++;
		}
		p->cow = 0;
	}
	memcpy(p->f->bytes + off, src, len);
}

/* Unmap page i of space m; the space's last page of a mapping with a
 * shared object releases the space's use of the object. */
static void page_drop(struct mspace *m, size_t i)
{
	struct mpage *p = &m->pg[i];
	struct mobj *o = p->obj;

	if (p->f)
		frame_unref(p->f);
	memset(p, 0, sizeof *p);
	if (!o)
		return;
	for (size_t k = 0; k < NPAGES; k++)
		if (m->pg[k].obj == o)
			return;
	obj_put(o);
}

/* ------------------------------------------------------------------------ */
/* Accesses under dpemu_catch                                                */
/* ------------------------------------------------------------------------ */

struct xfer {
	volatile unsigned char *dst;
	const volatile unsigned char *src;
	size_t len, done;
};

static void do_xfer(void *arg)
{
	struct xfer *x = arg;

	for (size_t i = 0; i < x->len; i++) {
		x->dst[i] = x->src[i];
		x->done++;
	}
}

/* Copy under dpemu_catch; returns 1 and fills *f if it faulted. */
static int xfer(void *dst, const void *src, size_t len, size_t *done,
                struct dpemu_fault *f)
{
	struct xfer x = { dst, src, len, 0 };
	int rc = dpemu_catch(do_xfer, &x, f);

	DCHECK(rc == 0 || rc == 1, "dpemu_catch returned %d", rc);
	*done = x.done;
	return rc;
}

static const char *kind_name(enum dpemu_fault_kind k)
{
	return dpemu_fault_kind_name(k);
}

/* What an access of the page allows: 0 ok, else the fault kind. */
static enum dpemu_fault_kind refusal(const struct mpage *p, int write)
{
	if (!p->mapped)
		return DPEMU_FAULT_UNMAPPED;
	if (!(p->prot & (write ? PROT_WRITE : PROT_READ)))
		return DPEMU_FAULT_PROTECTION;
	return DPEMU_FAULT_NONE;
}

/*
 * Access [pg*ps + off, +len) of space m (len may run into the next pages),
 * writing data or reading into g.buf.  The model says where the first
 * refused byte is; dpemu must stop exactly there with that fault, having
 * done every byte before it.
 */
static void access_range(struct mspace *m, size_t pg, size_t off, size_t len,
                         const unsigned char *data, int write)
{
	size_t expect_done = 0, done, pos;
	enum dpemu_fault_kind expect_kind = DPEMU_FAULT_NONE;
	unsigned char *addr = m->base + pg * g.ps + off;
	struct dpemu_fault f;
	int rc;

	for (pos = 0; pos < len;) {
		size_t p = pg + (off + pos) / g.ps, o = (off + pos) % g.ps;
		size_t n = g.ps - o < len - pos ? g.ps - o : len - pos;

		expect_kind = refusal(&m->pg[p], write);
		if (expect_kind != DPEMU_FAULT_NONE)
			break;
		expect_done += n;
		pos += n;
	}
	if (write)
		rc = xfer(addr, data, len, &done, &f);
	else
		rc = xfer(g.buf, addr, len, &done, &f);

	if (expect_kind == DPEMU_FAULT_NONE) {
		DCHECK(rc == 0, "space %d: %s of %zu bytes at page %zu+%zu faulted "
		       "(%s at %p after %zu bytes) but the model allows it", m->id,
		       write ? "write" : "read", len, pg, off, kind_name(f.kind),
		       f.addr, done);
	} else {
		g.n_faults++;
		DCHECK(rc == 1, "space %d: %s at page %zu+%zu went through; the model "
		       "expects a %s fault after %zu bytes", m->id,
		       write ? "write" : "read", pg, off, kind_name(expect_kind),
		       expect_done);
		DCHECK(f.kind == expect_kind, "space %d: fault kind %s, expected %s",
		       m->id, kind_name(f.kind), kind_name(expect_kind));
		DCHECK(f.addr == addr + expect_done, "space %d: fault at %p, expected %p",
		       m->id, f.addr, (void *)(addr + expect_done));
		DCHECK(f.space == m->s, "space %d: fault names another space", m->id);
		if (write)
			DCHECK(f.access == DPEMU_ACCESS_WRITE ||
			       f.access == DPEMU_ACCESS_UNKNOWN, "access %d", f.access);
	}
	DCHECK(done == expect_done, "space %d: %zu bytes done, expected %zu", m->id,
	       done, expect_done);

	/* Apply (write) or compare (read) the bytes that went through. */
	for (pos = 0; pos < done;) {
		size_t p = pg + (off + pos) / g.ps, o = (off + pos) % g.ps;
		size_t n = g.ps - o < done - pos ? g.ps - o : done - pos;
		struct mpage *mp = &m->pg[p];

		if (write) {
			page_write(m, mp, o, data + pos, n);
		} else {
			page_touch(m, mp, 0);
			if (memcmp(g.buf + pos, mp->f->bytes + o, n) != 0) {
				size_t i = 0;

				while (g.buf[pos + i] == mp->f->bytes[o + i])
					i++;
				DIFF_FAIL("space %d: read page %zu byte %zu = %#x, model %#x",
				          m->id, p, o + i, g.buf[pos + i], mp->f->bytes[o + i]);
			}
		}
		pos += n;
	}
}

/* ------------------------------------------------------------------------ */
/* Comparing everything                                                      */
/* ------------------------------------------------------------------------ */

/* The page table and counters of one space against the model. */
static void compare_meta(struct mspace *m)
{
	struct dpemu_stats st;
	uint64_t resident = 0;

	for (size_t i = 0; i < NPAGES; i++) {
		struct mpage *p = &m->pg[i];
		unsigned char *addr = m->base + i * g.ps;
		struct dpemu_page_info pi;

		DCHECK(dpemu_query(m->s, addr, &pi) == 0, "query: %s", dpemu_last_error());
		DCHECK(pi.mapped == (p->mapped != 0), "space %d page %zu: mapped %d, model %d",
		       m->id, i, pi.mapped, p->mapped);
		if (!p->mapped)
			continue;
		DCHECK(pi.prot == p->prot, "space %d page %zu: prot %d, model %d", m->id, i,
		       pi.prot, p->prot);
		DCHECK(pi.shared == (p->shared != 0), "space %d page %zu: shared %d", m->id,
		       i, pi.shared);
		DCHECK(pi.present == (p->f != NULL), "space %d page %zu: present %d, model %d",
		       m->id, i, pi.present, p->f != NULL);
		if (!p->f)
			continue;
		resident++;
		DCHECK(pi.frame_refs == (uint32_t)p->f->refs,
		       "space %d page %zu: frame_refs %u, model %d", m->id, i,
		       pi.frame_refs, p->f->refs);
		DCHECK(pi.cow == (p->cow != 0), "space %d page %zu: cow %d, model %d",
		       m->id, i, pi.cow, p->cow);
		DCHECK(pi.zero == (p->f == &g.zero), "space %d page %zu: zero %d, model %d",
		       m->id, i, pi.zero, p->f == &g.zero);
		if (p->f == &g.zero)
			continue;
		DCHECK(pi.frame < NFRAMES, "frame %" PRIu64, pi.frame);
		if (p->f->dframe < 0)
			p->f->dframe = (int64_t)pi.frame;
		DCHECK(p->f->dframe == (int64_t)pi.frame,
		       "space %d page %zu: frame %" PRIu64 ", but the same model frame "
		       "is dpemu frame %" PRId64 " elsewhere", m->id, i, pi.frame,
		       p->f->dframe);
	}
	DCHECK(dpemu_space_stats(m->s, &st) == 0, "stats");
	DCHECK(st.cow_copies == m->copies, "space %d: cow_copies %" PRIu64 ", model %"
	       PRIu64, m->id, st.cow_copies, m->copies);
	DCHECK(st.cow_reuses == m->reuses, "space %d: cow_reuses %" PRIu64 ", model %"
	       PRIu64, m->id, st.cow_reuses, m->reuses);
	DCHECK(st.zero_fills == m->zero_fills, "space %d: zero_fills %" PRIu64
	       ", model %" PRIu64, m->id, st.zero_fills, m->zero_fills);
	DCHECK(st.pages_resident == resident, "space %d: pages_resident %" PRIu64
	       ", model %" PRIu64, m->id, st.pages_resident, resident);
}

/* The bytes of one space against the model. */
static void compare_bytes(struct mspace *m, int every_byte)
{
	/* The bytes: present pages (every mapped page with every_byte); an
	 * unreadable page is made readable for the look and put back. */
	for (size_t i = 0; i < NPAGES; i++) {
		struct mpage *p = &m->pg[i];
		unsigned char *addr = m->base + i * g.ps;
		int prot = p->prot;

		if (!p->mapped) {
			access_range(m, i, below(g.ps), 1, NULL, 0); /* must fault */
			continue;
		}
		if (!p->f && !every_byte)
			continue;
		if (!(prot & PROT_READ)) {
			DCHECK(dpemu_protect(m->s, addr, g.ps, PROT_READ) == 0, "protect: %s",
			       dpemu_last_error());
			p->prot = PROT_READ;
		}
		access_range(m, i, 0, g.ps, NULL, 0);
		if (!(prot & PROT_READ)) {
			DCHECK(dpemu_protect(m->s, addr, g.ps, prot) == 0, "protect: %s",
			       dpemu_last_error());
			p->prot = prot;
		}
	}
}

/* Every live space, and the pool. */
static void compare_all(int every_byte)
{
	struct dpemu_pool_stats ps;
	int64_t owner[NFRAMES];

	g.n_compare++;
	for (int k = 0; k < MAX_LIVE; k++)
		for (size_t i = 0; i < NPAGES; i++)
			if (g.sp[k].s && g.sp[k].pg[i].f)
				g.sp[k].pg[i].f->dframe = -1;
	for (int k = 0; k < MAX_LIVE; k++)
		if (g.sp[k].s)
			compare_meta(&g.sp[k]);

	/* One dpemu frame per model frame (dframe is recorded per model frame;
	 * check no two model frames claim one dpemu frame). */
	for (size_t i = 0; i < NFRAMES; i++)
		owner[i] = -1;
	for (int k = 0; k < MAX_LIVE; k++) {
		for (size_t i = 0; i < NPAGES; i++) {
			struct mframe *f = g.sp[k].s ? g.sp[k].pg[i].f : NULL;
			int64_t key;

			if (!f || f == &g.zero)
				continue;
			key = (int64_t)(uintptr_t)f;
			if (owner[f->dframe] < 0)
				owner[f->dframe] = key;
			DCHECK(owner[f->dframe] == key, "dpemu frame %" PRId64 " holds two "
			       "model frames (pages that should differ share it)", f->dframe);
		}
	}
	DCHECK(dpemu_pool_stats(g.pool, &ps) == 0, "pool stats");
	DCHECK(ps.frames_used == g.frames, "frames_used %" PRIu64 ", model %" PRIu64,
	       ps.frames_used, g.frames);
	DCHECK(ps.frames_shared == g.shared, "frames_shared %" PRIu64 ", model %" PRIu64,
	       ps.frames_shared, g.shared);
	DCHECK(ps.spaces == (uint64_t)g.live, "spaces %" PRIu64 ", model %d", ps.spaces,
	       g.live);
	DCHECK(ps.zero_maps == (uint64_t)g.zero.refs, "zero_maps %" PRIu64 ", model %d",
	       ps.zero_maps, g.zero.refs);

	for (int k = 0; k < MAX_LIVE; k++)
		if (g.sp[k].s)
			compare_bytes(&g.sp[k], every_byte);
	if (every_byte) {
		/* Reading the lazy pages gave them frames: counters again. */
		for (int k = 0; k < MAX_LIVE; k++)
			if (g.sp[k].s)
				compare_meta(&g.sp[k]);
		DCHECK(dpemu_pool_stats(g.pool, &ps) == 0, "pool stats");
		DCHECK(ps.frames_used == g.frames, "frames_used %" PRIu64 ", model %"
		       PRIu64, ps.frames_used, g.frames);
	}
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                */
/* ------------------------------------------------------------------------ */

static struct mspace *random_live(void)
{
	int k = (int)below((size_t)g.live);

	for (int i = 0; i < MAX_LIVE; i++)
		if (g.sp[i].s && k-- == 0)
			return &g.sp[i];
	return NULL;
}

static struct mspace *free_slot(void)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (!g.sp[i].s)
			return &g.sp[i];
	return NULL;
}

static void op_create(void)
{
	struct dpemu_space_config cfg = tu_space_config(NPAGES * g.ps);
	struct mspace *m = free_slot();

	memset(m, 0, sizeof *m);
	DCHECK(dpemu_space_create(g.pool, &cfg, &m->s) == 0, "create: %s",
	       dpemu_last_error());
	m->base = dpemu_space_base(m->s);
	m->id = g.next_id++;
	g.live++;
	logop("create space %d", m->id);
}

static void op_destroy(struct mspace *m)
{
	logop("destroy space %d", m->id);
	g.n_destroy++;
	DCHECK(dpemu_space_destroy(m->s) == 0, "destroy: %s", dpemu_last_error());
	for (size_t i = 0; i < NPAGES; i++)
		page_drop(m, i);
	m->s = NULL;
	g.live--;
}

static int random_prot(void)
{
	size_t r = below(20);

	return r < 12 ? RW : r < 17 ? PROT_READ : PROT_NONE;
}

static void op_map(struct mspace *m)
{
	size_t n = 1 + below(8), pg = below(NPAGES - n + 1), i;
	int prot = random_prot(), shared = below(4) == 0, fixed = below(5) != 0;
	int flags = DPEMU_MAP_ANONYMOUS | (shared ? DPEMU_MAP_SHARED : DPEMU_MAP_PRIVATE);
	int rc, clash = 0;
	void *out = NULL;

	g.n_map++;
	if (fixed) {
		logop("map space %d pages %zu+%zu prot %d %s FIXED", m->id, pg, n, prot,
		      shared ? "shared" : "private");
		for (i = pg; i < pg + n; i++)
			clash |= m->pg[i].mapped;
		rc = dpemu_map(m->s, m->base + pg * g.ps, n * g.ps, prot,
		               flags | DPEMU_MAP_FIXED, -1, 0, &out);
		if (clash) {
			DCHECK(rc == -EEXIST, "space %d: FIXED map over a mapping returned %d",
			       m->id, rc);
			return;
		}
		DCHECK(rc == 0, "space %d: map: %s", m->id, dpemu_last_error());
		DCHECK(out == m->base + pg * g.ps, "placed at %p", out);
	} else {
		size_t run = 0, fits = 0;

		logop("map space %d %zu pages prot %d %s anywhere", m->id, n, prot,
		      shared ? "shared" : "private");
		for (i = 0; i < NPAGES && !fits; i++) {
			run = m->pg[i].mapped ? 0 : run + 1;
			fits = run >= n;
		}
		rc = dpemu_map(m->s, NULL, n * g.ps, prot, flags, -1, 0, &out);
		if (!fits) {
			DCHECK(rc == -ENOMEM, "space %d: map of %zu pages with no room "
			       "returned %d", m->id, n, rc);
			return;
		}
		DCHECK(rc == 0, "space %d: map: %s", m->id, dpemu_last_error());
		DCHECK((unsigned char *)out >= m->base &&
		       (unsigned char *)out + n * g.ps <= m->base + NPAGES * g.ps &&
		       ((unsigned char *)out - m->base) % g.ps == 0, "placed at %p", out);
		pg = (size_t)((unsigned char *)out - m->base) / g.ps;
		for (i = pg; i < pg + n; i++)
			DCHECK(!m->pg[i].mapped, "space %d: placed over page %zu, which is "
			       "mapped", m->id, i);
	}
	g.next_map++;
	for (i = pg; i < pg + n; i++) {
		m->pg[i] = (struct mpage){ .mapped = 1, .prot = prot, .shared = shared,
		                           .mapid = g.next_map };
	}
}

static void op_unmap(struct mspace *m)
{
	size_t n = 1 + below(8), pg = below(NPAGES - n + 1);

	logop("unmap space %d pages %zu+%zu", m->id, pg, n);
	g.n_unmap++;
	DCHECK(dpemu_unmap(m->s, m->base + pg * g.ps, n * g.ps) == 0, "unmap: %s",
	       dpemu_last_error());
	for (size_t i = pg; i < pg + n; i++)
		page_drop(m, i);
}

static void op_protect(struct mspace *m)
{
	size_t n = 1 + below(4), pg = below(NPAGES - n + 1);
	int prot = random_prot(), hole = 0, rc;

	logop("protect space %d pages %zu+%zu prot %d", m->id, pg, n, prot);
	g.n_protect++;
	for (size_t i = pg; i < pg + n; i++)
		hole |= !m->pg[i].mapped;
	rc = dpemu_protect(m->s, m->base + pg * g.ps, n * g.ps, prot);
	if (hole) {
		DCHECK(rc == -ENOMEM, "space %d: protect over a hole returned %d", m->id, rc);
		return;
	}
	DCHECK(rc == 0, "space %d: protect: %s", m->id, dpemu_last_error());
	for (size_t i = pg; i < pg + n; i++)
		m->pg[i].prot = prot;
}

/* A random range: mostly small, sometimes a page or more (crossing into
 * the next page); never past the arena. */
static void random_range(size_t *pg, size_t *off, size_t *len)
{
	size_t r = below(10);

	*pg = below(NPAGES);
	*off = below(g.ps);
	*len = r < 7 ? 1 + below(64) : r < 9 ? 1 + below(g.ps) : g.ps + below(g.ps);
	if (*pg * g.ps + *off + *len > NPAGES * g.ps)
		*len = NPAGES * g.ps - *pg * g.ps - *off;
}

static void op_write(struct mspace *m)
{
	unsigned char *data = g.buf + 2 * g.ps;
	size_t pg, off, len;
	uint64_t v = rnd();

	random_range(&pg, &off, &len);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(v >> (8 * (i % 8))) + (unsigned char)i;
	logop("write space %d page %zu+%zu len %zu", m->id, pg, off, len);
	g.n_write++;
	access_range(m, pg, off, len, data, 1);
}

static void op_read(struct mspace *m)
{
	size_t pg, off, len;

	random_range(&pg, &off, &len);
	logop("read space %d page %zu+%zu len %zu", m->id, pg, off, len);
	g.n_read++;
	access_range(m, pg, off, len, NULL, 0);
}

static void op_fork(struct mspace *m)
{
	struct mspace *c = free_slot();
	dpemu_space *child = NULL;
	int rc;

	/* Each shared mapping gets its shared object at its first fork; the
	 * object keeps the frames its pages have now. */
	for (size_t i = 0; i < NPAGES; i++) {
		struct mpage *p = &m->pg[i];

		if (!p->mapped || !p->shared)
			continue;
		if (!p->obj) {
			struct mobj *o = calloc(1, sizeof *o);
			assert_non_null(o);
			o->users = 1;
			for (size_t k = i; k < NPAGES; k++)
				if (m->pg[k].mapped && m->pg[k].mapid == p->mapid)
					m->pg[k].obj = o;
		}
		if (p->f && !p->obj->slot[i]) {
			p->obj->slot[i] = p->f;
			p->f->held = 1;
		}
	}

	logop("fork space %d -> space %d", m->id, g.next_id);
	g.n_fork++;
	rc = dpemu_space_fork(m->s, &child);
	DCHECK(rc == 0, "fork of space %d: %s", m->id, dpemu_last_error());
	memset(c, 0, sizeof *c);
	c->s = child;
	c->base = dpemu_space_base(child);
	c->id = g.next_id++;
	g.live++;
	for (size_t i = 0; i < NPAGES; i++) {
		struct mpage *p = &m->pg[i];

		c->pg[i] = *p;
		if (p->obj) {
			/* the child's mapping uses the object too (once per object) */
			size_t k;
			for (k = 0; k < i && c->pg[k].obj != p->obj; k++)
				;
			if (k == i)
				p->obj->users++;
		}
		if (!p->f)
			continue;
		frame_ref(p->f);
		if (!p->shared)
			p->cow = c->pg[i].cow = 1;
	}
}

static void run(uint64_t seed)
{
	struct dpemu_pool_config pcfg;
	struct dpemu_pool_stats ps;

	memset(&g, 0, sizeof g);
	g.seed = seed;
	g.rng = seed;
	g.ps = tu_host_page();
	g.zeros = calloc(1, g.ps);
	g.buf = calloc(4, g.ps); /* [0, 2 ps): reads; [2 ps, 4 ps): write data */
	assert_non_null(g.zeros);
	assert_non_null(g.buf);
	g.zero.bytes = g.zeros; /* the zero frame reads as zeros, always */
	g.zero.dframe = -1;
	print_message("cow_diff: seed %" PRIu64 " (replay with DPEMU_TEST_SEED=%" PRIu64
	              "), %d operations\n", seed, seed, NOPS);
	pcfg = tu_pool_config(NFRAMES, 0);
	assert_int_equal(dpemu_pool_create(&pcfg, &g.pool), 0);

	for (g.op = 0; g.op < NOPS; g.op++) {
		struct mspace *m;
		size_t r;

		if (g.live == 0)
			op_create();
		m = random_live();
		r = below(100);
		if (r < 30)
			op_write(m);
		else if (r < 52)
			op_read(m);
		else if (r < 64)
			op_map(m);
		else if (r < 70)
			op_unmap(m);
		else if (r < 80)
			op_protect(m);
		else if (r < 90) {
			if (g.live < MAX_LIVE)
				op_fork(m);
			else
				op_destroy(m);
		} else if (r < 95) {
			op_destroy(m);
		} else if (r < 97 && g.live < MAX_LIVE) {
			op_create();
		} else {
			op_write(m);
		}
		if ((g.op + 1) % COMPARE_EVERY == 0)
			compare_all(0);
	}
	compare_all(1);
	print_message("cow_diff: %ld writes, %ld reads, %ld forks, %ld protects, %ld "
	              "unmaps, %ld maps, %ld destroys, %ld expected faults, %ld full "
	              "compares\n", g.n_write, g.n_read, g.n_fork, g.n_protect,
	              g.n_unmap, g.n_map, g.n_destroy, g.n_faults, g.n_compare);
	DCHECK(g.n_fork > 100 && g.n_faults > 100, "the mix did too little");

	for (int k = 0; k < MAX_LIVE; k++)
		if (g.sp[k].s)
			op_destroy(&g.sp[k]);
	DCHECK(g.frames == 0 && g.shared == 0, "model frames left");
	assert_int_equal(dpemu_pool_stats(g.pool, &ps), 0);
	DCHECK(ps.frames_used == 0 && ps.frames_shared == 0 && ps.spaces == 0,
	       "pool does not balance: used %" PRIu64 " shared %" PRIu64 " spaces %"
	       PRIu64, ps.frames_used, ps.frames_shared, ps.spaces);
	assert_int_equal(dpemu_pool_destroy(g.pool), 0);
	free(g.zeros);
	free(g.buf);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static uint64_t env_seed;
static int env_seed_set;

/* The seed given in DPEMU_TEST_SEED (only this run when set). */
static void test_diff_env_seed(void **state)
{
	(void)state;
	run(env_seed);
}

/* The fixed default seed: the same sequence on every run. */
static void test_diff_fixed_seed(void **state)
{
	(void)state;
	run(DEFAULT_SEED);
}

/* A seed from the clock: a new sequence each run (printed for replay). */
static void test_diff_time_seed(void **state)
{
	struct timespec ts;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &ts);
	run(((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)getpid() << 32));
}

int main(void)
{
	const char *env = getenv("DPEMU_TEST_SEED");
	const struct CMUnitTest env_tests[] = {
		cmocka_unit_test(test_diff_env_seed),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_fixed_seed),
		cmocka_unit_test(test_diff_time_seed),
	};

	if (env && *env) {
		char *end;

		errno = 0;
		env_seed = strtoull(env, &end, 0);
		if (errno || *end) {
			fprintf(stderr, "DPEMU_TEST_SEED=%s is not a number\n", env);
			return 2;
		}
		env_seed_set = 1;
	}
	if (env_seed_set)
		return cmocka_run_group_tests(env_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
