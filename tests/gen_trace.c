/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gen_trace.c - writes dpemu trace files for tests/test-trace-cli.sh,
 * without the library: a header, then records, in the format of
 * <dpemu.h> (little-endian, written byte by byte), good or broken on
 * purpose.
 *
 *   gen_trace [OPTIONS] OUT --scenario    the fixed scenario below
 *   gen_trace [OPTIONS] OUT [RECORD...]   the records given
 *
 * and after either, with --walk N, N more faults (for the plots' large
 * traces): fault i (from 0) a zero-fill, or a swap-in when i % 7 is 0,
 * at time 1000 + 100 i ns, of page i % 512 of space 1 at A, latency
 * 1000 + (i * 37) % 9000 ns, frame i % frames, by thread 100.
 *
 * RECORD: TIME,SPACE,TID,EVENT,ADDR,ACCESS,FRAME,LATENCY,AUX,OUTCOME,
 * numbers (decimal, or hexadecimal after 0x), FRAME "-" for none.
 * OPTIONS set the header (--pid, --page-size, --frames, --policy,
 * --realtime, --monotonic, --version, --magic STRING), make it or the
 * records longer than version 1's, the extra bytes filled with 0xee
 * (--header-bytes N, --record-bytes N: what a later version may do), or
 * cut the file's last N bytes off (--cut N).  Calls libc only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dpemu.h>

#define NONE UINT32_MAX
#define A 0x7f0000000000ull   /* space 1's mapping                        */
#define B 0x7f1000000000ull   /* space 2 (forked from 1): the same offsets */
#define C 0x7f2000000000ull   /* space 3: a file mapping                  */
#define R DPEMU_ACCESS_READ
#define W DPEMU_ACCESS_WRITE
#define X DPEMU_ACCESS_EXEC

/*
 * The scenario: a pool of 4 frames; every event kind, five threads and
 * four spaces (2 a fork of 1), two lost records (7 events), an unknown
 * event (99), records out of time order across threads.  The fields in
 * the order of struct dpemu_trace_record: time, addr, latency, aux,
 * space, tid, frame, event, access, outcome.  The comments: resident
 * pages and frames in use after the record, as trace_report.c counts
 * them (peak: 6 pages, 4 frames); tests/test-trace-cli.sh holds the whole
 * report, worked out by hand.
 */
