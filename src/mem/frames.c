/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frames.c - the simulated physical memory: frames carved from one shared
 * memory object (the memfd, mapped once as the pool's "direct map"), their
 * descriptors and reference counts, and two lists threaded through the
 * frames: the free list, and the resident list of frames in use, oldest
 * first (the order FIFO and CLOCK replace in, see evict.c).
 *
 * Fault path: the frame_* functions run inside the fault handler.  They
 * take only pool->lock (a futex lock, never held across a system call or
 * an allocation) and use atomics; no malloc, no stdio.  frames_create and
 * frames_destroy are API side.
 *
 * Calls: error.c, and one named upcall (internal.h): a frame whose last
 * page lets go while the swap cache still keeps it goes back to the swap
 * cache (swap_cache_release, store/swap.c), which alone may free it.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "internal.h"

/* ---- free and resident lists (pool->lock held) ------------------------ */

/* Take frame f out of the list that starts at *head (and ends at *tail;
 * NULL for the free list, which keeps no tail). */
static void list_unlink(struct dpemu_pool *pool, uint32_t f, uint32_t *head, uint32_t *tail)
{
	struct frame *fr = &pool->frames[f];
	if (fr->prev != FRAME_NONE)
		pool->frames[fr->prev].next = fr->next;
	else
		*head = fr->next;
	if (fr->next != FRAME_NONE)
		pool->frames[fr->next].prev = fr->prev;
	else if (tail)
		*tail = fr->prev;
}

static void resident_append(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];
	fr->next = FRAME_NONE;
	fr->prev = pool->resident_tail;
	if (pool->resident_tail != FRAME_NONE)
		pool->frames[pool->resident_tail].next = f;
	else
		pool->resident_head = f;
	pool->resident_tail = f;
}

static void resident_unlink(struct dpemu_pool *pool, uint32_t f)
{
	list_unlink(pool, f, &pool->resident_head, &pool->resident_tail);
}

/* Move resident frame f to the young end of the resident list
 * (pool->lock held). */
void frame_make_youngest(struct dpemu_pool *pool, uint32_t f)
{
	if (pool->resident_tail == f)
		return;
	resident_unlink(pool, f);
	resident_append(pool, f);
}

static void free_list_push(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];
	fr->free = 1;
	fr->prev = FRAME_NONE;
	fr->next = pool->free_head;
	if (pool->free_head != FRAME_NONE)
		pool->frames[pool->free_head].prev = f;
	pool->free_head = f;
	pool->nfree++;
}

static void free_list_unlink(struct dpemu_pool *pool, uint32_t f)
{
	list_unlink(pool, f, &pool->free_head, NULL);
	pool->frames[f].free = 0;
	pool->nfree--;
	if (pool->nfree < pool->nfree_low)
		pool->nfree_low = pool->nfree;
}

/*
 * Take a free frame, preferably `preferred` (a page's identity frame, which
 * keeps the host's mappings merged; see hostmap.c), else any.  O(1).
 * The frame comes back with refs 1, rmap set, clean and referenced, as the
 * youngest resident frame; its contents are stale unless frames[f].zero
 * says they are zeros.  FRAME_NONE if none is free.
 */
uint32_t frame_alloc(struct dpemu_pool *pool, uint64_t preferred, uint64_t rmap)
{
	uint32_t f = FRAME_NONE;

	lock_acquire(&pool->lock);
	if (preferred < pool->nframes && pool->frames[preferred].free)
		f = (uint32_t)preferred;
	else
		f = pool->free_head;
	if (f != FRAME_NONE) {
		struct frame *fr = &pool->frames[f];
		free_list_unlink(pool, f);
		resident_append(pool, f);
		atomic_store(&fr->refs, 1);
		atomic_store(&fr->dirty, 0);
		atomic_store(&fr->referenced, 1);
		fr->age = 0;
		fr->loaded = pool->clock++;
		fr->swap = 0;
		atomic_store_explicit(&fr->rmap, rmap, memory_order_relaxed);
	}
	lock_release(&pool->lock);
	return f;
}

