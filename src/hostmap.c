/*
 * hostmap.c - how a space's arena shows frames to the program: the host
 * side of the page table.
 *
 * Fault path: everything here runs inside the fault handler (space lock
 * held).  It calls only mmap, mprotect and madvise; no malloc, no stdio.
 * Each function returns 0 or a negative errno and never leaves a page more
 * accessible than its PTE allows.
 *
 * Linux keeps one VMA per run of pages that are contiguous in file offset
 * with equal protection, and a process may have only vm.max_map_count of
 * them.  Mapping each touched page on its own would split the arena into
 * islands (measured: 32,938 VMAs after touching half of 65,536 pages in
 * random order; ENOMEM after 41,284 of 200,000).  So, in guard mode:
 *
 *   - every page has an identity frame, the frame whose memfd offset lines
 *     up with the page (space_identity_frame), and frame_alloc prefers it;
 *   - the first fault in a 512-page leaf "backs" the whole leaf: it maps
 *     the leaf onto its identity frames, protection as in the PTEs, and
 *     installs guard markers (madvise MADV_GUARD_INSTALL, Linux 6.13+;
 *     shared memory since 6.15) so every page still traps;
 *   - showing a page on its identity frame is one MADV_GUARD_REMOVE, which
 *     splits no VMA, and hiding it is one MADV_GUARD_INSTALL.
 *
 * A page whose frame is not its identity (a copy-on-write copy, or when the
 * identity frame is taken) is an "alias": one mmap(MAP_FIXED) of its frame,
 * which does split the VMA.  In mmap mode (kernels without guard regions,
 * or DPEMU_HOSTMAP=mmap) every visible page is an alias and hidden pages
 * are the PROT_NONE reserve again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

/* Decide how spaces over this memfd show frames (API side, pool creation). */
enum hostmode hostmap_probe(int memfd, size_t page_size)
{
	const char *env = getenv("DPEMU_HOSTMAP");
	enum hostmode mode = HOSTMODE_MMAP;
	void *p;

	if (env && strcmp(env, "mmap") == 0)
		return HOSTMODE_MMAP;
	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		return HOSTMODE_MMAP;
	if (madvise(p, page_size, MADV_GUARD_INSTALL) == 0 &&
	    madvise(p, page_size, MADV_GUARD_REMOVE) == 0)
		mode = HOSTMODE_GUARD;
	munmap(p, page_size);
	return mode;
}

static inline size_t pages_bytes(const struct dpemu_space *s, uint64_t n)
{
	return (size_t)n << s->page_shift;
}

static inline off_t frame_offset(const struct dpemu_space *s, uint64_t f)
{
	return (off_t)(f << s->page_shift);
}

static int sys_err(void)
{
	return -errno;
}

/* Map pages [pg, pg+n) onto their identity frames with protection prot,
 * in as many mmaps as the wrap-around at the end of the pool needs. */
static int map_identity(struct dpemu_space *s, uint64_t pg, uint64_t n, int prot)
{
	while (n > 0) {
		uint64_t f = space_identity_frame(s, pg);
		uint64_t run = s->pool->nframes - f;
		if (run > n)
			run = n;
		if (mmap(space_page_addr(s, pg), pages_bytes(s, run), prot, MAP_SHARED | MAP_FIXED,
		         s->pool->memfd, frame_offset(s, f)) == MAP_FAILED)
			return sys_err();
		pg += run;
		n -= run;
	}
	return 0;
}

/*
 * Put identity mappings under pages [pg, pg+n) without ever exposing a
 * frame: map them PROT_NONE, guard them, then give them protection prot
 * (guard markers survive mprotect).  Sets B and HP, clears V and L in the
 * n PTEs from e.
 */
static int back_hidden(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t n, int prot)
{
	int err = map_identity(s, pg, n, PROT_NONE);

	if (err)
		return err;
	if (madvise(space_page_addr(s, pg), pages_bytes(s, n), MADV_GUARD_INSTALL) < 0)
		return sys_err();
	if (prot != PROT_NONE && mprotect(space_page_addr(s, pg), pages_bytes(s, n), prot) < 0)
		return sys_err();
	for (uint64_t i = 0; i < n; i++)
		e[i] = pte_with_hostprot((e[i] & ~(PTE_V | PTE_L)) | PTE_B, prot);
	return 0;
}

