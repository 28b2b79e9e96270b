/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_report.c - `dpemu trace report FILE [--json] [-o OUT]`: a summary
 * of a trace, computed in one pass over its records (in the file's order):
 *
 *   - the header: pid, page size, frames, policy, start, duration (from
 *     the start to the end of the last event: its time plus its latency);
 *   - events by kind, unresolved faults by outcome (enum dpemu_fault_kind);
 *   - fault latency per kind and over all faults: count, min, p50, p90,
 *     p99, max, mean, exact: every latency is kept (8 bytes a fault) and
 *     sorted; a percentile p is the nearest rank, the value at rank
 *     ceil(p/100 x count) of the sorted latencies; the mean is truncated;
 *   - the 10 pages (page-aligned address and space) with the most faults,
 *     ties to the lower space, then the lower address;
 *   - evictions, swap-outs, write-backs, swap-ins;
 *   - the peak resident set, from the table of every page seen that
 *     trace_pages.c keeps (trace_pages.h gives its model): peak resident
 *     pages is the most pages resident at once, peak frames in use the
 *     most distinct frames they held; both can be low, never high
 *     (events lost aside);
 *   - events lost (the sum of the DPEMU_EVENT_LOST records' aux), with a
 *     warning on stderr when there are any.
 *
 * Memory: 8 bytes per fault and one table entry per page seen; the
 * records themselves are streamed.  Calls trace_file.c, trace_pages.c,
 * trace.c, the library's dpemu_policy_name, and libc.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace.h"
#include "trace_file.h"
#include "trace_pages.h"

#define TOP_PAGES 10
#define NFAULT (DPEMU_EVENT_UNRESOLVED + 1)   /* latency arrays, by event */
#define NOUTCOME (DPEMU_FAULT_HOST + 1)       /* [0]: any other outcome   */

static const char report_usage[] =
	"Usage: dpemu trace report FILE [--json] [-o OUT]\n"
	"\n"
	"Summarize the trace FILE: its header (pid, page size, frames, policy,\n"
	"start, duration); faults by kind, unresolved ones by outcome; exact\n"
	"latency percentiles per fault kind (count, min, p50, p90, p99, max,\n"
	"mean, in ns); the 10 pages with the most faults; evictions, swap-outs,\n"
	"write-backs and swap-ins; the peak resident set (pages, and the frames\n"
	"they held); the other events; events lost (a warning on stderr if any).\n"
	"\n"
	"  --json          one JSON object instead of text\n"
	"  -o, --output OUT  write to OUT instead of standard output\n"
	"  -h, --help      this text\n"
	"\n"
	"Exit status: 0 success, 1 FILE could not be read (missing, not a trace,\n"
	"truncated) or OUT not written, 2 a usage error.\n";

struct lat {
	uint64_t *v;
	size_t n, cap;
	unsigned __int128 sum;
};

struct report {
	const struct dpemu_trace_header *hdr;
	uint64_t records;
	uint64_t end_ns;
	uint64_t events[DPEMU_EVENT_MAX + 1];  /* [0]: unknown events        */
	uint64_t outcomes[NOUTCOME];
	uint64_t lost;
	struct lat lat[NFAULT];
	struct trace_pages tp;                /* pages, the resident set   */
};

/* The statistics of one latency series (sorted). */
struct lat_stats {
	uint64_t count, min, p50, p90, p99, max, mean;
};

static void lat_add(struct lat *l, uint64_t v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = trace_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = v;
	l->sum += v;
}

/* Account one record. */
static void account(struct report *rp, const struct dpemu_trace_record *r)
{
	uint64_t end = r->time_ns + r->latency_ns;

	rp->records++;
	if (end < r->time_ns)
		end = UINT64_MAX;
	if (end > rp->end_ns)
		rp->end_ns = end;
	rp->events[r->event <= DPEMU_EVENT_MAX ? r->event : 0]++;
	trace_pages_account(&rp->tp, r);
	if (trace_is_fault(r->event)) {
		lat_add(&rp->lat[r->event], r->latency_ns);
		if (r->event == DPEMU_EVENT_UNRESOLVED)
			rp->outcomes[r->outcome < NOUTCOME ? r->outcome : 0]++;
	} else if (r->event == DPEMU_EVENT_LOST) {
		rp->lost += r->aux;
		if (rp->lost < r->aux)
			rp->lost = UINT64_MAX;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The 1-based nearest rank of percentile pct of n values. */
static uint64_t rank(uint64_t n, unsigned pct)
{
	uint64_t r = n / 100 * pct + (n % 100 * pct + 99) / 100;
	return r ? r : 1;
}

/* Sort l and take its statistics. */
static struct lat_stats lat_stats(struct lat *l)
{
	struct lat_stats s = { .count = l->n };

	if (!l->n)
		return s;
	qsort(l->v, l->n, sizeof *l->v, cmp_u64);
	s.min = l->v[0];
	s.max = l->v[l->n - 1];
	s.p50 = l->v[rank(l->n, 50) - 1];
	s.p90 = l->v[rank(l->n, 90) - 1];
	s.p99 = l->v[rank(l->n, 99) - 1];
	s.mean = (uint64_t)(l->sum / l->n);
	return s;
}

/* The statistics over every fault, from the sorted series of each kind:
 * one merging walk up to the 99th percentile's rank. */
static struct lat_stats all_stats(const struct report *rp)
{
	struct lat_stats s = { 0 };
	size_t at[NFAULT] = { 0 };
	unsigned __int128 sum = 0;
	uint64_t r50, r90, r99;
	int first = 1;

	for (int k = 1; k < NFAULT; k++) {
		const struct lat *l = &rp->lat[k];
		if (!l->n)
			continue;
		s.count += l->n;
		sum += l->sum;
		if (first || l->v[0] < s.min)
			s.min = l->v[0];
		if (first || l->v[l->n - 1] > s.max)
			s.max = l->v[l->n - 1];
		first = 0;
	}
	if (!s.count)
		return s;
	s.mean = (uint64_t)(sum / s.count);
	r50 = rank(s.count, 50);
	r90 = rank(s.count, 90);
	r99 = rank(s.count, 99);
	for (uint64_t i = 1; i <= r99; i++) {
		int best = -1;
		uint64_t v;
		for (int k = 1; k < NFAULT; k++)
			if (at[k] < rp->lat[k].n &&
			    (best < 0 || rp->lat[k].v[at[k]] < rp->lat[best].v[at[best]]))
				best = k;
		v = rp->lat[best].v[at[best]++];
		if (i == r50)
			s.p50 = v;
		if (i == r90)
			s.p90 = v;
		if (i == r99)
			s.p99 = v;
	}
	return s;
}

/* Whether page a ranks before page b: more faults, then lower space, then
 * lower address. */
static int before(const struct trace_page *a, const struct trace_page *b)
{
	if (a->faults != b->faults)
		return a->faults > b->faults;
	if (a->space != b->space)
		return a->space < b->space;
	return a->page < b->page;
}

/* The pages with the most faults, best first; returns how many (at most
 * TOP_PAGES). */
static size_t top_pages(const struct report *rp, const struct trace_page **top)
{
	size_t n = 0;

	for (size_t i = 0; i < rp->tp.cap; i++) {
		const struct trace_page *p = &rp->tp.pages[i];
		size_t j;
		if (!p->used || !p->faults)
			continue;
		if (n == TOP_PAGES && !before(p, top[n - 1]))
			continue;
		j = n < TOP_PAGES ? n++ : n - 1;
		for (; j > 0 && before(p, top[j - 1]); j--)
			top[j] = top[j - 1];
		top[j] = p;
	}
	return n;
}

/* "2026-12-03 13:17:26.123456789 UTC" */
static void format_time(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&t, &tm))
		n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	if (!n)
		n = (size_t)snprintf(buf, len, "%" PRIu64, ns / 1000000000u);
	snprintf(buf + n, len - n, ".%09" PRIu64 " UTC", ns % 1000000000u);
}

static const char *policy_name(uint32_t policy)
{
	return dpemu_policy_name((enum dpemu_policy)policy);
}

static void print_text(FILE *f, const char *file, struct report *rp,
                       const struct lat_stats *ls, const struct lat_stats *all,
                       const struct trace_page **top, size_t ntop)
{
	const struct dpemu_trace_header *h = rp->hdr;
	uint64_t faults = 0;
	char when[64];

	for (int k = 1; k < NFAULT; k++)
		faults += rp->events[k];
	format_time(when, sizeof when, h->start_realtime_ns);
	fprintf(f, "trace %s: version %" PRIu32 ", %" PRIu64 " records\n", file, h->version,
	        rp->records);
	fprintf(f, "  pid %" PRIu32 ", page size %" PRIu32 ", %" PRIu64 " frames, policy %s\n",
	        h->pid, h->page_size, h->frames, policy_name(h->policy));
	fprintf(f, "  started %s, duration %" PRIu64 ".%09" PRIu64 " s\n", when,
	        rp->end_ns / 1000000000u, rp->end_ns % 1000000000u);

	fprintf(f, "\nfaults%21s\n", "count");
	for (int k = 1; k < NFAULT; k++) {
		fprintf(f, "  %-16s %8" PRIu64 "\n", trace_event_name(k), rp->events[k]);
		if (k != DPEMU_EVENT_UNRESOLVED)
			continue;
		for (int o = 1; o < NOUTCOME; o++)
			fprintf(f, "    %-14s %8" PRIu64 "\n", trace_outcome_name(o),
			        rp->outcomes[o]);
		if (rp->outcomes[0])
			fprintf(f, "    %-14s %8" PRIu64 "\n", "unknown", rp->outcomes[0]);
	}
	fprintf(f, "  %-16s %8" PRIu64 "\n", "all", faults);

	fprintf(f, "\nfault latency (ns)%9s %10s %10s %10s %10s %10s %10s\n", "count", "min",
	        "p50", "p90", "p99", "max", "mean");
	for (int k = 1; k <= NFAULT; k++) {
		const struct lat_stats *s = k < NFAULT ? &ls[k] : all;
		if (!s->count)
			continue;
		fprintf(f, "  %-16s %8" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		        " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
		        k < NFAULT ? trace_event_name(k) : "all", s->count, s->min, s->p50,
		        s->p90, s->p99, s->max, s->mean);
	}
	if (!all->count)
		fputs("  (no faults)\n", f);

	fprintf(f, "\ntop pages by faults\n  %-18s %10s %8s\n", "address", "space", "faults");
	for (size_t i = 0; i < ntop; i++) {
		char addr[24];
		snprintf(addr, sizeof addr, "0x%" PRIx64, top[i]->page);
		fprintf(f, "  %-18s %10" PRIu32 " %8" PRIu64 "\n", addr, top[i]->space,
		        top[i]->faults);
	}
	if (!ntop)
		fputs("  (no faults)\n", f);

	fprintf(f, "\npage replacement\n");
	fprintf(f, "  %-20s %8" PRIu64 "\n", "evictions", rp->events[DPEMU_EVENT_EVICT]);
	fprintf(f, "  %-20s %8" PRIu64 "\n", "swap-outs", rp->events[DPEMU_EVENT_SWAP_OUT]);
	fprintf(f, "  %-20s %8" PRIu64 "\n", "writebacks", rp->events[DPEMU_EVENT_WRITEBACK]);
	fprintf(f, "  %-20s %8" PRIu64 "\n", "swap-ins", rp->events[DPEMU_EVENT_SWAP_IN]);
	fprintf(f, "  %-20s %8" PRIu64 "\n", "peak resident pages", rp->tp.peak_resident);
	fprintf(f, "  %-20s %8" PRIu64 " of %" PRIu64 "\n", "peak frames in use",
	        rp->tp.peak_in_use, h->frames);

	fprintf(f, "\nother events\n");
	for (int k = DPEMU_EVENT_MAP; k <= DPEMU_EVENT_DESTROY; k++)
		fprintf(f, "  %-20s %8" PRIu64 "\n", trace_event_name(k), rp->events[k]);
	if (rp->events[0])
		fprintf(f, "  %-20s %8" PRIu64 "\n", "unknown", rp->events[0]);
	fprintf(f, "  %-20s %8" PRIu64 "\n", "events lost", rp->lost);
}

static void json_stats(FILE *f, const struct lat_stats *s)
{
	if (!s->count) {
		fputs("{\"count\": 0, \"min\": null, \"p50\": null, \"p90\": null, "
		      "\"p99\": null, \"max\": null, \"mean\": null}", f);
		return;
	}
	fprintf(f, "{\"count\": %" PRIu64 ", \"min\": %" PRIu64 ", \"p50\": %" PRIu64
	        ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"max\": %" PRIu64
	        ", \"mean\": %" PRIu64 "}", s->count, s->min, s->p50, s->p90, s->p99, s->max,
	        s->mean);
}

static void print_json(FILE *f, const char *file, struct report *rp,
                       const struct lat_stats *ls, const struct lat_stats *all,
                       const struct trace_page **top, size_t ntop)
{
	const struct dpemu_trace_header *h = rp->hdr;
	uint64_t faults = 0;

	for (int k = 1; k < NFAULT; k++)
		faults += rp->events[k];
	fputs("{\n  \"file\": ", f);
	trace_json_string(f, file);
	fprintf(f, ",\n  \"version\": %" PRIu32 ",\n", h->version);
	fprintf(f, "  \"pid\": %" PRIu32 ",\n", h->pid);
	fprintf(f, "  \"page_size\": %" PRIu32 ",\n", h->page_size);
	fprintf(f, "  \"frames\": %" PRIu64 ",\n", h->frames);
	fprintf(f, "  \"policy\": \"%s\",\n", policy_name(h->policy));
	fprintf(f, "  \"start_realtime_ns\": %" PRIu64 ",\n", h->start_realtime_ns);
	fprintf(f, "  \"start_monotonic_ns\": %" PRIu64 ",\n", h->start_monotonic_ns);
	fprintf(f, "  \"duration_ns\": %" PRIu64 ",\n", rp->end_ns);
	fprintf(f, "  \"records\": %" PRIu64 ",\n", rp->records);
	fputs("  \"events\": {", f);
	for (int k = 1; k <= DPEMU_EVENT_MAX; k++)
		fprintf(f, "\"%s\": %" PRIu64 ", ", trace_event_name(k), rp->events[k]);
	fprintf(f, "\"unknown\": %" PRIu64 "},\n", rp->events[0]);
	fprintf(f, "  \"faults\": %" PRIu64 ",\n", faults);
	fputs("  \"unresolved\": {", f);
	for (int o = 1; o < NOUTCOME; o++)
		fprintf(f, "\"%s\": %" PRIu64 ", ", trace_outcome_name(o), rp->outcomes[o]);
	fprintf(f, "\"unknown\": %" PRIu64 "},\n", rp->outcomes[0]);
	fputs("  \"latency_ns\": {\n", f);
	for (int k = 1; k < NFAULT; k++) {
		fprintf(f, "    \"%s\": ", trace_event_name(k));
		json_stats(f, &ls[k]);
		fputs(",\n", f);
	}
	fputs("    \"all\": ", f);
	json_stats(f, all);
	fputs("\n  },\n  \"top_pages\": [", f);
	for (size_t i = 0; i < ntop; i++)
		fprintf(f, "%s\n    {\"addr\": \"0x%" PRIx64 "\", \"space\": %" PRIu32
		        ", \"faults\": %" PRIu64 "}", i ? "," : "", top[i]->page, top[i]->space,
		        top[i]->faults);
	fputs(ntop ? "\n  ],\n" : "],\n", f);
	fprintf(f, "  \"evictions\": %" PRIu64 ",\n", rp->events[DPEMU_EVENT_EVICT]);
	fprintf(f, "  \"swap_outs\": %" PRIu64 ",\n", rp->events[DPEMU_EVENT_SWAP_OUT]);
	fprintf(f, "  \"writebacks\": %" PRIu64 ",\n", rp->events[DPEMU_EVENT_WRITEBACK]);
	fprintf(f, "  \"swap_ins\": %" PRIu64 ",\n", rp->events[DPEMU_EVENT_SWAP_IN]);
	fprintf(f, "  \"peak_resident_pages\": %" PRIu64 ",\n", rp->tp.peak_resident);
	fprintf(f, "  \"peak_frames_in_use\": %" PRIu64 ",\n", rp->tp.peak_in_use);
	fprintf(f, "  \"lost_events\": %" PRIu64 "\n}\n", rp->lost);
}

int trace_report(int argc, char **argv)
{
	static const char argv0[] = "dpemu trace report";
	int json = 0, rc, status;
	const struct trace_flag flags[] = { { "json", &json, NULL }, { NULL, NULL, NULL } };
	struct lat_stats ls[NFAULT], all;
	const struct trace_page *top[TOP_PAGES];
	struct dpemu_trace_record rec;
	struct trace_reader tr;
	struct report rp;
	struct trace_args a;
	size_t ntop;
	FILE *out;

	if ((rc = trace_parse_args(argv0, report_usage, flags, argc, argv, &a)) >= 0)
		return rc;
	if (trace_open(&tr, argv0, a.file) != 0)
		return 1;
	memset(&rp, 0, sizeof rp);
	rp.hdr = &tr.hdr;
	trace_pages_init(&rp.tp, &tr.hdr);
	while ((rc = trace_read(&tr, &rec)) > 0)
		account(&rp, &rec);
	if (rc < 0)
		return 1;

	for (int k = 1; k < NFAULT; k++)
		ls[k] = lat_stats(&rp.lat[k]);
	all = all_stats(&rp);
	ntop = top_pages(&rp, top);
	if (rp.lost)
		fprintf(stderr, "%s: warning: %s: %" PRIu64 " events lost (the trace's ring "
		        "was full): the figures miss them\n", argv0, a.file, rp.lost);

	out = trace_out_open(argv0, a.out);
	if (!out) {
		status = 1;
	} else {
		(json ? print_json : print_text)(out, a.file, &rp, ls, &all, top, ntop);
		status = trace_out_close(argv0, out, a.out, 0);
	}
	trace_close(&tr);
	for (int k = 1; k < NFAULT; k++)
		free(rp.lat[k].v);
	trace_pages_free(&rp.tp);
	return status;
}
