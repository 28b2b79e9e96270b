/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_loop.c - a program for tests/test-run.sh: PASSES passes of a compute
 * loop over an 8 MiB array on the heap.  Once its pages are resident, a
 * pass must take no fault under dpemu run: the test compares the faults of
 * 1 pass and of several.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WORDS (1u << 20)

int main(int argc, char **argv)
{
	int passes = argc > 1 ? atoi(argv[1]) : 1;
	uint64_t *a = malloc(WORDS * sizeof *a), sum = 0;

	if (!a)
		return 1;
	for (uint32_t i = 0; i < WORDS; i++)
		a[i] = i;
	for (int p = 0; p < passes; p++)
		for (uint32_t i = 0; i < WORDS; i++) {
			a[i] = a[i] * 3 + 1;
			sum += a[i];
		}
	printf("%d passes, sum %llu\n", passes, (unsigned long long)sum);
	free(a);
	return 0;
}
