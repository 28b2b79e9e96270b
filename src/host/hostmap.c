/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostmap.c - how a space's arena shows frames to the program: the host
 * side of the page table.
 *
 * Fault path: everything here runs inside the fault handler, with the
 * page's split page-table lock held (internal.h, struct ptl) - or the
 * whole space, API side.  Every host call stays inside the page's leaf,
 * which is what lets faults in other leaves run meanwhile (one exception,
 * host_revoke's last resort, only ever takes rights away).  It calls only
 * mmap, mprotect, madvise and userfaultfd ioctls; no malloc, no stdio.  Each function returns 0 or a negative errno and never
 * leaves a page more accessible than its PTE allows, not even for a moment:
 * rights are narrowed before anything is widened.
 *
 * Linux keeps one VMA per run of pages that are contiguous in file offset
 * with equal protection, and a process may have only vm.max_map_count of
 * them.  Mapping each touched page on its own would split the arena into
 * islands (measured: 32,938 VMAs after touching half of 65,536 pages in
 * random order; ENOMEM after 41,284 of 200,000).  So:
 *
 *   - every page has an identity frame, the frame whose memfd offset lines
 *     up with the page (space_identity_frame), and frame_alloc prefers it;
 *   - the first fault in a 512-page leaf "backs" the whole leaf: it maps
 *     the leaf onto its identity frames, and makes every page trap while
 *     it has no frame -
 *       HOSTMODE_GUARD: with guard markers (madvise MADV_GUARD_INSTALL,
 *         Linux 6.13+; shared memory since 6.15); showing a page is one
 *         MADV_GUARD_REMOVE, hiding it one MADV_GUARD_INSTALL;
 *       HOSTMODE_UFFD: by registering the range with userfaultfd (missing
 *         and minor faults); showing a page is one UFFDIO_CONTINUE, hiding
 *         it one MADV_DONTNEED, and a page that must trap on write (copy-
 *         on-write, clean shared file page) is write-protected with
 *         UFFDIO_WRITEPROTECT instead of mprotect;
 *     none of which splits a VMA.
 *
 * A page whose frame is not its identity (a copy-on-write copy, or when the
 * identity frame is taken) is an "alias": one mmap(MAP_FIXED) of its frame,
 * which does split the VMA.  In HOSTMODE_MMAP (kernels without guard
 * regions, or DPEMU_HOSTMAP=mmap) every visible page is an alias and hidden
 * pages are the PROT_NONE reserve again.
 *
 * Layer: host, the seam (src/internal.h).  Calls: arena.c of its own layer
 * (the userfaultfd ioctls), base; reads PTEs and frames, owns the PTE's
 * host-view bits.
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

/*
 * Decide how SIGSEGV spaces over this memfd show frames (API side): guard
 * regions where the kernel has them, else one mapping per page; the
 * environment's DPEMU_HOSTMAP=mmap asks for the latter.  0 with *mode set,
 * or -EINVAL with the message set when DPEMU_HOSTMAP holds anything else.
 */
int hostmap_probe(int memfd, size_t page_size, enum hostmode *mode)
{
	const char *env = getenv("DPEMU_HOSTMAP");
	void *p;

	*mode = HOSTMODE_MMAP;
	if (env && *env) {
		if (strcmp(env, "mmap") == 0)
			return 0;
		return set_error(-EINVAL, "dpemu_pool_create: DPEMU_HOSTMAP=%s is not understood "
		                 "(accepted: mmap, or unset for guard regions where the kernel "
		                 "has them)", env);
	}
	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		return 0;
	if (madvise(p, page_size, MADV_GUARD_INSTALL) == 0 &&
	    madvise(p, page_size, MADV_GUARD_REMOVE) == 0)
		*mode = HOSTMODE_GUARD;
	munmap(p, page_size);
	return 0;
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

int pte_effective_prot(const struct dpemu_space *s, uint64_t e)
{
	int prot = pte_prot(e);

	if (e & PTE_C)
		return prot & ~PROT_WRITE;
	if (!(e & PTE_D) && pte_dirty_exact(s, &s->maps[pte_map(e) - 1]))
		return prot & ~PROT_WRITE;
	return prot;
}

/* The VMA protection a visible page gets: its effective protection, except
 * that userfaultfd write-protects instead of dropping PROT_WRITE (aliases
 * included: they are registered too, see map_alias). */
static int vma_prot(const struct dpemu_space *s, uint64_t e)
{
	if (s->hostmode == HOSTMODE_UFFD && s->uffd_wp)
		return pte_prot(e);
	return pte_effective_prot(s, e);
}

/* Whether a visible page must be write-protected through userfaultfd. */
static bool wants_wp(const struct dpemu_space *s, uint64_t e)
{
	return s->hostmode == HOSTMODE_UFFD && s->uffd_wp &&
	       (pte_prot(e) & PROT_WRITE) && !(pte_effective_prot(s, e) & PROT_WRITE);
}

static int set_vma_prot(struct dpemu_space *s, uint64_t pg, uint64_t *e, int prot)
{
	if (pte_hostprot(*e) == prot)
		return 0;
	if (mprotect(space_page_addr(s, pg), pages_bytes(s, 1), prot) < 0)
		return sys_err();
	*e = pte_with_hostprot(*e, prot);
	return 0;
}

/* Map pages [pg, pg+n) onto their identity frames with protection prot,
 * in as many mmaps as the wrap-around at the end of the pool needs; *done
 * says how many pages were mapped (all of them, unless it fails). */
static int map_identity(struct dpemu_space *s, uint64_t pg, uint64_t n, int prot, uint64_t *done)
{
	*done = 0;
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
		*done += run;
	}
	return 0;
}

/*
 * Put identity mappings under pages [pg, pg+n) without ever exposing a
 * frame: map them PROT_NONE, make them trap (guard markers, or userfaultfd
 * registration), then give them protection prot.  Sets B and HP, clears V,
 * L and U in the n PTEs from e.
 *
 * On failure the PTEs still say what the host shows: pages the host call
 * never reached are as they were; pages it did reach are PROT_NONE
 * identity mappings now, perhaps without their traps, and so are marked
 * neither backed nor visible (any access to them raises SIGSEGV, and the
 * fault backs them again).
 */
static int back_hidden(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t n, int prot)
{
	uint64_t done;
	int err = map_identity(s, pg, n, PROT_NONE, &done);

	if (!err && s->hostmode == HOSTMODE_UFFD)
		err = uffd_register(s, pg, n);
	else if (!err && madvise(space_page_addr(s, pg), pages_bytes(s, n), MADV_GUARD_INSTALL) < 0)
		err = sys_err();
	if (!err && prot != PROT_NONE && mprotect(space_page_addr(s, pg), pages_bytes(s, n), prot) < 0)
		err = sys_err();
	if (err) {
		for (uint64_t i = 0; i < done; i++)
			e[i] &= ~(PTE_B | PTE_HP_MASK | PTE_V | PTE_L | PTE_U);
		return err;
	}
	for (uint64_t i = 0; i < n; i++)
		e[i] = pte_with_hostprot((e[i] & ~(PTE_V | PTE_L | PTE_U)) | PTE_B, prot);
	return 0;
}

/* The VMA protection a page gets when its leaf is backed: nothing where no
 * mapping is (so such accesses fault at once), what it will be shown with
 * if it has a frame, else its PTE protection. */
static int backing_prot(const struct dpemu_space *s, uint64_t e)
{
	if (pte_map(e) == 0)
		return PROT_NONE;
	return (e & PTE_P) ? vma_prot(s, e) : pte_prot(e);
}

/*
 * Back the leaf that holds page pg (e is pg's PTE): identity mappings that
 * trap under all its pages, runs of equal backing_prot in one mprotect
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

/*
 * Map frame f alone at page pg: an alias, visible with protection prot.
 * Under userfaultfd with write-protection the alias is registered like the
 * identity runs and write-protected instead of read-only, so that a write
 * to it - from a system call too - still reaches dpemu (a copy-on-write
 * copy, or a page that shares the zero frame).
 */
static int map_alias(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint32_t f, int prot)
{
	void *addr = space_page_addr(s, pg);
	bool uffd = s->hostmode == HOSTMODE_UFFD && s->uffd_wp;
	int vprot = uffd ? pte_prot(*e) : prot;
	bool wp = uffd && wants_wp(s, *e);
	int err;

	if (mmap(addr, pages_bytes(s, 1), uffd ? PROT_NONE : prot, MAP_SHARED | MAP_FIXED,
	         s->pool->memfd, frame_offset(s, f)) == MAP_FAILED)
		return sys_err();
	/* (B is already set where it means anything: host_show backs the leaf
	 * first; in mmap mode a hidden page is the PROT_NONE reserve.) */
	*e = pte_with_hostprot(*e & ~(PTE_U | PTE_V), uffd ? PROT_NONE : prot) | PTE_L;
	if (!uffd) {
		*e |= PTE_V;
		return 0;
	}
	if ((err = uffd_register(s, pg, 1)))
		return err;
	if (vprot != PROT_NONE && mprotect(addr, pages_bytes(s, 1), vprot) < 0)
		return sys_err();
	*e = pte_with_hostprot(*e, vprot);
	if ((err = uffd_continue(s, pg, 1, wp)))
		return err;
	*e |= PTE_V | (wp ? PTE_U : 0);
	return 0;
}

/* Make the hidden identity page pg reachable (its VMA protection is right). */
static int reveal(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t n)
{
	int err = 0;

	if (s->hostmode == HOSTMODE_UFFD) {
		bool wp = wants_wp(s, e[0]);
		err = (e[0] & PTE_Z) && n == 1 ? uffd_zero(s, pg, wp) : uffd_continue(s, pg, n, wp);
		for (uint64_t i = 0; i < n && !err; i++)
			e[i] = (wp ? e[i] | PTE_U : e[i] & ~PTE_U) & ~PTE_Z;
	} else if (madvise(space_page_addr(s, pg), pages_bytes(s, n), MADV_GUARD_REMOVE) < 0) {
		err = sys_err();
	} else {
		for (uint64_t i = 0; i < n; i++)
			e[i] &= ~PTE_Z;
	}
	for (uint64_t i = 0; i < n && !err; i++)
		e[i] |= PTE_V;
	return err;
}

/*
 * Give visible page pg the host rights its PTE asks for now, changing only
 * what its PTE's HP and U bits say differs (they must be current; see
 * host_force_prot when they may not be), narrowing before widening:
 * write-protect first, then change the VMA protection, then lift a
 * write-protection no longer wanted.  0 (also for a page not visible), or
 * the failing call's negative errno.
 */
int host_update_prot(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	bool wp = wants_wp(s, *e);
	int err;

	if (!(*e & PTE_V))
		return 0;
	if (wp && !(*e & PTE_U)) {
		if ((err = uffd_writeprotect(s, pg, 1, true)))
			return err;
		*e |= PTE_U;
	}
	if ((err = set_vma_prot(s, pg, e, vma_prot(s, *e))))
		return err;
	if (!wp && (*e & PTE_U)) {
		if ((err = uffd_writeprotect(s, pg, 1, false)))
			return err;
		*e &= ~PTE_U;
	}
	return 0;
}

/*
 * Make present page pg (PTE *e) reachable with its effective protection.
 * frame_changed: the PTE's frame is not the one the host shows now.
 */
int host_show(struct dpemu_space *s, uint64_t pg, uint64_t *e, bool frame_changed)
{
	uint32_t f = pte_frame(*e);
	int err;

	if (s->hostmode == HOSTMODE_MMAP) {
		if (!(*e & PTE_V) || frame_changed)
			return map_alias(s, pg, e, f, pte_effective_prot(s, *e));
		return host_update_prot(s, pg, e);
	}
	if (!(*e & PTE_B) && (err = back_leaf(s, pg, e)))
		return err;
	if (f != space_identity_frame(s, pg)) {
		if (!(*e & PTE_V) || !(*e & PTE_L) || frame_changed)
			return map_alias(s, pg, e, f, pte_effective_prot(s, *e));
		return host_update_prot(s, pg, e);
	}
	if ((*e & PTE_L) && (err = back_hidden(s, pg, e, 1, PROT_NONE)))
		return err; /* it showed another frame: hide the identity one first */
	if (*e & PTE_V)
		return host_update_prot(s, pg, e);
	if ((err = set_vma_prot(s, pg, e, vma_prot(s, *e))))
		return err;
	return reveal(s, pg, e, 1);
}

/*
 * Show every present, not yet visible page of [pg, pg+n), which lie in one
 * leaf (e is pg's PTE).  Runs of identity pages whose VMA protection is
 * already right are shown with one call each (MADV_GUARD_REMOVE or
 * UFFDIO_CONTINUE): this is what makes fault-around cheaper than n faults.
 */
int host_show_run(struct dpemu_space *s, uint64_t pg, uint64_t *e, uint64_t n)
{
	uint64_t run = 0, run_i = 0;
	int err = 0;

	if (s->hostmode != HOSTMODE_MMAP && !(e[0] & PTE_B) && (err = back_leaf(s, pg, e)))
		return err;
	for (uint64_t i = 0; i <= n && !err; i++) {
		bool batchable = i < n && (e[i] & (PTE_P | PTE_V | PTE_L)) == PTE_P &&
		                 s->hostmode != HOSTMODE_MMAP &&
		                 pte_frame(e[i]) == space_identity_frame(s, pg + i) &&
		                 pte_hostprot(e[i]) == vma_prot(s, e[i]) &&
		                 (run == 0 || wants_wp(s, e[i]) == wants_wp(s, e[run_i]));
		if (batchable) {
			if (run == 0)
				run_i = i;
			run++;
			continue;
		}
		if (run) {
			if (reveal(s, pg + run_i, &e[run_i], run)) {
				/* fall back to one page at a time */
				for (uint64_t j = run_i; !err && j < run_i + run; j++)
					if (!(e[j] & PTE_V))
						err = host_show(s, pg + j, &e[j], false);
			}
			run = 0;
		}
		if (!err && i < n && (e[i] & PTE_P) && !(e[i] & PTE_V))
			err = host_show(s, pg + i, &e[i], false);
	}
	return err;
}

/*
 * An access to page pg could not be resolved, but the host let it trap in
 * a way that retries (userfaultfd): make the page inaccessible, so that
 * the retry raises SIGSEGV and dpemu reports it there (a retry inside a
 * system call fails with EFAULT).  Once the SIGSEGV path has reported it,
 * host_settle gives the page its view back (fault_unrevoke); so does the
 * next show.
 *
 * Taking one page's rights splits its host mapping, which the host
 * refuses once vm.max_map_count is reached - and waking the thread with
 * its page still accessible would only fault again, for ever.  Then the
 * whole arena is made PROT_NONE instead: its ends are ends of host
 * mappings (what is not PROT_NONE there already is registered with the
 * space's userfaultfd, or an alias of one frame, and neither merges with
 * a mapping outside the arena), so this splits nothing and cannot fail
 * for want of mappings.  Every other
 * page of the space then traps too, and the SIGSEGV path gives each its
 * rights back at its next access (host_force_prot; HP is stale meanwhile, as
 * after a revoke without the page's lock) - one page's rights cannot be
 * given back before then (host_settle fails for want of mappings too), so
 * meanwhile system calls on them fail with EFAULT.  Narrowing only: no page is
 * ever more accessible than its PTE allows.  0, or a negative errno if
 * even that failed.
 */
int host_revoke(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	if (mprotect(space_page_addr(s, pg), pages_bytes(s, 1), PROT_NONE) < 0 &&
	    mprotect((void *)s->base, s->size, PROT_NONE) < 0)
		return sys_err();
	if (e)
		*e = pte_with_hostprot(*e, PROT_NONE);
	return 0;
}

/*
 * Give page pg (PTE *e; HOSTMODE_UFFD spaces only, 0 elsewhere) the host
 * view its PTE asks for, whatever the host shows now - what undoes a
 * revoke (host_revoke), also one made without the page's lock, whose HP
 * is stale:
 *   - a visible page gets its rights again (host_force_prot);
 *   - a hidden alias (L without V) is left alone: it is PROT_NONE on
 *     purpose (host_hide, map_alias), and shows it at its next fault;
 *   - a backed hidden page gets the VMA protection back_leaf gives it
 *     (backing_prot), so that an access its PTE allows reaches the
 *     userfaultfd again - from user code or inside a system call;
 *   - a page not backed gets its leaf backed (back_leaf): whatever the
 *     host shows there (the registered reserve, revoked or not, or
 *     host_scrub's PROT_NONE memory), it becomes a registered identity
 *     page with backing_prot, narrowed first.
 * 0, or a negative errno: the host refused (vm.max_map_count reached,
 * as after host_revoke's last resort): then the page may stay less
 * accessible than its PTE allows, never more, and its next access from
 * user code resolves it on the SIGSEGV path.
 */
int host_settle(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	int prot = backing_prot(s, *e);

	if (s->hostmode != HOSTMODE_UFFD)
		return 0;
	if (*e & PTE_V)
		return host_force_prot(s, pg, e);
	if (*e & PTE_L)
		return 0;
	if (!(*e & PTE_B))
		return back_leaf(s, pg, e);
	if (mprotect(space_page_addr(s, pg), pages_bytes(s, 1), prot) < 0)
		return sys_err();
	*e = pte_with_hostprot(*e, prot);
	return 0;
}

/* Set visible page pg's VMA protection again, whatever HP says - after a
 * revoke made without the page's lock (trap_uffd.c), HP may be stale - then
 * host_update_prot the rest.  0 (also for a page not visible), or the
 * failing call's negative errno. */
int host_force_prot(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	int prot = vma_prot(s, *e);

	if (!(*e & PTE_V))
		return 0;
	if (mprotect(space_page_addr(s, pg), pages_bytes(s, 1), prot) < 0)
		return sys_err();
	*e = pte_with_hostprot(*e, prot);
	return host_update_prot(s, pg, e);
}

/* ---- hiding pages --------------------------------------------------------- */

/*
 * Make page pg unreachable whatever the host showed there, when the usual
 * way (host_hide, or a failed show) may have left a frame visible: map
 * fresh PROT_NONE memory over it, which replaces an alias or an identity
 * page alike.  The page is no longer backed (B, HP, V, L, U cleared in *e,
 * if e): its next access traps as SIGSEGV (in every mode; a userfaultfd
 * space handles it on that path), and the show that follows backs its
 * leaf again.  0, or a negative errno (the host could not split the
 * mapping: vm.max_map_count reached) - then the page may still show its
 * frame, which its owner must then keep.
 */
int host_scrub(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	if (mmap(space_page_addr(s, pg), pages_bytes(s, 1), PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
		return sys_err();
	if (e)
		*e &= ~(PTE_B | PTE_HP_MASK | PTE_V | PTE_L | PTE_U);
	return 0;
}

/* Hide the batched run [b->first, b->first + b->n) of visible identity pages
 * (guard and userfaultfd modes) or visible pages (mmap mode). */
void host_flush(struct dpemu_space *s, struct host_batch *b)
{
	void *addr = space_page_addr(s, b->first);
	size_t len = pages_bytes(s, b->n);
	int rc;

	if (b->n == 0)
		return;
	switch (s->hostmode) {
	case HOSTMODE_GUARD:
		rc = madvise(addr, len, MADV_GUARD_INSTALL);
		break;
	case HOSTMODE_UFFD:
		rc = madvise(addr, len, MADV_DONTNEED);
		break;
	default:
		rc = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		          -1, 0) == MAP_FAILED ? -1 : 0;
		break;
	}
	if (rc < 0 && !b->err)
		b->err = -errno;
	b->n = 0;
}

/*
 * Make page pg (PTE *e) unreachable, so that its frame can be dropped.
 * Hides are batched into runs; call host_flush before the frames are
 * reused.  An alias first gets its hidden identity mapping back.
 */
void host_hide(struct dpemu_space *s, struct host_batch *b, uint64_t pg, uint64_t *e)
{
	if (!(*e & PTE_V))
		return;
	if (s->hostmode != HOSTMODE_MMAP && (*e & PTE_L)) {
		/* An alias is its own VMA: put a hidden identity mapping back. */
		int err = back_hidden(s, pg, e, 1, pte_prot(*e));
		if (err) {
			/* Still an alias, but it must not stay reachable. */
			mprotect(space_page_addr(s, pg), pages_bytes(s, 1), PROT_NONE);
			*e = pte_with_hostprot(*e & ~PTE_V, PROT_NONE);
			if (!b->err)
				b->err = err;
		}
		return;
	}
	*e &= ~(PTE_V | PTE_L | PTE_U);
	if (b->n && b->first + b->n == pg) {
		b->n++;
		return;
	}
	host_flush(s, b);
	b->first = pg;
	b->n = 1;
}

/*
 * Hide visible page pg (PTE *e) now, not in a batch: so that its frame
 * can be taken from it, or its next use traps (evict.c), or the emulated
 * TLB can drop it (tlb.c).  When the host refuses (host_hide has already cleared V, and
 * the page may still show its frame), the page is scrubbed instead
 * (host_scrub: fresh PROT_NONE memory over it, not backed; its next
 * access traps and shows it again).  Returns 0 when the host shows the
 * frame at pg no more (also for a page that was not visible).  If even
 * the scrub fails, the PTE is put back as it was - still visible, so that
 * the next attempt hides it again - and the host's error is returned: the
 * frame must stay with the page.
 */
int host_hide_now(struct dpemu_space *s, uint64_t pg, uint64_t *e)
{
	struct host_batch b = { 0, 0, 0 };
	uint64_t before = *e;

	host_hide(s, &b, pg, e);
	host_flush(s, &b);
	if (b.err == 0 || host_scrub(s, pg, e) == 0)
		return 0;
	/* An alias whose hidden identity mapping back_hidden did put back
	 * (B cleared: it reached the page) shows its frame no more, whatever
	 * failed after; the PTE says so already. */
	if (s->hostmode != HOSTMODE_MMAP && (before & (PTE_L | PTE_B)) == (PTE_L | PTE_B) &&
	    !(*e & PTE_B))
		return 0;
	*e = before;
	return b.err;
}

/* ---- changing protection ----------------------------------------------------- */

void host_setprot_flush(struct dpemu_space *s, struct host_protbatch *b)
{
	int err = 0;

	if (b->n == 0)
		return;
	if (b->prot < 0)
		err = uffd_writeprotect(s, b->first, b->n, true);
	else if (mprotect(space_page_addr(s, b->first), pages_bytes(s, b->n), b->prot) < 0)
		err = -errno;
	if (err && !b->err)
		b->err = err;
	b->n = 0;
}

/* Add page pg to batch b of kind prot (a VMA protection, or -1 for
 * "write-protect through userfaultfd"). */
static void batch_add(struct dpemu_space *s, struct host_protbatch *b, uint64_t pg, int prot)
{
	if (!(b->n && b->first + b->n == pg && b->prot == prot)) {
		host_setprot_flush(s, b);
		b->first = pg;
		b->prot = prot;
	}
	b->n++;
}

/*
 * Page pg's PTE *e has just been given a new protection (target is that
 * protection): bring the host along.  Hidden backed pages get VMA
 * protection target in runs of one mprotect; visible pages get exactly
 * what their PTE now asks for, narrowed before widened.  Pages neither
 * backed nor visible are left alone.  With b->exact every backed page
 * gets its mprotect, whatever HP says (dpemu_map: a revoke made without
 * the page's lock, trap_uffd.c's drain, leaves HP stale, and the new mapping
 * must not inherit its PROT_NONE) - but a hidden alias, which may still
 * show a frame, stays PROT_NONE.  Call host_setprot_flush at the end.
 */
void host_setprot(struct dpemu_space *s, struct host_protbatch *b, uint64_t pg, uint64_t *e,
                  int target)
{
	if (!(*e & (PTE_B | PTE_V)) || (b->exact && (*e & (PTE_L | PTE_V)) == PTE_L)) {
		host_setprot_flush(s, b); /* (a hidden alias is PROT_NONE on purpose) */
		return;
	}
	if (*e & PTE_V) {
		bool simple = !wants_wp(s, *e) && !(*e & PTE_U);
		target = vma_prot(s, *e);
		if (!simple) {
			host_setprot_flush(s, b);
			int err = host_update_prot(s, pg, e);
			if (err && !b->err)
				b->err = err;
			return;
		}
	}
	if (!b->exact && pte_hostprot(*e) == target &&
	    !(b->n && b->first + b->n == pg && b->prot == target))
		return; /* nothing to change, no run to lengthen */
	batch_add(s, b, pg, target);
	*e = pte_with_hostprot(*e, target);
}

/*
 * Visible page pg's effective protection has just become narrower (it
 * turned copy-on-write): take write access away, in runs - one
 * UFFDIO_WRITEPROTECT or one mprotect per run.  Call host_setprot_flush at
 * the end.
 */
void host_narrow(struct dpemu_space *s, struct host_protbatch *b, uint64_t pg, uint64_t *e)
{
	if (!(*e & PTE_V)) {
		host_setprot_flush(s, b);
		return;
	}
	if (wants_wp(s, *e)) {
		if (!(*e & PTE_U)) {
			batch_add(s, b, pg, -1);
			*e |= PTE_U;
		}
		return;
	}
	int prot = vma_prot(s, *e);
	if (pte_hostprot(*e) != prot) {
		batch_add(s, b, pg, prot);
		*e = pte_with_hostprot(*e, prot);
	}
}
