/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.c - what the samples say: sorting and quantiles (summarize: min,
 * percentiles, median, mean, the spread of the per-round medians), the
 * median of one round (close_round), the derived figures the table, the
 * JSON and the SVG print (per page, per touch, throughput, eviction
 * rates, the reference-fault share), and the project's targets
 * (compute_targets, into tg[]).  Reads ser[] and the options; calls libc
 * only (lg10 and pow10i stand in for libm, which the tool does not link).
 */
#include "bench_int.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted v[0..n), nearest rank, in us. */
static double quantile_us(const uint64_t *v, size_t n, double q)
{
	if (n == 0)
		return 0.0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

/* log10 without libm (the tool links no -lm). */
double lg10(double x)
{
	if (x <= 0)
		return -30.0;
	int e = 0;
	while (x >= 2.0) {
		x /= 2.0;
		e++;
	}
	while (x < 1.0) {
		x *= 2.0;
		e--;
	}
	double y = (x - 1.0) / (x + 1.0), y2 = y * y, term = y, sum = 0.0;
	for (int k = 1; k < 41; k += 2) {
		sum += term / k;
		term *= y2;
	}
	return (2.0 * sum + e * 0.69314718055994531) / 2.30258509299404568;
}

double pow10i(int e)
{
	double v = 1.0;
	for (; e > 0; e--)
		v *= 10.0;
	for (; e < 0; e++)
		v /= 10.0;
	return v;
}

/* Record one round's samples (appended at s->ns + base). */
void close_round(struct series *s, size_t base)
{
	size_t n = s->n - base;
	if (n == 0)
		return;
	uint64_t *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return;
	memcpy(tmp, s->ns + base, n * sizeof *tmp);
	qsort(tmp, n, sizeof *tmp, cmp_u64);
	if (s->rounds_done < MAX_ROUND_MEDS)
		s->round_med[s->rounds_done] = quantile_us(tmp, n, 0.5) /
		                               (s->kind == KIND_SCAN ? 1000.0 : 1.0);
	s->rounds_done++;
	free(tmp);
}

/* ------------------------------------------------------------- report */

void summarize(struct series *s)
{
	if (s->n == 0)
		return;
	qsort(s->ns, s->n, sizeof *s->ns, cmp_u64);
	s->min = quantile_us(s->ns, s->n, 0.0);
	s->p1 = quantile_us(s->ns, s->n, 0.01);
	s->p10 = quantile_us(s->ns, s->n, 0.10);
	s->p25 = quantile_us(s->ns, s->n, 0.25);
	s->med = quantile_us(s->ns, s->n, 0.50);
	s->p75 = quantile_us(s->ns, s->n, 0.75);
	s->p90 = quantile_us(s->ns, s->n, 0.90);
	s->p99 = quantile_us(s->ns, s->n, 0.99);
	s->max = (double)s->ns[s->n - 1] / 1000.0;
	if (s->kind == KIND_SCAN) { /* picoseconds per page */
		s->min /= 1000.0, s->p1 /= 1000.0, s->p10 /= 1000.0;
		s->p25 /= 1000.0, s->med /= 1000.0, s->p75 /= 1000.0;
		s->p90 /= 1000.0, s->p99 /= 1000.0, s->max /= 1000.0;
	}
	if (s->total_pages)
		s->mean = (double)s->total_ns / 1000.0 / (double)s->total_pages;
	else {
		double sum = 0;
		for (size_t i = 0; i < s->n; i++)
			sum += (double)s->ns[i];
		s->mean = sum / 1000.0 / (double)s->n;
	}
	size_t r = s->rounds_done < MAX_ROUND_MEDS ? s->rounds_done : MAX_ROUND_MEDS;
	s->rmin = s->rmax = r ? s->round_med[0] : 0;
	for (size_t i = 1; i < r; i++) {
		if (s->round_med[i] < s->rmin)
			s->rmin = s->round_med[i];
		if (s->round_med[i] > s->rmax)
			s->rmax = s->round_med[i];
	}
}

/* Whether s's round medians spread by more than UNSTABLE_SPREAD (max over
 * min): its median is then no single figure to quote.  (One round, or a
 * zero minimum, cannot say.) */
int unstable(const struct series *s)
{
	return s->rounds_done > 1 && s->rmin > 0 && s->rmax / s->rmin > UNSTABLE_SPREAD;
}

double ratio(double a, double b)
{
	return a > 0 && b > 0 ? a / b : 0.0;
}

void fmt_ratio(char *buf, size_t n, double r)
{
	if (r > 0)
		snprintf(buf, n, "%.2f", r);
	else
		snprintf(buf, n, "-");
}

int usable(const struct series *s)
{
	return s->n > 0 && !s->failed && !s->unavailable;
}

/* Per-page cost used for the sequential target: whole time / pages. */
double per_page(const struct series *s)
{
	return s->mean;
}

/* Microseconds per frame a populated pool's creation took (0: not
   populated, or not measured).  A pool of a chunk series has one frame per
   page, so this is also its cost per page. */
double pop_us(const struct series *s)
{
	return s->pop_frames ? (double)s->pop_ns / 1000.0 / (double)s->pop_frames
	                     : 0.0;
}

/* Thread throughput in pages per second, from the median pass. */
double throughput(const struct series *s)
{
	return usable(s) && s->med > 0 ? 1e6 / s->med : 0.0;
}


struct target tg[5];
int ntg;

static const struct series *best_of(int first_kernel_ref, const char *suffix,
                                    double (*val)(const struct series *))
{
	const struct series *best = NULL;
	(void)first_kernel_ref;
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		const char *d = strchr(s->name, '-');
		if (s->bk == BK_NONE || !usable(s) || !d || strcmp(d + 1, suffix))
			continue;
		if (!best || val(s) < val(best))
			best = s;
	}
	return best;
}

