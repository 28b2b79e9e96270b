/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lazy.c - lab 1 (doc/labs/01-lazy-zero-fill.md): a space of PAGES
 * lazily mapped pages over a pool of FRAMES frames; write every WSTEP-th
 * page, read every RSTEP-th, and print what dpemu counted after each
 * step.  Calls only libdpemu and stdio.
 *
 * Usage: ./lazy [PAGES [WSTEP [RSTEP]]]   (default 1024 8 4)
 */
#include <dpemu.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void show(const char *step, dpemu_space *space, dpemu_pool *pool)
{
	struct dpemu_stats st;
	struct dpemu_pool_stats ps;

	dpemu_space_stats(space, &st);
	dpemu_pool_stats(pool, &ps);
	printf("%-8s faults %llu zero_fills %llu pages_resident %llu frames_used %llu zero_maps %llu\n",
	       step, (unsigned long long)st.faults, (unsigned long long)st.zero_fills,
	       (unsigned long long)st.pages_resident, (unsigned long long)ps.frames_used,
	       (unsigned long long)ps.zero_maps);
}

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	size_t wstep = argc > 2 ? strtoul(argv[2], NULL, 0) : 8;
	size_t rstep = argc > 3 ? strtoul(argv[3], NULL, 0) : 4;
	struct dpemu_pool_config pc = { .frames = pages };
	struct dpemu_space_config sc = { 0 };
	struct dpemu_page_info info;
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned long sum = 0;
	char *p;
	int err;

	if (pages == 0 || wstep == 0 || rstep == 0) {
		fprintf(stderr, "usage: lazy [PAGES [WSTEP [RSTEP]]], all > 0\n");
		return 2;
	}
	err = dpemu_pool_create(&pc, &pool);
	if (err == 0) {
		sc.reserve = pages * 4096 * 2;
		err = dpemu_space_create(pool, &sc, &space);
	}
	if (err) {
		fprintf(stderr, "lazy: %s: %s\n", dpemu_strerror(err), dpemu_last_error());
		return 1;
	}
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	err = dpemu_map(space, NULL, pages * psz, PROT_READ | PROT_WRITE,
	                DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&p);
	if (err) {
		fprintf(stderr, "lazy: dpemu_map: %s\n", dpemu_strerror(err));
		return 1;
	}
	printf("mapped %zu pages of %zu bytes at %p\n", pages, psz, (void *)p);
	show("mapped", space, pool);

	for (size_t i = 0; i < pages; i += wstep)
		p[i * psz] = 1;                 /* a write: a zero-filled frame */
	show("written", space, pool);

	for (size_t i = 0; i < pages; i += rstep)
		sum += (unsigned char)p[i * psz + 100]; /* a read */
	show("read", space, pool);

	dpemu_query(space, p + 1 * psz, &info);
	printf("page 1 (never touched): present %d zero %d\n", info.present, info.zero);
	dpemu_query(space, p + rstep * psz, &info);
	printf("page %zu (read): present %d zero %d dirty %d\n", rstep, info.present, info.zero,
	       info.dirty);
	dpemu_query(space, p + wstep * psz, &info);
	printf("page %zu (written): present %d zero %d dirty %d frame %llu\n", wstep, info.present,
	       info.zero, info.dirty, (unsigned long long)info.frame);
	printf("sum of bytes read %lu\n", sum);
	dpemu_space_destroy(space);
	dpemu_pool_destroy(pool);
	return 0;
}