/* The VMA protection a page gets when its leaf is backed: what it will be
 * shown with if it has a frame, else its PTE protection. */
static int backing_prot(const struct dpemu_space *s, uint64_t e)
{
	return (e & PTE_P) ? pte_effective_prot(s, e) : pte_prot(e);
}

/*
 * Back the leaf that holds page pg (e is pg's PTE): identity mappings with
 * guards under all its pages, runs of equal backing_prot in one mprotect
 * each.  A leaf is backed before any of its pages is shown, so none of its
 * pages is visible yet (a forked child's leaves may hold present pages).
 */
static int back_leaf(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	uint64_t first = pg & ~(uint64_t)(PT_ENTRIES - 1);
	uint64_t *leaf = e - (pg - first);
	uint64_t n = s->npages - first < PT_ENTRIES ? s->npages - first : PT_ENTRIES;
	uint64_t run_start = 0;
	int err = back_hidden(s, first, leaf, n, PROT_NONE);

	for (uint64_t i = 1; i <= n && !err; i++) {
		int prot = backing_prot(s, leaf[run_start]);
		if (i < n && backing_prot(s, leaf[i]) == prot)
			continue;
		if (prot != PROT_NONE) {
			if (mprotect(space_page_addr(s, first + run_start),
			             pages_bytes(s, i - run_start), prot) < 0)
				return sys_err();
			for (uint64_t j = run_start; j < i; j++)
				leaf[j] = pte_with_hostprot(leaf[j], prot);
		}
		run_start = i;
	}
	return err;
}

/* Map frame f alone at page pg with protection prot: an alias. */
static int map_alias(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint32_t f, int prot)
{
	if (mmap(space_page_addr(s, pg), pages_bytes(s, 1), prot, MAP_SHARED | MAP_FIXED,
	         s->pool->memfd, frame_offset(s, f)) == MAP_FAILED)
		return sys_err();
	*e = pte_with_hostprot(*e | PTE_V | PTE_L, prot);
	return 0;
}

/*
 * Make present page pg (PTE *e) reachable with its effective protection.
 * frame_changed: the PTE's frame is not the one the host shows now.
 */
int host_show(struct dpemu_space *s, uint64_t pg, uint64_t *e, bool frame_changed)
{
	int eff = pte_effective_prot(s, *e);
	uint32_t f = pte_frame(*e);
	int err;

	if (s->pool->hostmode == HOSTMODE_MMAP) {
		if (!(*e & PTE_V) || frame_changed)
			return map_alias(s, pg, e, f, eff);
		return host_reprotect(s, pg, e);
	}
	if (!(*e & PTE_B) && (err = back_leaf(s, pg, e)))
		return err;
	if (f != space_identity_frame(s, pg)) {
		if (!(*e & PTE_V) || !(*e & PTE_L) || frame_changed)
			return map_alias(s, pg, e, f, eff);
		return host_reprotect(s, pg, e);
	}
	if (*e & PTE_L) {
		/* It showed another frame; put the identity mapping back. */
		err = map_identity(s, pg, 1, eff);
		if (err)
			return err;
		*e = pte_with_hostprot((*e & ~PTE_L) | PTE_V, eff);
		return 0;
	}
	if (pte_hostprot(*e) != eff) {
		if (mprotect(space_page_addr(s, pg), pages_bytes(s, 1), eff) < 0)
			return sys_err();
		*e = pte_with_hostprot(*e, eff);
	}
	if (!(*e & PTE_V)) {
		if (madvise(space_page_addr(s, pg), pages_bytes(s, 1), MADV_GUARD_REMOVE) < 0)
			return sys_err();
		*e |= PTE_V;
	}
	return 0;
}

/*
 * Show every present, not yet visible page of [pg, pg+n), which lie in one
 * leaf (e is pg's PTE).  Runs of identity pages whose host protection is
 * already right are shown with one MADV_GUARD_REMOVE each: this is what
 * makes fault-around cheaper than n faults.
 */