static double med_of(const struct series *s)
{
	return s->med;
}

/* Target 1, random first touch: the best backend's median / the trap floor. */
static void target_rand(struct target *t)
{
	const struct series *trap = &ser[trap_idx];
	const struct series *kw = &ser[k_rand_w];
	const struct series *b;

	t->name = "random first touch, best mode, median / trap floor";
	t->want = "<=";
	t->limit = TARGET_RAND_TRAP;
	b = best_of(0, "rand-w", med_of);
	if (b && usable(trap)) {
		t->measured = ratio(b->med, trap->med);
		t->by = b->name;
		snprintf(t->detail, sizeof t->detail,
		         "%s median %.2f us, trap floor %.2f us, kernel %.2f us "
		         "(trap floor / kernel %.2f)", b->name, b->med, trap->med,
		         kw->med, ratio(trap->med, kw->med));
	}
}

/* Target 2, sequential first touch, fault_around 16: per page / the kernel's. */
static void target_seq(struct target *t)
{
	const struct series *trap = &ser[trap_idx];
	const struct series *b;

	t->name = "sequential first touch, fault_around 16, per page / kernel's";
	t->want = "<=";
	t->limit = TARGET_SEQ_KERNEL;
	/* the best of the lazily committed and the populated pools */
	const struct series *lazy = best_of(0, "fa16", per_page);
	const struct series *pop = best_of(0, "fa16p", per_page);
	b = !pop || (lazy && per_page(lazy) <= per_page(pop)) ? lazy : pop;
	if (b && usable(&ser[k_seqpass])) {
		const struct series *k = &ser[k_seqpass];
		size_t pos;
		t->measured = ratio(per_page(b), per_page(k));
		t->by = b->name;
		pos = (size_t)snprintf(t->detail, sizeof t->detail,
		         "%s %.3f us/page, kernel %.3f us/page (whole "
		         "passes)", b->name, per_page(b), per_page(k));
		if (b->populate && pos < sizeof t->detail)
			pos += (size_t)snprintf(t->detail + pos,
			         sizeof t->detail - pos, "; its pool was "
			         "populated at creation, %.3f us/frame not "
			         "in the figure", pop_us(b));
		if (lazy && lazy != b && pos < sizeof t->detail)
			pos += (size_t)snprintf(t->detail + pos,
			         sizeof t->detail - pos, "; unpopulated, "
			         "best %s %.3f us/page = %.2f x the kernel's",
			         lazy->name, per_page(lazy),
			         ratio(per_page(lazy), per_page(k)));
		if (pos < sizeof t->detail)
			snprintf(t->detail + pos, sizeof t->detail - pos,
			         "; a memfd page, as the pool's frames are, "
			         "costs the kernel %.3f us/page "
			         "(kernel-shm-pass), and the trap floor over "
			         "%d pages adds %.3f us/page",
			         usable(&ser[k_shmpass])
			         ? per_page(&ser[k_shmpass]) : 0.0,
			         FA_PAGES, trap->med / FA_PAGES);
	}
}

/* Target 3, copy-on-write break: the best backend's median / the kernel's. */
static void target_cow(struct target *t)
{
	const struct series *trap = &ser[trap_idx];
	const struct series *b;

	t->name = "copy-on-write break, best mode, median / kernel's";
	t->want = "<=";
	t->limit = TARGET_COW_KERNEL;
	b = best_of(0, "cow", med_of);
	if (b && usable(&ser[k_cow])) {
		const struct series *k = &ser[k_cow];
		t->measured = ratio(b->med, k->med);
		t->by = b->name;
		snprintf(t->detail, sizeof t->detail,
		         "%s median %.2f us, kernel %.2f us; the trap floor alone "
		         "is %.2f us = %.2f x the kernel's break, and the first "
		         "touch of the copy's memfd page %.2f us (kernel-shm-w)",
		         b->name, b->med, k->med, trap->med,
		         ratio(trap->med, k->med),
		         usable(&ser[k_shmw]) ? ser[k_shmw].med : 0.0);
	}
}

