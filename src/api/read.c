/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * read.c - dpemu_read: a space's contents copied out as reads would see
 * them, but without an access - nothing is faulted in, no page changes
 * state, no counter moves.  What it is for: a child of the host's fork(2)
 * that must get a private copy of its parent's memory (the pool's frames
 * are shared with the parent), debuggers, tests.
 *
 * Each page's bytes come from where they are: its frame, its swap slot
 * (the swap cache's frame when it has one), the frame or slot its shared
 * object recorded (a forked shared mapping), or its file.  They are read
 * into a buffer of dpemu's own under the space lock and the page's
 * stripe - which keep the frame from being evicted or reused meanwhile -
 * and copied to the caller's buffer with no lock held, since that buffer
 * may lie in an arena where the write may fault.  Runs that a coarse or
 * empty entry decides (never touched, or not mapped) are skipped in one
 * step, so reading a large arena costs what it holds.
 *
 * Layer: api (src/internal.h).  Calls: the page table (pt_peek_run), the
 * stores (shared_lookup, shared_swapped, swap_read), the frames' direct
 * map, base.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define READ_BATCH_BYTES (1u << 20) /* dpemu's buffer: pages read per lock hold */

/* What one batch read under the locks: pages [first, first + n), each
 * either in bounce (has[i]) or reading as zeros. */
struct read_batch {
	unsigned char *bounce;
	unsigned char *has;
	size_t cap;      /* pages the buffer holds */
	uint64_t first;
	size_t n;
};

static bool all_zero(const unsigned char *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < len / sizeof *w; i++)
		if (w[i])
			return false;
	return true;
}

/*
 * Page pg's contents into dst (one page), e being its PTE or the coarse
 * entry that decides it; s->lock held, and pg's stripe if it has a PTE.
 * Returns 1 if dst holds them, 0 if the page reads as zeros without any
 * (no mapping, a never-written anonymous page, the zero frame), or the
 * negative errno of a read that failed.
 */
static int read_page(struct dpemu_space *s, uint64_t pg, uint64_t e, unsigned char *dst)
{
	struct dpemu_pool *pool = s->pool;
	size_t ps = pool->page_size;
	const struct mapping *m;
	int err;

	if (pte_map(e) == 0)
		return 0;
	m = &s->maps[pte_map(e) - 1];
	if (e & PTE_P) {
		if (pte_frame(e) == pool->zero_frame)
			return 0;
		memcpy(dst, frame_data(pool, pte_frame(e)), ps);
		return 1;
	}
	if (pte_swapped(e))
		return (err = swap_read(pool, pte_frame(e), dst)) ? err : 1;
	if (m->shared) {
		uint32_t f, slot;
		int found = 0;
		lock_acquire(&m->shared->lock);
		f = shared_lookup(m->shared, pg - m->start);
		if (f != FRAME_NONE) {
			memcpy(dst, frame_data(pool, f), ps);
			found = 1;
		} else if (shared_swapped(m->shared, pg - m->start, &slot)) {
			found = (err = swap_read(pool, slot, dst)) ? err : 1;
		}
		lock_release(&m->shared->lock);
		if (found)
			return found;
	}
	if (m->fd < 0)
		return 0;
	err = file_read_page(m->fd, m->offset + (off_t)((pg - m->start) << s->page_shift), dst, ps);
	return err ? err : 1;
}

/*
 * Fill batch b from page pg on, at most `limit` pages: those the entry
 * deciding pg covers (one leaf's PTEs, or one coarse entry's run), under
 * the space lock and, for PTEs, pg's stripe.  Returns the number of pages
 * the batch took (b->n) - or, for a run of pages without contents, their
 * number with b->n 0 and nothing read - or a negative errno.
 */
static int64_t read_batch_fill(struct dpemu_space *s, struct read_batch *b, uint64_t pg,
                               uint64_t limit)
{
	struct ptl *ptl = NULL;
	uint64_t left, e;
	bool leaf;
	int64_t rc = 0;

	b->first = pg;
	b->n = 0;
	lock_acquire(&s->lock);
	e = pt_peek_run(s, pg, &left, &leaf);
	if (left > limit)
		left = limit;
	if (!leaf && (pte_map(e) == 0 || (s->maps[pte_map(e) - 1].fd < 0 &&
	                                  !s->maps[pte_map(e) - 1].shared))) {
		lock_release(&s->lock);
		return (int64_t)left; /* nothing there: no mapping, or never touched */
	}
	if (left > b->cap)
		left = b->cap;
	if (leaf) {
		ptl = space_ptl(s, pg);
		lock_acquire(&ptl->lock); /* s->lock, then the stripe: the order */
	}
	for (uint64_t i = 0; i < left; i++) {
		uint64_t pe = leaf ? pt_peek(s, pg + i) : e;
		int r = read_page(s, pg + i, pe, b->bounce + i * s->pool->page_size);
		if (r < 0) {
			rc = r;
			break;
		}
		b->has[i] = (unsigned char)r;
		b->n++;
	}
	if (ptl)
		lock_release(&ptl->lock);
	lock_release(&s->lock);
	return rc < 0 ? rc : (int64_t)b->n;
}

