/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * demo.c - `dpemu demo`: narrate demand paging in this very process, in
 * scenes: a page faulted in, zero-filled and mapped, with the page table
 * before and after; a file-backed page; a caught fault; a copy-on-write
 * fork; frames returning to the pool; a full pool that evicts pages to
 * swap by the CLOCK policy; and the trace of that last pool's events, read
 * back from the file dpemu_trace_start wrote.  Calls <dpemu.h>, options.c,
 * trace_file.c (the trace's reader) and stdio; a failed library call ends
 * it with status 1 (cli_check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpemu.h"
#include "commands.h"
#include "options.h"
#include "trace_file.h"

static const char demo_usage[] =
	"Usage: dpemu demo\n"
	"\n"
	"Narrate demand paging in this very process: a page faulted in, zero-filled\n"
	"and mapped, with the page table before and after; a file-backed page; a\n"
	"caught fault; a copy-on-write fork; frames returning to the pool; a full\n"
	"pool that evicts pages to swap by the CLOCK policy; and that pool's own\n"
	"event trace (dpemu_trace_start), read back.  Takes no arguments.  Exit\n"
	"status 0, 1 if a library call fails, 2 on a usage error.\n";

static const char *prot_str(int prot)
{
	static char buf[4];
	buf[0] = (prot & PROT_READ) ? 'r' : '-';
	buf[1] = (prot & PROT_WRITE) ? 'w' : '-';
	buf[2] = (prot & PROT_EXEC) ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

static void print_page_table(dpemu_space *s, unsigned char *start, int pages, size_t ps)
{
	printf("    page  address         mapped  present  frame  refs  prot  dirty  cow  swap\n");
	for (int i = 0; i < pages; i++) {
		struct dpemu_page_info pi;
		cli_check(dpemu_query(s, start + (size_t)i * ps, &pi), "dpemu_query");
		printf("    %-4d  %-14p  %-6s  %-7s  ", i, (void *)(start + (size_t)i * ps),
		       pi.mapped ? "yes" : "no", pi.present ? "yes" : "no");
		if (pi.present)
			printf("%5llu  %4u  ", (unsigned long long)pi.frame, pi.frame_refs);
		else
			printf("%5s  %4s  ", "-", "-");
		printf("%-4s  %-5s  %-3s  ", pi.mapped ? prot_str(pi.prot) : "-",
		       pi.present ? (pi.dirty ? "yes" : "no") : "-",
		       pi.present ? (pi.cow ? "yes" : "no") : "-");
		if (pi.swapped)
			printf("slot %llu\n", (unsigned long long)pi.swap_slot);
		else
			printf("-\n");
	}
}

/* The space's and the pool's counters, for the printers below. */
static void get_counts(dpemu_space *s, dpemu_pool *p, struct dpemu_stats *st,
                       struct dpemu_pool_stats *ps)
{
	cli_check(dpemu_space_stats(s, st), "dpemu_space_stats");
	cli_check(dpemu_pool_stats(p, ps), "dpemu_pool_stats");
}

static void print_counts(dpemu_space *s, dpemu_pool *p)
{
	struct dpemu_stats st;
	struct dpemu_pool_stats ps;
	get_counts(s, p, &st, &ps);
	printf("    faults %llu, zero fills %llu, file reads %llu; frames used %llu of %llu\n",
	       (unsigned long long)st.faults, (unsigned long long)st.zero_fills,
	       (unsigned long long)st.file_reads, (unsigned long long)ps.frames_used,
	       (unsigned long long)ps.frames_total);
}

static void touch_unmapped(void *arg)
{
	*(volatile char *)arg = 1;
}

static void print_paging_counts(dpemu_space *s, dpemu_pool *p)
{
	struct dpemu_stats st;
	struct dpemu_pool_stats ps;
	get_counts(s, p, &st, &ps);
	printf("    evictions %llu, swap-outs %llu, swap-ins %llu, reference faults %llu; "
	       "frames used %llu of %llu, swap slots used %llu\n",
	       (unsigned long long)st.evictions, (unsigned long long)st.swap_outs,
	       (unsigned long long)st.swap_ins, (unsigned long long)st.reference_faults,
	       (unsigned long long)ps.frames_used, (unsigned long long)ps.frames_total,
	       (unsigned long long)ps.swap_slots_used);
}

/* A pool of config pc, and its counters in *pst.  Returns its page size. */
static size_t open_pool(const struct dpemu_pool_config *pc, dpemu_pool **pool,
                        struct dpemu_pool_stats *pst)
{
	cli_check(dpemu_pool_create(pc, pool), "dpemu_pool_create");
	cli_check(dpemu_pool_stats(*pool, pst), "dpemu_pool_stats");
	return pst->page_size;
}

/* A space of pool, reserving reserve bytes. */
static dpemu_space *open_space(dpemu_pool *pool, size_t reserve)
{
	struct dpemu_space_config sc = { .reserve = reserve };
	dpemu_space *space;

	cli_check(dpemu_space_create(pool, &sc, &space), "dpemu_space_create");
	return space;
}

/* len bytes of anonymous private read-write pages in space. */
static unsigned char *map_anon(dpemu_space *space, size_t len)
{
	void *out;

	cli_check(dpemu_map(space, NULL, len, PROT_READ | PROT_WRITE,
	                    DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &out), "dpemu_map");
	return out;
}

/* Scenes 10 to 13: a full pool of 3 frames that evicts by the CLOCK
 * policy; p its space's 4 pages. */
static void demo_replacement(dpemu_pool *pool, dpemu_space *space, unsigned char *p,
                             size_t ps, const struct dpemu_pool_stats *pst)
{
	printf("\n10. When memory runs out.  A new pool of only 3 frames, with the CLOCK\n"
	       "   replacement policy and a swap store (an unlinked temporary file of\n"
	       "   %llu slots), and 4 pages mapped.  The program writes pages 0, 1, 2:\n",
	       (unsigned long long)pst->swap_slots);
	for (int i = 0; i < 3; i++)
		p[(size_t)i * ps] = (unsigned char)('0' + i);
	print_page_table(space, p, 4, ps);
	print_paging_counts(space, pool);

	p[3 * ps] = '3';
	printf("\n11. Then page 3.  No frame is free, so the policy picks a victim.  CLOCK\n"
	       "   looks at the oldest frame first; a frame used since the hand last\n"
	       "   passed gets a second chance: its reference bit is cleared (and its\n"
	       "   page's access revoked, so a use would trap and set it again) and the\n"
	       "   hand moves on.  All three were just used, so the hand goes round once\n"
	       "   and takes page 0's frame.  Page 0 is dirty: it is written to a swap\n"
	       "   slot, and its page-table entry now names that slot:\n");
	print_page_table(space, p, 4, ps);
	print_paging_counts(space, pool);

	struct dpemu_page_info pi0;
	cli_check(dpemu_query(space, p, &pi0), "dpemu_query");
	unsigned long long slot0 = pi0.swapped ? (unsigned long long)pi0.swap_slot : 0;

	printf("\n12. The program reads page 0 again: a fault like the first, but the\n"
	       "   page comes back from its swap slot.  It reads '%c'.  Page 1's frame,\n"
	       "   now the oldest with its reference bit clear, was the victim this time:\n",
	       *(volatile unsigned char *)p);
	print_page_table(space, p, 4, ps);
	print_paging_counts(space, pool);
	printf("   Page 0 is clean now, and its frame keeps slot %llu (the swap cache, one\n"
	       "   of the 2 slots used; the swap column names a slot only for a page\n"
	       "   that is not in memory): if it is evicted again before anything\n"
	       "   writes it, nothing is written.\n", slot0);

	volatile unsigned char c = p[2 * ps];
	printf("\n13. Page 2 is still in memory, but the hand cleared its reference bit in\n"
	       "   scene 11: reading it ('%c') traps once more, only to set the bit again -\n"
	       "   a reference fault, the price of emulating the accessed bit that a\n"
	       "   hardware MMU sets for free:\n", c);
	print_paging_counts(space, pool);
}

/* Start tracing pool into a new temporary file, named in path (of len
 * bytes).  Returns 1, or 0 with why (of whylen bytes) it could not: the
 * pool is traced already (DPEMU_TRACE), or no file could be made. */
static int demo_trace_start(dpemu_pool *pool, char *path, size_t len, char *why,
                            size_t whylen)
{
	const char *tmp = getenv("TMPDIR");
	int fd, rc;

	snprintf(path, len, "%s/dpemu-demo-trace-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		snprintf(why, whylen, "no temporary file: %s", strerror(errno));
		return 0;
	}
	close(fd);
	rc = dpemu_trace_start(pool, path);
	if (rc == 0)
		return 1;
	remove(path);
	if (rc == -EBUSY)
		snprintf(why, whylen, "this pool is traced\n"
		         "   already, by DPEMU_TRACE (see 'dpemu trace report' of its file)");
	else
		snprintf(why, whylen, "%s", dpemu_last_error());
	return 0;
}

/* What an event of scene 14 means: its last column. */
static void event_gloss(char *buf, size_t len, const struct dpemu_trace_record *r, size_t ps)
{
	switch (r->event) {
	case DPEMU_EVENT_MAP:
		snprintf(buf, len, "dpemu_map of %llu pages", (unsigned long long)(r->aux / ps));
		break;
	case DPEMU_EVENT_ZERO_FILL:
		snprintf(buf, len, "a first write: a frame filled with zeros");
		break;
	case DPEMU_EVENT_SWAP_OUT:
		snprintf(buf, len, "dirty: written to swap slot %llu", (unsigned long long)r->aux);
		break;
	case DPEMU_EVENT_EVICT:
		snprintf(buf, len, "the frame taken back, CLOCK's victim");
		break;
	case DPEMU_EVENT_SWAP_IN:
		snprintf(buf, len, "read back from swap slot %llu", (unsigned long long)r->aux);
		break;
	case DPEMU_EVENT_REFERENCE:
		snprintf(buf, len, "a trap only to set the reference bit again");
		break;
	case DPEMU_EVENT_DESTROY:
		snprintf(buf, len, "dpemu_space_destroy");
		break;
	default:
		snprintf(buf, len, "%s", dpemu_event_name((enum dpemu_event)r->event));
	}
}

/* Read the trace at path into *out, sorted by time (ties in the file's
 * order: an insertion sort, of a dozen records).  Returns the records, or -1
 * after the reader said why on stderr. */
static long read_demo_trace(const char *path, struct dpemu_trace_record **out)
{
	struct trace_reader tr;
	struct dpemu_trace_record *v = NULL, rec;
	size_t n = 0, cap = 0;
	int rc;

	if (trace_open(&tr, "dpemu demo", path) != 0)
		return -1;
	while ((rc = trace_read(&tr, &rec)) > 0) {
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			v = realloc(v, cap * sizeof *v);
			if (!v) {
				fputs("dpemu demo: out of memory\n", stderr);
				exit(1);
			}
		}
		v[n++] = rec;
	}
	trace_close(&tr);
	if (rc < 0) {
		free(v);
		return -1;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j].time_ns < v[j - 1].time_ns; j--) {
			rec = v[j];
			v[j] = v[j - 1];
			v[j - 1] = rec;
		}
	*out = v;
	return (long)n;
}

/* Scene 14: the events dpemu_trace_start recorded during scenes 10 to
 * 13, read back from path (then removed); p the pages. */
static void demo_show_trace(const char *path, const unsigned char *p, size_t ps)
{
	struct dpemu_trace_record *v = NULL;
	long n = read_demo_trace(path, &v);

	remove(path);
	if (n < 0)
		cli_check(-EIO, "reading the demo's trace");
	printf("\n14. Scenes 10 to 13 were traced: dpemu_trace_start(pool, FILE) recorded\n"
	       "   every event of the pool into a temporary file, in the format of\n"
	       "   dpemu-trace(5) (the one 'dpemu trace report', 'export' and 'plot'\n"
	       "   read; DPEMU_TRACE=FILE traces a program without changing it).  Its %ld\n"
	       "   records, in time order.  A fault's time is its trap, and its latency\n"
	       "   lasts until the access is retried, so the eviction a fault needed\n"
	       "   comes after it, within its latency:\n", n);
	printf("    %9s  %-10s  %4s  %5s  %12s  %s\n", "time (us)", "event", "page", "frame",
	       "latency (us)", "what happened");
	for (long i = 0; i < n; i++) {
		const struct dpemu_trace_record *r = &v[i];
		char page[16] = "-", frame[16] = "-", lat[24] = "-", gloss[64];
		if (r->addr >= (uintptr_t)p && r->addr < (uintptr_t)p + 4 * ps &&
		    r->event != DPEMU_EVENT_MAP)
			snprintf(page, sizeof page, "%zu", (size_t)(r->addr - (uintptr_t)p) / ps);
		if (r->frame != TRACE_NO_FRAME)
			snprintf(frame, sizeof frame, "%u", r->frame);
		if (trace_is_fault(r->event))
			snprintf(lat, sizeof lat, "%.1f", (double)r->latency_ns / 1000);
		event_gloss(gloss, sizeof gloss, r, ps);
		printf("    %9.1f  %-10s  %4s  %5s  %12s  %s\n", (double)r->time_ns / 1000,
		       dpemu_event_name((enum dpemu_event)r->event), page, frame, lat, gloss);
	}
	printf("   Times and latencies differ from run to run; the events do not.  The\n"
	       "   file is removed now.\n");
	free(v);
}

/* Scenes 10 to 14: the CLOCK pool, traced, and its trace. */
static void demo_clock(void)
{
	struct dpemu_pool_config pc = { .frames = 3, .policy = DPEMU_POLICY_CLOCK };
	struct dpemu_pool_stats pst;
	dpemu_pool *pool;
	size_t ps = open_pool(&pc, &pool, &pst);
	char path[512], why[512];
	int traced = demo_trace_start(pool, path, sizeof path, why, sizeof why);
	dpemu_space *space = open_space(pool, 8 * ps);
	unsigned char *p = map_anon(space, 4 * ps);

	demo_replacement(pool, space, p, ps, &pst);
	cli_check(dpemu_space_destroy(space), "dpemu_space_destroy");
	printf("   Destroying the space frees its frames and its swap slots.\n");
	if (traced) {
		cli_check(dpemu_trace_stop(pool), "dpemu_trace_stop");
		demo_show_trace(path, p, ps);
	} else {
		printf("\n14. The trace of scenes 10 to 13 is not shown here: %s.\n", why);
	}
	cli_check(dpemu_pool_destroy(pool), "dpemu_pool_destroy");
}

/* Scene 6: a private mapping of a file, filled from it at its first read. */
static void demo_file(dpemu_space *space, dpemu_pool *pool, size_t ps)
{
	void *out;
	char path[] = "/tmp/dpemu-demo-XXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0) {
		const char text[] = "Hello from a file-backed page!";
		unlink(path);
		if (write(fd, text, sizeof text) == (ssize_t)sizeof text) {
			cli_check(dpemu_map(space, NULL, ps, PROT_READ, DPEMU_MAP_PRIVATE, fd, 0, &out),
			          "dpemu_map (file)");
			printf("\n6. A private file mapping at %p.  Its first read faults, and dpemu\n"
			       "   fills the frame from the file (bytes past the end read as zero):\n"
			       "   \"%s\"\n", out, (char *)out);
			print_counts(space, pool);
		}
		close(fd);
	}
}