/* Target 4, two threads: the best in-thread backend's throughput / one's. */
static void target_threads(struct target *t)
{
	t->name = "two threads on disjoint pages, throughput / one thread's (segv, sigbus)";
	t->want = ">=";
	t->limit = TARGET_THREADS;
	t->higher_is_better = 1;
	double best = 0;
	const struct series *bb = NULL;
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		if (s->op != OP_D_THREADS || s->threads != 1 ||
		    s->bk == BK_UFFD)
			continue; /* the target is for the in-thread modes */
		double r = ratio(throughput(s + 1), throughput(s));
		if (r > best) {
			best = r;
			bb = s;
		}
	}
	if (bb) {
		t->measured = best;
		t->by = bb->name;
		size_t pos = (size_t)snprintf(
			t->detail, sizeof t->detail,
			"machine (spin control) %.2f x; trap floor %.2f x; "
			"kernel faults %.2f x (%.0f -> %.0f pages/ms)",
			ratio(throughput(&ser[spin_2thr]), throughput(&ser[spin_1thr])),
			ratio(throughput(&ser[trap_2thr]), throughput(&ser[trap_1thr])),
			ratio(throughput(&ser[k_2thr]), throughput(&ser[k_1thr])),
			throughput(&ser[k_1thr]) / 1000,
			throughput(&ser[k_2thr]) / 1000);
		for (int i = 0; i < nser && pos < sizeof t->detail; i++) {
			const struct series *s = &ser[i];
			if (s->op != OP_D_THREADS || s->threads != 1 ||
			    !usable(s) || !usable(s + 1))
				continue;
			pos += (size_t)snprintf(
				t->detail + pos, sizeof t->detail - pos,
				"; %s %.2f x (%.0f -> %.0f)", bk_backend[s->bk],
				ratio(throughput(s + 1), throughput(s)),
				throughput(s) / 1000, throughput(s + 1) / 1000);
		}
	}
}

/* Target 5, metadata: the most bytes per touched page of an anonymous series. */
static void target_meta(struct target *t)
{
	t->name = "metadata bytes per touched page (dpemu_space_stats)";
	t->want = "<=";
	t->limit = TARGET_META_BYTES;
	double worst = 0;
	const struct series *w = NULL;
	for (int i = 0; i < nser; i++) {
		const struct series *s = &ser[i];
		if (s->op != OP_D_ANON || !s->write || !usable(s) ||
		    !s->meta_touched)
			continue;
		double v = (double)s->meta_touched / (double)opt_pages;
		if (!w || v > worst) {
			worst = v;
			w = s;
		}
	}
	if (w) {
		t->measured = worst;
		t->by = w->name;
		size_t pos = (size_t)snprintf(
			t->detail, sizeof t->detail,
			"%" PRIu64 " B after mapping %zu pages, %" PRIu64
			" B after touching them all", w->meta_map, opt_pages,
			w->meta_touched);
		if (sparse_pages)
			snprintf(t->detail + pos, sizeof t->detail - pos,
			         "; %" PRIu64 " pages touched at random over "
			         "a 64x larger mapping: %.1f B/page",
			         sparse_pages,
			         (double)sparse_meta / (double)sparse_pages);
	}
}

/* The project's targets, into tg[0..ntg): measured, and whether met. */
void compute_targets(void)
{
	struct target *t;

	ntg = 0;
	target_rand(&tg[ntg++]);
	target_seq(&tg[ntg++]);
	target_cow(&tg[ntg++]);
	target_threads(&tg[ntg++]);
	target_meta(&tg[ntg++]);

	for (int i = 0; i < ntg; i++) {
		t = &tg[i];
		if (t->measured <= 0)
			continue;
		t->met = t->higher_is_better ? t->measured >= t->limit
		                             : t->measured <= t->limit;
	}
}

/* "segv" for "segv-1thr" */
const char *pair_label(const struct series *s)
{
	static char buf[24];
	snprintf(buf, sizeof buf, "%.*s", (int)strcspn(s->name, "-"), s->name);
	return buf;
}

/* Pages per second of a scan series, from its median pass. */
double scan_rate(const struct series *s)
{
	return usable(s) && s->med > 0 ? 1e6 / s->med : 0.0;
}

double per_touch(const struct series *s, uint64_t v)
{
	return s->ev_pages ? (double)v / (double)s->ev_pages : 0.0;
}

/* The reference-fault series of the eviction scans' backend (alias: the
   variant whose pages are aliases), or NULL. */
const struct series *ev_ref(int alias)
{
	int i = alias ? refa_idx[ev_bk] : ref_idx[ev_bk];
	return i >= 0 && usable(&ser[i]) ? &ser[i] : NULL;
}

/* Microseconds per page revoked, of a reference-fault series. */
double revoke_us(const struct series *r)
{
	return r->rv_pages ? (double)r->rv_ns / 1000.0 / (double)r->rv_pages : 0.0;
}

/* Estimated share of a scan's time that emulating reference bits costs: its
   reference faults, each at the median reference fault of the same backend
   plus one revocation, for identity pages (alias 0) or aliases (1); 0 if
   not measured.  A lower bound in count: pages revoked and evicted before
   their next access cost a revocation without a reference fault. */
double ref_share(const struct series *s, int alias)
{
	const struct series *r = ev_ref(alias);
	if (!r || !usable(s) || s->med <= 0)
		return 0.0;
	return per_touch(s, s->ev_ref_faults) * (r->med + revoke_us(r)) / s->med;
}
