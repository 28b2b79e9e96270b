/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_map_file.c - file mappings: bad descriptors, private mappings of a
 * file, shared mappings written back by dpemu_sync, dpemu_unmap and
 * dpemu_space_destroy (also of part of a mapping), the end of the file and
 * offsets into it, and descriptors that are not leaked.
 */
#include "map_env.h"

/* ------------------------------------------------------------------------ */
/* File mappings                                                             */
/* ------------------------------------------------------------------------ */

/* File fd errors: -EBADF, -ENODEV, -EACCES; offset -EINVAL. */
static void test_map_file_bad_fd(void **state)
{
	struct env e;
	void *out = NULL;
	char path[64];
	int fd, rdonly, wronly, closed, pipefd[2], dir;

	(void)state;
	env_open(&e, 16, 32);
	env_add_ref(&e);
	fd = make_file(4 * e.ps, 2, path);
	rdonly = open(path, O_RDONLY);
	wronly = open(path, O_WRONLY);
	assert_true(rdonly >= 0 && wronly >= 0);
	assert_int_equal(pipe(pipefd), 0);
	dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	assert_true(dir >= 0);
	/* Last, so that nothing reuses its number. */
	closed = open(path, O_RDONLY);
	assert_true(closed >= 0);
	close(closed);

	/* A file mapping with fd -1, or an fd that is not open: -EBADF. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, -1, 0, &out), -EBADF);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, closed, 0, &out), -EBADF);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_SHARED, 100000, 0, &out), -EBADF);
	assert_failed_cleanly(&e);

	/* Not a regular file: -ENODEV. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, pipefd[0], 0, &out),
	                 -ENODEV);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, dir, 0, &out), -ENODEV);
	assert_failed_cleanly(&e);

	/* Not open for reading: -EACCES, private or shared. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, wronly, 0, &out), -EACCES);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, DPEMU_MAP_SHARED,
	                           wronly, 0, &out), -EACCES);
	assert_failed_cleanly(&e);
	/* SHARED with PROT_WRITE on a read-only fd: -EACCES. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW, DPEMU_MAP_SHARED,
	                           rdonly, 0, &out), -EACCES);
	assert_failed_cleanly(&e);

	/* Offsets: negative or unaligned -EINVAL. */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, fd, -(off_t)e.ps, &out),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, fd, 1, &out), -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_PRIVATE, fd, (off_t)e.ps / 2, &out),
	                 -EINVAL);
	assert_failed_cleanly(&e);
	assert_int_equal(stats(&e).mappings, 1);

	/* What is allowed: SHARED read-only on a read-only fd, PRIVATE
	 * writable on a read-only fd (like mmap(2)). */
	assert_int_equal(dpemu_map(e.space, NULL, e.ps, PROT_READ,
	                           DPEMU_MAP_SHARED, rdonly, 0, &out), 0);
	assert_true(holds(out, e.ps, 2));
	assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, RW,
	                           DPEMU_MAP_PRIVATE, rdonly, 0, &out), 0);
	assert_true(holds(out, 2 * e.ps, 2));
	fill(out, 2 * e.ps, 7);
	assert_true(holds(out, 2 * e.ps, 7));
	assert_true(file_holds(fd, 0, 4 * e.ps, 2));
	assert_int_equal(stats(&e).mappings, 3);

	close(dir);
	close(pipefd[0]);
	close(pipefd[1]);
	close(wronly);
	close(rdonly);
	close(fd);
	unlink(path);
	env_close(&e);
}

/* Private file mappings read the file; writes never reach it. */
static void test_map_file_private(void **state)
{
	struct env e;
	struct dpemu_stats st;
	char path[64];
	char *p;
	void *out = NULL;
	int fd;

	(void)state;
	env_open(&e, 16, 32);
	fd = make_file(4 * e.ps, 11, path);
	assert_int_equal(dpemu_map(e.space, NULL, 4 * e.ps, RW,
	                           DPEMU_MAP_PRIVATE, fd, 0, &out), 0);
	p = out;
	assert_true(holds(p, 4 * e.ps, 11));
	st = stats(&e);
	assert_int_equal(st.file_reads, 4);
	assert_int_equal(st.zero_fills, 0);
	assert_int_equal(st.pages_resident, 4);

	fill(p, 4 * e.ps, 12);
	assert_true(holds(p, 4 * e.ps, 12));
	assert_true(file_holds(fd, 0, 4 * e.ps, 11));

	/* Neither sync nor unmap writes a private mapping back. */
	assert_int_equal(dpemu_sync(e.space, p, 4 * e.ps), 0);
	assert_true(file_holds(fd, 0, 4 * e.ps, 11));
	assert_int_equal(dpemu_unmap(e.space, p, 4 * e.ps), 0);
	assert_true(file_holds(fd, 0, 4 * e.ps, 11));
	assert_int_equal(stats(&e).writebacks, 0);

	/* Nor does destroying the space. */
	assert_int_equal(dpemu_map(e.space, NULL, 4 * e.ps, RW,
	                           DPEMU_MAP_PRIVATE, fd, 0, &out), 0);
	fill(out, 4 * e.ps, 13);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	env_close(&e);
	assert_true(file_holds(fd, 0, 4 * e.ps, 11));
	close(fd);
	unlink(path);
}

