/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_hostile_input.c - arguments a hostile or careless program passes,
 * and host resources that cannot do what dpemu needs (issue 11):
 *
 *   - dpemu_map of a file past the largest file offset (-EOVERFLOW), of an
 *     O_PATH descriptor (-EBADF), and shared and writable of an O_APPEND
 *     descriptor (-EACCES, as mmap(2); dpemu_protect likewise);
 *   - dpemu_sync and dpemu_unmap make their write-back durable: one
 *     fdatasync(2) per mapping after its pages are written, and a failed
 *     fdatasync is reported (dpemu_sync: the pages stay dirty);
 *   - dpemu_pool_config.populate larger than the host can commit fails
 *     with -ENOMEM before anything is committed;
 *   - a swap store that cannot hold pages (a FIFO, /dev/null, a procfs
 *     file, a directory, a file larger than RLIMIT_FSIZE allows) is refused.
 *
 * To watch the library's host calls this program takes over fdatasync(2)
 * and madvise(2) (interpose.h: the library's calls bind to them).  Both
 * pass every call through to the system call unless a test asks
 * otherwise.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "interpose.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define TEST_OFF_MAX ((off_t)(((uint64_t)1 << (sizeof(off_t) * 8 - 1)) - 1))

static size_t ps;

/* ---- fdatasync(2), watched ------------------------------------------------ */

static int fdatasync_calls;   /* calls seen                                    */
static int fdatasync_errno;   /* non-zero: fail with it (nothing is synced)   */
static ino_t fdatasync_ino;   /* the inode of the last call's file            */
static unsigned char *fdatasync_snap; /* non-NULL: the file's first
                                 fdatasync_snap_len bytes, read at the call */
static size_t fdatasync_snap_len;

/* fdatasync, as the interposed call's hook asks (below). */
static int watch_fdatasync(int fd)
{
	struct stat st;

	fdatasync_calls++;
	if (fstat(fd, &st) == 0)
		fdatasync_ino = st.st_ino;
	if (fdatasync_snap && pread(fd, fdatasync_snap, fdatasync_snap_len, 0) < 0)
		memset(fdatasync_snap, 0xee, fdatasync_snap_len);
	if (fdatasync_errno) {
		errno = fdatasync_errno;
		return -1;
	}
	return 0;
}

/* ---- madvise(2), watched -------------------------------------------------- */

static int populate_forbidden; /* MADV_POPULATE_WRITE ends the process (exit 3) */

/* madvise, as the interposed call's hook asks (below). */
static int watch_madvise(int advice)
{
	if (advice == MADV_POPULATE_WRITE && populate_forbidden) {
		static const char msg[] = "MADV_POPULATE_WRITE was called: memory committed\n";
		if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
			_exit(4);
		_exit(3);
	}
	return 0;
}

/* The interposed calls (interpose.h) ask here: fdatasync and madvise are watched. */
static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a)
{
	switch (call) {
	case TU_FDATASYNC:
		return watch_fdatasync(a->fd);
	case TU_MADVISE:
		return watch_madvise(a->advice);
	default:
		return 0;
	}
}

/* ---- helpers ------------------------------------------------------------------- */

struct env {
	dpemu_pool *pool;
	dpemu_space *space;
	char path[64];
	int fd; /* the test's own descriptor of the file at path, O_RDWR */
};

/* A pool, a space of 64 pages, and a file of `pages` pages of byte c. */
static void env_open(struct env *e, size_t pages, unsigned char c)
{
	struct dpemu_pool_config pcfg = tu_pool_config(64, 0);
	struct dpemu_space_config scfg = tu_space_config(64 * ps);
	unsigned char *data = malloc(pages * ps);

	assert_non_null(data);
	memset(data, c, pages * ps);
	e->fd = tu_temp_file(data, pages * ps, e->path);
	free(data);
	assert_true(e->fd >= 0);
	assert_int_equal(dpemu_pool_create(&pcfg, &e->pool), 0);
	assert_int_equal(dpemu_space_create(e->pool, &scfg, &e->space), 0);
}

static void env_close(struct env *e)
{
	assert_int_equal(dpemu_space_destroy(e->space), 0);
	assert_int_equal(dpemu_pool_destroy(e->pool), 0);
	close(e->fd);
	unlink(e->path);
}

static struct dpemu_page_info query(dpemu_space *s, const void *addr)
{
	struct dpemu_page_info pi;

	assert_int_equal(dpemu_query(s, addr, &pi), 0);
	return pi;
}

