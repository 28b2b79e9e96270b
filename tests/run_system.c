/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_system.c - a program for tests/test-run.sh: system(3) (posix_spawn,
 * a child that shares the parent's memory until it execs) between uses of
 * the heap.  Prints the same lines natively and under dpemu run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int main(void)
{
	char *before = malloc(100000);
	int rc;

	if (!before)
		return 1;
	memset(before, 'b', 99999);
	before[99999] = '\0';
	fflush(stdout);
	rc = system("echo from system; exit 3");
	printf("system returned %d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
	char *after = strdup(before);
	printf("heap %s\n", after && !strcmp(before, after) ? "intact" : "CHANGED");
	free(after);
	free(before);
	return 0;
}
