/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.c - the text report on stdout (print_report): the table of every
 * series (median, percentiles, ratios to the kernel and the trap floor),
 * the eviction counters per page, the reference faults, and the project's
 * targets.  Calls stats.c, series.c (selected), series_dpemu.c
 * (ref_frames) and stdio.
 */
#include "bench_int.h"

static void print_table(FILE *f)
{
	const char *group = NULL;
	int unstable_any = 0;
	fprintf(f, "%-16s %-5s %7s %8s %8s %8s %8s %7s %6s  %s\n", "series", "kind",
	        "samples", "median", "p90", "p99", "max", "/kernel", "/trap",
	        "round medians");
	fprintf(f, "%-16s %-5s %7s %8s %8s %8s %8s %7s %6s  %s\n", "", "", "", "us",
	        "us", "us", "us", "", "", "min..max us");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != group) {
			group = s->group;
			fprintf(f, "-- %s\n", group);
		}
		if (s->n == 0 || s->failed || s->unavailable) {
			fprintf(f, "%-16s %-5s %7s  (%s)\n", s->name, kind_name[s->kind],
			        "-", s->unavailable ? "unavailable" : "failed");
			continue;
		}
		char k[16], t[16], rr[40];
		fmt_ratio(k, sizeof k, s->kref >= 0 && usable(&ser[s->kref])
		          ? ratio(s->med, ser[s->kref].med) : 0);
		fmt_ratio(t, sizeof t, s->op != OP_TRAP && s->op != OP_TIMER &&
		          s->kind == KIND_FAULT ? ratio(s->med, ser[trap_idx].med) : 0);
		int tiny = s->kind == KIND_SCAN && s->med < 0.1; /* plain scans */
		if (s->kind == KIND_SCAN && s->kref >= 0 && usable(&ser[s->kref]))
			snprintf(k, sizeof k, "%.0f", ratio(s->med, ser[s->kref].med));
		if (tiny)
			snprintf(rr, sizeof rr, "%.4f..%.4f%s", s->rmin, s->rmax,
			         unstable(s) ? " UNSTABLE" : "");
		else
			snprintf(rr, sizeof rr, "%.2f..%.2f%s", s->rmin, s->rmax,
			         unstable(s) ? " UNSTABLE" : "");
		unstable_any |= unstable(s);
		if (tiny)
			fprintf(f, "%-16s %-5s %7zu %8.4f %8.4f %8.4f %8.3f %7s %6s  %s\n",
			        s->name, kind_name[s->kind], s->n, s->med, s->p90,
			        s->p99, s->max, k, t, rr);
		else
			fprintf(f, "%-16s %-5s %7zu %8.2f %8.2f %8.2f %8.1f %7s %6s  %s\n",
			        s->name, kind_name[s->kind], s->n, s->med, s->p90,
			        s->p99, s->max, k, t, rr);
	}
	if (unstable_any)
		fprintf(f, "UNSTABLE: the medians of this series' rounds spread by more than "
		        "%.0fx (max/min):\n  its median is no single figure; rerun on a "
		        "quiet machine, or quote the range\n", UNSTABLE_SPREAD);
}

