/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_destroy_fail.c - dpemu_space_destroy and dpemu_space_fork when the
 * host fails them (issue 11, found by the injection sweep, test_inject.c):
 *
 *   - a destroy whose write-back of dirty shared file pages fails (pwrite
 *     or fdatasync) returns the error and destroys nothing: the space is
 *     still usable, its pages still dirty, and a retry writes them back;
 *     dpemu_unmap, which drops pages whose write-back fails, lets the
 *     caller give up on them and destroy;
 *   - once the data is safe, host calls that fail during the teardown (a
 *     hide: mmap, madvise, mprotect, ioctl) do not matter: destroy unmaps
 *     the whole arena, returns 0 and gives every frame back to the pool;
 *   - a dpemu_space_fork whose write-protection of the parent's pages
 *     fails (mprotect or UFFDIO_WRITEPROTECT) returns the error and leaves
 *     the parent as it was: a later fork must write-protect those pages
 *     again, so that the parent's writes never reach a frame a child
 *     shares.
 *
 * Host failures are injected by interposition (interpose.h), as in
 * test_hostile_host.c: the library's mmap, mprotect, madvise, ioctl,
 * pwrite and fdatasync calls bind to this program's, which pass each call
 * through to the system call unless a failure is armed for its kind.
 * Every test runs in a forked child with an alarm.
 */
#include "testutil.h"

#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "interpose.h"

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

/* ---- failure injection ------------------------------------------------- */

enum inject_call { INJ_MMAP, INJ_MPROTECT, INJ_MADVISE, INJ_IOCTL, INJ_PWRITE, INJ_FDATASYNC,
	           INJ_KINDS };

/*
 * Armed failures, one per kind of call: while `on`, every call of the kind
 * that matches fails with `err` (mmap: only MAP_FIXED calls; mmap,
 * mprotect, madvise: only calls of at most maxlen bytes, when maxlen is
 * set; ioctl: only request `req`, when set).  `seen` counts the failures.
 */
struct inject {
	atomic_int on, seen;
	int err;
	size_t maxlen;
	unsigned long req;
};
static struct inject inj[INJ_KINDS];

static void inject_arm(enum inject_call k, int err, size_t maxlen, unsigned long req)
{
	inj[k].err = err;
	inj[k].maxlen = maxlen;
	inj[k].req = req;
	atomic_store(&inj[k].seen, 0);
	atomic_store(&inj[k].on, 1);
}

static void inject_off(void)
{
	for (int k = 0; k < INJ_KINDS; k++)
		atomic_store(&inj[k].on, 0);
}

static int fails(enum inject_call k, int match)
{
	if (!atomic_load(&inj[k].on) || !match)
		return 0;
	atomic_fetch_add(&inj[k].seen, 1);
	errno = inj[k].err;
	return 1;
}

/*
 * A one-shot hook: the first mprotect of at most hook_maxlen bytes or
 * UFFDIO_WRITEPROTECT made while hook_armed calls hook() first (and then
 * goes through).
 */
static atomic_int hook_armed;
static size_t hook_maxlen;
static void (*hook)(void);

static void maybe_hook(int match)
{
	if (match && atomic_load(&hook_armed) && atomic_exchange(&hook_armed, 0))
		hook();
}

static int short_enough(enum inject_call k, size_t len)
{
	return inj[k].maxlen == 0 || len <= inj[k].maxlen;
}

/*
 * The interposed calls (interpose.h) ask here: the one-shot hook first
 * (mprotect, UFFDIO_WRITEPROTECT), then the armed failure of the call's
 * kind.
 */
static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a)
{
	switch (call) {
	case TU_MMAP:
		return -fails(INJ_MMAP, (a->flags & MAP_FIXED) && short_enough(INJ_MMAP, a->len));
	case TU_MPROTECT:
		maybe_hook(a->len <= hook_maxlen);
		return -fails(INJ_MPROTECT, short_enough(INJ_MPROTECT, a->len));
	case TU_MADVISE:
		return -fails(INJ_MADVISE, short_enough(INJ_MADVISE, a->len));
	case TU_IOCTL:
		maybe_hook((a->req & 0xffffffffu) == (UFFDIO_WRITEPROTECT & 0xffffffffu));
		return -fails(INJ_IOCTL, inj[INJ_IOCTL].req == 0 ||
		                         (inj[INJ_IOCTL].req & 0xffffffffu) ==
		                         (a->req & 0xffffffffu));
	case TU_PWRITE:
		return -fails(INJ_PWRITE, 1);
	case TU_FDATASYNC:
		return -fails(INJ_FDATASYNC, 1);
	default:
		return 0;
	}
}

