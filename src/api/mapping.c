/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapping.c - the lazy mappings: dpemu_map, dpemu_unmap, dpemu_protect,
 * dpemu_sync and dpemu_query.
 *
 * API side only: these run with the whole space locked (space_lock_all;
 * dpemu_query: the space lock and the page's stripe) and may allocate.  A
 * mapping allocates no frame; it only writes its id and protection into
 * the page table (coarse entries for whole subtrees), which is also how a
 * fault finds it.  Every function checks all of its arguments before it
 * changes anything, so a bad call leaves the space as it was.
 *
 * Write-back (flush_range) is durable: dpemu_sync, dpemu_unmap and
 * dpemu_space_destroy fdatasync(2) each shared file mapping after its
 * pages are written, once per mapping.
 *
 * Layer: api (src/internal.h).  Calls: fault_resolve (dpemu_prefault), the
 * stores (write-back, swap slots), the frames, the emulated TLB (pages
 * unmapped leave it) and the page table, the host view, base.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* snprintf */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_MAPPINGS 65535u /* ids are 16 bits in the PTE; 0 means none */
#define KNOWN_FLAGS (DPEMU_MAP_PRIVATE | DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED)
#define KNOWN_PROT (PROT_READ | PROT_WRITE | PROT_EXEC)

static const char inherited_msg[] =
	"this space belongs to the parent process of fork(2); a child must not use it";

/* ---- checking ranges ----------------------------------------------------- */

/*
 * Check that [addr, addr+len) is a page-aligned, non-empty range inside the
 * arena; on success set *first and *n (pages, len rounded up).
 */
static int check_range(const struct dpemu_space *s, const char *fn, const void *addr, size_t len,
                       uint64_t *first, uint64_t *n)
{
	uintptr_t a = (uintptr_t)addr;
	size_t ps = s->pool->page_size;

	if (len == 0)
		return set_error(-EINVAL, "%s: len is 0", fn);
	if (a & (ps - 1))
		return set_error(-EINVAL, "%s: address %p is not aligned to the page size %zu",
		                 fn, addr, ps);
	if (a < s->base || a >= s->base + s->size || len > s->base + s->size - a)
		return set_error(-EINVAL, "%s: range %p+%zu is not inside the arena [%p, %p)", fn,
		                 addr, len, (void *)s->base, (void *)(s->base + s->size));
	*first = space_page_index(s, addr);
	*n = (len + ps - 1) >> s->page_shift;
	return 0;
}

/*
 * The common checks of the calls that take a range of an existing space:
 * s is not NULL, not inherited through fork(2), and [addr, addr+len) is a
 * page-aligned range inside its arena.  0 with *first and *n set, or the
 * negative errno with the message set (naming fn).
 */
static int check_space_range(struct dpemu_space *s, const char *fn, const void *addr,
                             size_t len, uint64_t *first, uint64_t *n)
{
	if (!s)
		return set_error(-EINVAL, "%s: space is NULL", fn);
	if (pool_inherited(s->pool))
		return set_error(-EPERM, "%s: %s", fn, inherited_msg);
	return check_range(s, fn, addr, len, first, n);
}

static int count_mapped(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                        uint64_t npages, void *arg)
{
	if (pte_map(*e) != 0)
		*(uint64_t *)arg += npages;
	return 0;
}

/* Pages of [first, first+n) that a mapping covers. */
static uint64_t mapped_pages(struct dpemu_space *s, uint64_t first, uint64_t n)
{
	uint64_t count = 0;
	pt_walk(s, first, n, false, count_mapped, &count);
	return count;
}

struct find_free {
	uint64_t need, run_start, run;
};

static int find_free_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                           uint64_t npages, void *arg)
{
	struct find_free *ff = arg;

	if (pte_map(*e) != 0 || pte_is_table(*e)) {
		ff->run = 0;
		return 0;
	}
	if (ff->run == 0)
		ff->run_start = pg;
	ff->run += npages;
	return ff->run >= ff->need;
}

/* First free run of n pages at or after page `from`; returns its first page
 * or UINT64_MAX. */
static uint64_t find_free(struct dpemu_space *s, uint64_t from, uint64_t n)
{
	struct find_free ff = { n, 0, 0 };

	if (from < s->npages && pt_walk(s, from, s->npages - from, false, find_free_visit, &ff) > 0)
		return ff.run_start;
	return UINT64_MAX;
}

/* ---- mapping ids ---------------------------------------------------------- */

static void mapping_drop(struct dpemu_space *s, uint32_t id, uint64_t n);

/*
 * A note for a message about memory the host refused (-ENOMEM): the
 * address-space limit and how much of it is in use, when a limit is set,
 * since that is what usually runs out first (RLIMIT_AS counts every
 * reservation, arenas included).  "" when there is no limit.
 */
static const char *host_memory_note(char *buf, size_t len)
{
	struct rlimit rl;
	unsigned long long pages = 0;
	FILE *f;

	buf[0] = '\0';
	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return buf;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%llu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	snprintf(buf, len, "; the process's address-space limit (RLIMIT_AS, ulimit -v) is %llu "
	         "bytes and %llu are in use: raise it, or reserve smaller arenas",
	         (unsigned long long)rl.rlim_cur, pages * (unsigned long long)sysconf(_SC_PAGESIZE));
	return buf;
}

