/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_replay.c - the parts of `dpemu replay` (tools/dpemu/replay_*.c):
 * the textbook numbers of the simulated policies (OSTEP's README trace
 * and its Belady example), the input formats (page numbers, lackey logs,
 * a trace file built here), Mattson's one-pass LRU curve against the
 * simulator at every size, and --live: fifo, clock, aging and random
 * through the real library agree with the simulator on every reference
 * of 200 random strings each (lengths 1-300, 1-40 pages, 1-12 frames,
 * reads and writes), and on strings that trip the library's livelock
 * guard.  The live tests run in forked children with alarm(); run under
 * every backend by tests/each-backend (the space is DPEMU_BACKEND_AUTO).
 */
#include "testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../tools/dpemu/replay.h"

/* The string of page numbers text (a test's own: it must parse). */
static struct rp_string parse(const char *text)
{
	struct rp_string s;

	assert_int_equal(rp_parse("test", (const unsigned char *)text, strlen(text), 0, &s), 0);
	return s;
}

static uint64_t misses(enum rp_policy p, size_t frames, const struct rp_string *s)
{
	uint64_t m, e;

	assert_int_equal(rp_sim_run(p, frames, 0, s, &m, &e), 0);
	return m;
}

/* ---- the textbook ---------------------------------------------------------- */

/* OSTEP's Belady example: FIFO 9 misses with 3 frames, 10 with 4; LRU 10
 * then 8; OPT 7 then 6. */
static void test_belady(void **state)
{
	struct rp_string s = parse("1,2,3,4,1,2,5,1,2,3,4,5");

	(void)state;
	assert_int_equal(s.n, 12);
	assert_int_equal(s.npages, 5);
	assert_int_equal(misses(RP_FIFO, 3, &s), 9);
	assert_int_equal(misses(RP_FIFO, 4, &s), 10);
	assert_int_equal(misses(RP_LRU, 3, &s), 10);
	assert_int_equal(misses(RP_LRU, 4, &s), 8);
	assert_int_equal(misses(RP_OPT, 3, &s), 7);
	assert_int_equal(misses(RP_OPT, 4, &s), 6);
	rp_string_free(&s);
}

/* OSTEP's README trace (paging-policy.py --addresses=0,1,2,0,1,3,0,3,1,2,1
 * --policy=LRU --cachesize=3 -c): 6 hits, 5 misses, the victims 2 then 0;
 * FIFO misses 7 and OPT 5 on it (by hand). */
static void test_ostep_readme(void **state)
{
	struct rp_string s = parse("0 1 2 0 1 3 0 3 1 2 1");
	struct rp_sim *sim = rp_sim_new(RP_LRU, 3, 0, &s);
	uint32_t victim, victims[2];
	int nv = 0, hits = 0;

	(void)state;
	assert_non_null(sim);
	for (size_t i = 0; i < s.n; i++) {
		hits += rp_sim_step(sim, i, &victim);
		if (victim != RP_NONE && nv < 2)
			victims[nv++] = (uint32_t)s.pageno[victim];
	}
	assert_int_equal(hits, 6);
	assert_int_equal(nv, 2);
	assert_int_equal(victims[0], 2);
	assert_int_equal(victims[1], 0);
	/* The memory at the end, least to most recently used: [3, 2, 1]. */
	struct rp_resident mem[3];
	assert_int_equal(rp_sim_memory(sim, mem), 3);
	assert_int_equal(s.pageno[mem[0].page], 3);
	assert_int_equal(s.pageno[mem[1].page], 2);
	assert_int_equal(s.pageno[mem[2].page], 1);
	rp_sim_free(sim);
	assert_int_equal(misses(RP_FIFO, 3, &s), 7);
	assert_int_equal(misses(RP_OPT, 3, &s), 5);
	rp_string_free(&s);
}

/* OPT's tie between pages never used again goes to the one loaded last,
 * as paging-policy.py's ">=" has it. */