/* ---- helpers ------------------------------------------------------------ */

static size_t ps;

/* In a child: stop with a message and exit status 1 (testutil.h). */
#define CHECK TU_CHECK

/* Run fn in a child (which sets its own alarm); fail with its messages
 * unless it exits 0. */
static void run_child(void (*fn)(void *), const char *what)
{
	struct tu_child c;

	assert_int_equal(tu_run_in_child(fn, NULL, &c), 0);
	tu_assert_child_ok(&c, what);
}

static dpemu_pool *new_pool(size_t frames)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	CHECK(dpemu_pool_create(&cfg, &pool) == 0, "pool");
	return pool;
}

static dpemu_space *new_space(dpemu_pool *pool, size_t pages)
{
	struct dpemu_space_config cfg = tu_space_config(pages * ps);
	dpemu_space *s = NULL;

	CHECK(dpemu_space_create(pool, &cfg, &s) == 0, "space");
	return s;
}

/* The pool has every frame free and no space: destroy it. */
static void pool_done(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	CHECK(dpemu_pool_stats(pool, &st) == 0, "pool stats");
	CHECK(st.spaces == 0, "%llu spaces left", (unsigned long long)st.spaces);
	CHECK(st.frames_free == st.frames_total, "%llu of %llu frames free",
	      (unsigned long long)st.frames_free, (unsigned long long)st.frames_total);
	CHECK(dpemu_pool_destroy(pool) == 0, "pool destroy");
}

static unsigned long long pool_spaces(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	CHECK(dpemu_pool_stats(pool, &st) == 0, "pool stats");
	return st.spaces;
}

/* A temporary file of pages pages, page i filled with byte 'a' + i. */
static int make_file(size_t pages)
{
	unsigned char *data = malloc(pages * ps);
	char path[64];
	int fd;

	CHECK(data != NULL, "malloc");
	for (size_t i = 0; i < pages; i++)
		memset(data + i * ps, 'a' + (int)i, ps);
	fd = tu_temp_file(data, pages * ps, path);
	CHECK(fd >= 0, "temp file");
	unlink(path);
	free(data);
	return fd;
}

/* Byte 0 of file page i. */
static unsigned char file_byte(int fd, size_t i)
{
	unsigned char b = 0;

	CHECK(tu_pread_all(fd, &b, 1, (off_t)(i * ps)) == 0, "pread");
	return b;
}

/* ---- destroy: a failed write-back destroys nothing --------------------- */

/*
 * A shared file mapping with two dirty pages; destroy with the write-back
 * failing through call `k` (pwrite or fdatasync): -EIO with a message,
 * nothing destroyed - the pool still counts the space, its pages still
 * read back as written and are still dirty - and, once the host works
 * again, destroy succeeds and the file has the data.
 */
static void writeback_fails(enum inject_call k)
{
	const size_t pages = 4;
	dpemu_pool *pool = new_pool(16);
	dpemu_space *s = new_space(pool, 16);
	int fd = make_file(pages);
	struct dpemu_page_info info;
	unsigned char *p = NULL;
	int rc;

	alarm(20);
	CHECK(dpemu_map(s, NULL, pages * ps, RW, DPEMU_MAP_SHARED, fd, 0, (void **)&p) == 0, "map");
	p[0] = 'X';
	p[2 * ps] = 'Y';
	(void)*(volatile unsigned char *)(p + ps); /* present, clean */

	inject_arm(k, EIO, 0, 0);
	rc = dpemu_space_destroy(s);
	inject_off();
	CHECK(rc == -EIO, "destroy with a failing write-back returned %d", rc);
	CHECK(atomic_load(&inj[k].seen) > 0, "the write-back was not tried");
	CHECK(strstr(dpemu_last_error(), "nothing was destroyed") != NULL,
	      "the message says what became of the space: %s", dpemu_last_error());

	/* Nothing destroyed: the space works, its pages still dirty. */
	CHECK(pool_spaces(pool) == 1, "the pool no longer counts the space");
	CHECK(p[0] == 'X' && p[2 * ps] == 'Y' && p[ps] == 'b' && p[3 * ps] == 'd',
	      "the pages read back wrong");
	CHECK(dpemu_query(s, p, &info) == 0 && info.present && info.dirty, "page 0 not dirty");
	CHECK(dpemu_query(s, p + 2 * ps, &info) == 0 && info.present && info.dirty,
	      "page 2 not dirty");
	p[3 * ps] = 'Z'; /* still writable */

	/* The retry writes everything back. */
	CHECK(dpemu_space_destroy(s) == 0, "destroy retried");
	CHECK(file_byte(fd, 0) == 'X' && file_byte(fd, 1) == 'b' && file_byte(fd, 2) == 'Y' &&
	      file_byte(fd, 3) == 'Z', "the file lost data: %c %c %c %c", file_byte(fd, 0),
	      file_byte(fd, 1), file_byte(fd, 2), file_byte(fd, 3));
	close(fd);
	pool_done(pool);
}

