/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_inject.c - host-failure injection: every host call that libdpemu's
 * fault, eviction, swap and map paths make can be made to fail, one at a
 * time, and each failure must end in a documented error or fault kind,
 * with no lost byte, no leaked frame, slot, fd or mapping, and a library
 * that still works.
 *
 * How: this program takes over mmap, munmap, mprotect, madvise, ioctl,
 * pread, pwrite, fallocate, ftruncate, memfd_create, fdatasync and fsync
 * (interpose.h: the library's calls bind to them, and each forwards to
 * the system call with syscall(2)); its tu_host_hook decides.  A call is
 * counted only while injection is armed and only when it comes from
 * libdpemu itself (its return address lies in libdpemu.so's code:
 * malloc's, cmocka's and this program's own calls are left alone).  With
 * inj.fail_at = N the Nth counted call (of kind inj.only_kind, or of any
 * kind) fails with a plausible errno instead of being made.
 *
 * The sweep: each scenario runs once in a forked child to count its calls
 * C, then once per N in 1..C, each in a forked child under alarm(2), so
 * that a hang or a crash is a test failure, not a suite hang.  A child
 * checks every public call (0, or a negative errno with a message) and
 * every access (none, or a fault of kind HOST with a negative error or
 * OUT_OF_FRAMES, and only when the injection fired during that step), then
 * retries what failed (it must succeed now), compares every byte with its
 * model, destroys everything and checks that the pool has every frame and
 * slot free and that no fd and no mapping is left.
 *
 * A statically linked build (./configure --disable-shared) has no
 * libdpemu.so to tell the library's calls from the others: the program
 * skips (exit 77).
 *
 * Environment, to narrow a run while debugging:
 *   DPEMU_INJECT_SCENARIO=name  only that scenario (see scenarios[])
 *   DPEMU_INJECT_KIND=mprotect  fail only calls of that kind (N counts them)
 *   DPEMU_INJECT_N=n            only that N
 *   DPEMU_INJECT_VERBOSE=1      print every N's outcome
 *
 * Failures the sweep finds that are known defects (fixed elsewhere) are
 * listed in known_failures[]: they are reported but do not fail the test.
 */
#include "testutil.h"

#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "interpose.h"

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)
#define ANON_SHARED (DPEMU_MAP_SHARED | DPEMU_MAP_ANONYMOUS)

/* ------------------------------------------------------------------------ */
/* The interposed host calls (interpose.h)                                   */
/* ------------------------------------------------------------------------ */

enum kind {
	K_MMAP, K_MUNMAP, K_MPROTECT, K_MADVISE, K_IOCTL, K_PREAD, K_PWRITE,
	K_FALLOCATE, K_FTRUNCATE, K_MEMFD, K_FSYNC, K_N, K_ANY = -1
};

static const char *const kind_names[K_N] = {
	"mmap", "munmap", "mprotect", "madvise", "ioctl", "pread", "pwrite",
	"fallocate", "ftruncate", "memfd_create", "fsync",
};

/* The errno an injected failure of each kind gets. */
static const int kind_errno[K_N] = {
	ENOMEM, ENOMEM, ENOMEM, ENOMEM, ENOMEM, EIO, EIO,
	ENOSPC, ENOMEM, EMFILE, EIO,
};

/*
 * The injection state.  It lives in a MAP_SHARED page so that a forked
 * child's counts and its record of the failed call reach the parent even
 * when the child dies.  Written from the fault path and from the
 * userfaultfd handler thread: atomics only.
 */
#define MAX_SITES 4096

struct inj {
	int armed;            /* count (and fail) libdpemu's calls now         */
	int only_kind;        /* K_ANY, or count only this kind                */
	long fail_at;         /* 0: fail nothing; N: the Nth counted call fails */
	long seen;            /* calls counted                                 */
	long by_kind[K_N];    /* calls seen while armed, per kind              */
	int fired;            /* the failure was injected                      */
	int fired_kind;       /* ... into a call of this kind                  */
	uintptr_t fired_at;   /* ... made from libdpemu.so + this offset        */
	uintptr_t unmap_lo, unmap_hi; /* a failed munmap's range            */
	char step[96];        /* what the child was doing (for hangs)          */
	uint32_t site[MAX_SITES]; /* the count run: where each counted call
	                             was made from (libdpemu.so offset)        */
};

static struct inj *inj;

/* libdpemu.so's executable segments (found by find_library). */
static struct {
	uintptr_t lo, hi;
} lib_text[4];
static int lib_ntext;
static uintptr_t lib_base;

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libdpemu") == NULL)
		return 0;
	lib_base = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum && lib_ntext < 4; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			lib_text[lib_ntext].lo = info->dlpi_addr + ph->p_vaddr;
			lib_text[lib_ntext].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			lib_ntext++;
		}
	}
	return 1;
}

/*
 * Find libdpemu.so's code.  Returns 0, or -1 when dpemu is linked into
 * this executable (dladdr of a dpemu function names no libdpemu).
 */
static int find_library(void)
{
	Dl_info di;

	if (dladdr((void *)dpemu_version, &di) == 0 || di.dli_fname == NULL ||
	    strstr(di.dli_fname, "libdpemu") == NULL)
		return -1;
	dl_iterate_phdr(phdr_cb, NULL);
	return lib_ntext > 0 ? 0 : -1;
}

/* Whether return address ra is in libdpemu's code (async-signal-safe). */
static int from_dpemu(void *ra)
{
	uintptr_t a = (uintptr_t)ra;

	for (int i = 0; i < lib_ntext; i++)
		if (a >= lib_text[i].lo && a < lib_text[i].hi)
			return 1;
	return 0;
}

/*
 * Whether the call of kind k made from ra must fail: counts it when armed
 * and made by libdpemu.  On 1, errno is set and the caller returns failure.
 */
