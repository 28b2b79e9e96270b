/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.c - the event trace (dpemu-trace(5)): a per-pool ring of records
 * in memory, appended to by whoever sees an event, and a writer thread
 * that drains it into the trace file.
 *
 * Fault path: trace_put, called by the fault path (a signal handler, the
 * userfaultfd handler thread) and by API calls alike.  It never blocks,
 * never allocates and takes no lock: a slot is reserved with an atomic
 * ticket and published with a sequence word of its own (Dmitry Vyukov's
 * bounded queue, here with many producers and one consumer):
 *
 *   slot i of a ring of n:  seq == t        free for ticket t (t % n == i)
 *                           seq == t + 1    ticket t's record is complete
 *   head                    the next ticket; a producer takes it with a
 *                           compare-and-swap when its slot is free
 *   tail                    the writer's next ticket (the writer alone)
 *
 * A producer that finds its slot not yet drained (the ring is full) drops
 * the record and counts it in `dropped`; the writer then writes a
 * DPEMU_EVENT_LOST record saying how many went, so nothing goes silently.
 * A producer interrupted between reservation and publication (a signal
 * handler of the same thread appending its own record meanwhile) only
 * holds the writer up at that slot until it resumes.
 *
 * Starting and stopping while faults run: the ring is published in
 * pool->trace (release) once it is ready.  trace_put counts itself in
 * pool->trace_users before it loads the pointer again (seq_cst), and
 * trace_stop clears the pointer and then waits for trace_users to reach
 * zero: a producer that saw the ring has then finished with it, and one
 * that comes later sees NULL (as registry.c's handlers and destroy).  Only
 * then is the writer told to stop, drains what is left and exits, and the
 * ring is unmapped.
 *
 * API side: trace_start, trace_stop and the writer thread (pthreads,
 * write(2); every signal blocked in the writer, which never touches an
 * arena), trace_forget (a child of fork(2): munmap and close only).
 *
 * Layer: base (src/internal.h).  Calls: error.c (set_error), libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define TRACE_RING_DEFAULT 65536u     /* records                          */
#define TRACE_RING_MAX (1u << 24)     /* 768 MiB of ring                  */
#define TRACE_PERIOD_NS 4000000       /* the writer drains every 4 ms     */
#define TRACE_BATCH 512               /* records per write(2)             */

_Static_assert(sizeof(struct dpemu_trace_header) == 64, "dpemu-trace(5): header is 64 bytes");
_Static_assert(sizeof(struct dpemu_trace_record) == 48, "dpemu-trace(5): record is 48 bytes");

struct trace_slot {
	_Atomic uint64_t seq;
	struct dpemu_trace_record rec;
};

struct trace_ring {
	/* read by producers, written once at start */
	uint64_t mask;              /* slots - 1                              */
	uint64_t t0;                /* start_monotonic_ns                     */
	size_t bytes;               /* of this mapping                        */
	struct trace_slot *slots;
	/* producers */
	_Atomic uint64_t head __attribute__((aligned(64)));
	_Atomic uint64_t dropped __attribute__((aligned(64)));
	/* the writer */
	uint64_t tail __attribute__((aligned(64)));
	uint64_t reported;          /* dropped counted in LOST records so far */
	int fd;
	int err;                    /* the first failed write's errno, or 0   */
	pthread_t thread;
	pthread_mutex_t mu;         /* stop and the writer's sleep            */
	pthread_cond_t cond;
	bool stop;
	struct dpemu_trace_record batch[TRACE_BATCH];
};

/* ---- producers (fault path) -------------------------------------------- */

/*
 * Reserve a slot of r, copy rec into it and publish it; false (and the
 * drop counted) when the ring is full.
 */
static bool ring_append(struct trace_ring *r, const struct dpemu_trace_record *rec)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	struct trace_slot *slot;

	for (;;) {
		slot = &r->slots[pos & r->mask];
		uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
		int64_t diff = (int64_t)(seq - pos);
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed))
				break;
		} else if (diff < 0) {
			atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
			return false; /* the writer has not drained this slot yet */
		} else {
			pos = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
	slot->rec = *rec;
	atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
	return true;
}

