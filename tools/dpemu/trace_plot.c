/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_plot.c - `dpemu trace plot FILE [-o OUT] [--what PANELS]`: a
 * trace as pictures, one SVG with up to three panels stacked, drawn by
 * trace_plot_svg.c from what two passes over the records gather here:
 *
 *   pass 1  totals (events by kind, faults, lost events), the time span
 *           (from the first record's time to the last end, a fault
 *           ending at time + latency), every fault's latency (kept and
 *           sorted, for exact percentiles, and counted in log bins), and
 *           each space's faults and lowest and highest faulted page;
 *   then    the time axis, shared by the panels: intervals of a round
 *           width (1, 2 or 5 x 10^k ns), the smallest that makes at most
 *           PLOT_BUCKETS of them; the pattern's spaces: the
 *           PLOT_MAX_BANDS with the most faults (ties to the lower id),
 *           shown in order of id;
 *   pass 2  per interval, faults by kind, and the resident set of
 *           trace_pages.c's model (the most pages resident in it, and at
 *           its end); the pattern: a dot per fault of the spaces shown,
 *           kept if there are at most PLOT_MAX_DOTS of them, else a bit
 *           per fault kind and pixel of the space's band, which
 *           trace_plot_svg.c coarsens until at most PLOT_MAX_DOTS cells
 *           remain, so the SVG stays small whatever the trace's size.
 *
 * A regular file is read twice; anything else (a pipe) is held in
 * memory after the first pass (48 bytes a record).  Memory: 8 bytes a
 * fault, a table entry per page, the bands' pixels (2 bytes each).
 * Calls trace_file.c, trace_pages.c, trace.c, trace_plot_svg.c and libc.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "trace_file.h"
#include "trace_pages.h"
#include "trace_plot.h"

static const char plot_usage[] =
	"Usage: dpemu trace plot FILE [-o OUT] [--what PANELS]\n"
	"\n"
	"Draw the trace FILE as one SVG picture, its panels stacked:\n"
	"\n"
	"  pattern   the reference pattern: page address against time, a dot per\n"
	"            fault coloured by its kind, a band per space (the 6 with the\n"
	"            most faults); a trace of more than 20000 faults is drawn as\n"
	"            the pixel cells (coarsened until at most 20000 remain) that\n"
	"            hold a fault of each kind\n"
	"  resident  the resident set (pages holding a frame) and the faults by\n"
	"            kind per interval (at most 100 intervals of a round width)\n"
	"  latency   the latency histogram of each fault kind on a log time axis\n"
	"            (10 bins a decade), with its exact p50, p99 and max\n"
	"\n"
	"  --what PANELS     the panels to draw: pattern, resident, latency, or\n"
	"                    all (the default); several with commas\n"
	"  -o, --output OUT  write to OUT instead of standard output\n"
	"  -h, --help        this text\n"
	"\n"
	"The title names FILE and gives its totals.  Exit status: 0 success, 1\n"
	"FILE could not be read (missing, not a trace, truncated) or OUT not\n"
	"written (OUT is then removed), 2 a usage error.\n";

static const char argv0[] = "dpemu trace plot";

/* --what's value as a set of panels, or 0 after printing why not. */
static int parse_what(const char *arg)
{
	static const struct { const char *name; int bits; } names[] = {
		{ "pattern", PLOT_PATTERN }, { "resident", PLOT_RESIDENT },
		{ "latency", PLOT_LATENCY }, { "all", PLOT_ALL },
	};
	int what = 0;

	for (const char *s = arg;;) {
		size_t len = strcspn(s, ",");
		size_t i;
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == len && !strncmp(s, names[i].name, len))
				break;
		if (i == sizeof names / sizeof names[0]) {
			fprintf(stderr, "%s: bad --what '%s': say pattern, resident, latency or "
			        "all (several with commas); try '%s --help'\n", argv0, arg, argv0);
			return 0;
		}
		what |= names[i].bits;
		if (!s[len])
			return what;
		s += len + 1;
	}
}

/* ---------------------------------------------------------------- pass 1 */

