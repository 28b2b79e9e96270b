/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * redis.c - the Redis store: swap_path "redis://HOST[:PORT][/DB]" puts a
 * pool's evicted pages on a Redis server, one key per slot,
 *
 *     dpemu:<hostname>:<pid>:<n>:<slot>
 *
 * (<n>: the pool's number in this process), so that pools of several
 * processes and machines share one server without colliding.  A key is
 * deleted when its slot is freed (discard) and every key of the pool when
 * the pool is destroyed (close: SCAN for the prefix).
 *
 * A server that may evict keys would lose pages silently: open refuses
 * one whose maxmemory-policy is not noeviction.  A key that is missing
 * (the server restarted, or was flushed) is -EIO, never a page of zeros;
 * so is a server that is down (each request reconnects once first).
 *
 * hiredis allocates and uses library buffers: this store is not
 * async-signal-safe (no DPEMU_STORE_SIGNAL_SAFE), and store.c drives it
 * from its store thread.  Everything here runs on that thread, or in
 * dpemu_pool_create/destroy: malloc, hiredis, snprintf are fine; no dpemu
 * lock is taken, no memory of a dpemu space touched.
 *
 * Without hiredis (HAVE_HIREDIS undefined) redis_store_ops() is NULL and
 * store.c refuses a redis:// swap path with -ENOTSUP.
 *
 * Layer: store (src/internal.h).  Calls: base (set_error).
 */
#include <errno.h>
#include <stddef.h>

#include "internal.h"

#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct redis_store {
	redisContext *c;
	char host[256];
	int port, db;
	char prefix[320];       /* "dpemu:<hostname>:<pid>:<n>:"                 */
	size_t page_size;
};

/* A request that gets no answer in this long fails (-EIO). */
static const struct timeval redis_timeout = { 5, 0 };

/* Parse "redis://HOST[:PORT][/DB]" into rs.  0 or -EINVAL. */
static int parse_url(const char *url, struct redis_store *rs)
{
	const char *h = url + 8, *end = h + strcspn(h, ":/");
	char *e;

	if (end == h || (size_t)(end - h) >= sizeof rs->host)
		return -EINVAL;
	memcpy(rs->host, h, (size_t)(end - h));
	rs->host[end - h] = 0;
	rs->port = 6379;
	rs->db = 0;
	if (*end == ':') {
		long p = strtol(end + 1, &e, 10);
		if (e == end + 1 || p <= 0 || p > 65535)
			return -EINVAL;
		rs->port = (int)p;
		end = e;
	}
	if (*end == '/') {
		long d = strtol(end + 1, &e, 10);
		if (e == end + 1 || d < 0 || d > 100000)
			return -EINVAL;
		rs->db = (int)d;
		end = e;
	}
	return *end ? -EINVAL : 0;
}

/* (Re)connect and select the database.  0 or -EIO. */
static int connect_server(struct redis_store *rs)
{
	redisReply *r;

	if (rs->c)
		redisFree(rs->c);
	rs->c = redisConnectWithTimeout(rs->host, rs->port, redis_timeout);
	if (!rs->c || rs->c->err)
		return -EIO;
	redisSetTimeout(rs->c, redis_timeout);
	if (rs->db) {
		r = redisCommand(rs->c, "SELECT %d", rs->db);
		bool ok = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (!ok)
			return -EIO;
	}
	return 0;
}

/* A reply to a command, reconnecting once when the connection is broken
 * (the server restarted): NULL if there is none. */
static redisReply *command(struct redis_store *rs, const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		va_list ap;
		redisReply *r;

		if ((!rs->c || rs->c->err) && connect_server(rs))
			return NULL;
		va_start(ap, fmt);
		r = redisvCommand(rs->c, fmt, ap);
		va_end(ap);
		if (r)
			return r;
	}
	return NULL;
}

static void key_of(const struct redis_store *rs, uint64_t slot, char *key, size_t len)
{
	snprintf(key, len, "%s%llu", rs->prefix, (unsigned long long)slot);
}

/* ---- API side ----------------------------------------------------------------- */

static atomic_uint pools_opened;

static int redis_open(void *arg, uint64_t nslots, size_t page_size, void **obj)
{
	const char *url = arg;
	struct redis_store *rs = calloc(1, sizeof *rs);
	char host[128] = "localhost";
	redisReply *r;
	int err;

	if (!rs)
		return set_error(-ENOMEM, "dpemu_pool_create: out of memory");
	rs->page_size = page_size;
	if (parse_url(url, rs)) {
		free(rs);
		return set_error(-EINVAL, "dpemu_pool_create: the swap store %s is not a Redis "
		                 "URL redis://HOST[:PORT][/DB]", url);
	}
	if (connect_server(rs)) {
		err = set_error(-EIO, "dpemu_pool_create: cannot reach the Redis server of the "
		                "swap store %s: %s", url, rs->c ? rs->c->errstr : "out of memory");
		goto fail;
	}
	r = redisCommand(rs->c, "CONFIG GET maxmemory-policy");
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[1]->type != REDIS_REPLY_STRING) {
		err = set_error(-EIO, "dpemu_pool_create: the Redis server of the swap store %s "
		                "did not answer CONFIG GET maxmemory-policy (%s): dpemu cannot "
		                "tell whether it keeps pages", url,
		                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
		freeReplyObject(r);
		goto fail;
	}
	if (strcmp(r->element[1]->str, "noeviction")) {
		err = set_error(-ENODEV, "dpemu_pool_create: the Redis server of the swap store %s "
		                "may evict keys (maxmemory-policy %s), which would lose pages; "
		                "set maxmemory-policy noeviction", url, r->element[1]->str);
		freeReplyObject(r);
		goto fail;
	}
	freeReplyObject(r);
	gethostname(host, sizeof host - 1);
	snprintf(rs->prefix, sizeof rs->prefix, "dpemu:%s:%ld:%u:", host, (long)getpid(),
	         atomic_fetch_add(&pools_opened, 1));
	(void)nslots;
	*obj = rs;
	return 0;
fail:
	if (rs->c)
		redisFree(rs->c);
	free(rs);
	return err;
}

