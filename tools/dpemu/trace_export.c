/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_export.c - `dpemu trace export FILE --csv|--json|--chrome
 * [--sort] [-o OUT]`: every record of a trace, in one of three forms:
 *
 *   --csv     a header line, then one line per record:
 *             time_ns,space,tid,event,addr,access,frame,latency_ns,aux,outcome
 *             (addr in hexadecimal after 0x; access read, write, exec or
 *             unknown; frame empty where none; outcome, the fault kind of
 *             an unresolved fault, empty where 0)
 *   --json    an array of objects with the same fields (addr a string,
 *             frame and outcome null where none), one a line
 *   --chrome  the Trace Event Format of chrome://tracing and Perfetto:
 *             {"traceEvents": [...]}, a complete event ("ph": "X") per
 *             fault, from time_ns lasting latency_ns, an instant event
 *             ("ph": "i") per other record; ts and dur in microseconds
 *             (exact: three decimals of nanoseconds); pid the header's,
 *             tid the record's, args addr, space, frame, and access
 *             (faults), outcome (unresolved), aux (the others)
 *
 * In the file's order (per thread the order things happened, across
 * threads the order the writer drained them), streamed; --sort sorts by
 * time_ns (ties in the file's order), which holds every record in memory
 * (56 bytes each).  Calls trace_file.c, trace.c and libc.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "trace_file.h"

static const char export_usage[] =
	"Usage: dpemu trace export FILE --csv|--json|--chrome [--sort] [-o OUT]\n"
	"\n"
	"Write every event of the trace FILE, in the file's order (per thread, the\n"
	"order they happened).\n"
	"\n"
	"  --csv           CSV: a header line, then one line per event, columns\n"
	"                  time_ns,space,tid,event,addr,access,frame,latency_ns,aux,\n"
	"                  outcome\n"
	"  --json          a JSON array of objects with the same fields\n"
	"  --chrome        a Chrome/Perfetto trace (chrome://tracing,\n"
	"                  ui.perfetto.dev): faults as complete events lasting\n"
	"                  their latency, the other events as instants\n"
	"  --sort          in time order (ties in the file's order); holds the\n"
	"                  whole trace in memory\n"
	"  -o, --output OUT  write to OUT instead of standard output\n"
	"  -h, --help      this text\n"
	"\n"
	"Exactly one of --csv, --json and --chrome.  Exit status: 0 success, 1\n"
	"FILE could not be read (missing, not a trace, truncated) or OUT not\n"
	"written (OUT is then removed), 2 a usage error.\n";

enum format { CSV, JSON, CHROME };

struct sorted {
	struct dpemu_trace_record rec;
	uint64_t seq;
};

/* Write one record in format fmt; first: no record was written before. */
static void put(FILE *f, enum format fmt, const struct dpemu_trace_header *h,
                const struct dpemu_trace_record *r, int first)
{
	const char *ev = trace_event_name(r->event);
	int fault = trace_is_fault(r->event);

	switch (fmt) {
	case CSV:
		fprintf(f, "%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%s,0x%" PRIx64 ",%s,", r->time_ns,
		        r->space, r->tid, ev, r->addr, trace_access_name(r->access));
		if (r->frame != TRACE_NO_FRAME)
			fprintf(f, "%" PRIu32, r->frame);
		fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%s\n", r->latency_ns, r->aux,
		        r->outcome ? trace_outcome_name(r->outcome) : "");
		break;
	case JSON:
		fprintf(f, "%s{\"time_ns\": %" PRIu64 ", \"space\": %" PRIu32 ", \"tid\": %" PRIu32
		        ", \"event\": \"%s\", \"addr\": \"0x%" PRIx64 "\", \"access\": \"%s\", "
		        "\"frame\": ", first ? "" : ",\n", r->time_ns, r->space, r->tid, ev,
		        r->addr, trace_access_name(r->access));
		if (r->frame != TRACE_NO_FRAME)
			fprintf(f, "%" PRIu32, r->frame);
		else
			fputs("null", f);
		fprintf(f, ", \"latency_ns\": %" PRIu64 ", \"aux\": %" PRIu64 ", \"outcome\": ",
		        r->latency_ns, r->aux);
		if (r->outcome)
			fprintf(f, "\"%s\"}", trace_outcome_name(r->outcome));
		else
			fputs("null}", f);
		break;
	case CHROME:
		fprintf(f, ",\n{\"name\": \"%s\", \"cat\": \"%s\", \"ph\": \"%s\", ", ev,
		        fault ? "fault"
		        : r->event >= DPEMU_EVENT_EVICT && r->event <= DPEMU_EVENT_WRITEBACK
		                ? "replacement"
		        : r->event >= DPEMU_EVENT_MAP && r->event <= DPEMU_EVENT_DESTROY ? "space"
		                                                                         : "trace",
		        fault ? "X" : "i");
		fprintf(f, "\"ts\": %" PRIu64 ".%03u, ", r->time_ns / 1000,
		        (unsigned)(r->time_ns % 1000));
		if (fault)
			fprintf(f, "\"dur\": %" PRIu64 ".%03u, ", r->latency_ns / 1000,
			        (unsigned)(r->latency_ns % 1000));
		else
			fputs("\"s\": \"t\", ", f);
		fprintf(f, "\"pid\": %" PRIu32 ", \"tid\": %" PRIu32 ", \"args\": {\"addr\": \"0x%"
		        PRIx64 "\", \"space\": %" PRIu32 ", \"frame\": ", h->pid, r->tid, r->addr,
		        r->space);
		if (r->frame != TRACE_NO_FRAME)
			fprintf(f, "%" PRIu32, r->frame);
		else
			fputs("null", f);
		if (fault)
			fprintf(f, ", \"access\": \"%s\"", trace_access_name(r->access));
		else
			fprintf(f, ", \"aux\": %" PRIu64, r->aux);
		if (r->outcome)
			fprintf(f, ", \"outcome\": \"%s\"", trace_outcome_name(r->outcome));
		fputs("}}", f);
		break;
	}
}

