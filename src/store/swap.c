/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * swap.c - the swap store: the file evicted pages go to, one page-sized
 * slot each, and the swap cache that ties a slot to the frame holding its
 * contents.
 *
 * A slot is named by swap entries: page-table entries of swapped pages
 * (PTE_S, see internal.h) and slots of shared objects (SHARED_SWAPPED).
 * Its reference count is the number of entries naming it, plus one while
 * it is cached: while a frame holds the slot's contents, the frame is the
 * truth and the file may be stale or being written.  So
 *
 *   - a page that comes back finds the frame if another page sharing the
 *     slot brought it back first (swap_fetch_slot: read once, shared again);
 *   - a frame that stays clean after it came back is evicted again without
 *     writing anything: its slot still holds its contents;
 *   - a frame written after it came back gives its slot up, if no other
 *     entry names it (swap_forget): the copy there is stale;
 *   - the frame is freed only after its contents are in the file, or once
 *     nothing names the slot any more (swap_put, swap_cache_release).
 *
 * Fault path: everything but swap_open (and its checks) and swap_close.
 * These functions take pool->swap_lock (lock order: the top of
 * internal.h) and call pread/pwrite/fstat; no malloc, no stdio.  A swap-in
 * reads with the swap lock held, so two pages racing for one slot never
 * see a frame that is still being filled.
 *
 * Layer: store (src/internal.h).  Calls: the frames, base; the swap cache
 * is where frames.c's one upcall lands.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* snprintf, API side only */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "internal.h"

static int read_full(int fd, void *buf, size_t len, off_t off);
static int write_full(int fd, const void *buf, size_t len, off_t off);

/* ---- API side ------------------------------------------------------------- */

/* An unlinked temporary file in $TMPDIR (or /tmp), -1 with errno. */
static int open_anonymous_file(void)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: create, then unlink at once. */
	if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/dpemu-swap-XXXXXX", dir) >= sizeof tmpl) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

/*
 * File systems whose regular files are kernel interfaces, not storage
 * (statfs(2) f_type): a page written there is lost, or worse, is taken as
 * a command (sysfs, procfs as root).  The swap store may not live there.
 */
static const struct {
	unsigned long magic;
	const char *name;
} pseudo_fs[] = {
	{ 0x9fa0, "proc" },           { 0x62656572, "sysfs" },
	{ 0x64626720, "debugfs" },    { 0x74726163, "tracefs" },
	{ 0x73636673, "securityfs" }, { 0x27e0eb, "cgroup" },
	{ 0x63677270, "cgroup2" },    { 0x62656570, "configfs" },
	{ 0xcafe4a11, "bpf" },        { 0xde5e81e4, "efivarfs" },
	{ 0x6165676c, "pstore" },     { 0xf97cff8c, "selinuxfs" },
	{ 0x43415d53, "smackfs" },    { 0x65735543, "fusectl" },
	{ 0x42494e4d, "binfmt_misc" }, { 0x958458f6, "hugetlbfs" },
};

/* The refusal of a swap store that is not a regular file (mode). */
static int not_regular(const char *what, mode_t mode)
{
	return set_error(-ENODEV, "dpemu_pool_create: the swap store %s is not a regular "
	                 "file (a %s): it cannot hold pages; name a file on a disk or tmpfs",
	                 what, S_ISFIFO(mode) ? "FIFO" : S_ISCHR(mode) ? "character device" :
	                 S_ISBLK(mode) ? "block device" : S_ISSOCK(mode) ? "socket" :
	                 "special file");
}

/*
 * Check that the open swap store fd (named what, for messages) can hold
 * nslots pages of page_size bytes: a regular file, on a file system that
 * stores data, that may grow to nslots x page_size bytes (the file system's
 * largest file, RLIMIT_FSIZE: a write past that limit would kill the
 * process with SIGXFSZ), and that gives back what is written to it (a
 * probe of a few bytes at offset 0, whose contents the store overwrites
 * anyway; the file keeps its size).  No space is reserved: the store is
 * sparse, and a full file system shows at eviction time as -ENOSPC.
 * Returns 0, or with the message set -ENODEV (cannot hold pages), -ENOSPC
 * (cannot grow that large), or the error of the failing system call.
 */