/*
 * Append record rec to pool's trace, if it has one: its time made
 * relative to the trace's start (rec->time_ns: CLOCK_MONOTONIC, 0 for
 * now; an event stamped before the trace started counts as at its start,
 * a fault's latency_ns then only the part after the start),
 * tid 0 made the calling thread's.  Fault path: safe.
 */
void trace_put(struct dpemu_pool *pool, struct dpemu_trace_record *rec)
{
	atomic_fetch_add(&pool->trace_users, 1);
	struct trace_ring *r = atomic_load(&pool->trace);
	if (r) {
		uint64_t t = rec->time_ns ? rec->time_ns : now_ns();
		if (t < r->t0) { /* began before the trace: only its part inside */
			uint64_t before = r->t0 - t;
			rec->latency_ns = rec->latency_ns > before ? rec->latency_ns - before : 0;
			t = r->t0;
		}
		rec->time_ns = t - r->t0;
		if (rec->tid == 0)
			rec->tid = (uint32_t)dpemu_tid();
		ring_append(r, rec);
	}
	atomic_fetch_sub(&pool->trace_users, 1);
}

/* ---- the writer thread ----------------------------------------------- */

/* Write len bytes to r's file; a failure is remembered (the first one)
 * and the data dropped: the ring must go on draining. */
static void write_out(struct trace_ring *r, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0 && r->err == 0) {
		ssize_t n = write(r->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->err = n < 0 ? errno : EIO;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Move every complete record of r to the file, then a LOST record if
 * records were dropped since the last one. */
static void drain(struct trace_ring *r)
{
	size_t n = 0;

	for (;;) {
		struct trace_slot *slot = &r->slots[r->tail & r->mask];
		if (atomic_load_explicit(&slot->seq, memory_order_acquire) != r->tail + 1)
			break; /* empty, or its producer is still writing it */
		r->batch[n++] = slot->rec;
		atomic_store_explicit(&slot->seq, r->tail + r->mask + 1, memory_order_release);
		r->tail++;
		if (n == TRACE_BATCH) {
			write_out(r, r->batch, n * sizeof r->batch[0]);
			n = 0;
		}
	}
	uint64_t dropped = atomic_load_explicit(&r->dropped, memory_order_relaxed);
	if (dropped != r->reported) {
		if (n == TRACE_BATCH) {
			write_out(r, r->batch, n * sizeof r->batch[0]);
			n = 0;
		}
		uint64_t t = now_ns();
		r->batch[n++] = (struct dpemu_trace_record){
			.time_ns = t > r->t0 ? t - r->t0 : 0,
			.aux = dropped - r->reported,
			.tid = (uint32_t)dpemu_tid(),
			.frame = UINT32_MAX,
			.event = DPEMU_EVENT_LOST,
		};
		r->reported = dropped;
	}
	if (n)
		write_out(r, r->batch, n * sizeof r->batch[0]);
}

static void *writer_main(void *arg)
{
	struct trace_ring *r = arg;

	pthread_setname_np(pthread_self(), "dpemu-trace");
	for (;;) {
		pthread_mutex_lock(&r->mu);
		bool stop = r->stop;
		if (!stop) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += TRACE_PERIOD_NS;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&r->cond, &r->mu, &until);
			stop = r->stop;
		}
		pthread_mutex_unlock(&r->mu);
		drain(r); /* after stop: every producer has finished, see the top */
		if (stop)
			return NULL;
	}
}

/* ---- starting and stopping (API side) --------------------------------- */

/* The ring size: DPEMU_TRACE_RING=records (a power of two is used, at
 * least 2), else the default.  0 or -EINVAL with the message set. */
static int ring_slots(uint64_t *slots)
{
	const char *env = getenv("DPEMU_TRACE_RING");
	char *end;

	*slots = TRACE_RING_DEFAULT;
	if (!env || !*env)
		return 0;
	errno = 0;
	unsigned long long v = strtoull(env, &end, 10);
	if (errno || *end || v < 1 || v > TRACE_RING_MAX)
		return set_error(-EINVAL, "DPEMU_TRACE_RING=%s is not a number of records from 1 "
		                 "to %u", env, TRACE_RING_MAX);
	*slots = 2;
	while (*slots < v)
		*slots <<= 1;
	return 0;
}

