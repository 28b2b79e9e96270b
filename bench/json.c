/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.c - the --json file (write_json): the machine, the options, every
 * series with its summary and samples' statistics, the eviction counters
 * and the targets.  Calls stats.c, series.c (selected), series_dpemu.c
 * (ref_frames, scan_pages) and stdio.
 */
#include "bench_int.h"

/* ---------------------------------------------------------------- JSON */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, "%.4f", v);
	else
		fprintf(f, "null");
}

/* The eviction-scan fields of a scan series' JSON object. */
static void json_scan(FILE *f, const struct series *s)
{
	const struct series *first = first_idx >= 0 && usable(&ser[first_idx])
	                             ? &ser[first_idx] : NULL;
	fprintf(f, ", \"pages_per_s\": ");
	json_num(f, scan_rate(s));
	fprintf(f, ", \"scan\": ");
	json_str(f, scans[s->scan].name);
	fprintf(f, ", \"working_set_pages\": %zu", scan_pages(s));
	if (s->op != OP_D_SCAN)
		return;
	fprintf(f, ", \"policy\": ");
	json_str(f, dpemu_policy_name(s->policy));
	fprintf(f, ", \"pool_frames\": %zu, \"over_plain\": ", opt_ev_frames);
	json_num(f, usable(s) && usable(&ser[s->kref]) ? ratio(s->med, ser[s->kref].med)
	                                               : 0);
	fprintf(f, ", \"over_first_touch\": ");
	json_num(f, usable(s) && first ? ratio(s->med, first->med) : 0);
	fprintf(f, ", \"pages_touched\": %" PRIu64 ", \"per_page\": {\"faults\": %.4f, "
	        "\"zero_fills\": %.4f, \"evictions\": %.4f, \"swap_outs\": %.4f, "
	        "\"swap_ins\": %.4f, \"reference_faults\": %.4f}", s->ev_pages,
	        per_touch(s, s->ev_faults), per_touch(s, s->ev_zero_fills),
	        per_touch(s, s->ev_evictions), per_touch(s, s->ev_swap_outs),
	        per_touch(s, s->ev_swap_ins), per_touch(s, s->ev_ref_faults));
	fprintf(f, ", \"resident_alias_fraction\": ");
	if (s->ev_resident)
		fprintf(f, "%.4f", (double)s->ev_aliases / (double)s->ev_resident);
	else
		fprintf(f, "null");
	fprintf(f, ", \"reference_bit_share\": ");
	if (usable(s) && ev_ref(0) && ev_ref(1))
		fprintf(f, "[%.4f, %.4f]", ref_share(s, 0), ref_share(s, 1));
	else
		fprintf(f, "null");
}

/* The opening brace and the run: version, date, machine, options, page
   size, seconds. */
static void json_header(FILE *f, const struct machine *mc, double secs)
{
	fprintf(f, "{\n  \"benchmark\": \"dpemu-bench\",\n  \"dpemu_version\": ");
	json_str(f, dpemu_version());
	fprintf(f, ",\n  \"date\": ");
	json_str(f, mc->when);
	fprintf(f, ",\n  \"machine\": {\"sysname\": ");
	json_str(f, mc->un.sysname);
	fprintf(f, ", \"kernel\": ");
	json_str(f, mc->un.release);
	fprintf(f, ", \"kernel_version\": ");
	json_str(f, mc->un.version);
	fprintf(f, ", \"arch\": ");
	json_str(f, mc->un.machine);
	fprintf(f, ", \"cpus\": %ld, \"cpu_model\": ", mc->cpus);
	json_str(f, mc->cpu);
	fprintf(f, "},\n  \"options\": {\"pages\": %zu, \"rounds\": %u, "
	        "\"thread_passes\": %u, \"seed\": %" PRIu64 ", \"pretouch_mib\": %zu, "
	        "\"chunk_pages\": %d, \"fault_around\": %d, \"evict_frames\": %zu, "
	        "\"evict_backend\": \"%s\"},\n",
	        opt_pages, opt_rounds, opt_passes, opt_seed, opt_pretouch_mib,
	        CHUNK, FA_PAGES, opt_ev_frames, bk_backend[ev_bk]);
	fprintf(f, "  \"page_size\": %zu,\n  \"seconds\": %.3f,\n", page, secs);
}

