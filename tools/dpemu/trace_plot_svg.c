/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_plot_svg.c - the picture of `dpemu trace plot` (trace_plot.c
 * gathers what it shows; trace_plot.h): one SVG, in the style of the
 * benchmark's (bench/svg.c: white, DejaVu Sans 11 px, a bold title, light
 * grid lines), with the title and totals, a legend of the fault kinds'
 * colours, then the panels chosen, stacked:
 *
 *   pattern   a band per space: page (from the lowest faulted) against
 *             time, a dot per fault, or the downsampled cells;
 *   resident  the resident set per interval (the most pages resident in
 *             it) over a dashed line at the pool's frames, then the
 *             faults per interval, stacked by kind;
 *   latency   a row per fault kind seen: its histogram on a log axis (10
 *             bins a decade, the row's own count scale), its exact p50
 *             (solid) and p99 (dashed) as lines, the figures at the right.
 *
 * Every panel of time shares one axis (trace_plot.c's intervals).  Dots
 * are short path segments with round caps, cells segments as long as
 * they are wide (squares), one path per kind and band, the kind with the most faults drawn first so
 * that rare kinds stay visible.  Calls trace_file.c (names) and stdio.
 */
#include <inttypes.h>
#include <string.h>

#include "trace_file.h"
#include "trace_plot.h"

/* The vertical geometry, in pixels. */
enum {
	TITLE_H = 96,      /* title, two lines of totals, the legend   */
	HEAD_H = 24,       /* a panel's heading                        */
	BAND_CAP = 18,     /* a band's caption above it                */
	AXIS_H = 36,       /* tick labels and the caption below a plot */
	GAP = 18,          /* between panels                           */
	RES_H = 110,       /* each of the resident panel's two plots   */
	LAT_ROW = 50,      /* a latency row: its figures, then its bars */
	LAT_TEXT = 17,     /* the figures' strip at the top of a row   */
	LAT_GAP = 6,
	EMPTY_H = 36,      /* a panel with nothing to show             */
};

static const char *const kind_colour[PLOT_NFAULT] = {
	"#999999",                           /* (unused)      */
	"#1f77b4", "#ff7f0e", "#2ca02c",     /* zero-fill, file-read, cow-copy */
	"#bcbd22", "#d62728", "#9467bd",     /* cow-reuse, swap-in, zero-map   */
	"#7f7f7f", "#e377c2", "#000000",     /* reference, tlb-miss, unresolved */
};

static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(c < 0x20 || c >= 0x7f ? '?' : c, f);
		}
	}
}

/* ns as a short time: "850 ns", "1.25 us", "12.5 ms", "3.00 s" (3
 * significant digits). */
static void fmt_ns(char *buf, size_t len, double ns)
{
	static const struct { double scale; const char *unit; } u[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "\xc2\xb5s" }, { 1, "ns" },
	};
	int i = 0;

	while (i < 3 && ns < u[i].scale)
		i++;
	double v = ns / u[i].scale;
	if (i == 3 || v >= 100)
		snprintf(buf, len, "%.0f %s", v, u[i].unit);
	else
		snprintf(buf, len, "%.*f %s", v >= 10 ? 1 : 2, v, u[i].unit);
}

/* The smallest step of 1, 2 or 5 x 10^k (k >= 0) that divides range into
 * at most n steps. */
static uint64_t nice_step(uint64_t range, uint64_t n)
{
	for (uint64_t dec = 1;; dec *= 10) {
		if (range / dec <= n)
			return dec;
		if (range / (2 * dec) <= n)
			return 2 * dec;
		if (range / (5 * dec) <= n || dec > UINT64_MAX / 100)
			return 5 * dec;
	}
}

static int kinds_seen(const struct plot *p)
{
	int n = 0;

	for (int k = 1; k < PLOT_NFAULT; k++)
		n += p->lat[k].n > 0;
	return n;
}