static const struct dpemu_trace_record scenario[] = {
	{ 1000, A, 0, 0x8000, 1, 100, NONE, DPEMU_EVENT_MAP, 0, 0 },
	{ 2000, A + 0x10, 1500, 0, 1, 100, 0, DPEMU_EVENT_ZERO_FILL, W, 0 },       /* 1 1 */
	{ 4000, A + 0x1008, 2500, 0, 1, 101, 1, DPEMU_EVENT_ZERO_FILL, W, 0 },     /* 2 2 */
	{ 4500, A + 0x5000, 1800, 0, 1, 100, 2, DPEMU_EVENT_ZERO_FILL, W, 0 },     /* 3 3 */
	{ 3500, A + 0x2000, 800, 0, 1, 100, NONE, DPEMU_EVENT_ZERO_MAP, R, 0 },
	{ 6000, A + 0x10, 300, 0, 1, 100, 0, DPEMU_EVENT_REFERENCE, R, 0 },
	{ 7000, 0, 0, 2, 1, 100, NONE, DPEMU_EVENT_FORK, 0, 0 },
	{ 8000, B + 0x18, 4000, 0, 2, 100, 3, DPEMU_EVENT_COW_COPY, W, 0 },        /* 4 4 */
	{ 8500, B + 0x1000, 150, 0, 2, 100, 1, DPEMU_EVENT_TLB_MISS, R, 0 },       /* 5 4 */
	{ 8600, B + 0x5000, 350, 0, 2, 100, 2, DPEMU_EVENT_REFERENCE, R, 0 },      /* 6 4 */
	{ 8800, B, 0, 0, 2, 101, 3, DPEMU_EVENT_EVICT, 0, 0 },                     /* 5 3 */
	{ 8900, B, 0, 6, 2, 101, 3, DPEMU_EVENT_SWAP_OUT, 0, 0 },
	{ 9000, A + 0x1010, 700, 0, 1, 101, 3, DPEMU_EVENT_COW_COPY, W, 0 },       /* 5 4 */
	{ 9500, B + 0x1008, 600, 0, 2, 100, 1, DPEMU_EVENT_COW_REUSE, W, 0 },      /* 5 4 */
	{ 10000, C, 0, 0x4000, 3, 102, NONE, DPEMU_EVENT_MAP, 0, 0 },
	{ 10500, A, 0, 0, 1, 102, 0, DPEMU_EVENT_EVICT, 0, 0 },                    /* 4 3 */
	{ 10600, A, 0, 5, 1, 102, 0, DPEMU_EVENT_SWAP_OUT, 0, 0 },
	{ 11000, C + 0x4, 9000, 0, 3, 102, 0, DPEMU_EVENT_FILE_READ, R, 0 },       /* 5 4 */
	{ 11500, C, 0, 0, 3, 100, 0, DPEMU_EVENT_EVICT, 0, 0 },                    /* 4 3 */
	{ 11600, C, 0, 0, 3, 100, 0, DPEMU_EVENT_WRITEBACK, 0, 0 },
	{ 12000, A + 0x20, 12000, 5, 1, 100, 0, DPEMU_EVENT_SWAP_IN, R, 0 },      /* 5 4 */
	{ 13000, B + 0x5000, 0, 0, 2, 100, 2, DPEMU_EVENT_EVICT, 0, 0 },           /* 3 3 */
	{ 13500, C + 0x1004, 8000, 0, 3, 102, 2, DPEMU_EVENT_FILE_READ, R, 0 },    /* 4 4 */
	{ 14000, A + 0x1000, 100, 0, 1, 101, 3, DPEMU_EVENT_TLB_MISS, R, 0 },      /* 4 4 */
	{ 15000, A + 0x9000, 200, 0, 1, 101, NONE, DPEMU_EVENT_UNRESOLVED, W,
	  DPEMU_FAULT_UNMAPPED },
	{ 15100, A + 0x2000, 250, 0, 1, 101, NONE, DPEMU_EVENT_UNRESOLVED, X,
	  DPEMU_FAULT_PROTECTION },
	{ 15200, B + 0x3000, 260, 0, 2, 100, NONE, DPEMU_EVENT_UNRESOLVED, W,
	  DPEMU_FAULT_OUT_OF_FRAMES },
	{ 15300, C + 0x1000, 270, 0, 3, 102, NONE, DPEMU_EVENT_UNRESOLVED, R,
	  DPEMU_FAULT_HOST },
	{ 16000, 0, 0, 3, 0, 0, NONE, DPEMU_EVENT_LOST, 0, 0 },
	{ 17000, C, 0, 0x4000, 3, 102, NONE, DPEMU_EVENT_UNMAP, 0, 0 },            /* 3 3 */
	{ 18000, A + 0x3000, 1000, 0, 1, 100, 2, DPEMU_EVENT_ZERO_FILL, W, 0 },    /* 4 4 */
	{ 19000, 0, 0, 0, 2, 100, NONE, DPEMU_EVENT_DESTROY, 0, 0 },               /* 3 3 */
	{ 20000, 0, 0, 4, 1, 101, NONE, DPEMU_EVENT_LOST, 0, 0 },
	{ 21000, A, 0, 0x8000, 1, 100, NONE, DPEMU_EVENT_UNMAP, 0, 0 },            /* 0 0 */
	{ 22000, 0, 0, 0, 1, 100, NONE, DPEMU_EVENT_DESTROY, 0, 0 },
	{ 21500, 0x1234, 0, 7, 4, 103, NONE, 99, 0, 0 },                           /* unknown */
};

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	if (!strcmp(s, "-"))
		return NONE;
	v = strtoull(s, &end, 0);
	if (!*s || *end) {
		fprintf(stderr, "gen_trace: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* A record from "TIME,SPACE,TID,EVENT,ADDR,ACCESS,FRAME,LATENCY,AUX,OUTCOME". */
static struct dpemu_trace_record parse_record(const char *arg)
{
	uint64_t f[10];
	char buf[512], *tok, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof buf, "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok && n < 10; tok = strtok_r(NULL, ",", &save))
		f[n++] = num(tok, "record field");
	if (n != 10 || tok) {
		fprintf(stderr, "gen_trace: a record has 10 fields: '%s'\n", arg);
		exit(2);
	}
	return (struct dpemu_trace_record){
		.time_ns = f[0], .space = (uint32_t)f[1], .tid = (uint32_t)f[2],
		.event = (uint16_t)f[3], .addr = f[4], .access = (uint8_t)f[5],
		.frame = (uint32_t)f[6], .latency_ns = f[7], .aux = f[8],
		.outcome = (uint8_t)f[9],
	};
}

int main(int argc, char **argv)
{
	struct dpemu_trace_header h = {
		.version = DPEMU_TRACE_VERSION, .header_bytes = 64, .record_bytes = 48,
		.page_size = 4096, .frames = 4, .start_realtime_ns = 1780000000123456789ull,
		.start_monotonic_ns = 5000000000ull, .pid = 4242, .policy = DPEMU_POLICY_CLOCK,
	};
	const char *magic = DPEMU_TRACE_MAGIC, *path = NULL;
	struct dpemu_trace_record *recs = NULL, *given, *all = NULL;
	size_t nrec = 0;
	uint64_t cut = 0, walk = 0;
	int use_scenario = 0;
	unsigned char *buf;
	FILE *f;
	long size;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		if (!strcmp(o, "--scenario")) {
			use_scenario = 1;
			takes = 0;
		} else if (!strncmp(o, "--", 2) && !v) {
			fprintf(stderr, "gen_trace: %s needs a value\n", o);
			return 2;
		} else if (!strcmp(o, "--pid")) {
			h.pid = (uint32_t)num(v, o);
		} else if (!strcmp(o, "--page-size")) {
			h.page_size = (uint32_t)num(v, o);
		} else if (!strcmp(o, "--frames")) {
			h.frames = num(v, o);
		} else if (!strcmp(o, "--policy")) {
			h.policy = (uint32_t)num(v, o);
		} else if (!strcmp(o, "--realtime")) {
			h.start_realtime_ns = num(v, o);
		} else if (!strcmp(o, "--monotonic")) {
			h.start_monotonic_ns = num(v, o);
		} else if (!strcmp(o, "--version")) {
			h.version = (uint32_t)num(v, o);
		} else if (!strcmp(o, "--header-bytes")) {
			h.header_bytes = (uint32_t)num(v, o);
		} else if (!strcmp(o, "--record-bytes")) {
			h.record_bytes = (uint32_t)num(v, o);
		} else if (!strcmp(o, "--magic")) {
			magic = v;
		} else if (!strcmp(o, "--cut")) {
			cut = num(v, o);
		} else if (!strcmp(o, "--walk")) {
			walk = num(v, o);
		} else if (!strncmp(o, "--", 2)) {
			fprintf(stderr, "gen_trace: unknown option %s\n", o);
			return 2;
		} else if (!path) {
			path = o;
			takes = 0;
		} else {
			recs = realloc(recs, (nrec + 1) * sizeof *recs);
			if (!recs)
				return 1;
			recs[nrec++] = parse_record(o);
			takes = 0;
		}
		i += takes;
	}
	if (!path) {
		fputs("usage: gen_trace [OPTIONS] OUT --scenario | [RECORD...]\n", stderr);
		return 2;
	}

	/* room for the 64 bytes of header fields and the 48 of a record even
	 * when --header-bytes or --record-bytes says less (a truncated file) */
	buf = malloc(h.header_bytes > h.record_bytes ? (h.header_bytes > 64 ? h.header_bytes : 64)
	             : (h.record_bytes > 64 ? h.record_bytes : 64));
	f = fopen(path, "wb");
	if (!buf || !f) {
		perror(path);
		return 1;
	}
	/* The header: its fields, then 0xee up to header_bytes. */
	memset(buf, 0xee, h.header_bytes);
	memset(buf, 0, 64 < h.header_bytes ? 64 : h.header_bytes);
	memcpy(buf, magic, strlen(magic) < 8 ? strlen(magic) : 8);
	put32(buf + 8, h.version);
	put32(buf + 12, h.header_bytes);
	put32(buf + 16, h.record_bytes);
	put32(buf + 20, h.page_size);
	put64(buf + 24, h.frames);
	put64(buf + 32, h.start_realtime_ns);
	put64(buf + 40, h.start_monotonic_ns);
	put32(buf + 48, h.pid);
	put32(buf + 52, h.policy);
	fwrite(buf, 1, h.header_bytes < 64 ? 64 : h.header_bytes, f);
	given = recs; /* freed at the end, as all is: the ASan build checks leaks */
	if (use_scenario) {
		recs = (struct dpemu_trace_record *)scenario; /* records given are ignored */
		nrec = sizeof scenario / sizeof scenario[0];
	}
	if (walk) {
		all = malloc((nrec + walk) * sizeof *all);
		if (!all)
			return 1;
		if (nrec)
			memcpy(all, recs, nrec * sizeof *all);
		for (uint64_t i = 0; i < walk; i++)
			all[nrec + i] = (struct dpemu_trace_record){
				.time_ns = 1000 + 100 * i, .addr = A + (i % 512) * h.page_size,
				.latency_ns = 1000 + (i * 37) % 9000, .space = 1, .tid = 100,
				.frame = (uint32_t)(i % (h.frames ? h.frames : 1)),
				.event = i % 7 ? DPEMU_EVENT_ZERO_FILL : DPEMU_EVENT_SWAP_IN,
				.access = i % 7 ? W : R,
			};
		recs = all;
		nrec += walk;
	}
	for (size_t i = 0; i < nrec; i++) {
		const struct dpemu_trace_record *r = &recs[i];
		memset(buf, 0xee, h.record_bytes);
		put64(buf, r->time_ns);
		put64(buf + 8, r->addr);
		put64(buf + 16, r->latency_ns);
		put64(buf + 24, r->aux);
		put32(buf + 32, r->space);
		put32(buf + 36, r->tid);
		put32(buf + 40, r->frame);
		put16(buf + 44, r->event);
		buf[46] = r->access;
		buf[47] = r->outcome;
		fwrite(buf, 1, h.record_bytes < 48 ? 48 : h.record_bytes, f);
	}
	if (fflush(f) != 0 || (size = ftell(f)) < 0) {
		perror(path);
		return 1;
	}
	if (cut && ftruncate(fileno(f), size > (long)cut ? size - (long)cut : 0) != 0) {
		perror(path);
		return 1;
	}
	if (fclose(f) != 0) {
		perror(path);
		return 1;
	}
	free(all);
	free(given);
	free(buf);
	return 0;
}