static void pwrite_child(void *unused)
{
	(void)unused;
	writeback_fails(INJ_PWRITE);
}

static void fdatasync_child(void *unused)
{
	(void)unused;
	writeback_fails(INJ_FDATASYNC);
}

static void test_destroy_pwrite_fails(void **state)
{
	(void)state;
	run_child(pwrite_child, "destroy with a failing pwrite");
}

static void test_destroy_fdatasync_fails(void **state)
{
	(void)state;
	run_child(fdatasync_child, "destroy with a failing fdatasync");
}

/* The way out when the file cannot take the data: dpemu_unmap drops the
 * pages (and says so), and destroy then succeeds. */
static void unmap_then_destroy_child(void *unused)
{
	dpemu_pool *pool = new_pool(8);
	dpemu_space *s = new_space(pool, 8);
	int fd = make_file(2);
	unsigned char *p = NULL;

	(void)unused;
	alarm(20);
	CHECK(dpemu_map(s, NULL, 2 * ps, RW, DPEMU_MAP_SHARED, fd, 0, (void **)&p) == 0, "map");
	p[ps] = 'Q';
	inject_arm(INJ_PWRITE, EIO, 0, 0);
	CHECK(dpemu_space_destroy(s) == -EIO, "destroy");
	CHECK(dpemu_unmap(s, p, 2 * ps) == -EIO, "unmap");
	CHECK(dpemu_space_destroy(s) == 0, "destroy after the unmap");
	inject_off();
	CHECK(file_byte(fd, 1) == 'b', "the file changed");
	close(fd);
	pool_done(pool);
}

static void test_destroy_after_unmap(void **state)
{
	(void)state;
	run_child(unmap_then_destroy_child, "unmap, then destroy");
}

/* ---- destroy: failed hides do not matter -------------------------------- */

/* Every host call that could hide a page fails (but munmap, which
 * destroy uses for the whole arena). */
static void hides_fail(void)
{
	inject_arm(INJ_MMAP, ENOMEM, 0, 0);
	inject_arm(INJ_MPROTECT, ENOMEM, 0, 0);
	inject_arm(INJ_MADVISE, ENOMEM, 0, 0);
	inject_arm(INJ_IOCTL, ENOMEM, 0, 0);
}

/*
 * Anonymous pages, a clean shared file page, and a forked child whose
 * copy-on-write copies are aliases (frames not the identity frame of
 * their page): destroyed while every hide would fail, both spaces return
 * 0 and every frame goes back to the pool - which then serves a new space
 * with the right data.
 */
static void hide_fails_child(void *unused)
{
	const size_t pages = 8;
	dpemu_pool *pool = new_pool(32);
	dpemu_space *s = new_space(pool, 32), *c = NULL;
	int fd = make_file(2);
	unsigned char *p = NULL, *f = NULL;
	int rc;

	(void)unused;
	alarm(20);
	CHECK(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, (void **)&p) == 0, "map");
	CHECK(dpemu_map(s, NULL, 2 * ps, RW, DPEMU_MAP_SHARED, fd, 0, (void **)&f) == 0, "map file");
	for (size_t i = 0; i < pages; i++)
		p[i * ps] = (unsigned char)(i + 1);
	CHECK(f[0] == 'a', "file page");
	CHECK(dpemu_space_fork(s, &c) == 0, "fork");
	unsigned char *cp = p - (unsigned char *)dpemu_space_base(s) +
	                    (unsigned char *)dpemu_space_base(c);
	for (size_t i = 0; i < pages; i += 2)
		cp[i * ps] = (unsigned char)(100 + i); /* copies */
	CHECK(cp[ps] == 2, "child reads the shared frame");

	hides_fail();
	rc = dpemu_space_destroy(c);
	CHECK(rc == 0, "destroy of the child with failing hides returned %d", rc);
	rc = dpemu_space_destroy(s);
	CHECK(rc == 0, "destroy of the parent with failing hides returned %d", rc);
	inject_off();
	CHECK(file_byte(fd, 0) == 'a', "file");
	close(fd);

	/* Every frame is back, and they serve a new space. */
	struct dpemu_pool_stats st;
	CHECK(dpemu_pool_stats(pool, &st) == 0 && st.frames_free == st.frames_total,
	      "%llu of %llu frames free after the destroys", (unsigned long long)st.frames_free,
	      (unsigned long long)st.frames_total);
	s = new_space(pool, 64);
	CHECK(dpemu_map(s, NULL, 32 * ps, RW, ANON_PRIVATE, -1, 0, (void **)&p) == 0, "map");
	for (size_t i = 0; i < 32; i++)
		CHECK(p[i * ps + 7] == 0, "page %zu of a new mapping is not zero", i);
	for (size_t i = 0; i < 32; i++)
		p[i * ps] = (unsigned char)(200 + i);
	for (size_t i = 0; i < 32; i++)
		CHECK(p[i * ps] == (unsigned char)(200 + i), "page %zu", i);
	CHECK(dpemu_space_destroy(s) == 0, "destroy");
	pool_done(pool);
}