static void ring_free(struct trace_ring *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	munmap(r, r->bytes);
}

/*
 * Start tracing pool into the file at path (created or truncated, 0644):
 * the ring, the header, the writer thread, then the ring published.
 * 0, or -EBUSY (already traced), -EINVAL (DPEMU_TRACE_RING), -ENOMEM, the
 * errno of opening or writing path, or pthread_create's; the message set.
 * The caller serialises starts and stops (observe.c's trace_mutex).
 */
int trace_start(struct dpemu_pool *pool, const char *path)
{
	struct trace_ring *r;
	uint64_t slots;
	int err, fd;

	if (atomic_load(&pool->trace))
		return set_error(-EBUSY, "the pool is traced already (dpemu_trace_stop first)");
	if ((err = ring_slots(&slots)))
		return err;
	size_t bytes = sizeof *r + slots * sizeof(struct trace_slot);
	r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	         -1, 0);
	if (r == MAP_FAILED)
		return set_error(-ENOMEM, "no memory for a trace ring of %llu records",
		                 (unsigned long long)slots);
	r->bytes = bytes;
	r->mask = slots - 1;
	r->slots = (struct trace_slot *)(r + 1);
	for (uint64_t i = 0; i < slots; i++)
		atomic_store_explicit(&r->slots[i].seq, i, memory_order_relaxed);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* writer_main's deadlines */
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&r->mu, NULL);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		ring_free(r);
		return set_error(err, "cannot open %s: %s", path, strerror(-err));
	}
	r->fd = fd;

	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	r->t0 = now_ns();
	struct dpemu_trace_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, DPEMU_TRACE_MAGIC, sizeof h.magic);
	h.version = DPEMU_TRACE_VERSION;
	h.header_bytes = sizeof h;
	h.record_bytes = sizeof(struct dpemu_trace_record);
	h.page_size = (uint32_t)pool->page_size;
	h.frames = pool->nframes;
	h.start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	h.start_monotonic_ns = r->t0;
	h.pid = (uint32_t)getpid();
	h.policy = (uint32_t)pool->policy;
	write_out(r, &h, sizeof h);
	if (r->err) {
		err = -r->err;
		close(fd);
		ring_free(r);
		return set_error(err, "cannot write to %s: %s", path, strerror(-err));
	}

	/* The writer blocks every signal from its first instruction on. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = -pthread_create(&r->thread, NULL, writer_main, r);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		close(fd);
		ring_free(r);
		return set_error(err, "cannot start the trace writer thread: %s", strerror(-err));
	}
	atomic_store_explicit(&pool->trace, r, memory_order_release);
	return 0;
}

/*
 * Stop tracing pool: unpublish the ring, wait until no producer is inside
 * it, let the writer drain the rest and exit, close the file and free the
 * ring.  0, -EINVAL (not traced), or the negative errno of the first
 * write that failed (the message set).
 */
int trace_stop(struct dpemu_pool *pool)
{
	struct trace_ring *r = atomic_load(&pool->trace);
	int err = 0;

	if (!r)
		return set_error(-EINVAL, "the pool is not traced");
	atomic_store(&pool->trace, NULL);
	while (atomic_load(&pool->trace_users) != 0)
		sched_yield();
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	if (r->err)
		err = set_error(-r->err, "writing the trace failed: %s", strerror(r->err));
	if (close(r->fd) != 0 && !err)
		err = set_error(-errno, "closing the trace file failed: %s", strerror(errno));
	ring_free(r);
	return err;
}

/* In a child of fork(2), for an inherited pool that is traced: the writer
 * thread stayed with the parent, and the file is the parent's; close our
 * copy of the fd and free our copy of the ring, writing nothing. */
void trace_forget(struct dpemu_pool *pool)
{
	struct trace_ring *r = atomic_load(&pool->trace);

	if (!r)
		return;
	atomic_store(&pool->trace, NULL);
	close(r->fd);
	munmap(r, r->bytes); /* (its mutex may be the parent's, held: not destroyed) */
}