/* 10^(j/10), j = 0..9: the bins' lower edges within a decade */
static const double edge[PLOT_LAT_PER_DECADE] = {
	1.0, 1.2589254, 1.5848932, 1.9952623, 2.5118864,
	3.1622777, 3.9810717, 5.0118723, 6.3095734, 7.9432823,
};

double plot_lat_edge(int bin)
{
	double v = edge[bin % PLOT_LAT_PER_DECADE];

	for (int d = bin / PLOT_LAT_PER_DECADE; d > 0; d--)
		v *= 10;
	return v;
}

int plot_lat_bin(uint64_t ns)
{
	uint64_t p = 1;
	int d = 0, j = PLOT_LAT_PER_DECADE - 1;

	if (ns == 0)
		return 0;
	while (d < PLOT_LAT_DECADES - 1 && ns / 10 >= p) {
		p *= 10;
		d++;
	}
	if (ns >= p * 10)
		return PLOT_LAT_BINS - 1;
	while (j > 0 && (double)ns < (double)p * edge[j])
		j--;
	return d * PLOT_LAT_PER_DECADE + j;
}

/* The space of id (created if new), kept sorted by id. */
static struct plot_space *space_get(struct plot *p, uint32_t id)
{
	size_t lo = 0, hi = p->nspaces;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->spaces[mid].id == id)
			return &p->spaces[mid];
		if (p->spaces[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (p->nspaces == p->spaces_cap) {
		p->spaces_cap = p->spaces_cap ? 2 * p->spaces_cap : 16;
		p->spaces = trace_xrealloc(p->spaces, p->spaces_cap * sizeof *p->spaces);
	}
	memmove(&p->spaces[lo + 1], &p->spaces[lo], (p->nspaces - lo) * sizeof *p->spaces);
	p->nspaces++;
	p->spaces[lo] = (struct plot_space){ .id = id, .pmin = UINT64_MAX, .band = -1 };
	return &p->spaces[lo];
}

/* Pass 1's account of one record. */
static void pass1(struct plot *p, const struct dpemu_trace_record *r)
{
	uint64_t end = r->time_ns, page;

	p->records++;
	p->events[r->event <= DPEMU_EVENT_MAX ? r->event : 0]++;
	if (r->event == DPEMU_EVENT_LOST) {
		p->lost += r->aux;
		if (p->lost < r->aux)
			p->lost = UINT64_MAX;
	}
	if (trace_is_fault(r->event)) {
		struct plot_lat *l = &p->lat[r->event];
		struct plot_space *sp = space_get(p, r->space);
		end = r->time_ns + r->latency_ns < r->time_ns ? UINT64_MAX
		                                               : r->time_ns + r->latency_ns;
		p->faults++;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 256;
			l->v = trace_xrealloc(l->v, l->cap * sizeof *l->v);
		}
		l->v[l->n++] = r->latency_ns;
		l->bins[plot_lat_bin(r->latency_ns)]++;
		page = r->addr / p->hdr->page_size;
		sp->faults++;
		if (page < sp->pmin)
			sp->pmin = page;
		if (page > sp->pmax)
			sp->pmax = page;
	}
	if (p->records == 1 || r->time_ns < p->tmin)
		p->tmin = r->time_ns;
	if (end > p->tmax)
		p->tmax = end;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The time axis: nb intervals of a round width from t0, at most
 * PLOT_BUCKETS of them, covering [tmin, tmax]. */
static void time_axis(struct plot *p)
{
	uint64_t span = p->tmax > p->tmin ? p->tmax - p->tmin : 1;
	uint64_t w = 1;

	for (uint64_t dec = 1;; dec *= 10) {
		static const unsigned m[] = { 1, 2, 5 };
		int found = 0;
		for (int i = 0; i < 3 && !found; i++) {
			w = dec * m[i];
			found = span / w + 1 <= PLOT_BUCKETS;
		}
		if (found || dec > UINT64_MAX / 100)
			break;
	}
	p->width = w;
	p->t0 = p->tmin / w * w;
	p->nb = (int)((p->tmax - p->t0) / w + 1);
	if (p->nb > PLOT_BUCKETS + 1)
		p->nb = PLOT_BUCKETS + 1;
}

/* Whether space a should be shown before b: more faults, then lower id. */
static int more_faults(const struct plot_space *a, const struct plot_space *b)
{
	return a->faults != b->faults ? a->faults > b->faults : a->id < b->id;
}

/* The spaces of the pattern's bands: the PLOT_MAX_BANDS with the most
 * faults, in order of id. */
static void choose_bands(struct plot *p)
{
	for (size_t i = 0; i < p->nspaces; i++) {
		struct plot_space *s = &p->spaces[i];
		int better = 0;
		for (size_t j = 0; j < p->nspaces; j++)
			better += j != i && more_faults(&p->spaces[j], s);
		if (better < PLOT_MAX_BANDS) {
			s->band = p->nbands;
			p->bands[p->nbands++].sp = s;
			p->band_faults += s->faults;
		}
	}
}

/* ---------------------------------------------------------------- pass 2 */

/* The interval of time t (clamped to the axis). */
static int bucket_of(const struct plot *p, uint64_t t)
{
	uint64_t b = t < p->t0 ? 0 : (t - p->t0) / p->width;
	return b >= (uint64_t)p->nb ? p->nb - 1 : (int)b;
}

/* The pattern's dot of fault r, in space sp's band. */
static void pattern_add(struct plot *p, const struct plot_space *sp,
                        const struct dpemu_trace_record *r)
{
	const struct plot_band *b = &p->bands[sp->band];
	double span = (double)p->width * p->nb;
	double fx = ((double)r->time_ns - (double)p->t0) / span;
	double fy = ((double)(r->addr / p->hdr->page_size - sp->pmin) + 0.5) /
	            ((double)(sp->pmax - sp->pmin) + 1.0);
	double x, y;

	if (fx < 0)
		fx = 0;
	if (fx > 1)
		fx = 1;
	x = PLOT_LEFT + PLOT_W * fx;
	y = b->y + b->h * (1.0 - fy);
	if (p->exact) {
		if (p->ndots < p->band_faults)
			p->dots[p->ndots++] = (struct plot_dot){ (float)x, (float)y,
			                                          (uint8_t)r->event,
			                                          (uint8_t)sp->band };
	} else {
		int px = (int)(x - PLOT_LEFT), py = (int)(y - b->y);
		px = px < 0 ? 0 : px >= PLOT_W ? PLOT_W - 1 : px;
		py = py < 0 ? 0 : py >= b->h ? b->h - 1 : py;
		b->mask[(size_t)py * PLOT_W + (size_t)px] |= (uint16_t)(1u << r->event);
	}
}

/* Pass 2's account of one record. */
static void pass2(struct plot *p, struct trace_pages *tp, const struct dpemu_trace_record *r)
{
	int b = bucket_of(p, r->time_ns);

	trace_pages_account(tp, r);
	p->bseen[b] = 1;
	if (tp->resident > p->bmax[b])
		p->bmax[b] = tp->resident;
	p->bend[b] = tp->resident;
	if (!trace_is_fault(r->event))
		return;
	p->bfaults[b][r->event]++;
	if (p->what & PLOT_PATTERN) {
		size_t lo = 0, hi = p->nspaces;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (p->spaces[mid].id < r->space)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < p->nspaces && p->spaces[lo].id == r->space && p->spaces[lo].band >= 0)
			pattern_add(p, &p->spaces[lo], r);
	}
}