/*
 * Find a free mapping id for a new mapping, growing the table if every
 * slot is in use.  Returns 0 with *id set, or -ENOMEM with the message set
 * (the table is full at MAX_MAPPINGS, or growing it failed); the table is
 * unchanged on failure.
 */
static int mapping_new(struct dpemu_space *s, uint32_t *id)
{
	char note[160];

	for (uint32_t i = 0; i < s->maps_cap; i++) {
		if (s->maps[i].npages == 0) {
			*id = i + 1;
			return 0;
		}
	}
	if (s->maps_cap >= MAX_MAPPINGS)
		return set_error(-ENOMEM, "dpemu_map: the space has %u mappings, the most a space "
		                 "can have; unmap some first", s->maps_live);
	uint32_t cap = s->maps_cap ? s->maps_cap * 2 : 16;
	if (cap > MAX_MAPPINGS)
		cap = MAX_MAPPINGS;
	struct mapping *maps = realloc(s->maps, cap * sizeof *maps);
	if (!maps)
		return set_error(-ENOMEM, "dpemu_map: no memory to grow the mapping table from %u "
		                 "to %u entries (%zu bytes) at %u mappings%s", s->maps_cap, cap,
		                 cap * sizeof *maps, s->maps_live,
		                 *host_memory_note(note, sizeof note) ? note
		                 : "; the host is out of memory");
	memset(maps + s->maps_cap, 0, (cap - s->maps_cap) * sizeof *maps);
	*id = s->maps_cap + 1;
	s->maps = maps;
	s->maps_cap = cap;
	return 0;
}

struct id_count {
	uint32_t id;
	uint64_t n;
};

static int count_id(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                    uint64_t npages, void *arg)
{
	struct id_count *c = arg;

	(void)s;
	(void)level;
	(void)pg;
	if (!pte_is_table(*e) && pte_map(*e) == c->id)
		c->n += npages;
	return 0;
}

/*
 * Give up mapping id over pages [first, first+n), which a failed dpemu_map
 * had filled in and then unmapped again: pages it never reached (the page
 * table could not be split that far) still count in its npages, so it
 * would never close by itself - a live mapping counted for ever, and its
 * fd kept.  Close it now, unless an entry still names it (which the unmap
 * should have made impossible): a slot kept is only a leak, a slot reused
 * under a stale entry would hand those pages to the next mapping.
 */
static void mapping_discard(struct dpemu_space *s, uint32_t id, uint64_t first, uint64_t n)
{
	struct mapping *m = &s->maps[id - 1];
	struct id_count c = { id, 0 };

	if (m->npages == 0)
		return; /* closed by the unmap */
	pt_walk(s, first, n, false, count_id, &c);
	if (c.n != 0)
		return;
	m->npages = 1;
	mapping_drop(s, id, 1);
}

/* Page count of mapping id drops by n; the last page closes it. */
static void mapping_drop(struct dpemu_space *s, uint32_t id, uint64_t n)
{
	struct mapping *m = &s->maps[id - 1];

	m->npages -= n;
	if (m->npages == 0) {
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		if (m->shared)
			shared_put(s->pool, m->shared);
		m->shared = NULL;
		s->maps_live--;
	}
}

/* ---- write-back ------------------------------------------------------------ */

/*
 * Write page pg's frame f back to mapping m's file, only the bytes before
 * the end of the file (a mapping never extends its file).  0 or -EIO.
 */
static int writeback(struct dpemu_space *s, const struct mapping *m, uint64_t pg, uint32_t f)
{
	off_t off = m->offset + (off_t)((pg - m->start) << s->page_shift);
	int err = file_write_page(m->fd, off, frame_data(s->pool, f), s->pool->page_size);

	if (err)
		return set_error(-EIO, "write-back of page %p to file offset %lld failed: %s",
		                 space_page_addr(s, pg), (long long)off, strerror(-err));
	PG_STATS(s, pg).writebacks++;
	TRACE(s->pool, DPEMU_EVENT_WRITEBACK, f, .space = s->id,
	      .addr = (uintptr_t)space_page_addr(s, pg));
	return 0;
}

/* What flush_range does with the dirty pages it writes back. */
enum flush_mode {
	FLUSH_SYNC,  /* dpemu_sync: they become clean (write-protected first,
	                so a write during the write-back dirties them again) */
	FLUSH_UNMAP, /* space_unmap_pages: they are about to go; left as they
	                are, but unmap_range_visit will not write them again      */
};

struct flush_walk {
	uint32_t id;         /* the mapping being flushed                     */
	enum flush_mode mode;
	uint64_t written;    /* pages written back                            */
	int err;             /* the first failure, message set                */
};