static int swap_check(int fd, const char *what, uint64_t nslots, size_t page_size)
{
	static const char probe[] = "dpemu swap store probe 0123456789abcdef";
	char back[sizeof probe];
	uint64_t need = nslots * page_size;
	struct statfs sfs;
	struct rlimit rl;
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0)
		return set_error(-errno, "dpemu_pool_create: cannot stat the swap store %s: %s",
		                 what, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return set_error(-EISDIR, "dpemu_pool_create: the swap store %s is a directory; "
		                 "name a file", what);
	if (!S_ISREG(st.st_mode))
		return not_regular(what, st.st_mode);
	if (fstatfs(fd, &sfs) == 0) {
		for (size_t i = 0; i < sizeof pseudo_fs / sizeof pseudo_fs[0]; i++)
			if ((unsigned long)sfs.f_type == pseudo_fs[i].magic)
				return set_error(-ENODEV, "dpemu_pool_create: the swap store %s is on "
				                 "a %s file system, which cannot hold pages; name a "
				                 "file on a disk or tmpfs", what, pseudo_fs[i].name);
	}
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    need > (uint64_t)rl.rlim_cur)
		return set_error(-ENOSPC, "dpemu_pool_create: the swap store needs room for %llu "
		                 "slots (%llu bytes), more than the file size limit RLIMIT_FSIZE "
		                 "(%llu bytes); lower swap_slots or raise the limit",
		                 (unsigned long long)nslots, (unsigned long long)need,
		                 (unsigned long long)rl.rlim_cur);
	/* The file system refuses to seek past its largest file (s_maxbytes). */
	if (lseek(fd, (off_t)need, SEEK_SET) < 0) {
		err = errno;
		return set_error(err == EINVAL ? -ENOSPC : -err, "dpemu_pool_create: the swap "
		                 "store %s cannot grow to %llu bytes (%llu slots): %s", what,
		                 (unsigned long long)need, (unsigned long long)nslots,
		                 strerror(err));
	}
	lseek(fd, 0, SEEK_SET);
	err = write_full(fd, probe, sizeof probe, 0);
	if (!err)
		err = read_full(fd, back, sizeof back, 0);
	if (err || memcmp(probe, back, sizeof probe))
		return set_error(err == -ENOSPC || err == -EDQUOT ? -ENOSPC : -ENODEV, "dpemu_pool_create: the swap store %s does not give "
		                 "back what is written to it (%s): it cannot hold pages", what,
		                 err ? strerror(-err) : "the bytes differ");
	if (st.st_size < (off_t)sizeof probe && ftruncate(fd, st.st_size) < 0)
		return set_error(-errno, "dpemu_pool_create: cannot truncate the swap store %s: "
		                 "%s", what, strerror(errno));
	return 0;
}

/*
 * Open the swap store of pool: path (created if missing) or, for NULL, an
 * unlinked temporary file, with room for nslots pages (see swap_check:
 * what cannot hold them is refused).  The slot table is reserved, not
 * committed: it costs memory only for slots used.
 * Returns 0 or a negative errno with the message set; nothing stays open
 * on failure.
 */
