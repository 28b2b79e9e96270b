/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * belady.c - lab 3 (doc/labs/03-policies-belady.md): a live program
 * whose heap pages are referenced in the order of Belady's string
 * 1,2,3,4,1,2,5,1,2,3,4,5, REPS times over (each reference a write, so
 * that every page needs a frame of its own).  Run it under dpemu run.
 * Calls only libc.
 *
 * Usage: ./belady [REPS]   (default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const int ref[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
	int reps = argc > 1 ? atoi(argv[1]) : 1;
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	/* Pages 1 to 5 of a page-aligned block (page 0 unused). */
	char *p = aligned_alloc(psz, 6 * psz);

	if (!p)
		return 1;
	for (int r = 0; r < reps; r++)
		for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
			p[ref[i] * psz] += 1;
	printf("page 1 was written %d times\n", p[psz] & 0xff);
	free(p);
	return 0;
}
