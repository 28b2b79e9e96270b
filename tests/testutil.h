/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testutil.h - small helpers shared by the dpemu test programs.
 *
 * Include this first in every test program (it defines _GNU_SOURCE before
 * any system header), then <cmocka.h>'s prerequisites and <cmocka.h>.
 *
 * Everything here is static inline so that a program that does not use a
 * helper gets no unused-function warning.
 */
#ifndef DPEMU_TESTUTIL_H
#define DPEMU_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpemu.h"

/* The host's page size in bytes. */
static inline size_t tu_host_page(void)
{
	static size_t page;

	if (page == 0)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

/* True when the tests run in the fallback host-mapping mode. */
static inline int tu_hostmap_is_mmap(void)
{
	const char *mode = getenv("DPEMU_HOSTMAP");

	return mode != NULL && strcmp(mode, "mmap") == 0;
}

/* ------------------------------------------------------------------------ */
/* Running a function in a forked child                                      */
/* ------------------------------------------------------------------------ */

#define TU_ERR_MAX 8192

struct tu_child {
	int status;            /* as from waitpid                               */
	char err[TU_ERR_MAX];  /* what the child wrote to stderr, NUL-ended     */
	size_t err_len;
};

/*
 * Give SIGSEGV and SIGBUS their default action again.  A forked child of a
 * CMocka test inherits CMocka's handlers (which would longjmp back into the
 * test runner); call this first in a child, then create the dpemu objects the
 * child needs (dpemu re-installs its handler at every dpemu_space_create).
 */
static inline void tu_default_fault_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * Fork; the child runs fn(arg) with its stderr sent to a pipe, then exits
 * with status 0 if fn returns (fn may _exit itself with another status, or
 * die of a signal).  The parent collects the child's stderr into out->err and
 * its wait status into out->status.  Returns 0, or -1 if fork/pipe failed.
 *
 * fn runs outside CMocka's control: it must not use CMocka assertions.  It
 * reports problems with _exit(code) where code != 0.
 */
static inline int tu_run_in_child(void (*fn)(void *arg), void *arg,
                                  struct tu_child *out)
{
	int fds[2];
	pid_t pid;

	memset(out, 0, sizeof *out);
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDERR_FILENO) < 0)
			_exit(120);
		close(fds[1]);
		/* No core files from the deaths we provoke on purpose. */
		tu_default_fault_signals();
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (out->err_len + 1 >= sizeof out->err) {
			char sink[256];

			n = read(fds[0], sink, sizeof sink);
		} else {
			n = read(fds[0], out->err + out->err_len,
			         sizeof out->err - 1 - out->err_len);
			if (n > 0)
				out->err_len += (size_t)n;
		}
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			break;
	}
	out->err[out->err_len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &out->status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * In a child, which has no CMocka: unless cond holds, print "line N: cond: "
 * then the printf-style message and dpemu's last error on stderr, and exit
 * with status 1 (tu_assert_child_ok shows it).
 */
#define TU_CHECK(cond, ...)                                                \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "line %d: %s: ", __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                      \
			fprintf(stderr, " (last error: %s)\n",             \
			        dpemu_last_error());                       \
			_exit(1);                                          \
		}                                                          \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Create a temporary file in /tmp holding len bytes of data.  path must have
 * room for 64 bytes; it receives the file's name (the caller unlinks it).
 * Returns an fd open O_RDWR, or -1.
 */
