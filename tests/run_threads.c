/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_threads.c - a program for tests/test-run.sh: 8 threads that each
 * allocate, grow, fill and free blocks of many sizes through the malloc
 * family, and sum what they wrote; the main thread prints the sums.  Its
 * output is the same natively and under `dpemu run`.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 2000

struct work {
	unsigned id;
	uint64_t sum;
	int ok;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	struct work *w = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (w->id + 1);
	unsigned char *keep[64] = { 0 };
	size_t keep_len[64] = { 0 };

	w->ok = 1;
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned slot = (unsigned)(next(&seed) % 64);
		size_t len = 1 + (size_t)(next(&seed) % (r % 50 == 0 ? 200000 : 3000));
		unsigned char *p = realloc(keep[slot], len);
		if (!p) {
			w->ok = 0;
			break;
		}
		/* what realloc kept must still be there */
		size_t old = keep_len[slot] < len ? keep_len[slot] : len;
		for (size_t i = 0; i < old; i++)
			if (p[i] != (unsigned char)(slot + i))
				w->ok = 0;
		for (size_t i = 0; i < len; i++)
			p[i] = (unsigned char)(slot + i);
		keep[slot] = p;
		keep_len[slot] = len;
		w->sum += len + p[len - 1];
		if (r % 7 == 0) {
			void *q = calloc(1 + r % 100, 16);
			unsigned char *c = q;
			for (size_t i = 0; i < (1 + r % 100) * 16; i++)
				if (c[i])
					w->ok = 0;
			free(q);
		}
	}
	for (unsigned i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	struct work w[THREADS];
	uint64_t total = 0;

	for (unsigned i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].id = i;
		if (pthread_create(&t[i], NULL, worker, &w[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		printf("thread %u: sum %llu %s\n", i, (unsigned long long)w[i].sum,
		       w[i].ok ? "ok" : "CORRUPT");
		total += w[i].sum;
	}
	printf("total %llu\n", (unsigned long long)total);
	return 0;
}