/* Byte off of the test's file. */
static unsigned char file_byte(const struct env *e, off_t off)
{
	unsigned char c;

	assert_int_equal(tu_pread_all(e->fd, &c, 1, off), 0);
	return c;
}

static void assert_error_mentions(const char *what)
{
	if (strstr(dpemu_last_error(), what) == NULL)
		fail_msg("the message does not mention '%s': %s", what, dpemu_last_error());
}

/* ---- defect 10: dpemu_map's file descriptor and offset -------------------- */

/* offset + len past the largest file offset is -EOVERFLOW, as mmap(2)
 * says; the last mapping that fits is taken, and its page reads zeros
 * (past the end of the file) instead of overflowing a signed off_t. */
static void test_map_offset_overflow(void **state)
{
	struct env e;
	void *out = (void *)&e;
	off_t top = TEST_OFF_MAX - (off_t)ps + 1; /* the last page-aligned offset */
	struct dpemu_fault f;
	(void)state;

	env_open(&e, 1, 'x');
	/* The last page ends at OFF_MAX + 1: one byte too far. */
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, e.fd, top,
	                           &out), -EOVERFLOW);
	assert_null(out);
	assert_error_mentions("offset");
	assert_int_equal(dpemu_map(e.space, NULL, 4 * ps, PROT_READ, DPEMU_MAP_SHARED, e.fd,
	                           top - 2 * (off_t)ps, &out), -EOVERFLOW);
	/* Negative and unaligned offsets stay -EINVAL. */
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, e.fd,
	                           -(off_t)ps, &out), -EINVAL);
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, e.fd,
	                           TEST_OFF_MAX, &out), -EINVAL);
	/* Nothing was mapped by the refusals. */
	struct dpemu_stats st;
	assert_int_equal(dpemu_space_stats(e.space, &st), 0);
	assert_int_equal(st.mappings, 0);

	/* The page before the last one fits exactly. */
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, e.fd,
	                           top - (off_t)ps, &out), 0);
	assert_int_equal(query(e.space, out).file_offset, top - (off_t)ps);
	struct tu_access a = { out, 0, 0x77, 0 };
	assert_int_equal(dpemu_catch(tu_do_access, &a, &f), 0);
	assert_int_equal(a.val, 0);
	assert_int_equal(dpemu_unmap(e.space, out, ps), 0);
	env_close(&e);
}

/* An O_PATH descriptor allows no I/O: -EBADF, not a mapping whose every
 * access is a host fault. */
static void test_map_o_path(void **state)
{
	struct env e;
	void *out = (void *)&e;
	(void)state;

	env_open(&e, 2, 'p');
	int pfd = open(e.path, O_PATH | O_CLOEXEC);
	assert_true(pfd >= 0);
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, pfd, 0, &out),
	                 -EBADF);
	assert_null(out);
	assert_error_mentions("O_PATH");
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_READ, DPEMU_MAP_SHARED, pfd, 0, &out),
	                 -EBADF);
	assert_int_equal(dpemu_map(e.space, NULL, ps, PROT_NONE, DPEMU_MAP_PRIVATE, pfd, 0, &out),
	                 -EBADF);
	close(pfd);
	env_close(&e);
}

/*
 * An O_APPEND descriptor writes at the end of the file whatever the
 * offset: a shared writable mapping of it is -EACCES (mmap(2) gives
 * EACCES), and so is dpemu_protect adding PROT_WRITE to a shared
 * read-only one (as mprotect(2)).  Read-only shared and private mappings
 * of it work.  The file never changes.
 */
