/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c - the backing-store interface: where swap.c's slots live.  A
 * store is a struct dpemu_store_ops (dpemu.h, dpemu_store(3)) and the
 * object its open returned: the file store (file.c, the default), the
 * Redis store (redis.c, swap_path "redis://..."), or the program's own
 * (dpemu_pool_config.store).  This file opens and closes the store and
 * dispatches every page read, write and discard to it:
 *
 *   - directly, on the calling thread, for a store that says it is
 *     async-signal-safe (DPEMU_STORE_SIGNAL_SAFE: the file store);
 *   - else through the store thread this file starts at open: the caller
 *     puts its request in the mailbox, wakes the thread with a futex and
 *     sleeps on another futex until the thread has answered.  The thread
 *     may call anything (malloc, sockets, stdio); the caller calls only
 *     futex(2).  The mailbox's lock (st->lock, a dpemu lock: lock order
 *     5a, under pool->swap_lock, nothing taken under it) serialises
 *     requests; the thread itself never takes a dpemu lock, so a caller
 *     holding any never waits for something the thread needs.  The thread
 *     touches frames through the pool's direct map only, never an arena,
 *     so it never faults on dpemu memory; it blocks every signal.
 *
 * Each request may first wait the emulated link latency
 * (cfg.store_latency_ns .. store_latency_max_ns, or DPEMU_STORE_LATENCY):
 * a busy wait on CLOCK_MONOTONIC below 100 us, nanosleep above (both
 * async-signal-safe), once per request (a batch pays it once).
 *
 * Fault path: store_read, store_write, store_discard, the batch variants:
 * futex, clock_gettime, nanosleep and the store's own callbacks (direct
 * only for a signal-safe store); no malloc, no stdio; errno saved and
 * restored.  API side: store_open, store_close (malloc, pthread_create,
 * getenv).
 *
 * Layer: store (src/internal.h).  Calls: redis.c and file.c (the stores it
 * opens), base.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

enum store_op { OP_READ, OP_WRITE, OP_DISCARD, OP_READ_BATCH, OP_WRITE_BATCH, OP_STOP };

/* The mailbox between callers and the store thread. */
struct store_thread {
	struct lock lock;     /* one request at a time (lock order 5a)        */
	atomic_int seq;       /* requests posted (the thread sleeps on it)     */
	atomic_int done;      /* requests answered (the caller sleeps on it)   */
	enum store_op op;
	uint64_t slot;
	void *buf;
	const uint64_t *slots;
	void *const *bufs;
	size_t n;
	int result;
	const struct dpemu_store_ops *ops;
	void *obj;
	pthread_t thread;
};

/* ---- latency emulation (fault path) ---------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait the emulated latency of one access to sw's store: a fixed delay, or
 * one drawn uniformly from [lat_min_ns, lat_max_ns] (xorshift64*, lock-free). */
static void store_delay(struct swap_store *sw)
{
	uint64_t d = sw->lat_min_ns;

	if (sw->lat_max_ns > sw->lat_min_ns) {
		uint64_t x = atomic_load_explicit(&sw->lat_state, memory_order_relaxed), y;
		do {
			y = x;
			y ^= y >> 12;
			y ^= y << 25;
			y ^= y >> 27;
		} while (!atomic_compare_exchange_weak(&sw->lat_state, &x, y));
		d += (y * 0x2545f4914f6cdd1dull >> 11) % (sw->lat_max_ns - sw->lat_min_ns + 1);
	}
	if (d == 0)
		return;
	if (d >= 100000) {
		struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return;
	}
	uint64_t end = mono_ns() + d;
	while (mono_ns() < end)
		__builtin_ia32_pause();
}

/* ---- the store thread -------------------------------------------------------- */

/* Run the mailbox's request on the store (the thread, or a direct call). */
static int run_op(const struct dpemu_store_ops *ops, void *obj, enum store_op op, uint64_t slot,
                  void *buf, const uint64_t *slots, void *const *bufs, size_t n)
{
	int err = 0;

	switch (op) {
	case OP_READ:
		err = ops->read(obj, slot, buf);
		break;
	case OP_WRITE:
		err = ops->write(obj, slot, buf);
		break;
	case OP_DISCARD:
		if (ops->discard)
			ops->discard(obj, slot);
		break;
	case OP_READ_BATCH:
		if (ops->read_batch) {
			err = ops->read_batch(obj, slots, bufs, n);
			break;
		}
		for (size_t i = 0; i < n && !err; i++)
			err = ops->read(obj, slots[i], bufs[i]);
		break;
	case OP_WRITE_BATCH:
		if (ops->write_batch) {
			err = ops->write_batch(obj, slots, (const void *const *)bufs, n);
			break;
		}
		for (size_t i = 0; i < n && !err; i++)
			err = ops->write(obj, slots[i], bufs[i]);
		break;
	case OP_STOP:
		break;
	}
	return err > 0 ? -EIO : err; /* a store's positive "error" is still one */
}

