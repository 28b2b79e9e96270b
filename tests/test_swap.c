/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_swap.c - where evicted pages go and how they come back: the swap
 * store and the files of file mappings, frames shared by several pages,
 * the failures of eviction and the configuration of both.  The reference
 * model that drives every replacement policy with random operations is
 * in test_policy_model.c.
 *
 * What is checked (issue 6):
 *  - without a policy a full pool stays an out-of-frames fault; bad
 *    configurations are refused with a message; swap_path names a file
 *    that is created if missing;
 *  - a clean page is dropped: zeros or its file refill it (a clean file
 *    page is read again, the file's current bytes); a dirty shared file
 *    page is written back to its file; anonymous and dirty private pages
 *    go to swap and come back;
 *  - a frame several pages map (copy-on-write after a fork, a forked
 *    shared mapping) is taken back from all of them, written once, and
 *    shared again by all of them when it comes back; a space whose pages
 *    are swapped forks like any other;
 *  - an eviction that cannot save the page (the swap store's file cannot
 *    be written, the store has no free slot) fails the access that needed the
 *    frame like an empty pool does, damages nothing, and the space works
 *    once frames are free;
 *  - unmapping or destroying swapped pages frees their slots;
 *    dpemu_prefault evicts; dpemu_query tells where a page is.
 *
 * Pages are numbered from 0 here; "page i" is base + i * ps.
 */
#include "swap_env.h"

/* ---- configuration --------------------------------------------------------------- */

/* Without a policy a full pool is a fault the program sees, as before. */
static void test_no_policy_out_of_frames(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_NONE, NULL, 0);
	dpemu_space *s = space_make(pool, 4);
	unsigned char *b = map_pages(s, 4, ANON_PRIVATE, -1);
	struct dpemu_pool_stats st = pstats(pool);

	assert_int_equal(st.policy, DPEMU_POLICY_NONE);
	assert_int_equal(st.swap_slots, 0);
	fill(b, 1);
	fill(b + ps, 2);
	tu_assert_caught(s, b + 2 * ps, 1, DPEMU_FAULT_OUT_OF_FRAMES);
	/* A read maps the zero frame, which is no frame of the pool's; the
	 * first write then needs one. */
	assert_int_equal(((volatile unsigned char *)b)[3 * ps], 0);
	tu_assert_caught(s, b + 3 * ps, 1, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_holds(b, 1);
	assert_holds(b + ps, 2);
	st = pstats(pool);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(stats_of(s).evictions, 0);
	assert_int_equal(dpemu_prefault(s, b + 2 * ps, ps, PROT_WRITE), -ENOSPC);
	teardown(pool, s, NULL);
}

/* Bad configurations are refused with a message, and nothing is made. */
static void test_bad_config(void **state)
{
	char dir[] = "/tmp/dpemu-swap-XXXXXX";
	char path[sizeof dir + 32];
	(void)state;

	assert_int_equal(tu_pool_try((enum dpemu_policy)(DPEMU_POLICY_RANDOM + 1), NULL, 0),
	                 -EINVAL);
	assert_true(strstr(dpemu_last_error(), "policy") != NULL);
	assert_int_equal(tu_pool_try((enum dpemu_policy)-1, NULL, 0), -EINVAL);
	assert_int_equal(tu_pool_try(DPEMU_POLICY_NONE, "/tmp/dpemu-never-made", 0), -EINVAL);
	assert_true(strlen(dpemu_last_error()) > 0);
	assert_int_equal(access("/tmp/dpemu-never-made", F_OK), -1);
	assert_int_equal(tu_pool_try(DPEMU_POLICY_NONE, NULL, 8), -EINVAL);
	assert_true(strlen(dpemu_last_error()) > 0);

	assert_non_null(mkdtemp(dir));
	/* A directory is not a swap store. */
	int rc = tu_pool_try(DPEMU_POLICY_FIFO, dir, 0);
	assert_true(rc < 0);
	assert_true(rc == -EISDIR || rc == -EACCES);
	assert_true(strstr(dpemu_last_error(), dir) != NULL);
	/* A file in a directory that does not exist cannot be created. */
	snprintf(path, sizeof path, "%s/no/such/dir/swap", dir);
	assert_int_equal(tu_pool_try(DPEMU_POLICY_CLOCK, path, 0), -ENOENT);
	assert_true(strstr(dpemu_last_error(), path) != NULL);
	assert_int_equal(rmdir(dir), 0);

	/* Each policy opens a store: 16 slots per frame unless told. */
	for (int p = DPEMU_POLICY_FIFO; p <= DPEMU_POLICY_RANDOM; p++) {
		dpemu_pool *pool = pool_make(4, (enum dpemu_policy)p, NULL, 0);
		struct dpemu_pool_stats st = pstats(pool);
		assert_int_equal(st.policy, p);
		assert_int_equal(st.swap_slots, 64);
		assert_int_equal(st.swap_slots_used, 0);
		assert_int_equal(dpemu_pool_destroy(pool), 0);
	}
	dpemu_pool *pool = pool_make(4, DPEMU_POLICY_LRU, NULL, 3);
	assert_int_equal(pstats(pool).swap_slots, 3);
	assert_int_equal(dpemu_pool_destroy(pool), 0);
}

/* swap_path naming a new file creates it, and evicted pages go there. */
static void test_swap_path_created(void **state)
{
	char dir[] = "/tmp/dpemu-swap-XXXXXX";
	char path[sizeof dir + 16];
	struct stat st;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/swap", dir);
	assert_int_equal(stat(path, &st), -1);
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, path, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);

	dpemu_space *s = space_make(pool, 2);
	unsigned char *b = map_pages(s, 2, ANON_PRIVATE, -1);
	fill(b, 0x5e);
	fill(b + ps, 0x5f); /* page 0 goes to the file */
	assert_swapped(s, b);
	assert_int_equal(stat(path, &st), 0);
	assert_true((size_t)st.st_size >= ps);
	assert_holds(b, 0x5e);
	assert_holds(b + ps, 0x5f);
	teardown(pool, s, NULL);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- dirty state ------------------------------------------------------------------- */

/* A clean anonymous page is dropped and zero-filled again. */
static void test_clean_anonymous_page_dropped(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 2);
	unsigned char *b = map_pages(s, 2, ANON_PRIVATE, -1);

	assert_int_equal(rd(b + 5), 0);
	assert_false(info_of(s, b).dirty);
	assert_int_equal(rd(b + ps), 0); /* evicts page 0 */
	assert_dropped(s, b);
	assert_int_equal(rd(b), 0);
	struct dpemu_stats st = stats_of(s);
	assert_int_equal(st.zero_fills, 3);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.swap_outs, 0);
	assert_int_equal(st.swap_ins, 0);
	assert_int_equal(pstats(pool).swap_outs, 0);
	assert_int_equal(pstats(pool).swap_slots_used, 0);
	teardown(pool, s, NULL);
}

