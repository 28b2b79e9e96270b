/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_mmap.c - a program for tests/test-run.sh: what a program does with
 * anonymous memory beyond malloc - mmap, mremap (growing in place and
 * moving, shrinking), madvise(MADV_DONTNEED), mprotect (a write to a
 * read-only page caught by its own handler), munmap of part of a mapping,
 * MAP_FIXED over its own mapping, a file mapped with MAP_FIXED over part
 * of an anonymous one and unmapped again.  Prints one line per step; the
 * same lines natively and under dpemu run.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1u << 20)

static sigjmp_buf back;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(back, 1);
}

static int holds(const unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i % 251))
			return 0;
	return 1;
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i % 251);
}

static int zeros(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *volatile a;
	unsigned char *b, *f;
	char path[] = "/tmp/run_mmap-XXXXXX";
	int fd;

	a = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return 1;
	fill(a, MIB, 1);
	printf("mmap: %s\n", holds(a, MIB, 1) ? "ok" : "WRONG");

	b = mremap(a, MIB, 4 * MIB, MREMAP_MAYMOVE);
	printf("mremap grow: %s\n", b != MAP_FAILED && holds(b, MIB, 1) && zeros(b + MIB, 3 * MIB)
	       ? "contents kept, the rest zeros" : "WRONG");
	fill(b, 4 * MIB, 2);
	a = mremap(b, 4 * MIB, 2 * MIB, 0);
	printf("mremap shrink: %s\n", a == b && holds(a, 2 * MIB, 2) ? "ok" : "WRONG");

	madvise(a + ps, 2 * ps, MADV_DONTNEED);
	printf("madvise DONTNEED: %s\n", holds(a, ps, 2) && zeros(a + ps, 2 * ps) &&
	       a[3 * ps] == (unsigned char)(2 + (3 * ps) % 251) ? "zeros there, kept around"
	       : "WRONG");

	signal(SIGSEGV, on_segv);
	mprotect(a, ps, PROT_READ);
	if (sigsetjmp(back, 1) == 0) {
		a[0] = 9;
		printf("mprotect: the write went through: WRONG\n");
	} else {
		printf("mprotect: the write to a read-only page faulted\n");
	}
	mprotect(a, ps, PROT_READ | PROT_WRITE);
	a[0] = 9;

	munmap(a + MIB, MIB);
	printf("munmap of the second half: the first half %s\n",
	       a[0] == 9 && a[MIB - 1] == (unsigned char)(2 + (MIB - 1) % 251) ? "still there"
	       : "WRONG");

	b = mmap(a, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("MAP_FIXED over it: %s\n", b == a && zeros(b, MIB) ? "fresh zeros" : "WRONG");

	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	unlink(path);
	{
		unsigned char *page = malloc(ps);
		fill(page, ps, 7);
		if (write(fd, page, ps) != (ssize_t)ps)
			return 1;
		free(page);
	}
	fill(b, MIB, 5);
	f = mmap(b + 4 * ps, ps, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	printf("a file MAP_FIXED over it: %s, around %s\n",
	       f == b + 4 * ps && holds(f, ps, 7) ? "the file" : "WRONG",
	       holds(b, 4 * ps, 5) ? "kept" : "WRONG");
	munmap(f, ps);
	close(fd);
	munmap(b, MIB);
	printf("done\n");
	return 0;
}
