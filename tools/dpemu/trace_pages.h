/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_pages.h - the pages a trace's records name, and which of them are
 * resident: the model of the resident set that `dpemu trace report` (its
 * peak, its top pages) and `dpemu trace plot` (the resident set over time)
 * share.  trace_pages.c calls libc only.
 *
 * The model, record by record: a fault that names the frame the page has
 * afterwards (every resolved kind but zero-map) makes the page resident
 * in that frame; an evict of a frame makes every page in it non-resident
 * (and the page it names); an unmap its range of its space (aux: bytes),
 * a destroy every page of its space.  Pages a child of dpemu_space_fork
 * shares with its parent count for the child from its first fault on
 * them, pages resident before the trace started from their next fault:
 * the figures can be low, never high (events lost aside).
 */
#ifndef DPEMU_CLI_TRACE_PAGES_H
#define DPEMU_CLI_TRACE_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include <dpemu.h>

/* One page seen in the trace: its faults, and the frame it holds. */
struct trace_page {
	uint64_t page;     /* page-aligned address                         */
	uint64_t faults;
	uint32_t space;
	uint32_t frame;    /* TRACE_NO_FRAME: not resident                 */
	uint32_t gen;      /* the frame's gen when the page got it         */
	uint32_t used;     /* the slot holds a page                        */
};

/* The pages seen so far, and the resident set. */
struct trace_pages {
	uint64_t page_size;         /* the header's                         */
	uint64_t pool_frames;       /* the header's frames                  */
	struct trace_page *pages;   /* open addressing; cap slots, a power
	                               of two (0 before the first page)     */
	size_t cap, used;
	struct trace_frame *frames; /* by frame number, nframes of them     */
	size_t nframes;
	uint64_t resident;          /* pages resident now                   */
	uint64_t in_use;            /* distinct frames they hold            */
	uint64_t peak_resident, peak_in_use;
};

/* An empty model for the trace of header h. */
void trace_pages_init(struct trace_pages *tp, const struct dpemu_trace_header *h);

/* Account record r, in the file's order: a fault counts for its page
 * (created if new), and the resident set follows the model above.  Out
 * of memory, prints "dpemu trace: out of memory" and exits 1. */
void trace_pages_account(struct trace_pages *tp, const struct dpemu_trace_record *r);

/* Free what tp holds. */
void trace_pages_free(struct trace_pages *tp);

#endif
