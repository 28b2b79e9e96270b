/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_report.c - the report of one `dpemu run`: a few lines on stderr, or
 * a JSON object (--json).  The JSON holds at least the integer keys
 * faults, evictions, swap_ins, swap_outs, reference_faults, tlb_misses
 * (0 without --tlb), peak_resident_pages (the pool's
 * frames_used_peak: its pool serves the program alone) and exit_status,
 * then every integer the preload library reported (report.c there lists
 * them), all present, as 0, when the program ended without a report.
 * Calls stdio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

uint64_t run_get(const struct run_result *r, const char *key)
{
	for (int i = 0; i < r->nvals; i++)
		if (!strcmp(r->vals[i].key, key))
			return r->vals[i].v;
	return 0;
}

/* bytes as "12.3 MiB" (or "512 bytes"). */
static const char *human(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, len, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
	return buf;
}

/* How the program ended, as one phrase. */
static void print_end(FILE *f, const struct run_config *c, const struct run_result *r)
{
	fprintf(f, "dpemu run: %s ", c->argv[0]);
	if (r->signal)
		fprintf(f, "was killed by signal %d (%s)", r->signal, strsignal(r->signal));
	else
		fprintf(f, "exited with status %d", r->status);
	fprintf(f, " after %.3f s (user %.3f s, system %.3f s)\n", (double)r->wall_ns / 1e9,
	        (double)r->user_ns / 1e9, (double)r->sys_ns / 1e9);
}

/* What dpemu served and what it did not. */
static void print_memory(FILE *f, const struct run_result *r)
{
	char a[32], b[32], d[32], e[32], g[32];
	uint64_t ps = run_get(r, "page_size");

	fprintf(f, "  served    by dpemu: the heap (%s of addresses) and %" PRIu64 " mmaps (%s);\n"
	        "            %s of pages filled, %s at the peak\n",
	        human(a, sizeof a, run_get(r, "heap_bytes")), run_get(r, "mmap_placed"),
	        human(b, sizeof b, run_get(r, "mmap_placed_bytes")),
	        human(d, sizeof d, (run_get(r, "zero_fills") + run_get(r, "file_reads")) * ps),
	        human(e, sizeof e, run_get(r, "frames_used_peak") * ps));
	fprintf(f, "  outside   mmaps that did not fit %" PRIu64 " (%s); file, shared and stack "
	        "mmaps %" PRIu64 " (%s);\n            allocations before dpemu started %" PRIu64
	        " (%s);\n            at exit the kernel held %s anonymous (stack, static data, the "
	        "loader's, dpemu's own)\n            and %s of file pages\n",
	        run_get(r, "mmap_fallback"), human(a, sizeof a, run_get(r, "mmap_fallback_bytes")),
	        run_get(r, "mmap_other"), human(b, sizeof b, run_get(r, "mmap_other_bytes")),
	        run_get(r, "early_allocs"), human(d, sizeof d, run_get(r, "early_bytes")),
	        human(e, sizeof e, run_get(r, "rss_anon_bytes")),
	        human(g, sizeof g, run_get(r, "rss_file_bytes")));
}

/* ns as "812 ns", "12.3 us" or "4.51 ms". */
static const char *duration(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.*f us", ns < 10000 ? 2 : 1, (double)ns / 1e3);
	else
		snprintf(buf, len, "%.*f ms", ns < 10000000 ? 2 : 1, (double)ns / 1e6);
	return buf;
}

/* The fault latency percentiles, all faults then per kind (the kinds the
 * preload reported, in its order). */
static void print_latency(FILE *f, const struct run_result *r)
{
	char a[24], b[24], d[24], e[24];

	if (!run_get(r, "latency_count"))
		return;
	fprintf(f, "  latency   p50 %s, p90 %s, p99 %s, max %s over %" PRIu64 " faults\n",
	        duration(a, sizeof a, run_get(r, "latency_p50_ns")),
	        duration(b, sizeof b, run_get(r, "latency_p90_ns")),
	        duration(d, sizeof d, run_get(r, "latency_p99_ns")),
	        duration(e, sizeof e, run_get(r, "latency_max_ns")), run_get(r, "latency_count"));
	for (int i = 0; i < r->nvals; i++) {
		const char *k = r->vals[i].key;
		size_t len = strlen(k);
		char kind[40], key[64];
		if (strncmp(k, "latency_", 8) || len < 14 || strcmp(k + len - 6, "_count") ||
		    !strcmp(k, "latency_count") || len - 14 >= sizeof kind)
			continue;
		memcpy(kind, k + 8, len - 14);
		kind[len - 14] = '\0';
		snprintf(key, sizeof key, "latency_%s_p50_ns", kind);
		uint64_t p50 = run_get(r, key);
		snprintf(key, sizeof key, "latency_%s_p99_ns", kind);
		uint64_t p99 = run_get(r, key);
		for (char *p = kind; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "            %-10s p50 %s, p99 %s (%" PRIu64 ")\n", kind,
		        duration(a, sizeof a, p50), duration(b, sizeof b, p99), r->vals[i].v);
	}
}

