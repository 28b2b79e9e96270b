/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * series.c - the series of the fault-latency suite: their list (define_series),
 * the --only selection (selected, check_only) and the dispatch of one run
 * (run_one) to series_kernel.c or series_dpemu.c, which measure them:
 * what a page fault costs under dpemu, next to what the kernel itself and a
 * bare SIGSEGV trap cost on the same machine, in one run.
 *
 * Every series is a list of samples in nanoseconds.  Three kinds:
 *
 *   fault  one access timed alone (clock_gettime(CLOCK_MONOTONIC) right
 *          before and after a one-byte read or write of a page that was
 *          never touched): one sample per page;
 *   chunk  an ascending pass timed 64 pages at a time: one sample per chunk,
 *          the chunk's time / 64 (with fault-around one fault maps several
 *          pages, so only a per-page cost over many pages means anything);
 *   pass   threads: the wall time of a whole pass (first start to last end)
 *          / pages; one sample per pass;
 *   scan   eviction: the time of one pass over a working set / pages
 *          touched; one sample per pass (kept in picoseconds, since a
 *          pass over plain memory costs a few nanoseconds a page).
 *
 * The series (B is segv, uffd or sigbus, the labels of the backends
 * sigsegv, uffd and uffd-sigbus: the SIGSEGV backend, userfaultfd with its
 * handler thread, userfaultfd in SIGBUS mode; bk_name, bk_backend):
 *
 *   kernel-w, kernel-seq-w, kernel-r
 *          the kernel's own anonymous first-touch fault (private anonymous
 *          mmap, THP off for it): write in random order, write in
 *          ascending order, read in random order (maps the zero page);
 *   trap-floor
 *          a SIGSEGV handler that does one mprotect(PROT_READ|PROT_WRITE) of
 *          the faulting page of a populated PROT_NONE region: the least any
 *          SIGSEGV-based emulator pays per fault;
 *   B-rand-w, B-seq-w, B-rand-r
 *          dpemu's first-touch fault, fault_around 1, the same accesses;
 *   kernel-seqpass, B-fa16, B-fa16p
 *          ascending first-touch writes, chunk kind: the kernel's per-page
 *          cost, and dpemu's with fault_around 16; -p: over a pool created
 *          with populate (every frame's host memory committed, zeroed, in
 *          dpemu_pool_create: timed apart, not in the samples);
 *   kernel-file-r, kernel-file-w, B-file-r, B-file-w
 *          first touch of a private mapping of a file in the page cache
 *          (written a page at a time, read again untimed before each use):
 *          kernel-file-r keeps only the accesses that took a minor fault
 *          (getrusage before and after each, untimed), because the kernel
 *          maps up to 16 cached neighbours per read fault; a private write
 *          fault copies the page, one fault per page, in both;
 *   kernel-cow, B-cow
 *          copy-on-write break: pages populated, then fork(2) (the child
 *          waits on a pipe) or dpemu_space_fork (the child space stays),
 *          then the first write to each page in the parent, random order;
 *   kernel-1thr, kernel-2thr, B-1thr, B-2thr
 *          pass kind: one thread writes every page of a mapping in random
 *          order, or two threads write one half each; throughput is pages
 *          per second of the pass.  The one- and two-thread passes of a
 *          backend alternate, so they see the same drift;
 *   B-ref, B-ref-alias
 *          a reference fault: a CLOCK pool of --pages/4 frames, all of them
 *          prefaulted; one more page's first touch makes the hand clear
 *          (and revoke) every other frame's reference bit in one lap; then
 *          the first write to each revoked page, random order.  The touch
 *          that revoked them is timed too: the revocation cost per page.
 *          -alias: the revoked pages sit in frames that are not their
 *          identity frames, so the host maps each with its own mmap;
 *   P-S    eviction scans, P a policy (fifo, clock, lru, random) and S a
 *          scan: a pool of --evict-frames N frames, one space mapping 2N or
 *          4N anonymous private pages, one word per page written (or read)
 *          per pass, ascending (seq2x, seq4x, seq4x-r), in a fresh random
 *          order each pass (rand4x), or 80 % of the accesses to a hot
 *          eighth of the pages, half the pool (hot4x).  Two untimed passes
 *          (ascending writes, so every page has contents, then one of the
 *          scan), then timed passes; the space's eviction counters are
 *          recorded per pass.  One backend (--evict-backend; default
 *          uffd-sigbus where the kernel allows it, else sigsegv); plain-S is the
 *          same scan over populated anonymous memory, plain-first4x a
 *          first-touch ascending pass over freshly mmap'd memory;
 *   timer  a write to a resident page: what the timing adds to a sample.
 *
 * Calls series_kernel.c and series_dpemu.c (the run_* functions), libc.
 */
