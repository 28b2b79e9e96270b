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

/* The plot's geometry, in pixels: the name column, the plot, the column of
   medians and ratios, one row per series, the title above. */
enum { LEFT = 150, PLOTW = 640, RIGHT = 190, ROWH = 16, TOP = 84 };

/* What the drawing needs to know before it starts: the decades of the log
   axis [dlo, dhi], the picture's size, where the rows end (ybot), and the
   trap floor's median (0: none) for the dashed line and the /trap column. */
struct svg_layout {
	int dlo, dhi;
	int width, height, ybot;
	double trapmed;
};

/* The x of value v (microseconds) on the log axis. */
static double svg_x(const struct svg_layout *l, double v)
{
	return LEFT + (double)PLOTW * (lg10(v) - l->dlo) / (double)(l->dhi - l->dlo);
}

/* The axis: decades covering every plotted value (p1 to max of each usable
   selected series), and the height its rows and group bands take. */
static void svg_layout(struct svg_layout *l)
{
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
	l->dlo = (int)(lg10(lo) + 30) - 30; /* floor */
	l->dhi = -((int)(-lg10(hi) + 30) - 30); /* ceil */
	if (l->dhi <= l->dlo)
		l->dhi = l->dlo + 1;
	l->width = LEFT + PLOTW + RIGHT;
	l->height = TOP + rows * ROWH + groups * 18 + 126;
	l->ybot = l->height - 116;
	l->trapmed = usable(&ser[trap_idx]) ? ser[trap_idx].med : 0;
}

/* The <svg> element, a white background, the title and the run's line
   (version, kernel, machine, options, date). */
static void svg_header(FILE *f, const struct svg_layout *l, const struct machine *mc)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	        "font-size=\"11\">\n", l->width, l->height, l->width, l->height);
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
}

/* The grid: a line and a label above and below at each decade, light
   lines at 2 and 5 between; the axis' caption, the right column's heading,
   and the trap floor's median as a dashed line. */
static void svg_axis(FILE *f, const struct svg_layout *l)
{
	for (int d = l->dlo; d <= l->dhi; d++) {
		double v = pow10i(d);
		double x = svg_x(l, v);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"#bbb\"/>\n", x, TOP - 8, x, l->ybot);
		char lab[32];
		if (d >= 0)
			snprintf(lab, sizeof lab, "%.0f", v);
		else
			snprintf(lab, sizeof lab, "%.*f", -d, v);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, TOP - 12, lab);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, l->ybot + 14, lab);
		if (d < l->dhi)
			for (int m = 2; m <= 5; m += 3) {
				double xm = svg_x(l, v * m);
				fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
				        "stroke=\"#e6e6e6\"/>\n", xm, TOP - 4, xm, l->ybot);
			}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">microseconds "
	        "(log scale)</text>\n", LEFT + PLOTW / 2, l->ybot + 28);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\" "
	        "font-family=\"DejaVu Sans Mono, monospace\" xml:space=\"preserve\">"
	        " median /kernel  /trap</text>\n", LEFT + PLOTW + 8, TOP - 30);
	if (l->trapmed > 0) {
		double x = svg_x(l, l->trapmed);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"#000\" stroke-dasharray=\"3,3\" opacity=\"0.5\"/>\n",
		        x, TOP - 4, x, l->ybot);
	}
}

/* A grey band across the picture at y with the group's title. */
static void svg_group(FILE *f, const struct svg_layout *l, int y, const char *group)
{
	fprintf(f, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"16\" "
	        "fill=\"#f0f0f0\"/>\n", y, l->width);
	fprintf(f, "<text x=\"8\" y=\"%d\" font-weight=\"bold\">", y + 12);
	xml_str(f, group);
	fprintf(f, "</text>\n");
}

/* A series' colour: its backend's, black for the trap floor, grey for the
   timer. */
static const char *svg_colour(const struct series *s)
{
	if (s->op == OP_TIMER)
		return "#999999";
	if (s->op == OP_TRAP)
		return "#000000";
	return bk_colour[s->bk];
}

/* The distribution of s on the row centred at cy: p1..p99 whisker,
   p10..p90 light box, p25..p75 box, median bar, max dot. */