static void print_eviction(void)
{
	int any = 0;
	for (int i = 0; i < nser; i++)
		any |= ser[i].kind == KIND_SCAN && selected(&ser[i]);
	if (!any)
		return;
	printf("\neviction scans: a pool of %zu frames, %s backend; per run an "
	       "ascending write pass and\none pass of the scan untimed, then %d "
	       "timed passes; medians over the passes, counters\nper page touched:\n",
	       opt_ev_frames, bk_backend[ev_bk], EV_TIMED);
	printf("  %-15s %9s %8s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n", "series",
	       "pages/ms", "us/page", "/plain", "/first", "faults", "evict",
	       "swpout", "swpin", "ref", "ref%", "alias%");
	const struct series *first = first_idx >= 0 && usable(&ser[first_idx])
	                             ? &ser[first_idx] : NULL;
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		if (s->kind != KIND_SCAN || !selected(s))
			continue;
		if (!usable(s)) {
			printf("  %-15s %s\n", s->name,
			       s->unavailable ? "unavailable" : "failed");
			continue;
		}
		if (s->op != OP_D_SCAN) {
			printf("  %-15s %9.0f %8.4f\n", s->name, scan_rate(s) / 1000,
			       s->med);
			continue;
		}
		char pl[16], fi[16], rs[16];
		double rp = usable(&ser[s->kref]) ? ratio(s->med, ser[s->kref].med) : 0;
		if (rp > 0)
			snprintf(pl, sizeof pl, "%.0f", rp);
		else
			snprintf(pl, sizeof pl, "-");
		fmt_ratio(fi, sizeof fi, first ? ratio(s->med, first->med) : 0);
		if (ev_ref(0) && ev_ref(1))
			snprintf(rs, sizeof rs, "%.0f-%.0f", 100 * ref_share(s, 0),
			         100 * ref_share(s, 1));
		else
			snprintf(rs, sizeof rs, "-");
		printf("  %-15s %9.1f %8.2f %6s %6s %6.2f %6.2f %6.2f %6.2f %6.2f "
		       "%6s %6.0f\n", s->name, scan_rate(s) / 1000, s->med, pl, fi,
		       per_touch(s, s->ev_faults), per_touch(s, s->ev_evictions),
		       per_touch(s, s->ev_swap_outs), per_touch(s, s->ev_swap_ins),
		       per_touch(s, s->ev_ref_faults), rs, s->ev_resident ? 100.0 *
		       (double)s->ev_aliases / (double)s->ev_resident : 0.0);
	}
	printf("  /plain: over the same scan on populated memory; /first: over "
	       "plain-first4x, the\n  first touch of fresh memory (one kernel "
	       "fault per page).  ref%%: estimated share of\n  the time spent "
	       "emulating reference bits: reference faults x (median fault +\n"
	       "  revocation per page) of %s-ref .. of %s-ref-alias.  alias%%: "
	       "resident\n  pages not in their identity frame after the run (each "
	       "shown by its own mmap).\n", bk_name[ev_bk], bk_name[ev_bk]);
}

static void print_references(void)
{
	int any = 0;
	for (int b = 0; b < BK_COUNT; b++)
		any |= ref_idx[b] >= 0 && selected(&ser[ref_idx[b]]);
	if (!any)
		return;
	printf("\nreference faults (CLOCK, a pool of %zu frames all referenced: one "
	       "lap of the hand\nrevokes %zu pages; then the first write to each), "
	       "medians:\n", ref_frames(), ref_frames() - 1);
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		if (s->op != OP_D_REF || !selected(s))
			continue;
		if (!usable(s)) {
			printf("  %-16s %s\n", s->name, s->unavailable ? "unavailable"
			       : "failed");
			continue;
		}
		const struct series *fw = NULL;
		char want[24];
		snprintf(want, sizeof want, "%s-rand-w", bk_name[s->bk]);
		for (int j = 0; j < nser; j++)
			if (!strcmp(ser[j].name, want) && usable(&ser[j]))
				fw = &ser[j];
		char t[16], w[16];
		fmt_ratio(t, sizeof t, usable(&ser[trap_idx])
		          ? ratio(s->med, ser[trap_idx].med) : 0);
		fmt_ratio(w, sizeof w, fw ? ratio(s->med, fw->med) : 0);
		printf("  %-16s %6.2f us a fault = %s x trap floor, %s x %s; "
		       "revoking %.2f us a page\n", s->name, s->med, t, w, want,
		       revoke_us(s));
	}
	printf("  revoking: the one fault whose eviction made the lap, over the "
	       "pages it revoked.\n");
}

/* The whole time over the pages of each ascending pass, and what
   populating a pool at creation adds to it. */
static void print_chunks(void)
{
	printf("\nper-page cost of the ascending passes (whole time / pages):\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->kind != KIND_CHUNK || !usable(s) || !selected(s))
			continue;
		printf("  %-15s %.3f us/page  (%.2f x kernel-seqpass)\n", s->name,
		       per_page(s), ratio(per_page(s), per_page(&ser[k_seqpass])));
		if (s->populate && s->pop_frames)
			printf("  %-15s + populating the pool: %.3f us/frame, paid "
			       "once in dpemu_pool_create,\n  %-15s   not in the "
			       "figure above; with it %.3f us/page (%.2f x "
			       "kernel-seqpass)\n", "", pop_us(s), "",
			       per_page(s) + pop_us(s),
			       ratio(per_page(s) + pop_us(s),
			             per_page(&ser[k_seqpass])));
	}
}