#include "bench_int.h"

const char *const kind_name[] = { "fault", "chunk", "pass", "scan" };

const struct scan_def scans[] = {
	{ "seq2x", 2, ORD_SEQ, 1, "ascending writes" },
	{ "seq4x", 4, ORD_SEQ, 1, "ascending writes" },
	{ "seq4x-r", 4, ORD_SEQ, 0, "ascending reads (after a write pass)" },
	{ "rand4x", 4, ORD_RAND, 1, "writes, a fresh random order each pass" },
	{ "hot4x", 4, ORD_HOT, 1, "writes, 80 % of them to a hot eighth of the "
	  "pages (half the pool)" },
};
_Static_assert(sizeof scans / sizeof scans[0] == NSCANS, "NSCANS is scans[]'s length");
const enum dpemu_policy ev_policies[] = {
	DPEMU_POLICY_FIFO, DPEMU_POLICY_CLOCK, DPEMU_POLICY_LRU, DPEMU_POLICY_RANDOM,
};
_Static_assert(sizeof ev_policies / sizeof ev_policies[0] == NPOLICIES,
               "NPOLICIES is ev_policies[]'s length");

const char *const bk_name[BK_COUNT] = { "kernel", "segv", "uffd", "sigbus" };
const char *const bk_backend[BK_COUNT] = { "kernel", "sigsegv", "uffd", "uffd-sigbus" };
const char *const bk_what[BK_COUNT] = {
	"the kernel", "dpemu, SIGSEGV backend", "dpemu, userfaultfd handler thread",
	"dpemu, userfaultfd SIGBUS mode",
};

struct series ser[MAX_SERIES];
int nser;

/* ------------------------------------------------------------ the table */

static int add(const char *group, const char *name, const char *what, enum op op,
               enum bk bk, int random, int write, enum kind kind, size_t fa,
               int threads)
{
	struct series *s = &ser[nser];
	memset(s, 0, sizeof *s);
	s->group = group;
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->what, sizeof s->what, "%s", what);
	s->op = op;
	s->bk = bk;
	s->random = random;
	s->write = write;
	s->kind = kind;
	s->fa = fa;
	s->threads = threads;
	s->kref = -1;
	return nser++;
}

static void add_dpemu(const char *group, int kref, const char *suffix,
                      const char *what, enum op op, int random, int write,
                      enum kind kind, size_t fa, int threads)
{
	for (int b = BK_SEGV; b < BK_COUNT; b++) {
		char name[24], w[160];
		snprintf(name, sizeof name, "%s-%s", bk_name[b], suffix);
		snprintf(w, sizeof w, "%s: %s", bk_what[b], what);
		int i = add(group, name, w, op, (enum bk)b, random, write, kind,
		            fa, threads);
		ser[i].kref = kref;
	}
}

static const char G_RW[] = "anonymous first touch, write, random order";
static const char G_SW[] = "anonymous first touch, write, ascending order";
static const char G_RR[] = "anonymous first touch, read, random order";
static const char G_FA[] = "ascending first touch, per page over 64-page chunks";
static const char G_FR[] = "private file mapping (page cache), read first";
static const char G_FW[] = "private file mapping (page cache), write first";
static const char G_CW[] = "copy-on-write break: first write after fork";
static const char G_TH[] = "threads: per page over a whole pass, random order";
static const char G_TM[] = "timing overhead";
static const char G_REF[] = "reference fault: first write to a present page whose "
                            "bit CLOCK cleared, random order";
static char ev_group[NSCANS][192];

int ref_idx[BK_COUNT], refa_idx[BK_COUNT], first_idx = -1;

int trap_idx, timer_idx, k_rand_w, k_seqpass, k_cow, k_1thr, k_2thr;
int spin_1thr, spin_2thr, trap_1thr, trap_2thr, k_shmw, k_shmpass;

/* Anonymous first touch, fault kind: random writes (with the trap floor and
   the memfd write a pool frame costs the host), ascending writes, random
   reads. */