void plot_layout(struct plot *p)
{
	int y = TITLE_H;

	if (p->what & PLOT_PATTERN) {
		int n = p->nbands;
		int h = n <= 1 ? 280 : 330 / n - BAND_CAP;
		p->y_pattern = y;
		y += HEAD_H;
		if (h < 50)
			h = 50;
		for (int i = 0; i < n; i++) {
			y += BAND_CAP;
			p->bands[i].y = y;
			p->bands[i].h = h;
			y += h + (i + 1 < n ? 6 : 0);
		}
		y += n ? AXIS_H : EMPTY_H;
		y += GAP;
	}
	if (p->what & PLOT_RESIDENT) {
		p->y_resident = y;
		y += HEAD_H + BAND_CAP + RES_H + 8 + BAND_CAP + RES_H + AXIS_H + GAP;
	}
	if (p->what & PLOT_LATENCY) {
		int rows = kinds_seen(p);
		p->y_latency = y;
		y += HEAD_H + (rows ? rows * (LAT_ROW + LAT_GAP) + AXIS_H : EMPTY_H) + GAP;
	}
	p->height = y;
}

/* ---------------------------------------------------------------- the frame */

static void svg_title(FILE *f, const struct plot *p)
{
	static const struct { int ev; const char *what; } other[] = {
		{ DPEMU_EVENT_EVICT, "evictions" }, { DPEMU_EVENT_SWAP_OUT, "swap-outs" },
		{ DPEMU_EVENT_WRITEBACK, "write-backs" }, { DPEMU_EVENT_MAP, "maps" },
		{ DPEMU_EVENT_UNMAP, "unmaps" }, { DPEMU_EVENT_FORK, "forks" },
		{ DPEMU_EVENT_DESTROY, "destroys" },
	};
	const struct dpemu_trace_header *h = p->hdr;
	char dur[32];
	int x = 10;

	fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">"
	        "dpemu trace plot: ");
	xml_str(f, p->file);
	fputs("</text>\n", f);
	fmt_ns(dur, sizeof dur, (double)(p->tmax - p->tmin));
	fprintf(f, "<text x=\"10\" y=\"42\" fill=\"#333\">pid %" PRIu32 ", page size %" PRIu32
	        ", %" PRIu64 " frames, policy %s; %" PRIu64 " records over %s; peak %" PRIu64
	        " resident pages in %" PRIu64 " frames</text>\n", h->pid, h->page_size,
	        h->frames, dpemu_policy_name((enum dpemu_policy)h->policy), p->records, dur,
	        p->peak_resident, p->peak_in_use);
	fprintf(f, "<text x=\"10\" y=\"59\" fill=\"#333\">%" PRIu64 " faults", p->faults);
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		fprintf(f, ", %" PRIu64 " %s", p->events[other[i].ev], other[i].what);
	if (p->events[0])
		fprintf(f, ", %" PRIu64 " of unknown kinds", p->events[0]);
	fputs("</text>\n", f);
	if (p->lost)
		fprintf(f, "<text x=\"940\" y=\"59\" text-anchor=\"end\" fill=\"#d62728\" "
		        "font-weight=\"bold\">%" PRIu64 " events lost: the pictures miss them"
		        "</text>\n", p->lost);
	/* the legend: the kinds seen, in the colours of every panel */
	for (int k = 1; k < PLOT_NFAULT; k++) {
		char label[64];
		if (!p->lat[k].n)
			continue;
		snprintf(label, sizeof label, "%s %zu", trace_event_name((unsigned)k), p->lat[k].n);
		fprintf(f, "<circle cx=\"%d\" cy=\"80\" r=\"4\" fill=\"%s\"/>"
		        "<text x=\"%d\" y=\"84\">%s</text>\n", x + 4, kind_colour[k], x + 12, label);
		x += 24 + 7 * (int)strlen(label);
	}
	if (!p->faults)
		fputs("<text x=\"10\" y=\"84\" fill=\"#888\">no faults</text>\n", f);
}

static void svg_heading(FILE *f, int y, const char *text)
{
	fprintf(f, "<text x=\"10\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
	        y + 15, text);
}