static int inject(enum kind k, void *ra)
{
	long n;

	if (inj == NULL || !__atomic_load_n(&inj->armed, __ATOMIC_SEQ_CST) || !from_dpemu(ra))
		return 0;
	__atomic_add_fetch(&inj->by_kind[k], 1, __ATOMIC_SEQ_CST);
	if (inj->only_kind != K_ANY && inj->only_kind != (int)k)
		return 0;
	n = __atomic_add_fetch(&inj->seen, 1, __ATOMIC_SEQ_CST);
	if (n <= MAX_SITES)
		inj->site[n - 1] = (uint32_t)((uintptr_t)ra - lib_base);
	if (n != inj->fail_at)
		return 0;
	inj->fired_kind = k;
	inj->fired_at = (uintptr_t)ra - lib_base;
	__atomic_store_n(&inj->fired, 1, __ATOMIC_SEQ_CST);
	errno = kind_errno[k];
	return 1;
}

/*
 * The interposed calls (interpose.h) ask here: each is counted, and may
 * fail, as its kind.  fdatasync and fsync are one kind; a failed munmap
 * records its range.
 */
static int tu_host_hook(enum tu_host_call call, const struct tu_host_args *a)
{
	static const enum kind kind_of[] = {
		[TU_MMAP] = K_MMAP, [TU_MUNMAP] = K_MUNMAP, [TU_MPROTECT] = K_MPROTECT,
		[TU_MADVISE] = K_MADVISE, [TU_IOCTL] = K_IOCTL, [TU_PREAD] = K_PREAD,
		[TU_PWRITE] = K_PWRITE, [TU_FALLOCATE] = K_FALLOCATE,
		[TU_FTRUNCATE] = K_FTRUNCATE, [TU_MEMFD_CREATE] = K_MEMFD,
		[TU_FDATASYNC] = K_FSYNC, [TU_FSYNC] = K_FSYNC,
	};

	if (!inject(kind_of[call], a->ra))
		return 0;
	if (call == TU_MUNMAP) {
		inj->unmap_lo = (uintptr_t)a->addr;
		inj->unmap_hi = (uintptr_t)a->addr + a->len;
	}
	return -1;
}

static void arm(void)
{
	__atomic_store_n(&inj->armed, 1, __ATOMIC_SEQ_CST);
}

static void disarm(void)
{
	__atomic_store_n(&inj->armed, 0, __ATOMIC_SEQ_CST);
}

