/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_trace.c - the event trace (dpemu_trace_start, dpemu_trace_stop,
 * DPEMU_TRACE, dpemu-trace(5); issue 14).  Every trace is read back and
 * parsed here, as dpemu-trace(5) tells a reader to.
 *
 * What is checked (never a time: only counts, fields and order):
 *  - a workload of known faults, maps, unmaps, evictions, swap-outs, a
 *    fork and destroys gives exactly those records, with sane fields (the
 *    header, space ids, addresses, frames, slots, access, outcome, threads,
 *    each thread's records in time order), and its fault records agree
 *    with dpemu_space_stats and dpemu_space_latency_kind;
 *  - errors: NULL arguments, starting twice (-EBUSY), stopping an untraced
 *    pool (-EINVAL), a path that cannot be opened (its errno and a message
 *    naming it), a bad DPEMU_TRACE_RING, a pool inherited through fork(2)
 *    (-EPERM; its copy of the trace is dropped, the parent's file intact);
 *  - DPEMU_TRACE in a forked child (PATH, PATH.1 for the second pool, %p)
 *    and in an exec'd program; a DPEMU_TRACE that cannot be opened fails
 *    dpemu_pool_create with a message naming it;
 *  - a ring too small (DPEMU_TRACE_RING=4) drops events, and LOST records
 *    count every one of them;
 *  - 4 threads faulting while the trace is started and stopped over and
 *    over: every file well formed, and a last trace exact;
 *  - exact sequences of (event, space, page) for scripted accesses under
 *    the backend of the run: a zero-fill, a file read, a fork and a
 *    copy-on-write copy, an eviction with its swap-out, the swap-in that
 *    follows (and the clean page it evicts), a protection fault;
 *  - 8 threads faulting: a ring larger than the trace loses nothing (every
 *    fault on its thread, every page once), a ring of 4 records loses, and
 *    its LOST records count every event lost;
 *  - the format round-trips through `dpemu trace export --csv` ($DPEMU):
 *    each CSV line parsed back equals its binary record, field by field.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <cmocka.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIVATE (DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS)

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",  \
			        __FILE__, __LINE__, #cond, dpemu_last_error());        \
			_exit(1);                                                      \
		}                                                                      \
	} while (0)

static size_t ps;
static char dir[64]; /* a directory of this run's trace files */

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* ---- reading a trace (as dpemu-trace(5) says) ------------------------------ */

struct trace {
	struct dpemu_trace_header h;
	struct dpemu_trace_record *r;
	size_t n;
};

/* Read the trace at path into *t; 0, or -1 with the reason on stderr. */
static int trace_read(const char *path, struct trace *t)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	memset(t, 0, sizeof *t);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "trace %s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (st.st_size < 64 || tu_pread_all(fd, &t->h, sizeof t->h, 0) != 0) {
		fprintf(stderr, "trace %s: no header (%lld bytes)\n", path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	if (memcmp(t->h.magic, DPEMU_TRACE_MAGIC, 8) != 0 || t->h.version != DPEMU_TRACE_VERSION ||
	    t->h.header_bytes != 64 || t->h.record_bytes != 48 ||
	    (st.st_size - t->h.header_bytes) % t->h.record_bytes != 0) {
		fprintf(stderr, "trace %s: bad header or size %lld\n", path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < sizeof t->h.reserved; i++)
		if (t->h.reserved[i]) {
			close(fd);
			return -1;
		}
	t->n = (size_t)(st.st_size - t->h.header_bytes) / t->h.record_bytes;
	t->r = calloc(t->n + 1, sizeof *t->r);
	if (!t->r || (t->n && tu_pread_all(fd, t->r, t->n * sizeof *t->r, t->h.header_bytes))) {
		close(fd);
		return -1;
	}
	close(fd);
	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].event < 1 || t->r[i].event > DPEMU_EVENT_MAX) {
			fprintf(stderr, "trace %s: record %zu has event %u\n", path, i, t->r[i].event);
			return -1;
		}
	return 0;
}

static bool is_fault(unsigned ev)
{
	return ev >= DPEMU_EVENT_ZERO_FILL && ev <= DPEMU_EVENT_UNRESOLVED;
}

/* Records of event ev (0: of every fault kind). */
static size_t count(const struct trace *t, unsigned ev)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += ev ? t->r[i].event == ev : is_fault(t->r[i].event);
	return n;
}

/* Events the LOST records say were dropped. */
static uint64_t lost(const struct trace *t)
{
	uint64_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].event == DPEMU_EVENT_LOST)
			n += t->r[i].aux;
	return n;
}

/* The first record of event ev, or NULL. */
static const struct dpemu_trace_record *first(const struct trace *t, unsigned ev)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].event == ev)
			return &t->r[i];
	return NULL;
}

/* Each thread's records are in time order; no record has time 0 and
 * tid 0. */
/* When record r ended: a fault at its retry (time + latency), anything else
 * at its time.  Per thread, records are in the file in order of their end
 * (an eviction a fault made lies inside the fault's interval). */
static uint64_t end_ns(const struct dpemu_trace_record *r)
{
	return r->time_ns + r->latency_ns;
}

static bool per_thread_ordered(const struct trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->r[i].tid == 0)
			return false;
		for (size_t j = i + 1; j < t->n; j++)
			if (t->r[j].tid == t->r[i].tid) {
				if (end_ns(&t->r[j]) < end_ns(&t->r[i]))
					return false;
				break;
			}
	}
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void run_child(void (*fn)(void *), void *arg, const char *what)
{
	struct tu_child c;

	assert_int_equal(tu_run_in_child(fn, arg, &c), 0);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
		fail_msg("%s: child %s %d; its stderr:\n%s", what,
		         WIFEXITED(c.status) ? "exited with" : "died of signal",
		         WIFEXITED(c.status) ? WEXITSTATUS(c.status) : WTERMSIG(c.status), c.err);
}