/*
 * A clean file page, of a private or a shared mapping, is dropped and read
 * from its file again: what the file holds by then.
 */
static void clean_file_page(int flags)
{
	char path[64];
	int fd = file_make(2, path);
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_CLOCK, NULL, 0);
	dpemu_space *s = space_make(pool, 2);
	unsigned char *b = map_pages(s, 2, flags, fd);

	assert_holds(b, 'A');
	assert_holds(b + ps, 'B'); /* evicts page 0 */
	assert_dropped(s, b);
	struct dpemu_stats st = stats_of(s);
	assert_int_equal(st.file_reads, 2);
	assert_int_equal(st.evictions, 1);
	/* The file changes while the page is out: the page shows it. */
	assert_int_equal(pwrite(fd, "z", 1, 0), 1);
	assert_int_equal(rd(b), 'z');
	assert_int_equal(rd(b + ps - 1), 'A');
	st = stats_of(s);
	assert_int_equal(st.file_reads, 3);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.swap_outs, 0);
	assert_int_equal(st.swap_ins, 0);
	assert_int_equal(st.writebacks, 0);
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.swap_outs, 0);
	assert_int_equal(pst.writebacks, 0);
	assert_int_equal(pst.swap_slots_used, 0);
	teardown(pool, s, NULL);
	assert_int_equal(file_byte(fd, 1), 'A'); /* nothing was written */
	assert_int_equal(file_byte(fd, (off_t)ps), 'B');
	close(fd);
	unlink(path);
}

static void test_clean_private_file_page_reread(void **state)
{
	(void)state;
	clean_file_page(DPEMU_MAP_PRIVATE);
}

static void test_clean_shared_file_page_reread(void **state)
{
	(void)state;
	clean_file_page(DPEMU_MAP_SHARED);
}

/* A dirty shared file page is written back to its file when evicted, and
 * read from there when it comes back; clean again, it is not rewritten. */
static void test_dirty_shared_file_page_written_back(void **state)
{
	char path[64];
	int fd = file_make(2, path);
	(void)state;
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 2);
	unsigned char *b = map_pages(s, 2, DPEMU_MAP_SHARED, fd);

	fill(b, 0x5a);
	assert_true(info_of(s, b).dirty);
	assert_int_equal(file_byte(fd, 0), 'A');
	assert_holds(b + ps, 'B'); /* evicts page 0: written back */
	assert_dropped(s, b);
	assert_int_equal(file_byte(fd, 0), 0x5a);
	assert_int_equal(file_byte(fd, (off_t)ps - 1), 0x5a);
	assert_int_equal(file_byte(fd, 1), 'A');
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.writebacks, 1);
	assert_int_equal(pst.swap_outs, 0);
	assert_int_equal(pst.swap_slots_used, 0);
	assert_int_equal(stats_of(s).writebacks, 1);

	assert_holds(b, 0x5a); /* read back from the file; evicts page 1 (clean) */
	assert_false(info_of(s, b).dirty);
	assert_int_equal(stats_of(s).file_reads, 3);
	assert_int_equal(rd(b + ps), 'B'); /* evicts page 0, clean: no write */
	assert_int_equal(pstats(pool).writebacks, 1);
	assert_int_equal(stats_of(s).writebacks, 1);
	assert_int_equal(stats_of(s).swap_outs, 0);
	teardown(pool, s, NULL);
	close(fd);
	unlink(path);
}

/*
 * Two spaces of one pool map two files at the same page of their arenas.
 * A's dirty page, evicted for B, goes back to A's file - not to whichever
 * space's file the evictor meets first at that page.
 */
static void test_writeback_goes_to_its_own_file(void **state)
{
	char path_a[64], path_b[64];
	int fa = file_make(1, path_a), fb = file_make(1, path_b);
	(void)state;
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *a = space_make(pool, 1), *b = space_make(pool, 1);
	unsigned char *pa = map_pages(a, 1, DPEMU_MAP_SHARED, fa);
	unsigned char *pb = map_pages(b, 1, DPEMU_MAP_SHARED, fb);

	assert_int_equal(pwrite(fb, "b", 1, 0), 1);
	fill(pa, 0x61);
	assert_int_equal(rd(pb), 'b'); /* evicts A's page: written back */
	assert_dropped(a, pa);
	assert_int_equal(file_byte(fa, 0), 0x61);
	assert_int_equal(file_byte(fa, (off_t)ps - 1), 0x61);
	assert_int_equal(file_byte(fb, 0), 'b');
	assert_int_equal(file_byte(fb, 1), 'A');
	assert_int_equal(stats_of(a).writebacks, 1);
	assert_int_equal(stats_of(b).writebacks, 0);
	assert_int_equal(rd(pb + ps - 1), 'A');
	fill(pb, 0x62);
	assert_holds(pa, 0x61); /* evicts B's page */
	assert_int_equal(file_byte(fb, 0), 0x62);
	assert_int_equal(file_byte(fa, 0), 0x61);
	teardown(pool, a, b);
	assert_int_equal(file_byte(fa, 0), 0x61);
	assert_int_equal(file_byte(fb, 0), 0x62);
	close(fa);
	close(fb);
	unlink(path_a);
	unlink(path_b);
}