/* What series s is: its group, description, backend, kind, unit, order,
   access, fault_around, pool and threads, and how many samples. */
static void json_definition(FILE *f, const struct series *s)
{
	fprintf(f, "{\"group\": ");
	json_str(f, s->group);
	fprintf(f, ", \"what\": ");
	json_str(f, s->what);
	fprintf(f, ", \"backend\": ");
	json_str(f, bk_backend[s->bk]);
	fprintf(f, ", \"kind\": \"%s\", \"unit\": \"%s\", \"order\": \"%s\", "
	        "\"access\": \"%s\", \"fault_around\": %zu, \"populate\": %d, "
	        "\"populate_ns_per_frame\": %.1f, \"threads\": %d, "
	        "\"samples\": %zu, ", kind_name[s->kind],
	        s->kind == KIND_FAULT ? "us per access" : "us per page",
	        s->random ? "random" : "ascending", s->write ? "write" : "read",
	        s->fa, s->populate, 1000.0 * pop_us(s), s->threads, s->n);
}

/* The summary of s: min, percentiles, median, max, mean, and the median
   of each round (a scan's with more decimals: it counts from ps). */
static void json_summary(FILE *f, const struct series *s)
{
	int pr = s->kind == KIND_SCAN ? 6 : 3; /* scans: from ps */
	fprintf(f, "\"min_us\": %.*f, \"p1_us\": %.*f, \"p10_us\": %.*f, "
	        "\"p25_us\": %.*f, \"median_us\": %.*f, \"p75_us\": %.*f, "
	        "\"p90_us\": %.*f, \"p99_us\": %.*f, \"max_us\": %.*f, "
	        "\"mean_us\": %.*f, ", pr, s->min, pr, s->p1, pr, s->p10, pr,
	        s->p25, pr, s->med, pr, s->p75, pr, s->p90, pr, s->p99, pr,
	        s->max, pr + 1, s->mean);
	fprintf(f, "\"round_medians_us\": [");
	size_t r = s->rounds_done < MAX_ROUND_MEDS ? s->rounds_done : MAX_ROUND_MEDS;
	for (size_t j = 0; j < r; j++)
		fprintf(f, "%s%.*f", j ? ", " : "", pr, s->round_med[j]);
	fprintf(f, "], \"round_spread\": %.3f, \"unstable\": %s",
	        s->rmin > 0 ? s->rmax / s->rmin : 0.0, unstable(s) ? "true" : "false");
}

/* The series s is compared with, and its median over that series' and
   over the trap floor's (null where neither applies). */
static void json_ratios(FILE *f, const struct series *s)
{
	fprintf(f, ", \"kernel_ref\": ");
	if (s->kref >= 0)
		json_str(f, ser[s->kref].name);
	else
		fprintf(f, "null");
	fprintf(f, ", \"over_kernel\": ");
	json_num(f, s->kref >= 0 && usable(s) && usable(&ser[s->kref])
	         ? ratio(s->med, ser[s->kref].med) : 0);
	fprintf(f, ", \"over_trap_floor\": ");
	json_num(f, usable(s) && s->kind == KIND_FAULT && s->op != OP_TRAP &&
	         s->op != OP_TIMER ? ratio(s->med, ser[trap_idx].med) : 0);
}

/* The fields only some series have: a pass's throughput, a scan's
   counters (json_scan), a reference fault's pool and revocations, an
   anonymous series' metadata, kernel-file-r's faulted accesses. */
static void json_extras(FILE *f, const struct series *s)
{
	if (s->kind == KIND_PASS) {
		fprintf(f, ", \"pages_per_s\": ");
		json_num(f, throughput(s));
	}
	if (s->kind == KIND_SCAN)
		json_scan(f, s);
	if (s->op == OP_D_REF) {
		fprintf(f, ", \"pool_frames\": %zu, \"aliases\": %s, "
		        "\"revoked_pages\": %" PRIu64 ", \"revoke_us_per_page\": ",
		        ref_frames(), s->alias ? "true" : "false", s->rv_pages);
		json_num(f, revoke_us(s));
	}
	if (s->op == OP_D_ANON)
		fprintf(f, ", \"metadata_bytes_mapped\": %" PRIu64
		        ", \"metadata_bytes_touched\": %" PRIu64,
		        s->meta_map, s->meta_touched);
	if (s->op == OP_K_FILE && !s->write)
		fprintf(f, ", \"accesses\": %ld, \"faulted\": %ld", s->touches,
		        s->faulted);
}

