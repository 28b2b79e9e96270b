/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pagetable.c - the per-space radix page table (layout in internal.h).
 *
 * Fault path: pt_lock_leaf, pt_leaf, pt_find and pt_peek run inside the
 * fault handler, the last three with the space lock held.  They allocate
 * nodes with node_alloc, which takes nodes from the space's free list or
 * maps a new slab with mmap(2) (a system call, async-signal-safe in
 * practice); never malloc, never stdio; pt_lock_leaf takes the space lock
 * and a split page-table lock (internal.h, struct ptl).  pt_init, pt_fini,
 * pt_walk and pt_copy are API side (space_lock_all held by the caller).
 *
 * Layer: mem (src/internal.h).  Calls: base (its locks); node slabs come
 * from mmap, not an arena.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* Nodes come in slabs of SLAB_NODES; the first node of each slab holds the
 * slab list link, the others are handed out. */
#define SLAB_NODES 64

struct node_slab {
	struct node_slab *next;
};

static uint64_t *node_alloc(struct dpemu_space *s)
{
	uint64_t *node = s->free_nodes;

	if (!node) {
		unsigned char *slab = mmap(NULL, SLAB_NODES * PT_NODE_BYTES, PROT_READ | PROT_WRITE,
		                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (slab == MAP_FAILED)
			return NULL;
		((struct node_slab *)slab)->next = s->slabs;
		s->slabs = (struct node_slab *)slab;
		for (unsigned i = SLAB_NODES - 1; i >= 1; i--) {
			uint64_t *n = (uint64_t *)(slab + i * PT_NODE_BYTES);
			n[0] = (uint64_t)(uintptr_t)s->free_nodes;
			s->free_nodes = n;
		}
		node = s->free_nodes;
	}
	s->free_nodes = (uint64_t *)(uintptr_t)node[0];
	s->nodes_in_use++;
	return node;
}

static void node_free(struct dpemu_space *s, uint64_t *node)
{
	node[0] = (uint64_t)(uintptr_t)s->free_nodes;
	s->free_nodes = node;
	s->nodes_in_use--;
}

/* Pages covered by one entry of a level-`level` node. */
static inline uint64_t span_of(unsigned level)
{
	return 1ull << (PT_BITS * level);
}

static inline unsigned index_at(uint64_t pg, unsigned level)
{
	return (unsigned)(pg >> (PT_BITS * level)) & (PT_ENTRIES - 1);
}

/*
 * Replace the non-table entry *e of a level-`level` node (level >= 1) by a
 * table of the level below whose entries all carry the same meaning: a
 * coarse entry becomes 512 coarse entries (or PTEs) of the same mapping and
 * protection.  Returns the new node, or NULL when out of memory.
 */
static uint64_t *split_entry(struct dpemu_space *s, uint64_t *e)
{
	uint64_t *child = node_alloc(s);
	uint64_t v = *e;

	if (!child)
		return NULL;
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		child[i] = v;
	*e = (uint64_t)(uintptr_t)child | PTE_T;
	return child;
}

int pt_init(struct dpemu_space *s)
{
	unsigned bits = 0;

	while (bits < 64 && (s->npages - 1) >> bits)
		bits++;
	s->levels = bits <= PT_BITS ? 1 : (bits + PT_BITS - 1) / PT_BITS;
	s->root = node_alloc(s);
	if (!s->root)
		return -ENOMEM;
	memset(s->root, 0, PT_NODE_BYTES);
	return 0;
}

void pt_fini(struct dpemu_space *s)
{
	struct node_slab *slab = s->slabs;

	while (slab) {
		struct node_slab *next = slab->next;
		munmap(slab, SLAB_NODES * PT_NODE_BYTES);
		slab = next;
	}
	s->slabs = NULL;
	s->free_nodes = NULL;
	s->root = NULL;
}

/*
 * The PTE of page pg, splitting coarse entries on the way down so that the
 * page has a leaf entry of its own.  Returns NULL when no mapping covers pg
 * (*err = 0; nothing is allocated for unmapped pages) or when a node cannot
 * be allocated (*err = -ENOMEM).
 */
uint64_t *pt_leaf(struct dpemu_space *s, uint64_t pg, int *err)
{
	uint64_t *node = s->root;

	*err = 0;
	for (unsigned level = s->levels - 1; level > 0; level--) {
		uint64_t *e = &node[index_at(pg, level)];
		if (pte_is_table(*e)) {
			node = pte_table(*e);
			continue;
		}
		if (pte_map(*e) == 0)
			return NULL;
		node = split_entry(s, e);
		if (!node) {
			*err = -ENOMEM;
			return NULL;
		}
	}
	return &node[index_at(pg, 0)];
}

/*
 * Lock page pg's leaf, for a fault: walk to pg's PTE under s->lock,
 * splitting coarse entries as pt_leaf does, then take the leaf's stripe
 * and let go of s->lock.  A busy stripe is waited for with s->lock
 * released - its holder may be inside a host call, and faults in other
 * leaves must not queue behind it - and then the walk starts over, since
 * the tree may have changed meanwhile.  Returns pg's PTE, or NULL with
 * *err as pt_leaf sets it; either way with *ptl held and s->lock not.
 * (Nothing frees a leaf without holding its stripe, so the PTE pointer
 * stays good while *ptl is held.)
 */
uint64_t *pt_lock_leaf(struct dpemu_space *s, uint64_t pg, int *err, struct ptl **ptl)
{
	struct ptl *l = space_ptl(s, pg);

	for (;;) {
		lock_acquire(&s->lock);
		uint64_t *e = pt_leaf(s, pg, err);
		if (lock_try(&l->lock)) {
			lock_release(&s->lock);
			*ptl = l;
			return e;
		}
		lock_release(&s->lock);
		lock_acquire(&l->lock); /* wait for its holder, holding nothing */
		lock_release(&l->lock);
	}
}

/* Page pg's PTE if it has a leaf entry of its own (every present or
 * swapped page has), else NULL.  Never allocates. */
uint64_t *pt_find(struct dpemu_space *s, uint64_t pg)
{
	uint64_t *node = s->root;

	for (unsigned level = s->levels - 1; level > 0; level--) {
		uint64_t e = node[index_at(pg, level)];
		if (!pte_is_table(e))
			return NULL;
		node = pte_table(e);
	}
	return &node[index_at(pg, 0)];
}

/* The entry that decides page pg: its PTE, or the coarse or 0 entry above. */
uint64_t pt_peek(const struct dpemu_space *s, uint64_t pg)
{
	const uint64_t *node = s->root;

	for (unsigned level = s->levels - 1; level > 0; level--) {
		uint64_t e = node[index_at(pg, level)];
		if (!pte_is_table(e))
			return e;
		node = pte_table(e);
	}
	return node[index_at(pg, 0)];
}

/*
 * pt_peek, with how far its answer goes: *left is the number of pages from
 * pg on that the same entry decides, to the end of a coarse or 0 entry
 * above the leaves; for a PTE (*leaf true), to the end of pg's leaf.
 * The space lock held; never allocates.
 */
uint64_t pt_peek_run(const struct dpemu_space *s, uint64_t pg, uint64_t *left, bool *leaf)
{
	const uint64_t *node = s->root;
	unsigned level = s->levels - 1;

	for (; level > 0; level--) {
		uint64_t e = node[index_at(pg, level)];
		if (!pte_is_table(e)) {
			*leaf = false;
			*left = span_of(level) - (pg & (span_of(level) - 1));
			return e;
		}
		node = pte_table(e);
	}
	*leaf = true;
	*left = PT_ENTRIES - index_at(pg, 0);
	return node[index_at(pg, 0)];
}

/* True if every entry of a leaf or interior node says the same thing and
 * nothing in it holds a frame or is visible: the node can be folded back
 * into one entry of its parent. */
static bool node_is_uniform(const uint64_t *node, unsigned level)
{
	const uint64_t keep = PTE_MAP_SHIFT < 64 ? (~0ull << PTE_MAP_SHIFT) | PTE_PROT_MASK : 0;
	uint64_t first = node[0];

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = node[i];
		if (pte_is_table(e))
			return false;
		if (level == 0 && (e & (PTE_P | PTE_V | PTE_L | PTE_S)))
			return false;
		if ((e & keep) != (first & keep))
			return false;
	}
	return true;
}