/* Return frame f, whose reference word is 0, to the free list. */
void frame_free(struct dpemu_pool *pool, uint32_t f)
{
	lock_acquire(&pool->lock);
	resident_unlink(pool, f);
	free_list_push(pool, f);
	lock_release(&pool->lock);
}

/* What to do once frame f's reference word has become `now`. */
static void frame_released(struct dpemu_pool *pool, uint32_t f, unsigned now)
{
	if (now == 0)
		frame_free(pool, f);
	else if (now == FRAME_CACHED)
		swap_cache_release(pool, f);
}

/* One more page maps frame f.  (The zero frame only counts its pages.) */
void frame_get(struct dpemu_pool *pool, uint32_t f)
{
	if (f == pool->zero_frame) {
		atomic_fetch_add(&pool->zero_maps, 1);
		return;
	}
	if ((atomic_fetch_add(&pool->frames[f].refs, 1) & FRAME_PAGES_MASK) == 1)
		atomic_fetch_add(&pool->nshared, 1);
}

/* One page fewer maps frame f; the last reference returns it to the pool
 * (or, if it is cached, to the swap cache: swap.c decides). */
void frame_put(struct dpemu_pool *pool, uint32_t f)
{
	if (f == pool->zero_frame) {
		atomic_fetch_sub(&pool->zero_maps, 1);
		return;
	}
	unsigned old = atomic_fetch_sub(&pool->frames[f].refs, 1);

	assert((old & FRAME_PAGES_MASK) > 0 && "frame reference count went below zero");
	if ((old & FRAME_PAGES_MASK) == 2)
		atomic_fetch_sub(&pool->nshared, 1);
	frame_released(pool, f, old - 1);
}

/* A shared object keeps frame f (see struct frame). */
void frame_hold(struct dpemu_pool *pool, uint32_t f)
{
	atomic_fetch_or(&pool->frames[f].refs, FRAME_HELD);
}

/* The shared object lets frame f go; it is freed if no page maps it. */
void frame_unhold(struct dpemu_pool *pool, uint32_t f)
{
	frame_released(pool, f, atomic_fetch_and(&pool->frames[f].refs, ~FRAME_HELD) & ~FRAME_HELD);
}

/* The evictor claims resident frame f: false if it is free or already
 * claimed.  A pinned frame is never freed by anyone else. */
bool frame_pin(struct dpemu_pool *pool, uint32_t f)
{
	unsigned word = atomic_load(&pool->frames[f].refs);

	do {
		if (word == 0 || (word & FRAME_PINNED))
			return false;
	} while (!atomic_compare_exchange_weak(&pool->frames[f].refs, &word, word | FRAME_PINNED));
	return true;
}

/* The evictor lets frame f go without freeing it. */
void frame_unpin(struct dpemu_pool *pool, uint32_t f)
{
	frame_released(pool, f,
	               atomic_fetch_and(&pool->frames[f].refs, ~FRAME_PINNED) & ~FRAME_PINNED);
}


/* ---- creating the frames (API side) -------------------------------------- */

/* A bound on what the host can commit, and where it comes from. */
struct room {
	uint64_t bytes;
	char src[160];
};

/* Lower r to bytes (from src) if that is less. */
static void room_limit(struct room *r, uint64_t bytes, const char *src)
{
	if (bytes < r->bytes) {
		size_t n = strlen(src) < sizeof r->src ? strlen(src) : sizeof r->src - 1;
		r->bytes = bytes;
		memcpy(r->src, src, n); /* (cut short if need be) */
		r->src[n] = '\0';
	}
}

/* The first number in file path ("max" reads as none): true if one. */
static bool read_u64_file(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "re");
	unsigned long long x;
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	if (ok)
		*v = x;
	return ok;
}

/*
 * Lower r by the memory cgroup the process is in, and each of its
 * ancestors: limit - usage, from cgroup v2's memory.max and memory.current
 * or v1's memory.limit_in_bytes and memory.usage_in_bytes, where those
 * files are readable under /sys/fs/cgroup (shared memory is charged to
 * the cgroup that touches it).
 */