static void test_opt_tie(void **state)
{
	struct rp_string s = parse("1 2 3 4");
	struct rp_sim *sim = rp_sim_new(RP_OPT, 2, 0, &s);
	uint32_t victim;

	(void)state;
	rp_sim_step(sim, 0, &victim);
	rp_sim_step(sim, 1, &victim);
	rp_sim_step(sim, 2, &victim);
	assert_int_equal(s.pageno[victim], 2);
	rp_sim_step(sim, 3, &victim);
	assert_int_equal(s.pageno[victim], 3);
	rp_sim_free(sim);
	rp_string_free(&s);
}

/* ---- input ---------------------------------------------------------------------------- */

static void test_numbers(void **state)
{
	struct rp_string s = parse("# a comment\n 7, 0x10\t7,,3\r\n\n10 # more\n");

	(void)state;
	assert_int_equal(s.format, RP_NUMBERS);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.npages, 4);
	assert_int_equal(s.pageno[s.page[1]], 16);
	assert_int_equal(s.page[0], s.page[2]);
	assert_int_equal(s.page[4], 3); /* 10: the fourth page seen */
	assert_int_equal(s.write[0], 0);
	rp_string_free(&s);
}

static void test_lackey(void **state)
{
	static const char log[] =
		"==4242== Lackey, an example Valgrind tool\n"
		"I  0400d7d4,8\n"
		" L 04222cac,4\n"
		" S 7ff0000e8,8\n"
		" M 04222ffe,4\n" /* spans pages 0x4222 and 0x4223 */
		"==4242== \n";
	struct rp_string s = parse(log);
	static const uint64_t pages[] = { 0x400d, 0x4222, 0x7ff000, 0x4222, 0x4223 };
	static const unsigned char writes[] = { 0, 0, 1, 1, 1 };
	char buf[48];

	(void)state;
	assert_int_equal(s.format, RP_LACKEY);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(s.pageno[s.page[i]], pages[i]);
		assert_int_equal(s.write[i], writes[i]);
	}
	assert_string_equal(rp_label(&s, s.page[2], buf, sizeof buf), "0x7ff000");
	rp_string_free(&s);

	/* Another page size: 64 KiB pages. */
	assert_int_equal(rp_parse("test", (const unsigned char *)log, strlen(log), 65536, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.pageno[s.page[0]], 0x400);
	assert_int_equal(s.pageno[s.page[1]], 0x422);
	rp_string_free(&s);
}