struct walk {
	uint64_t first, end;
	bool split;
	pt_visit_fn fn;
	void *arg;
};

static int walk_node(struct dpemu_space *s, struct walk *w, uint64_t *node, unsigned level,
                     uint64_t node_pg)
{
	uint64_t span = span_of(level);
	unsigned i = w->first > node_pg ? (unsigned)((w->first - node_pg) / span) : 0;
	int rc = 0;

	for (; i < PT_ENTRIES && rc == 0; i++) {
		uint64_t pg = node_pg + i * span;
		uint64_t *e = &node[i];
		uint64_t lo, hi;

		if (pg >= w->end || pg >= s->npages)
			break;
		if (level == 0) {
			rc = w->fn(s, e, 0, pg, 1, w->arg);
			continue;
		}
		lo = pg > w->first ? pg : w->first;
		hi = pg + span < w->end ? pg + span : w->end;
		if (hi > s->npages)
			hi = s->npages;
		if (!pte_is_table(*e)) {
			bool whole = (lo == pg && hi == pg + span) || (lo == pg && hi == s->npages);
			if (whole || !w->split) {
				rc = w->fn(s, e, level, lo, hi - lo, w->arg);
				continue;
			}
			if (!split_entry(s, e))
				return -ENOMEM;
		}
		rc = walk_node(s, w, pte_table(*e), level - 1, pg);
		if (w->split && node_is_uniform(pte_table(*e), level - 1)) {
			uint64_t *child = pte_table(*e);
			*e = child[0] & ((~0ull << PTE_MAP_SHIFT) | PTE_PROT_MASK);
			node_free(s, child);
		}
	}
	return rc;
}