static void svg_box(FILE *f, const struct svg_layout *l, const struct series *s,
                    int cy, const char *col)
{
	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
	        "stroke=\"%s\"/>\n", svg_x(l, s->p1), cy, svg_x(l, s->p99), cy, col);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
	        "stroke=\"%s\"/>\n", svg_x(l, s->p99), cy - 3, svg_x(l, s->p99), cy + 3,
	        col);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
	        "stroke=\"%s\"/>\n", svg_x(l, s->p1), cy - 3, svg_x(l, s->p1), cy + 3,
	        col);
	fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" "
	        "fill=\"%s\" opacity=\"0.25\"/>\n", svg_x(l, s->p10), cy - 5,
	        svg_x(l, s->p90) - svg_x(l, s->p10) + 0.5, col);
	fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" "
	        "fill=\"%s\" opacity=\"0.6\"/>\n", svg_x(l, s->p25), cy - 5,
	        svg_x(l, s->p75) - svg_x(l, s->p25) + 0.5, col);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
	        "stroke=\"black\" stroke-width=\"2\"/>\n", svg_x(l, s->med), cy - 6,
	        svg_x(l, s->med), cy + 6);
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"2.5\" fill=\"none\" "
	        "stroke=\"%s\"/>\n", svg_x(l, s->max), cy, col);
}

/* The right column of the row at cy: the median, /kernel (a scan: over
   the plain-memory scan, no decimals) and /trap (fault kinds only). */
static void svg_numbers(FILE *f, const struct svg_layout *l, const struct series *s,
                        int cy)
{
	char k[16], t[16];
	fmt_ratio(k, sizeof k, s->kref >= 0 && usable(&ser[s->kref])
	          ? ratio(s->med, ser[s->kref].med) : 0);
	fmt_ratio(t, sizeof t, s->op != OP_TRAP && s->op != OP_TIMER &&
	          s->kind == KIND_FAULT ? ratio(s->med, l->trapmed) : 0);
	if (s->kind == KIND_SCAN && s->kref >= 0 && usable(&ser[s->kref]))
		snprintf(k, sizeof k, "%.0f", ratio(s->med, ser[s->kref].med));
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-family=\"DejaVu Sans Mono, "
	        "monospace\" xml:space=\"preserve\">%7.*f %7s %6s</text>\n",
	        LEFT + PLOTW + 8, cy + 4, s->med < 0.1 ? 4 : 2, s->med, k, t);
}

/* One series' row at y: its name, then its distribution and numbers, or
   why it has none. */
static void svg_row(FILE *f, const struct svg_layout *l, const struct series *s, int y)
{
	int cy = y + ROWH / 2;
	const char *col = svg_colour(s);

	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"%s\">%s"
	        "</text>\n", LEFT - 8, cy + 4, col, s->name);
	if (!usable(s)) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\" font-style="
		        "\"italic\">%s</text>\n", LEFT + 8, cy + 4,
		        s->unavailable ? "unavailable on this kernel" : "failed");
		return;
	}
	svg_box(f, l, s, cy, col);
	svg_numbers(f, l, s, cy);
}

/* Every selected series, a row each, under a band at each new group. */
static void svg_rows(FILE *f, const struct svg_layout *l)
{
	int y = TOP;
	const char *g = NULL;
	for (int i = 0; i < nser; i++) {
		struct series *s = &ser[i];
		if (!selected(s))
			continue;
		if (s->group != g) {
			g = s->group;
			svg_group(f, l, y, g);
			y += 18;
		}
		svg_row(f, l, s, y);
		y += ROWH;
	}
}

/* Below the axis: a sample box plot with what its parts mean, the
   backends' colours, and what each kind of sample is. */
static void svg_legend(FILE *f, const struct svg_layout *l)
{
	int ly = l->ybot + 48;
	int lx = LEFT;
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
}

/* Write the SVG to path.  0, or -1 with errno set (the file may then be
   partly written). */
int write_svg(const char *path, const struct machine *mc)
{
	struct svg_layout l;
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	svg_layout(&l);
	svg_header(f, &l, mc);
	svg_axis(f, &l);
	svg_rows(f, &l);
	svg_legend(f, &l);
	fprintf(f, "</svg>\n");
	return fclose(f) == 0 ? 0 : -1;
}