/* A dirty page of a private file mapping goes to swap, not to its file,
 * and comes back from swap. */
static void test_dirty_private_file_page_swapped(void **state)
{
	char path[64];
	int fd = file_make(2, path);
	(void)state;
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_LRU, NULL, 0);
	dpemu_space *s = space_make(pool, 2);
	unsigned char *b = map_pages(s, 2, DPEMU_MAP_PRIVATE, fd);

	wr(b, 'x');
	assert_holds(b + ps, 'B'); /* evicts page 0 to swap */
	assert_swapped(s, b);
	assert_int_equal(file_byte(fd, 0), 'A');
	assert_int_equal(pstats(pool).swap_outs, 1);
	assert_int_equal(pstats(pool).swap_slots_used, 1);
	assert_int_equal(rd(b), 'x');
	assert_int_equal(rd(b + 1), 'A');
	assert_int_equal(rd(b + ps - 1), 'A');
	struct dpemu_stats st = stats_of(s);
	assert_int_equal(st.swap_outs, 1);
	assert_int_equal(st.swap_ins, 1);
	assert_int_equal(st.file_reads, 2); /* page 0 was not read again */
	assert_int_equal(st.writebacks, 0);
	assert_int_equal(pstats(pool).writebacks, 0);
	teardown(pool, s, NULL);
	assert_int_equal(file_byte(fd, 0), 'A');
	close(fd);
	unlink(path);
}

/* Anonymous pages go to swap, each to its own slot, and come back. */
static void test_anonymous_pages_swapped(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 6);
	unsigned char *b = map_pages(s, 6, ANON_PRIVATE, -1);

	for (int i = 0; i < 6; i++)
		fill(b + i * ps, (unsigned char)(0x30 + i));
	for (int i = 0; i < 4; i++) {
		assert_swapped(s, b + i * ps);
		for (int j = 0; j < i; j++)
			assert_true(info_of(s, b + i * ps).swap_slot !=
			            info_of(s, b + j * ps).swap_slot);
	}
	assert_true(info_of(s, b + 4 * ps).present);
	assert_false(info_of(s, b + 4 * ps).swapped);
	assert_int_equal(pstats(pool).swap_slots_used, 4);
	assert_int_equal(pstats(pool).swap_outs, 4);
	for (int i = 5; i >= 0; i--) /* the resident ones first */
		assert_holds(b + i * ps, (unsigned char)(0x30 + i));
	assert_int_equal(stats_of(s).swap_ins, 4);
	assert_int_equal(pstats(pool).swap_ins, 4);
	teardown(pool, s, NULL);
}

/* ---- shared frames ------------------------------------------------------------------- */

/*
 * A frame shared copy-on-write by a parent and its fork child is taken
 * back from both, written to swap once, and when it comes back both share
 * it again (read once); a write then copies it as before.
 */
static void test_cow_frame_swapped_once(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *p = space_make(pool, 4), *c;
	unsigned char *b = map_pages(p, 4, ANON_PRIVATE, -1);

	fill(b, 0x11);
	assert_int_equal(dpemu_space_fork(p, &c), 0);
	unsigned char *cb = in(c, p, b);
	assert_int_equal(info_of(c, cb).frame_refs, 2);
	fill(b + ps, 0x12);
	fill(b + 2 * ps, 0x13); /* evicts page 0's frame, from both */
	assert_swapped(p, b);
	assert_swapped(c, cb);
	assert_int_equal(info_of(p, b).swap_slot, info_of(c, cb).swap_slot);
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.evictions, 1);
	assert_int_equal(pst.swap_outs, 1);
	assert_int_equal(pst.swap_slots_used, 1);
	struct dpemu_stats ps_ = stats_of(p), cs = stats_of(c);
	assert_int_equal(ps_.evictions, 1);
	assert_int_equal(cs.evictions, 1);
	assert_int_equal(ps_.swap_outs + cs.swap_outs, 1);
	assert_int_equal(cs.pages_resident, 0);

	assert_holds(b, 0x11);  /* read back; evicts page 1 */
	assert_holds(cb, 0x11); /* found in memory */
	struct dpemu_page_info pi = info_of(p, b), ci = info_of(c, cb);
	assert_true(pi.present && ci.present);
	assert_int_equal(pi.frame, ci.frame);
	assert_int_equal(pi.frame_refs, 2);
	assert_int_equal(ci.frame_refs, 2);
	assert_true(pi.cow && ci.cow);
	pst = pstats(pool);
	assert_int_equal(pst.swap_ins, 1);
	assert_int_equal(pst.frames_shared, 1);
	assert_int_equal(stats_of(p).swap_ins + stats_of(c).swap_ins, 1);

	fill(cb, 0x21); /* a copy for the child, evicting page 2 */
	assert_holds(b, 0x11);
	assert_holds(cb, 0x21);
	assert_int_equal(stats_of(c).cow_copies, 1);
	fill(b, 0x31); /* the parent keeps the frame */
	assert_holds(cb, 0x21);
	assert_holds(b + ps, 0x12);
	assert_holds(b + 2 * ps, 0x13);
	assert_holds(b, 0x31);
	assert_holds(cb, 0x21);
	teardown(pool, p, c);
}