struct read_dest {
	uintptr_t from, to; /* the bytes asked for: [from, to) of the arena */
	unsigned char *buf;
	unsigned flags;
};

/* Copy the part of page pg that d asks for from src (NULL: zeros; with
 * DPEMU_READ_SKIP_ZERO then, or when src is all zeros, nothing). */
static void read_copy_out(const struct dpemu_space *s, const struct read_dest *d, uint64_t pg,
                          const unsigned char *src)
{
	uintptr_t start = (uintptr_t)space_page_addr(s, pg), end = start + s->pool->page_size;
	uintptr_t lo = start > d->from ? start : d->from, hi = end < d->to ? end : d->to;

	if ((d->flags & DPEMU_READ_SKIP_ZERO) && (!src || all_zero(src, s->pool->page_size)))
		return;
	if (src)
		memcpy(d->buf + (lo - d->from), src + (lo - start), hi - lo);
	else
		memset(d->buf + (lo - d->from), 0, hi - lo);
}

/* Pages [pg, pg + n) read as zeros: clear what d asks for of them, in one
 * go (unless DPEMU_READ_SKIP_ZERO). */
static void read_zero_run(const struct dpemu_space *s, const struct read_dest *d, uint64_t pg,
                          uint64_t n)
{
	uintptr_t start = (uintptr_t)space_page_addr(s, pg);
	uintptr_t end = start + (uintptr_t)(n << s->page_shift);
	uintptr_t lo = start > d->from ? start : d->from, hi = end < d->to ? end : d->to;

	if (!(d->flags & DPEMU_READ_SKIP_ZERO))
		memset(d->buf + (lo - d->from), 0, hi - lo);
}

DPEMU_API int dpemu_read(dpemu_space *s, const void *addr, void *buf, size_t len,
                         unsigned flags)
{
	struct read_dest d = { (uintptr_t)addr, (uintptr_t)addr + len, buf, flags };
	struct read_batch b;
	uint64_t pg, last;
	int err = 0;

	if (!s || (!buf && len))
		return set_error(-EINVAL, "dpemu_read: space and buf must not be NULL");
	if (flags & ~(unsigned)DPEMU_READ_SKIP_ZERO)
		return set_error(-EINVAL, "dpemu_read: unknown flags %#x",
		                 flags & ~(unsigned)DPEMU_READ_SKIP_ZERO);
	if (pool_inherited(s->pool))
		return set_error(-EPERM, "dpemu_read: this space belongs to the parent process of "
		                 "fork(2)");
	if (d.from < s->base || d.from > s->base + s->size || len > s->base + s->size - d.from)
		return set_error(-EINVAL, "dpemu_read: range %p+%zu is not inside the arena [%p, %p)",
		                 addr, len, (void *)s->base, (void *)(s->base + s->size));
	if (len == 0)
		return 0;
	b.cap = READ_BATCH_BYTES / s->pool->page_size ? READ_BATCH_BYTES / s->pool->page_size : 1;
	b.bounce = malloc(b.cap * s->pool->page_size);
	b.has = malloc(b.cap);
	if (!b.bounce || !b.has) {
		free(b.bounce);
		free(b.has);
		return set_error(-ENOMEM, "dpemu_read: out of memory");
	}
	pg = space_page_index(s, addr);
	last = space_page_index(s, (const char *)addr + len - 1);
	while (pg <= last) {
		int64_t got = read_batch_fill(s, &b, pg, last - pg + 1);
		if (got < 0) {
			err = set_error((int)got, "dpemu_read: reading page %p failed: %s",
			                space_page_addr(s, pg + b.n), strerror((int)-got));
			break;
		}
		/* No lock held: buf may be in an arena. */
		if (b.n == 0)
			read_zero_run(s, &d, pg, (uint64_t)got);
		for (size_t i = 0; i < b.n; i++)
			read_copy_out(s, &d, pg + i, b.has[i] ? b.bounce + i * s->pool->page_size : NULL);
		pg += (uint64_t)got;
	}
	free(b.bounce);
	free(b.has);
	return err;
}