/* Scene 7: a fault dpemu cannot resolve, caught by dpemu_catch. */
static void demo_catch(dpemu_space *space, size_t ps)
{
	struct dpemu_fault fault;
	unsigned char *hole = (unsigned char *)dpemu_space_base(space) + 12 * ps;
	int caught = dpemu_catch(touch_unmapped, hole, &fault);
	printf("\n7. A write to %p, where nothing is mapped, is a fault dpemu cannot\n"
	       "   resolve. Normally the program would die of SIGSEGV; dpemu_catch caught\n"
	       "   it: %s, %s fault at %p.\n", (void *)hole, caught ? "caught" : "NOT caught",
	       dpemu_fault_kind_name(fault.kind), fault.addr);
}

/* Scene 8: dpemu_space_fork, and the child's first write to a shared frame. */
static void demo_fork(dpemu_space *space, dpemu_pool *pool, unsigned char *p, size_t ps)
{
	dpemu_space *child;
	struct dpemu_pool_stats before, after;
	struct dpemu_stats cst;
	cli_check(dpemu_space_fork(space, &child), "dpemu_space_fork");
	unsigned char *cp = (unsigned char *)dpemu_space_base(child) +
	                    (p - (unsigned char *)dpemu_space_base(space));
	cli_check(dpemu_pool_stats(pool, &before), "dpemu_pool_stats");
	printf("\n8. dpemu_space_fork: fork(2) for one space.  The child's arena is at %p;\n"
	       "   nothing is copied: page 1's frame is now shared copy-on-write by both\n"
	       "   (cow yes), and its reference count is 2.  The prot column is what the\n"
	       "   mapping allows (rw-); what the host enforces is less, r-- while the\n"
	       "   frame is shared, so that the first write traps.  Parent, then child:\n",
	       (void *)cp);
	print_page_table(space, p, 2, ps);
	print_page_table(child, cp, 2, ps);
	printf("    frames used %llu, shared %llu\n", (unsigned long long)before.frames_used,
	       (unsigned long long)before.frames_shared);
	cp[ps] = 'B';
	cli_check(dpemu_pool_stats(pool, &after), "dpemu_pool_stats");
	cli_check(dpemu_space_stats(child, &cst), "dpemu_space_stats");
	printf("   The child writes 'B' to its page 1: the write traps, dpemu copies the\n"
	       "   shared frame into a new one for the child (cow copies %llu) and drops\n"
	       "   one reference.  The parent still reads '%c', the child '%c':\n",
	       (unsigned long long)cst.cow_copies, p[ps], cp[ps]);
	print_page_table(space, p, 2, ps);
	print_page_table(child, cp, 2, ps);
	printf("    frames used %llu, shared %llu\n", (unsigned long long)after.frames_used,
	       (unsigned long long)after.frames_shared);
	printf("   The parent's page stays copy-on-write with one reference left: its\n"
	       "   next write will keep the frame and just make it writable again.\n");
	cli_check(dpemu_space_destroy(child), "dpemu_space_destroy");
}

