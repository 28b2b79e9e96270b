/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * series_dpemu.c - dpemu's series: first-touch faults under each backend
 * (anonymous, fault-around, populated pools, file, copy-on-write after
 * dpemu_space_fork, threads), the eviction scans under each policy and
 * the same scans over plain memory (make_orders draws their orders), the
 * reference faults, and the sparse-metadata figure.  Every run gets a
 * fresh pool and space (d_open).  Calls <dpemu.h>, measure.c, stats.c
 * (close_round) and series_kernel.c (thread_pass, trap_arm).
 */
#include "bench_int.h"

/* ------------------------------------------------------------- dpemu */

struct dctx {
	dpemu_pool *pool;
	dpemu_space *space;
	char *m;
};

static void d_close(struct dctx *c)
{
	if (c->space)
		dpemu_space_destroy(c->space);
	if (c->pool)
		dpemu_pool_destroy(c->pool);
	c->space = NULL;
	c->pool = NULL;
}

/*
 * A fresh pool of `frames` frames (replacing by `policy`; populated if
 * s->populate, its creation timed into s->pop_ns, never into a sample) and a
 * space of `pages` pages with one mapping of map_pages pages: anonymous, or
 * of the test file.  0, or -1 with s marked failed or unavailable.
 */
static int d_open_ex(struct series *s, struct dctx *c, size_t frames, size_t pages,
                     size_t map_pages, enum dpemu_policy policy, int file)
{
	int rc;
	memset(c, 0, sizeof *c);
	struct dpemu_pool_config pc;
	memset(&pc, 0, sizeof pc);
	pc.frames = frames;
	pc.page_size = page;
	pc.policy = policy;
	pc.seed = policy == DPEMU_POLICY_RANDOM ? opt_seed : 0;
	pc.populate = s->populate != 0;
	uint64_t t0 = now_ns();
	rc = dpemu_pool_create(&pc, &c->pool);
	uint64_t t1 = now_ns();
	if (rc != 0) {
		c->pool = NULL;
		fail(s, "dpemu_pool_create", rc);
		return -1;
	}
	if (s->populate) {
		s->pop_ns += t1 - t0;
		s->pop_frames += frames;
	}
	struct dpemu_space_config sc;
	memset(&sc, 0, sizeof sc);
	sc.reserve = pages * page;
	sc.backend = s->bk == BK_SEGV ? DPEMU_BACKEND_SIGSEGV : DPEMU_BACKEND_UFFD;
	sc.uffd_mode = s->bk == BK_SIGBUS ? DPEMU_UFFD_SIGBUS : DPEMU_UFFD_THREAD;
	sc.fault_around = s->fa;
	if ((rc = dpemu_space_create(c->pool, &sc, &c->space)) != 0) {
		c->space = NULL;
		if (rc == -EPERM || rc == -ENOSYS) {
			s->unavailable = 1;
			snprintf(s->note, sizeof s->note, "unavailable here: %s",
			         dpemu_last_error());
		} else {
			fail(s, "dpemu_space_create", rc);
		}
		d_close(c);
		return -1;
	}
	void *m;
	rc = dpemu_map(c->space, NULL, map_pages * page, PROT_READ | PROT_WRITE,
	               DPEMU_MAP_PRIVATE | (file ? 0 : DPEMU_MAP_ANONYMOUS),
	               file ? file_fd : -1, 0, &m);
	if (rc != 0) {
		fail(s, "dpemu_map", rc);
		d_close(c);
		return -1;
	}
	c->m = m;
	return 0;
}

/* A pool without replacement and a space with one mapping of opt_pages
   pages. */
static int d_open(struct series *s, struct dctx *c, size_t frames, size_t pages,
                  int file)
{
	return d_open_ex(s, c, frames, pages, opt_pages, DPEMU_POLICY_NONE, file);
}

static void d_stats(struct series *s, struct dctx *c, struct dpemu_stats *st)
{
	memset(st, 0, sizeof *st);
	int rc = dpemu_space_stats(c->space, st);
	if (rc != 0)
		set_note(s, "dpemu_space_stats: %s", dpemu_strerror(rc));
}