/* What pass 2 fills, allocated once the layout is known. */
static void pass2_alloc(struct plot *p)
{
	p->bfaults = trace_xcalloc((size_t)p->nb, sizeof *p->bfaults);
	p->bmax = trace_xcalloc((size_t)p->nb, sizeof *p->bmax);
	p->bend = trace_xcalloc((size_t)p->nb, sizeof *p->bend);
	p->bseen = trace_xcalloc((size_t)p->nb, 1);
	p->exact = p->band_faults <= PLOT_MAX_DOTS;
	if (p->exact)
		p->dots = trace_xcalloc((size_t)p->band_faults, sizeof *p->dots);
	else
		for (int i = 0; i < p->nbands; i++)
			p->bands[i].mask = trace_xcalloc((size_t)PLOT_W * (size_t)p->bands[i].h,
			                           sizeof *p->bands[i].mask);
}

static void plot_free(struct plot *p)
{
	for (int k = 0; k < PLOT_NFAULT; k++)
		free(p->lat[k].v);
	for (int i = 0; i < p->nbands; i++)
		free(p->bands[i].mask);
	free(p->spaces);
	free(p->dots);
	free(p->bfaults);
	free(p->bmax);
	free(p->bend);
	free(p->bseen);
}

/* ---------------------------------------------------------------- the command */

