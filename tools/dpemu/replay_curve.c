/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay_curve.c - `dpemu replay --curve FROM-TO`: each policy's misses
 * for every memory size in the range, and the SVG picture of them.
 * Exact LRU is a stack algorithm: its misses for every size come from one
 * pass over the string (Mattson, Gecsei, Slutz and Traiger, 1970): the
 * stack distance of a reference is the number of distinct pages used
 * since the last reference to its page, itself included, and a memory of
 * k frames misses exactly the references whose distance exceeds k (first
 * references have none: they always miss).  The distance is counted with
 * a Fenwick tree over the references that are the last of their page so
 * far, so the pass takes O(n log n).  The other policies are simulated
 * once per size (replay_sim.c).  Calls libc and stdio only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

/* ---- exact LRU, every size at once --------------------------------------------- */

static void fenwick_add(uint32_t *t, size_t n, size_t i, int32_t v)
{
	for (i++; i <= n; i += i & -i)
		t[i - 1] = (uint32_t)((int32_t)t[i - 1] + v);
}

/* The sum of positions 0 .. i. */
static uint64_t fenwick_sum(const uint32_t *t, size_t i)
{
	uint64_t sum = 0;

	for (i++; i > 0; i -= i & -i)
		sum += t[i - 1];
	return sum;
}

int rp_lru_curve(const struct rp_string *s, uint64_t *out)
{
	uint32_t *tree = calloc(s->n, sizeof *tree);
	size_t *last = malloc(s->npages * sizeof *last);
	uint64_t *hist = calloc(s->npages + 1, sizeof *hist); /* hist[d]: distance d */
	uint64_t cold = 0;

	if (!tree || !last || !hist) {
		free(tree);
		free(last);
		free(hist);
		return -1;
	}
	for (size_t p = 0; p < s->npages; p++)
		last[p] = SIZE_MAX;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t p = s->page[i];
		if (last[p] == SIZE_MAX) {
			cold++;
		} else {
			/* Distinct pages used after last[p], before i; and p. */
			uint64_t d = fenwick_sum(tree, i) - fenwick_sum(tree, last[p]) + 1;
			hist[d]++;
			fenwick_add(tree, s->n, last[p], -1);
		}
		fenwick_add(tree, s->n, i, 1);
		last[p] = i;
	}
	/* k frames miss the first references and every distance above k. */
	uint64_t above = 0;
	for (size_t k = s->npages; k >= 1; k--) {
		out[k - 1] = cold + above;
		above += hist[k];
	}
	free(tree);
	free(last);
	free(hist);
	return 0;
}

/* ---- every policy, every size ------------------------------------------------- */

int rp_curves(const struct rp_string *s, size_t from, size_t to, uint64_t seed,
              struct rp_curve *curves, size_t n)
{
	uint64_t *lru = NULL, evictions;

	for (size_t c = 0; c < n; c++) {
		curves[c].misses = malloc((to - from + 1) * sizeof *curves[c].misses);
		if (!curves[c].misses)
			return -1;
		if (curves[c].policy == RP_LRU) {
			if (!lru && (!(lru = malloc(s->npages * sizeof *lru)) || rp_lru_curve(s, lru)))
				goto fail;
			for (size_t k = from; k <= to; k++)
				curves[c].misses[k - from] = lru[(k < s->npages ? k : s->npages) - 1];
			continue;
		}
		for (size_t k = from; k <= to; k++)
			if (rp_sim_run(curves[c].policy, k, seed, s, &curves[c].misses[k - from],
			               &evictions) != 0)
				goto fail;
	}
	free(lru);
	return 0;
fail:
	free(lru);
	return -1;
}

/* ---- the picture ----------------------------------------------------------------------- */

#define SVG_W 720
#define SVG_H 440
#define PAD_L 70
#define PAD_R 150
#define PAD_T 40
#define PAD_B 50

static const char *const colours[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                       "#8c564b" };

/* A round step for about `want` ticks over [0, span]. */
static uint64_t tick_step(uint64_t span, uint64_t want)
{
	uint64_t step = 1;

	while (span / step > want) {
		if (span / (step * 2) <= want)
			return step * 2;
		if (span / (step * 5) <= want)
			return step * 5;
		step *= 10;
	}
	return step;
}