static void test_destroy_hide_fails(void **state)
{
	(void)state;
	run_child(hide_fails_child, "destroy with failing hides");
}

/* ---- fork: a failed write-protection changes nothing -------------------- */

/*
 * The parent's private pages are present and writable; a fork whose
 * write-protection of them fails (every short mprotect and every
 * UFFDIO_WRITEPROTECT) must fail with a message and leave the parent as
 * it was.  Then a fork that works must make them copy-on-write again: the
 * parent's later writes must not show in the child.
 */
static void fork_wp_fails_child(void *unused)
{
	const size_t pages = 4;
	dpemu_pool *pool = new_pool(32);
	dpemu_space *s = new_space(pool, 64), *c = NULL;
	struct dpemu_page_info info;
	unsigned char *p = NULL;
	int rc;

	(void)unused;
	alarm(20);
	CHECK(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, (void **)&p) == 0, "map");
	for (size_t i = 0; i < pages; i++)
		p[i * ps] = (unsigned char)(i + 1);

	/* (short calls only: a userfaultfd child's arena is opened with one
	 * mprotect of the whole arena, which must work) */
	inject_arm(INJ_MPROTECT, ENOMEM, pages * ps, 0);
	inject_arm(INJ_IOCTL, ENOMEM, 0, UFFDIO_WRITEPROTECT);
	rc = dpemu_space_fork(s, &c);
	int seen = atomic_load(&inj[INJ_MPROTECT].seen) + atomic_load(&inj[INJ_IOCTL].seen);
	inject_off();
	CHECK(seen > 0, "the fork did not write-protect anything");
	CHECK(rc < 0 && c == NULL, "fork with a failing write-protection returned %d", rc);
	CHECK(dpemu_last_error()[0] != '\0', "no message");
	CHECK(pool_spaces(pool) == 1, "the failed fork left a space");
	CHECK(dpemu_query(s, p, &info) == 0 && info.present, "page 0");
	/* (info.cow is checked at the end: first, what a reader sees) */

	/* The parent works as before. */
	for (size_t i = 0; i < pages; i++)
		CHECK(p[i * ps] == (unsigned char)(i + 1), "page %zu", i);
	p[0] = 50;
	p[ps] = 51;

	/* A fork that works shares the frames copy-on-write. */
	CHECK(dpemu_space_fork(s, &c) == 0, "fork");
	unsigned char *cp = p - (unsigned char *)dpemu_space_base(s) +
	                    (unsigned char *)dpemu_space_base(c);
	for (size_t i = 0; i < pages; i++)
		p[i * ps + 1] = 0xee; /* the parent writes every page */
	CHECK(cp[0] == 50 && cp[ps] == 51 && cp[2 * ps] == 3 && cp[3 * ps] == 4,
	      "the child's pages changed: %u %u %u %u", cp[0], cp[ps], cp[2 * ps], cp[3 * ps]);
	for (size_t i = 0; i < pages; i++)
		CHECK(cp[i * ps + 1] == 0, "the parent's write to page %zu shows in the child", i);
	CHECK(!info.cow && info.frame_refs == 1, "the failed fork left page 0 copy-on-write "
	      "(cow %d, refs %u)", info.cow, info.frame_refs);
	CHECK(dpemu_space_destroy(c) == 0, "destroy child");
	CHECK(dpemu_space_destroy(s) == 0, "destroy parent");
	pool_done(pool);
}