static void test_map_o_append(void **state)
{
	struct env e;
	void *out = (void *)&e;
	struct stat st;
	(void)state;

	env_open(&e, 2, 'a');
	int afd = open(e.path, O_RDWR | O_APPEND | O_CLOEXEC);
	assert_true(afd >= 0);
	assert_int_equal(dpemu_map(e.space, NULL, 2 * ps, RW, DPEMU_MAP_SHARED, afd, 0, &out),
	                 -EACCES);
	assert_null(out);
	assert_error_mentions("O_APPEND");

	/* Shared, read-only: fine; it may not become writable. */
	assert_int_equal(dpemu_map(e.space, NULL, 2 * ps, PROT_READ, DPEMU_MAP_SHARED, afd, 0,
	                           &out), 0);
	volatile unsigned char *p = out;
	assert_int_equal(p[ps + 7], 'a');
	assert_int_equal(dpemu_protect(e.space, out, 2 * ps, RW), -EACCES);
	assert_error_mentions("O_APPEND");
	assert_int_equal(query(e.space, out).prot, PROT_READ);
	assert_int_equal(query(e.space, (char *)out + ps).prot, PROT_READ);
	tu_assert_caught(e.space, (void *)(p + ps), 1, DPEMU_FAULT_PROTECTION);
	assert_int_equal(dpemu_protect(e.space, out, 2 * ps, PROT_NONE), 0);
	assert_int_equal(dpemu_protect(e.space, out, 2 * ps, PROT_READ), 0);
	assert_int_equal(dpemu_sync(e.space, out, 2 * ps), 0);
	assert_int_equal(dpemu_unmap(e.space, out, 2 * ps), 0);

	/* Private, writable: fine; the writes stay in memory. */
	assert_int_equal(dpemu_map(e.space, NULL, 2 * ps, RW, DPEMU_MAP_PRIVATE, afd, 0, &out), 0);
	p = out;
	p[0] = 'Z';
	p[ps] = 'Y';
	assert_int_equal(p[0], 'Z');
	assert_int_equal(p[1], 'a');
	assert_int_equal(dpemu_unmap(e.space, out, 2 * ps), 0);
	close(afd);

	assert_int_equal(fstat(e.fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)(2 * ps));
	assert_int_equal(file_byte(&e, 0), 'a');
	assert_int_equal(file_byte(&e, (off_t)ps), 'a');
	env_close(&e);
}

/* ---- defect 14: durable write-back ---------------------------------------- */

/*
 * dpemu_sync writes the dirty pages, then calls fdatasync once for the
 * mapping (not once per page), on the mapping's file, after the writes:
 * the file holds the new bytes when fdatasync runs.
 */
static void test_sync_is_durable(void **state)
{
	struct env e;
	void *out = NULL, *anon = NULL;
	struct stat st;
	unsigned char snap[4 * 4096 * 4];
	(void)state;

	env_open(&e, 4, '.');
	assert_true(4 * ps <= sizeof snap);
	assert_int_equal(fstat(e.fd, &st), 0);
	assert_int_equal(dpemu_map(e.space, NULL, 4 * ps, RW, DPEMU_MAP_SHARED, e.fd, 0, &out), 0);
	assert_int_equal(dpemu_map(e.space, NULL, ps, RW, ANON_PRIVATE, -1, 0, &anon), 0);
	volatile unsigned char *p = out;
	p[0] = 'A';
	p[2 * ps + 5] = 'C';
	p[3 * ps + 9] = 'D';
	*(volatile char *)anon = 1;

	int calls = fdatasync_calls;
	fdatasync_snap = snap;
	fdatasync_snap_len = 4 * ps;
	assert_int_equal(dpemu_sync(e.space, out, 4 * ps), 0);
	fdatasync_snap = NULL;
	assert_int_equal(fdatasync_calls, calls + 1);
	assert_int_equal(fdatasync_ino, st.st_ino);
	/* The pages were in the file when fdatasync ran. */
	assert_int_equal(snap[0], 'A');
	assert_int_equal(snap[2 * ps + 5], 'C');
	assert_int_equal(snap[3 * ps + 9], 'D');
	assert_int_equal(snap[ps], '.');
	assert_false(query(e.space, out).dirty);
	assert_false(query(e.space, (char *)out + 3 * ps).dirty);

	/* Anonymous memory has no file to sync. */
	calls = fdatasync_calls;
	assert_int_equal(dpemu_sync(e.space, anon, ps), 0);
	assert_int_equal(fdatasync_calls, calls);
	env_close(&e);
}

/*
 * A failed fdatasync (EIO: the disk lost the write) is returned as the
 * negative errno with a message, and the pages stay dirty, so that the
 * next dpemu_sync writes them again; that one succeeds.
 */
static void test_sync_fdatasync_fails(void **state)
{
	struct env e;
	void *out = NULL;
	(void)state;

	env_open(&e, 2, '.');
	assert_int_equal(dpemu_map(e.space, NULL, 2 * ps, RW, DPEMU_MAP_SHARED, e.fd, 0, &out), 0);
	volatile unsigned char *p = out;
	p[ps + 1] = 'B';
	assert_true(query(e.space, (char *)out + ps).dirty);

	int calls = fdatasync_calls;
	fdatasync_errno = EIO;
	assert_int_equal(dpemu_sync(e.space, out, 2 * ps), -EIO);
	fdatasync_errno = 0;
	assert_int_equal(fdatasync_calls, calls + 1);
	assert_error_mentions("fdatasync");
	assert_error_mentions("dirty");
	assert_true(query(e.space, (char *)out + ps).dirty);
	/* The page still takes writes, and keeps them. */
	p[ps + 2] = 'b';
	assert_int_equal(p[ps + 1], 'B');

	calls = fdatasync_calls;
	assert_int_equal(dpemu_sync(e.space, out, 2 * ps), 0);
	assert_int_equal(fdatasync_calls, calls + 1);
	assert_false(query(e.space, (char *)out + ps).dirty);
	assert_int_equal(file_byte(&e, (off_t)ps + 1), 'B');
	assert_int_equal(file_byte(&e, (off_t)ps + 2), 'b');
	env_close(&e);
}