static inline int tu_temp_file(const void *data, size_t len, char *path)
{
	const char *p = data;
	int fd;

	strcpy(path, "/tmp/dpemu-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return fd;
}

/* Read exactly len bytes at off from fd; returns 0 or -1. */
static inline int tu_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* /proc                                                                     */
/* ------------------------------------------------------------------------ */

/* Number of lines of /proc/self/maps (the process's VMAs), or -1. */
static inline long tu_count_maps_lines(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long lines = 0;
	int c;

	if (f == NULL)
		return -1;
	while ((c = getc(f)) != EOF) {
		if (c == '\n')
			lines++;
	}
	fclose(f);
	return lines;
}

/* Lines of /proc/self/maps that contain needle, or -1. */
static inline long tu_count_maps_matching(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	long n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* A size in KiB from /proc/self/status (field such as "VmRSS:"), or -1. */
static inline long tu_status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t len = strlen(field);
	long kib = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, field, len) == 0) {
			kib = strtol(line + len, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

/* The process's resident set size in KiB (VmRSS), or -1. */
static inline long tu_vm_rss_kib(void)
{
	return tu_status_kib("VmRSS:");
}

/* A small seeded generator (xorshift64): the next value of *state, which
 * must not be 0. */
static inline uint64_t tu_xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Entries of directory path ("." and ".." included), or -1. */
static inline int tu_count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Small dpemu helpers                                                       */
/* ------------------------------------------------------------------------ */

/* Zeroed configs, filled in the order the fields are documented. */
static inline struct dpemu_pool_config tu_pool_config(size_t frames,
                                                      size_t page_size)
{
	struct dpemu_pool_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.frames = frames;
	cfg.page_size = page_size;
	return cfg;
}

static inline struct dpemu_space_config tu_space_config(size_t reserve)
{
	struct dpemu_space_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.reserve = reserve;
	return cfg;
}

/*
 * Whether a userfaultfd space can be made here (the kernel may forbid it:
 * EPERM, ENOSYS).  If not, *why gets dpemu's reason.
 */
static inline int tu_uffd_available(enum dpemu_uffd_mode mode, char *why, size_t len)
{
	struct dpemu_pool_config pcfg = tu_pool_config(1, 0);
	struct dpemu_space_config scfg = tu_space_config(tu_host_page());
	dpemu_pool *pool = NULL;
	dpemu_space *space = NULL;
	int rc;

	scfg.backend = DPEMU_BACKEND_UFFD;
	scfg.uffd_mode = mode;
	if (dpemu_pool_create(&pcfg, &pool) != 0)
		return 0;
	rc = dpemu_space_create(pool, &scfg, &space);
	if (rc == 0)
		dpemu_space_destroy(space);
	else if (why)
		snprintf(why, len, "%s", dpemu_last_error());
	dpemu_pool_destroy(pool);
	return rc == 0;
}

/* The backend DPEMU_BACKEND_AUTO gives under this run's DPEMU_BACKEND. */
static inline enum dpemu_backend tu_auto_backend(void)
{
	const char *env = getenv("DPEMU_BACKEND");

	if (env && strcmp(env, "sigsegv") == 0)
		return DPEMU_BACKEND_SIGSEGV;
	if (env && *env)
		return DPEMU_BACKEND_UFFD;
	return tu_uffd_available(DPEMU_UFFD_THREAD, NULL, 0) ? DPEMU_BACKEND_UFFD
	                                                     : DPEMU_BACKEND_SIGSEGV;
}

/* ---- provoking faults under dpemu_catch (needs CMocka) ---- */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* One byte read or written by tu_do_access. */
struct tu_access {
	volatile unsigned char *p;
	int write;
	unsigned char val;
	int done; /* set after the access: stays 0 when it faults */
};

static inline void tu_do_access(void *arg)
{
	struct tu_access *a = arg;

	if (a->write)
		*a->p = a->val;
	else
		a->val = *a->p;
	a->done = 1;
}

/* Read (or write val to) addr under dpemu_catch; dpemu_catch's result. */
static inline int tu_try_access(void *addr, int write, unsigned char val,
                                struct dpemu_fault *f)
{
	struct tu_access a = { addr, write, val, 0 };

	memset(f, 0, sizeof *f);
	return dpemu_catch(tu_do_access, &a, f);
}

/* Access addr under dpemu_catch; check that it stopped at the access with
 * a fault of kind in space, reporting the address and the access type (or
 * DPEMU_ACCESS_UNKNOWN where the CPU does not say). */
static inline void tu_assert_caught(dpemu_space *space, void *addr, int write,
                                    enum dpemu_fault_kind kind)
{
	struct dpemu_fault f;
	struct tu_access a = { addr, write, 0x3c, 0 };

	memset(&f, 0xa5, sizeof f);
	assert_int_equal(dpemu_catch(tu_do_access, &a, &f), 1);
	assert_int_equal(a.done, 0);
	assert_int_equal(f.kind, kind);
	assert_ptr_equal(f.addr, addr);
	assert_ptr_equal(f.space, space);
	if (write)
		assert_true(f.access == DPEMU_ACCESS_WRITE ||
		            f.access == DPEMU_ACCESS_UNKNOWN);
	else
		assert_true(f.access == DPEMU_ACCESS_READ ||
		            f.access == DPEMU_ACCESS_UNKNOWN);
}

/* The process's open file descriptors (entries of /proc/self/fd, the
 * directory's own among them: compare two counts, not one with a number). */
static inline int tu_count_fds(void)
{
	int n = tu_count_dir("/proc/self/fd");

	assert_true(n > 0);
	return n;
}

/* ---- pool configurations (needs CMocka) ---- */

/* Create a pool of 4 frames with policy and a swap store at swap_path
 * (NULL: an unlinked temporary file) of slots slots (0: the default);
 * dpemu_pool_create's result.  The pool is destroyed again on success; a
 * failure must have set the pool to NULL (asserted). */
static inline int tu_pool_try(enum dpemu_policy policy, const char *swap_path, size_t slots)
{
	struct dpemu_pool_config cfg = tu_pool_config(4, 0);
	dpemu_pool *pool = (dpemu_pool *)&cfg;
	int rc;

	cfg.policy = policy;
	cfg.swap_path = swap_path;
	cfg.swap_slots = slots;
	rc = dpemu_pool_create(&cfg, &pool);
	if (rc == 0)
		assert_int_equal(dpemu_pool_destroy(pool), 0);
	else
		assert_null(pool);
	return rc;
}

/* ---- a child's result (needs CMocka) ---- */

/* After tu_run_in_child: unless the child exited 0, print its status and
 * stderr and fail the test, what naming the case. */
static inline void tu_assert_child_ok(const struct tu_child *c, const char *what)
{
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return;
	fprintf(stderr, "%s: child %s %d; its stderr:\n%s\n", what,
	        WIFEXITED(c->status) ? "exited with" : "died of signal",
	        WIFEXITED(c->status) ? WEXITSTATUS(c->status) : WTERMSIG(c->status), c->err);
	fail_msg("%s failed in the child", what);
}

#endif /* DPEMU_TESTUTIL_H */