/* Series s as "name": {...}. */
static void json_series(FILE *f, const struct series *s)
{
	json_str(f, s->name);
	fprintf(f, ": ");
	json_definition(f, s);
	json_summary(f, s);
	json_ratios(f, s);
	json_extras(f, s);
	fprintf(f, ", \"vmas_max\": %" PRIu64 ", \"failed\": %s, "
	        "\"unavailable\": %s, \"note\": ", s->vmas_max,
	        s->failed ? "true" : "false", s->unavailable ? "true" : "false");
	json_str(f, s->note);
	fprintf(f, "}");
}

/* "series": every selected series, one a line. */
static void json_all_series(FILE *f)
{
	int first = 1;
	fprintf(f, "  \"series\": {\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		fprintf(f, "%s    ", first ? "" : ",\n");
		first = 0;
		json_series(f, s);
	}
	fprintf(f, "\n  },\n");
}

/* "threads": per pair of thread series, the throughput of one thread, of
   two, and their ratio. */
static void json_threads(FILE *f)
{
	int first = 1;
	fprintf(f, "  \"threads\": {");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->kind != KIND_PASS || s->threads != 1 || !selected(s))
			continue;
		fprintf(f, "%s\n    \"%s\": {\"one_thread_pages_per_s\": ",
		        first ? "" : ",", pair_label(s));
		first = 0;
		json_num(f, throughput(s));
		fprintf(f, ", \"two_threads_pages_per_s\": ");
		json_num(f, throughput(s + 1));
		fprintf(f, ", \"two_over_one\": ");
		json_num(f, ratio(throughput(s + 1), throughput(s)));
		fprintf(f, "}");
	}
	fprintf(f, "\n  },\n");
}

/* "metadata" (the sparse measurement) and "eviction" (how the scans ran). */
static void json_metadata_eviction(FILE *f)
{
	fprintf(f, "  \"metadata\": {\"pages\": %zu, \"sparse_pages\": %"
	        PRIu64 ", \"sparse_bytes\": %" PRIu64 ", \"sparse_bytes_per_page\": ",
	        opt_pages, sparse_pages, sparse_meta);
	json_num(f, sparse_pages ? (double)sparse_meta / (double)sparse_pages : 0);
	fprintf(f, "},\n  \"eviction\": {\"backend\": \"%s\", \"pool_frames\": %zu, "
	        "\"untimed_passes\": 2, \"timed_passes\": %d, "
	        "\"plain_passes_per_sample\": %d, \"hot_percent\": %d, "
	        "\"hot_pages_fraction\": %.4f, \"reference_fault_pool_frames\": %zu",
	        bk_backend[ev_bk], opt_ev_frames, EV_TIMED, PLAIN_REPS, HOT_PERCENT,
	        1.0 / HOT_DIV, ref_frames());
	fprintf(f, "},\n");
}

/* "targets": each of the project's targets, measured or null. */
static void json_targets(FILE *f)
{
	fprintf(f, "  \"targets\": [");
	for (int i = 0; i < ntg; i++) {
		struct target *t = &tg[i];
		fprintf(f, "%s\n    {\"target\": ", i ? "," : "");
		json_str(f, t->name);
		fprintf(f, ", \"want\": \"%s\", \"limit\": %.2f, \"measured\": ",
		        t->want, t->limit);
		json_num(f, t->measured);
		fprintf(f, ", \"by\": ");
		if (t->by)
			json_str(f, t->by);
		else
			fprintf(f, "null");
		fprintf(f, ", \"met\": %s, \"detail\": ",
		        t->measured > 0 ? (t->met ? "true" : "false") : "null");
		json_str(f, t->detail);
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n");
}

/* Write the JSON to path.  0, or -1 with errno set (the file may then be
   partly written). */
int write_json(const char *path, const struct machine *mc, double secs)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	json_header(f, mc, secs);
	json_all_series(f);
	json_threads(f);
	json_metadata_eviction(f);
	json_targets(f);
	fprintf(f, "}\n");
	return fclose(f) == 0 ? 0 : -1;
}