static double x_of(size_t k, size_t from, size_t to)
{
	double w = SVG_W - PAD_L - PAD_R;
	return PAD_L + (to == from ? w / 2 : w * (double)(k - from) / (double)(to - from));
}

static double y_of(uint64_t m, uint64_t ymax)
{
	double h = SVG_H - PAD_T - PAD_B;
	return SVG_H - PAD_B - h * (double)m / (double)ymax;
}

/* The axes, their ticks and their labels. */
static void svg_axes(FILE *f, size_t from, size_t to, uint64_t ymax)
{
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", PAD_L,
	        SVG_H - PAD_B, SVG_W - PAD_R, SVG_H - PAD_B);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", PAD_L,
	        PAD_T, PAD_L, SVG_H - PAD_B);
	uint64_t xs = tick_step(to - from, 12);
	for (size_t k = from; k <= to; k += xs) {
		double x = x_of(k, from, to);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n", x,
		        SVG_H - PAD_B, x, SVG_H - PAD_B + 5);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%zu</text>\n", x,
		        SVG_H - PAD_B + 20, k);
	}
	uint64_t ys = tick_step(ymax, 8);
	for (uint64_t m = 0; m <= ymax; m += ys) {
		double y = y_of(m, ymax);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
		        PAD_L, y, SVG_W - PAD_R, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64 "</text>\n",
		        PAD_L - 8, y + 4, m);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">frames</text>\n",
	        (PAD_L + SVG_W - PAD_R) / 2, SVG_H - 12);
	fprintf(f, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" "
	        "transform=\"rotate(-90 18 %d)\">misses</text>\n", SVG_H / 2, SVG_H / 2);
}

/* Curve c: its line, its points (a ring where it has more misses than with
 * one frame fewer: Belady's anomaly) and its legend entry. */
static void svg_curve(FILE *f, const struct rp_curve *c, size_t i, size_t from, size_t to,
                      uint64_t ymax)
{
	const char *col = colours[i % (sizeof colours / sizeof colours[0])];

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
	for (size_t k = from; k <= to; k++)
		fprintf(f, "%s%.1f,%.1f", k == from ? "" : " ", x_of(k, from, to),
		        y_of(c->misses[k - from], ymax));
	fprintf(f, "\"/>\n");
	for (size_t k = from; k <= to; k++) {
		int anomaly = k > from && c->misses[k - from] > c->misses[k - from - 1];
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"%s><title>%s, %zu "
		        "frames: %" PRIu64 " misses%s</title></circle>\n", x_of(k, from, to),
		        y_of(c->misses[k - from], ymax), anomaly ? 6 : 3, anomaly ? "none" : col,
		        anomaly ? " stroke=\"black\" stroke-width=\"2\"" : "",
		        rp_policy_name(c->policy), k, c->misses[k - from],
		        anomaly ? " (more than with one frame fewer: Belady's anomaly)" : "");
	}
	double ly = PAD_T + 20.0 * (double)i;
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
	        "stroke-width=\"2\"/>\n", SVG_W - PAD_R + 15, ly, SVG_W - PAD_R + 40, ly, col);
	fprintf(f, "<text x=\"%d\" y=\"%.1f\">%s</text>\n", SVG_W - PAD_R + 46, ly + 4,
	        rp_policy_name(c->policy));
}

int rp_curve_svg(FILE *f, const struct rp_string *s, size_t from, size_t to,
                 const struct rp_curve *curves, size_t n)
{
	uint64_t ymax = 1;

	for (size_t c = 0; c < n; c++)
		for (size_t k = from; k <= to; k++)
			if (curves[c].misses[k - from] > ymax)
				ymax = curves[c].misses[k - from];
	ymax += tick_step(ymax, 8) - ymax % tick_step(ymax, 8);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
	        SVG_W, SVG_H, SVG_W, SVG_H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">misses against "
	        "frames: %zu references, %zu pages</text>\n", (PAD_L + SVG_W - PAD_R) / 2, s->n,
	        s->npages);
	svg_axes(f, from, to, ymax);
	for (size_t c = 0; c < n; c++)
		svg_curve(f, &curves[c], c, from, to, ymax);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">ringed: Belady's anomaly</text>\n",
	        SVG_W - PAD_R + 15, PAD_T + 20 * (int)n + 10);
	fprintf(f, "</svg>\n");
	return ferror(f) ? -1 : 0;
}