static void svg_empty(FILE *f, int y, const char *why)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\" font-style=\"italic\">%s</text>\n",
	        PLOT_LEFT, y + 20, why);
}

/* A plot's frame: its box from y to y + h. */
static void svg_box(FILE *f, int y, int h)
{
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
	        "stroke=\"#666\"/>\n", PLOT_LEFT, y, PLOT_W, h);
}

/* The x of time t on the shared time axis. */
static double time_x(const struct plot *p, double t)
{
	return PLOT_LEFT + PLOT_W * (t - (double)p->t0) / ((double)p->width * p->nb);
}

/* The time axis' grid over [ytop, ybot]; with labels, its tick labels
 * and caption below ybot. */
static void svg_time_grid(FILE *f, const struct plot *p, int ytop, int ybot, int labels)
{
	uint64_t span = p->width * (uint64_t)p->nb, t1 = p->t0 + span;
	uint64_t step = nice_step(span, 10), unit = 1;
	const char *uname = "ns";

	if (step >= 1000000000u)
		unit = 1000000000u, uname = "s";
	else if (step >= 1000000u)
		unit = 1000000u, uname = "ms";
	else if (step >= 1000u)
		unit = 1000u, uname = "\xc2\xb5s";
	for (uint64_t t = (p->t0 + step - 1) / step * step; t <= t1; t += step) {
		double x = time_x(p, (double)t);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e3e3e3\"/>\n",
		        x, ytop, x, ybot);
		if (labels)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%" PRIu64
			        "</text>\n", x, ybot + 14, t / unit);
		if (t > UINT64_MAX - step)
			break;
	}
	if (labels)
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">time "
		        "since the trace started (%s)</text>\n", PLOT_LEFT + PLOT_W / 2, ybot + 29,
		        uname);
}

/* A vertical axis of counts 0..max over the plot from y to y + h: ticks,
 * light grid lines, labels at the left.  Returns max rounded up to a
 * tick, the scale's top. */
static uint64_t svg_count_axis(FILE *f, int y, int h, uint64_t max)
{
	uint64_t step = nice_step(max ? max : 1, (uint64_t)(h / 22 > 1 ? h / 22 : 1));
	uint64_t top = (max + step - 1) / step * step;

	if (!top)
		top = step;
	for (uint64_t v = 0; v <= top; v += step) {
		double yy = y + h - (double)h * (double)v / (double)top;
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64 "</text>\n",
		        PLOT_LEFT, yy, PLOT_LEFT + PLOT_W, yy, PLOT_LEFT - 6, yy + 4, v);
	}
	return top;
}

/* ---------------------------------------------------------------- pattern */