static int fired(void)
{
	return __atomic_load_n(&inj->fired, __ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------------ */
/* Checks inside a child                                                     */
/* ------------------------------------------------------------------------ */

/*
 * A child reports a broken promise with die(): one "FAIL: " line on stderr
 * (which the parent matches against known_failures[]), then exit 1.
 */
static const char *cur_step = "setup";

/* Say what the child does now (also to the parent, should it hang). */
static void set_step(const char *what)
{
	cur_step = what;
	snprintf(inj->step, sizeof inj->step, "%s", what);
}

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	dprintf(STDERR_FILENO, "FAIL: [%s] %s\n", cur_step, buf);
	_exit(1);
}

static size_t ps;

/*
 * Check the result rc of a public call.  0: fine.  Negative: it must have
 * come from the injected failure, during this call (fired changed), with
 * a message.  Returns 1 when the call must be retried.
 */
static int api_failed(int rc, int fired_before, const char *what)
{
	if (rc == 0)
		return 0;
	if (rc > 0)
		die("%s returned %d", what, rc);
	if (fired_before || !fired())
		die("%s returned %d (%s) without an injected failure: %s", what, rc,
		    dpemu_strerror(rc), dpemu_last_error());
	if (dpemu_last_error()[0] == '\0')
		die("%s returned %d with no dpemu_last_error message", what, rc);
	return 1;
}

/* Run a public call; if the injected failure made it fail, run it again
 * (disarmed): it must succeed then.  Evaluates to the first result. */
#define API(call)                                                            \
	({                                                                   \
		int fb_ = fired();                                           \
		set_step(#call);                                            \
		int rc_ = (call);                                            \
		if (api_failed(rc_, fb_, #call)) {                           \
			disarm();                                            \
			int rc2_ = (call);                                   \
			if (rc2_ != 0)                                       \
				die("%s failed again after the injected "    \
				    "failure: %d (%s) %s", #call, rc2_,      \
				    dpemu_strerror(rc2_), dpemu_last_error()); \
			arm();                                               \
		}                                                            \
		rc_;                                                         \
	})

/* A run of bytes copied into (write) or compared with (read) the arena. */
struct xfer {
	volatile unsigned char *p;
	const unsigned char *src; /* write: copy from here */
	unsigned char *dst;       /* read: copy to here    */
	size_t len;
};

static void do_xfer(void *arg)
{
	struct xfer *x = arg;

	if (x->src)
		for (size_t i = 0; i < x->len; i++)
			x->p[i] = x->src[i];
	else
		for (size_t i = 0; i < x->len; i++)
			x->dst[i] = x->p[i];
}

static const char *fault_desc(const struct dpemu_fault *f)
{
	static char buf[160];

	snprintf(buf, sizeof buf, "%s fault at %p (error %d %s)",
	         dpemu_fault_kind_name(f->kind), f->addr, f->error,
	         f->error ? dpemu_strerror(f->error) : "");
	return buf;
}

/*
 * Access [p, p+len) (copy src in, or copy out to dst) under dpemu_catch.
 * A fault is acceptable only if the injection fired during this access and
 * it is HOST with a negative error or OUT_OF_FRAMES; then the access is
 * done again, disarmed, and must succeed.
 */
static void xfer(void *p, const void *src, void *dst, size_t len, const char *what)
{
	struct xfer x = { p, src, dst, len };
	struct dpemu_fault f;
	int fb = fired();

	set_step(what);
	if (dpemu_catch(do_xfer, &x, &f) == 0)
		return;
	if (fb || !fired())
		die("%s: %s without an injected failure", what, fault_desc(&f));
	if (!((f.kind == DPEMU_FAULT_HOST && f.error < 0) || f.kind == DPEMU_FAULT_OUT_OF_FRAMES))
		die("%s: injected failure reported as %s", what, fault_desc(&f));
	disarm();
	if (dpemu_catch(do_xfer, &x, &f) != 0)
		die("%s: retry after the injected failure: %s", what, fault_desc(&f));
	arm();
}

/* Fill page i of a region with the pattern of generation gen. */
static void pattern(unsigned char *buf, size_t i, unsigned gen)
{
	for (size_t b = 0; b < ps; b++)
		buf[b] = (unsigned char)((b * 7) ^ (i * 31) ^ (gen * 101) ^ (b >> 8));
}

/* A region of the arena and its model: what every byte must read. */
struct region {
	unsigned char *addr;
	size_t pages;
	unsigned char *model;
	const char *name;
};

static void region_init(struct region *r, void *addr, size_t pages, const char *name,
                        const unsigned char *initial)
{
	r->addr = addr;
	r->pages = pages;
	r->name = name;
	r->model = malloc(pages * ps);
	if (r->model == NULL)
		die("out of memory");
	if (initial)
		memcpy(r->model, initial, pages * ps);
	else
		memset(r->model, 0, pages * ps);
}

/* Write page i of r with generation gen; the model follows. */
static void region_write(struct region *r, size_t i, unsigned gen)
{
	char what[96];

	pattern(r->model + i * ps, i, gen);
	snprintf(what, sizeof what, "write %s page %zu", r->name, i);
	xfer(r->addr + i * ps, r->model + i * ps, NULL, ps, what);
}

/* Write one byte of page i only (a small write: a copy-on-write break or
 * a dirtying write, without touching the rest). */
static void region_poke(struct region *r, size_t i, size_t off, unsigned char v)
{
	char what[96];

	r->model[i * ps + off] = v;
	snprintf(what, sizeof what, "poke %s page %zu", r->name, i);
	xfer(r->addr + i * ps + off, &r->model[i * ps + off], NULL, 1, what);
}

/* Read page i of r and compare it with the model. */
static void region_check_page(struct region *r, size_t i)
{
	unsigned char buf[65536];
	char what[96];

	snprintf(what, sizeof what, "read %s page %zu", r->name, i);
	xfer(r->addr + i * ps, NULL, buf, ps, what);
	for (size_t b = 0; b < ps; b++)
		if (buf[b] != r->model[i * ps + b])
			die("%s: byte %zu is 0x%02x, the model says 0x%02x", what, b, buf[b],
			    r->model[i * ps + b]);
}

static void region_check(struct region *r)
{
	for (size_t i = 0; i < r->pages; i++)
		region_check_page(r, i);
}

/* What a file holds now must be what model says, for pages [0, pages). */
static void file_check(int fd, const unsigned char *model, size_t pages, const char *name)
{
	unsigned char buf[65536];

	for (size_t i = 0; i < pages; i++) {
		if (tu_pread_all(fd, buf, ps, (off_t)(i * ps)) != 0)
			die("%s: cannot read page %zu back", name, i);
		for (size_t b = 0; b < ps; b++)
			if (buf[b] != model[i * ps + b])
				die("%s: file page %zu byte %zu is 0x%02x, the model says 0x%02x",
				    name, i, b, buf[b], model[i * ps + b]);
	}
}

/* The leak baseline: fds and mappings when the scenario starts. */
static int base_fds;
static char base_maps_text[32768];

static void read_maps(char *buf, size_t len)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t got = 0;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

static void baseline(void)
{
	base_fds = tu_count_dir("/proc/self/fd");
	read_maps(base_maps_text, sizeof base_maps_text);
}

/*
 * Whether a line of /proc/self/maps that was not there at the start is a
 * leak.  Not: the heap and the stack (malloc and calls grow them), and
 * what lies inside the range of an injected munmap failure: munmap(2) of
 * a whole mapping cannot fail on Linux (ENOMEM only when it would split a
 * VMA past vm.max_map_count), and dpemu's destroy functions, which have no
 * way to report it, unmap only whole mappings; so such a failure may leave
 * that mapping, and nothing else.
 */
static int is_leak(const char *line)
{
	unsigned long lo, hi;

	if (strstr(line, "[heap]") || strstr(line, "[stack]"))
		return 0;
	if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && inj->unmap_hi > inj->unmap_lo &&
	    lo < inj->unmap_hi && hi > inj->unmap_lo)
		return 0; /* (the line may be longer: a leftover merges with neighbours) */
	return 1;
}

/* The lines of /proc/self/maps that were not there at the start and are
 * leaks, printed; returns how many. */
static int new_maps(void)
{
	static char now[32768];
	char *line, *save = NULL;
	int n = 0;

	read_maps(now, sizeof now);
	for (line = strtok_r(now, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hit = strstr(base_maps_text, line);
		if ((hit == NULL || (hit != base_maps_text && hit[-1] != '\n')) && is_leak(line)) {
			dprintf(STDERR_FILENO, "new mapping: %s\n", line);
			n++;
		}
	}
	return n;
}

/* Before the pool goes: every frame free, no slot used. */
static void check_pool_empty(dpemu_pool *pool)
{
	struct dpemu_pool_stats st;

	set_step("pool empty");
	if (dpemu_pool_stats(pool, &st) != 0)
		die("dpemu_pool_stats failed");
	if (st.frames_free != st.frames_total || st.frames_used != 0)
		die("leaked frames: %llu of %llu free, %llu used after destroying every space",
		    (unsigned long long)st.frames_free, (unsigned long long)st.frames_total,
		    (unsigned long long)st.frames_used);
	if (st.swap_slots_used != 0)
		die("leaked swap slots: %llu used after destroying every space",
		    (unsigned long long)st.swap_slots_used);
	if (st.spaces != 0)
		die("the pool still counts %llu spaces", (unsigned long long)st.spaces);
}

/* After everything is destroyed: the fds and mappings of the baseline. */
static void check_no_leaks(void)
{
	int fds, maps;

	set_step("leaks");
	fds = tu_count_dir("/proc/self/fd");
	if (fds != base_fds)
		die("leaked fds: %d open, %d at the start", fds, base_fds);
	maps = new_maps();
	if (maps)
		die("leaked mappings: %d new lines in /proc/self/maps", maps);
}

/* ------------------------------------------------------------------------ */
/* Scenarios (each runs in a child, armed between arm() and disarm())        */
/* ------------------------------------------------------------------------ */

static dpemu_pool *make_pool(size_t frames, enum dpemu_policy policy)
{
	struct dpemu_pool_config cfg = tu_pool_config(frames, 0);
	dpemu_pool *pool = NULL;

	cfg.policy = policy;
	set_step("pool create");
	if (dpemu_pool_create(&cfg, &pool) != 0)
		die("dpemu_pool_create: %s", dpemu_last_error());
	return pool;
}

static dpemu_space *make_space(dpemu_pool *pool, size_t pages, size_t fa)
{
	struct dpemu_space_config cfg = tu_space_config(pages * ps);
	dpemu_space *space = NULL;

	cfg.fault_around = fa;
	set_step("space create");
	if (dpemu_space_create(pool, &cfg, &space) != 0)
		die("dpemu_space_create: %s", dpemu_last_error());
	return space;
}

/*
 * A promise broken in a way the child can carry on from (the checks after
 * it still run); reported at the end of the child unless a check fails
 * first.
 */
static char deferred[300];

/*
 * Destroy s.  dpemu_space_destroy fails only when writing back dirty
 * shared file pages fails (-EIO, or fdatasync's -EIO, -ENOSPC, -EDQUOT),
 * and then destroys nothing: the space must still be usable - its
 * pool still counts it, dpemu_space_stats answers, and the pages of
 * `still` (if not NULL: a region still mapped in s) read back as the
 * model says - and a retry, disarmed, must succeed (the caller then
 * checks the file).
 */
static void destroy_space_checked(dpemu_space *s, struct region *still)
{
	struct dpemu_stats st;
	int fb = fired();
	int rc;

	set_step("dpemu_space_destroy");
	rc = dpemu_space_destroy(s);
	if (rc == 0)
		return;
	api_failed(rc, fb, "dpemu_space_destroy");
	if (rc != -EIO && rc != -ENOSPC && rc != -EDQUOT)
		die("dpemu_space_destroy returned %d (%s), not a write-back error: %s", rc,
		    dpemu_strerror(rc), dpemu_last_error());
	disarm();
	set_step("after a failed dpemu_space_destroy");
	if (dpemu_space_stats(s, &st) != 0)
		die("dpemu_space_stats of a space whose destroy failed: %s", dpemu_last_error());
	if (still)
		region_check(still);
	set_step("dpemu_space_destroy (retried)");
	if ((rc = dpemu_space_destroy(s)) != 0)
		die("dpemu_space_destroy failed again after the injected failure: %d (%s) %s", rc,
		    dpemu_strerror(rc), dpemu_last_error());
	arm();
}

static void destroy_space(dpemu_space *s)
{
	destroy_space_checked(s, NULL);
}

static void finish(dpemu_pool *pool)
{
	disarm();
	check_pool_empty(pool);
	set_step("pool destroy");
	if (dpemu_pool_destroy(pool) != 0)
		die("dpemu_pool_destroy: %s", dpemu_last_error());
	check_no_leaks();
}

/* (1) First touch of anonymous pages: zero fill, reads of the zero frame,
 * writes, with fault_around fa. */
static void zero_fill(size_t fa)
{
	const size_t pages = 20;
	dpemu_pool *pool = make_pool(32, DPEMU_POLICY_NONE);
	dpemu_space *s = make_space(pool, 64, fa);
	struct region r;
	void *out = NULL;

	arm();
	API(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &out));
	region_init(&r, out, pages, "anon", NULL);
	for (size_t i = 0; i < pages; i += 2)
		region_write(&r, i, 1);
	for (size_t i = 1; i < pages; i += 4)
		region_check_page(&r, i); /* zero frame */
	for (size_t i = 1; i < pages; i += 4)
		region_poke(&r, i, 5, 0x77); /* away from the zero frame */
	region_check(&r);
	disarm();
	region_check(&r);
	arm();
	API(dpemu_unmap(s, out, pages * ps));
	destroy_space(s);
	finish(pool);
}

static void scen_zero_fill_1(void)
{
	zero_fill(1);
}

static void scen_zero_fill_16(void)
{
	zero_fill(16);
}

/* A temporary file of pages pages of generation gen; its fd (unlinked). */
static int make_file(size_t pages, unsigned gen, unsigned char *content)
{
	char path[64];
	int fd;

	for (size_t i = 0; i < pages; i++)
		pattern(content + i * ps, i, gen);
	fd = tu_temp_file(content, pages * ps, path);
	if (fd < 0)
		die("cannot make a temporary file");
	unlink(path);
	return fd;
}

/*
 * dpemu_unmap returned -EIO: by contract the pages are unmapped all the
 * same, so dirty page i of r may have lost its last write - but the file
 * must hold either that or what it had before (the synced page), and
 * there must be a message.
 */
static void eio_lost_page(int fd, struct region *r, size_t i, const char *what)
{
	unsigned char buf[65536];

	if (dpemu_last_error()[0] == '\0')
		die("%s: -EIO without a message", what);
	if (tu_pread_all(fd, buf, ps, (off_t)(i * ps)) != 0)
		die("%s: cannot read page %zu back", what, i);
	if (memcmp(buf, r->model + i * ps, ps) != 0) {
		/* Only the poked byte may differ: the old page. */
		for (size_t b = 0; b < ps; b++)
			if (buf[b] != r->model[i * ps + b] && b != 33)
				die("%s: -EIO, and file page %zu byte %zu is neither the old "
				    "nor the new data", what, i, b);
		memcpy(r->model + i * ps, buf, ps);
	}
}

/* (2) File-backed pages: a private and a shared mapping, reads, writes,
 * dpemu_sync, unmap (write-back) and destroy (write-back). */
static void scen_file(void)
{
	const size_t pages = 6;
	unsigned char *orig_p = malloc(pages * ps), *orig_s = malloc(pages * ps);
	dpemu_pool *pool = make_pool(16, DPEMU_POLICY_NONE);
	dpemu_space *s = make_space(pool, 32, 1);
	struct region rp, rs;
	void *op = NULL, *os = NULL;
	int fdp = make_file(pages, 2, orig_p), fds = make_file(pages, 3, orig_s);
	int rc;

	arm();
	API(dpemu_map(s, NULL, pages * ps, RW, DPEMU_MAP_PRIVATE, fdp, 0, &op));
	API(dpemu_map(s, NULL, pages * ps, RW, DPEMU_MAP_SHARED, fds, 0, &os));
	region_init(&rp, op, pages, "file-private", orig_p);
	region_init(&rs, os, pages, "file-shared", orig_s);
	for (size_t i = 0; i < pages; i += 2)
		region_check_page(&rp, i);
	region_write(&rp, 0, 4);
	region_poke(&rp, 3, 9, 0x11);
	for (size_t i = 0; i < pages; i++)
		region_check_page(&rs, i);
	region_write(&rs, 1, 5);
	region_poke(&rs, 4, 17, 0x22);
	API(dpemu_sync(s, os, pages * ps));
	disarm();
	region_check(&rp);
	region_check(&rs);
	file_check(fds, rs.model, pages, "after dpemu_sync");
	file_check(fdp, orig_p, pages, "private file after writes");
	arm();
	/* Dirty two more pages: one written back by dpemu_unmap, one by
	 * dpemu_space_destroy. */
	region_poke(&rs, 0, 33, 0x33);
	region_poke(&rs, 5, 44, 0x44);
	set_step("dpemu_unmap(shared half)");
	{
		int fb = fired();
		rc = dpemu_unmap(s, os, 3 * ps);
		if (rc == -EIO && !fb && fired())
			eio_lost_page(fds, &rs, 0, "dpemu_unmap(shared half)");
		else if (rc != 0 && api_failed(rc, fb, "dpemu_unmap(shared half)")) {
			disarm();
			if ((rc = dpemu_unmap(s, os, 3 * ps)) != 0)
				die("dpemu_unmap(shared half) failed again: %d %s", rc,
				    dpemu_last_error());
			arm();
		}
	}
	API(dpemu_unmap(s, op, pages * ps));
	{
		/* (what is still mapped: the second half of the shared file) */
		struct region tail = rs;
		tail.addr += 3 * ps;
		tail.model += 3 * ps;
		tail.pages = pages - 3;
		destroy_space_checked(s, &tail);
	}
	disarm();
	file_check(fds, rs.model, pages, "after unmap and destroy");
	file_check(fdp, orig_p, pages, "private file after destroy");
	close(fdp);
	close(fds);
	finish(pool);
}

/* (3) dpemu_space_fork: private pages shared copy-on-write, a shared
 * anonymous mapping, writes in parent and child. */
static void scen_cow_fork(void)
{
	const size_t pages = 6, shpages = 2;
	dpemu_pool *pool = make_pool(32, DPEMU_POLICY_NONE);
	dpemu_space *s = make_space(pool, 32, 1), *c = NULL;
	struct region rp, rc, sp, sc;
	void *op = NULL, *osh = NULL;

	API(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &op));
	API(dpemu_map(s, NULL, shpages * ps, RW, ANON_SHARED, -1, 0, &osh));
	region_init(&rp, op, pages, "parent-private", NULL);
	region_init(&sp, osh, shpages, "parent-shared", NULL);
	for (size_t i = 0; i < pages - 1; i++)
		region_write(&rp, i, 6); /* the last page stays lazy */
	region_write(&sp, 0, 7);

	arm();
	API(dpemu_space_fork(s, &c));
	{
		ptrdiff_t d = (unsigned char *)dpemu_space_base(c) - (unsigned char *)dpemu_space_base(s);
		region_init(&rc, rp.addr + d, pages, "child-private", rp.model);
		region_init(&sc, sp.addr + d, shpages, "child-shared", sp.model);
		sc.model = sp.model; /* one model: the mapping is shared */
	}
	region_write(&rp, 0, 8);
	region_poke(&rp, 1, 3, 0x31);
	region_write(&rc, 1, 9);
	region_poke(&rc, 2, 4, 0x42);
	region_check(&rc);
	region_check(&rp);
	region_poke(&sc, 0, 5, 0x55); /* the parent sees it */
	region_poke(&sp, 1, 6, 0x66); /* the child sees it */
	region_write(&rc, pages - 1, 10);
	disarm();
	region_check(&rp);
	region_check(&rc);
	region_check(&sp);
	region_check(&sc);
	arm();
	destroy_space(c);
	region_poke(&rp, 2, 7, 0x27); /* the last reference now */
	disarm();
	region_check(&rp);
	region_check(&sp);
	arm();
	destroy_space(s);
	finish(pool);
}

/* (4) Eviction with swap: a working set 3x the pool, written, then every
 * byte read back; dirty shared file pages written back when evicted. */
static void scen_evict(enum dpemu_policy policy)
{
	const size_t frames = 4, pages = 12, fpages = 3;
	unsigned char *orig = malloc(fpages * ps);
	dpemu_pool *pool = make_pool(frames, policy);
	dpemu_space *s = make_space(pool, 32, 1);
	struct region r, rf;
	void *out = NULL, *of = NULL;
	int fd = make_file(fpages, 11, orig);

	arm();
	API(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &out));
	API(dpemu_map(s, NULL, fpages * ps, RW, DPEMU_MAP_SHARED, fd, 0, &of));
	region_init(&r, out, pages, "anon", NULL);
	region_init(&rf, of, fpages, "file-shared", orig);
	for (size_t i = 0; i < pages; i++)
		region_write(&r, i, 12);
	region_poke(&rf, 0, 1, 0x91);
	region_check(&r);
	region_check(&rf);
	region_poke(&r, 3, 2, 0x92);
	region_poke(&rf, 2, 3, 0x93);
	region_check(&r);
	disarm();
	region_check(&r);
	region_check(&rf);
	arm();
	API(dpemu_unmap(s, out, pages * ps));
	destroy_space(s);
	disarm();
	file_check(fd, rf.model, fpages, "after eviction and destroy");
	close(fd);
	finish(pool);
}