/* The throughput of one thread and of two, per pair of thread series. */
static void print_threads(void)
{
	printf("\nthreads, throughput of the median pass (pages/ms):\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->kind != KIND_PASS || s->threads != 1 || !selected(s))
			continue;
		if (!usable(s) || !usable(s + 1)) {
			printf("  %-8s %s\n", pair_label(s),
			       s->unavailable ? "unavailable" : "failed");
			continue;
		}
		printf("  %-8s 1 thread %7.0f   2 threads %7.0f   2/1 %.2f x\n",
		       pair_label(s), throughput(s) / 1000, throughput(s + 1) / 1000,
		       ratio(throughput(s + 1), throughput(s)));
	}
}

/* The metadata bytes of each random-write anonymous series, and of the
   sparse measurement (or why it was not made). */
static void print_metadata(void)
{
	printf("\nmetadata (dpemu_space_stats metadata_bytes), %zu pages:\n",
	       opt_pages);
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (s->op != OP_D_ANON || !s->write || !s->random || !usable(s))
			continue;
		printf("  %-15s %" PRIu64 " B mapped, %" PRIu64 " B touched: "
		       "%.2f B/page\n", s->name, s->meta_map, s->meta_touched,
		       (double)s->meta_touched / (double)opt_pages);
	}
	if (sparse_pages)
		printf("  sparse          %" PRIu64 " pages at random over a 64x "
		       "larger mapping: %" PRIu64 " B, %.2f B/page\n", sparse_pages,
		       sparse_meta, (double)sparse_meta / (double)sparse_pages);
	else if (sparse_note[0])
		printf("  sparse          not measured: %s\n", sparse_note);
}

/* The most process VMAs each series saw (those that counted). */
static void print_vmas(void)
{
	printf("\nprocess VMAs, most seen:");
	for (int i = 0; i < nser; i++)
		if (ser[i].vmas_max)
			printf(" %s %" PRIu64 ",", ser[i].name, ser[i].vmas_max);
	printf("\n");
}

/* The project's targets: measured or not, met or not, and why. */
static void print_targets(void)
{
	printf("\ntargets (ratios of this run):\n");
	for (int i = 0; i < ntg; i++) {
		struct target *t = &tg[i];
		if (t->measured <= 0)
			printf("  %-62s %s %.2f  not measured\n", t->name, t->want,
			       t->limit);
		else
			printf("  %-62s %s %.2f  measured %6.2f (%s)  %s\n", t->name,
			       t->want, t->limit, t->measured, t->by,
			       t->met ? "MET" : "NOT MET");
		if (t->detail[0])
			printf("      %s\n", t->detail);
	}
}

/* What each selected series is, with its notes. */
static void print_series_list(void)
{
	printf("\nseries:\n");
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		printf("  %-16s %s\n", s->name, s->what);
		if (s->op == OP_K_FILE && !s->write && s->touches)
			printf("  %-16s (%ld of %ld accesses faulted: the kernel maps "
			       "cached neighbours per fault)\n", "", s->faulted,
			       s->touches);
		if (s->note[0])
			printf("  %-16s NOTE: %s\n", "", s->note);
	}
}

/* The report on stdout, after the run of secs seconds: the table, then
   each section in turn. */
void print_report(double secs)
{
	printf("%.1f s in all\n\n", secs);
	print_table(stdout);
	printf("\n/kernel: median over the median of the kernel series of the same "
	       "group (the first one;\nfor an eviction scan, the plain-memory "
	       "scan's); /trap: median over trap-floor's.\nTimer overhead not "
	       "subtracted.  A scan's samples are whole passes, per page.\n");
	print_chunks();
	print_threads();
	print_metadata();
	print_references();
	print_eviction();
	print_vmas();
	print_targets();
	print_series_list();
}
