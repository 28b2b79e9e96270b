/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svg.c - the --svg file (write_svg): the latency distribution of each
 * series on a log scale, one row per series.  Calls stats.c (lg10,
 * pow10i, ratio), series.c (selected) and stdio.
 */
#include "bench_int.h"

/* ----------------------------------------------------------------- SVG */

static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *const bk_colour[BK_COUNT] = { "#555555", "#1f77b4", "#d62728",
	                                          "#2ca02c" };

int write_svg(const char *path, const struct machine *mc)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	/* the log-scale axis, decades covering every plotted value */
	double lo = 1e9, hi = 0;
	int rows = 0, groups = 0;
	const char *g = NULL;
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != g) {
			g = s->group;
			groups++;
		}
		rows++;
		if (!usable(s))
			continue;
		if (s->p1 > 0 && s->p1 < lo)
			lo = s->p1;
		if (s->max > hi)
			hi = s->max;
	}
	if (hi <= 0) {
		lo = 0.01;
		hi = 10;
	}
	int dlo = (int)(lg10(lo) + 30) - 30; /* floor */
	int dhi = -((int)(-lg10(hi) + 30) - 30); /* ceil */
	if (dhi <= dlo)
		dhi = dlo + 1;
	const int left = 150, plotw = 640, right = 190, rowh = 16, top = 84;
	const int width = left + plotw + right;
	const int height = top + rows * rowh + groups * 18 + 126;