static void scen_evict_clock(void)
{
	scen_evict(DPEMU_POLICY_CLOCK);
}

static void scen_evict_fifo(void)
{
	scen_evict(DPEMU_POLICY_FIFO);
}

/* Whether a write to p faults with a protection fault (1) or succeeds (0,
 * writing v: the model must already say v). */
static int write_protected(void *p, unsigned char v)
{
	struct xfer x = { p, &v, NULL, 1 };
	struct dpemu_fault f;

	if (dpemu_catch(do_xfer, &x, &f) == 0)
		return 0;
	if (f.kind != DPEMU_FAULT_PROTECTION)
		die("write to %p: %s, expected a protection fault or none", p, fault_desc(&f));
	return 1;
}

/*
 * dpemu_protect that must leave [p, p+n pages) with prot: when the
 * injected failure made it fail, "nothing is changed" must hold - the page
 * table still says old and a write still behaves as old says - before it
 * is retried.  r's pages [first, first+n) are the range.
 */
static void protect(dpemu_space *s, struct region *r, size_t first, size_t n, int old, int prot)
{
	unsigned char *p = r->addr + first * ps;
	int fb = fired();
	char what[96];
	int rc;

	snprintf(what, sizeof what, "dpemu_protect(%s pages %zu+%zu, %d -> %d)", r->name, first,
	         n, old, prot);
	set_step(what);
	rc = dpemu_protect(s, p, n * ps, prot);
	if (rc == 0)
		return;
	api_failed(rc, fb, what);
	disarm();
	for (size_t i = 0; i < n; i++) {
		struct dpemu_page_info q;
		unsigned char *pg = p + i * ps;
		if (dpemu_query(s, pg, &q) != 0)
			die("%s: dpemu_query failed", what);
		int wp = write_protected(pg + 1, r->model[(first + i) * ps + 1]);
		if ((q.prot & PROT_WRITE) && wp)
			die("%s failed (%d) and page %zu says PROT_WRITE but a write faults", what,
			    rc, first + i);
		if (!(q.prot & PROT_WRITE) && !wp && (q.prot & PROT_READ))
			die("%s failed (%d) and page %zu says prot %d but a write succeeds", what,
			    rc, first + i, q.prot);
		if (q.prot != old)
			die("%s failed (%d) but changed page %zu's prot to %d", what, rc,
			    first + i, q.prot);
	}
	rc = dpemu_protect(s, p, n * ps, prot);
	if (rc != 0)
		die("%s failed again after the injected failure: %d %s", what, rc,
		    dpemu_last_error());
	arm();
}