/*
 * A page of a forked shared anonymous mapping is taken back from both
 * spaces, swapped once, and comes back shared: a write in one shows in
 * the other, also after it went to swap again.
 */
static void test_shared_mapping_frame_swapped_once(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *p = space_make(pool, 4), *c;
	unsigned char *b = map_pages(p, 4, ANON_SHARED, -1);

	fill(b, 0x11);
	assert_int_equal(dpemu_space_fork(p, &c), 0);
	unsigned char *cb = in(c, p, b);
	assert_holds(cb, 0x11);
	assert_int_equal(info_of(c, cb).frame_refs, 2);
	fill(b + ps, 0x12);
	fill(b + 2 * ps, 0x13); /* evicts page 0 */
	assert_swapped(p, b);
	assert_swapped(c, cb);
	assert_int_equal(info_of(p, b).swap_slot, info_of(c, cb).swap_slot);
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.swap_outs, 1);
	assert_int_equal(pst.swap_slots_used, 1);
	assert_int_equal(stats_of(p).swap_outs + stats_of(c).swap_outs, 1);

	assert_holds(b, 0x11);  /* evicts page 1 */
	assert_holds(cb, 0x11);
	struct dpemu_page_info pi = info_of(p, b), ci = info_of(c, cb);
	assert_true(pi.present && ci.present);
	assert_int_equal(pi.frame, ci.frame);
	assert_int_equal(pi.frame_refs, 2);
	assert_int_equal(ci.frame_refs, 2);
	assert_false(pi.cow || ci.cow);
	assert_int_equal(pstats(pool).swap_ins, 1);

	fill(cb, 0x22);
	assert_holds(b, 0x22);
	/* Out and back once more: the write went with it. */
	assert_holds(b + ps, 0x12);
	assert_holds(b + 2 * ps, 0x13);
	assert_swapped(p, b);
	assert_swapped(c, cb);
	assert_int_equal(pstats(pool).swap_outs, 4); /* 0 twice, 1, 2 */
	assert_holds(cb, 0x22);
	assert_holds(b, 0x22);
	assert_int_equal(info_of(p, b).frame, info_of(c, cb).frame);
	fill(b, 0x33);
	assert_holds(cb, 0x33);
	teardown(pool, p, c);
}

/*
 * A dirty page of a forked shared file mapping is written back to its
 * file once for both spaces, and comes back shared by both.
 */
static void test_forked_shared_file_page_written_once(void **state)
{
	char path[64];
	int fd = file_make(3, path);
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *p = space_make(pool, 3), *c;
	unsigned char *b = map_pages(p, 3, DPEMU_MAP_SHARED, fd);

	fill(b, 0x61);
	assert_int_equal(dpemu_space_fork(p, &c), 0);
	unsigned char *cb = in(c, p, b);
	fill(cb, 0x62);
	assert_holds(b, 0x62);
	assert_int_equal(rd(b + ps), 'B');
	assert_int_equal(rd(b + 2 * ps), 'C'); /* evicts page 0 */
	assert_dropped(p, b);
	assert_dropped(c, cb);
	assert_int_equal(file_byte(fd, 0), 0x62);
	assert_int_equal(file_byte(fd, (off_t)ps - 1), 0x62);
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.writebacks, 1);
	assert_int_equal(pst.swap_outs, 0);
	assert_int_equal(pst.swap_slots_used, 0);
	assert_int_equal(stats_of(p).writebacks + stats_of(c).writebacks, 1);

	assert_holds(cb, 0x62); /* from the file */
	assert_holds(b, 0x62);
	assert_int_equal(info_of(p, b).frame, info_of(c, cb).frame);
	assert_int_equal(info_of(p, b).frame_refs, 2);
	assert_int_equal(stats_of(p).file_reads + stats_of(c).file_reads, 4);
	fill(b, 0x63);
	assert_holds(cb, 0x63);
	teardown(pool, p, c);
	assert_int_equal(file_byte(fd, 0), 0x63); /* written back at destroy */
	close(fd);
	unlink(path);
}

/*
 * A write to a page shared copy-on-write needs two frames at once: the one
 * it copies from and the copy.  Making room never evicts the first: with
 * one frame the write fails as out-of-frames (instead of swapping the
 * source out and in for ever), with two the other frame goes although
 * FIFO would take the source.
 */