/* Write back one dirty present page of mapping w->id. */
static int flush_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                       uint64_t npages, void *arg)
{
	struct flush_walk *w = arg;
	const struct mapping *m = &s->maps[w->id - 1];
	int err = 0;

	if (level > 0 || pte_map(*e) != w->id || !(*e & PTE_P) || !(*e & PTE_D))
		return 0;
	if (w->mode == FLUSH_SYNC) {
		*e &= ~PTE_D;
		err = host_update_prot(s, pg, e);
		if (err)
			set_error(err, "cannot write-protect page %p for its write-back: %s",
			          space_page_addr(s, pg), strerror(-err));
	}
	if (!err)
		err = writeback(s, m, pg, pte_frame(*e));
	if (!err) {
		w->written++;
		if (w->mode == FLUSH_SYNC && atomic_load(&s->pool->frames[pte_frame(*e)].refs) == 1)
			atomic_store(&s->pool->frames[pte_frame(*e)].dirty, 0); /* the file has it */
	} else if (w->mode == FLUSH_SYNC) {
		*e |= PTE_D;
		host_update_prot(s, pg, e);
	}
	if (err && !w->err)
		w->err = err;
	return 0;
}

/* A flush of mapping w->id failed after its pages were cleaned: mark every
 * present page of it dirty again, so that a later dpemu_sync retries. */
static int redirty_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                         uint64_t npages, void *arg)
{
	struct flush_walk *w = arg;

	if (level > 0 || pte_map(*e) != w->id || !(*e & PTE_P) || (*e & PTE_D))
		return 0;
	*e |= PTE_D;
	host_update_prot(s, pg, e);
	atomic_store(&s->pool->frames[pte_frame(*e)].dirty, 1);
	return 0;
}

struct flush_ids {
	uint32_t lo, hi; /* the least and greatest id of a file mapping met */
};

/* Visitor of flush_range's first pass: the ids of shared file mappings. */
static int flush_scan(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                      uint64_t npages, void *arg)
{
	struct flush_ids *ids = arg;
	uint32_t id = pte_map(*e);

	if (id && !pte_is_table(*e) && mapping_tracks_dirty(&s->maps[id - 1])) {
		if (id < ids->lo)
			ids->lo = id;
		if (id > ids->hi)
			ids->hi = id;
	}
	return 0;
}

/*
 * Write back the dirty pages of the shared file mappings in pages
 * [first, first+n) and make them durable: one fdatasync(2) per mapping
 * (per duplicate of a file descriptor), after all of its pages are
 * written, never one per page.  The whole space is locked.
 *
 * FLUSH_SYNC (dpemu_sync, like msync(MS_SYNC)): every writable shared file
 * mapping in the range is fdatasync'ed, also when none of its pages was
 * dirty now (pages the evictor wrote back earlier become durable too); the
 * pages written become clean.  If the fdatasync fails, the mapping's
 * present pages in the range are all marked dirty again.
 * FLUSH_UNMAP: only the mappings this call wrote pages of are
 * fdatasync'ed; the pages stay as they are (the caller unmaps them).
 *
 * Returns 0 or the first failure's negative errno (-EIO for a failed
 * write; fdatasync's error: -EIO, -ENOSPC, -EDQUOT, ...), message set.
 */
static int flush_range(struct dpemu_space *s, uint64_t first, uint64_t n,
                       enum flush_mode mode)
{
	struct flush_ids ids = { UINT32_MAX, 0 };
	int err = 0;

	/* Only the mappings the range meets, so that an unmap of anonymous
	 * memory costs no look at every mapping of the space. */
	pt_walk(s, first, n, false, flush_scan, &ids);
	for (uint32_t id = ids.lo; id <= ids.hi; id++) {
		const struct mapping *m = &s->maps[id - 1];
		uint64_t lo = m->start > first ? m->start : first;
		uint64_t hi = m->start + m->len < first + n ? m->start + m->len : first + n;
		struct flush_walk w = { .id = id, .mode = mode };

		if (m->npages == 0 || !mapping_tracks_dirty(m) || !m->fd_writable || lo >= hi)
			continue;
		pt_walk(s, lo, hi - lo, false, flush_visit, &w);
		if (w.err && !err)
			err = w.err;
		if (mode == FLUSH_UNMAP && w.written == 0)
			continue;
		if (fdatasync(m->fd) < 0) {
			int e = -errno;
			if (mode == FLUSH_SYNC)
				pt_walk(s, lo, hi - lo, false, redirty_visit, &w);
			if (!err)
				err = set_error(e, "fdatasync of the file of the shared mapping at %p "
				                "failed: %s; %s", space_page_addr(s, m->start),
				                strerror(-e), mode == FLUSH_SYNC
				                ? "its pages stay dirty" : "the data may be lost");
		}
	}
	return err;
}

/* ---- unmapping -------------------------------------------------------------- */

/* A frame to release once the host no longer shows it at page pg. */
struct dropped {
	uint64_t pg;
	uint32_t f;
};

struct unmap_walk {
	struct host_batch hide;
	struct dropped *dropped;
	size_t ndropped, cap;
	uint64_t kept;     /* frames kept out of the pool: still perhaps visible */
	bool host_gone;    /* the arena is gone from the host: nothing to hide */
};

/*
 * Frame f of page pg (just unmapped) goes back to the pool - unless hiding
 * the page failed (hide_failed), when the host may still show it there:
 * then the page is scrubbed first (host_scrub), and if even that fails the
 * frame is kept, never to be handed out again, rather than let a stale
 * host mapping show another page's data through pg.
 */
static void release_frame(struct dpemu_space *s, struct unmap_walk *u, uint64_t pg, uint32_t f,
                          bool hide_failed)
{
	if (hide_failed && host_scrub(s, pg, pt_find(s, pg)) != 0) {
		u->kept++;
		return;
	}
	frame_put(s->pool, f);
}