int host_show_run(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t n)
{
	uint64_t run = 0, run_pg = 0;
	int err = 0;

	if (s->pool->hostmode == HOSTMODE_GUARD && !(e[0] & PTE_B) && (err = back_leaf(s, pg, e)))
		return err;
	for (uint64_t i = 0; i <= n && !err; i++) {
		bool batchable = i < n && (e[i] & (PTE_P | PTE_V | PTE_L)) == PTE_P &&
		                 s->pool->hostmode == HOSTMODE_GUARD &&
		                 pte_frame(e[i]) == space_identity_frame(s, pg + i) &&
		                 pte_hostprot(e[i]) == pte_effective_prot(s, e[i]);
		if (batchable) {
			if (run == 0)
				run_pg = pg + i;
			run++;
			continue;
		}
		if (run) {
			if (madvise(space_page_addr(s, run_pg), pages_bytes(s, run), MADV_GUARD_REMOVE) < 0)
				return sys_err();
			for (uint64_t j = run_pg - pg; j < run_pg - pg + run; j++)
				e[j] |= PTE_V;
			run = 0;
		}
		if (i < n && (e[i] & PTE_P) && !(e[i] & PTE_V))
			err = host_show(s, pg + i, &e[i], false);
	}
	return err;
}

/* Give visible page pg the effective protection of its PTE. */
int host_reprotect(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	int eff = pte_effective_prot(s, *e);

	if (!(*e & PTE_V) || pte_hostprot(*e) == eff)
		return 0;
	if (mprotect(space_page_addr(s, pg), pages_bytes(s, 1), eff) < 0)
		return sys_err();
	*e = pte_with_hostprot(*e, eff);
	return 0;
}

/* ---- hiding pages --------------------------------------------------------- */

/* Hide the batched run [b->first, b->first + b->n) of visible identity pages
 * (guard mode) or visible pages (mmap mode). */
void host_flush(struct dpemu_space *s, struct host_batch *b)
{
	void *addr = space_page_addr(s, b->first);
	size_t len = pages_bytes(s, b->n);
	int rc;

	if (b->n == 0)
		return;
	if (s->pool->hostmode == HOSTMODE_GUARD)
		rc = madvise(addr, len, MADV_GUARD_INSTALL);
	else
		rc = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		          -1, 0) == MAP_FAILED ? -1 : 0;
	if (rc < 0 && !b->err)
		b->err = -errno;
	b->n = 0;
}

/*
 * Make page pg (PTE *e) unreachable, so that its frame can be dropped.
 * Hides are batched into runs; call host_flush before the frames are
 * reused.  An alias in guard mode first gets its identity mapping back.
 */
void host_hide(struct dpemu_space *s, struct host_batch *b, uint64_t pg, uint64_t *e)
{
	if (!(*e & PTE_V))
		return;
	if (s->pool->hostmode == HOSTMODE_GUARD && (*e & PTE_L)) {
		/* An alias is its own VMA: put a hidden identity mapping back. */
		int err = back_hidden(s, pg, e, 1, pte_prot(*e));
		if (err) {
			/* Still an alias, but it must not stay reachable. */
			madvise(space_page_addr(s, pg), pages_bytes(s, 1), MADV_GUARD_INSTALL);
			*e &= ~PTE_V;
			if (!b->err)
				b->err = err;
		}
		return;
	}
	*e &= ~(PTE_V | PTE_L);
	if (b->n && b->first + b->n == pg) {
		b->n++;
		return;
	}
	host_flush(s, b);
	b->first = pg;
	b->n = 1;
}

/* ---- changing protection of backed runs ------------------------------------ */

void host_setprot_flush(struct dpemu_space *s, struct host_protbatch *b)
{
	if (b->n == 0)
		return;
	if (mprotect(space_page_addr(s, b->first), pages_bytes(s, b->n), b->prot) < 0 && !b->err)
		b->err = -errno;
	b->n = 0;
}

/*
 * Give backed page pg (PTE *e) VMA protection target, batched into runs of
 * one mprotect each; pages that are neither backed nor visible are left
 * alone.  The caller picks target: the page's effective protection if it
 * is visible (never wider), anything for a hidden page (its guard still
 * traps).  Call host_setprot_flush at the end.
 */
void host_setprot(struct dpemu_space *s, struct host_protbatch *b, uint64_t pg, uint64_t *e,
                  int target)
{
	bool extends = b->n && b->first + b->n == pg && b->prot == target;

	if (!(*e & (PTE_B | PTE_V))) {
		host_setprot_flush(s, b);
		return;
	}
	if (pte_hostprot(*e) == target && !extends)
		return; /* nothing to change, no run to lengthen */
	if (!extends) {
		host_setprot_flush(s, b);
		b->first = pg;
		b->prot = target;
	}
	b->n++;
	*e = pte_with_hostprot(*e, target);
}