static void expect_fault(void *p, int write, enum dpemu_fault_kind kind, const char *what)
{
	unsigned char v = 0;
	struct xfer x = { p, write ? &v : NULL, write ? NULL : &v, 1 };
	struct dpemu_fault f;
	int fb = fired();

	set_step(what);
	if (dpemu_catch(do_xfer, &x, &f) == 0)
		die("%s: no fault, expected %s", what, dpemu_fault_kind_name(kind));
	if (f.kind == kind && f.addr == p)
		return;
	if (!fb && fired() && f.kind == DPEMU_FAULT_HOST && f.error < 0) {
		disarm();
		if (dpemu_catch(do_xfer, &x, &f) == 1 && f.kind == kind && f.addr == p) {
			arm();
			return;
		}
	}
	die("%s: %s, expected %s", what, fault_desc(&f), dpemu_fault_kind_name(kind));
}

/* (5) dpemu_map / dpemu_protect / dpemu_unmap sequences. */
static void scen_map_protect(void)
{
	const size_t pages = 8;
	dpemu_pool *pool = make_pool(16, DPEMU_POLICY_NONE);
	dpemu_space *s = make_space(pool, 32, 1);
	struct region r;
	void *out = NULL, *again = NULL;

	arm();
	API(dpemu_map(s, NULL, pages * ps, RW, ANON_PRIVATE, -1, 0, &out));
	region_init(&r, out, pages, "anon", NULL);
	for (size_t i = 0; i < pages; i++)
		region_poke(&r, i, 1, (unsigned char)(0xa0 + i));
	protect(s, &r, 2, 2, RW, PROT_READ);
	expect_fault(r.addr + 2 * ps + 8, 1, DPEMU_FAULT_PROTECTION, "write to read-only page 2");
	region_check_page(&r, 3);
	protect(s, &r, 2, 2, PROT_READ, RW);
	region_poke(&r, 2, 9, 0xb2);
	protect(s, &r, 6, 1, RW, PROT_NONE);
	expect_fault(r.addr + 6 * ps, 0, DPEMU_FAULT_PROTECTION, "read of PROT_NONE page 6");
	protect(s, &r, 6, 1, PROT_NONE, RW);
	region_check_page(&r, 6);
	API(dpemu_unmap(s, r.addr + 4 * ps, 2 * ps));
	expect_fault(r.addr + 4 * ps, 0, DPEMU_FAULT_UNMAPPED, "read of unmapped page 4");
	API(dpemu_map(s, r.addr + 4 * ps, 2 * ps, RW, ANON_PRIVATE | DPEMU_MAP_FIXED, -1, 0,
	              &again));
	memset(r.model + 4 * ps, 0, 2 * ps);
	region_check_page(&r, 4);
	region_poke(&r, 5, 2, 0xc5);
	disarm();
	region_check(&r);
	arm();
	API(dpemu_unmap(s, out, pages * ps));
	destroy_space(s);
	finish(pool);
}