/*
 * dpemu_unmap (and dpemu_space_destroy) write dirty shared pages back and
 * fdatasync what they wrote, once per mapping; a failure is reported (the
 * pages are unmapped all the same).  A clean mapping costs no fdatasync.
 */
static void test_unmap_is_durable(void **state)
{
	struct env e;
	void *out = NULL;
	(void)state;

	env_open(&e, 4, '.');
	assert_int_equal(dpemu_map(e.space, NULL, 4 * ps, RW, DPEMU_MAP_SHARED, e.fd, 0, &out), 0);
	volatile unsigned char *p = out;
	p[0] = 'u';
	p[3 * ps] = 'v';
	int calls = fdatasync_calls;
	assert_int_equal(dpemu_unmap(e.space, out, 4 * ps), 0);
	assert_int_equal(fdatasync_calls, calls + 1);
	assert_int_equal(file_byte(&e, 0), 'u');
	assert_int_equal(file_byte(&e, 3 * (off_t)ps), 'v');

	/* Only read: nothing to write, nothing to sync. */
	assert_int_equal(dpemu_map(e.space, NULL, 4 * ps, RW, DPEMU_MAP_SHARED, e.fd, 0, &out), 0);
	p = out;
	assert_int_equal(p[0], 'u');
	calls = fdatasync_calls;
	assert_int_equal(dpemu_unmap(e.space, out, 4 * ps), 0);
	assert_int_equal(fdatasync_calls, calls);

	/* fdatasync fails: -EIO, a message, and the range is unmapped. */
	assert_int_equal(dpemu_map(e.space, NULL, 4 * ps, RW, DPEMU_MAP_SHARED, e.fd, 0, &out), 0);
	p = out;
	p[ps] = 'w';
	fdatasync_errno = EIO;
	assert_int_equal(dpemu_unmap(e.space, out, 4 * ps), -EIO);
	fdatasync_errno = 0;
	assert_error_mentions("fdatasync");
	assert_false(query(e.space, out).mapped);
	assert_false(query(e.space, (char *)out + ps).mapped);

	/* dpemu_space_destroy writes back and syncs too. */
	assert_int_equal(dpemu_map(e.space, NULL, 4 * ps, RW, DPEMU_MAP_SHARED, e.fd, 0, &out), 0);
	p = out;
	p[2 * ps] = 'z';
	calls = fdatasync_calls;
	assert_int_equal(dpemu_space_destroy(e.space), 0);
	assert_int_equal(fdatasync_calls, calls + 1);
	assert_int_equal(file_byte(&e, 2 * (off_t)ps), 'z');
	assert_int_equal(dpemu_pool_destroy(e.pool), 0);
	close(e.fd);
	unlink(e.path);
}

/* ---- defect 12: populate checks what the host can commit ------------------ */

/* MemAvailable of /proc/meminfo in bytes, or 0. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib * 1024;
}

/* In a child: a populated pool of twice MemAvailable must fail with
 * -ENOMEM and a message, and never reach MADV_POPULATE_WRITE. */
static void populate_too_much(void *arg)
{
	uint64_t avail = mem_available();
	struct dpemu_pool_config cfg;
	dpemu_pool *pool = NULL;
	int rc;

	(void)arg;
	alarm(60); /* a hang is a failure, not a stuck suite */
	if (avail == 0)
		_exit(77);
	cfg = tu_pool_config((size_t)(2 * avail / ps + 1), 0);
	cfg.populate = true;
	populate_forbidden = 1;
	rc = dpemu_pool_create(&cfg, &pool);
	populate_forbidden = 0;
	fprintf(stderr, "rc %d: %s\n", rc, dpemu_last_error());
	if (rc != -ENOMEM)
		_exit(5);
	if (pool != NULL)
		_exit(6);
	if (!strstr(dpemu_last_error(), "populate") || !strstr(dpemu_last_error(), "MiB"))
		_exit(7);
	_exit(0);
}

