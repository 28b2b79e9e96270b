/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_redis.c - the Redis store (swap_path "redis://127.0.0.1:PORT"):
 * the test starts its own redis-server on a free loopback port in a
 * temporary directory (no persistence), kills and restarts it, and always
 * shuts it down at the end (atexit in the test's own process; a child
 * whose test fails leaves it to the parent).
 *
 * What is checked (issue 17):
 *  - every byte of a working set four times the pool comes back from the
 *    server across eviction; keys are deleted when slots are freed and
 *    when the pool is destroyed;
 *  - the server killed mid-run: swapped-out pages are HOST faults (-EIO,
 *    a message naming the store), resident pages intact, an eviction to
 *    the dead server fails as a full swap store does (out-of-frames);
 *    restarted empty: the lost pages are HOST faults, never zero pages;
 *  - a server that may evict keys (maxmemory-policy allkeys-lru) is
 *    refused at create with a message;
 *  - two processes, two pools, one server: no key collides.
 * Skipped (77) with a message where redis-server or hiredis is missing;
 * built without hiredis, a redis:// swap path must be refused (ENOTSUP).
 */
#include "swap_env.h"

#include <signal.h>
#include <sys/wait.h>

#ifndef HAVE_HIREDIS
static void test_refused_without_hiredis(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(2, 0);
	dpemu_pool *pool = NULL;
	(void)state;

	cfg.policy = DPEMU_POLICY_FIFO;
	cfg.swap_path = "redis://127.0.0.1:6379";
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -ENOTSUP);
	assert_non_null(strstr(dpemu_last_error(), "hiredis"));
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_refused_without_hiredis) };

	fprintf(stderr, "test_redis: dpemu was built without hiredis; only the refusal is "
	        "checked\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

static char dir[] = "/tmp/dpemu-redis-XXXXXX";
static int port;
static pid_t server = -1;
static char url[64];

/* A free loopback port (bound to 0, read back, closed). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static redisContext *ctl(void)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Start redis-server on port in dir (no save, no AOF); wait until it
 * answers. */
static void server_start(void)
{
	char portbuf[16];

	snprintf(portbuf, sizeof portbuf, "%d", port);
	server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1",
		       "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		redisContext *c = ctl();
		if (c) {
			redisReply *r = redisCommand(c, "PING");
			bool ok = r && r->type == REDIS_REPLY_STATUS;
			freeReplyObject(r);
			redisFree(c);
			if (ok)
				return;
		}
		usleep(10000);
	}
	fail_msg("redis-server did not start on port %d", port);
}

static void server_kill(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

static pid_t parent;

static void cleanup(void)
{
	char cmd[sizeof dir + 16];

	if (getpid() != parent) /* a child whose test failed: the parent cleans up */
		return;
	server_kill();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd)) {
	}
}

/* Keys of dpemu on the server. */
static long long dpemu_keys(void)
{
	redisContext *c = ctl();
	long long n = -1;

	assert_non_null(c);
	redisReply *r = redisCommand(c, "KEYS dpemu:*");
	if (r && r->type == REDIS_REPLY_ARRAY)
		n = (long long)r->elements;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

static dpemu_pool *redis_pool(size_t frames)
{
	return pool_make(frames, DPEMU_POLICY_CLOCK, url, 256);
}

static void fill_tagged(unsigned char *p, size_t n, unsigned tag)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + tag + (i >> 12));
}

static void check_tagged(const unsigned char *p, size_t n, unsigned tag)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + tag + (i >> 12)))
			fail_msg("byte %zu is %u, not %u", i, p[i],
			         (unsigned char)(i * 7 + tag + (i >> 12)));
}

/* A working set 4x the pool, every byte, twice round; keys freed. */
static void test_round_trip(void **state)
{
	(void)state;
	dpemu_pool *pool = redis_pool(8);
	dpemu_space *s = space_make(pool, 32);
	unsigned char *b = map_pages(s, 32, ANON_PRIVATE, -1);

	fill_tagged(b, 32 * ps, 1);
	check_tagged(b, 32 * ps, 1);
	check_tagged(b, 32 * ps, 1);
	assert_true(pstats(pool).swap_ins >= 24);
	assert_int_equal(dpemu_keys(), (long long)pstats(pool).swap_slots_used);
	assert_int_equal(dpemu_unmap(s, b, 16 * ps), 0);
	assert_int_equal(dpemu_keys(), (long long)pstats(pool).swap_slots_used);
	teardown(pool, s, NULL);
	assert_int_equal(dpemu_keys(), 0);
}

/* Whether the server answers. */
static bool server_alive(void)
{
	redisContext *c = ctl();

	if (c)
		redisFree(c);
	return c != NULL;
}