int swap_open(struct dpemu_pool *pool, const char *path, size_t nslots)
{
	struct swap_store *sw = &pool->swap;
	const char *what = path ? path : "(a temporary file in $TMPDIR or /tmp)";
	struct stat st;
	int err;

	/* A device is refused before it is opened: opening one may act
	 * (a watchdog starts counting).  swap_check looks again after open. */
	if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return not_regular(what, st.st_mode);
	/* O_NONBLOCK: opening a FIFO or a device must not wait (it is refused
	 * right after); O_NOCTTY: nor become the controlling terminal. */
	sw->fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600)
	              : open_anonymous_file();
	if (sw->fd < 0) {
		err = -errno;
		return set_error(err, "dpemu_pool_create: cannot open the swap store %s: %s",
		                 what, strerror(errno));
	}
	err = swap_check(sw->fd, what, nslots, pool->page_size);
	if (!err && path && fcntl(sw->fd, F_SETFL, 0) < 0) /* back to blocking I/O */
		err = set_error(-errno, "dpemu_pool_create: fcntl on the swap store %s: %s", what,
		                strerror(errno));
	if (err) {
		close(sw->fd);
		sw->fd = -1;
		return err;
	}
	sw->nslots = nslots;
	sw->slots_bytes = nslots * sizeof sw->slots[0];
	sw->slots = mmap(NULL, sw->slots_bytes, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sw->slots == MAP_FAILED) {
		sw->slots = NULL;
		close(sw->fd);
		sw->fd = -1;
		return set_error(-ENOMEM, "dpemu_pool_create: no memory for %zu swap slots", nslots);
	}
	return 0;
}

void swap_close(struct dpemu_pool *pool)
{
	struct swap_store *sw = &pool->swap;

	if (sw->slots)
		munmap(sw->slots, sw->slots_bytes);
	if (sw->fd >= 0)
		close(sw->fd);
	sw->slots = NULL;
	sw->fd = -1;
}

/* ---- slots (swap_lock held) --------------------------------------------------- */

static void slot_free(struct swap_store *sw, uint32_t slot)
{
	sw->slots[slot].frame = sw->free_head;
	sw->free_head = slot + 1;
	sw->used--;
}

static void slot_put(struct dpemu_pool *pool, uint32_t slot);

/* Untie cached frame fr from its slot and drop the cache's reference to
 * the slot (the caller clears FRAME_CACHED, or has cleared the word). */
static void cache_unlink(struct dpemu_pool *pool, struct frame *fr)
{
	uint32_t slot = fr->swap - 1;

	pool->swap.slots[slot].frame = 0;
	fr->swap = 0;
	slot_put(pool, slot);
}

/* Drop one reference to slot; the last frees it.  A cached frame that
 * no page maps and no entry names any more is freed with it. */
static void slot_put(struct dpemu_pool *pool, uint32_t slot)
{
	struct swap_slot *sl = &pool->swap.slots[slot];

	if (--sl->refs == 0) {
		slot_free(&pool->swap, slot);
		return;
	}
	if (sl->refs == 1 && sl->frame) {
		uint32_t f = sl->frame - 1;
		unsigned want = FRAME_CACHED;
		/* Only the cache is left and no page maps the frame: both go. */
		if (atomic_compare_exchange_strong(&pool->frames[f].refs, &want, 0)) {
			cache_unlink(pool, &pool->frames[f]); /* frees the slot too */
			frame_free(pool, f);
		}
	}
}

/*
 * A new, empty slot (no reference yet: swap_cache_add gives it the
 * cache's).  Returns 0 with *slot set, or -ENOSPC when the store is full.
 */
int swap_alloc(struct dpemu_pool *pool, uint32_t *slot)
{
	struct swap_store *sw = &pool->swap;
	uint32_t s;

	lock_acquire(&pool->swap_lock);
	if (sw->free_head) {
		s = sw->free_head - 1;
		sw->free_head = sw->slots[s].frame;
	} else if (sw->high < sw->nslots) {
		s = (uint32_t)sw->high++;
	} else {
		lock_release(&pool->swap_lock);
		return -ENOSPC;
	}
	sw->slots[s].refs = 0;
	sw->slots[s].frame = 0;
	sw->used++;
	*slot = s;
	lock_release(&pool->swap_lock);
	return 0;
}

/* Cache frame f as the contents of slot (just allocated, or f came from
 * it): the cache's reference, and f's FRAME_CACHED. */
void swap_cache_add(struct dpemu_pool *pool, uint32_t slot, uint32_t f)
{
	lock_acquire(&pool->swap_lock);
	pool->swap.slots[slot].refs++;
	pool->swap.slots[slot].frame = f + 1;
	pool->frames[f].swap = slot + 1;
	atomic_fetch_or(&pool->frames[f].refs, FRAME_CACHED);
	lock_release(&pool->swap_lock);
}