/*
 * pt_walk visitor of space_unmap_pages and space_drop_pages: entry *e
 * (level, pages [pg, pg + npages)) leaves its mapping - a coarse entry at
 * once, a PTE with its frame or swap slot (frames are hidden in the batch
 * of u = arg and released after the walk).  Returns 0: the walk goes on.
 */
static int unmap_range_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                             uint64_t npages, void *arg)
{
	struct unmap_walk *u = arg;
	uint32_t id = pte_map(*e);

	if (id == 0)
		return 0;
	if (level > 0) {
		mapping_drop(s, id, npages);
		*e = 0;
		return 0;
	}
	if (pte_swapped(*e))
		swap_put(s->pool, pte_frame(*e));
	if (*e & PTE_P) {
		/* (Dirty shared file pages were written back by flush_range.) */
		uint32_t f = pte_frame(*e);
		tlb_forget(s, pg); /* (hidden below, or the arena is gone) */
		if (u->host_gone) {
			/* No host view left anywhere: the frame can go now. */
			mapping_drop(s, id, 1);
			*e = 0;
			frame_put(s->pool, f);
			PG_STATS(s, pg).pages_resident--;
			return 0;
		}
		host_hide(s, &u->hide, pg, e);
		if (u->ndropped == u->cap) {
			size_t cap = u->cap ? u->cap * 2 : 256;
			struct dropped *d = realloc(u->dropped, cap * sizeof *d);
			if (!d) {
				/* No room to defer: make this page unreachable now. */
				int earlier = u->hide.err;
				u->hide.err = 0;
				host_flush(s, &u->hide);
				bool failed = u->hide.err != 0;
				if (earlier)
					u->hide.err = earlier;
				mapping_drop(s, id, 1);
				*e = host_view_only(*e);
				release_frame(s, u, pg, f, failed);
				PG_STATS(s, pg).pages_resident--;
				return 0;
			}
			u->dropped = d;
			u->cap = cap;
		}
		u->dropped[u->ndropped++] = (struct dropped){ pg, f };
		PG_STATS(s, pg).pages_resident--;
	}
	mapping_drop(s, id, 1);
	*e = host_view_only(*e);
	return 0;
}

/*
 * Remove pages [first, first+n) from their mappings: write back dirty
 * shared file pages and fdatasync(2) the files written (flush_range), hide
 * the pages, then release their frames (only once the host shows them
 * nowhere, so no stale access can reach a reused frame: a frame whose page
 * could not be hidden is kept, see release_frame).  The pages go even when
 * their write-back failed.  Returns 0, -EIO (a write-back failed),
 * fdatasync's error (-EIO, -ENOSPC, ...: the data written may not be on
 * the disk), -ENOMEM, or the host's error when hiding failed, with the
 * message set; the pages are unmapped all the same.
 */
int space_unmap_pages(struct dpemu_space *s, uint64_t first, uint64_t n)
{
	struct unmap_walk u = { .hide = { 0, 0, 0 } };
	int wb = flush_range(s, first, n, FLUSH_UNMAP);
	char why[256];
	int err;

	if (wb)
		snprintf(why, sizeof why, "%s", dpemu_last_error());
	err = pt_walk(s, first, n, true, unmap_range_visit, &u);

	host_flush(s, &u.hide);
	for (size_t i = 0; i < u.ndropped; i++)
		release_frame(s, &u, u.dropped[i].pg, u.dropped[i].f, u.hide.err != 0);
	free(u.dropped);
	if (err)
		return set_error(err, "dpemu_unmap: out of memory for the page table");
	if (u.hide.err && u.kept)
		return set_error(u.hide.err, "dpemu_unmap: the host refused to unmap pages (%s); "
		                 "%llu frame(s) are kept out of the pool, as the host may still "
		                 "show them", strerror(-u.hide.err), (unsigned long long)u.kept);
	if (u.hide.err)
		return set_error(u.hide.err, "dpemu_unmap: the host refused to unmap pages: %s",
		                 strerror(-u.hide.err));
	if (wb)
		return set_error(wb, "dpemu_unmap: %s (the pages are unmapped all the same)", why);
	return 0;
}

/*
 * The first step of dpemu_space_destroy: write back the dirty pages of
 * every shared file mapping of s and fdatasync(2) the files written
 * (flush_range, as space_unmap_pages does).  The whole space is locked.
 * Nothing is unmapped and the pages stay dirty, so that a failure changes
 * nothing a retry needs.  0, or flush_range's error (-EIO, fdatasync's)
 * with the message set.
 */
int space_flush_pages(struct dpemu_space *s)
{
	return flush_range(s, 0, s->npages, FLUSH_UNMAP);
}

/*
 * The last step of dpemu_space_destroy, once the host no longer maps s's
 * arena at all (it was unmapped whole, so no host view of any frame is
 * left in it): unmap every page of s without a host call, releasing frames
 * and swap slots at once.  Dirty pages are not written back (see
 * space_flush_pages).  The whole space is locked.  Cannot fail.
 */
void space_drop_pages(struct dpemu_space *s)
{
	struct unmap_walk u = { .hide = { 0, 0, 0 }, .host_gone = true };

	pt_walk(s, 0, s->npages, false, unmap_range_visit, &u); /* (no split: the whole range) */
}

