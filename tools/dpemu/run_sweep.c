/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_sweep.c - `dpemu run --sweep N,N,... [--policy P,P,...]`: the
 * program run once per policy and number of frames, its standard input,
 * output and error /dev/null (every run must see the same input, and the
 * table owns standard output); then the table of faults by frames and
 * policy on stdout, the curve of faults against frames in an SVG file
 * (--svg: the live counterpart of the textbook plot), and every run's
 * report as a JSON object {"sweep": [...]} (--json).
 * The exit status: 0 if every run exited 0 with its report, else 1 (the
 * table marks the runs that did not).
 * Calls run_exec.c, run_report.c, stdio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpemu.h"
#include "run.h"

/* The runs, [policy][frames]. */
struct sweep {
	const struct run_config *c;
	struct run_result *r; /* npolicies x nsweep */
	bool ok;              /* every run exited 0 with its report */
};

static struct run_result *at(const struct sweep *s, int p, int i)
{
	return &s->r[p * s->c->nsweep + i];
}

static bool run_ok(const struct run_result *r)
{
	return !r->exec_errno && r->status == 0 && r->complete;
}

/* The table on stdout: one row per number of frames, one column per policy. */
static void print_table(const struct sweep *s)
{
	const struct run_config *c = s->c;
	const struct run_result *r0 = at(s, 0, 0);
	int w[RUN_MAX_POLICIES]; /* column widths: 12, or a long name's */

	printf("dpemu run --sweep: faults by frames and policy (pages of %" PRIu64
	       " bytes, backend %s)\nprogram:", run_get(r0, "page_size"),
	       r0->backend[0] ? r0->backend : "?");
	for (int i = 0; c->argv[i]; i++)
		printf(" %s", c->argv[i]);
	printf("\n%10s", "frames");
	for (int p = 0; p < c->npolicies; p++) {
		int len = (int)strlen(run_policy_label(c, c->policy[p]));
		w[p] = len > 12 ? len : 12;
		printf(" %*s", w[p], run_policy_label(c, c->policy[p]));
	}
	printf("\n");
	for (int i = 0; i < c->nsweep; i++) {
		printf("%10" PRIu64, c->sweep[i]);
		for (int p = 0; p < c->npolicies; p++) {
			const struct run_result *r = at(s, p, i);
			if (r->complete)
				printf(" %*" PRIu64 "%s", w[p] - 1, run_get(r, "faults"),
				       run_ok(r) ? " " : "*");
			else
				printf(" %*s*", w[p] - 1, "-");
		}
		printf("\n");
	}
	if (!s->ok)
		printf("* the program did not exit with status 0 (-: no report); run it once with "
		       "those settings to see why\n");
}

/* ------------------------------------------------------------------ SVG */

static const char *const colour[RUN_MAX_POLICIES] = { "#1f77b4", "#d62728", "#2ca02c",
	                                              "#9467bd", "#ff7f0e" };

/* The plot's geometry, in pixels, as bench/svg.c draws its own. */
enum { LEFT = 80, PLOTW = 560, PLOTH = 320, TOP = 60, RIGHTW = 130 };

struct plot {
	uint64_t xmin, xmax, ymax, ystep;
	bool logx; /* frames on a log scale when they span a factor of 8 */
};

/* log2(x) for x > 0, without libm (which the tool does not link): the
 * exponent, and ln of the mantissa by its atanh series. */
static double lg2(double x)
{
	double t, t2, term, sum;
	int e = 0;

	while (x >= 2.0) {
		x /= 2.0;
		e++;
	}
	while (x < 1.0) {
		x *= 2.0;
		e--;
	}
	t = (x - 1.0) / (x + 1.0);
	t2 = t * t;
	term = sum = t;
	for (int k = 3; k <= 21; k += 2) {
		term *= t2;
		sum += term / k;
	}
	return e + 2.0 * sum / 0.69314718055994531;
}

static double px(const struct plot *pl, uint64_t frames)
{
	double lo = pl->logx ? lg2((double)pl->xmin) : (double)pl->xmin;
	double hi = pl->logx ? lg2((double)pl->xmax) : (double)pl->xmax;
	double v = pl->logx ? lg2((double)frames) : (double)frames;

	return LEFT + (hi > lo ? (v - lo) / (hi - lo) : 0.5) * PLOTW;
}

static double py(const struct plot *pl, uint64_t faults)
{
	return TOP + PLOTH - (pl->ymax ? (double)faults / (double)pl->ymax : 0) * PLOTH;
}

/* The step of the faults axis: 1, 2 or 5 times a power of ten, the
 * smallest that covers v in at most 5 steps. */
static uint64_t axis_step(uint64_t v)
{
	uint64_t p = 1;

	for (;;) {
		if (p * 5 >= v)
			return p;
		if (p * 2 * 5 >= v)
			return p * 2;
		if (p * 5 * 5 >= v)
			return p * 5;
		if (p > UINT64_MAX / 100)
			return p * 10;
		p *= 10;
	}
}