static void test_cow_break_keeps_its_source(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *p = space_make(pool, 2), *c;
	unsigned char *b = map_pages(p, 2, ANON_PRIVATE, -1);

	fill(b, 1);
	assert_int_equal(dpemu_space_fork(p, &c), 0);
	unsigned char *cb = in(c, p, b);
	tu_assert_caught(c, cb, 1, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_holds(cb, 1);
	assert_holds(b, 1);
	assert_true(info_of(p, b).present);
	assert_int_equal(pstats(pool).evictions, 0);
	assert_int_equal(dpemu_unmap(p, b, ps), 0); /* the child's alone now */
	fill(cb, 2);
	assert_int_equal(stats_of(c).cow_reuses, 1);
	assert_holds(cb, 2);
	teardown(pool, p, c);

	pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	p = space_make(pool, 2);
	b = map_pages(p, 2, ANON_PRIVATE, -1);
	fill(b, 1);      /* the oldest frame */
	fill(b + ps, 2);
	assert_int_equal(dpemu_space_fork(p, &c), 0);
	cb = in(c, p, b);
	fill(cb, 3);     /* evicts page 1's frame, not page 0's */
	assert_true(info_of(p, b).present);
	assert_swapped(p, b + ps);
	assert_swapped(c, cb + ps);
	assert_int_equal(pstats(pool).evictions, 1);
	assert_int_equal(stats_of(c).cow_copies, 1);
	assert_holds(b, 1);
	assert_holds(cb, 3);
	assert_holds(b + ps, 2);
	assert_holds(cb + ps, 2);
	teardown(pool, p, c);
}

/* Swap out page 0 of a fresh space over a 2-frame FIFO pool. */
static unsigned char *swapped_page_space(dpemu_pool **pool, dpemu_space **s, int flags)
{
	*pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	*s = space_make(*pool, 4);
	unsigned char *b = map_pages(*s, 4, flags, -1);
	fill(b, 0x11);
	fill(b + ps, 0x12);
	fill(b + 2 * ps, 0x13);
	assert_swapped(*s, b);
	return b;
}

/* A private page that is in swap when its space forks: both see it, and a
 * write in one does not show in the other (either one first). */
static void test_fork_swapped_private(void **state)
{
	dpemu_pool *pool;
	dpemu_space *p, *c;
	(void)state;

	for (int child_first = 0; child_first < 2; child_first++) {
		unsigned char *b = swapped_page_space(&pool, &p, ANON_PRIVATE);
		assert_int_equal(dpemu_space_fork(p, &c), 0);
		unsigned char *cb = in(c, p, b);
		assert_swapped(c, cb);
		assert_int_equal(info_of(c, cb).swap_slot, info_of(p, b).swap_slot);
		assert_int_equal(pstats(pool).swap_slots_used, 1);
		if (child_first) {
			fill(cb, 0x22); /* straight to a write */
			assert_holds(b, 0x11);
		} else {
			assert_holds(cb, 0x11);
			assert_holds(b, 0x11);
			assert_int_equal(info_of(p, b).frame, info_of(c, cb).frame);
			assert_int_equal(pstats(pool).swap_ins, 1);
			fill(cb, 0x22);
		}
		assert_holds(b, 0x11);
		fill(b, 0x33);
		assert_holds(cb, 0x22);
		assert_holds(b, 0x33);
		assert_holds(b + ps, 0x12);
		assert_holds(in(c, p, b + ps), 0x12);
		assert_holds(in(c, p, b + 2 * ps), 0x13);
		teardown(pool, p, c);
	}
}

/* A shared page that is in swap when its space forks (its mapping had
 * never been forked): a write in either shows in the other. */
static void test_fork_swapped_shared(void **state)
{
	dpemu_pool *pool;
	dpemu_space *p, *c;
	(void)state;

	for (int child_first = 0; child_first < 2; child_first++) {
		unsigned char *b = swapped_page_space(&pool, &p, ANON_SHARED);
		assert_int_equal(dpemu_space_fork(p, &c), 0);
		unsigned char *cb = in(c, p, b);
		assert_swapped(c, cb);
		assert_swapped(p, b);
		assert_int_equal(info_of(c, cb).swap_slot, info_of(p, b).swap_slot);
		if (child_first) {
			fill(cb, 0x22);
			assert_holds(b, 0x22);
		} else {
			assert_holds(b, 0x11);
			fill(b, 0x22);
			assert_holds(cb, 0x22);
		}
		assert_int_equal(info_of(p, b).frame, info_of(c, cb).frame);
		assert_int_equal(pstats(pool).swap_ins, 1);
		fill(cb, 0x33);
		assert_holds(b, 0x33);
		fill(b, 0x44);
		assert_holds(cb, 0x44);
		assert_holds(in(c, p, b + 2 * ps), 0x13);
		assert_holds(b + ps, 0x12);
		teardown(pool, p, c);
	}
}

/* ---- faults while evicting -------------------------------------------------------------- */

/*
 * Access addr while every write to a regular file fails (RLIMIT_FSIZE 0,
 * SIGXFSZ ignored: EFBIG), as a full swap store's would; only around the
 * access, so that the test's own output still goes out.  (A device such
 * as /dev/full is no longer accepted as a swap store.)
 */
static void caught_store_full(dpemu_space *s, void *addr, int write)
{
	struct rlimit old, lim;
	struct sigaction ign, old_sa;
	struct dpemu_fault f;
	int rc;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = tu_try_access(addr, write, 0x3c, &f);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
	assert_int_equal(rc, 1);
	assert_int_equal(f.kind, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_ptr_equal(f.addr, addr);
}

/* Every write to the swap store fails (EFBIG, see caught_store_full): the
 * access that needed a frame fails as out-of-frames, nothing is lost, and
 * once frames are free the space works. */
static void test_swap_write_fails(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 6);
	unsigned char *b = map_pages(s, 6, ANON_PRIVATE, -1);

	fill(b, 0x10);
	fill(b + ps, 0x11);
	caught_store_full(s, b + 2 * ps, 1);
	caught_store_full(s, b + 3 * ps + 9, 0);
	assert_false(info_of(s, b + 2 * ps).present);
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.evictions, 0);
	assert_int_equal(pst.swap_outs, 0);
	assert_int_equal(stats_of(s).evictions, 0);
	assert_holds(b, 0x10);
	assert_holds(b + ps, 0x11);
	assert_true(info_of(s, b).present);
	assert_true(info_of(s, b).dirty);
	/* Again, now that the pages have been used since. */
	caught_store_full(s, b + 2 * ps, 1);
	assert_holds(b, 0x10);
	assert_holds(b + ps, 0x11);

	assert_int_equal(dpemu_unmap(s, b + ps, ps), 0);
	fill(b + 2 * ps, 0x12);
	assert_holds(b + 2 * ps, 0x12);
	assert_holds(b, 0x10);
	assert_int_equal(dpemu_unmap(s, b, ps), 0);
	fill(b + 3 * ps, 0x13);
	assert_holds(b + 2 * ps, 0x12);
	assert_holds(b + 3 * ps, 0x13);
	teardown(pool, s, NULL);
}

