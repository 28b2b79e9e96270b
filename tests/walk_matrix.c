/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk_matrix.c - a small program of dpemu's with a reference pattern to
 * look at, for tests/test-trace-plot.sh (and for people: `dpemu trace
 * plot` of its trace): a matrix of ROWS rows of doubles, a page a row,
 * in a pool of FRAMES frames with the CLOCK policy, traced into TRACE
 * (dpemu_trace_start):
 *
 *   1. written row by row (ROWS zero-fills, a rising line; once the pool
 *      is full, every new row evicts one to swap);
 *   2. read column by column, the first COLS columns (a saw-tooth: each
 *      column touches every row, and with ROWS > FRAMES almost every touch
 *      is a swap-in that evicts another row);
 *   3. read row by row again (a rising line of swap-ins).
 *
 *   walk_matrix TRACE [ROWS [FRAMES [COLS]]]   (default 256 64 8)
 *
 * Prints the sum of what it read, which checks the swap round trip, and
 * "faults N" (the space's).  Exit status 0, 1 if a dpemu call failed or
 * the sum is wrong, 2 on bad arguments.  Calls <dpemu.h> and libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dpemu.h>

/* Stop with the library's message if rc is an error. */
static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "walk_matrix: %s: %s (%s)\n", what, dpemu_strerror(rc),
		        dpemu_last_error());
		exit(1);
	}
}

static size_t arg(int argc, char **argv, int i, size_t def)
{
	char *end;
	unsigned long v;

	if (argc <= i)
		return def;
	v = strtoul(argv[i], &end, 10);
	if (!*argv[i] || *end || v == 0 || v > 1u << 20) {
		fprintf(stderr, "walk_matrix: bad argument '%s'\n", argv[i]);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	size_t rows = arg(argc, argv, 2, 256), frames = arg(argc, argv, 3, 64);
	size_t cols = arg(argc, argv, 4, 8);
	struct dpemu_pool_config pc = { .frames = frames, .policy = DPEMU_POLICY_CLOCK };
	struct dpemu_space_config sc = { 0 };
	struct dpemu_pool_stats pst;
	struct dpemu_stats st;
	dpemu_pool *pool;
	dpemu_space *space;
	double sum = 0, want = 0;
	size_t per_row;
	void *p;

	if (argc < 2 || argc > 5) {
		fputs("usage: walk_matrix TRACE [ROWS [FRAMES [COLS]]]\n", stderr);
		return 2;
	}
	check(dpemu_pool_create(&pc, &pool), "dpemu_pool_create");
	check(dpemu_pool_stats(pool, &pst), "dpemu_pool_stats");
	per_row = pst.page_size / sizeof(double);
	if (cols > per_row)
		cols = per_row;
	sc.reserve = rows * pst.page_size;
	check(dpemu_trace_start(pool, argv[1]), "dpemu_trace_start");
	check(dpemu_space_create(pool, &sc, &space), "dpemu_space_create");
	check(dpemu_map(space, NULL, rows * pst.page_size, PROT_READ | PROT_WRITE,
	                DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &p), "dpemu_map");
	double (*m)[per_row] = p;

	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < per_row; c++)
			m[r][c] = (double)(r * per_row + c);
	for (size_t c = 0; c < cols; c++)
		for (size_t r = 0; r < rows; r++) {
			sum += m[r][c];
			want += (double)(r * per_row + c);
		}
	for (size_t r = 0; r < rows; r++) {
		sum += m[r][0];
		want += (double)(r * per_row);
	}
	check(dpemu_space_stats(space, &st), "dpemu_space_stats");
	check(dpemu_space_destroy(space), "dpemu_space_destroy");
	check(dpemu_trace_stop(pool), "dpemu_trace_stop");
	check(dpemu_pool_destroy(pool), "dpemu_pool_destroy");
	printf("sum %.0f\nfaults %llu\n", sum, (unsigned long long)st.faults);
	if (sum != want) {
		fprintf(stderr, "walk_matrix: read %.0f, wrote %.0f\n", sum, want);
		return 1;
	}
	return 0;
}