static void room_cgroup(struct room *r)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *ctl = strchr(line, ':'), *rel = ctl ? strchr(ctl + 1, ':') : NULL;
		const char *root, *max_name, *cur_name;
		char dir[1200], path[1300], src[1400];

		if (!rel)
			continue;
		*rel++ = '\0';
		rel[strcspn(rel, "\n")] = '\0';
		ctl++;
		if (*ctl == '\0') { /* v2: "0::/path" */
			root = "/sys/fs/cgroup";
			max_name = "memory.max";
			cur_name = "memory.current";
		} else if (!strcmp(ctl, "memory") || !strncmp(ctl, "memory,", 7) ||
		           strstr(ctl, ",memory")) { /* v1: "N:memory:/path" */
			root = "/sys/fs/cgroup/memory";
			max_name = "memory.limit_in_bytes";
			cur_name = "memory.usage_in_bytes";
		} else {
			continue;
		}
		snprintf(dir, sizeof dir, "%s%s", root, strcmp(rel, "/") ? rel : "");
		for (;;) {
			uint64_t max, cur;
			snprintf(path, sizeof path, "%s/%s", dir, max_name);
			if (read_u64_file(path, &max)) {
				snprintf(path, sizeof path, "%s/%s", dir, cur_name);
				if (read_u64_file(path, &cur)) {
					snprintf(src, sizeof src, "the memory cgroup's limit less its "
					         "usage, %s/%s", dir, max_name);
					room_limit(r, max > cur ? max - cur : 0, src);
				}
			}
			char *slash = strrchr(dir, '/');
			if (strlen(dir) <= strlen(root) || !slash)
				break;
			*slash = '\0';
		}
	}
	fclose(f);
}

/*
 * What the host can commit to populate pool (cfg->populate): the least of
 * MemAvailable (/proc/meminfo; sysinfo(2)'s free and buffer memory where
 * that is missing), the free space of the file system under the pool's
 * memfd (a tmpfs with a size limit), and what the memory cgroups allow.
 * Swap is not counted: populating frames into swap would defeat the
 * purpose.  (RLIMIT_AS does not apply: the frames are mapped already.)
 * 0 if need bytes fit, else -ENOMEM with a message naming the numbers:
 * checked before anything is committed, so a pool larger than the host
 * fails here instead of getting the process killed by the OOM killer.
 */
static int populate_check(const struct dpemu_pool *pool, uint64_t need)
{
	struct room r = { UINT64_MAX, "" };
	struct statfs sfs;
	struct sysinfo si;
	FILE *f = fopen("/proc/meminfo", "re");
	bool have_avail = false;
	char line[256];

	if (f) {
		unsigned long long kib;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
				room_limit(&r, (uint64_t)kib * 1024, "MemAvailable in /proc/meminfo");
				have_avail = true;
				break;
			}
		fclose(f);
	}
	if (!have_avail && sysinfo(&si) == 0)
		room_limit(&r, ((uint64_t)si.freeram + si.bufferram) * si.mem_unit,
		           "free and buffer memory from sysinfo(2)");
	if (fstatfs(pool->memfd, &sfs) == 0 && sfs.f_blocks != 0)
		room_limit(&r, (uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize,
		           "free space of the pool's shared-memory file system");
	room_cgroup(&r);
	if (need <= r.bytes)
		return 0;
	return set_error(-ENOMEM, "dpemu_pool_create: cannot populate %llu bytes (%llu MiB) of "
	                 "frames: the host can commit %llu MiB; lower frames or leave populate "
	                 "false (limit: %s)", (unsigned long long)need,
	                 (unsigned long long)(need >> 20), (unsigned long long)(r.bytes >> 20),
	                 r.src);
}

/*
 * Give every frame its host memory now (cfg->populate), if the host can
 * commit it (populate_check): one
 * MADV_POPULATE_WRITE over the direct map, or, on kernels before 5.14
 * (EINVAL), a write to every host page.  The new pages are zeros, so the
 * frames keep their "known zero" mark; only the zero frame, beyond the
 * direct map, stays a hole.  0, or -ENOMEM with the message set (the
 * host cannot commit that much, or refused).
 */
