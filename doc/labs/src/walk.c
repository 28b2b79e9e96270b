/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk.c - lab 4 (doc/labs/04-thrashing.md): fill an N x N matrix of
 * doubles (row-major, on the heap) row by row, then sum it PASSES times,
 * by rows or by columns.  Run it under dpemu run.  Calls only libc.
 *
 * Usage: ./walk rows|cols [N [PASSES]]   (default N 256, PASSES 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int cols = argc > 1 && strcmp(argv[1], "cols") == 0;
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 256;
	int passes = argc > 3 ? atoi(argv[3]) : 2;
	double *m, sum = 0;

	if (argc < 2 || (!cols && strcmp(argv[1], "rows") != 0) || n == 0) {
		fprintf(stderr, "usage: walk rows|cols [N [PASSES]]\n");
		return 2;
	}
	m = malloc(n * n * sizeof *m);
	if (!m)
		return 1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			m[i * n + j] = (double)(i + j);
	for (int p = 0; p < passes; p++) {
		if (cols) {
			for (size_t j = 0; j < n; j++)
				for (size_t i = 0; i < n; i++)
					sum += m[i * n + j];
		} else {
			for (size_t i = 0; i < n; i++)
				for (size_t j = 0; j < n; j++)
					sum += m[i * n + j];
		}
	}
	printf("%zu x %zu doubles (%zu KiB), %d pass(es) by %s: sum %.0f\n", n, n,
	       n * n * sizeof *m / 1024, passes, cols ? "columns" : "rows", sum);
	free(m);
	return 0;
}