static void put(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* One record of a trace, laid out as struct dpemu_trace_record. */
static void record(unsigned char *r, uint64_t time, uint64_t addr, uint32_t space,
                   uint16_t event, uint8_t access)
{
	memset(r, 0, sizeof(struct dpemu_trace_record));
	put(r + offsetof(struct dpemu_trace_record, time_ns), time, 8);
	put(r + offsetof(struct dpemu_trace_record, addr), addr, 8);
	put(r + offsetof(struct dpemu_trace_record, space), space, 4);
	put(r + offsetof(struct dpemu_trace_record, event), event, 2);
	put(r + offsetof(struct dpemu_trace_record, access), access, 1);
}

/* A trace: its fault events in time order, pages per space; other events
 * left out. */
static void test_trace(void **state)
{
	enum { HB = sizeof(struct dpemu_trace_header), RB = sizeof(struct dpemu_trace_record) };
	unsigned char buf[HB + 5 * RB];
	struct rp_string s;
	char label[48];

	(void)state;
	assert_int_equal(HB, 64);
	assert_int_equal(RB, 48);
	memset(buf, 0, sizeof buf);
	memcpy(buf, DPEMU_TRACE_MAGIC, 8);
	put(buf + offsetof(struct dpemu_trace_header, version), DPEMU_TRACE_VERSION, 4);
	put(buf + offsetof(struct dpemu_trace_header, header_bytes), HB, 4);
	put(buf + offsetof(struct dpemu_trace_header, record_bytes), RB, 4);
	put(buf + offsetof(struct dpemu_trace_header, page_size), 4096, 4);
	record(buf + HB + 0 * RB, 30, 0x7000, 1, DPEMU_EVENT_ZERO_FILL, DPEMU_ACCESS_WRITE);
	record(buf + HB + 1 * RB, 10, 0x5123, 1, DPEMU_EVENT_SWAP_IN, DPEMU_ACCESS_READ);
	record(buf + HB + 2 * RB, 20, 0x5000, 1, DPEMU_EVENT_EVICT /* not a reference */, 0);
	record(buf + HB + 3 * RB, 40, 0x5fff, 2, DPEMU_EVENT_REFERENCE, DPEMU_ACCESS_READ);
	record(buf + HB + 4 * RB, 50, 0x5000, 1, DPEMU_EVENT_TLB_MISS, DPEMU_ACCESS_READ);
	assert_int_equal(rp_parse("trace", buf, sizeof buf, 0, &s), 0);
	assert_int_equal(s.format, RP_TRACE);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.npages, 3);
	assert_string_equal(rp_label(&s, s.page[0], label, sizeof label), "1:0x5");
	assert_string_equal(rp_label(&s, s.page[1], label, sizeof label), "1:0x7");
	assert_string_equal(rp_label(&s, s.page[2], label, sizeof label), "2:0x5");
	assert_int_equal(s.page[3], s.page[0]);
	assert_int_equal(s.write[1], 1);
	rp_string_free(&s);
	/* A record cut short is an error, and so is another version. */
	assert_int_equal(rp_parse("trace", buf, sizeof buf - 1, 0, &s), -1);
	put(buf + offsetof(struct dpemu_trace_header, version), DPEMU_TRACE_VERSION + 1, 4);
	assert_int_equal(rp_parse("trace", buf, sizeof buf, 0, &s), -1);
}

/* ---- curves -------------------------------------------------------------------------------- */

/* A random string of n references to pages 1 .. pages, writes at random. */
static struct rp_string random_string(uint64_t *rng, size_t n, uint64_t pages)
{
	struct rp_string s;

	memset(&s, 0, sizeof s);
	for (size_t i = 0; i < n; i++)
		if (rp_append(&s, 0, 1 + tu_xorshift(rng) % pages, tu_xorshift(rng) % 3 == 0) != 0)
			abort();
	return s;
}

/* Mattson's stack distances give exact LRU's misses at every size. */
static void test_lru_curve(void **state)
{
	uint64_t rng = 0x5eed;

	(void)state;
	for (int t = 0; t < 100; t++) {
		size_t n = 1 + tu_xorshift(&rng) % 300;
		struct rp_string s = random_string(&rng, n, 1 + tu_xorshift(&rng) % 40);
		uint64_t curve[64];
		assert_int_equal(rp_lru_curve(&s, curve), 0);
		for (size_t k = 1; k <= s.npages; k++)
			assert_int_equal(curve[k - 1], misses(RP_LRU, k, &s));
		rp_string_free(&s);
	}
	/* And rp_curves, past the number of pages too. */
	struct rp_string s = parse("1,2,3,4,1,2,5,1,2,3,4,5");
	struct rp_curve c[2] = { { RP_LRU, NULL }, { RP_FIFO, NULL } };
	static const uint64_t lru[] = { 12, 12, 10, 8, 5, 5, 5 }, fifo[] = { 12, 12, 9, 10, 5, 5, 5 };
	assert_int_equal(rp_curves(&s, 1, 7, 0, c, 2), 0);
	for (size_t k = 0; k < 7; k++) {
		assert_int_equal(c[0].misses[k], lru[k]);
		assert_int_equal(c[1].misses[k], fifo[k]);
	}
	free(c[0].misses);
	free(c[1].misses);
	rp_string_free(&s);
}

/* ---- live ----------------------------------------------------------------------------------- */

#define LIVE_STRINGS 200

/* In a child: LIVE_STRINGS random strings through the library with policy
 * *arg, each compared with the simulator reference by reference. */