/* (6) Pools and spaces created and destroyed: with and without a policy,
 * populated, two spaces, one page touched in each. */
static void scen_create(void)
{
	struct dpemu_pool_config cfg[3];
	dpemu_pool *pool[3] = { NULL, NULL, NULL };
	dpemu_space *s[2] = { NULL, NULL };

	cfg[0] = tu_pool_config(8, 0);
	cfg[1] = tu_pool_config(4, 0);
	cfg[1].policy = DPEMU_POLICY_LRU;
	cfg[2] = tu_pool_config(4, 0);
	cfg[2].populate = true;
	arm();
	for (int p = 0; p < 3; p++) {
		API(dpemu_pool_create(&cfg[p], &pool[p]));
		struct dpemu_space_config sc = tu_space_config(8 * ps);
		for (int i = 0; i < 2; i++) {
			struct region r;
			void *out = NULL;
			API(dpemu_space_create(pool[p], &sc, &s[i]));
			/* A space that was created must trap. */
			expect_fault(dpemu_space_base(s[i]), 0, DPEMU_FAULT_UNMAPPED,
			             "read of the unmapped arena");
			API(dpemu_map(s[i], NULL, 2 * ps, RW, ANON_PRIVATE, -1, 0, &out));
			region_init(&r, out, 2, "anon", NULL);
			region_write(&r, 0, (unsigned)(p * 2 + i));
			region_check(&r);
			free(r.model);
		}
		destroy_space(s[1]);
		destroy_space(s[0]);
		disarm();
		check_pool_empty(pool[p]);
		arm();
		API(dpemu_pool_destroy(pool[p]));
	}
	disarm();
	check_no_leaks();
}