static void define_anon(void)
{
	int k;
	k_rand_w = k = add(G_RW, "kernel-w", "kernel anonymous first-touch write fault",
	                   OP_K_ANON, BK_NONE, 1, 1, KIND_FAULT, 0, 0);
	trap_idx = add(G_RW, "trap-floor",
	               "SIGSEGV + one mprotect of a populated page + return",
	               OP_TRAP, BK_NONE, 1, 1, KIND_FAULT, 0, 0);
	k_shmw = k = add(G_RW, "kernel-shm-w", "kernel first-touch write of a MAP_SHARED "
	        "memfd (the host cost of a pool frame)", OP_K_SHM, BK_NONE, 1, 1,
	        KIND_FAULT, 0, 0);
	ser[k].kref = k_rand_w;
	k = k_rand_w;
	add_dpemu(G_RW, k, "rand-w", "anonymous first-touch write, random order",
	          OP_D_ANON, 1, 1, KIND_FAULT, 1, 0);

	k = add(G_SW, "kernel-seq-w", "kernel anonymous first-touch write, ascending",
	        OP_K_ANON, BK_NONE, 0, 1, KIND_FAULT, 0, 0);
	add_dpemu(G_SW, k, "seq-w", "anonymous first-touch write, ascending order",
	          OP_D_ANON, 0, 1, KIND_FAULT, 1, 0);

	k = add(G_RR, "kernel-r", "kernel anonymous first-touch read (the zero page)",
	        OP_K_ANON, BK_NONE, 1, 0, KIND_FAULT, 0, 0);
	add_dpemu(G_RR, k, "rand-r", "anonymous first-touch read, random order",
	          OP_D_ANON, 1, 0, KIND_FAULT, 1, 0);
}

/* Ascending first touch in 64-page chunks: the kernel's anonymous and memfd
   passes, then dpemu's with fault_around 16, lazily and over a populated
   pool. */
static void define_chunks(void)
{
	int k;
	k_seqpass = k = add(G_FA, "kernel-seqpass",
	                    "kernel anonymous first-touch writes, ascending, "
	                    "64-page chunks timed",
	                    OP_K_SEQPASS, BK_NONE, 0, 1, KIND_CHUNK, 0, 0);
	k_shmpass = add(G_FA, "kernel-shm-pass", "kernel first-touch writes of a MAP_SHARED "
	    "memfd, ascending, 64-page chunks timed", OP_K_SHM, BK_NONE, 0, 1,
	    KIND_CHUNK, 0, 0);
	add(G_FA, "kernel-shm-pop", "kernel: MAP_SHARED memfd, madvise("
	    "MADV_POPULATE_WRITE) of 16 pages, then written, ascending",
	    OP_K_SHMPOP, BK_NONE, 0, 1, KIND_CHUNK, 0, 0);
	add_dpemu(G_FA, k, "fa16", "fault_around 16, ascending writes, "
	          "64-page chunks timed", OP_D_SEQPASS, 0, 1, KIND_CHUNK,
	          FA_PAGES, 0);
	int f = nser;
	add_dpemu(G_FA, k, "fa16p", "fault_around 16 over a populated pool "
	          "(populate), ascending writes, 64-page chunks timed",
	          OP_D_SEQPASS, 0, 1, KIND_CHUNK, FA_PAGES, 0);
	for (; f < nser; f++)
		ser[f].populate = 1;
}

/* Private file mappings, read first and write first; copy-on-write breaks
   after fork(2) and after dpemu_space_fork. */
static void define_file_cow(void)
{
	int k;
	k = add(G_FR, "kernel-file-r", "kernel minor read fault on a MAP_PRIVATE "
	        "file (accesses that faulted only)", OP_K_FILE, BK_NONE, 1, 0,
	        KIND_FAULT, 0, 0);
	add_dpemu(G_FR, k, "file-r", "private file mapping, first-touch read, "
	          "random order", OP_D_FILE, 1, 0, KIND_FAULT, 1, 0);

	k = add(G_FW, "kernel-file-w", "kernel write fault on a MAP_PRIVATE file "
	        "(copies the cached page)", OP_K_FILE, BK_NONE, 1, 1, KIND_FAULT,
	        0, 0);
	add_dpemu(G_FW, k, "file-w", "private file mapping, first-touch write, "
	          "random order", OP_D_FILE, 1, 1, KIND_FAULT, 1, 0);

	k_cow = k = add(G_CW, "kernel-cow", "kernel copy-on-write break: write after "
	                "fork(2), child alive", OP_K_COW, BK_NONE, 1, 1,
	                KIND_FAULT, 0, 0);
	add_dpemu(G_CW, k, "cow", "write after dpemu_space_fork, child space alive",
	          OP_D_COW, 1, 1, KIND_FAULT, 1, 0);
}

/* Pass kind, one thread and two (the pair adjacent, two after one): the
   spin control, the trap floor, the kernel, then each backend. */