/* CLOCK_MONOTONIC now, in nanoseconds (the trace's clock). */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t gettid_(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

static bool access_is(unsigned a, enum dpemu_access want)
{
	return a == (unsigned)want || a == DPEMU_ACCESS_UNKNOWN;
}

/* ---- a known workload --------------------------------------------------------- */

/*
 * In a FIFO pool of 4 frames: map 8 pages, write them (8 zero fills, 4
 * evictions to swap), read the first back (a swap-in, and one more
 * eviction to swap), fork and destroy the child, unmap, a protection
 * fault, destroy: exactly these records.
 */
static void test_workload(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(16 * ps);
	struct dpemu_fault fault;
	struct dpemu_stats st;
	dpemu_pool *pool;
	dpemu_space *s, *c;
	volatile unsigned char *a;
	char path[128];
	void *p, *rop;
	struct trace t;

	(void)state;
	path_of(path, sizeof path, "workload.trc");
	pcfg.policy = DPEMU_POLICY_FIFO;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	uint64_t before = mono_ns();
	assert_int_equal(dpemu_trace_start(pool, path), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, 8 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	a = p;
	for (int i = 0; i < 8; i++)
		a[(size_t)i * ps] = (unsigned char)(i + 1);
	assert_int_equal(a[0], 1);
	assert_int_equal(dpemu_space_fork(s, &c), 0);
	assert_int_equal(dpemu_space_destroy(c), 0);
	assert_int_equal(dpemu_unmap(s, p, 8 * ps), 0);
	assert_int_equal(dpemu_map(s, NULL, ps, PROT_READ, ANON_PRIVATE, -1, 0, &rop), 0);
	assert_int_equal(tu_try_access(rop, 1, 1, &fault), 1);
	assert_int_equal(dpemu_space_stats(s, &st), 0);
	struct dpemu_latency lz, ls, lu;
	assert_int_equal(dpemu_space_latency_kind(s, DPEMU_EVENT_ZERO_FILL, &lz), 0);
	assert_int_equal(dpemu_space_latency_kind(s, DPEMU_EVENT_SWAP_IN, &ls), 0);
	assert_int_equal(dpemu_space_latency_kind(s, DPEMU_EVENT_UNRESOLVED, &lu), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_trace_stop(pool), 0);
	uint64_t traced = mono_ns() - before; /* >= the trace's whole span */
	assert_int_equal(dpemu_pool_destroy(pool), 0);

	assert_int_equal(trace_read(path, &t), 0);
	/* the header */
	assert_int_equal(t.h.page_size, ps);
	assert_int_equal(t.h.frames, 4);
	assert_int_equal(t.h.policy, DPEMU_POLICY_FIFO);
	assert_int_equal(t.h.pid, getpid());
	assert_true(t.h.start_realtime_ns > 0 && t.h.start_monotonic_ns > 0);
	/* exactly the events of the workload */
	assert_int_equal(count(&t, DPEMU_EVENT_MAP), 2);
	assert_int_equal(count(&t, DPEMU_EVENT_ZERO_FILL), 8);
	assert_int_equal(count(&t, DPEMU_EVENT_SWAP_IN), 1);
	assert_int_equal(count(&t, DPEMU_EVENT_EVICT), 5);
	assert_int_equal(count(&t, DPEMU_EVENT_SWAP_OUT), 5);
	assert_int_equal(count(&t, DPEMU_EVENT_FORK), 1);
	assert_int_equal(count(&t, DPEMU_EVENT_DESTROY), 2);
	assert_int_equal(count(&t, DPEMU_EVENT_UNMAP), 1);
	assert_int_equal(count(&t, DPEMU_EVENT_UNRESOLVED), 1);
	assert_int_equal(count(&t, DPEMU_EVENT_LOST), 0);
	assert_int_equal(t.n, 2 + 8 + 1 + 5 + 5 + 1 + 2 + 1 + 1);
	/* ... which agree with the statistics and the histograms */
	assert_int_equal(count(&t, 0), st.faults);
	assert_int_equal(count(&t, DPEMU_EVENT_ZERO_FILL), lz.count);
	assert_int_equal(count(&t, DPEMU_EVENT_SWAP_IN), ls.count);
	assert_int_equal(count(&t, DPEMU_EVENT_UNRESOLVED), lu.count);
	assert_true(per_thread_ordered(&t));

	/* the fields */
	const struct dpemu_trace_record *map = first(&t, DPEMU_EVENT_MAP);
	uint32_t sid = map->space;
	uintptr_t base = (uintptr_t)p;
	assert_true(sid != 0);
	assert_int_equal(map->addr, base);
	assert_int_equal(map->aux, 8 * ps);
	assert_int_equal(map->tid, gettid_());
	assert_int_equal(map->frame, UINT32_MAX);
	assert_int_equal(map->latency_ns, 0);
	uint64_t slot0 = UINT64_MAX;
	int zero_fills = 0;
	for (size_t i = 0; i < t.n; i++) {
		const struct dpemu_trace_record *r = &t.r[i];
		if (r->event != DPEMU_EVENT_DESTROY) /* (checked below) */
			assert_int_equal(r->space, sid);
		if (is_fault(r->event)) {
			assert_true(r->latency_ns > 0);
			/* time_ns is the trap, latency_ns what came after it:
			 * both inside the trace (a fault may begin right at its
			 * start, so time_ns may well be < latency_ns) */
			assert_true(r->time_ns + r->latency_ns <= traced);
			assert_true(r->tid != 0);
		} else {
			assert_int_equal(r->latency_ns, 0);
			assert_int_equal(r->access, 0);
			assert_int_equal(r->outcome, 0);
		}
		switch (r->event) {
		case DPEMU_EVENT_ZERO_FILL:
			/* in order of the writes: page zero_fills */
			assert_int_equal(r->addr, base + (uintptr_t)zero_fills * ps);
			zero_fills++;
			assert_true(r->frame < 4);
			assert_true(access_is(r->access, DPEMU_ACCESS_WRITE));
			assert_int_equal(r->outcome, 0);
			assert_int_equal(r->aux, 0);
			break;
		case DPEMU_EVENT_EVICT:
			assert_true(r->frame < 4);
			assert_true(r->addr >= base && r->addr < base + 8 * ps && r->addr % ps == 0);
			assert_int_equal(r->aux, 0);
			break;
		case DPEMU_EVENT_SWAP_OUT:
			assert_true(r->frame < 4);
			assert_true(r->aux < 64); /* the pool's 16 x 4 slots */
			/* its eviction follows */
			assert_int_equal(r[1].event, DPEMU_EVENT_EVICT);
			assert_int_equal(r[1].frame, r->frame);
			assert_int_equal(r[1].addr, r->addr);
			if (r->addr == base)
				slot0 = r->aux;
			break;
		case DPEMU_EVENT_SWAP_IN:
			assert_int_equal(r->addr, base);
			assert_int_equal(r->aux, slot0); /* where page 0 went */
			assert_true(r->frame < 4);
			assert_true(access_is(r->access, DPEMU_ACCESS_READ));
			break;
		case DPEMU_EVENT_FORK:
			assert_true(r->aux != 0 && r->aux != sid);
			assert_int_equal(r->tid, gettid_());
			break;
		case DPEMU_EVENT_UNMAP:
			assert_int_equal(r->addr, base);
			assert_int_equal(r->aux, 8 * ps);
			break;
		case DPEMU_EVENT_UNRESOLVED:
			assert_int_equal(r->addr, (uintptr_t)rop);
			assert_int_equal(r->outcome, DPEMU_FAULT_PROTECTION);
			assert_true(access_is(r->access, DPEMU_ACCESS_WRITE));
			break;
		default:
			break;
		}
	}
	/* the child's destroy, then the parent's */
	const struct dpemu_trace_record *fk = first(&t, DPEMU_EVENT_FORK);
	for (size_t i = 0, d = 0; i < t.n; i++) {
		if (t.r[i].event != DPEMU_EVENT_DESTROY)
			continue;
		assert_int_equal(t.r[i].space, d == 0 ? fk->aux : sid);
		d++;
	}
	free(t.r);
}

/* ---- errors --------------------------------------------------------------- */

static void test_errors(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	dpemu_pool *pool;
	char path[128], bad[160];

	(void)state;
	path_of(path, sizeof path, "errors.trc");
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_trace_start(NULL, path), -EINVAL);
	assert_int_equal(dpemu_trace_start(pool, NULL), -EINVAL);
	assert_int_equal(dpemu_trace_stop(NULL), -EINVAL);
	assert_int_equal(dpemu_trace_stop(pool), -EINVAL);
	assert_non_null(strstr(dpemu_last_error(), "not traced"));

	/* a path that cannot be opened: its errno, a message naming it */
	snprintf(bad, sizeof bad, "%s/no-such-dir/x.trc", dir);
	assert_int_equal(dpemu_trace_start(pool, bad), -ENOENT);
	assert_non_null(strstr(dpemu_last_error(), bad));
	assert_non_null(strstr(dpemu_last_error(), "dpemu_trace_start"));
	assert_int_equal(dpemu_trace_start(pool, dir), -EISDIR);
	assert_int_equal(dpemu_trace_stop(pool), -EINVAL); /* nothing was started */

	/* a bad DPEMU_TRACE_RING */
	setenv("DPEMU_TRACE_RING", "lots", 1);
	assert_int_equal(dpemu_trace_start(pool, path), -EINVAL);
	assert_non_null(strstr(dpemu_last_error(), "DPEMU_TRACE_RING"));
	setenv("DPEMU_TRACE_RING", "0", 1);
	assert_int_equal(dpemu_trace_start(pool, path), -EINVAL);
	unsetenv("DPEMU_TRACE_RING");

	/* twice: -EBUSY, the first goes on */
	assert_int_equal(dpemu_trace_start(pool, path), 0);
	assert_int_equal(dpemu_trace_start(pool, path), -EBUSY);
	assert_non_null(strstr(dpemu_last_error(), "traced already"));
	assert_int_equal(dpemu_trace_stop(pool), 0);
	assert_int_equal(dpemu_trace_stop(pool), -EINVAL);
	/* and again, into the same file (truncated) */
	assert_int_equal(dpemu_trace_start(pool, path), 0);
	assert_int_equal(dpemu_trace_stop(pool), 0);
	/* a pool destroyed while traced stops its trace */
	assert_int_equal(dpemu_trace_start(pool, path), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	struct trace t;
	assert_int_equal(trace_read(path, &t), 0);
	assert_int_equal(t.n, 0);
	free(t.r);
}

/* ---- fork(2) ----------------------------------------------------------------- */

static dpemu_pool *fork_pool;
static dpemu_space *fork_space;

static void child_inherited(void *arg)
{
	char path[128];

	(void)arg;
	alarm(30);
	path_of(path, sizeof path, "child.trc");
	CHECK(dpemu_trace_start(fork_pool, path) == -EPERM);
	CHECK(dpemu_trace_stop(fork_pool) == -EPERM);
	CHECK(access(path, F_OK) != 0);
	/* the child's copies go, writing nothing into the parent's trace */
	CHECK(dpemu_space_destroy(fork_space) == 0);
	CHECK(dpemu_pool_destroy(fork_pool) == 0);
}

/* A traced pool inherited through fork(2): -EPERM in the child, whose
 * copy of the trace is dropped; the parent's trace is intact. */
static void test_inherited(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(8 * ps);
	char path[128];
	struct trace t;
	void *p;

	(void)state;
	path_of(path, sizeof path, "parent.trc");
	assert_int_equal(dpemu_pool_create(&pcfg, &fork_pool), 0);
	assert_int_equal(dpemu_trace_start(fork_pool, path), 0);
	assert_int_equal(dpemu_space_create(fork_pool, &scfg, &fork_space), 0);
	assert_int_equal(dpemu_map(fork_space, NULL, 2 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	*(volatile char *)p = 1;
	run_child(child_inherited, NULL, "inherited trace");
	((volatile char *)p)[ps] = 1;
	assert_int_equal(dpemu_space_destroy(fork_space), 0);
	assert_int_equal(dpemu_trace_stop(fork_pool), 0);
	assert_int_equal(dpemu_pool_destroy(fork_pool), 0);
	assert_int_equal(trace_read(path, &t), 0);
	assert_int_equal(count(&t, DPEMU_EVENT_MAP), 1);
	assert_int_equal(count(&t, 0), 2);
	assert_int_equal(count(&t, DPEMU_EVENT_DESTROY), 1);
	assert_int_equal(t.n, 4);
	assert_int_equal(t.h.pid, getpid());
	free(t.r);
}

/* ---- DPEMU_TRACE --------------------------------------------------------------- */

/* A pool of `frames` frames, one space, n pages mapped and written, all
 * destroyed (the trace DPEMU_TRACE started with the pool ends with it). */
static void env_workload(size_t frames, int n)
{
	struct dpemu_pool_config pcfg = tu_pool_config(frames, 0);
	struct dpemu_space_config scfg = tu_space_config((size_t)n * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	void *p;

	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	CHECK(dpemu_map(s, NULL, (size_t)n * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	for (int i = 0; i < n; i++)
		((volatile char *)p)[(size_t)i * ps] = 1;
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

/* What env_workload(frames, n) leaves in the trace at path. */
static void check_env_trace(const char *path, size_t frames, int n, pid_t pid)
{
	struct trace t;

	assert_int_equal(trace_read(path, &t), 0);
	assert_int_equal(t.h.frames, frames);
	assert_int_equal(t.h.pid, pid);
	assert_int_equal(count(&t, DPEMU_EVENT_MAP), 1);
	assert_int_equal(count(&t, DPEMU_EVENT_ZERO_FILL), n);
	assert_int_equal(count(&t, DPEMU_EVENT_DESTROY), 1);
	assert_int_equal(t.n, (size_t)n + 2);
	free(t.r);
}

static void child_env_two(void *arg)
{
	char path[128];

	(void)arg;
	alarm(30);
	path_of(path, sizeof path, "env.trc");
	setenv("DPEMU_TRACE", path, 1);
	env_workload(8, 3);  /* env.trc   */
	env_workload(16, 5); /* env.trc.1 */
}

static void child_env_pid(void *arg)
{
	char path[128];

	(void)arg;
	alarm(30);
	path_of(path, sizeof path, "pid.%p.trc");
	setenv("DPEMU_TRACE", path, 1);
	env_workload(8, 2);
	fprintf(stderr, "pid=%ld\n", (long)getpid());
}

static void child_env_bad(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	dpemu_pool *pool = (dpemu_pool *)&pcfg;
	char path[128];

	(void)arg;
	alarm(30);
	path_of(path, sizeof path, "no-such-dir/env.trc");
	setenv("DPEMU_TRACE", path, 1);
	CHECK(dpemu_pool_create(&pcfg, &pool) == -ENOENT);
	CHECK(pool == NULL);
	CHECK(strstr(dpemu_last_error(), "DPEMU_TRACE") != NULL);
	CHECK(strstr(dpemu_last_error(), "dpemu_pool_create") != NULL);
	/* an empty one traces nothing */
	setenv("DPEMU_TRACE", "", 1);
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_trace_stop(pool) == -EINVAL);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

static void test_env(void **state)
{
	char path[128], pidpath[128];
	struct tu_child c;

	(void)state;
	run_child(child_env_two, NULL, "DPEMU_TRACE, two pools");
	path_of(path, sizeof path, "env.trc");
	/* (the child's pid is in the headers; run_child does not give it) */
	struct trace t;
	assert_int_equal(trace_read(path, &t), 0);
	pid_t pid = (pid_t)t.h.pid;
	free(t.r);
	check_env_trace(path, 8, 3, pid);
	path_of(path, sizeof path, "env.trc.1");
	check_env_trace(path, 16, 5, pid);

	assert_int_equal(tu_run_in_child(child_env_pid, NULL, &c), 0);
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	long cpid = 0;
	assert_int_equal(sscanf(c.err, "pid=%ld", &cpid), 1);
	snprintf(pidpath, sizeof pidpath, "%s/pid.%ld.trc", dir, cpid);
	check_env_trace(pidpath, 8, 2, (pid_t)cpid);

	run_child(child_env_bad, NULL, "DPEMU_TRACE that cannot be opened");
}

/* An exec'd program with DPEMU_TRACE in its environment (main runs
 * exec_child for "--trace-child"). */
static int exec_child(void)
{
	tu_default_fault_signals();
	env_workload(8, 4);
	return 0;
}

static void test_exec(void **state)
{
	char path[128];
	int status;

	(void)state;
	path_of(path, sizeof path, "exec.trc");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("DPEMU_TRACE", path, 1);
		execl("/proc/self/exe", "test_trace", "--trace-child", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_env_trace(path, 8, 4, pid);
}

/* ---- a ring too small ------------------------------------------------------------ */

#define LOST_ROUNDS 20000

static void child_lost(void *arg)
{
	struct dpemu_pool_config pcfg = tu_pool_config(8, 0);
	struct dpemu_space_config scfg = tu_space_config(8 * ps);
	dpemu_pool *pool;
	dpemu_space *s;
	char path[128];
	void *p;

	(void)arg;
	alarm(60);
	path_of(path, sizeof path, "lost.trc");
	setenv("DPEMU_TRACE_RING", "4", 1);
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	CHECK(dpemu_trace_start(pool, path) == 0);
	for (int i = 0; i < LOST_ROUNDS; i++) {
		CHECK(dpemu_map(s, NULL, ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
		CHECK(dpemu_unmap(s, p, ps) == 0);
	}
	CHECK(dpemu_trace_stop(pool) == 0);
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
}

/* 40,000 events through a ring of 4 records: most are dropped, and the
 * LOST records count every one. */
static void test_lost(void **state)
{
	char path[128];
	struct trace t;

	(void)state;
	run_child(child_lost, NULL, "lost events");
	path_of(path, sizeof path, "lost.trc");
	assert_int_equal(trace_read(path, &t), 0);
	size_t kept = count(&t, DPEMU_EVENT_MAP) + count(&t, DPEMU_EVENT_UNMAP);
	assert_int_equal(kept + count(&t, DPEMU_EVENT_LOST), t.n);
	assert_int_equal(kept + lost(&t), 2 * LOST_ROUNDS);
	assert_true(count(&t, DPEMU_EVENT_LOST) > 0);
	for (size_t i = 0; i < t.n; i++)
		if (t.r[i].event == DPEMU_EVENT_LOST)
			assert_true(t.r[i].aux > 0 && t.r[i].space == 0);
	assert_true(per_thread_ordered(&t));
	free(t.r);
}

/* ---- threads while the trace starts and stops ------------------------------------- */

#define C_THREADS 4
#define C_PAGES 16

struct cw {
	dpemu_space *s;
	atomic_bool *stop;
	int rounds;      /* > 0: this many rounds; else until *stop */
	uint32_t id;     /* the space's id, from its first MAP record */
};

static void *churn(void *arg)
{
	struct cw *w = arg;
	void *p;

	for (int i = 0; w->rounds > 0 ? i < w->rounds : !atomic_load(w->stop); i++) {
		if (dpemu_map(w->s, NULL, C_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p) != 0)
			abort();
		for (int k = 0; k < C_PAGES; k++)
			((volatile char *)p)[(size_t)k * ps] = 1;
		if (dpemu_unmap(w->s, p, C_PAGES * ps) != 0)
			abort();
	}
	return NULL;
}

static void run_churn(dpemu_pool *pool, struct cw *w, int rounds, atomic_bool *stop,
                      pthread_t *th)
{
	for (int t = 0; t < C_THREADS; t++) {
		w[t].rounds = rounds;
		w[t].stop = stop;
		assert_int_equal(pthread_create(&th[t], NULL, churn, &w[t]), 0);
	}
	(void)pool;
}

static void test_concurrent(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(C_THREADS * C_PAGES, 0);
	struct dpemu_space_config scfg = tu_space_config(C_PAGES * ps);
	pthread_t th[C_THREADS];
	struct cw w[C_THREADS];
	atomic_bool stop = false;
	dpemu_pool *pool;
	char path[128];
	struct trace t;

	(void)state;
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	for (int i = 0; i < C_THREADS; i++)
		assert_int_equal(dpemu_space_create(pool, &scfg, &w[i].s), 0);

	/* start and stop 40 times while the threads fault, map and unmap */
	run_churn(pool, w, 0, &stop, th);
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof path, "%s/toggle.%d.trc", dir, i % 4);
		assert_int_equal(dpemu_trace_start(pool, path), 0);
		usleep(2000); /* (let some events in: a pause, not a measurement) */
		assert_int_equal(dpemu_trace_stop(pool), 0);
		assert_int_equal(trace_read(path, &t), 0);
		for (size_t k = 0; k < t.n; k++) {
			const struct dpemu_trace_record *r = &t.r[k];
			if (r->event == DPEMU_EVENT_LOST)
				assert_true(r->aux > 0);
			else
				assert_true(r->space != 0);
		}
		assert_true(per_thread_ordered(&t));
		free(t.r);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < C_THREADS; i++)
		pthread_join(th[i], NULL);

	/* a last trace, no toggling: every event is in it (or counted lost) */
	uint64_t faults_before = 0, faults_after = 0;
	for (int i = 0; i < C_THREADS; i++) {
		struct dpemu_stats st;
		assert_int_equal(dpemu_space_stats(w[i].s, &st), 0);
		faults_before += st.faults;
	}
	path_of(path, sizeof path, "concurrent.trc");
	assert_int_equal(dpemu_trace_start(pool, path), 0);
	run_churn(pool, w, 20, &stop, th);
	for (int i = 0; i < C_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(dpemu_trace_stop(pool), 0);
	for (int i = 0; i < C_THREADS; i++) {
		struct dpemu_stats st;
		assert_int_equal(dpemu_space_stats(w[i].s, &st), 0);
		faults_after += st.faults;
	}
	assert_int_equal(trace_read(path, &t), 0);
	uint64_t expect = C_THREADS * 20 * (C_PAGES + 2);
	assert_int_equal(faults_after - faults_before, C_THREADS * 20 * C_PAGES);
	assert_int_equal(t.n - count(&t, DPEMU_EVENT_LOST) + lost(&t), expect);
	if (lost(&t) == 0) {
		assert_int_equal(count(&t, 0), faults_after - faults_before);
		assert_int_equal(count(&t, DPEMU_EVENT_MAP), C_THREADS * 20);
		assert_int_equal(count(&t, DPEMU_EVENT_UNMAP), C_THREADS * 20);
	}
	assert_true(per_thread_ordered(&t));
	free(t.r);
	for (int i = 0; i < C_THREADS; i++)
		assert_int_equal(dpemu_space_destroy(w[i].s), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* ---- exact event sequences ------------------------------------------------------ */

/* A record as the sequences name it: its event, its space (an index into
 * the test's spaces) and its page (an index into the test's pages; -1:
 * addr 0). */
struct want {
	unsigned event;
	int space;
	int page;
};

/* Whether t's records are exactly want[0..n): event, space id and address
 * (page aligned, as sp[] and pg[] name them).  Prints both on a mismatch. */
static bool same_sequence(const struct trace *t, const struct want *want, size_t n,
                          const uint32_t *sp, const uintptr_t *pg)
{
	bool same = t->n == n;

	for (size_t i = 0; same && i < n; i++) {
		const struct dpemu_trace_record *r = &t->r[i];
		uint64_t addr = want[i].page < 0 ? 0 : pg[want[i].page];
		same = r->event == want[i].event && r->space == sp[want[i].space] &&
		       (r->addr & ~((uint64_t)ps - 1)) == addr;
	}
	if (!same) {
		fprintf(stderr, "the trace's %zu records:\n", t->n);
		for (size_t i = 0; i < t->n; i++)
			fprintf(stderr, "  %-10s space %u addr 0x%llx frame %d\n",
			        dpemu_event_name((enum dpemu_event)t->r[i].event), t->r[i].space,
			        (unsigned long long)t->r[i].addr, (int)t->r[i].frame);
		fprintf(stderr, "expected %zu:\n", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "  %-10s space %u addr 0x%llx\n",
			        dpemu_event_name((enum dpemu_event)want[i].event), sp[want[i].space],
			        (unsigned long long)(want[i].page < 0 ? 0 : pg[want[i].page]));
	}
	return same;
}

/*
 * Scripted accesses, under the backend of this run, in a FIFO pool of 4
 * frames: each gives exactly its records, in order.  A zero-fill; a file
 * read; a fork and a copy-on-write copy in the child; once the pool is
 * full, an eviction of a dirty anonymous page (its swap-out, then its
 * evict, then the fault that needed the frame), and the swap-in that
 * brings it back (evicting the clean file page: no swap-out); a
 * protection fault; the unmaps and the destroys.  The trace is written
 * to sequence.trc, which test_export_round_trip reads again.
 */
static void test_sequences(void **state)
{
	struct dpemu_pool_config pcfg = tu_pool_config(4, 0);
	struct dpemu_space_config scfg = tu_space_config(16 * ps);
	char path[128], fpath[64];
	struct dpemu_fault fault;
	dpemu_pool *pool;
	dpemu_space *s, *c;
	void *a, *f, *ro;
	struct trace t;
	volatile unsigned char *va;
	int fd;

	(void)state;
	path_of(path, sizeof path, "sequence.trc");
	pcfg.policy = DPEMU_POLICY_FIFO;
	fd = tu_temp_file("file page", 9, fpath);
	assert_true(fd >= 0);
	unlink(fpath);
	assert_int_equal(dpemu_pool_create(&pcfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_trace_start(pool, path), 0);
	assert_int_equal(dpemu_map(s, NULL, 4 * ps, RW, ANON_PRIVATE, -1, 0, &a), 0);
	va = a;
	va[0] = 1;                                                   /* zero-fill a0 */
	assert_int_equal(dpemu_map(s, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, fd, 0, &f), 0);
	assert_int_equal(*(volatile char *)f, 'f');                  /* file-read f  */
	assert_int_equal(dpemu_space_fork(s, &c), 0);
	uintptr_t ca = (uintptr_t)dpemu_space_base(c) + ((uintptr_t)a - (uintptr_t)dpemu_space_base(s));
	*(volatile unsigned char *)ca = 2;                           /* cow-copy     */
	assert_int_equal(dpemu_space_destroy(c), 0);
	va[ps] = 3;                                                  /* a1, a2: full */
	va[2 * ps] = 4;
	va[3 * ps] = 5;                 /* a3: FIFO takes a0's frame, dirty: swap-out */
	assert_int_equal(va[0], 1);     /* a0 back from swap; the victim is f, clean */
	assert_int_equal(dpemu_map(s, NULL, ps, PROT_READ, ANON_PRIVATE, -1, 0, &ro), 0);
	assert_int_equal(tu_try_access(ro, 1, 1, &fault), 1);        /* unresolved   */
	assert_int_equal(dpemu_unmap(s, a, 4 * ps), 0);
	assert_int_equal(dpemu_space_destroy(s), 0);
	assert_int_equal(dpemu_trace_stop(pool), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	close(fd);

	assert_int_equal(trace_read(path, &t), 0);
	uint32_t sp[2] = { first(&t, DPEMU_EVENT_MAP) ? first(&t, DPEMU_EVENT_MAP)->space : 0,
	                   first(&t, DPEMU_EVENT_FORK) ? (uint32_t)first(&t, DPEMU_EVENT_FORK)->aux
	                                               : 0 };
	enum { A0, A1, A2, A3, F, CA0, RO };
	const uintptr_t pg[] = { (uintptr_t)a, (uintptr_t)a + ps, (uintptr_t)a + 2 * ps,
	                         (uintptr_t)a + 3 * ps, (uintptr_t)f, ca, (uintptr_t)ro };
	const struct want want[] = {
		{ DPEMU_EVENT_MAP, 0, A0 },
		{ DPEMU_EVENT_ZERO_FILL, 0, A0 },
		{ DPEMU_EVENT_MAP, 0, F },
		{ DPEMU_EVENT_FILE_READ, 0, F },
		{ DPEMU_EVENT_FORK, 0, -1 },
		{ DPEMU_EVENT_COW_COPY, 1, CA0 },
		{ DPEMU_EVENT_DESTROY, 1, -1 },
		{ DPEMU_EVENT_ZERO_FILL, 0, A1 },
		{ DPEMU_EVENT_ZERO_FILL, 0, A2 },
		{ DPEMU_EVENT_SWAP_OUT, 0, A0 },
		{ DPEMU_EVENT_EVICT, 0, A0 },
		{ DPEMU_EVENT_ZERO_FILL, 0, A3 },
		{ DPEMU_EVENT_EVICT, 0, F },
		{ DPEMU_EVENT_SWAP_IN, 0, A0 },
		{ DPEMU_EVENT_MAP, 0, RO },
		{ DPEMU_EVENT_UNRESOLVED, 0, RO },
		{ DPEMU_EVENT_UNMAP, 0, A0 },
		{ DPEMU_EVENT_DESTROY, 0, -1 },
	};
	assert_true(sp[0] != 0 && sp[1] != 0 && sp[1] != sp[0]);
	assert_true(same_sequence(&t, want, sizeof want / sizeof want[0], sp, pg));
	/* the swap-in reads the slot the swap-out wrote; frames are passed on */
	const struct dpemu_trace_record *so = first(&t, DPEMU_EVENT_SWAP_OUT);
	assert_int_equal(first(&t, DPEMU_EVENT_SWAP_IN)->aux, so->aux);
	assert_int_equal(t.r[11].frame, so->frame);  /* a3 got a0's frame */
	assert_int_equal(t.r[13].frame, t.r[12].frame); /* a0 got f's */
	assert_int_equal(t.r[15].outcome, DPEMU_FAULT_PROTECTION);
	assert_true(per_thread_ordered(&t));
	free(t.r);
}

/* ---- 8 faulting threads ---------------------------------------------------------- */

#define T_THREADS 8
#define T_PAGES 512

struct tw {
	volatile unsigned char *p;    /* this thread's T_PAGES pages */
	pthread_barrier_t *go;
	uint32_t tid;
};

static void *fault_pages(void *arg)
{
	struct tw *w = arg;

	w->tid = gettid_();
	pthread_barrier_wait(w->go);
	for (size_t i = 0; i < T_PAGES; i++)
		w->p[i * ps] = 1;
	return NULL;
}

/* In a child, with DPEMU_TRACE_RING=ring: 8 threads fault T_PAGES pages
 * each of one space, traced into name; the threads' tids go to stderr, a
 * line "tids T1 ... T8". */
static void child_threads(void *arg)
{
	const char *ring = ((const char **)arg)[0], *name = ((const char **)arg)[1];
	struct dpemu_pool_config pcfg = tu_pool_config(T_THREADS * T_PAGES, 0);
	struct dpemu_space_config scfg = tu_space_config(T_THREADS * T_PAGES * ps);
	pthread_t th[T_THREADS];
	struct tw w[T_THREADS];
	pthread_barrier_t go;
	dpemu_pool *pool;
	dpemu_space *s;
	char path[128];
	void *p;

	alarm(120);
	path_of(path, sizeof path, name);
	setenv("DPEMU_TRACE_RING", ring, 1);
	CHECK(dpemu_pool_create(&pcfg, &pool) == 0);
	CHECK(dpemu_space_create(pool, &scfg, &s) == 0);
	CHECK(dpemu_trace_start(pool, path) == 0);
	CHECK(dpemu_map(s, NULL, T_THREADS * T_PAGES * ps, RW, ANON_PRIVATE, -1, 0, &p) == 0);
	CHECK(pthread_barrier_init(&go, NULL, T_THREADS) == 0);
	for (int i = 0; i < T_THREADS; i++) {
		w[i] = (struct tw){ (unsigned char *)p + (size_t)i * T_PAGES * ps, &go, 0 };
		CHECK(pthread_create(&th[i], NULL, fault_pages, &w[i]) == 0);
	}
	for (int i = 0; i < T_THREADS; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	CHECK(dpemu_unmap(s, p, T_THREADS * T_PAGES * ps) == 0);
	CHECK(dpemu_space_destroy(s) == 0);
	CHECK(dpemu_trace_stop(pool) == 0);
	CHECK(dpemu_pool_destroy(pool) == 0);
	fprintf(stderr, "tids");
	for (int i = 0; i < T_THREADS; i++)
		fprintf(stderr, " %u", w[i].tid);
	fprintf(stderr, "\n");
}

/* Run child_threads with ring; its trace in *t, its threads' tids. */
static void run_threads(const char *ring, const char *name, struct trace *t, uint32_t *tids)
{
	const char *args[2] = { ring, name };
	char path[128];
	struct tu_child c;

	assert_int_equal(tu_run_in_child(child_threads, args, &c), 0);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
		fail_msg("8 threads, ring %s: child status %d; its stderr:\n%s", ring, c.status,
		         c.err);
	const char *line = strstr(c.err, "tids");
	assert_non_null(line);
	line += 4;
	for (int i = 0; i < T_THREADS; i++) {
		char *end;
		tids[i] = (uint32_t)strtoul(line, &end, 10);
		assert_true(end != line);
		line = end;
	}
	path_of(path, sizeof path, name);
	assert_int_equal(trace_read(path, t), 0);
}

/* 8 threads fault 512 pages each (4096 faults).  A ring larger than the
 * whole trace loses nothing: every fault is there, each on its thread,
 * each page once.  A ring of 4 records loses most, and the LOST records
 * count every one lost: the records kept and the lost add up to the
 * events that happened. */
static void test_threads_ring(void **state)
{
	const uint64_t events = 1 + T_THREADS * T_PAGES + 1 + 1; /* map, faults, unmap, destroy */
	uint32_t tids[T_THREADS];
	struct trace t;

	(void)state;
	run_threads("65536", "threads.trc", &t, tids);
	assert_int_equal(count(&t, DPEMU_EVENT_LOST), 0);
	assert_int_equal(t.n, events);
	assert_int_equal(count(&t, DPEMU_EVENT_ZERO_FILL), T_THREADS * T_PAGES);
	for (int i = 0; i < T_THREADS; i++) {
		size_t mine = 0;
		for (size_t k = 0; k < t.n; k++)
			mine += t.r[k].event == DPEMU_EVENT_ZERO_FILL && t.r[k].tid == tids[i];
		assert_int_equal(mine, T_PAGES);
	}
	/* every page once: the faults' addresses, sorted, are the mapping's pages */
	uint64_t *pages = calloc(T_THREADS * T_PAGES, sizeof *pages);
	size_t n = 0;
	assert_non_null(pages);
	for (size_t k = 0; k < t.n; k++)
		if (t.r[k].event == DPEMU_EVENT_ZERO_FILL)
			pages[n++] = t.r[k].addr & ~((uint64_t)ps - 1);
	qsort(pages, n, sizeof *pages, cmp_u64);
	const uint64_t base = first(&t, DPEMU_EVENT_MAP)->addr;
	for (size_t k = 0; k < n; k++)
		assert_int_equal(pages[k], base + k * ps);
	free(pages);
	assert_true(per_thread_ordered(&t));
	free(t.r);

	run_threads("4", "threads-lost.trc", &t, tids);
	assert_true(count(&t, DPEMU_EVENT_LOST) > 0);
	assert_int_equal(t.n - count(&t, DPEMU_EVENT_LOST) + lost(&t), events);
	for (size_t k = 0; k < t.n; k++)
		if (t.r[k].event == DPEMU_EVENT_LOST)
			assert_true(t.r[k].aux > 0);
	assert_true(per_thread_ordered(&t));
	free(t.r);
}

/* ---- the format round-trips through export ---------------------------------------- */

static const char *const outcome_names[] = { "", "unmapped", "protection", "out-of-frames",
	                                     "host" };
static const char *const access_names[] = { "unknown", "read", "write", "exec" };

/* The index of name in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

/* One CSV line of `dpemu trace export --csv` back into *r; false if it is
 * not one. */
static bool parse_csv(char *line, struct dpemu_trace_record *r)
{
	char *f[10], *p = line;
	int n = 0, ev = -1;

	line[strcspn(line, "\n")] = '\0';
	/* (strsep, not strtok: frame and outcome may be empty) */
	while (n < 10 && (f[n] = strsep(&p, ",")) != NULL)
		n++;
	if (n != 10 || p != NULL)
		return false;
	for (int k = 1; k <= DPEMU_EVENT_MAX; k++)
		if (!strcmp(dpemu_event_name((enum dpemu_event)k), f[3]))
			ev = k;
	int acc = name_index(access_names, 4, f[5]);
	int out = name_index(outcome_names, 5, f[9]);
	if (ev < 0 || acc < 0 || out < 0 || strncmp(f[4], "0x", 2) != 0)
		return false;
	*r = (struct dpemu_trace_record){
		.time_ns = strtoull(f[0], NULL, 10), .space = (uint32_t)strtoul(f[1], NULL, 10),
		.tid = (uint32_t)strtoul(f[2], NULL, 10), .event = (uint16_t)ev,
		.addr = strtoull(f[4] + 2, NULL, 16), .access = (uint8_t)acc,
		.frame = *f[6] ? (uint32_t)strtoul(f[6], NULL, 10) : UINT32_MAX,
		.latency_ns = strtoull(f[7], NULL, 10), .aux = strtoull(f[8], NULL, 10),
		.outcome = (uint8_t)out,
	};
	return true;
}

/* Export the trace name with $DPEMU as CSV, parse it back, and compare
 * every field of every record with the file's own records. */
static void round_trip(const char *dpemu, const char *name)
{
	char path[128], csv[160], cmd[512], line[512];
	struct dpemu_trace_record r;
	struct trace t;
	size_t i = 0;
	FILE *f;

	path_of(path, sizeof path, name);
	snprintf(csv, sizeof csv, "%s.csv", path);
	snprintf(cmd, sizeof cmd, "'%s' trace export --csv -o '%s' '%s' 2>/dev/null", dpemu, csv,
	         path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(trace_read(path, &t), 0);
	assert_true(t.n > 0);
	f = fopen(csv, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	assert_string_equal(line, "time_ns,space,tid,event,addr,access,frame,latency_ns,aux,"
	                          "outcome\n");
	while (fgets(line, sizeof line, f)) {
		assert_true(i < t.n);
		if (!parse_csv(line, &r))
			fail_msg("%s: line %zu is not a record: %s", name, i + 2, line);
		const struct dpemu_trace_record *b = &t.r[i];
		assert_int_equal(r.time_ns, b->time_ns);
		assert_int_equal(r.space, b->space);
		assert_int_equal(r.tid, b->tid);
		assert_int_equal(r.event, b->event);
		assert_int_equal(r.addr, b->addr);
		assert_int_equal(r.access, b->access);
		assert_int_equal(r.frame, b->frame);
		assert_int_equal(r.latency_ns, b->latency_ns);
		assert_int_equal(r.aux, b->aux);
		assert_int_equal(r.outcome, b->outcome);
		i++;
	}
	assert_int_equal(i, t.n);
	fclose(f);
	free(t.r);
}

/* The traces of test_sequences (four kinds of fault and an unresolved
 * one, evictions, a swap-out, maps, an unmap, a fork, destroys), of
 * test_threads_ring (8 threads; LOST records) and of test_workload, exported as CSV by the tool ($DPEMU, which the Makefile
 * sets; skipped without it), read back field by field. */
static void test_export_round_trip(void **state)
{
	const char *dpemu = getenv("DPEMU");

	(void)state;
	if (!dpemu || access(dpemu, X_OK) != 0) {
		fprintf(stderr, "(no DPEMU tool to export with: skipped)\n");
		skip();
	}
	round_trip(dpemu, "sequence.trc");
	round_trip(dpemu, "threads.trc");
	round_trip(dpemu, "threads-lost.trc");
	round_trip(dpemu, "workload.trc");
}

/* ---- main --------------------------------------------------------------------------- */

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workload),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_inherited),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_threads_ring),
		cmocka_unit_test(test_export_round_trip),
	};

	ps = tu_host_page();
	if (argc > 1 && strcmp(argv[1], "--trace-child") == 0)
		return exec_child();
	unsetenv("DPEMU_TRACE"); /* this program sets it where it means to */
	unsetenv("DPEMU_TRACE_RING");
	strcpy(dir, "/tmp/dpemu-trace-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, remove_dir);
}