/* ---- protection ---------------------------------------------------------- */

struct prot_walk {
	int prot;
	uint32_t map_id; /* non-zero: also set this mapping id (dpemu_map) */
	struct host_protbatch hp;
};

static int prot_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                      uint64_t npages, void *arg)
{
	struct prot_walk *w = arg;

	if (level > 0) {
		*e = pte_coarse(w->map_id ? w->map_id : pte_map(*e), w->prot);
		return 0;
	}
	if (w->map_id)
		*e = host_view_only(*e) | ((uint64_t)w->map_id << PTE_MAP_SHIFT);
	*e = pte_with_prot(*e, w->prot);
	host_setprot(s, &w->hp, pg, e, w->prot);
	return 0;
}

/* Give pages [first, first+n) protection prot (and mapping id map_id, if
 * non-zero), in the page table and in the host view.  A new mapping
 * (map_id) resets the VMA protection of every backed page of a
 * userfaultfd space, which an unresolved fault may have left revoked. */
static int set_pages(struct dpemu_space *s, uint64_t first, uint64_t n, int prot, uint32_t map_id)
{
	struct prot_walk w = { .prot = prot, .map_id = map_id,
	                       .hp = { .exact = map_id != 0 && s->hostmode == HOSTMODE_UFFD } };
	int err = pt_walk(s, first, n, true, prot_visit, &w);

	host_setprot_flush(s, &w.hp);
	if (err)
		return set_error(err, "out of memory for the page table");
	if (w.hp.err)
		return set_error(w.hp.err, "the host refused to change protections (%s)%s",
		                 strerror(-w.hp.err), w.hp.err == -ENOMEM
		                 ? "; raise vm.max_map_count" : "");
	return 0;
}

/* The protections of a range, as runs of pages with the same one: what
 * dpemu_protect puts back when it fails. */
struct prot_run {
	uint64_t first, n;
	int prot;
};

struct prot_save {
	uint64_t lo, hi;      /* the range                                  */
	struct prot_run *runs;
	size_t n, cap;
	int err;
};

static int save_visit(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                      uint64_t npages, void *arg)
{
	struct prot_save *sv = arg;
	uint64_t lo = pg < sv->lo ? sv->lo : pg;
	uint64_t hi = pg + npages > sv->hi ? sv->hi : pg + npages;
	int prot = pte_prot(*e);

	(void)s;
	(void)level;
	if (sv->n && sv->runs[sv->n - 1].first + sv->runs[sv->n - 1].n == lo &&
	    sv->runs[sv->n - 1].prot == prot) {
		sv->runs[sv->n - 1].n += hi - lo;
		return 0;
	}
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		struct prot_run *r = realloc(sv->runs, cap * sizeof *r);
		if (!r) {
			sv->err = -ENOMEM;
			return 1;
		}
		sv->runs = r;
		sv->cap = cap;
	}
	sv->runs[sv->n++] = (struct prot_run){ lo, hi - lo, prot };
	return 0;
}

struct shared_ro_check {
	uint32_t bad; /* the first mapping that may not become writable, or 0 */
};

/* Visitor for dpemu_protect(PROT_WRITE): stop at a shared file mapping
 * whose fd cannot write pages back (read-only, or O_APPEND). */
static int check_write_allowed(struct dpemu_space *s, uint64_t *e, unsigned level, uint64_t pg,
                               uint64_t npages, void *arg)
{
	uint32_t id = pte_map(*e);

	if (id && !pte_is_table(*e)) {
		const struct mapping *m = &s->maps[id - 1];
		if ((m->flags & DPEMU_MAP_SHARED) && m->fd >= 0 && !m->fd_writable) {
			((struct shared_ro_check *)arg)->bad = id;
			return 1;
		}
	}
	return 0;
}

/* ---- API ---------------------------------------------------------------- */

/* The largest file offset: off_t is signed, and has no OFF_MAX in libc. */
#define DPEMU_OFF_MAX ((off_t)(((uint64_t)1 << (sizeof(off_t) * 8 - 1)) - 1))

/*
 * The checks of dpemu_map's file descriptor, as mmap(2) makes them, for a
 * file mapping of n pages at offset (non-negative, page-aligned) with prot
 * and flags.  0 with *fd_flags set to fd's F_GETFL flags, or:
 *   -EBADF      fd is not open, or was opened with O_PATH (no I/O through it);
 *   -ENODEV     fd is not a regular file;
 *   -EACCES     fd is not open for reading; SHARED with PROT_WRITE and fd not
 *               open for reading and writing, or open with O_APPEND (an
 *               append-only fd writes at the end of the file, never at a
 *               page's offset);
 *   -EOVERFLOW  offset + the mapping's length passes the largest file offset;
 * with the message set.
 */