static void live_random(void *arg)
{
	enum rp_policy p = *(enum rp_policy *)arg;
	uint64_t rng = 0x1234567ull + (uint64_t)p;
	struct rp_live l;

	alarm(240);
	for (int t = 0; t < LIVE_STRINGS; t++) {
		size_t n = 1 + tu_xorshift(&rng) % 300;
		uint64_t pages = 1 + tu_xorshift(&rng) % 40;
		size_t frames = 1 + tu_xorshift(&rng) % 12;
		uint64_t seed = tu_xorshift(&rng) % 4; /* 0: the library's default */
		struct rp_string s = random_string(&rng, n, pages);
		TU_CHECK(rp_live_run(p, frames, seed, DPEMU_BACKEND_AUTO, DPEMU_UFFD_THREAD, &s,
		                     &l) == 0, "string %d", t);
		TU_CHECK(l.first_diff == SIZE_MAX, "%s string %d (%zu references, %zu pages, %zu "
		         "frames, seed %llu): reference %zu: %s", rp_policy_name(p), t, s.n, s.npages,
		         frames, (unsigned long long)seed, l.first_diff + 1, l.diff);
		TU_CHECK(l.misses == l.sim_misses && l.evictions == l.sim_evictions,
		         "string %d: %llu/%llu misses, %llu/%llu evictions", t,
		         (unsigned long long)l.misses, (unsigned long long)l.sim_misses,
		         (unsigned long long)l.evictions, (unsigned long long)l.sim_evictions);
		rp_string_free(&s);
	}
}

/* In a child: strings that cycle over 2 to 4 pages in a pool of one frame,
 * which trip the library's livelock guard; still in agreement. */
static void live_cycle(void *arg)
{
	enum rp_policy p = *(enum rp_policy *)arg;
	struct rp_live l;

	alarm(60);
	for (uint64_t period = 2; period <= 4; period++) {
		struct rp_string s;
		memset(&s, 0, sizeof s);
		for (uint64_t i = 0; i < 300; i++)
			TU_CHECK(rp_append(&s, 0, i % period, (int)(i & period & 1)) == 0, "append");
		TU_CHECK(rp_live_run(p, 1, 0, DPEMU_BACKEND_AUTO, DPEMU_UFFD_THREAD, &s, &l) == 0,
		         "period %llu", (unsigned long long)period);
		TU_CHECK(l.first_diff == SIZE_MAX, "period %llu: reference %zu: %s",
		         (unsigned long long)period, l.first_diff + 1, l.diff);
		TU_CHECK(l.misses == 300 && l.evictions == 299, "period %llu: %llu misses",
		         (unsigned long long)period, (unsigned long long)l.misses);
		rp_string_free(&s);
	}
}

static void run_live(void (*fn)(void *), enum rp_policy p, const char *what)
{
	struct tu_child c;

	assert_int_equal(tu_run_in_child(fn, &p, &c), 0);
	tu_assert_child_ok(&c, what);
}

static void test_live_fifo(void **state)
{
	(void)state;
	run_live(live_random, RP_FIFO, "fifo");
}

static void test_live_clock(void **state)
{
	(void)state;
	run_live(live_random, RP_CLOCK, "clock");
}

static void test_live_aging(void **state)
{
	(void)state;
	run_live(live_random, RP_AGING, "aging");
}

static void test_live_random(void **state)
{
	(void)state;
	run_live(live_random, RP_RANDOM, "random");
}

static void test_live_cycle(void **state)
{
	(void)state;
	run_live(live_cycle, RP_FIFO, "fifo cycle");
	run_live(live_cycle, RP_CLOCK, "clock cycle");
	run_live(live_cycle, RP_AGING, "aging cycle");
	run_live(live_cycle, RP_RANDOM, "random cycle");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_belady),
		cmocka_unit_test(test_ostep_readme),
		cmocka_unit_test(test_opt_tie),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_lackey),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_lru_curve),
		cmocka_unit_test(test_live_fifo),
		cmocka_unit_test(test_live_clock),
		cmocka_unit_test(test_live_aging),
		cmocka_unit_test(test_live_random),
		cmocka_unit_test(test_live_cycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