/*
 * Writing a dirty shared file page back fails (here: past RLIMIT_FSIZE,
 * EFBIG): the access that needed the frame fails as out-of-frames, the
 * page keeps its bytes, and once the file can be written the eviction
 * goes through and the file gets them.
 */
static void test_file_writeback_fails(void **state)
{
	char path[64];
	int fd = file_make(2, path);
	struct rlimit old, lim;
	struct sigaction ign, old_sa;
	(void)state;
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 3);
	unsigned char *b = map_pages(s, 2, DPEMU_MAP_SHARED, fd);
	unsigned char *anon = map_pages(s, 1, ANON_PRIVATE, -1);

	fill(b + ps, 0x71); /* page 1: file offset ps */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = ps; /* no write at or past offset ps */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	tu_assert_caught(s, anon, 1, DPEMU_FAULT_OUT_OF_FRAMES);
	tu_assert_caught(s, b, 0, DPEMU_FAULT_OUT_OF_FRAMES);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
	assert_int_equal(file_byte(fd, (off_t)ps), 'B');
	assert_holds(b + ps, 0x71);
	assert_true(info_of(s, b + ps).dirty);
	assert_int_equal(pstats(pool).writebacks, 0);

	fill(anon, 0x72); /* now it goes */
	assert_dropped(s, b + ps);
	assert_int_equal(file_byte(fd, (off_t)ps), 0x71);
	assert_int_equal(file_byte(fd, 2 * (off_t)ps - 1), 0x71);
	assert_int_equal(pstats(pool).writebacks, 1);
	assert_holds(b + ps, 0x71);
	assert_holds(anon, 0x72);
	teardown(pool, s, NULL);
	close(fd);
	unlink(path);
}

/*
 * The swap store loses a page (its file is cut short behind dpemu's back):
 * bringing the page back fails as a host fault with -EIO, the page stays
 * in swap, the frame it was to get goes back to the pool and the space
 * goes on; unmapping the page frees its slot.
 */
static void test_swap_read_fails(void **state)
{
	char dir[] = "/tmp/dpemu-swap-XXXXXX";
	char path[sizeof dir + 16];
	struct dpemu_fault f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/swap", dir);
	dpemu_pool *pool = pool_make(1, DPEMU_POLICY_FIFO, path, 0);
	dpemu_space *s = space_make(pool, 3);
	unsigned char *b = map_pages(s, 3, ANON_PRIVATE, -1);
	fill(b, 0x11);
	fill(b + ps, 0x12); /* page 0 to swap */
	assert_swapped(s, b);
	assert_holds(b + ps, 0x12);
	assert_int_equal(dpemu_unmap(s, b + ps, ps), 0); /* a free frame */
	assert_int_equal(truncate(path, 0), 0);

	assert_int_equal(tu_try_access(b, 0, 0, &f), 1);
	assert_int_equal(f.kind, DPEMU_FAULT_HOST);
	assert_int_equal(f.error, -EIO);
	assert_ptr_equal(f.addr, b);
	assert_swapped(s, b);
	assert_int_equal(pstats(pool).swap_slots_used, 1);
	assert_int_equal(pstats(pool).frames_used, 0);
	assert_int_equal(stats_of(s).swap_ins, 0);
	fill(b + 2 * ps, 0x13); /* the space goes on */
	assert_holds(b + 2 * ps, 0x13);
	assert_int_equal(dpemu_unmap(s, b, ps), 0);
	assert_int_equal(pstats(pool).swap_slots_used, 0);
	teardown(pool, s, NULL);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The swap store is full: the access that needed a frame fails as
 * out-of-frames, the swapped and resident pages keep their contents, and
 * once frames are free the swapped pages come back and new ones work. */
static void test_swap_store_full(void **state)
{
	(void)state;
	for (size_t slots = 1; slots <= 2; slots++) {
		dpemu_pool *pool = pool_make(2, DPEMU_POLICY_CLOCK, NULL, slots);
		dpemu_space *s = space_make(pool, 8);
		unsigned char *b = map_pages(s, 8, ANON_PRIVATE, -1);
		size_t full = 2 + slots; /* pages that fit: frames + slots */

		for (size_t i = 0; i < full; i++)
			fill(b + i * ps, (unsigned char)(0x40 + i));
		struct dpemu_pool_stats pst = pstats(pool);
		assert_int_equal(pst.swap_slots, slots);
		assert_int_equal(pst.swap_slots_used, slots);
		assert_int_equal(pst.swap_outs, slots);
		tu_assert_caught(s, b + full * ps, 1, DPEMU_FAULT_OUT_OF_FRAMES);
		tu_assert_caught(s, b + (full + 1) * ps, 0, DPEMU_FAULT_OUT_OF_FRAMES);
		assert_int_equal(pstats(pool).swap_outs, slots);
		assert_int_equal(pstats(pool).swap_slots_used, slots);
		for (size_t i = 0; i < slots; i++)
			assert_swapped(s, b + i * ps);
		for (size_t i = slots; i < full; i++)
			assert_holds(b + i * ps, (unsigned char)(0x40 + i));

		/* Free the frames: the swapped pages come back, then new ones. */
		assert_int_equal(dpemu_unmap(s, b + slots * ps, 2 * ps), 0);
		for (size_t i = 0; i < slots; i++)
			assert_holds(b + i * ps, (unsigned char)(0x40 + i));
		assert_int_equal(pstats(pool).swap_ins, slots);
		assert_int_equal(dpemu_unmap(s, b, slots * ps), 0);
		assert_int_equal(pstats(pool).swap_slots_used, 0);
		for (size_t i = full; i < full + 2; i++)
			fill(b + i * ps, (unsigned char)(0x40 + i));
		for (size_t i = full; i < full + 2; i++)
			assert_holds(b + i * ps, (unsigned char)(0x40 + i));
		teardown(pool, s, NULL);
	}
}

/* ---- protections and page sizes ------------------------------------------------------------ */

/* Pages keep their protection through swap: a read-only page comes back
 * read-only, a PROT_NONE one is not brought back by an access at all. */
static void test_protection_survives_swap(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_CLOCK, NULL, 0);
	dpemu_space *s = space_make(pool, 4);
	unsigned char *b = map_pages(s, 4, ANON_PRIVATE, -1);

	fill(b, 0x71);
	fill(b + ps, 0x72);
	assert_int_equal(dpemu_protect(s, b, ps, PROT_READ), 0);
	assert_int_equal(dpemu_protect(s, b + ps, ps, PROT_NONE), 0);
	fill(b + 2 * ps, 0x73);
	fill(b + 3 * ps, 0x74);
	assert_swapped(s, b);
	assert_swapped(s, b + ps);
	assert_int_equal(info_of(s, b).prot, PROT_READ);
	tu_assert_caught(s, b + ps, 0, DPEMU_FAULT_PROTECTION);
	assert_swapped(s, b + ps);
	assert_holds(b, 0x71);
	assert_int_equal(info_of(s, b).prot, PROT_READ);
	tu_assert_caught(s, b, 1, DPEMU_FAULT_PROTECTION);
	assert_int_equal(dpemu_protect(s, b + ps, ps, RW), 0);
	assert_holds(b + ps, 0x72);
	fill(b + ps, 0x82);
	assert_holds(b + 2 * ps, 0x73);
	assert_holds(b + 3 * ps, 0x74);
	assert_holds(b + ps, 0x82);
	assert_holds(b, 0x71);
	teardown(pool, s, NULL);
}