/* One more entry names slot. */
void swap_dup(struct dpemu_pool *pool, uint32_t slot)
{
	lock_acquire(&pool->swap_lock);
	pool->swap.slots[slot].refs++;
	lock_release(&pool->swap_lock);
}

/* An entry naming slot is gone (the page was unmapped, or came back). */
void swap_put(struct dpemu_pool *pool, uint32_t slot)
{
	lock_acquire(&pool->swap_lock);
	slot_put(pool, slot);
	lock_release(&pool->swap_lock);
}

/*
 * The evictor is done with pinned frame f: if no page maps it and no
 * shared object holds it, take it out of the cache (its slot keeps the
 * entries' references) and free it; true then.  False if a page came
 * back to it meanwhile: it stays, cached.
 */
bool swap_uncache(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];
	bool freed = false;

	lock_acquire(&pool->swap_lock);
	unsigned word = atomic_load(&fr->refs);
	if ((word & ~FRAME_CACHED) == FRAME_PINNED &&
	    atomic_compare_exchange_strong(&fr->refs, &word, 0)) {
		if (fr->swap)
			cache_unlink(pool, fr);
		freed = true;
	}
	lock_release(&pool->swap_lock);
	if (freed)
		frame_free(pool, f);
	return freed;
}

/*
 * Frame f's last page or holder let it go and only the cache keeps it:
 * if no entry names its slot either, free both.  Otherwise it stays for
 * the entries that will fault it back (or for the evictor).
 */
void swap_cache_release(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];
	bool freed = false;

	lock_acquire(&pool->swap_lock);
	unsigned want = FRAME_CACHED;
	if (fr->swap && pool->swap.slots[fr->swap - 1].refs == 1 &&
	    atomic_compare_exchange_strong(&fr->refs, &want, 0)) {
		cache_unlink(pool, fr);
		freed = true;
	}
	lock_release(&pool->swap_lock);
	if (freed)
		frame_free(pool, f);
}

/*
 * A page wrote frame f: if f is cached and no entry but the cache names
 * its slot, the slot's copy is stale and nothing will read it - free the
 * slot (f stays, dirty, and goes to a new slot when evicted).  f is pinned
 * meanwhile, so the evictor, which reads f's slot unlocked, neither has it
 * nor takes it; if it is pinned already (being evicted), f keeps its slot.
 */
void swap_forget(struct dpemu_pool *pool, uint32_t f)
{
	struct frame *fr = &pool->frames[f];

	if (!(atomic_load(&fr->refs) & FRAME_CACHED) || !frame_pin(pool, f))
		return;
	lock_acquire(&pool->swap_lock);
	if (fr->swap && pool->swap.slots[fr->swap - 1].refs == 1 &&
	    (atomic_load(&fr->refs) & FRAME_CACHED)) {
		atomic_fetch_and(&fr->refs, ~FRAME_CACHED);
		cache_unlink(pool, fr);
	}
	lock_release(&pool->swap_lock);
	frame_unpin(pool, f);
}

/* True if frame f is cached and no entry but the cache names its slot:
 * a page that maps f alone may write it in place. */
bool swap_exclusive(struct dpemu_pool *pool, uint32_t f)
{
	lock_acquire(&pool->swap_lock);
	uint32_t slot = pool->frames[f].swap;
	bool only = slot && pool->swap.slots[slot - 1].refs == 1;
	lock_release(&pool->swap_lock);
	return only;
}

/* ---- I/O ------------------------------------------------------------------------ */

/* Read up to len bytes of fd at off into buf: the bytes read (fewer at the
 * end of the file), or -errno.  Fault path: pread only. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread_full(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	return (size_t)n < len ? -EIO : 0; /* short: a slot never written, a truncated store */
}

/* Read a page of a file mapping: len bytes of fd at off into dst, zeros
 * past the end of the file.  0 or -errno.  Fault path: safe. */