void run_d_anon(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	size_t base = s->n;
	if (d_open(s, &c, opt_pages, opt_pages, 0) != 0)
		return;
	d_stats(s, &c, &st);
	s->meta_map = st.metadata_bytes;
	fault_loop(s, c.m, s->random ? rnd : seq, 1);
	d_stats(s, &c, &st);
	s->meta_touched = st.metadata_bytes;
	if (st.faults != opt_pages || st.pages_resident != opt_pages)
		set_note(s, "expected %zu faults: faults=%" PRIu64
		         " resident=%" PRIu64, opt_pages, st.faults,
		         st.pages_resident);
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

void run_d_seqpass(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	size_t base = s->n;
	if (d_open(s, &c, opt_pages, opt_pages, 0) != 0)
		return;
	chunk_loop(s, c.m);
	d_stats(s, &c, &st);
	if (st.faults > opt_pages / s->fa + 1 || st.pages_resident != opt_pages)
		set_note(s, "expected %zu faults: faults=%" PRIu64
		         " resident=%" PRIu64, opt_pages / s->fa, st.faults,
		         st.pages_resident);
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

void run_d_file(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	size_t base = s->n;
	if (d_open(s, &c, opt_pages, opt_pages, 1) != 0)
		return;
	file_warm();
	fault_loop(s, c.m, rnd, 0);
	d_stats(s, &c, &st);
	if (st.faults != opt_pages || st.file_reads != opt_pages)
		set_note(s, "expected %zu file reads: faults=%" PRIu64
		         " file_reads=%" PRIu64, opt_pages, st.faults,
		         st.file_reads);
	d_close(&c);
	close_round(s, base);
}

void run_d_cow(struct series *s)
{
	struct dctx c;
	struct dpemu_stats st;
	dpemu_space *child = NULL;
	size_t base = s->n, len = opt_pages * page;
	int rc;
	if (d_open(s, &c, 2 * opt_pages, opt_pages, 0) != 0)
		return;
	if ((rc = dpemu_prefault(c.space, c.m, len, PROT_WRITE)) != 0) {
		fail(s, "dpemu_prefault", rc);
		return d_close(&c);
	}
	if ((rc = dpemu_space_fork(c.space, &child)) != 0) {
		if (rc == -EPERM || rc == -ENOSYS) {
			s->unavailable = 1;
			snprintf(s->note, sizeof s->note, "unavailable here: %s",
			         dpemu_last_error());
		} else {
			fail(s, "dpemu_space_fork", rc);
		}
		return d_close(&c);
	}
	struct dpemu_stats st0;
	d_stats(s, &c, &st0);
	fault_loop(s, c.m, rnd, 0);
	d_stats(s, &c, &st);
	uint64_t copies = st.cow_copies - st0.cow_copies;
	if (copies != opt_pages)
		set_note(s, "expected %zu copies: cow_copies=%" PRIu64
		         " cow_reuses=%" PRIu64, opt_pages, copies,
		         st.cow_reuses - st0.cow_reuses);
	dpemu_space_destroy(child);
	d_close(&c);
	close_round(s, base);
}

/* s is the one-thread series, s + 1 its two-thread partner: they run
   alternately, opt_passes each. */
void run_threads(struct series *s)
{
	struct series *pair[2] = { s, s + 1 };
	size_t len = opt_pages * page;
	size_t base[2] = { s->n, s[1].n };
	for (unsigned r = 0; r < opt_passes; r++) {
		for (int k = 0; k < 2; k++) {
			struct series *t = pair[(k + r) % 2];
			int nthr = t->threads;
			if (t->failed || t->unavailable)
				continue;
			if (t->op != OP_SPIN_THREADS)
				pretouch(2 * len);
			if (t->op == OP_SPIN_THREADS) {
				record_pass(t, thread_pass(NULL, nthr, 1));
			} else if (t->op == OP_TRAP_THREADS) {
				struct sigaction prev;
				char *p = trap_arm(len, &prev);
				if (!p)
					return fail(t, "trap set-up", errno);
				trap_threaded = 1;
				uint64_t dt = thread_pass(p, nthr, 0);
				trap_threaded = 0;
				record_pass(t, dt);
				trap_disarm(p, len, &prev);
			} else if (t->op == OP_K_THREADS) {
				char *p = map_anon(len);
				if (!p)
					return fail(t, "mmap", errno);
				uint64_t dt = thread_pass(p, nthr, 0);
				record_pass(t, dt);
				munmap(p, len);
			} else {
				struct dctx c;
				struct dpemu_stats st;
				if (d_open(t, &c, opt_pages, opt_pages, 0) != 0)
					continue;
				uint64_t dt = thread_pass(c.m, nthr, 0);
				record_pass(t, dt);
				d_stats(t, &c, &st);
				if (st.faults < opt_pages ||
				    st.pages_resident != opt_pages)
					set_note(t, "expected %zu faults: faults=%"
					         PRIu64 " resident=%" PRIu64,
					         opt_pages, st.faults,
					         st.pages_resident);
				d_close(&c);
			}
		}
	}
	close_round(s, base[0]);
	close_round(s + 1, base[1]);
}

/* Written by measure_sparse; read by the report (bench_int.h). */
uint64_t sparse_meta, sparse_pages;
char sparse_note[256];

/* The metadata of N pages touched at random over a 64x larger mapping. */
void measure_sparse(void)
{
	struct series tmp;
	struct dctx c;
	size_t spread = 64;
	memset(&tmp, 0, sizeof tmp);
	tmp.bk = BK_SEGV;
	tmp.fa = 1;
	size_t keep = opt_pages;
	opt_pages = keep * spread; /* d_open maps opt_pages pages */
	int rc = d_open(&tmp, &c, keep, opt_pages, 0);
	opt_pages = keep;
	if (rc != 0) {
		snprintf(sparse_note, sizeof sparse_note, "%s", tmp.note);
		return;
	}
	for (size_t i = 0; i < keep; i++) {
		size_t pg = rnd[i] * spread + (size_t)(rng_next() % spread);
		*(volatile char *)(c.m + pg * page) = 1;
	}
	struct dpemu_stats st;
	d_stats(&tmp, &c, &st);
	sparse_meta = st.metadata_bytes;
	sparse_pages = st.pages_resident;
	d_close(&c);
}

/* ------------------------------------------------ eviction and references */

/* The pool of the reference-fault series: a quarter of --pages frames (the
   alias variant evicts each of them twice, which under the userfaultfd
   handler thread costs ~0.1 ms an eviction). */
size_t ref_frames(void)
{
	return opt_pages / 4;
}

/*
 * The orders of this round's scans: ascending; a fresh permutation per
 * pass (rand); or HOT_PERCENT % of the accesses to a hot set of 1/HOT_DIV
 * of the pages, chosen at random for the round, and the rest to the others,
 * each access drawn independently (hot).  Every policy and the plain scan
 * see the same orders in a round.  Also the reference-fault series' order:
 * rnd's, restricted to their pool's pages.
 */
void make_orders(void)
{
	size_t nr = 0;
	for (size_t i = 0; i < opt_pages; i++) /* rnd's order, for fewer pages */
		if (rnd[i] < ref_frames())
			ref_order[nr++] = rnd[i];

	for (int k = 0; k < NSCANS; k++) {
		size_t w = (size_t)scans[k].mult * opt_ev_frames;
		size_t hot = w / HOT_DIV;
		if (scans[k].order == ORD_HOT)
			shuffle(ev_perm, w); /* the hot set: ev_perm[0..hot) */
		for (int p = 0; p < EV_PASSES; p++) {
			size_t *o = ev_ord[k][p];
			switch (scans[k].order) {
			case ORD_SEQ:
				memcpy(o, ev_seq, w * sizeof *o);
				break;
			case ORD_RAND:
				shuffle(o, w);
				break;
			case ORD_HOT:
				for (size_t i = 0; i < w; i++)
					o[i] = ev_perm[rng_next() % 100 < HOT_PERCENT
					               ? (size_t)(rng_next() % hot)
					               : hot + (size_t)(rng_next() % (w - hot))];
				break;
			}
		}
	}
}

/* Whether page pg of a space over an nf-frame pool sits in a frame that is
   not its identity frame (an alias: src/host/hostmap.c maps it with its own
   mmap); colour is the frame of page 0 when it took its identity frame. */
static int is_alias(const struct dpemu_page_info *q, size_t pg, uint64_t colour,
                    size_t nf)
{
	return q->frame != (colour + pg) % nf;
}

static volatile uint64_t scan_sink;

struct scan_arg {
	char *p;
	const size_t *order;
	size_t n;
	int write;
	unsigned reps;
	uint64_t dt;
};

/* One timed scan (reps passes) of arg->p: dpemu_catch's function. */
static void scan_fn(void *v)
{
	struct scan_arg *a = v;
	uint64_t t0 = now_ns(), sum = 0;
	for (unsigned r = 0; r < a->reps; r++) {
		if (a->write)
			for (size_t i = 0; i < a->n; i++)
				*(volatile uint64_t *)(a->p + a->order[i] * page) = i;
		else
			for (size_t i = 0; i < a->n; i++)
				sum += *(volatile uint64_t *)(a->p + a->order[i] * page);
	}
	a->dt = now_ns() - t0;
	scan_sink = sum;
}

/* Run one scan; 0, or -1 with s failed if dpemu could not resolve a fault. */
static int scan(struct series *s, char *p, const size_t *order, size_t n, int write,
                unsigned reps, uint64_t *dt)
{
	struct scan_arg a = { p, order, n, write, reps, 0 };
	struct dpemu_fault flt;
	int rc = dpemu_catch(scan_fn, &a, &flt);
	if (rc != 0) {
		s->failed = 1;
		s->note[0] = 0;
		set_note(s, "unresolved %s fault at page %zu of the scan: %s",
		         dpemu_fault_kind_name(flt.kind),
		         (size_t)((char *)flt.addr - p) / page, dpemu_last_error());
		return -1;
	}
	if (dt)
		*dt = a.dt;
	return 0;
}

/* A scan sample: picoseconds per page (a plain pass is a few ns a page). */
static void record_scan(struct series *s, uint64_t dt, uint64_t pages)
{
	s->ns[s->n++] = (dt * 1000 + pages / 2) / pages;
	s->total_ns += dt;
	s->total_pages += pages;
}

size_t scan_pages(const struct series *s)
{
	return (size_t)scans[s->scan].mult * opt_ev_frames;
}

/*
 * A pool of --evict-frames frames with s's policy, a space mapping the
 * scan's working set; an ascending write pass (every page gets contents)
 * and one pass of the scan, untimed, then EV_TIMED timed passes, each with
 * the space's and the pool's counters read before and after.
 */
void run_d_scan(struct series *s)
{
	const struct scan_def *d = &scans[s->scan];
	size_t w = scan_pages(s), base = s->n;
	struct dctx c;
	struct dpemu_stats a, b;
	struct dpemu_pool_stats pa, pb;
	struct dpemu_page_info q;
	uint64_t colour;
	if (d_open_ex(s, &c, opt_ev_frames, w, w, s->policy, 0) != 0)
		return;
	/* page 0 first, alone: it takes its identity frame, which tells the
	   space's colour (see is_alias) */
	if (scan(s, c.m, ev_seq, 1, 1, 1, NULL) != 0)
		return d_close(&c);
	colour = dpemu_query(c.space, c.m, &q) == 0 ? q.frame : 0;
	if (scan(s, c.m, ev_seq, w, 1, 1, NULL) != 0 ||
	    scan(s, c.m, ev_ord[s->scan][0], w, d->write, 1, NULL) != 0)
		return d_close(&c);
	for (int k = 0; k < EV_TIMED; k++) {
		uint64_t dt;
		d_stats(s, &c, &a);
		dpemu_pool_stats(c.pool, &pa);
		if (scan(s, c.m, ev_ord[s->scan][1 + k], w, d->write, 1, &dt) != 0)
			return d_close(&c);
		d_stats(s, &c, &b);
		dpemu_pool_stats(c.pool, &pb);
		record_scan(s, dt, w);
		s->ev_pages += w;
		s->ev_faults += b.faults - a.faults;
		s->ev_zero_fills += b.zero_fills - a.zero_fills;
		s->ev_evictions += b.evictions - a.evictions;
		s->ev_swap_outs += b.swap_outs - a.swap_outs;
		s->ev_swap_ins += b.swap_ins - a.swap_ins;
		s->ev_ref_faults += b.reference_faults - a.reference_faults;
		if (pb.evictions - pa.evictions != b.evictions - a.evictions ||
		    pb.swap_outs - pa.swap_outs != b.swap_outs - a.swap_outs ||
		    pb.swap_ins - pa.swap_ins != b.swap_ins - a.swap_ins)
			set_note(s, "pool and space counters disagree: evictions %"
			         PRIu64 "/%" PRIu64 ", swap_outs %" PRIu64 "/%" PRIu64
			         ", swap_ins %" PRIu64 "/%" PRIu64,
			         pb.evictions - pa.evictions, b.evictions - a.evictions,
			         pb.swap_outs - pa.swap_outs, b.swap_outs - a.swap_outs,
			         pb.swap_ins - pa.swap_ins, b.swap_ins - a.swap_ins);
		if (b.pages_resident > opt_ev_frames)
			set_note(s, "%" PRIu64 " pages resident in a pool of %zu frames",
			         b.pages_resident, opt_ev_frames);
	}
	for (size_t pg = 0; pg < w; pg++)
		if (dpemu_query(c.space, c.m + pg * page, &q) == 0 && q.present) {
			s->ev_resident++;
			s->ev_aliases += (uint64_t)is_alias(&q, pg, colour,
			                                    opt_ev_frames);
		}
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

/* The same scan over populated anonymous memory, PLAIN_REPS passes per
   sample (one pass is a few microseconds). */
void run_plain_scan(struct series *s)
{
	const struct scan_def *d = &scans[s->scan];
	size_t w = scan_pages(s), len = w * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	scan(s, p, ev_seq, w, 1, 1, NULL);
	scan(s, p, ev_ord[s->scan][0], w, d->write, 1, NULL);
	for (int k = 0; k < EV_TIMED; k++) {
		uint64_t dt;
		scan(s, p, ev_ord[s->scan][1 + k], w, d->write, PLAIN_REPS, &dt);
		record_scan(s, dt, (uint64_t)w * PLAIN_REPS);
	}
	munmap(p, len);
	close_round(s, base);
}

/* An ascending first-touch write pass over freshly mmap'd anonymous memory
   of the scan's size, EV_TIMED times. */
void run_plain_first(struct series *s)
{
	size_t w = scan_pages(s), len = w * page, base = s->n;
	long f0 = minor_faults();
	for (int k = 0; k < EV_TIMED; k++) {
		uint64_t dt;
		char *p = map_anon(len);
		if (!p)
			return fail(s, "mmap", errno);
		scan(s, p, ev_seq, w, 1, 1, &dt);
		record_scan(s, dt, w);
		munmap(p, len);
	}
	long f = minor_faults() - f0;
	if (f < (long)(w * EV_TIMED))
		set_note(s, "only %ld minor faults for %zu pages (huge pages?)", f,
		         w * EV_TIMED);
	close_round(s, base);
}

struct ref_arg {
	struct series *s;
	char *m;
	size_t n;    /* 0: touch page `one` alone, time in dt */
	size_t one;  /* the page whose first touch makes the hand's lap */
	uint64_t dt;
};

static void ref_fn(void *v)
{
	struct ref_arg *a = v;
	uint64_t *out = a->s->ns + a->s->n;
	if (a->n == 0)
		a->dt = timed_touch(a->m + a->one * page, 1);
	for (size_t i = 0; i < a->n; i++)
		out[i] = timed_touch(a->m + ref_list[i] * page, 1);
}

/* ref_fn under dpemu_catch; 0, or -1 with s failed. */
static int ref_run(struct series *s, struct ref_arg *ra)
{
	struct dpemu_fault flt;
	if (dpemu_catch(ref_fn, ra, &flt) == 0)
		return 0;
	s->failed = 1;
	s->note[0] = 0;
	set_note(s, "unresolved %s fault: %s", dpemu_fault_kind_name(flt.kind),
	         dpemu_last_error());
	return -1;
}

/*
 * Reference faults: a CLOCK pool of nf = --pages / 4 frames, every frame
 * prefaulted (written: dirty, referenced).  One more page's first touch
 * finds the pool full; the hand's first lap clears every reference bit,
 * revoking the pages' access, and its second takes the oldest frame: that
 * one touch is timed as the revocation cost.  Then the first write to each
 * revoked page (dpemu_query: present, bit clear; listed untimed, in random
 * order) is timed alone: a reference fault, nothing else (no frame, no
 * copy).  The prefaulted pages sit in their identity frames, which the host
 * shows and hides without an mmap.
 *
 * The alias variant (B-ref-alias) first evicts all of them: nf more pages
 * touched in random order each take the frame of the oldest page, which is
 * almost never their identity frame, so the host shows each with its own
 * mmap (an alias, as after random-order eviction).  A swapped page's touch
 * then makes the lap over those, and their reference faults are timed.
 */
void run_d_ref(struct series *s)
{
	size_t nf = ref_frames(), base = s->n, k = 0, aliases = 0;
	size_t first = s->alias ? nf : 0; /* the pages whose faults are timed */
	struct dctx c;
	struct dpemu_stats a, b, st;
	struct dpemu_page_info q;
	struct ref_arg ra = { s, NULL, 0, s->alias ? 0 : nf, 0 };
	uint64_t colour = 0;
	int rc;
	if (d_open_ex(s, &c, nf, 2 * nf, 2 * nf, DPEMU_POLICY_CLOCK, 0) != 0)
		return;
	ra.m = c.m;
	if ((rc = dpemu_prefault(c.space, c.m, nf * page, PROT_WRITE)) != 0) {
		fail(s, "dpemu_prefault", rc);
		return d_close(&c);
	}
	if ((rc = dpemu_query(c.space, c.m, &q)) != 0) {
		fail(s, "dpemu_query", rc);
		return d_close(&c);
	}
	colour = q.frame;
	if (s->alias && scan(s, c.m + nf * page, ref_order, nf, 1, 1, NULL) != 0)
		return d_close(&c);
	d_stats(s, &c, &a);
	if (ref_run(s, &ra) != 0)
		return d_close(&c);
	d_stats(s, &c, &b);
	for (size_t i = 0; i < nf; i++) {
		size_t pg = first + ref_order[i];
		if (dpemu_query(c.space, c.m + pg * page, &q) == 0 && q.present &&
		    !q.referenced) {
			ref_list[k++] = pg;
			aliases += (size_t)is_alias(&q, pg, colour, nf);
		}
	}
	if (b.evictions - a.evictions != 1 || k + 1 < nf)
		set_note(s, "expected 1 eviction and %zu revoked pages: evictions=%"
		         PRIu64 " revoked=%zu", nf - 1, b.evictions - a.evictions, k);
	if (s->alias ? aliases * 10 < k * 9 : aliases != 0)
		set_note(s, "%zu of the %zu revoked pages are aliases", aliases, k);
	s->rv_ns += ra.dt;
	s->rv_pages += k;
	ra.n = k;
	if (ref_run(s, &ra) != 0)
		return d_close(&c);
	s->n += k;
	d_stats(s, &c, &st);
	if (st.reference_faults - b.reference_faults != k ||
	    st.faults - b.faults != k || st.evictions != b.evictions)
		set_note(s, "expected %zu reference faults: reference_faults=%" PRIu64
		         " faults=%" PRIu64 " evictions=%" PRIu64, k,
		         st.reference_faults - b.reference_faults, st.faults - b.faults,
		         st.evictions - b.evictions);
	note_vmas(s);
	d_close(&c);
	close_round(s, base);
}

/* The backend of the eviction scans: --evict-backend, else the SIGBUS mode
   of userfaultfd (the suite's fastest) if this kernel allows it, else
   SIGSEGV. */
enum bk pick_ev_backend(void)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	dpemu_pool *pool;
	dpemu_space *sp;
	int rc;

	if (opt_ev_bk != BK_NONE)
		return opt_ev_bk;
	memset(&pc, 0, sizeof pc);
	pc.frames = 1;
	if (dpemu_pool_create(&pc, &pool) != 0)
		return BK_SEGV;
	memset(&sc, 0, sizeof sc);
	sc.reserve = page;
	sc.backend = DPEMU_BACKEND_UFFD;
	sc.uffd_mode = DPEMU_UFFD_SIGBUS;
	rc = dpemu_space_create(pool, &sc, &sp);
	if (rc == 0)
		dpemu_space_destroy(sp);
	dpemu_pool_destroy(pool);
	return rc == 0 ? BK_SIGBUS : BK_SEGV;
}