static void test_fork_wp_fails(void **state)
{
	(void)state;
	run_child(fork_wp_fails_child, "fork with a failing write-protection");
}

/* ---- fork: the evictor sees the child's pages from the start ------------- */

static struct {
	dpemu_space *other;  /* a space of the same pool                  */
	unsigned char *page; /* its page, not yet touched                  */
	pthread_t thread;
	int started;
	int kind;            /* what the other thread's access met         */
	char why[256];
} ev;

/* The other thread: write the other space's page, which needs a frame
 * from a full pool, so an eviction. */
static void *evicting_thread(void *unused)
{
	struct dpemu_fault f;
	struct tu_access a = { ev.page, 1, 0x5a, 0 };

	(void)unused;
	memset(&f, 0, sizeof f);
	if (dpemu_catch(tu_do_access, &a, &f) != 0) {
		ev.kind = (int)f.kind;
		snprintf(ev.why, sizeof ev.why, "error %d", f.error);
	}
	return NULL;
}

/* Called inside dpemu_space_fork, at its write-protection of the parent's
 * pages (every page is copied to the child by then): start the evicting
 * thread, and give it the time to reach the evictor, which waits for the
 * locks the fork holds. */
static void start_evicting(void)
{
	ev.started = pthread_create(&ev.thread, NULL, evicting_thread, NULL) == 0;
	usleep(300 * 1000);
}

/*
 * A full pool with a policy; a fork of a space that holds every frame;
 * while the fork runs, another thread needs a frame.  Every resident frame
 * is then shared by the parent and the child being made: the evictor must
 * see the child's pages as well as the parent's, or no frame ever becomes
 * free and the access fails as out of frames although the pool could
 * evict.
 */
static void fork_evict_child(void *unused)
{
	const size_t pages = 8;
	struct dpemu_pool_config cfg = tu_pool_config(pages, 0);
	dpemu_pool *pool = NULL;
	unsigned char *p = NULL;
	dpemu_space *s, *c = NULL;

	(void)unused;
	alarm(30);
	cfg.policy = DPEMU_POLICY_FIFO;
	CHECK(dpemu_pool_create(&cfg, &pool) == 0, "pool");
	s = new_space(pool, 64);
	ev.other = new_space(pool, 64);
	CHECK(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, (void **)&p) == 0, "map");
	CHECK(dpemu_map(ev.other, NULL, ps, RW, ANON_PRIVATE, -1, 0, (void **)&ev.page) == 0,
	      "map other");
	for (size_t i = 0; i < pages; i++)
		p[i * ps] = (unsigned char)(i + 1);

	hook = start_evicting;
	hook_maxlen = pages * ps;
	atomic_store(&hook_armed, 1);
	CHECK(dpemu_space_fork(s, &c) == 0, "fork");
	atomic_store(&hook_armed, 0);
	CHECK(ev.started, "the fork made no write-protection call to hook (or no thread)");
	pthread_join(ev.thread, NULL);
	CHECK(ev.kind == 0, "the access during the fork failed: %s (%s)",
	      dpemu_fault_kind_name((enum dpemu_fault_kind)ev.kind), ev.why);
	CHECK(ev.page[0] == 0x5a, "the other page");

	unsigned char *cp = p - (unsigned char *)dpemu_space_base(s) +
	                    (unsigned char *)dpemu_space_base(c);
	for (size_t i = 0; i < pages; i++) {
		CHECK(p[i * ps] == (unsigned char)(i + 1), "parent page %zu", i);
		CHECK(cp[i * ps] == (unsigned char)(i + 1), "child page %zu", i);
	}
	CHECK(dpemu_space_destroy(c) == 0, "destroy child");
	CHECK(dpemu_space_destroy(ev.other) == 0, "destroy other");
	CHECK(dpemu_space_destroy(s) == 0, "destroy parent");
	CHECK(dpemu_pool_destroy(pool) == 0, "pool destroy");
}

static void test_fork_evict_sees_child(void **state)
{
	(void)state;
	run_child(fork_evict_child, "an eviction during dpemu_space_fork");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destroy_pwrite_fails),
		cmocka_unit_test(test_destroy_fdatasync_fails),
		cmocka_unit_test(test_destroy_after_unmap),
		cmocka_unit_test(test_destroy_hide_fails),
		cmocka_unit_test(test_fork_wp_fails),
		cmocka_unit_test(test_fork_evict_sees_child),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