/* Pages of several host pages go to swap and come back whole. */
static void test_large_pages_swapped(void **state)
{
	(void)state;
	size_t big = 4 * ps;
	struct dpemu_pool_config cfg = tu_pool_config(2, big);
	struct dpemu_space_config scfg = tu_space_config(4 * big);
	dpemu_pool *pool;
	dpemu_space *s;
	void *p;

	cfg.policy = DPEMU_POLICY_LRU;
	assert_int_equal(dpemu_pool_create(&cfg, &pool), 0);
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, 4 * big, RW, ANON_PRIVATE, -1, 0, &p), 0);
	unsigned char *b = p;
	for (size_t i = 0; i < 4 * big; i += ps / 2)
		wr(b + i, (unsigned char)(i / (ps / 2) + 1));
	assert_int_equal(pstats(pool).swap_outs, 2);
	assert_swapped(s, b + big + ps);
	for (size_t i = 0; i < 4 * big; i += ps / 2)
		assert_int_equal(rd(b + i), (unsigned char)(i / (ps / 2) + 1));
	teardown(pool, s, NULL);
}

/*
 * A fault-around window across the end of the pool (where the pages'
 * identity frames wrap round to frame 0) over frames used before: every
 * page of the window is shown, and the space goes on under eviction.
 */
static void test_fault_around_across_pool_end(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(6, DPEMU_POLICY_FIFO, NULL, 0);
	struct dpemu_space_config scfg = tu_space_config(24 * ps);
	dpemu_space *s;
	void *p;

	scfg.fault_around = 4;
	assert_int_equal(dpemu_space_create(pool, &scfg, &s), 0);
	assert_int_equal(dpemu_map(s, NULL, 24 * ps, RW, ANON_PRIVATE, -1, 0, &p), 0);
	unsigned char *b = p;
	fill(b, 1);          /* pages 0-3 */
	fill(b + 4 * ps, 5); /* pages 4 and 5: the pool is full */
	fill(b + 8 * ps, 9); /* evicts page 0 */
	assert_swapped(s, b);
	assert_int_equal(dpemu_unmap(s, b, 12 * ps), 0);
	assert_int_equal(pstats(pool).frames_used, 0);
	assert_int_equal(pstats(pool).swap_slots_used, 0);

	/* Pages 16-19 have identity frames 4, 5, 0, 1 (for 6 frames).  A
	 * read: all four are clean, shown alike. */
	assert_int_equal(rd(b + 17 * ps), 0);
	for (int i = 16; i < 20; i++) {
		assert_true(info_of(s, b + i * ps).present);
		assert_holds(b + i * ps, 0);
	}
	assert_int_equal(stats_of(s).faults, 4); /* the window came with the read */

	for (int i = 12; i < 24; i++)
		fill(b + i * ps, (unsigned char)i);
	for (int i = 12; i < 24; i++)
		assert_holds(b + i * ps, (unsigned char)i);
	assert_true(stats_of(s).evictions > 0);
	teardown(pool, s, NULL);
}

/*
 * A page back from swap keeps its slot while it stays clean (evicted
 * again, it needs no write); its first write makes the slot's copy stale
 * and gives the slot back.  With one slot: page 0 comes back and is
 * written, and page 1 can then go to that slot.
 */
static void test_written_page_gives_its_slot_back(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 1);
	dpemu_space *s = space_make(pool, 4);
	unsigned char *b = map_pages(s, 4, ANON_PRIVATE, -1);

	fill(b, 0x10);
	fill(b + ps, 0x11);
	fill(b + 2 * ps, 0x12); /* page 0 to the only slot */
	assert_swapped(s, b);
	assert_int_equal(dpemu_unmap(s, b + 2 * ps, ps), 0);
	assert_holds(b, 0x10);  /* back, clean: the slot still holds it */
	assert_int_equal(pstats(pool).swap_slots_used, 1);
	fill(b, 0x20);          /* now the slot's copy is stale */
	assert_int_equal(pstats(pool).swap_slots_used, 0);
	fill(b + 3 * ps, 0x13); /* page 1 to the slot */
	assert_swapped(s, b + ps);
	assert_int_equal(pstats(pool).swap_slots_used, 1);
	assert_holds(b, 0x20);
	assert_holds(b + 3 * ps, 0x13);
	assert_int_equal(pstats(pool).swap_outs, 2);
	teardown(pool, s, NULL);
}