/* Shared file mappings: sync writes back dirty pages only, and clears dirty. */
static void test_map_file_shared_sync(void **state)
{
	struct env e;
	struct dpemu_page_info info;
	char path[64];
	char *p;
	void *out = NULL;
	int fd;
	volatile char c;

	(void)state;
	env_open(&e, 16, 32);
	fd = make_file(4 * e.ps, 21, path);
	assert_int_equal(dpemu_map(e.space, NULL, 4 * e.ps, RW,
	                           DPEMU_MAP_SHARED, fd, 0, &out), 0);
	p = out;

	/* Page 0 and 2 written, page 1 only read, page 3 never touched. */
	p[0] = 'A';
	p[e.ps - 1] = 'B';
	p[2 * e.ps + 100] = 'C';
	c = p[e.ps + 5];
	assert_int_equal(c, (char)pattern(e.ps + 5, 21));
	assert_int_equal(stats(&e).file_reads, 3);

	info = query(&e, p);
	assert_true(info.mapped && info.present && info.dirty && info.shared);
	assert_false(info.anonymous);
	info = query(&e, p + e.ps);
	assert_true(info.present);
	assert_false(info.dirty);
	assert_true(query(&e, p + 2 * e.ps).dirty);
	assert_false(query(&e, p + 3 * e.ps).present);

	/* Nothing reached the file yet (the fd is separate). */
	assert_true(file_holds(fd, 0, 4 * e.ps, 21));
	assert_int_equal(stats(&e).writebacks, 0);

	assert_int_equal(dpemu_sync(e.space, p, 4 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 2);
	assert_false(query(&e, p).dirty);
	assert_false(query(&e, p + 2 * e.ps).dirty);
	assert_true(query(&e, p).present); /* stays resident */
	{
		char buf[4];

		assert_int_equal(tu_pread_all(fd, buf, 1, 0), 0);
		assert_int_equal(buf[0], 'A');
		assert_int_equal(tu_pread_all(fd, buf, 1, e.ps - 1), 0);
		assert_int_equal(buf[0], 'B');
		assert_int_equal(tu_pread_all(fd, buf, 1, 2 * e.ps + 100), 0);
		assert_int_equal(buf[0], 'C');
	}
	/* The rest of the file is unchanged. */
	assert_true(file_holds(fd, 1, e.ps - 2, 21));
	assert_true(file_holds(fd, e.ps, e.ps, 21));
	assert_true(file_holds(fd, 3 * e.ps, e.ps, 21));

	/* A second sync with nothing dirty writes nothing. */
	assert_int_equal(dpemu_sync(e.space, p, 4 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 2);

	/* Writing a synced page again makes it dirty again. */
	p[1] = 'D';
	assert_true(query(&e, p).dirty);
	assert_int_equal(dpemu_sync(e.space, p, e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 3);
	{
		char buf[2];

		assert_int_equal(tu_pread_all(fd, buf, 2, 0), 0);
		assert_int_equal(buf[0], 'A');
		assert_int_equal(buf[1], 'D');
	}

	/* Sync of a range with only part of the mapping: only that part. */
	p[3 * e.ps] = 'E';
	p[0] = 'F';
	assert_int_equal(dpemu_sync(e.space, p + 3 * e.ps, e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 4);
	assert_true(query(&e, p).dirty);
	assert_false(query(&e, p + 3 * e.ps).dirty);

	close(fd);
	unlink(path);
	env_close(&e);
}

/* Shared file mappings: unmap and space destroy write dirty pages back. */
static void test_map_file_shared_unmap_destroy(void **state)
{
	struct env e;
	char path[64];
	char *p;
	void *out = NULL;
	int fd;
	char buf[2];

	(void)state;
	env_open(&e, 16, 32);
	fd = make_file(4 * e.ps, 31, path);

	assert_int_equal(dpemu_map(e.space, NULL, 4 * e.ps, RW,
	                           DPEMU_MAP_SHARED, fd, 0, &out), 0);
	p = out;
	p[10] = 'x';
	(void)*(volatile char *)(p + e.ps); /* read only */
	assert_int_equal(dpemu_unmap(e.space, p, 4 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 1);
	assert_int_equal(tu_pread_all(fd, buf, 1, 10), 0);
	assert_int_equal(buf[0], 'x');
	assert_true(file_holds(fd, e.ps, 3 * e.ps, 31));

	/* The caller may close its fd: dpemu keeps its own. */
	assert_int_equal(dpemu_map(e.space, NULL, 4 * e.ps, RW,
	                           DPEMU_MAP_SHARED, fd, 0, &out), 0);
	p = out;
	close(fd);
	assert_int_equal(p[10], 'x');
	assert_true(holds_at(p + e.ps, e.ps, 31, e.ps));
	p[3 * e.ps + 7] = 'y';
	env_close(&e); /* writes back */

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(tu_pread_all(fd, buf, 1, 3 * e.ps + 7), 0);
	assert_int_equal(buf[0], 'y');
	assert_int_equal(tu_pread_all(fd, buf, 1, 10), 0);
	assert_int_equal(buf[0], 'x');
	close(fd);
	unlink(path);
}

/* dpemu's duplicate fds are closed with their mappings, and failed calls
 * leave no fd behind. */
static void test_map_file_fds_not_leaked(void **state)
{
	struct env e;
	char path[64];
	void *out = NULL;
	int fd, before, i;

	(void)state;
	env_open(&e, 16, 32);
	fd = make_file(2 * e.ps, 5, path);
	before = tu_count_fds();
	for (i = 0; i < 300; i++) {
		assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, RW,
		                           (i & 1) ? DPEMU_MAP_SHARED :
		                                     DPEMU_MAP_PRIVATE,
		                           fd, 0, &out), 0);
		assert_int_equal(((volatile unsigned char *)out)[e.ps],
		                 pattern(e.ps, 5));
		/* Unmapped in two halves: the fd goes with the last page. */
		assert_int_equal(dpemu_unmap(e.space, out, e.ps), 0);
		assert_int_equal(dpemu_unmap(e.space, (char *)out + e.ps, e.ps),
		                 0);
		/* A failing call (unaligned offset) keeps no fd. */
		assert_int_equal(dpemu_map(e.space, NULL, e.ps, RW,
		                           DPEMU_MAP_PRIVATE, fd, 1, &out),
		                 -EINVAL);
	}
	assert_int_equal(tu_count_fds(), before);
	assert_int_equal(stats(&e).mappings, 0);
	close(fd);
	unlink(path);
	env_close(&e);
}

/* Unmapping part of a shared file mapping writes back only that part. */
static void test_map_file_shared_partial_unmap(void **state)
{
	struct env e;
	char path[64];
	char *p;
	void *out = NULL;
	int fd;
	size_t i;

	(void)state;
	env_open(&e, 16, 32);
	fd = make_file(4 * e.ps, 17, path);
	assert_int_equal(dpemu_map(e.space, NULL, 4 * e.ps, RW,
	                           DPEMU_MAP_SHARED, fd, 0, &out), 0);
	p = out;
	for (i = 0; i < 4; i++)
		p[i * e.ps] = (char)('0' + i);
	assert_int_equal(dpemu_unmap(e.space, p + e.ps, 2 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 2);
	{
		char c;

		assert_int_equal(tu_pread_all(fd, &c, 1, 0), 0);
		assert_int_equal(c, (char)pattern(0, 17)); /* not yet */
		assert_int_equal(tu_pread_all(fd, &c, 1, e.ps), 0);
		assert_int_equal(c, '1');
		assert_int_equal(tu_pread_all(fd, &c, 1, 2 * e.ps), 0);
		assert_int_equal(c, '2');
		assert_int_equal(tu_pread_all(fd, &c, 1, 3 * e.ps), 0);
		assert_int_equal(c, (char)pattern(3 * e.ps, 17));
	}
	/* The pages left are still dirty and still shared with the file. */
	assert_true(query(&e, p).dirty);
	assert_true(query(&e, p + 3 * e.ps).dirty);
	assert_int_equal(query(&e, p + 3 * e.ps).file_offset, 3 * (off_t)e.ps);
	assert_int_equal(dpemu_sync(e.space, p, 4 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 4);
	assert_true(file_holds(fd, 1, e.ps - 1, 17));
	{
		char c;

		assert_int_equal(tu_pread_all(fd, &c, 1, 3 * e.ps), 0);
		assert_int_equal(c, '3');
	}

	/* Read-only, then made writable: writes are tracked and written. */
	assert_int_equal(dpemu_protect(e.space, p, e.ps, PROT_READ), 0);
	tu_assert_caught(e.space, p + 1, 1, DPEMU_FAULT_PROTECTION);
	assert_false(query(&e, p).dirty);
	assert_int_equal(dpemu_protect(e.space, p, e.ps, RW), 0);
	p[1] = 'w';
	assert_true(query(&e, p).dirty);
	assert_int_equal(dpemu_unmap(e.space, p, 4 * e.ps), 0);
	assert_int_equal(stats(&e).writebacks, 5);
	{
		char c[2];

		assert_int_equal(tu_pread_all(fd, c, 2, 0), 0);
		assert_int_equal(c[0], '0');
		assert_int_equal(c[1], 'w');
	}
	close(fd);
	unlink(path);
	env_close(&e);
}

/* Bytes past the end of the file read as zero; the offset is honoured. */
static void test_map_file_eof_and_offset(void **state)
{
	struct env e;
	struct dpemu_page_info info;
	char path[64];
	char *p;
	void *out = NULL;
	size_t flen;
	int fd;

	(void)state;
	env_open(&e, 16, 32);
	flen = 3 * e.ps + e.ps / 2;
	fd = make_file(flen, 41, path);

	/* Offset 2 pages: page 0 of the mapping is page 2 of the file. */
	assert_int_equal(dpemu_map(e.space, NULL, 3 * e.ps, RW,
	                           DPEMU_MAP_PRIVATE, fd, 2 * (off_t)e.ps, &out),
	                 0);
	p = out;
	info = query(&e, p + e.ps);
	assert_true(info.mapped);
	assert_false(info.present);
	assert_false(info.anonymous);
	assert_int_equal(info.file_offset, 3 * (off_t)e.ps);

	{
		size_t i;

		for (i = 0; i < e.ps; i++)
			assert_int_equal((unsigned char)p[i],
			                 pattern(2 * e.ps + i, 41));
		/* The last half page of the file, then zeros. */
		for (i = 0; i < e.ps / 2; i++)
			assert_int_equal((unsigned char)p[e.ps + i],
			                 pattern(3 * e.ps + i, 41));
	}
	assert_true(all_zero(p + e.ps + e.ps / 2, e.ps / 2));
	/* A page wholly past the end of the file reads as zeros. */
	assert_true(all_zero(p + 2 * e.ps, e.ps));
	assert_int_equal(stats(&e).file_reads + stats(&e).zero_fills, 3);

	/* Writing a private page past EOF does not grow the file. */
	{
		struct stat sb;

		p[e.ps + e.ps / 2 + 1] = 1;
		p[2 * e.ps + 1] = 1;
		assert_int_equal(dpemu_unmap(e.space, p, 3 * e.ps), 0);
		assert_int_equal(fstat(fd, &sb), 0);
		assert_int_equal(sb.st_size, (off_t)flen);
	}

	/* An empty file maps and reads as zeros. */
	{
		char path2[64];
		int fd2 = make_file(0, 0, path2);

		assert_int_equal(dpemu_map(e.space, NULL, 2 * e.ps, RW,
		                           DPEMU_MAP_PRIVATE, fd2, 0, &out), 0);
		assert_true(all_zero(out, 2 * e.ps));
		close(fd2);
		unlink(path2);
	}

	close(fd);
	unlink(path);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_file_bad_fd),
		cmocka_unit_test(test_map_file_private),
		cmocka_unit_test(test_map_file_shared_sync),
		cmocka_unit_test(test_map_file_shared_unmap_destroy),
		cmocka_unit_test(test_map_file_eof_and_offset),
		cmocka_unit_test(test_map_file_fds_not_leaked),
		cmocka_unit_test(test_map_file_shared_partial_unmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
