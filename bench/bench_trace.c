/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_trace.c - what observing costs a fault (issue 14): one first-touch
 * fault (a zero fill from a populated pool) timed with
 *   - the latency histograms off (DPEMU_NO_LATENCY=1: no clock read),
 *   - the histograms on (the default),
 *   - the histograms on and the pool traced (dpemu_trace_start),
 * under each backend the kernel allows, and the cost of one
 * clock_gettime(CLOCK_MONOTONIC) for scale (a fault reads it twice).
 *
 * Each configuration runs in a process of its own (DPEMU_NO_LATENCY is
 * read at a process's first pool), configurations interleaved round by
 * round; a sample is the mean over PAGES sequential first touches, and
 * the figure the median of the rounds' samples.
 *
 * Usage: bench_trace [ROUNDS [PAGES]]   (defaults 15 and 4096)
 * Built by `make bench/bench_trace`, not by default; run it on a quiet
 * machine.  Uses only <dpemu.h>, libc and POSIX.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dpemu.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { M_NO_LATENCY, M_LATENCY, M_TRACE, M_COUNT };
static const char *const mode_names[M_COUNT] = { "histograms off", "histograms on",
                                                 "histograms + trace" };
static const char *const backends[] = { "sigsegv", "uffd", "uffd-sigbus" };
#define NBACKENDS 3
#define MAX_ROUNDS 101

static uint64_t now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* In a fresh child: ns per fault over pages first touches, or 0 on error
 * (written to fd as a double). */
static double one_sample(const char *backend, enum mode m, size_t pages, const char *trace)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	dpemu_pool *pool;
	dpemu_space *s;
	void *p;

	setenv("DPEMU_BACKEND", backend, 1);
	if (m == M_NO_LATENCY)
		setenv("DPEMU_NO_LATENCY", "1", 1);
	else
		unsetenv("DPEMU_NO_LATENCY");
	unsetenv("DPEMU_TRACE");
	memset(&pc, 0, sizeof pc);
	pc.frames = pages;
	pc.populate = true;
	memset(&sc, 0, sizeof sc);
	sc.reserve = pages * ps;
	if (dpemu_pool_create(&pc, &pool) || dpemu_space_create(pool, &sc, &s) ||
	    dpemu_map(s, NULL, pages * ps, PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &p))
		return 0;
	if (m == M_TRACE && dpemu_trace_start(pool, trace))
		return 0;
	volatile char *a = p;
	uint64_t t0 = now();
	for (size_t i = 0; i < pages; i++)
		a[i * ps] = 1;
	uint64_t t1 = now();
	if (m == M_TRACE && dpemu_trace_stop(pool))
		return 0;
	dpemu_space_destroy(s);
	dpemu_pool_destroy(pool);
	return (double)(t1 - t0) / (double)pages;
}

static double sample(const char *backend, enum mode m, size_t pages, const char *trace)
{
	int fds[2];
	double v = 0;

	if (pipe(fds))
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		v = one_sample(backend, m, pages, trace);
		if (write(fds[1], &v, sizeof v) != sizeof v)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &v, sizeof v) != sizeof v)
		v = 0;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A backend the kernel allows here: a space can be made with it. */
static int backend_ok(const char *backend)
{
	return sample(backend, M_LATENCY, 1, NULL) > 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	size_t pages = argc > 2 ? (size_t)atol(argv[2]) : 4096;
	static double v[NBACKENDS][M_COUNT][MAX_ROUNDS];
	char trace[] = "/tmp/dpemu-bench-trace-XXXXXX";
	int ok[NBACKENDS];

	if (rounds < 1 || rounds > MAX_ROUNDS || pages < 1) {
		fprintf(stderr, "usage: %s [ROUNDS (1-%d) [PAGES]]\n", argv[0], MAX_ROUNDS);
		return 2;
	}
	int tfd = mkstemp(trace);
	if (tfd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(tfd);

	/* clock_gettime, for scale */
	enum { CALLS = 1000000 };
	volatile uint64_t sink = 0;
	uint64_t c0 = now();
	for (int i = 0; i < CALLS; i++)
		sink = now();
	double clock_ns = (double)(now() - c0) / CALLS;
	(void)sink;

	for (int b = 0; b < NBACKENDS; b++)
		ok[b] = backend_ok(backends[b]);
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < NBACKENDS * M_COUNT; k++) {
			int j = (k + r) % (NBACKENDS * M_COUNT); /* rotate the order */
			int b = j / M_COUNT, m = j % M_COUNT;
			if (ok[b])
				v[b][m][r] = sample(backends[b], (enum mode)m, pages, trace);
		}
	unlink(trace);

	printf("one first-touch fault (zero fill, populated pool), median of %d rounds of "
	       "%zu pages, ns:\n", rounds, pages);
	printf("%-12s %16s %16s %20s %10s %10s\n", "backend", mode_names[0], mode_names[1],
	       mode_names[2], "hist", "trace");
	for (int b = 0; b < NBACKENDS; b++) {
		if (!ok[b]) {
			printf("%-12s (not available here)\n", backends[b]);
			continue;
		}
		double med[M_COUNT];
		for (int m = 0; m < M_COUNT; m++)
			med[m] = median(v[b][m], rounds);
		printf("%-12s %16.0f %16.0f %20.0f %+9.1f%% %+9.1f%%\n", backends[b],
		       med[M_NO_LATENCY], med[M_LATENCY], med[M_TRACE],
		       100.0 * (med[M_LATENCY] - med[M_NO_LATENCY]) / med[M_NO_LATENCY],
		       100.0 * (med[M_TRACE] - med[M_LATENCY]) / med[M_LATENCY]);
	}
	printf("clock_gettime(CLOCK_MONOTONIC): %.1f ns a call (a timed fault makes 2)\n",
	       clock_ns);
	return 0;
}