/* Scenes 3 to 5: 4 pages mapped, page 1's first write faults it in, and
   later accesses cost nothing.  Returns the pages. */
static unsigned char *demo_first_touch(dpemu_space *space, dpemu_pool *pool, size_t ps)
{
	unsigned char *p = map_anon(space, 4 * ps);

	printf("3. dpemu_map: 4 anonymous read-write pages at %p. Like mmap(2), this\n"
	       "   allocates no frame: the page table only records the lazy mapping.\n"
	       "   Page table before any access:\n", (void *)p);
	print_page_table(space, p, 4, ps);
	print_counts(space, pool);

	printf("\n4. The program writes 'A' to page 1 (%p).  The access traps;\n"
	       "   dpemu finds the mapping in the page table, takes a free frame, fills\n"
	       "   it with zeros, records it in the page-table entry and maps it there;\n"
	       "   then the write resumes as if nothing had happened.\n", (void *)(p + ps));
	p[ps] = 'A';
	printf("   Page table after:\n");
	print_page_table(space, p, 4, ps);
	print_counts(space, pool);
	printf("   Byte 0 of page 1 reads '%c'; byte 1 reads %d (zero-filled).\n", p[ps], p[ps + 1]);

	printf("\n5. Reading and writing page 1 again costs nothing: it has its frame.\n");
	for (int i = 0; i < 100; i++)
		p[ps + 2 + (size_t)i] = (unsigned char)i;
	print_counts(space, pool);
	return p;
}