/* In a child: kill the server mid-run, then restart it empty. */
static void killed_child(void)
{
	struct dpemu_fault f;
	dpemu_pool *pool = redis_pool(4);
	dpemu_space *s = space_make(pool, 12);
	unsigned char *b = map_pages(s, 12, ANON_PRIVATE, -1);

	alarm(60);
	for (int i = 0; i < 8; i++)
		fill(b + i * ps, (unsigned char)(0x50 + i)); /* 0..3 swapped, 4..7 resident */
	for (int i = 0; i < 4; i++)
		assert_swapped(s, b + i * ps);
	kill(server, SIGKILL);
	while (server_alive())
		usleep(10000);
	for (int i = 4; i < 8; i++)
		assert_holds(b + i * ps, (unsigned char)(0x50 + i));
	assert_int_equal(dpemu_unmap(s, b + 7 * ps, ps), 0); /* one free frame */
	assert_int_equal(tu_try_access(b, 0, 0, &f), 1);
	assert_int_equal(f.kind, DPEMU_FAULT_HOST);
	assert_int_equal(f.error, -EIO);
	assert_swapped(s, b);
	fill(b + 8 * ps, 0x58); /* takes the free frame */
	assert_int_equal(tu_try_access(b + 9 * ps, 1, 0x59, &f), 1); /* eviction fails */
	assert_int_equal(f.kind, DPEMU_FAULT_OUT_OF_FRAMES);
	for (int i = 4; i < 7; i++)
		assert_holds(b + i * ps, (unsigned char)(0x50 + i));
	assert_holds(b + 8 * ps, 0x58);
	/* Tell the parent to restart the server; wait until it answers. */
	if (write(3, "k", 1) != 1)
		_exit(3);
	while (!server_alive())
		usleep(10000);
	assert_int_equal(dpemu_unmap(s, b + 8 * ps, ps), 0); /* a free frame again */
	for (int i = 0; i < 4; i++) { /* lost with the server: faults, not zeros */
		assert_int_equal(tu_try_access(b + i * ps, 0, 0, &f), 1);
		assert_int_equal(f.kind, DPEMU_FAULT_HOST);
		assert_int_equal(f.error, -EIO);
		assert_swapped(s, b + i * ps);
	}
	for (int i = 9; i < 12; i++) /* evictions work again, to the new server */
		fill(b + i * ps, (unsigned char)(0x50 + i));
	for (int i = 4; i < 7; i++)
		assert_holds(b + i * ps, (unsigned char)(0x50 + i));
	for (int i = 9; i < 12; i++)
		assert_holds(b + i * ps, (unsigned char)(0x50 + i));
	teardown(pool, s, NULL); /* its keys go with it */
	if (dpemu_keys() != 0)
		_exit(4);
	_exit(0);
}

static void test_server_killed(void **state)
{
	int pfd[2], status;
	char c;
	(void)state;

	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 3);
		killed_child();
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) == 1) {
		waitpid(server, NULL, 0); /* the child killed it */
		server = -1;
		server_start();
	}
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (server < 0 || !server_alive()) {
		server_kill();
		server_start();
	}
}

/* A server that may evict keys is refused at create. */
static void test_evicting_server_refused(void **state)
{
	struct dpemu_pool_config cfg = tu_pool_config(2, 0);
	dpemu_pool *pool = NULL;
	redisContext *c = ctl();
	(void)state;

	assert_non_null(c);
	freeReplyObject(redisCommand(c, "CONFIG SET maxmemory-policy allkeys-lru"));
	cfg.policy = DPEMU_POLICY_FIFO;
	cfg.swap_path = url;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -ENODEV);
	assert_non_null(strstr(dpemu_last_error(), "maxmemory-policy allkeys-lru"));
	freeReplyObject(redisCommand(c, "CONFIG SET maxmemory-policy noeviction"));
	redisFree(c);
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
	cfg.swap_path = "redis://127.0.0.1:0";
	assert_int_equal(dpemu_pool_create(&cfg, &pool), -EINVAL);
}

/* Two processes, a pool each, the same slots on one server. */
static void test_two_processes(void **state)
{
	int ready[2], go[2];
	pid_t pid[2];
	(void)state;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			char c;
			alarm(60);
			dpemu_pool *pool = redis_pool(4);
			dpemu_space *s = space_make(pool, 16);
			unsigned char *b = map_pages(s, 16, ANON_PRIVATE, -1);
			fill_tagged(b, 16 * ps, 10 + (unsigned)k);
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(3);
			check_tagged(b, 16 * ps, 10 + (unsigned)k);
			teardown(pool, s, NULL);
			_exit(0);
		}
	}
	char c;
	for (int k = 0; k < 2; k++)
		assert_int_equal(read(ready[0], &c, 1), 1);
	assert_true(dpemu_keys() >= 24); /* 12 swapped pages each, none shared */
	assert_int_equal(write(go[1], "gg", 2), 2);
	for (int k = 0; k < 2; k++) {
		int status;
		assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(dpemu_keys(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_server_killed),
		cmocka_unit_test(test_evicting_server_refused),
		cmocka_unit_test(test_two_processes),
	};
	int rc;

	if (system("command -v redis-server >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_redis: redis-server is not installed (Debian: apt-get "
		        "install redis-server); skipped\n");
		return 77;
	}
	ps = tu_host_page();
	if (!mkdtemp(dir))
		return 1;
	parent = getpid();
	atexit(cleanup);
	port = free_port();
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
	server_start();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cleanup();
	return rc;
}
#endif