/* ---- unmap, destroy, prefault ------------------------------------------------------------- */

/* Unmapping swapped pages frees their slots; a slot two spaces name is
 * freed with the last of them. */
static void test_unmap_frees_slots(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 8), *c;
	unsigned char *b = map_pages(s, 8, ANON_PRIVATE, -1);

	for (int i = 0; i < 8; i++)
		fill(b + i * ps, (unsigned char)i);
	assert_int_equal(pstats(pool).swap_slots_used, 6);
	assert_int_equal(dpemu_unmap(s, b, 4 * ps), 0);
	assert_int_equal(pstats(pool).swap_slots_used, 2);
	assert_int_equal(stats_of(s).pages_resident, 2);

	/* Pages 4 and 5 are in swap, now named by the child too. */
	assert_int_equal(dpemu_space_fork(s, &c), 0);
	assert_int_equal(pstats(pool).swap_slots_used, 2);
	assert_int_equal(dpemu_unmap(s, b + 4 * ps, 4 * ps), 0);
	assert_int_equal(pstats(pool).swap_slots_used, 2);
	assert_holds(in(c, s, b + 4 * ps), 4);
	assert_int_equal(dpemu_unmap(c, in(c, s, b), 8 * ps), 0);
	struct dpemu_pool_stats pst = pstats(pool);
	assert_int_equal(pst.swap_slots_used, 0);
	assert_int_equal(pst.frames_used, 0);
	assert_int_equal(stats_of(c).pages_resident, 0);
	teardown(pool, s, c);
}

/* Destroying spaces with swapped pages, private or of a forked shared
 * mapping, frees their slots. */
static void test_destroy_frees_slots(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		int flags = k ? ANON_SHARED : ANON_PRIVATE;
		dpemu_pool *pool = pool_make(2, DPEMU_POLICY_RANDOM, NULL, 0);
		dpemu_space *s = space_make(pool, 8), *c;
		unsigned char *b = map_pages(s, 8, flags, -1);

		for (int i = 0; i < 8; i++)
			fill(b + i * ps, (unsigned char)i);
		assert_int_equal(dpemu_space_fork(s, &c), 0);
		for (int i = 0; i < 8; i++)
			assert_holds(in(c, s, b + i * ps), (unsigned char)i);
		assert_true(pstats(pool).swap_slots_used >= 6);
		assert_int_equal(dpemu_space_destroy(s), 0);
		assert_true(pstats(pool).swap_slots_used >= 6);
		assert_int_equal(dpemu_space_destroy(c), 0);
		teardown(pool, NULL, NULL);
	}
}

/* dpemu_prefault under a full pool with a policy evicts instead of
 * failing: written pages go to swap, read pages are dropped. */
static void test_prefault_evicts(void **state)
{
	(void)state;
	dpemu_pool *pool = pool_make(2, DPEMU_POLICY_FIFO, NULL, 0);
	dpemu_space *s = space_make(pool, 12);
	unsigned char *w = map_pages(s, 6, ANON_PRIVATE, -1);
	unsigned char *r = map_pages(s, 6, ANON_PRIVATE, -1);

	assert_int_equal(dpemu_prefault(s, w, 6 * ps, PROT_WRITE), 0);
	for (int i = 0; i < 4; i++)
		assert_swapped(s, w + i * ps);
	assert_true(info_of(s, w + 4 * ps).present);
	assert_true(info_of(s, w + 5 * ps).present);
	assert_int_equal(pstats(pool).swap_outs, 4);
	assert_int_equal(stats_of(s).faults, 0);

	assert_int_equal(dpemu_prefault(s, r, 6 * ps, PROT_READ), 0);
	assert_int_equal(pstats(pool).swap_outs, 6); /* w's last two */
	for (int i = 0; i < 4; i++)
		assert_dropped(s, r + i * ps);
	assert_true(info_of(s, r + 5 * ps).present);
	assert_int_equal(stats_of(s).evictions, 10);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rd(w + i * ps), 0);
	teardown(pool, s, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy_out_of_frames),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_swap_path_created),
		cmocka_unit_test(test_clean_anonymous_page_dropped),
		cmocka_unit_test(test_clean_private_file_page_reread),
		cmocka_unit_test(test_clean_shared_file_page_reread),
		cmocka_unit_test(test_dirty_shared_file_page_written_back),
		cmocka_unit_test(test_writeback_goes_to_its_own_file),
		cmocka_unit_test(test_dirty_private_file_page_swapped),
		cmocka_unit_test(test_anonymous_pages_swapped),
		cmocka_unit_test(test_cow_frame_swapped_once),
		cmocka_unit_test(test_shared_mapping_frame_swapped_once),
		cmocka_unit_test(test_forked_shared_file_page_written_once),
		cmocka_unit_test(test_cow_break_keeps_its_source),
		cmocka_unit_test(test_fork_swapped_private),
		cmocka_unit_test(test_fork_swapped_shared),
		cmocka_unit_test(test_swap_write_fails),
		cmocka_unit_test(test_file_writeback_fails),
		cmocka_unit_test(test_swap_read_fails),
		cmocka_unit_test(test_swap_store_full),
		cmocka_unit_test(test_written_page_gives_its_slot_back),
		cmocka_unit_test(test_protection_survives_swap),
		cmocka_unit_test(test_large_pages_swapped),
		cmocka_unit_test(test_fault_around_across_pool_end),
		cmocka_unit_test(test_unmap_frees_slots),
		cmocka_unit_test(test_destroy_frees_slots),
		cmocka_unit_test(test_prefault_evicts),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
