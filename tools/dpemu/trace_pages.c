/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_pages.c - the pages of a trace and its resident set (the model
 * trace_pages.h describes), for `dpemu trace report` and `dpemu trace
 * plot`: a hash table of every page seen (open addressing, linear
 * probing, doubled at half full) and a table of frames, each with the
 * count of resident pages that hold it and a generation that an evict
 * bumps, which makes every page that held the frame non-resident at once.
 * Calls trace_file.c (trace_is_fault) and libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_file.h"
#include "trace_pages.h"

/* One frame: how many resident pages hold it, and its generation. */
struct trace_frame {
	uint32_t refs;
	uint32_t gen;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t slot_of(const struct trace_pages *tp, uint32_t space, uint64_t page)
{
	return (size_t)mix(page ^ ((uint64_t)space << 40) ^ space) & (tp->cap - 1);
}

/* The entry of (space, page), created (no faults, not resident) if new.
 * The table doubles at half full; pointers into it last until the next
 * call. */
static struct trace_page *page_get(struct trace_pages *tp, uint32_t space, uint64_t page)
{
	size_t i;

	if (2 * (tp->used + 1) > tp->cap) {
		size_t ocap = tp->cap;
		struct trace_page *old = tp->pages;
		tp->cap = ocap ? 2 * ocap : 1024;
		tp->pages = trace_xrealloc(NULL, tp->cap * sizeof *tp->pages);
		memset(tp->pages, 0, tp->cap * sizeof *tp->pages);
		for (size_t j = 0; j < ocap; j++) {
			if (!old[j].used)
				continue;
			for (i = slot_of(tp, old[j].space, old[j].page); tp->pages[i].used;
			     i = (i + 1) & (tp->cap - 1))
				;
			tp->pages[i] = old[j];
		}
		free(old);
	}
	for (i = slot_of(tp, space, page); tp->pages[i].used; i = (i + 1) & (tp->cap - 1))
		if (tp->pages[i].space == space && tp->pages[i].page == page)
			return &tp->pages[i];
	tp->pages[i] = (struct trace_page){ .page = page, .space = space,
	                                    .frame = TRACE_NO_FRAME, .used = 1 };
	tp->used++;
	return &tp->pages[i];
}

/* The entry of (space, page), or NULL: nothing created. */
static struct trace_page *page_find(struct trace_pages *tp, uint32_t space, uint64_t page)
{
	if (!tp->cap)
		return NULL;
	for (size_t i = slot_of(tp, space, page); tp->pages[i].used;
	     i = (i + 1) & (tp->cap - 1))
		if (tp->pages[i].space == space && tp->pages[i].page == page)
			return &tp->pages[i];
	return NULL;
}

static int resident(const struct trace_pages *tp, const struct trace_page *p)
{
	return p->frame != TRACE_NO_FRAME && tp->frames[p->frame].gen == p->gen;
}

/* p no longer holds a frame. */
static void page_drop(struct trace_pages *tp, struct trace_page *p)
{
	if (resident(tp, p)) {
		if (--tp->frames[p->frame].refs == 0)
			tp->in_use--;
		tp->resident--;
	}
	p->frame = TRACE_NO_FRAME;
}

/* p holds frame (a valid one) now. */
static void page_set_frame(struct trace_pages *tp, struct trace_page *p, uint32_t frame)
{
	if (resident(tp, p) && p->frame == frame)
		return;
	page_drop(tp, p);
	if (frame >= tp->nframes) {
		size_t n = tp->nframes ? tp->nframes : 64;
		while (n <= frame)
			n *= 2;
		tp->frames = trace_xrealloc(tp->frames, n * sizeof *tp->frames);
		memset(tp->frames + tp->nframes, 0, (n - tp->nframes) * sizeof *tp->frames);
		tp->nframes = n;
	}
	if (tp->frames[frame].refs++ == 0)
		tp->in_use++;
	tp->resident++;
	p->frame = frame;
	p->gen = tp->frames[frame].gen;
	if (tp->resident > tp->peak_resident)
		tp->peak_resident = tp->resident;
	if (tp->in_use > tp->peak_in_use)
		tp->peak_in_use = tp->in_use;
}

/* The frame was taken back: no page holds it any more. */
static void frame_evict(struct trace_pages *tp, uint32_t frame)
{
	if (frame >= tp->nframes || tp->frames[frame].refs == 0)
		return;
	tp->resident -= tp->frames[frame].refs;
	tp->in_use--;
	tp->frames[frame].refs = 0;
	tp->frames[frame].gen++;
}

/* Every page of space in [start, end) (all of them: end 0 and start 0
 * with all set) is no longer resident. */
static void space_drop(struct trace_pages *tp, uint32_t space, uint64_t start, uint64_t end,
                       int all)
{
	uint64_t ps = tp->page_size;

	if (!all && (end - start) / ps < tp->used) {
		for (uint64_t a = start; a < end; a += ps) {
			struct trace_page *p = page_find(tp, space, a);
			if (p)
				page_drop(tp, p);
			if (a + ps < a)
				break;
		}
		return;
	}
	for (size_t i = 0; i < tp->cap; i++) {
		struct trace_page *p = &tp->pages[i];
		if (p->used && p->space == space && (all || (p->page >= start && p->page < end)))
			page_drop(tp, p);
	}
}

void trace_pages_init(struct trace_pages *tp, const struct dpemu_trace_header *h)
{
	memset(tp, 0, sizeof *tp);
	tp->page_size = h->page_size;
	tp->pool_frames = h->frames;
}

void trace_pages_account(struct trace_pages *tp, const struct dpemu_trace_record *r)
{
	uint64_t mask = ~(tp->page_size - 1);
	int valid_frame = r->frame != TRACE_NO_FRAME && r->frame < tp->pool_frames;
	struct trace_page *p;

	if (trace_is_fault(r->event)) {
		p = page_get(tp, r->space, r->addr & mask);
		p->faults++;
		if (r->event != DPEMU_EVENT_UNRESOLVED && r->event != DPEMU_EVENT_ZERO_MAP &&
		    valid_frame)
			page_set_frame(tp, p, r->frame);
		return;
	}
	switch (r->event) {
	case DPEMU_EVENT_EVICT:
		if (valid_frame)
			frame_evict(tp, r->frame);
		p = page_find(tp, r->space, r->addr & mask);
		if (p)
			page_drop(tp, p);
		break;
	case DPEMU_EVENT_UNMAP: {
		uint64_t start = r->addr & mask, stop = r->addr + r->aux;
		if (stop < r->addr)
			stop = UINT64_MAX & mask;
		if (stop > start)
			space_drop(tp, r->space, start, stop, 0);
		break;
	}
	case DPEMU_EVENT_DESTROY:
		space_drop(tp, r->space, 0, 0, 1);
		break;
	}
}

void trace_pages_free(struct trace_pages *tp)
{
	free(tp->pages);
	free(tp->frames);
	tp->pages = NULL;
	tp->frames = NULL;
}