struct scenario {
	const char *name;
	void (*fn)(void);
};

static const struct scenario scenarios[] = {
	{ "zero-fill-fa1", scen_zero_fill_1 },
	{ "zero-fill-fa16", scen_zero_fill_16 },
	{ "file", scen_file },
	{ "cow-fork", scen_cow_fork },
	{ "evict-clock", scen_evict_clock },
	{ "evict-fifo", scen_evict_fifo },
	{ "map-protect", scen_map_protect },
	{ "create", scen_create },
};

#define NSCEN (sizeof scenarios / sizeof scenarios[0])

/* ------------------------------------------------------------------------ */
/* Known failures: defects the sweep finds that are being fixed elsewhere.   */
/* ------------------------------------------------------------------------ */

struct known {
	const char *scenario; /* NULL: any                                     */
	int kind;             /* the injected call's kind, or K_ANY            */
	const char *backend;  /* DPEMU_BACKEND value, or NULL: any             */
	const char *outcome;  /* a substring of the outcome ("hang", "FAIL: ...") */
	const char *why;      /* the defect it is, for the lead                */
	int hits;
};

/*
 * Each entry names the defect (issue 11's list) or describes the new bug;
 * remove it once the fix is merged (the sweep then fails if it comes back).
 * An entry that matched nothing under a backend is listed at the end of
 * the run.
 */
static struct known known_failures[] = {
	/* (none: every failure this sweep found is fixed, each with its test) */
	{ NULL, K_ANY, NULL, NULL, NULL, 0 }, /* end */
};

/* ------------------------------------------------------------------------ */
/* The sweep (parent side)                                                   */
/* ------------------------------------------------------------------------ */

#define CHILD_TIMEOUT 3 /* seconds: a scenario takes milliseconds */

static const struct scenario *cur_scen;

/* A tiny cycle of the backend before the baseline: starts what dpemu
 * starts once per process (the userfaultfd handler thread). */
static void warm_up(void)
{
	dpemu_pool *pool = make_pool(2, DPEMU_POLICY_NONE);
	dpemu_space *s = make_space(pool, 2, 1);
	void *out = NULL;

	if (dpemu_map(s, NULL, ps, RW, ANON_PRIVATE, -1, 0, &out) != 0)
		die("warm-up map: %s", dpemu_last_error());
	*(volatile char *)out = 1;
	dpemu_space_destroy(s);
	dpemu_pool_destroy(pool);
}

static void child_main(void *arg)
{
	(void)arg;
	alarm(CHILD_TIMEOUT);
	warm_up();
	baseline();
	cur_scen->fn();
	disarm();
	if (deferred[0])
		die("%s", deferred);
}

struct outcome {
	int ok;
	char text[600];
	char err[2048]; /* the child's stderr, for the log */
};

/* Run the current scenario once with inj->fail_at = n (0: count only). */
static void run_one(long n, int only_kind, struct outcome *o)
{
	struct tu_child ch;

	memset(inj, 0, sizeof *inj);
	inj->only_kind = only_kind;
	inj->fail_at = n;
	if (tu_run_in_child(child_main, NULL, &ch) != 0)
		fail_msg("fork failed");
	o->ok = WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 0;
	snprintf(o->err, sizeof o->err, "%.2000s", ch.err);
	if (o->ok) {
		o->text[0] = '\0';
		return;
	}
	const char *line = strstr(ch.err, "FAIL: ");
	char first[400] = "";
	if (line) {
		size_t len = strcspn(line, "\n");
		snprintf(first, sizeof first, "%.*s", (int)len, line);
	} else if (ch.err_len) {
		snprintf(first, sizeof first, "stderr: %.300s", ch.err);
	}
	if (WIFSIGNALED(ch.status) && WTERMSIG(ch.status) == SIGALRM)
		snprintf(o->text, sizeof o->text, "hang (killed after %d s) in [%s] %s",
		         CHILD_TIMEOUT, inj->step, first);
	else if (WIFSIGNALED(ch.status))
		snprintf(o->text, sizeof o->text, "crash (signal %d: %s) in [%s] %s",
		         WTERMSIG(ch.status), strsignal(WTERMSIG(ch.status)), inj->step, first);
	else
		snprintf(o->text, sizeof o->text, "exit %d %s", WEXITSTATUS(ch.status), first);
}

