/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loop.c - lab 5's program: PASSES passes over an array of PAGES pages on
 * the heap, one byte of each page read and written per pass, in order -
 * the loop of a program whose data is a little larger than its memory.
 * Usage: ./loop [PAGES [PASSES]] (default 80 pages, 20 passes).
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 80, ps = 4096;
	int passes = argc > 2 ? atoi(argv[2]) : 20;
	unsigned char *a = calloc(pages, ps);
	unsigned long sum = 0;

	if (!a)
		return 1;
	for (int p = 0; p < passes; p++)
		for (size_t i = 0; i < pages; i++)
			sum += a[i * ps] += 1;
	printf("%zu pages, %d passes, sum %lu\n", pages, passes, sum);
	free(a);
	return 0;
}