static void test_populate_more_than_available(void **state)
{
	struct tu_child c;
	(void)state;

	assert_int_equal(tu_run_in_child(populate_too_much, NULL, &c), 0);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 77)
		skip();
	tu_assert_child_ok(&c, "populate of twice MemAvailable");
}

/* ---- defect 13: a swap store must be able to hold pages ------------------- */

/* What cannot hold pages is refused with a message naming it, and leaves
 * no descriptor open; a FIFO does not block the call. */
static void test_swap_store_not_a_file(void **state)
{
	char dir[] = "/tmp/dpemu-hostile-XXXXXX";
	char fifo[sizeof dir + 16];
	int fds = tu_count_fds(), rc;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	alarm(30);
	rc = tu_pool_try(DPEMU_POLICY_FIFO, fifo, 0);
	alarm(0);
	assert_int_equal(rc, -ENODEV);
	assert_error_mentions(fifo);
	assert_error_mentions("FIFO");

	/* /dev/null would silently lose every page. */
	assert_int_equal(tu_pool_try(DPEMU_POLICY_FIFO, "/dev/null", 0), -ENODEV);
	assert_error_mentions("/dev/null");

	/* A procfs file is a regular file that holds nothing (root may open
	 * it for writing; others are refused by open already). */
	rc = tu_pool_try(DPEMU_POLICY_FIFO, "/proc/self/status", 0);
	assert_true(rc == -ENODEV || rc == -EACCES);
	assert_error_mentions("/proc/self/status");

	/* A directory. */
	rc = tu_pool_try(DPEMU_POLICY_FIFO, dir, 0);
	assert_true(rc == -EISDIR || rc == -EACCES);
	assert_error_mentions(dir);

	assert_int_equal(tu_count_fds(), fds);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* In a child (the limit is per process): a store larger than RLIMIT_FSIZE
 * allows is refused, instead of a later swap-out killing the process with
 * SIGXFSZ; one within the limit is taken. */
static void swap_over_fsize(void *arg)
{
	const char *path = arg;
	struct rlimit rl = { 64 * 4096, 64 * 4096 };
	struct dpemu_pool_config cfg = tu_pool_config(4, 0);
	dpemu_pool *pool = NULL;
	int rc;

	alarm(30);
	signal(SIGXFSZ, SIG_DFL);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(77);
	cfg.policy = DPEMU_POLICY_CLOCK;
	cfg.swap_path = path;
	cfg.swap_slots = 1024; /* 4 MiB or more: over the limit */
	rc = dpemu_pool_create(&cfg, &pool);
	fprintf(stderr, "rc %d: %s\n", rc, dpemu_last_error());
	if (rc != -ENOSPC)
		_exit(5);
	if (!strstr(dpemu_last_error(), "RLIMIT_FSIZE"))
		_exit(6);
	cfg.swap_slots = 8;
	if (ps * 8 > 64 * 4096)
		_exit(0);
	if (dpemu_pool_create(&cfg, &pool) != 0 || dpemu_pool_destroy(pool) != 0)
		_exit(7);
	_exit(0);
}

static void test_swap_store_file_size_limit(void **state)
{
	char dir[] = "/tmp/dpemu-hostile-XXXXXX";
	char path[sizeof dir + 16];
	struct tu_child c;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/swap", dir);
	assert_int_equal(tu_run_in_child(swap_over_fsize, path, &c), 0);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 77)
		skip();
	tu_assert_child_ok(&c, "swap store over RLIMIT_FSIZE");
}

/* A regular file is still a good store, and keeps its size until pages
 * are evicted there. */
static void test_swap_store_regular_file(void **state)
{
	char dir[] = "/tmp/dpemu-hostile-XXXXXX";
	char path[sizeof dir + 16];
	struct stat st;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/swap", dir);
	assert_int_equal(tu_pool_try(DPEMU_POLICY_FIFO, path, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_int_equal(tu_pool_try(DPEMU_POLICY_FIFO, NULL, 0), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static int setup(void **state)
{
	(void)state;
	ps = tu_host_page();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_offset_overflow),
		cmocka_unit_test(test_map_o_path),
		cmocka_unit_test(test_map_o_append),
		cmocka_unit_test(test_sync_is_durable),
		cmocka_unit_test(test_sync_fdatasync_fails),
		cmocka_unit_test(test_unmap_is_durable),
		cmocka_unit_test(test_populate_more_than_available),
		cmocka_unit_test(test_swap_store_not_a_file),
		cmocka_unit_test(test_swap_store_file_size_limit),
		cmocka_unit_test(test_swap_store_regular_file),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