static void begin(FILE *f, enum format fmt, const struct dpemu_trace_header *h)
{
	switch (fmt) {
	case CSV:
		fputs("time_ns,space,tid,event,addr,access,frame,latency_ns,aux,outcome\n", f);
		break;
	case JSON:
		fputs("[\n", f);
		break;
	case CHROME:
		fprintf(f, "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n"
		        "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %" PRIu32
		        ", \"tid\": 0, \"args\": {\"name\": \"dpemu pid %" PRIu32 "\"}}",
		        h->pid, h->pid);
		break;
	}
}

static void end(FILE *f, enum format fmt, int any)
{
	switch (fmt) {
	case CSV:
		break;
	case JSON:
		fputs(any ? "\n]\n" : "]\n", f);
		break;
	case CHROME:
		fputs("\n]}\n", f);
		break;
	}
}

static int cmp_time(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	if (x->rec.time_ns != y->rec.time_ns)
		return x->rec.time_ns < y->rec.time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Every record of tr, sorted by time; exits 1 when memory runs out.
 * Returns the count, or -1 when the trace could not be read. */
static long long load_sorted(struct trace_reader *tr, struct sorted **out)
{
	struct dpemu_trace_record rec;
	size_t n = 0, cap = tr->records ? (size_t)tr->records : 256;
	struct sorted *v = malloc(cap * sizeof *v);
	int rc;

	if (!v)
		goto oom;
	while ((rc = trace_read(tr, &rec)) > 0) {
		if (n == cap) {
			struct sorted *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv)
				goto oom;
			v = nv;
			cap *= 2;
		}
		v[n].rec = rec;
		v[n].seq = n;
		n++;
	}
	if (rc < 0) {
		free(v);
		return -1;
	}
	if (n > 1) /* (v may be NULL when empty) */
		qsort(v, n, sizeof *v, cmp_time);
	*out = v;
	return (long long)n;
oom:
	fputs("dpemu trace export: out of memory (--sort holds the whole trace)\n", stderr);
	exit(1);
}

int trace_export(int argc, char **argv)
{
	static const char argv0[] = "dpemu trace export";
	int csv = 0, json = 0, chrome = 0, sort = 0, rc = 0, failed = 0, any = 0;
	const struct trace_flag flags[] = {
		{ "csv", &csv, NULL }, { "json", &json, NULL }, { "chrome", &chrome, NULL },
		{ "sort", &sort, NULL }, { NULL, NULL, NULL },
	};
	struct dpemu_trace_record rec;
	struct trace_reader tr;
	struct trace_args a;
	struct sorted *all = NULL;
	long long n = 0;
	enum format fmt;
	FILE *out;

	if ((rc = trace_parse_args(argv0, export_usage, flags, argc, argv, &a)) >= 0)
		return rc;
	if (csv + json + chrome != 1) {
		fprintf(stderr, "%s: %s of --csv, --json and --chrome; try '%s --help'\n", argv0,
		        csv + json + chrome ? "only one" : "say which", argv0);
		return 2;
	}
	fmt = csv ? CSV : json ? JSON : CHROME;
	if (trace_open(&tr, argv0, a.file) != 0)
		return 1;
	if (sort && (n = load_sorted(&tr, &all)) < 0)
		return 1;

	out = trace_out_open(argv0, a.out);
	if (!out) {
		trace_close(&tr);
		free(all);
		return 1;
	}
	begin(out, fmt, &tr.hdr);
	if (sort) {
		for (long long i = 0; i < n; i++)
			put(out, fmt, &tr.hdr, &all[i].rec, !any++);
	} else {
		while ((rc = trace_read(&tr, &rec)) > 0)
			put(out, fmt, &tr.hdr, &rec, !any++);
		failed = rc < 0;
	}
	if (!failed)
		end(out, fmt, any);
	trace_close(&tr);
	free(all);
	return trace_out_close(argv0, out, a.out, failed);
}