static int check_map_fd(const struct dpemu_space *s, int fd, off_t offset, uint64_t n,
                        int prot, int flags, int *fd_flags)
{
	struct stat st;
	int fl;

	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) < 0)
		return set_error(-EBADF, "dpemu_map: fd %d is not an open file descriptor", fd);
	if (fl & O_PATH)
		return set_error(-EBADF, "dpemu_map: fd %d was opened with O_PATH, which allows "
		                 "no reading; open the file with O_RDONLY or O_RDWR", fd);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return set_error(-ENODEV, "dpemu_map: fd %d is not a regular file", fd);
	if ((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR)
		return set_error(-EACCES, "dpemu_map: fd %d is not open for reading", fd);
	if ((flags & DPEMU_MAP_SHARED) && (prot & PROT_WRITE)) {
		if ((fl & O_ACCMODE) != O_RDWR)
			return set_error(-EACCES, "dpemu_map: a shared writable mapping needs fd %d "
			                 "open for reading and writing", fd);
		if (fl & O_APPEND)
			return set_error(-EACCES, "dpemu_map: fd %d is open with O_APPEND: a shared "
			                 "writable mapping of it could not write pages back at "
			                 "their offsets (map it read-only or private, or open the "
			                 "file without O_APPEND)", fd);
	}
	if (n > (uint64_t)DPEMU_OFF_MAX >> s->page_shift ||
	    offset > DPEMU_OFF_MAX - (off_t)(n << s->page_shift))
		return set_error(-EOVERFLOW, "dpemu_map: offset %lld + %llu bytes passes the "
		                 "largest file offset %lld", (long long)offset,
		                 (unsigned long long)(n << s->page_shift),
		                 (long long)DPEMU_OFF_MAX);
	*fd_flags = fl;
	return 0;
}

/*
 * dpemu_map's checks, before it locks anything: 0 with *n the mapping's
 * pages, *first its page (DPEMU_MAP_FIXED) and *fd_flags the fd's status
 * flags (file mappings); else a negative errno with the message set.
 */
static int map_check(dpemu_space *s, void *addr, size_t len, int prot, int flags, int fd,
                     off_t offset, uint64_t *first, uint64_t *n, int *fd_flags)
{
	if (pool_inherited(s->pool))
		return set_error(-EPERM, "dpemu_map: %s", inherited_msg);
	if (len == 0)
		return set_error(-EINVAL, "dpemu_map: len is 0");
	if (flags & ~KNOWN_FLAGS)
		return set_error(-EINVAL, "dpemu_map: unknown flag bits %#x", flags & ~KNOWN_FLAGS);
	if (!(flags & DPEMU_MAP_PRIVATE) == !(flags & DPEMU_MAP_SHARED))
		return set_error(-EINVAL, "dpemu_map: give exactly one of DPEMU_MAP_PRIVATE and "
		                 "DPEMU_MAP_SHARED");
	if (prot & ~KNOWN_PROT)
		return set_error(-EINVAL, "dpemu_map: unknown prot bits %#x", prot & ~KNOWN_PROT);
	if (offset < 0 || (offset & (off_t)(s->pool->page_size - 1)))
		return set_error(-EINVAL, "dpemu_map: offset %lld is not a non-negative multiple "
		                 "of the page size %zu", (long long)offset, s->pool->page_size);
	if (len > s->size)
		return set_error(-ENOMEM, "dpemu_map: %zu bytes do not fit in an arena of %zu",
		                 len, s->size);
	*n = (len + s->pool->page_size - 1) >> s->page_shift;
	if (flags & DPEMU_MAP_ANONYMOUS) {
		if (fd != -1)
			return set_error(-EINVAL, "dpemu_map: anonymous mappings take fd -1, not %d", fd);
	} else {
		int err = check_map_fd(s, fd, offset, *n, prot, flags, fd_flags);
		if (err)
			return err;
	}
	if (flags & DPEMU_MAP_FIXED)
		return check_range(s, "dpemu_map", addr, len, first, n);
	return 0;
}

/*
 * Where n pages go (the whole space locked): at *first if DPEMU_MAP_FIXED
 * and that range is free; else at addr's page if that range is free, or
 * the first free range.  0 with *first set, -EEXIST or -ENOMEM.
 */
static int map_place(dpemu_space *s, void *addr, size_t len, int flags, uint64_t n,
                     uint64_t *first)
{
	uint64_t hint = UINT64_MAX;
	uintptr_t a = (uintptr_t)addr;

	if (flags & DPEMU_MAP_FIXED) {
		if (mapped_pages(s, *first, n) != 0)
			return set_error(-EEXIST, "dpemu_map: part of [%p, +%zu) is already mapped",
			                 addr, len);
		return 0;
	}
	if (a >= s->base && a < s->base + s->size && !(a & (s->pool->page_size - 1)))
		hint = space_page_index(s, addr);
	if (hint != UINT64_MAX && hint + n <= s->npages && mapped_pages(s, hint, n) == 0) {
		*first = hint;
		return 0;
	}
	*first = find_free(s, 0, n);
	if (*first == UINT64_MAX)
		return set_error(-ENOMEM, "dpemu_map: no free range of %zu bytes in the arena", len);
	return 0;
}

/*
 * Make the mapping of pages [first, first + n) (the whole space locked):
 * its own duplicate of fd (file mappings), its slot in the mapping table,
 * and its id and protection in the page table.  0, or a negative errno
 * with the message set and the space as it was.
 */
