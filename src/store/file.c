/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file.c - the file store, dpemu's default backing store: one regular file
 * (swap_path, or an unlinked temporary file), slot k at offset k x
 * page_size; and the page reads and writes of file mappings
 * (file_read_page, file_write_page), which share its pread/pwrite loops.
 *
 * The store is async-signal-safe (DPEMU_STORE_SIGNAL_SAFE): store.c calls
 * its read and write on the faulting thread itself.
 *
 * Fault path: file_store_read, file_store_write, file_read_page,
 * file_write_page: pread, pwrite, fstat; no malloc, no stdio.  API side:
 * file_store_open (its checks: stat, statfs, getrlimit, a probe write;
 * malloc, snprintf) and file_store_close.
 *
 * Layer: store (src/internal.h).  Calls: base.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* snprintf, API side only */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "internal.h"

/* The object of an open file store. */
struct file_store {
	int fd;
	size_t page_size;
};

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
 * The file store's open: path (created if missing) or, for NULL, an
 * unlinked temporary file, with room for nslots pages (see swap_check:
 * what cannot hold them is refused).  0 with *obj set, or a negative errno
 * with the message set; nothing stays open on failure.
 */
static int file_store_open(void *arg, uint64_t nslots, size_t page_size, void **obj)
{
	const char *path = arg;
	const char *what = path ? path : "(a temporary file in $TMPDIR or /tmp)";
	struct file_store *fs;
	struct stat st;
	int fd, err;

	/* A device is refused before it is opened: opening one may act
	 * (a watchdog starts counting).  swap_check looks again after open. */
	if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return not_regular(what, st.st_mode);
	/* O_NONBLOCK: opening a FIFO or a device must not wait (it is refused
	 * right after); O_NOCTTY: nor become the controlling terminal. */
	fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600)
	          : open_anonymous_file();
	if (fd < 0) {
		err = -errno;
		return set_error(err, "dpemu_pool_create: cannot open the swap store %s: %s",
		                 what, strerror(errno));
	}
	err = swap_check(fd, what, nslots, page_size);
	if (!err && path && fcntl(fd, F_SETFL, 0) < 0) /* back to blocking I/O */
		err = set_error(-errno, "dpemu_pool_create: fcntl on the swap store %s: %s", what,
		                strerror(errno));
	if (!err && !(fs = malloc(sizeof *fs)))
		err = set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	if (err) {
		close(fd);
		return err;
	}
	fs->fd = fd;
	fs->page_size = page_size;
	*obj = fs;
	return 0;
}

static void file_store_close(void *obj)
{
	struct file_store *fs = obj;

	close(fs->fd);
	free(fs);
}

/* ---- the store's I/O (fault path) ------------------------------------------- */

/* Slot's page into buf: 0, or -EIO for a short read (a slot never written,
 * a truncated store), or pread's -errno. */
static int file_store_read(void *obj, uint64_t slot, void *buf)
{
	struct file_store *fs = obj;

	return read_full(fs->fd, buf, fs->page_size, (off_t)(slot * fs->page_size));
}

/* buf (one page) into slot: 0 or -errno (-ENOSPC: the file system is full;
 * -EIO and the like). */
static int file_store_write(void *obj, uint64_t slot, const void *buf)
{
	struct file_store *fs = obj;

	return write_full(fs->fd, buf, fs->page_size, (off_t)(slot * fs->page_size));
}

const struct dpemu_store_ops file_store_ops = {
	.name = "file",
	.flags = DPEMU_STORE_SIGNAL_SAFE,
	.open = file_store_open,
	.close = file_store_close,
	.read = file_store_read,
	.write = file_store_write,
};