static void define_threads(void)
{
	int k;
	spin_1thr = add(G_TH, "spin-1thr", "control, no faults: one thread computes "
	                "~2 us per page", OP_SPIN_THREADS, BK_NONE, 1, 1, KIND_PASS,
	                0, 1);
	spin_2thr = add(G_TH, "spin-2thr", "control, no faults: two threads compute "
	                "one half each", OP_SPIN_THREADS, BK_NONE, 1, 1, KIND_PASS,
	                0, 2);
	trap_1thr = add(G_TH, "trap-1thr", "trap floor: one thread, SIGSEGV + "
	                "mprotect per page", OP_TRAP_THREADS, BK_NONE, 1, 1,
	                KIND_PASS, 0, 1);
	trap_2thr = add(G_TH, "trap-2thr", "trap floor: two threads, one half "
	                "each", OP_TRAP_THREADS, BK_NONE, 1, 1, KIND_PASS, 0, 2);
	k_1thr = add(G_TH, "kernel-1thr", "kernel: one thread writes every page",
	             OP_K_THREADS, BK_NONE, 1, 1, KIND_PASS, 0, 1);
	k_2thr = add(G_TH, "kernel-2thr", "kernel: two threads write one half each",
	             OP_K_THREADS, BK_NONE, 1, 1, KIND_PASS, 0, 2);
	ser[k_2thr].kref = -1;
	for (int b = BK_SEGV; b < BK_COUNT; b++) {
		char name[24], w[160];
		snprintf(name, sizeof name, "%s-1thr", bk_name[b]);
		snprintf(w, sizeof w, "%s: one thread writes every page", bk_what[b]);
		k = add(G_TH, name, w, OP_D_THREADS, (enum bk)b, 1, 1, KIND_PASS, 1, 1);
		ser[k].kref = k_1thr;
		snprintf(name, sizeof name, "%s-2thr", bk_name[b]);
		snprintf(w, sizeof w, "%s: two threads write one half each", bk_what[b]);
		k = add(G_TH, name, w, OP_D_THREADS, (enum bk)b, 1, 1, KIND_PASS, 1, 2);
		ser[k].kref = k_2thr;
	}
}

/* Reference faults of each backend, identity pages and aliases (tag "ref";
   ref_idx, refa_idx). */
static void define_refs(void)
{
	int k;
	for (int b = 0; b < BK_COUNT; b++)
		ref_idx[b] = refa_idx[b] = -1;
	k = nser;
	add_dpemu(G_REF, -1, "ref", "first write to a present page whose access "
	          "one lap of the CLOCK hand revoked, random order", OP_D_REF, 1, 1,
	          KIND_FAULT, 1, 0);
	for (; k < nser; k++) {
		ser[k].tag = "ref";
		ref_idx[ser[k].bk] = k;
	}
	add_dpemu(G_REF, -1, "ref-alias", "the same, the pages in frames not their "
	          "identity (each shown by its own mmap)", OP_D_REF, 1, 1,
	          KIND_FAULT, 1, 0);
	for (; k < nser; k++) {
		ser[k].tag = "ref";
		ser[k].alias = 1;
		refa_idx[ser[k].bk] = k;
	}
}

/* The group of scans[sc] (tag "evict"): the scan over plain memory, for
   seq4x the first touch of fresh memory too (first_idx), then the scan
   under each policy, compared with the plain one. */
static void define_scan(int sc)
{
	const struct scan_def *d = &scans[sc];
	size_t w = (size_t)d->mult * opt_ev_frames;
	char name[24], w2[160];
	snprintf(ev_group[sc], sizeof ev_group[sc], "eviction scan %s, %zu "
	         "pages over %zu frames (%s): %s", d->name, w, opt_ev_frames,
	         bk_name[ev_bk], d->what);
	snprintf(name, sizeof name, "plain-%s", d->name);
	snprintf(w2, sizeof w2, "plain memory: the same scan over %zu pages of "
	         "populated anonymous memory, %d passes per sample", w,
	         PLAIN_REPS);
	int pl = add(ev_group[sc], name, w2, OP_PLAIN_SCAN, BK_NONE,
	             d->order != ORD_SEQ, d->write, KIND_SCAN, 0, 0);
	ser[pl].scan = sc;
	ser[pl].tag = "evict";
	if (d->mult == 4 && d->order == ORD_SEQ && d->write) {
		snprintf(w2, sizeof w2, "plain memory, first touch: an ascending "
		         "write pass over %zu pages of fresh anonymous mmap", w);
		first_idx = add(ev_group[sc], "plain-first4x", w2,
		                OP_PLAIN_FIRST, BK_NONE, 0, 1, KIND_SCAN, 0, 0);
		ser[first_idx].scan = sc;
		ser[first_idx].tag = "evict";
	}
	for (int q = 0; q < NPOLICIES; q++) {
		const char *pn = dpemu_policy_name(ev_policies[q]);
		snprintf(name, sizeof name, "%s-%s", pn, d->name);
		snprintf(w2, sizeof w2, "%s, policy %s: %s over %zu pages, a pool "
		         "of %zu frames", bk_what[ev_bk], pn, d->what, w,
		         opt_ev_frames);
		int k = add(ev_group[sc], name, w2, OP_D_SCAN, ev_bk,
		            d->order != ORD_SEQ, d->write, KIND_SCAN, 1, 0);
		ser[k].scan = sc;
		ser[k].policy = ev_policies[q];
		ser[k].kref = pl;
		ser[k].tag = "evict";
	}
}