static void svg_axes(FILE *f, const struct sweep *s, const struct plot *pl)
{
	for (uint64_t v = 0; v <= pl->ymax; v += pl->ystep) {
		double y = py(pl, v);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
		        LEFT, y, LEFT + PLOTW, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64 "</text>\n",
		        LEFT - 6, y + 4, v);
	}
	for (int i = 0; i < s->c->nsweep; i++) {
		double x = px(pl, s->c->sweep[i]);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n",
		        x, TOP, x, TOP + PLOTH);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%" PRIu64 "</text>\n",
		        x, TOP + PLOTH + 16, s->c->sweep[i]);
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
	        "stroke=\"#888\"/>\n", LEFT, TOP, PLOTW, PLOTH);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">frames in the pool%s</text>\n",
	        LEFT + PLOTW / 2, TOP + PLOTH + 36, pl->logx ? " (log scale)" : "");
	fprintf(f, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">"
	        "faults</text>\n", TOP + PLOTH / 2, TOP + PLOTH / 2);
}

/* One policy's curve, its points, and its line of the legend. */
static void svg_curve(FILE *f, const struct sweep *s, const struct plot *pl, int p)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[p]);
	for (int i = 0; i < s->c->nsweep; i++)
		if (at(s, p, i)->complete)
			fprintf(f, "%.1f,%.1f ", px(pl, s->c->sweep[i]),
			        py(pl, run_get(at(s, p, i), "faults")));
	fprintf(f, "\"/>\n");
	for (int i = 0; i < s->c->nsweep; i++)
		if (at(s, p, i)->complete)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
			        px(pl, s->c->sweep[i]), py(pl, run_get(at(s, p, i), "faults")), colour[p]);
	int y = TOP + 10 + 18 * p;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
	        "stroke-width=\"2\"/>\n", LEFT + PLOTW + 16, y, LEFT + PLOTW + 40, y, colour[p]);
	fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", LEFT + PLOTW + 46, y + 4,
	        run_policy_label(s->c, s->c->policy[p]));
}

static void xml_str(FILE *f, const char *str)
{
	for (; *str; str++) {
		switch (*str) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*str, f);
		}
	}
}

static int write_svg(const struct sweep *s)
{
	struct plot pl = { UINT64_MAX, 0, 0, 1, false };
	int width = LEFT + PLOTW + RIGHTW, height = TOP + PLOTH + 60;
	FILE *f = fopen(s->c->svg, "w");

	if (!f) {
		perror(s->c->svg);
		return -1;
	}
	for (int i = 0; i < s->c->nsweep; i++) {
		if (s->c->sweep[i] < pl.xmin)
			pl.xmin = s->c->sweep[i];
		if (s->c->sweep[i] > pl.xmax)
			pl.xmax = s->c->sweep[i];
		for (int p = 0; p < s->c->npolicies; p++)
			if (run_get(at(s, p, i), "faults") > pl.ymax)
				pl.ymax = run_get(at(s, p, i), "faults");
	}
	pl.ystep = axis_step(pl.ymax ? pl.ymax : 1);
	pl.ymax = (pl.ymax + pl.ystep - 1) / pl.ystep * pl.ystep;
	if (pl.ymax == 0)
		pl.ymax = pl.ystep;
	pl.logx = pl.xmax >= 8 * pl.xmin;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	        "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
	        width, height, width, height);
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">"
	        "Page faults against frames, by replacement policy</text>\n"
	        "<text x=\"10\" y=\"38\" fill=\"#333\">dpemu %s run:", dpemu_version());
	for (int i = 0; s->c->argv[i]; i++) {
		fputc(' ', f);
		xml_str(f, s->c->argv[i]);
	}
	fprintf(f, "; pages of %" PRIu64 " bytes</text>\n", run_get(at(s, 0, 0), "page_size"));
	svg_axes(f, s, &pl);
	for (int p = 0; p < s->c->npolicies; p++)
		svg_curve(f, s, &pl, p);
	fprintf(f, "</svg>\n");
	if (fclose(f) != 0) {
		perror(s->c->svg);
		return -1;
	}
	return 0;
}

static int write_json(const struct sweep *s)
{
	FILE *f = fopen(s->c->json, "w");

	if (!f) {
		perror(s->c->json);
		return -1;
	}
	fprintf(f, "{\n  \"sweep\": [\n");
	for (int p = 0; p < s->c->npolicies; p++)
		for (int i = 0; i < s->c->nsweep; i++) {
			fputs(p || i ? ",\n    " : "    ", f);
			run_json_object(f, s->c, at(s, p, i), "    ");
		}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f) != 0) {
		perror(s->c->json);
		return -1;
	}
	return 0;
}

int run_sweep(const struct run_config *c)
{
	struct sweep s = { c, calloc((size_t)c->npolicies * (size_t)c->nsweep,
	                             sizeof(struct run_result)), true };
	int rc = 0;

	if (!s.r) {
		fprintf(stderr, "dpemu run: out of memory\n");
		return RUN_FAILED;
	}
	for (int p = 0; p < c->npolicies; p++)
		for (int i = 0; i < c->nsweep; i++) {
			struct run_result *r = at(&s, p, i);
			if (run_program(c, c->policy[p], c->sweep[i], true, r) != 0) {
				free(s.r);
				return RUN_FAILED;
			}
			if (r->exec_errno) {
				int status = r->status;
				fprintf(stderr, "dpemu run: cannot run '%s': %s\n", c->argv[0],
				        strerror(r->exec_errno));
				free(s.r);
				return status;
			}
			s.ok = s.ok && run_ok(r);
		}
	print_table(&s);
	if ((c->svg && write_svg(&s) != 0) || (c->json && write_json(&s) != 0))
		rc = RUN_FAILED;
	else if (!s.ok)
		rc = 1;
	free(s.r);
	return rc;
}
