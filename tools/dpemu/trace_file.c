/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_file.c - the reader of dpemu's trace files and the tool's names
 * of events, accesses and outcomes (trace_file.h says what each takes and
 * returns).  Streams the file record by record through one buffer of
 * record_bytes, so a trace of any size is read in constant memory.
 * Calls libc (stdio, fstat) only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace_file.h"

#define HEADER_MIN 64u                 /* sizeof(struct dpemu_trace_header) */
#define RECORD_MIN 48u                 /* sizeof(struct dpemu_trace_record) */
#define HEADER_MAX (1u << 20)          /* more is garbage, not a header     */
#define RECORD_MAX (1u << 16)

/* Little-endian fields of the file, on any host. */
static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Print "argv0: PATH: MESSAGE" and close what r opened; returns -1. */
static int fail(struct trace_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct trace_reader *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", r->argv0, r->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	trace_close(r);
	return -1;
}

/* Read exactly n bytes into buf; returns the bytes read (less at the end
 * of the file), or -1 on a read error (errno set). */
static long read_full(FILE *f, unsigned char *buf, size_t n)
{
	size_t got = fread(buf, 1, n, f);

	if (got < n && ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return (long)got;
}

int trace_open(struct trace_reader *r, const char *argv0, const char *path)
{
	unsigned char h[HEADER_MIN];
	struct stat st;
	long n;

	memset(r, 0, sizeof *r);
	r->argv0 = argv0;
	r->path = path;
	r->f = fopen(path, "rb");
	if (!r->f)
		return fail(r, "%s", strerror(errno));
	if (fstat(fileno(r->f), &st) != 0)
		return fail(r, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(r, "%s", strerror(EISDIR));
	setvbuf(r->f, NULL, _IOFBF, 1 << 20);

	errno = 0;
	n = read_full(r->f, h, sizeof h);
	if (n < 0)
		return fail(r, "read error: %s", strerror(errno));
	if (n == 0)
		return fail(r, "not a dpemu trace (empty file)");
	if (n < 8 || memcmp(h, DPEMU_TRACE_MAGIC, 8) != 0)
		return fail(r, "not a dpemu trace (bad magic)");
	if (n < (long)sizeof h)
		return fail(r, "truncated header (%ld of %u bytes)", n, HEADER_MIN);

	memcpy(r->hdr.magic, h, 8);
	r->hdr.version = le32(h + 8);
	r->hdr.header_bytes = le32(h + 12);
	r->hdr.record_bytes = le32(h + 16);
	r->hdr.page_size = le32(h + 20);
	r->hdr.frames = le64(h + 24);
	r->hdr.start_realtime_ns = le64(h + 32);
	r->hdr.start_monotonic_ns = le64(h + 40);
	r->hdr.pid = le32(h + 48);
	r->hdr.policy = le32(h + 52);
	memcpy(r->hdr.reserved, h + 56, 8);

	if (r->hdr.version != DPEMU_TRACE_VERSION)
		return fail(r, "trace version %" PRIu32 ", this dpemu reads version %d",
		            r->hdr.version, DPEMU_TRACE_VERSION);
	if (r->hdr.header_bytes < HEADER_MIN || r->hdr.header_bytes > HEADER_MAX)
		return fail(r, "bad header_bytes %" PRIu32 " (accepted: %u to %u)",
		            r->hdr.header_bytes, HEADER_MIN, HEADER_MAX);
	if (r->hdr.record_bytes < RECORD_MIN || r->hdr.record_bytes > RECORD_MAX)
		return fail(r, "bad record_bytes %" PRIu32 " (accepted: %u to %u)",
		            r->hdr.record_bytes, RECORD_MIN, RECORD_MAX);
	if (r->hdr.page_size == 0 || (r->hdr.page_size & (r->hdr.page_size - 1)))
		return fail(r, "bad page size %" PRIu32 " (not a power of two)",
		            r->hdr.page_size);

	r->buf = malloc(r->hdr.record_bytes);
	if (!r->buf)
		return fail(r, "%s", strerror(ENOMEM));
	/* A later version's longer header: skip what it appended. */
	for (uint64_t left = r->hdr.header_bytes - HEADER_MIN; left > 0;) {
		size_t chunk = left < r->hdr.record_bytes ? (size_t)left : r->hdr.record_bytes;
		errno = 0;
		n = read_full(r->f, r->buf, chunk);
		if (n < 0)
			return fail(r, "read error: %s", strerror(errno));
		if ((size_t)n < chunk)
			return fail(r, "truncated header (%" PRIu64 " of %" PRIu32 " bytes)",
			            r->hdr.header_bytes - left + (uint64_t)n,
			            r->hdr.header_bytes);
		left -= chunk;
	}
	r->offset = r->hdr.header_bytes;

	/* A regular file: its size says whether the last record is whole,
	 * before anything is read or written. */
	if (S_ISREG(st.st_mode)) {
		uint64_t body;
		r->size = (uint64_t)st.st_size;
		if (r->size < r->hdr.header_bytes)
			return fail(r, "truncated header (%" PRIu64 " of %" PRIu32 " bytes)",
			            r->size, r->hdr.header_bytes);
		body = r->size - r->hdr.header_bytes;
		r->records = body / r->hdr.record_bytes;
		if (body % r->hdr.record_bytes)
			return fail(r, "truncated record at offset %" PRIu64 " (%" PRIu64
			            " of %" PRIu32 " bytes)",
			            r->hdr.header_bytes + r->records * r->hdr.record_bytes,
			            body % r->hdr.record_bytes, r->hdr.record_bytes);
	}
	return 0;
}

int trace_read(struct trace_reader *r, struct dpemu_trace_record *rec)
{
	const unsigned char *p = r->buf;
	long n;

	errno = 0;
	n = read_full(r->f, r->buf, r->hdr.record_bytes);
	if (n < 0)
		return fail(r, "read error at offset %" PRIu64 ": %s", r->offset,
		            strerror(errno));
	if (n == 0)
		return 0;
	if ((uint32_t)n < r->hdr.record_bytes)
		return fail(r, "truncated record at offset %" PRIu64 " (%ld of %" PRIu32
		            " bytes)", r->offset, n, r->hdr.record_bytes);
	rec->time_ns = le64(p);
	rec->addr = le64(p + 8);
	rec->latency_ns = le64(p + 16);
	rec->aux = le64(p + 24);
	rec->space = le32(p + 32);
	rec->tid = le32(p + 36);
	rec->frame = le32(p + 40);
	rec->event = le16(p + 44);
	rec->access = p[46];
	rec->outcome = p[47];
	r->offset += r->hdr.record_bytes;
	return 1;
}

void trace_close(struct trace_reader *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	free(r->buf);
	r->buf = NULL;
}

/* The library's names (dpemu_event_name), which the CSV and JSON carry. */
const char *trace_event_name(unsigned event)
{
	return dpemu_event_name((enum dpemu_event)event);
}

const char *trace_access_name(unsigned access)
{
	switch (access) {
	case DPEMU_ACCESS_READ:  return "read";
	case DPEMU_ACCESS_WRITE: return "write";
	case DPEMU_ACCESS_EXEC:  return "exec";
	}
	return "unknown";
}

const char *trace_outcome_name(unsigned outcome)
{
	switch (outcome) {
	case DPEMU_FAULT_UNMAPPED:      return "unmapped";
	case DPEMU_FAULT_PROTECTION:    return "protection";
	case DPEMU_FAULT_OUT_OF_FRAMES: return "out-of-frames";
	case DPEMU_FAULT_HOST:          return "host";
	}
	return "unknown";
}

int trace_is_fault(unsigned event)
{
	return event >= DPEMU_EVENT_ZERO_FILL && event <= DPEMU_EVENT_UNRESOLVED;
}

void *trace_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("dpemu trace: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

void *trace_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fputs("dpemu trace: out of memory\n", stderr);
		exit(1);
	}
	return p;
}