static int map_install(dpemu_space *s, uint64_t first, uint64_t n, int prot, int flags,
                       int fd, int fd_flags, off_t offset)
{
	int err, dupfd = -1;
	uint32_t id = 0;

	if (!(flags & DPEMU_MAP_ANONYMOUS)) {
		dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dupfd < 0)
			return set_error(-errno, "dpemu_map: cannot duplicate fd %d: %s", fd,
			                 strerror(errno));
	}
	err = mapping_new(s, &id);
	if (err) {
		if (dupfd >= 0)
			close(dupfd);
		return err;
	}
	s->maps[id - 1] = (struct mapping){
		.flags = flags & ~DPEMU_MAP_FIXED,
		.fd = dupfd,
		/* An O_APPEND fd cannot write a page back at its offset. */
		.fd_writable = (fd_flags & O_ACCMODE) == O_RDWR && !(fd_flags & O_APPEND),
		.start = first,
		.offset = offset,
		.npages = n,
		.len = n,
	};
	s->maps_live++;
	err = set_pages(s, first, n, prot, id);
	if (err) {
		/* Roll back: the range is ours alone, unmapping it restores it
		 * (the message first: the unmap may set its own). */
		char why[256], note[160];
		snprintf(why, sizeof why, "%s", dpemu_last_error());
		space_unmap_pages(s, first, n);
		mapping_discard(s, id, first, n);
		return set_error(err, "dpemu_map: %s%s", why,
		                 err == -ENOMEM ? host_memory_note(note, sizeof note) : "");
	}
	return 0;
}

DPEMU_API int dpemu_map(dpemu_space *s, void *addr, size_t len, int prot, int flags, int fd,
                        off_t offset, void **out)
{
	uint64_t first = 0, n = 0;
	int err, fd_flags = 0;

	if (!s || !out)
		return set_error(-EINVAL, "dpemu_map: space and out must not be NULL");
	*out = NULL;
	err = map_check(s, addr, len, prot, flags, fd, offset, &first, &n, &fd_flags);
	if (err)
		return err;
	space_lock_all(s);
	err = map_place(s, addr, len, flags, n, &first);
	if (!err)
		err = map_install(s, first, n, prot, flags, fd, fd_flags, offset);
	space_unlock_all(s);
	if (err)
		return err;
	TRACE(s->pool, DPEMU_EVENT_MAP, UINT32_MAX, .space = s->id,
	      .addr = (uintptr_t)space_page_addr(s, first), .aux = n << s->page_shift);
	*out = space_page_addr(s, first); /* no lock held: a fault here is an ordinary one */
	return 0;
}

DPEMU_API int dpemu_unmap(dpemu_space *s, void *addr, size_t len)
{
	uint64_t first, n;
	int err;

	err = check_space_range(s, "dpemu_unmap", addr, len, &first, &n);
	if (err)
		return err;
	space_lock_all(s);
	err = space_unmap_pages(s, first, n);
	space_unlock_all(s);
	/* (the pages are unmapped whatever the error) */
	TRACE(s->pool, DPEMU_EVENT_UNMAP, UINT32_MAX, .space = s->id,
	      .addr = (uintptr_t)space_page_addr(s, first), .aux = n << s->page_shift);
	return err;
}

/*
 * Give the mapped pages [first, first+n) protection prot, or change
 * nothing: when the host refuses a change half way (-ENOMEM with
 * vm.max_map_count reached), every page gets its old protection back, in
 * the page table and in the host view, so that no PTE claims a protection
 * the host does not enforce.  (Putting the old protections back only
 * merges host mappings again, which needs none the host could refuse.)
 * Returns 0 or a negative errno with the message set.
 */
static int protect_pages(struct dpemu_space *s, uint64_t first, uint64_t n, int prot)
{
	struct prot_save sv = { .lo = first, .hi = first + n };
	char msg[256];
	int err;

	pt_walk(s, first, n, false, save_visit, &sv);
	if (sv.err) {
		free(sv.runs);
		return set_error(-ENOMEM, "dpemu_protect: out of memory");
	}
	err = set_pages(s, first, n, prot, 0);
	if (err) {
		snprintf(msg, sizeof msg, "%s", dpemu_last_error());
		int undo = 0;
		for (size_t i = 0; i < sv.n; i++) {
			int e = set_pages(s, sv.runs[i].first, sv.runs[i].n, sv.runs[i].prot, 0);
			if (e && !undo)
				undo = e;
		}
		err = set_error(err, "dpemu_protect: %s%s", msg, undo
		                ? "; putting the old protections back failed too" : "; nothing was changed");
	}
	free(sv.runs);
	return err;
}

DPEMU_API int dpemu_protect(dpemu_space *s, void *addr, size_t len, int prot)
{
	uint64_t first, n;
	int err;

	err = check_space_range(s, "dpemu_protect", addr, len, &first, &n);
	if (err)
		return err;
	if (prot & ~KNOWN_PROT)
		return set_error(-EINVAL, "dpemu_protect: unknown prot bits %#x", prot & ~KNOWN_PROT);
	space_lock_all(s);
	if (mapped_pages(s, first, n) != n) {
		err = set_error(-ENOMEM, "dpemu_protect: part of [%p, +%zu) is not mapped", addr, len);
	} else if (prot & PROT_WRITE) {
		struct shared_ro_check c = { 0 };
		pt_walk(s, first, n, false, check_write_allowed, &c);
		if (c.bad) {
			int fl = fcntl(s->maps[c.bad - 1].fd, F_GETFL);
			err = set_error(-EACCES, "dpemu_protect: PROT_WRITE on a shared file mapping "
			                 "whose file was opened %s", fl >= 0 && (fl & O_APPEND)
			                 ? "with O_APPEND (pages could not be written back at "
			                   "their offsets)" : "read-only");
		}
	}
	if (!err)
		err = protect_pages(s, first, n, prot);
	space_unlock_all(s);
	return err;
}

