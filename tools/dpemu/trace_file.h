/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_file.h - the reader of dpemu's trace files (the format of
 * <dpemu.h>: struct dpemu_trace_header, then struct dpemu_trace_record
 * after record), for `dpemu trace report` and `dpemu trace export`, and
 * the names the tool prints for events, accesses and outcomes.
 * trace_file.c calls libc (stdio, stat) only: the tool reads a trace
 * without creating a pool, so a DPEMU_TRACE in the environment never
 * starts one.
 */
#ifndef DPEMU_CLI_TRACE_FILE_H
#define DPEMU_CLI_TRACE_FILE_H

#include <stdint.h>
#include <stdio.h>

#include <dpemu.h>

/* frame of a record that names none */
#define TRACE_NO_FRAME UINT32_MAX

/*
 * An open trace file.  The header's fields are decoded from the file's
 * little-endian bytes, whatever the host's byte order; header_bytes and
 * record_bytes are the file's own (at least the sizes of the structs of
 * <dpemu.h>: a later version's longer header and records are read, the
 * fields it appended skipped).
 */
struct trace_reader {
	const char *path;          /* as given, for messages                  */
	const char *argv0;         /* "dpemu trace report", for messages      */
	FILE *f;
	struct dpemu_trace_header hdr;
	uint64_t size;             /* the file's size in bytes (regular file) */
	uint64_t records;          /* records in the file: (size -
	                              header_bytes) / record_bytes            */
	uint64_t offset;           /* file offset of the next record          */
	unsigned char *buf;        /* one record, record_bytes long           */
};

/*
 * Open the trace at path and check its header: the magic, the version
 * (DPEMU_TRACE_VERSION), header_bytes (64 to 1 MiB) and record_bytes (48
 * to 64 KiB), a page size that is a power of two, and a file made of the
 * header and whole records.  Returns 0 with *r ready for trace_read, or
 * -1 after printing "argv0: PATH: why" on stderr (for example "not a
 * dpemu trace (bad magic)", "truncated record at offset N"); then nothing
 * is left open.
 */
int trace_open(struct trace_reader *r, const char *argv0, const char *path);

/*
 * The next record, in the file's order, decoded into *rec (the fields a
 * later version appended are skipped).  Returns 1, 0 at the end of the
 * file, or -1 after printing "argv0: PATH: why" (a read error, or a file
 * that shrank or grew to a partial record while being read).
 */
int trace_read(struct trace_reader *r, struct dpemu_trace_record *rec);

/* Close r (also after trace_read failed); r->f is NULL afterwards. */
void trace_close(struct trace_reader *r);

/*
 * Names, as the tool prints them.  trace_event_name: "zero-fill",
 * "file-read", ... "lost" (enum dpemu_event), "unknown" for any other
 * value (a later version's event).  trace_access_name: "unknown", "read",
 * "write", "exec" (enum dpemu_access), "unknown" for any other.
 * trace_outcome_name: "unmapped", "protection", "out-of-frames", "host"
 * (enum dpemu_fault_kind, the outcome of an unresolved fault), "unknown"
 * for any other (0 included).
 */
const char *trace_event_name(unsigned event);
const char *trace_access_name(unsigned access);
const char *trace_outcome_name(unsigned outcome);

/* Whether event is a fault (DPEMU_EVENT_ZERO_FILL ... _UNRESOLVED): a
 * record with a latency. */
int trace_is_fault(unsigned event);

/* realloc and calloc for the trace commands (a size of 0 allocates one
 * byte): on failure, "dpemu trace: out of memory" on stderr and exit 1. */
void *trace_xrealloc(void *p, size_t n);
void *trace_xcalloc(size_t n, size_t size);

#endif