/*
 * Visit every entry that meets pages [first, first + n), in order.  With
 * split, coarse and empty entries only partly inside the range are split
 * first, so that the visitor sees only entries wholly inside it, and nodes
 * left uniform afterwards are folded back.  Returns the visitor's first
 * non-zero result, -ENOMEM if a split failed, else 0.
 */
int pt_walk(struct dpemu_space *s, uint64_t first, uint64_t n, bool split, pt_visit_fn fn,
            void *arg)
{
	struct walk w = { first, first + n, split, fn, arg };

	if (n == 0)
		return 0;
	return walk_node(s, &w, s->root, s->levels - 1, 0);
}

static int copy_node(struct dpemu_space *src, struct dpemu_space *dst, const uint64_t *from,
                     uint64_t *to, unsigned level, uint64_t node_pg, pt_copy_fn fn, void *arg)
{
	uint64_t span = span_of(level);
	int err = 0;

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t pg = node_pg + i * span;
		uint64_t e = from[i];
		if (err || pg >= src->npages) {
			to[i] = 0;
		} else if (level == 0) {
			to[i] = fn(src, dst, (uint64_t *)&from[i], pg, arg);
		} else if (!pte_is_table(e)) {
			to[i] = e;
		} else {
			uint64_t *child = node_alloc(dst);
			if (!child) {
				to[i] = 0;
				err = -ENOMEM;
				continue;
			}
			to[i] = (uint64_t)(uintptr_t)child | PTE_T;
			err = copy_node(src, dst, pte_table(e), child, level - 1, pg, fn, arg);
		}
	}
	return err;
}

/*
 * Give dst (a fresh space of the same size) a copy of src's page table:
 * the same tables and coarse entries, and for each PTE of src the value
 * fn returns (fn may also change src's PTE).  Returns 0, or -ENOMEM with
 * the entries not copied left empty in dst.
 */
int pt_copy(struct dpemu_space *src, struct dpemu_space *dst, pt_copy_fn fn, void *arg)
{
	return copy_node(src, dst, src->root, dst->root, src->levels - 1, 0, fn, arg);
}

/* Take all of s: its lock, then every split page-table lock (internal.h). */
void space_lock_all(struct dpemu_space *s)
{
	lock_acquire(&s->lock);
	for (unsigned i = 0; i < PTL_STRIPES; i++)
		lock_acquire(&s->ptl[i].lock);
}

void space_unlock_all(struct dpemu_space *s)
{
	for (unsigned i = PTL_STRIPES; i-- > 0;)
		lock_release(&s->ptl[i].lock);
	lock_release(&s->lock);
}