static struct known *match_known(const char *scen, int kind, const char *text)
{
	const char *backend = getenv("DPEMU_BACKEND");

	for (struct known *k = known_failures; k->why; k++) {
		if (k->scenario && strcmp(k->scenario, scen) != 0)
			continue;
		if (k->kind != K_ANY && k->kind != kind)
			continue;
		if (k->backend && (backend == NULL || strcmp(k->backend, backend) != 0))
			continue;
		if (k->outcome && strstr(text, k->outcome) == NULL)
			continue;
		return k;
	}
	return NULL;
}

static int env_kind(void)
{
	const char *e = getenv("DPEMU_INJECT_KIND");

	if (e == NULL || *e == '\0')
		return K_ANY;
	for (int k = 0; k < K_N; k++)
		if (strcmp(e, kind_names[k]) == 0)
			return k;
	fail_msg("DPEMU_INJECT_KIND=%s: not one of the interposed calls", e);
	return K_ANY;
}

static long total_points, total_known, total_skipped;

/*
 * A known failure that hangs costs CHILD_TIMEOUT seconds; once one call
 * site (a libdpemu.so offset) has hung HANG_REPEAT time(s) as a known
 * failure in a scenario, its later N are skipped (and counted as such).
 */
#define HANG_REPEAT 1

static uint32_t count_sites[MAX_SITES];

/* Sweep one scenario: count, then fail each call in turn. */
static int sweep(const struct scenario *sc)
{
	const char *only_n = getenv("DPEMU_INJECT_N");
	int verbose = getenv("DPEMU_INJECT_VERBOSE") != NULL;
	int only_kind = env_kind();
	long by_kind[K_N], calls;
	struct outcome o;
	char counts[400] = "";
	size_t used = 0;
	int failures = 0;

	cur_scen = sc;
	run_one(0, only_kind, &o);
	if (!o.ok) {
		print_message("FAIL %s: without injection: %s\n%s", sc->name, o.text, o.err);
		return 1;
	}
	calls = inj->seen;
	memcpy(by_kind, inj->by_kind, sizeof by_kind);
	memcpy(count_sites, inj->site, sizeof count_sites);
	uint32_t hang_site[16];
	int hang_hits[16], nhang = 0;
	long skipped = 0;
	for (int k = 0; k < K_N; k++)
		if (by_kind[k])
			used += (size_t)snprintf(counts + used, sizeof counts - used, " %s %ld",
			                         kind_names[k], by_kind[k]);
	if (only_kind == K_ANY)
		print_message("%-15s %ld host calls:%s (N 1..%ld)\n", sc->name, calls, counts,
		              calls);
	else
		print_message("%-15s %ld %s calls (of all:%s) (N 1..%ld)\n", sc->name, calls,
		              kind_names[only_kind], counts, calls);
	for (long n = 1; n <= calls; n++) {
		if (only_n && atol(only_n) != n)
			continue;
		int skip = 0;
		for (int h = 0; h < nhang && n <= MAX_SITES; h++)
			if (hang_site[h] == count_sites[n - 1] && hang_hits[h] >= HANG_REPEAT)
				skip = 1;
		if (skip) {
			skipped++;
			continue;
		}
		run_one(n, only_kind, &o);
		total_points++;
		int kind = inj->fired ? inj->fired_kind : K_ANY;
		const char *kname = kind == K_ANY ? "(none)" : kind_names[kind];
		if (!inj->fired && o.ok) {
			/* Fewer calls this time: the run differed, say so. */
			print_message("FAIL %s N=%ld: the %ldth call was never made\n", sc->name, n, n);
			failures++;
			continue;
		}
		if (o.ok) {
			if (verbose)
				print_message("  ok %s N=%ld %s at libdpemu+0x%lx\n", sc->name, n, kname,
				              (unsigned long)inj->fired_at);
			continue;
		}
		struct known *k = match_known(sc->name, kind, o.text);
		if (k) {
			k->hits++;
			total_known++;
			if (strncmp(o.text, "hang", 4) == 0) {
				int h;
				for (h = 0; h < nhang && hang_site[h] != (uint32_t)inj->fired_at; h++)
					;
				if (h == nhang && nhang < 16) {
					hang_site[nhang] = (uint32_t)inj->fired_at;
					hang_hits[nhang++] = 0;
				}
				if (h < 16)
					hang_hits[h]++;
			}
			print_message("KNOWN %s N=%ld %s at libdpemu+0x%lx: %s [%s]\n", sc->name, n,
			              kname, (unsigned long)inj->fired_at, o.text, k->why);
			continue;
		}
		print_message("FAIL %s N=%ld %s at libdpemu+0x%lx: %s\n", sc->name, n, kname,
		              (unsigned long)inj->fired_at, o.text);
		if (verbose)
			print_message("%s", o.err);
		failures++;
	}
	if (skipped)
		print_message("%-15s %ld N skipped: their call site hung %d time(s) already "
		              "(a known failure)\n", sc->name, skipped, HANG_REPEAT);
	total_skipped += skipped;
	return failures;
}

static void test_sweep(void **state)
{
	const char *only = getenv("DPEMU_INJECT_SCENARIO");
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < NSCEN; i++) {
		if (only && strcmp(only, scenarios[i].name) != 0)
			continue;
		failures += sweep(&scenarios[i]);
	}
	print_message("%ld injection points swept (%ld more skipped), %ld known failures, "
	              "%d new failures\n", total_points, total_skipped, total_known, failures);
	for (struct known *k = known_failures; k->why; k++)
		if (k->hits == 0)
			print_message("known failure not seen under this backend: %s\n", k->why);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
	};

	ps = tu_host_page();
	if (find_library() != 0) {
		printf("SKIP: dpemu is linked statically into this program: the injection "
		       "cannot tell libdpemu's host calls from the others (needs libdpemu.so)\n");
		return 77;
	}
	inj = (void *)syscall(SYS_mmap, NULL, sizeof *inj, PROT_READ | PROT_WRITE,
	                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (inj == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