static void *store_thread_main(void *arg)
{
	struct store_thread *t = arg;
	int last = 0;

	if (store_thread_hook) /* dpemu run: this thread's mallocs are glibc's */
		store_thread_hook();
	for (;;) {
		int s;
		while ((s = atomic_load(&t->seq)) == last)
			futex_wait(&t->seq, last);
		last = s;
		enum store_op op = t->op;
		if (op != OP_STOP)
			t->result = run_op(t->ops, t->obj, op, t->slot, t->buf, t->slots, t->bufs, t->n);
		atomic_store(&t->done, s);
		futex_wake_one(&t->done);
		if (op == OP_STOP)
			return NULL;
	}
}

/* Hand one request to the store thread and wait for its answer.  Fault
 * path: the mailbox's lock and futex(2) only. */
static int thread_call(struct store_thread *t, enum store_op op, uint64_t slot, void *buf,
                       const uint64_t *slots, void *const *bufs, size_t n)
{
	int s, d, err;

	lock_acquire(&t->lock);
	t->op = op;
	t->slot = slot;
	t->buf = buf;
	t->slots = slots;
	t->bufs = bufs;
	t->n = n;
	s = atomic_fetch_add(&t->seq, 1) + 1;
	futex_wake_one(&t->seq);
	while ((d = atomic_load(&t->done)) != s)
		futex_wait(&t->done, d);
	err = t->result;
	lock_release(&t->lock);
	return err;
}

/* ---- dispatch (fault path) ------------------------------------------------------ */

static int dispatch(struct dpemu_pool *pool, enum store_op op, uint64_t slot, void *buf,
                    const uint64_t *slots, void *const *bufs, size_t n)
{
	struct swap_store *sw = &pool->swap;
	int saved = errno, err;

	if (op != OP_DISCARD)
		store_delay(sw);
	if (sw->thread)
		err = thread_call(sw->thread, op, slot, buf, slots, bufs, n);
	else
		err = run_op(sw->ops, sw->obj, op, slot, buf, slots, bufs, n);
	errno = saved;
	return err;
}

/* Read slot's page into buf (page_size bytes).  0 or a negative errno
 * (-EIO: the store lost it, or failed). */
int store_read(struct dpemu_pool *pool, uint64_t slot, void *buf)
{
	return dispatch(pool, OP_READ, slot, buf, NULL, NULL, 0);
}

/* Write buf (one page) into slot.  0 or a negative errno. */
int store_write(struct dpemu_pool *pool, uint64_t slot, const void *buf)
{
	return dispatch(pool, OP_WRITE, slot, (void *)buf, NULL, NULL, 0);
}

/* Slot holds nothing any more: the store may forget it. */
void store_discard(struct dpemu_pool *pool, uint64_t slot)
{
	if (pool->swap.ops && pool->swap.ops->discard)
		dispatch(pool, OP_DISCARD, slot, NULL, NULL, NULL, 0);
}

/* n pages at once (one round trip for a store with batch callbacks): 0 or
 * the first negative errno. */
int store_read_batch(struct dpemu_pool *pool, const uint64_t *slots, void *const *bufs, size_t n)
{
	return dispatch(pool, OP_READ_BATCH, 0, NULL, slots, bufs, n);
}

int store_write_batch(struct dpemu_pool *pool, const uint64_t *slots, const void *const *bufs,
                      size_t n)
{
	return dispatch(pool, OP_WRITE_BATCH, 0, NULL, slots, (void *const *)bufs, n);
}

/* ---- API side ------------------------------------------------------------------- */

/* Parse "20us", "1.5ms", "5us-50us" (units ns, us, ms, s; none: ns) into
 * [*lo, *hi].  0 or -EINVAL. */
int store_parse_latency(const char *s, uint64_t *lo, uint64_t *hi)
{
	uint64_t v[2] = { 0, 0 };
	int k = 0;

	for (;;) {
		char *end;
		double x = strtod(s, &end);
		double mult = 1;
		if (end == s || x < 0)
			return -EINVAL;
		if (!strncmp(end, "ns", 2)) {
			end += 2;
		} else if (!strncmp(end, "us", 2)) {
			mult = 1e3;
			end += 2;
		} else if (!strncmp(end, "ms", 2)) {
			mult = 1e6;
			end += 2;
		} else if (*end == 's') {
			mult = 1e9;
			end += 1;
		}
		if (x * mult > 60e9)
			return -EINVAL;
		v[k] = (uint64_t)(x * mult + 0.5);
		if (*end == '-' && k == 0) {
			s = end + 1;
			k = 1;
			continue;
		}
		if (*end)
			return -EINVAL;
		break;
	}
	*lo = v[0];
	*hi = k ? v[1] : v[0];
	return *hi < *lo ? -EINVAL : 0;
}