/* The kinds by faults, most first (ties in kind order). */
static void kinds_by_count(const struct plot *p, int *order)
{
	for (int k = 1; k < PLOT_NFAULT; k++)
		order[k - 1] = k;
	for (int i = 1; i < PLOT_NFAULT - 1; i++)
		for (int j = i; j > 0 && p->lat[order[j]].n > p->lat[order[j - 1]].n; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

/* The kinds seen in band b's cell (cx, cy) of c x c pixels. */
static unsigned cell_kinds(const struct plot_band *b, int c, int cx, int cy)
{
	unsigned m = 0;

	for (int y = cy * c; y < cy * c + c && y < b->h; y++)
		for (int x = cx * c; x < cx * c + c && x < PLOT_W; x++)
			m |= b->mask[(size_t)y * PLOT_W + (size_t)x];
	return m;
}

/* The cell size that leaves at most PLOT_MAX_DOTS (cell, kind) pairs,
 * and in *cells how many it leaves. */
static int cell_size(const struct plot *p, uint64_t *cells)
{
	int c = 1;

	for (;; c += c < 4 ? 1 : c / 2) {
		uint64_t n = 0;
		for (int i = 0; i < p->nbands; i++) {
			const struct plot_band *b = &p->bands[i];
			for (int cy = 0; cy * c < b->h; cy++)
				for (int cx = 0; cx * c < PLOT_W; cx++)
					n += (uint64_t)__builtin_popcount(cell_kinds(b, c, cx, cy));
		}
		*cells = n;
		if (n <= PLOT_MAX_DOTS || c >= 64)
			return c;
	}
}

/* Band b's dots of kind k: one path, or nothing. */
static void svg_band_dots(FILE *f, const struct plot *p, int band, int k, int c)
{
	const struct plot_band *b = &p->bands[band];
	int any = 0;

	if (p->exact) {
		/* the fewer the dots, the bigger */
		int width = p->ndots <= 500 ? 6 : p->ndots <= 5000 ? 4 : 3;
		for (size_t i = 0; i < p->ndots; i++) {
			const struct plot_dot *d = &p->dots[i];
			if (d->kind != k || d->band != band)
				continue;
			if (!any++)
				fprintf(f, "<path class=\"dots %s\" stroke=\"%s\" stroke-width=\"%d\" "
				        "stroke-linecap=\"round\" fill=\"none\" d=\"",
				        trace_event_name((unsigned)k), kind_colour[k], width);
			fprintf(f, "M%.1f %.1fh.1", d->x - 0.05, d->y);
		}
	} else {
		for (int cy = 0; cy * c < b->h; cy++)
			for (int cx = 0; cx * c < PLOT_W; cx++) {
				if (!(cell_kinds(b, c, cx, cy) & (1u << k)))
					continue;
				if (!any++)
					fprintf(f, "<path class=\"cells %s\" stroke=\"%s\" stroke-width="
					        "\"%d\" fill=\"none\" d=\"", trace_event_name((unsigned)k),
					        kind_colour[k], c + 1);
				fprintf(f, "M%.1f %.1fh%d", PLOT_LEFT + cx * c - 0.5,
				        b->y + cy * c + c / 2.0, c + 1);
			}
	}
	if (any)
		fputs("\"/>\n", f);
}

/* Band b's caption and its axis of pages. */
static void svg_band_axis(FILE *f, const struct plot *p, const struct plot_band *b)
{
	const struct plot_space *sp = b->sp;
	uint64_t pages = sp->pmax - sp->pmin + 1;
	uint64_t step = nice_step(pages - 1 ? pages - 1 : 1, (uint64_t)(b->h / 24 > 1 ? b->h / 24 : 1));

	fprintf(f, "<text x=\"%d\" y=\"%d\">space %" PRIu32 ": %" PRIu64 " fault%s on pages "
	        "0x%" PRIx64 " + 0 to %" PRIu64 "</text>\n", PLOT_LEFT, b->y - 5, sp->id,
	        sp->faults, sp->faults == 1 ? "" : "s", sp->pmin * p->hdr->page_size, pages - 1);
	for (uint64_t v = 0; v < pages; v += step) {
		double y = b->y + b->h - (double)b->h * ((double)v + 0.5) / (double)pages;
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eeeeee\"/>\n"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64 "</text>\n",
		        PLOT_LEFT, y, PLOT_LEFT + PLOT_W, y, PLOT_LEFT - 6, y + 4, v);
		if (v > UINT64_MAX - step)
			break;
	}
}

static void svg_pattern(FILE *f, const struct plot *p)
{
	int order[PLOT_NFAULT - 1], c = 1, ybot;
	uint64_t cells = p->ndots, hidden = p->faults - p->band_faults;
	char head[256];

	if (!p->exact)
		c = cell_size(p, &cells);
	if (p->exact)
		snprintf(head, sizeof head, "Reference pattern: page against time, a dot per "
		         "fault (%zu)", p->ndots);
	else
		snprintf(head, sizeof head, "Reference pattern: page against time, %" PRIu64
		         " faults drawn as %" PRIu64 " cells of %dx%d pixels (a cell per kind "
		         "seen there)", p->band_faults, cells, c, c);
	svg_heading(f, p->y_pattern, head);
	if (!p->nbands) {
		svg_empty(f, p->y_pattern + HEAD_H, "no faults");
		return;
	}
	if (hidden)
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#333\">%zu more "
		        "spaces, %" PRIu64 " faults, not shown</text>\n", PLOT_LEFT + PLOT_W,
		        p->y_pattern + 15, p->nspaces - (size_t)p->nbands, hidden);
	kinds_by_count(p, order);
	for (int i = 0; i < p->nbands; i++) {
		const struct plot_band *b = &p->bands[i];
		svg_time_grid(f, p, b->y, b->y + b->h, 0);
		svg_band_axis(f, p, b);
		for (int j = 0; j < PLOT_NFAULT - 1; j++)
			svg_band_dots(f, p, i, order[j], c);
		svg_box(f, b->y, b->h);
	}
	ybot = p->bands[p->nbands - 1].y + p->bands[p->nbands - 1].h;
	svg_time_grid(f, p, ybot, ybot, 1);
	fprintf(f, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" "
	        "text-anchor=\"middle\" fill=\"#333\">page (from the lowest faulted)</text>\n",
	        (p->bands[0].y + ybot) / 2, (p->bands[0].y + ybot) / 2);
}