static int populate(struct dpemu_pool *pool)
{
	size_t len = pool->nframes * pool->page_size;
	size_t host = (size_t)sysconf(_SC_PAGESIZE);
	int err = populate_check(pool, len);

	if (err)
		return err;
	if (madvise(pool->direct, len, MADV_POPULATE_WRITE) == 0) {
		pool->populated = true;
		return 0;
	}
	if (errno != EINVAL)
		return set_error(-ENOMEM, "dpemu_pool_create: cannot populate %zu bytes of frames: %s",
		                 len, strerror(errno));
	for (size_t off = 0; off < len; off += host)
		((volatile unsigned char *)pool->direct)[off] = 0;
	pool->populated = true;
	return 0;
}

/*
 * Give pool its frames: the memfd of nframes + 1 pages (the last is the
 * zero frame, never written: a hole that reads as zeros), its direct map,
 * cfg->populate's host memory, the descriptors with every frame on the
 * free list (0, 1, 2, ... in that order), and a read-only page of zeros.
 * pool->page_size and nframes are set.  0, or a negative errno with the
 * message set; on failure frames_destroy frees what was made.
 */
int frames_create(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg)
{
	size_t ps = pool->page_size;
	int err;

	pool->memfd = memfd_create("dpemu-pool", MFD_CLOEXEC);
	if (pool->memfd < 0) {
		err = -errno;
		set_error(err, "dpemu_pool_create: memfd_create: %s", strerror(errno));
		return err;
	}
	/* One frame more than asked: the zero frame (never written, so a hole
	 * in the memfd that reads as zeros; see frame_get). */
	if (ftruncate(pool->memfd, (off_t)((cfg->frames + 1) * ps)) < 0) {
		err = -errno;
		set_error(err, "dpemu_pool_create: cannot size the pool to %zu bytes: %s",
		          cfg->frames * ps, strerror(errno));
		return err;
	}
	pool->direct = mmap(NULL, cfg->frames * ps, PROT_READ | PROT_WRITE, MAP_SHARED,
	                    pool->memfd, 0);
	if (pool->direct == MAP_FAILED) {
		pool->direct = NULL;
		err = -ENOMEM;
		set_error(err, "dpemu_pool_create: cannot map %zu bytes of pool: %s",
		          cfg->frames * ps, strerror(errno));
		return err;
	}
	if (cfg->populate && (err = populate(pool)) != 0)
		return err;
	pool->zero_frame = (uint32_t)cfg->frames;
	pool->frames_bytes = (cfg->frames + 1) * sizeof(struct frame);
	pool->frames = mmap(NULL, pool->frames_bytes, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool->frames == MAP_FAILED) {
		pool->frames = NULL;
		err = -ENOMEM;
		set_error(err, "dpemu_pool_create: no memory for %zu frame descriptors", cfg->frames);
		return err;
	}
	/* Push in reverse so that the free list hands out 0, 1, 2, ... */
	pool->free_head = FRAME_NONE;
	for (uint64_t f = cfg->frames; f-- > 0;) {
		pool->frames[f].zero = 1;
		free_list_push(pool, (uint32_t)f);
	}
	pool->nfree_low = pool->nfree;
	pool->zero_page = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool->zero_page == MAP_FAILED) {
		pool->zero_page = NULL;
		return set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	}
	return 0;
}

/* Free what frames_create made (any part of it; pool->memfd is -1 if it
 * made nothing). */
void frames_destroy(struct dpemu_pool *pool)
{
	if (pool->zero_page)
		munmap(pool->zero_page, pool->page_size);
	if (pool->frames)
		munmap(pool->frames, pool->frames_bytes);
	if (pool->direct)
		munmap(pool->direct, pool->nframes * pool->page_size);
	if (pool->memfd >= 0)
		close(pool->memfd);
}