/* Start the store thread for sw's store, every signal blocked in it. */
static int thread_start(struct swap_store *sw)
{
	struct store_thread *t = calloc(1, sizeof *t);
	sigset_t all, old;
	int err;

	if (!t)
		return set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	t->ops = sw->ops;
	t->obj = sw->obj;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t->thread, NULL, store_thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(t);
		return set_error(-err, "dpemu_pool_create: cannot start the thread of the store %s: "
		                 "%s", sw->name, strerror(err));
	}
	sw->thread = t;
	return 0;
}

/*
 * Open pool's backing store for nslots slots: cfg->store if set, else the
 * Redis store for a swap_path "redis://...", else the file store
 * (swap_path, or a temporary file); and the latency to emulate
 * (cfg->store_latency_ns.., else DPEMU_STORE_LATENCY).  0 or a negative
 * errno with the message set; nothing stays open on failure.
 */
int store_open(struct dpemu_pool *pool, const struct dpemu_pool_config *cfg, size_t nslots)
{
	struct swap_store *sw = &pool->swap;
	const char *path = cfg->swap_path;
	const char *env = getenv("DPEMU_STORE_LATENCY");
	void *arg;
	int err;

	sw->lat_min_ns = cfg->store_latency_ns;
	sw->lat_max_ns = cfg->store_latency_max_ns > cfg->store_latency_ns
	                 ? cfg->store_latency_max_ns : cfg->store_latency_ns;
	if (!sw->lat_min_ns && !sw->lat_max_ns && env && *env &&
	    store_parse_latency(env, &sw->lat_min_ns, &sw->lat_max_ns))
		return set_error(-EINVAL, "dpemu_pool_create: DPEMU_STORE_LATENCY=%s is not a "
		                 "latency (20us, 1.5ms, or a range 5us-50us)", env);
	atomic_store(&sw->lat_state, 0x9e3779b97f4a7c15ull ^ (uintptr_t)pool);
	if (cfg->store) {
		if (!cfg->store->read || !cfg->store->write)
			return set_error(-EINVAL, "dpemu_pool_create: the store's read and write "
			                 "callbacks are required");
		sw->ops = cfg->store;
		arg = cfg->store_arg;
		snprintf(sw->name, sizeof sw->name, "%s", cfg->store->name ? cfg->store->name
		         : "(the program's store)");
	} else if (path && !strncmp(path, "redis://", 8)) {
		sw->ops = redis_store_ops();
		if (!sw->ops)
			return set_error(-ENOTSUP, "dpemu_pool_create: the swap store %s is a Redis "
			                 "server, but dpemu was built without hiredis (Debian: "
			                 "apt-get install libhiredis-dev, then ./configure again)",
			                 path);
		arg = (void *)path;
		snprintf(sw->name, sizeof sw->name, "%s", path);
	} else {
		sw->ops = &file_store_ops;
		arg = (void *)path;
		snprintf(sw->name, sizeof sw->name, "%s", path ? path : "(a temporary file)");
	}
	sw->obj = arg;
	if (sw->ops->open) {
		int saved = errno;
		err = sw->ops->open(arg, nslots, pool->page_size, &sw->obj);
		errno = saved;
		if (err) {
			sw->ops = NULL;
			err = err > 0 ? -EIO : err;
			if (cfg->store) /* dpemu's own stores set their message */
				return set_error(err, "dpemu_pool_create: the store %s would not "
				                 "open: %s", sw->name, dpemu_strerror(err));
			return err;
		}
	}
	if (!(sw->ops->flags & DPEMU_STORE_SIGNAL_SAFE)) {
		err = thread_start(sw);
		if (err) {
			if (sw->ops->close)
				sw->ops->close(sw->obj);
			sw->ops = NULL;
			return err;
		}
	}
	return 0;
}

/* Close pool's store (stop its thread first).  In a child of fork(2) the
 * thread is the parent's and the store's contents too: neither is touched,
 * only forgotten. */
void store_close(struct dpemu_pool *pool)
{
	struct swap_store *sw = &pool->swap;
	bool child = pool_inherited(pool);

	if (!sw->ops)
		return;
	if (sw->thread) {
		if (!child) {
			thread_call(sw->thread, OP_STOP, 0, NULL, NULL, NULL, 0);
			pthread_join(sw->thread->thread, NULL);
		}
		free(sw->thread);
		sw->thread = NULL;
	}
	if (sw->ops->close && (!child || sw->ops == &file_store_ops))
		sw->ops->close(sw->obj);
	sw->ops = NULL;
	sw->obj = NULL;
}