/* ---------------------------------------------------------------- resident */

/* The resident set: per interval the most pages resident in it (an
 * interval without records keeps the last value), a step line over a
 * light area, and the pool's frames as a dashed line. */
static void svg_resident_set(FILE *f, const struct plot *p, int y)
{
	uint64_t max = p->hdr->frames, carry = 0, top;

	for (int b = 0; b < p->nb; b++)
		if (p->bmax[b] > max)
			max = p->bmax[b];
	fprintf(f, "<text x=\"%d\" y=\"%d\">resident pages (the most in each interval; dashed: "
	        "the pool's %" PRIu64 " frames)</text>\n", PLOT_LEFT, y - 5, p->hdr->frames);
	svg_time_grid(f, p, y, y + RES_H, 0);
	top = svg_count_axis(f, y, RES_H, max);
	fprintf(f, "<path fill=\"#1f77b4\" fill-opacity=\"0.15\" stroke=\"#1f77b4\" "
	        "stroke-width=\"1.5\" d=\"M%d %d", PLOT_LEFT, y + RES_H);
	for (int b = 0; b < p->nb; b++) {
		uint64_t v = carry;
		if (p->bseen[b]) {
			v = p->bmax[b] > carry ? p->bmax[b] : carry;
			carry = p->bend[b];
		}
		fprintf(f, "V%.1fH%.1f", y + RES_H - (double)RES_H * (double)v / (double)top,
		        PLOT_LEFT + (double)PLOT_W * (b + 1) / p->nb);
	}
	fprintf(f, "V%dZ\"/>\n", y + RES_H);
	double fy = y + RES_H - (double)RES_H * (double)p->hdr->frames / (double)top;
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#000\" "
	        "stroke-dasharray=\"4,3\" opacity=\"0.6\"/>\n", PLOT_LEFT, fy,
	        PLOT_LEFT + PLOT_W, fy);
	svg_box(f, y, RES_H);
}

/* The faults per interval, stacked by kind (in kind order, from the
 * bottom). */
static void svg_fault_bars(FILE *f, const struct plot *p, int y)
{
	uint64_t max = 0, top;
	double bw = (double)PLOT_W / p->nb;
	char w[32];

	for (int b = 0; b < p->nb; b++) {
		uint64_t n = 0;
		for (int k = 1; k < PLOT_NFAULT; k++)
			n += p->bfaults[b][k];
		if (n > max)
			max = n;
	}
	fmt_ns(w, sizeof w, (double)p->width);
	fprintf(f, "<text x=\"%d\" y=\"%d\">faults per interval of %s, by kind</text>\n",
	        PLOT_LEFT, y - 5, w);
	svg_time_grid(f, p, y, y + RES_H, 0);
	top = svg_count_axis(f, y, RES_H, max);
	for (int k = 1; k < PLOT_NFAULT; k++) {
		if (!p->lat[k].n)
			continue;
		fprintf(f, "<g class=\"bars %s\" fill=\"%s\">\n", trace_event_name((unsigned)k),
		        kind_colour[k]);
		for (int b = 0; b < p->nb; b++) {
			uint64_t below = 0;
			if (!p->bfaults[b][k])
				continue;
			for (int j = 1; j < k; j++)
				below += p->bfaults[b][j];
			double y1 = y + RES_H - (double)RES_H * (double)(below + p->bfaults[b][k]) /
			                        (double)top;
			double hh = (double)RES_H * (double)p->bfaults[b][k] / (double)top;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
			        PLOT_LEFT + bw * b, y1, bw > 3 ? bw - 1 : bw, hh);
		}
		fputs("</g>\n", f);
	}
	svg_box(f, y, RES_H);
}