#define XS(v) (left + (double)plotw * (lg10(v) - dlo) / (double)(dhi - dlo))

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	        "font-size=\"11\">\n", width, height, width, height);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\">"
	        "dpemu fault latency, per access or per page (log scale, "
	        "microseconds)</text>\n", 10);
	fprintf(f, "<text x=\"10\" y=\"38\" fill=\"#333\">dpemu %s; Linux ",
	        dpemu_version());
	xml_str(f, mc->un.release);
	fprintf(f, " %s, %ld CPUs (", mc->un.machine, mc->cpus);
	xml_str(f, mc->cpu);
	fprintf(f, "); %zu pages x %u rounds; %s</text>\n", opt_pages, opt_rounds,
	        mc->when);

	int ybot = height - 116;
	/* grid: decades, with 2 and 5 between */
	for (int d = dlo; d <= dhi; d++) {
		double v = pow10i(d);
		double x = XS(v);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"#bbb\"/>\n", x, top - 8, x, ybot);
		char lab[32];
		if (d >= 0)
			snprintf(lab, sizeof lab, "%.0f", v);
		else
			snprintf(lab, sizeof lab, "%.*f", -d, v);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, top - 12, lab);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, ybot + 14, lab);
		if (d < dhi)
			for (int m = 2; m <= 5; m += 3) {
				double xm = XS(v * m);
				fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
				        "stroke=\"#e6e6e6\"/>\n", xm, top - 4, xm, ybot);
			}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">microseconds "
	        "(log scale)</text>\n", left + plotw / 2, ybot + 28);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\" "
	        "font-family=\"DejaVu Sans Mono, monospace\" xml:space=\"preserve\">"
	        " median /kernel  /trap</text>\n", left + plotw + 8, top - 30);

	int y = top;
	g = NULL;
	double trapmed = usable(&ser[trap_idx]) ? ser[trap_idx].med : 0;
	if (trapmed > 0) {
		double x = XS(trapmed);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"#000\" stroke-dasharray=\"3,3\" opacity=\"0.5\"/>\n",
		        x, top - 4, x, ybot);
	}
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != g) {
			g = s->group;
			fprintf(f, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"16\" "
			        "fill=\"#f0f0f0\"/>\n", y, width);
			fprintf(f, "<text x=\"8\" y=\"%d\" font-weight=\"bold\">", y + 12);
			xml_str(f, g);
			fprintf(f, "</text>\n");
			y += 18;
		}
		int cy = y + rowh / 2;
		const char *col = bk_colour[s->bk];
		if (s->op == OP_TRAP)
			col = "#000000";
		if (s->op == OP_TIMER)
			col = "#999999";
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"%s\">%s"
		        "</text>\n", left - 8, cy + 4, col, s->name);
		if (!usable(s)) {
			fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\" font-style="
			        "\"italic\">%s</text>\n", left + 8, cy + 4,
			        s->unavailable ? "unavailable on this kernel" : "failed");
			y += rowh;
			continue;
		}
		/* p1..p99 whisker, p10..p90 light box, p25..p75 box, median bar,
		   max dot */
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\"/>\n", XS(s->p1), cy, XS(s->p99), cy, col);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\"/>\n", XS(s->p99), cy - 3, XS(s->p99), cy + 3, col);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\"/>\n", XS(s->p1), cy - 3, XS(s->p1), cy + 3, col);
		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" "
		        "fill=\"%s\" opacity=\"0.25\"/>\n", XS(s->p10), cy - 5,
		        XS(s->p90) - XS(s->p10) + 0.5, col);
		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" "
		        "fill=\"%s\" opacity=\"0.6\"/>\n", XS(s->p25), cy - 5,
		        XS(s->p75) - XS(s->p25) + 0.5, col);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"black\" stroke-width=\"2\"/>\n", XS(s->med), cy - 6,
		        XS(s->med), cy + 6);
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"2.5\" fill=\"none\" "
		        "stroke=\"%s\"/>\n", XS(s->max), cy, col);
		char k[16], t[16];
		fmt_ratio(k, sizeof k, s->kref >= 0 && usable(&ser[s->kref])
		          ? ratio(s->med, ser[s->kref].med) : 0);
		fmt_ratio(t, sizeof t, s->op != OP_TRAP && s->op != OP_TIMER &&
		          s->kind == KIND_FAULT ? ratio(s->med, trapmed) : 0);
		if (s->kind == KIND_SCAN && s->kref >= 0 && usable(&ser[s->kref]))
			snprintf(k, sizeof k, "%.0f", ratio(s->med, ser[s->kref].med));
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-family=\"DejaVu Sans Mono, "
		        "monospace\" xml:space=\"preserve\">%7.*f %7s %6s</text>\n",
		        left + plotw + 8, cy + 4, s->med < 0.1 ? 4 : 2, s->med, k, t);
		y += rowh;
	}
	/* legend */
	int ly = ybot + 48;
	int lx = left;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
	        lx, ly, lx + 120, ly);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"90\" height=\"10\" fill=\"#333\" "
	        "opacity=\"0.25\"/>\n", lx + 15, ly - 5);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"50\" height=\"10\" fill=\"#333\" "
	        "opacity=\"0.6\"/>\n", lx + 35, ly - 5);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\" "
	        "stroke-width=\"2\"/>\n", lx + 60, ly - 6, lx + 60, ly + 6);
	fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"none\" "
	        "stroke=\"#333\"/>\n", lx + 150, ly);
	fprintf(f, "<text x=\"%d\" y=\"%d\">whisker p1..p99, light box p10..p90, "
	        "dark box p25..p75, bar median, circle max; dashed line: trap-floor "
	        "median</text>\n", lx + 165, ly + 4);
	ly += 20;
	fprintf(f, "<text x=\"%d\" y=\"%d\">", lx, ly);
	for (int b = 0; b < BK_COUNT; b++)
		fprintf(f, "<tspan fill=\"%s\" font-weight=\"bold\">%s</tspan>%s",
		        bk_colour[b], b ? bk_what[b] : "kernel (grey)",
		        b + 1 < BK_COUNT ? "   " : "");
	fprintf(f, "</text>\n");
	ly += 16;
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#333\">fault: one access timed "
	        "alone; chunk: 64 ascending pages timed together, per page; pass: "
	        "wall time of a whole pass per page</text>\n", lx, ly);
	ly += 16;
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#333\">scan: one timed pass over "
	        "an eviction scan's working set, per page; its /kernel is over the "
	        "same scan on plain memory</text>\n", lx, ly);
	fprintf(f, "</svg>\n");
#undef XS
	return fclose(f) == 0 ? 0 : -1;
}