void run_print_report(FILE *f, const struct run_config *c, const struct run_result *r)
{
	char a[32];
	uint64_t ps = run_get(r, "page_size");

	print_end(f, c, r);
	if (!r->loaded) {
		fprintf(f, "  %s did not load dpemu's preload library (a statically linked or "
		        "set-user-ID program?): it ran without dpemu\n", c->argv[0]);
		return;
	}
	if (!r->complete) {
		fprintf(f, "  no report: %s, so the statistics were not written\n", r->signal
		        ? "the program was killed" : "the program ended without exit(3) or _exit(2)");
		return;
	}
	fprintf(f, "  pool      %" PRIu64 " frames of %" PRIu64 " bytes (%s), policy %s, "
	        "backend %s\n", run_get(r, "frames"), ps,
	        human(a, sizeof a, run_get(r, "frames") * ps), r->policy, r->backend);
	fprintf(f, "  faults    %" PRIu64 " (zero-fills %" PRIu64 ", file reads %" PRIu64
	        ", copy-on-write %" PRIu64 ", swap-ins %" PRIu64 ",\n            reference faults %"
	        PRIu64 ", unresolved %" PRIu64 ")\n", run_get(r, "faults"), run_get(r, "zero_fills"),
	        run_get(r, "file_reads"), run_get(r, "cow_copies") + run_get(r, "cow_reuses"),
	        run_get(r, "swap_ins"), run_get(r, "reference_faults"),
	        run_get(r, "protection_faults"));
	fprintf(f, "  paging    evictions %" PRIu64 ", swap-outs %" PRIu64 ", swap-ins %" PRIu64
	        "\n", run_get(r, "evictions"), run_get(r, "swap_outs"), run_get(r, "swap_ins"));
	fprintf(f, "  resident  peak %" PRIu64 " pages, %" PRIu64 " at exit\n",
	        run_get(r, "frames_used_peak"), run_get(r, "pages_resident"));
	if (run_get(r, "tlb_entries"))
		fprintf(f, "  tlb       %" PRIu64 " entries, %" PRIu64 " misses\n",
		        run_get(r, "tlb_entries"), run_get(r, "tlb_misses"));
	print_latency(f, r);
	print_memory(f, r);
	if (c->trace)
		fprintf(f, "  trace     %s%s\n", c->trace, run_get(r, "trace_error")
		        ? " (incomplete: writing it failed)" : "");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The keys every report has, in this order. */
static const char *const first_keys[] = { "faults", "evictions", "swap_ins", "swap_outs",
	                                   "reference_faults", "tlb_misses" };

void run_json_object(FILE *f, const struct run_config *c, const struct run_result *r,
                     const char *in)
{
	fprintf(f, "{\n%s  \"program\": ", in);
	json_str(f, c->argv[0]);
	fprintf(f, ",\n%s  \"argv\": [", in);
	for (int i = 0; c->argv[i]; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, c->argv[i]);
	}
	fprintf(f, "],\n%s  \"exit_status\": %d,\n%s  \"signal\": %d,\n", in, r->status, in,
	        r->signal);
	fprintf(f, "%s  \"loaded\": %s,\n%s  \"report_complete\": %s,\n", in,
	        r->loaded ? "true" : "false", in, r->complete ? "true" : "false");
	fprintf(f, "%s  \"backend\": ", in);
	json_str(f, r->backend[0] ? r->backend : (c->backend ? c->backend : "auto"));
	fprintf(f, ",\n%s  \"policy\": ", in);
	json_str(f, r->policy[0] ? r->policy : "");
	fprintf(f, ",\n%s  \"wall_ns\": %" PRIu64 ",\n%s  \"user_ns\": %" PRIu64
	        ",\n%s  \"system_ns\": %" PRIu64 ",\n", in, r->wall_ns, in, r->user_ns, in,
	        r->sys_ns);
	for (size_t i = 0; i < sizeof first_keys / sizeof first_keys[0]; i++)
		fprintf(f, "%s  \"%s\": %" PRIu64 ",\n", in, first_keys[i], run_get(r, first_keys[i]));
	fprintf(f, "%s  \"peak_resident_pages\": %" PRIu64, in, run_get(r, "frames_used_peak"));
	for (int i = 0; i < r->nvals; i++) {
		bool dup = false;
		for (size_t k = 0; k < sizeof first_keys / sizeof first_keys[0]; k++)
			dup = dup || !strcmp(r->vals[i].key, first_keys[k]);
		if (!dup)
			fprintf(f, ",\n%s  \"%s\": %" PRIu64, in, r->vals[i].key, r->vals[i].v);
	}
	fprintf(f, "\n%s}", in);
}

int run_write_json(const struct run_config *c, const struct run_result *r)
{
	FILE *f = fopen(c->json, "w");

	if (!f) {
		perror(c->json);
		return -1;
	}
	run_json_object(f, c, r, "");
	fputc('\n', f);
	if (fclose(f) != 0) {
		perror(c->json);
		return -1;
	}
	return 0;
}