/* The records of a trace, read twice: from the file again, or from
 * memory where the file is not a regular one. */
struct source {
	struct trace_reader tr;
	const char *path;
	struct dpemu_trace_record *mem;
	size_t n, cap;
	int in_memory;
};

/* Pass 1 over src (opened); 0, or -1 (the reader said why). */
static int run_pass1(struct plot *p, struct source *src)
{
	struct dpemu_trace_record rec;
	int rc;

	src->in_memory = src->tr.size == 0 && src->tr.records == 0;
	while ((rc = trace_read(&src->tr, &rec)) > 0) {
		pass1(p, &rec);
		if (!src->in_memory)
			continue;
		if (src->n == src->cap) {
			src->cap = src->cap ? 2 * src->cap : 1024;
			src->mem = trace_xrealloc(src->mem, src->cap * sizeof *src->mem);
		}
		src->mem[src->n++] = rec;
	}
	trace_close(&src->tr);
	return rc < 0 ? -1 : 0;
}

/* Pass 2 over src; 0, or -1 (the reader said why). */
static int run_pass2(struct plot *p, struct source *src)
{
	struct dpemu_trace_record rec;
	struct trace_pages tp;
	int rc = 0;

	trace_pages_init(&tp, p->hdr);
	if (src->in_memory) {
		for (size_t i = 0; i < src->n; i++)
			pass2(p, &tp, &src->mem[i]);
	} else if (trace_open(&src->tr, argv0, src->path) != 0) {
		rc = -1;
	} else {
		while ((rc = trace_read(&src->tr, &rec)) > 0)
			pass2(p, &tp, &rec);
		trace_close(&src->tr);
	}
	p->peak_resident = tp.peak_resident;
	p->peak_in_use = tp.peak_in_use;
	trace_pages_free(&tp);
	return rc < 0 ? -1 : 0;
}

/* Read the trace into p: both passes.  0, or -1 (a message said why). */
static int gather(struct plot *p, struct source *src, struct dpemu_trace_header *hdr)
{
	if (trace_open(&src->tr, argv0, src->path) != 0)
		return -1;
	*hdr = src->tr.hdr;
	p->hdr = hdr;
	if (run_pass1(p, src) != 0)
		return -1;
	for (int k = 1; k < PLOT_NFAULT; k++)
		if (p->lat[k].n > 1) /* (v is NULL when empty) */
			qsort(p->lat[k].v, p->lat[k].n, sizeof *p->lat[k].v, cmp_u64);
	time_axis(p);
	if (p->what & PLOT_PATTERN)
		choose_bands(p);
	plot_layout(p);
	pass2_alloc(p);
	return run_pass2(p, src);
}

int trace_plot(int argc, char **argv)
{
	const char *what_arg = NULL;
	const struct trace_flag flags[] = { { "what", NULL, &what_arg }, { NULL, NULL, NULL } };
	struct dpemu_trace_header hdr;
	struct source src;
	struct trace_args a;
	struct plot p;
	int rc, status = 1;
	FILE *out;

	if ((rc = trace_parse_args(argv0, plot_usage, flags, argc, argv, &a)) >= 0)
		return rc;
	memset(&p, 0, sizeof p);
	p.what = what_arg ? parse_what(what_arg) : PLOT_ALL;
	if (!p.what)
		return 2;
	p.file = a.file;
	memset(&src, 0, sizeof src);
	src.path = a.file;
	if (gather(&p, &src, &hdr) == 0) {
		if (p.lost)
			fprintf(stderr, "%s: warning: %s: %" PRIu64 " events lost (the trace's "
			        "ring was full): the pictures miss them\n", argv0, a.file, p.lost);
		out = trace_out_open(argv0, a.out);
		if (out) {
			plot_svg(out, &p);
			status = trace_out_close(argv0, out, a.out, 0);
		}
	}
	free(src.mem);
	plot_free(&p);
	return status;
}
