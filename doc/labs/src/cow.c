/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cow.c - lab 2 (doc/labs/02-cow-fork.md): a parent space writes 16
 * pages, forks a child with dpemu_space_fork, and then child and parent
 * write some of them; after each step it prints both spaces' counters,
 * the pool's frames, and page 0's and page 12's state (frame, reference
 * count, copy-on-write).  Calls only libdpemu and stdio.
 *
 * Usage: ./cow
 */
#include <dpemu.h>
#include <stdio.h>
#include <unistd.h>

#define PAGES 16

static size_t psz;

static void page(const char *who, dpemu_space *s, char *base, size_t n)
{
	struct dpemu_page_info in;

	dpemu_query(s, base + n * psz, &in);
	printf("  %s page %2zu: present %d frame %3llu frame_refs %u cow %d\n", who, n,
	       in.present, (unsigned long long)in.frame, in.frame_refs, in.cow);
}

static void show(const char *step, dpemu_pool *pool, dpemu_space *par, char *pb,
                 dpemu_space *chi, char *cb)
{
	struct dpemu_stats a, b = { 0 };
	struct dpemu_pool_stats ps;

	dpemu_space_stats(par, &a);
	if (chi)
		dpemu_space_stats(chi, &b);
	dpemu_pool_stats(pool, &ps);
	printf("%s: frames_used %llu frames_shared %llu\n", step,
	       (unsigned long long)ps.frames_used, (unsigned long long)ps.frames_shared);
	printf("  parent faults %llu zero_fills %llu cow_copies %llu cow_reuses %llu\n",
	       (unsigned long long)a.faults, (unsigned long long)a.zero_fills,
	       (unsigned long long)a.cow_copies, (unsigned long long)a.cow_reuses);
	if (chi)
		printf("  child  faults %llu zero_fills %llu cow_copies %llu cow_reuses %llu\n",
		       (unsigned long long)b.faults, (unsigned long long)b.zero_fills,
		       (unsigned long long)b.cow_copies, (unsigned long long)b.cow_reuses);
	page("parent", par, pb, 0);
	page("parent", par, pb, 12);
	if (chi) {
		page("child ", chi, cb, 0);
		page("child ", chi, cb, 12);
	}
}

int main(void)
{
	struct dpemu_pool_config pc = { .frames = 64 };
	struct dpemu_space_config sc = { .reserve = 1 << 20 };
	dpemu_pool *pool;
	dpemu_space *par, *chi = NULL;
	char *p, *c;
	int err;

	psz = (size_t)sysconf(_SC_PAGESIZE);
	if ((err = dpemu_pool_create(&pc, &pool)) || (err = dpemu_space_create(pool, &sc, &par)) ||
	    (err = dpemu_map(par, NULL, PAGES * psz, PROT_READ | PROT_WRITE,
	                     DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, (void **)&p))) {
		fprintf(stderr, "cow: %s: %s\n", dpemu_strerror(err), dpemu_last_error());
		return 1;
	}
	for (size_t i = 0; i < PAGES; i++)
		p[i * psz] = 'P';
	show("1. parent wrote its 16 pages", pool, par, p, NULL, NULL);

	if ((err = dpemu_space_fork(par, &chi))) {
		fprintf(stderr, "cow: fork: %s\n", dpemu_strerror(err));
		return 1;
	}
	/* The child's mapping is at the same offset from its base. */
	c = (char *)dpemu_space_base(chi) + (p - (char *)dpemu_space_base(par));
	show("2. after dpemu_space_fork", pool, par, p, chi, c);

	for (size_t i = 0; i < 8; i++)
		c[i * psz] = 'C';
	show("3. child wrote pages 0-7", pool, par, p, chi, c);

	for (size_t i = 0; i < 4; i++)
		p[i * psz] = 'Q';
	show("4. parent wrote pages 0-3", pool, par, p, chi, c);

	for (size_t i = 8; i < 16; i++)
		p[i * psz] = 'Q';
	show("5. parent wrote pages 8-15", pool, par, p, chi, c);

	printf("6. reads: parent page 0 '%c', child page 0 '%c', parent page 12 '%c',"
	       " child page 12 '%c'\n", p[0], c[0], p[12 * psz], c[12 * psz]);
	dpemu_space_destroy(chi);
	show("7. child destroyed", pool, par, p, NULL, NULL);
	dpemu_space_destroy(par);
	dpemu_pool_destroy(pool);
	return 0;
}