int file_read_page(int fd, off_t off, void *dst, size_t len)
{
	ssize_t n = pread_full(fd, dst, len, off);

	if (n < 0)
		return (int)n;
	memset((char *)dst + n, 0, len - (size_t)n);
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Write frame f's page at file offset off of fd, only the bytes before the
 * end of the file (a mapping never extends its file).  0 or -errno.
 */
int file_write_page(int fd, off_t off, const void *data, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (off >= st.st_size)
		return 0;
	if ((off_t)len > st.st_size - off)
		len = (size_t)(st.st_size - off);
	return write_full(fd, data, len, off);
}

/* Write frame f into slot.  0 or -errno (-ENOSPC: the file system is
 * full; -EIO and the like). */
int swap_write(struct dpemu_pool *pool, uint32_t slot, uint32_t f)
{
	return write_full(pool->swap.fd, frame_data(pool, f), pool->page_size,
	                  (off_t)slot << pool->page_shift);
}

/*
 * Copy slot's contents into buf (one page) without bringing it back: from
 * the frame the swap cache keeps for it (the truth while it has one), else
 * from the file.  The caller holds a lock that keeps an entry naming the
 * slot (a page's stripe, or the shared object's lock), so the slot stays
 * allocated.  0 or the read's negative errno.  (dpemu_read.)
 */
int swap_read(struct dpemu_pool *pool, uint32_t slot, void *buf)
{
	uint32_t cached;
	int err = 0;

	lock_acquire(&pool->swap_lock);
	cached = pool->swap.slots[slot].frame;
	if (cached)
		memcpy(buf, frame_data(pool, cached - 1), pool->page_size);
	else
		err = read_full(pool->swap.fd, buf, pool->page_size, (off_t)slot << pool->page_shift);
	lock_release(&pool->swap_lock);
	return err;
}

/*
 * The frame holding slot's contents, for a swap entry (a PTE or a shared
 * object's slot) that names slot and is about to name the frame instead:
 * drops that entry's reference to the slot.  The frame is the slot's cached frame if it has one
 * (another page brought it back, or it was never freed), else a new frame
 * (preferably `preferred`, with rmap) filled from the file and cached.
 * *read says whether the file was read; *others whether other entries
 * still name the slot or other pages map the frame (a private page must
 * then share it copy-on-write).
 * Returns the frame, one page reference taken; FRAME_NONE with *err
 * -ENOSPC (no free frame: the entry's reference is kept) or the read's
 * negative errno (the entry's reference is kept too).
 */
uint32_t swap_fetch_slot(struct dpemu_pool *pool, uint32_t slot, uint64_t preferred,
                         uint64_t rmap, int *err, bool *read, bool *others)
{
	struct swap_slot *sl = &pool->swap.slots[slot];
	uint32_t f;

	*read = false;
	lock_acquire(&pool->swap_lock);
	if (sl->frame) {
		f = sl->frame - 1;
		frame_get(pool, f);
	} else {
		f = frame_alloc(pool, preferred, rmap);
		if (f == FRAME_NONE) {
			lock_release(&pool->swap_lock);
			*err = -ENOSPC;
			return FRAME_NONE;
		}
		*err = read_full(pool->swap.fd, frame_data(pool, f), pool->page_size,
		                 (off_t)slot << pool->page_shift);
		if (*err) {
			atomic_store(&pool->frames[f].refs, 0);
			lock_release(&pool->swap_lock);
			frame_free(pool, f);
			return FRAME_NONE;
		}
		pool->frames[f].zero = 0;
		sl->refs++;
		sl->frame = f + 1;
		pool->frames[f].swap = slot + 1;
		atomic_fetch_or(&pool->frames[f].refs, FRAME_CACHED);
		pool->swap_ins++;
		*read = true;
	}
	slot_put(pool, slot);
	*others = sl->refs > 1 || frame_pages(pool, f) > 1;
	lock_release(&pool->swap_lock);
	return f;
}