/*
 * The demo: scenes 1 to 9 in one pool of 8 frames, then demo_clock's 10
 * to 14.  Returns 0; a failed library call exits with status 1
 * (cli_check).
 */
static int demo(void)
{
	struct dpemu_pool_config pc = { .frames = 8 };
	struct dpemu_pool_stats pst;
	dpemu_pool *pool;
	dpemu_space *space;
	unsigned char *p;
	size_t ps;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("dpemu demo: demand paging in a running program\n\n");

	ps = open_pool(&pc, &pool, &pst);
	printf("1. A pool of %llu frames of %zu bytes: the simulated physical memory, one\n"
	       "   shared memory object, so one frame can appear at several addresses.\n\n",
	       (unsigned long long)pst.frames_total, ps);

	space = open_space(pool, 16 * ps);
	printf("2. A space: %zu bytes of addresses reserved at %p.\n"
	       "   Nothing there has a frame yet; every first touch will trap, caught\n"
	       "   %s (see 'dpemu backends').\n\n",
	       dpemu_space_size(space), dpemu_space_base(space),
	       dpemu_space_backend(space) == DPEMU_BACKEND_UFFD
	       ? "by userfaultfd" : "as SIGSEGV through libsigsegv");

	p = demo_first_touch(space, pool, ps);
	demo_file(space, pool, ps);
	demo_catch(space, ps);
	demo_fork(space, pool, p, ps);

	cli_check(dpemu_unmap(space, p, 4 * ps), "dpemu_unmap");
	printf("\n9. The child is destroyed and page 1 unmapped: every frame goes back\n"
	       "   to the pool when its last page goes away.\n");
	print_counts(space, pool);

	cli_check(dpemu_space_destroy(space), "dpemu_space_destroy");
	cli_check(dpemu_pool_destroy(pool), "dpemu_pool_destroy");
	demo_clock();
	printf("\nDone. See dpemu(3) to use the library, and doc/guide.md for the details.\n");
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	int rc = cli_no_args(demo_usage, argc, argv);

	if (rc >= 0)
		return rc;
	if (cli_check_env("dpemu demo") != 0)
		return 2;
	return demo();
}
