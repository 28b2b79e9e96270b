/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_fork.c - a program for tests/test-run.sh: fork(2) with a heap and an
 * mmap'd region full of data.  The child must see the parent's data, write
 * its own over it (and allocate more) without the parent seeing any of
 * it; the parent checks its memory is unchanged after the child is done.
 * Then a child that execs.  Prints the same lines natively and under
 * dpemu run; exits 0 when everything held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEAP (3u << 20)
#define MAPPED (1u << 20)

static int holds(const unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

int main(void)
{
	unsigned char *heap = malloc(HEAP);
	unsigned char *map = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE,
	                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	if (!heap || map == MAP_FAILED)
		return 1;
	fill(heap, HEAP, 1);
	fill(map, MAPPED, 2);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int ok = holds(heap, HEAP, 1) && holds(map, MAPPED, 2);
		unsigned char *more = malloc(HEAP);
		fill(heap, HEAP, 3);
		fill(map, MAPPED, 4);
		if (more)
			fill(more, HEAP, 5);
		ok = ok && more && holds(heap, HEAP, 3) && holds(map, MAPPED, 4) &&
		     holds(more, HEAP, 5);
		free(more);
		printf("child: %s\n", ok ? "saw the parent's memory and wrote its own" : "WRONG");
		fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("parent: the child failed\n");
		return 1;
	}
	if (!holds(heap, HEAP, 1) || !holds(map, MAPPED, 2)) {
		printf("parent: the child's writes reached the parent\n");
		return 1;
	}
	printf("parent: memory unchanged\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo exec in the child", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 1;
	printf("parent: done, %s\n", holds(heap, HEAP, 1) ? "heap intact" : "HEAP CHANGED");
	free(heap);
	return 0;
}