/* Delete every key of the pool, then disconnect. */
static void redis_close(void *obj)
{
	struct redis_store *rs = obj;
	char pattern[sizeof rs->prefix + 2];
	char cursor[32] = "0";

	snprintf(pattern, sizeof pattern, "%s*", rs->prefix);
	do {
		redisReply *r = command(rs, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *d = command(rs, "DEL %s", r->element[1]->element[i]->str);
			freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0"));
	if (rs->c)
		redisFree(rs->c);
	free(rs);
}

/* ---- the store's requests (the store thread) ----------------------------------- */

/* Reply r to a GET of one page into buf: 0, or -EIO (missing, wrong size,
 * an error). */
static int page_from(const struct redis_store *rs, const redisReply *r, void *buf)
{
	if (!r || r->type != REDIS_REPLY_STRING || (size_t)r->len != rs->page_size)
		return -EIO;
	memcpy(buf, r->str, rs->page_size);
	return 0;
}

static int redis_read(void *obj, uint64_t slot, void *buf)
{
	struct redis_store *rs = obj;
	char key[sizeof rs->prefix + 24];

	key_of(rs, slot, key, sizeof key);
	redisReply *r = command(rs, "GET %s", key);
	int err = page_from(rs, r, buf);
	freeReplyObject(r);
	return err;
}

static int redis_write(void *obj, uint64_t slot, const void *buf)
{
	struct redis_store *rs = obj;
	char key[sizeof rs->prefix + 24];

	key_of(rs, slot, key, sizeof key);
	redisReply *r = command(rs, "SET %s %b", key, buf, rs->page_size);
	int err = r && r->type == REDIS_REPLY_STATUS ? 0 : -EIO;
	freeReplyObject(r);
	return err;
}

static void redis_discard(void *obj, uint64_t slot)
{
	struct redis_store *rs = obj;
	char key[sizeof rs->prefix + 24];

	key_of(rs, slot, key, sizeof key);
	freeReplyObject(command(rs, "DEL %s", key));
}

/* n pages in one round trip: MGET. */
static int redis_read_batch(void *obj, const uint64_t *slots, void *const *bufs, size_t n)
{
	struct redis_store *rs = obj;
	char (*keys)[sizeof rs->prefix + 24] = malloc(n * sizeof *keys);
	const char **argv = malloc((n + 1) * sizeof *argv);
	redisReply *r = NULL;
	int err = -EIO;

	if (!keys || !argv)
		goto out;
	argv[0] = "MGET";
	for (size_t i = 0; i < n; i++) {
		key_of(rs, slots[i], keys[i], sizeof keys[i]);
		argv[i + 1] = keys[i];
	}
	for (int attempt = 0; attempt < 2 && !r; attempt++) {
		if ((!rs->c || rs->c->err) && connect_server(rs))
			goto out;
		r = redisCommandArgv(rs->c, (int)n + 1, argv, NULL);
	}
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n)
		goto out;
	err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = page_from(rs, r->element[i], bufs[i]);
out:
	freeReplyObject(r);
	free(argv);
	free(keys);
	return err;
}

/* n pages in one round trip: pipelined SETs. */
static int redis_write_batch(void *obj, const uint64_t *slots, const void *const *bufs, size_t n)
{
	struct redis_store *rs = obj;
	char key[sizeof rs->prefix + 24];
	int err = 0;

	if ((!rs->c || rs->c->err) && connect_server(rs))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		key_of(rs, slots[i], key, sizeof key);
		redisAppendCommand(rs->c, "SET %s %b", key, bufs[i], rs->page_size);
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		if (redisGetReply(rs->c, (void **)&r) != REDIS_OK || !r ||
		    r->type != REDIS_REPLY_STATUS)
			err = -EIO;
		freeReplyObject(r);
		if (rs->c->err)
			return -EIO;
	}
	return err;
}

static const struct dpemu_store_ops redis_ops = {
	.name = "redis",
	.flags = 0, /* hiredis: malloc, library buffers - the store thread */
	.open = redis_open,
	.close = redis_close,
	.read = redis_read,
	.write = redis_write,
	.discard = redis_discard,
	.read_batch = redis_read_batch,
	.write_batch = redis_write_batch,
};
#endif /* HAVE_HIREDIS */

/* The Redis store's callbacks, or NULL when dpemu was built without
 * hiredis. */
const struct dpemu_store_ops *redis_store_ops(void)
{
#ifdef HAVE_HIREDIS
	return &redis_ops;
#else
	return NULL;
#endif
}