static void svg_resident(FILE *f, const struct plot *p)
{
	int y = p->y_resident + HEAD_H + BAND_CAP;

	svg_heading(f, p->y_resident, "Resident set and faults over time");
	svg_resident_set(f, p, y);
	y += RES_H + 8 + BAND_CAP;
	svg_fault_bars(f, p, y);
	svg_time_grid(f, p, y + RES_H, y + RES_H, 1);
}

/* ---------------------------------------------------------------- latency */

/* The x of latency ns on the log axis of decades [dlo, dhi]. */
static double lat_x(double ns, int dlo, int dhi)
{
	int bin = plot_lat_bin((uint64_t)ns);
	double lo = plot_lat_edge(bin), hi = plot_lat_edge(bin + 1), frac;

	if (bin + 1 >= PLOT_LAT_BINS)
		hi = lo * 1.2589254;
	frac = ns <= lo ? 0 : ns >= hi ? 1 : (ns - lo) / (hi - lo);
	return PLOT_LEFT + PLOT_W * (bin + frac - dlo * PLOT_LAT_PER_DECADE) /
	                   ((double)(dhi - dlo) * PLOT_LAT_PER_DECADE);
}

/* The decades [*dlo, *dhi] of the latency axis: every bin seen, at least
 * two decades. */
static void lat_decades(const struct plot *p, int *dlo, int *dhi)
{
	int lo = PLOT_LAT_BINS, hi = 0;

	for (int k = 1; k < PLOT_NFAULT; k++)
		for (int b = 0; b < PLOT_LAT_BINS; b++)
			if (p->lat[k].bins[b]) {
				lo = b < lo ? b : lo;
				hi = b > hi ? b : hi;
			}
	*dlo = lo / PLOT_LAT_PER_DECADE;
	*dhi = hi / PLOT_LAT_PER_DECADE + 1;
	if (*dhi - *dlo < 2) {
		if (*dhi < PLOT_LAT_DECADES)
			(*dhi)++;
		else
			(*dlo)--;
	}
}

/* The nearest-rank percentile pct of the sorted l. */
static uint64_t lat_pct(const struct plot_lat *l, unsigned pct)
{
	uint64_t r = (uint64_t)l->n / 100 * pct + ((uint64_t)l->n % 100 * pct + 99) / 100;
	return l->v[(r ? r : 1) - 1];
}