DPEMU_API int dpemu_sync(dpemu_space *s, void *addr, size_t len)
{
	uint64_t first, n;
	int err;

	err = check_space_range(s, "dpemu_sync", addr, len, &first, &n);
	if (err)
		return err;
	space_lock_all(s);
	err = flush_range(s, first, n, FLUSH_SYNC);
	space_unlock_all(s);
	if (err)
		wrap_error(err, "dpemu_sync");
	return err;
}

/*
 * Describe the page that holds addr (dpemu.h).  The answer is built in a
 * local under the space lock and the page's stripe and copied to *out
 * only once both are released: *out may be in an arena, where the write
 * may fault, and a fault cannot be resolved while its thread holds a lock.
 */
DPEMU_API int dpemu_query(dpemu_space *s, const void *addr, struct dpemu_page_info *out)
{
	struct dpemu_page_info info;
	uint64_t pg, e;

	if (!s || !out)
		return set_error(-EINVAL, "dpemu_query: space and out must not be NULL");
	if (pool_inherited(s->pool))
		return set_error(-EPERM, "dpemu_query: %s", inherited_msg);
	if ((uintptr_t)addr < s->base || (uintptr_t)addr >= s->base + s->size)
		return set_error(-EINVAL, "dpemu_query: %p is not inside the arena [%p, %p)", addr,
		                 (void *)s->base, (void *)(s->base + s->size));
	memset(&info, 0, sizeof info);
	pg = space_page_index(s, addr);
	struct ptl *ptl = space_ptl(s, pg);
	lock_acquire(&s->lock);
	lock_acquire(&ptl->lock);
	e = pt_peek(s, pg);
	if (pte_map(e) != 0) {
		const struct mapping *m = &s->maps[pte_map(e) - 1];
		info.mapped = true;
		info.prot = pte_prot(e);
		info.shared = (m->flags & DPEMU_MAP_SHARED) != 0;
		info.anonymous = m->fd < 0;
		info.mapping_start = space_page_addr(s, m->start);
		if (m->fd >= 0)
			info.file_offset = m->offset + (off_t)((pg - m->start) << s->page_shift);
		if (e & PTE_P) {
			info.present = true;
			info.dirty = (e & PTE_D) != 0;
			info.cow = (e & PTE_C) != 0;
			info.frame = pte_frame(e);
			info.frame_refs = frame_pages(s->pool, pte_frame(e));
			info.zero = pte_frame(e) == s->pool->zero_frame;
			info.referenced = info.zero ||
			                  atomic_load(&s->pool->frames[pte_frame(e)].referenced) != 0;
			info.in_tlb = tlb_holds(s, pg);
		} else if (pte_swapped(e)) {
			info.swapped = true;
			info.swap_slot = pte_frame(e);
		} else if (m->shared) {
			uint32_t slot;
			lock_acquire(&m->shared->lock);
			info.swapped = shared_swapped(m->shared, pg - m->start, &slot);
			info.swap_slot = info.swapped ? slot : 0;
			lock_release(&m->shared->lock);
		}
	}
	lock_release(&ptl->lock);
	lock_release(&s->lock);
	*out = info; /* no lock held: a fault here is an ordinary one */
	return 0;
}

DPEMU_API int dpemu_prefault(dpemu_space *s, void *addr, size_t len, int prot)
{
	enum dpemu_access access;
	uint64_t first, n;
	int err;

	err = check_space_range(s, "dpemu_prefault", addr, len, &first, &n);
	if (err)
		return err;
	if (prot == PROT_READ)
		access = DPEMU_ACCESS_READ;
	else if (prot == PROT_WRITE || prot == (PROT_READ | PROT_WRITE))
		access = DPEMU_ACCESS_WRITE;
	else
		return set_error(-EINVAL, "dpemu_prefault: prot must be PROT_READ or PROT_WRITE");

	for (uint64_t pg = first; pg < first + n; pg++) {
		struct dpemu_fault f;
		char why[160];
		void *a = space_page_addr(s, pg);

		if (fault_resolve(s, a, access, NULL, &f, why, sizeof why, RESOLVE_NO_TRAP) == RESOLVED)
			continue;
		switch (f.kind) {
		case DPEMU_FAULT_UNMAPPED:
			return set_error(-ENOMEM, "dpemu_prefault: %p is not mapped", a);
		case DPEMU_FAULT_PROTECTION:
			return set_error(-EACCES, "dpemu_prefault: %p does not allow %s", a,
			                 access == DPEMU_ACCESS_WRITE ? "writing" : "reading");
		case DPEMU_FAULT_OUT_OF_FRAMES:
			return set_error(-ENOSPC, "dpemu_prefault: the pool ran out of frames at %p", a);
		default:
			return set_error(f.error ? f.error : -EIO, "dpemu_prefault: at %p: %s", a, why);
		}
	}
	return 0;
}