/* The list of series, in the order the report shows them (the comment at
   the top of this file says what each is), and the indices the report
   compares with.  Uses opt_ev_frames and ev_bk. */
void define_series(void)
{
	nser = 0;
	define_anon();
	define_chunks();
	define_file_cow();
	define_threads();
	define_refs();
	for (int sc = 0; sc < NSCANS; sc++)
		define_scan(sc);
	timer_idx = add(G_TM, "timer", "a write to a resident page (timing overhead)",
	                OP_TIMER, BK_NONE, 1, 1, KIND_FAULT, 0, 0);
}

void run_one(struct series *s)
{
	switch (s->op) {
	case OP_TIMER: run_timer(s); break;
	case OP_TRAP: run_trap(s); break;
	case OP_K_ANON:
	case OP_K_SEQPASS: run_k_anon(s); break;
	case OP_K_FILE: run_k_file(s); break;
	case OP_K_COW: run_k_cow(s); break;
	case OP_K_SHM: run_k_shm(s); break;
	case OP_K_SHMPOP: run_k_shmpop(s); break;
	case OP_D_ANON: run_d_anon(s); break;
	case OP_D_SEQPASS: run_d_seqpass(s); break;
	case OP_D_FILE: run_d_file(s); break;
	case OP_D_COW: run_d_cow(s); break;
	case OP_K_THREADS:
	case OP_SPIN_THREADS:
	case OP_TRAP_THREADS:
	case OP_D_THREADS: run_threads(s); break;
	case OP_D_REF: run_d_ref(s); break;
	case OP_PLAIN_SCAN: run_plain_scan(s); break;
	case OP_PLAIN_FIRST: run_plain_first(s); break;
	case OP_D_SCAN: run_d_scan(s); break;
	}
}

/* Whether the item p[0..l) of an --only list names series s: a prefix of
 * its name (or of its one-thread partner's), its tag, or its backend's
 * canonical name ("uffd-sigbus" selects the sigbus-* series). */
static int only_item_matches(const struct series *s, const char *p, size_t l)
{
	if (l == 0)
		return 0;
	if (strncmp(s->name, p, l) == 0)
		return 1;
	if (s->tag && strlen(s->tag) == l && strncmp(s->tag, p, l) == 0)
		return 1;
	if (s->bk != BK_NONE && strlen(bk_backend[s->bk]) == l &&
	    strncmp(bk_backend[s->bk], p, l) == 0)
		return 1;
	return s->threads == 2 && strncmp(s[-1].name, p, l) == 0;
}

/* Whether --only selected series s (a comma-separated list of prefixes). */
int selected(const struct series *s)
{
	if (!opt_only || s->op == OP_TIMER || (int)(s - ser) == k_rand_w ||
	    (int)(s - ser) == trap_idx)
		return 1;
	const char *p = opt_only;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (only_item_matches(s, p, l))
			return 1;
		p += l + (p[l] == ',');
	}
	return 0;
}

/*
 * Check the --only list against the defined series, before anything runs:
 * every item must select at least one series.  0, or -1 after printing on
 * stderr the first item that selects nothing and every series name, the
 * tags and the backend names that would (the caller exits with status 2).
 */
int check_only(const char *argv0)
{
	const char *p = opt_only;

	while (p && *p) {
		size_t l = strcspn(p, ",");
		int any = l == 0;
		for (int i = 0; i < nser && !any; i++)
			any = only_item_matches(&ser[i], p, l);
		if (!any) {
			fprintf(stderr, "%s: bad --only '%.*s': no series starts with it "
			        "(accepted: \"evict\", \"ref\", a backend (sigsegv, uffd, "
			        "uffd-sigbus) or a prefix of a series:", argv0, (int)l, p);
			for (int i = 0; i < nser; i++)
				fprintf(stderr, "%s%s", i % 8 ? " " : "\n  ", ser[i].name);
			fprintf(stderr, ")\n");
			return -1;
		}
		p += l + (p[l] == ',');
	}
	return 0;
}
