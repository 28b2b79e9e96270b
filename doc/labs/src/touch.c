/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * touch.c - lab 1 (doc/labs/01-lazy-zero-fill.md): malloc MIB mebibytes
 * and write one byte in every STEP-th page of it; run under dpemu run.
 * Calls only libc.
 *
 * Usage: ./touch [MIB [STEP]]   (default 64 16)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	size_t step = argc > 2 ? strtoul(argv[2], NULL, 0) : 16;
	size_t psz = (size_t)sysconf(_SC_PAGESIZE), len = mib << 20, touched = 0;
	char *buf = malloc(len);

	if (!buf || step == 0)
		return 1;
	for (size_t off = 0; off < len; off += step * psz, touched++)
		buf[off] = 1;
	printf("allocated %zu pages, touched %zu\n", len / psz, touched);
	free(buf);
	return 0;
}