/* Kind k's row at y: its name and count, its bars, p50 and p99. */
static void svg_lat_row(FILE *f, const struct plot *p, int k, int y, int dlo, int dhi)
{
	const struct plot_lat *l = &p->lat[k];
	uint64_t max = 0, p50 = lat_pct(l, 50), p99 = lat_pct(l, 99);
	double bw = (double)PLOT_W / ((dhi - dlo) * PLOT_LAT_PER_DECADE);
	char s50[32], s99[32], smax[32];

	for (int b = dlo * PLOT_LAT_PER_DECADE; b < dhi * PLOT_LAT_PER_DECADE; b++)
		max = l->bins[b] > max ? l->bins[b] : max;
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"%s\" "
	        "font-weight=\"bold\">%s</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
	        "fill=\"#333\">%zu fault%s</text>\n", PLOT_LEFT - 6, y + LAT_ROW / 2 - 2,
	        kind_colour[k], trace_event_name((unsigned)k), PLOT_LEFT - 6, y + LAT_ROW / 2 + 12,
	        l->n, l->n == 1 ? "" : "s");
	svg_box(f, y, LAT_ROW);
	fprintf(f, "<g class=\"hist %s\" fill=\"%s\">\n", trace_event_name((unsigned)k),
	        kind_colour[k]);
	for (int b = dlo * PLOT_LAT_PER_DECADE; b < dhi * PLOT_LAT_PER_DECADE; b++) {
		/* (at least 2 pixels, so that a bin of a few stays visible) */
		double h = (double)(LAT_ROW - LAT_TEXT - 1) * (double)l->bins[b] / (double)max;
		if (!l->bins[b])
			continue;
		if (h < 2)
			h = 2;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
		        PLOT_LEFT + bw * (b - dlo * PLOT_LAT_PER_DECADE), y + LAT_ROW - h, bw - 1, h);
	}
	fputs("</g>\n", f);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>\n"
	        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\" "
	        "stroke-dasharray=\"3,2\"/>\n", lat_x((double)p50, dlo, dhi), y + LAT_TEXT,
	        lat_x((double)p50, dlo, dhi), y + LAT_ROW, lat_x((double)p99, dlo, dhi),
	        y + LAT_TEXT, lat_x((double)p99, dlo, dhi), y + LAT_ROW);
	fmt_ns(s50, sizeof s50, (double)p50);
	fmt_ns(s99, sizeof s99, (double)p99);
	fmt_ns(smax, sizeof smax, (double)l->v[l->n - 1]);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#333\">p50 %s, p99 %s, "
	        "max %s; tallest bar %" PRIu64 "</text>\n", PLOT_LEFT + PLOT_W - 4, y + 13, s50,
	        s99, smax, max);
}

static void svg_latency(FILE *f, const struct plot *p)
{
	static const char *const unit[] = { "ns", "\xc2\xb5s", "ms", "s" };
	int y = p->y_latency + HEAD_H, dlo, dhi;

	svg_heading(f, p->y_latency, "Fault latency per kind: histograms on a log axis "
	            "(solid line p50, dashed p99)");
	if (!p->faults) {
		svg_empty(f, y, "no faults");
		return;
	}
	lat_decades(p, &dlo, &dhi);
	int ybot = y + kinds_seen(p) * (LAT_ROW + LAT_GAP) - LAT_GAP;
	for (int d = dlo; d <= dhi; d++) {
		double x = PLOT_LEFT + (double)PLOT_W * (d - dlo) / (dhi - dlo);
		static const int pow10[] = { 1, 10, 100, 1000 };
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#bbb\"/>\n"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d %s</text>\n",
		        x, y, x, ybot, x, ybot + 14, d < 9 ? pow10[d % 3] : pow10[d - 9],
		        unit[d < 9 ? d / 3 : 3]);
		for (int m = 2; d < dhi && m <= 5; m += 3) {
			double xm = lat_x(plot_lat_edge(d * PLOT_LAT_PER_DECADE) * m, dlo, dhi);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			        "stroke=\"#e6e6e6\"/>\n", xm, y, xm, ybot);
		}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">fault "
	        "latency, trap to retry (log scale, 10 bins a decade)</text>\n",
	        PLOT_LEFT + PLOT_W / 2, ybot + 29);
	for (int k = 1; k < PLOT_NFAULT; k++) {
		if (!p->lat[k].n)
			continue;
		svg_lat_row(f, p, k, y, dlo, dhi);
		y += LAT_ROW + LAT_GAP;
	}
}

void plot_svg(FILE *f, const struct plot *p)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	        "font-size=\"11\">\n", PLOT_WIDTH, p->height, PLOT_WIDTH, p->height);
	fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", f);
	svg_title(f, p);
	if (p->what & PLOT_PATTERN)
		svg_pattern(f, p);
	if (p->what & PLOT_RESIDENT)
		svg_resident(f, p);
	if (p->what & PLOT_LATENCY)
		svg_latency(f, p);
	fputs("</svg>\n", f);
}
