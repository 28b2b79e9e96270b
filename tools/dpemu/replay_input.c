/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay_input.c - `dpemu replay`'s input: a reference string read from
 * page numbers (OSTEP's paging-policy.py style: commas, blanks, newlines,
 * '#' comments), a valgrind lackey log (--tool=lackey --trace-mem=yes:
 * "I  ADDR,SIZE", " L ADDR,SIZE", " S ...", " M ...") or a dpemu trace
 * file (its fault events), with its pages numbered densely in order of
 * first reference (replay.h).  Calls libc and stdio only (it reads the
 * trace itself, not through trace_file.c, to take standard input too).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define ME "dpemu replay"
#define LACKEY_PAGE_SIZE 4096 /* lackey's default --page-size */

/* ---- page number -> dense number ------------------------------------------------ */

struct rp_map {
	uint64_t *pageno;
	uint32_t *space;
	uint32_t *id;  /* RP_NONE: an empty slot */
	size_t cap;    /* a power of two */
};

static size_t map_hash(uint32_t space, uint64_t pageno, size_t cap)
{
	uint64_t h = (pageno ^ ((uint64_t)space << 47)) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17) & (cap - 1);
}

/* Grow m to cap slots (a power of two), keeping what it holds.  0 or -1. */
static int map_grow(struct rp_map *m, size_t cap)
{
	struct rp_map n = { malloc(cap * sizeof(uint64_t)), malloc(cap * sizeof(uint32_t)),
	                    malloc(cap * sizeof(uint32_t)), cap };

	if (!n.pageno || !n.space || !n.id) {
		free(n.pageno);
		free(n.space);
		free(n.id);
		return -1;
	}
	for (size_t i = 0; i < cap; i++)
		n.id[i] = RP_NONE;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->id[i] == RP_NONE)
			continue;
		size_t h = map_hash(m->space[i], m->pageno[i], cap);
		while (n.id[h] != RP_NONE)
			h = (h + 1) & (cap - 1);
		n.pageno[h] = m->pageno[i];
		n.space[h] = m->space[i];
		n.id[h] = m->id[i];
	}
	free(m->pageno);
	free(m->space);
	free(m->id);
	*m = n;
	return 0;
}

/* The dense number of (space, pageno) in s, a new one if it is new:
 * RP_NONE when memory runs out. */
static uint32_t page_id(struct rp_string *s, uint32_t space, uint64_t pageno)
{
	struct rp_map *m = s->map;

	if (!m) {
		m = s->map = calloc(1, sizeof *m);
		if (!m || map_grow(m, 1024) != 0)
			return RP_NONE;
	}
	size_t h = map_hash(space, pageno, m->cap);
	while (m->id[h] != RP_NONE) {
		if (m->pageno[h] == pageno && m->space[h] == space)
			return m->id[h];
		h = (h + 1) & (m->cap - 1);
	}
	if (s->npages >= UINT32_MAX - 1)
		return RP_NONE;
	if (s->npages == s->pcap) {
		size_t cap = s->pcap ? s->pcap * 2 : 256;
		uint64_t *pn = realloc(s->pageno, cap * sizeof *pn);
		if (!pn)
			return RP_NONE;
		s->pageno = pn;
		uint32_t *sp = realloc(s->space, cap * sizeof *sp);
		if (!sp)
			return RP_NONE;
		s->space = sp;
		s->pcap = cap;
	}
	uint32_t id = (uint32_t)s->npages++;
	s->pageno[id] = pageno;
	s->space[id] = space;
	m->pageno[h] = pageno;
	m->space[h] = space;
	m->id[h] = id;
	if (s->npages * 2 > m->cap && map_grow(m, m->cap * 2) != 0)
		return RP_NONE;
	return id;
}

int rp_append(struct rp_string *s, uint32_t space, uint64_t pageno, int write)
{
	uint32_t id = page_id(s, space, pageno);

	if (id == RP_NONE)
		return -1;
	if (s->npages > 0 && space != s->space[0])
		s->spaces = 1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint32_t *pg = realloc(s->page, cap * sizeof *pg);
		if (!pg)
			return -1;
		s->page = pg;
		unsigned char *w = realloc(s->write, cap);
		if (!w)
			return -1;
		s->write = w;
		s->cap = cap;
	}
	s->page[s->n] = id;
	s->write[s->n] = write ? 1 : 0;
	s->n++;
	return 0;
}

void rp_string_free(struct rp_string *s)
{
	free(s->page);
	free(s->write);
	free(s->pageno);
	free(s->space);
	if (s->map) {
		free(s->map->pageno);
		free(s->map->space);
		free(s->map->id);
		free(s->map);
	}
	memset(s, 0, sizeof *s);
}

char *rp_label(const struct rp_string *s, uint32_t p, char *buf, size_t len)
{
	if (s->format == RP_NUMBERS)
		snprintf(buf, len, "%" PRIu64, s->pageno[p]);
	else if (s->spaces)
		snprintf(buf, len, "%" PRIu32 ":0x%" PRIx64, s->space[p], s->pageno[p]);
	else
		snprintf(buf, len, "0x%" PRIx64, s->pageno[p]);
	return buf;
}

/* ---- text input, line by line ------------------------------------------------------- */

/* The line that starts at buf + *pos (without its '\n'), and its length;
 * *pos moves past it.  NULL at the end. */
static const char *next_line(const unsigned char *buf, size_t len, size_t *pos, size_t *linelen)
{
	if (*pos >= len)
		return NULL;
	const char *line = (const char *)buf + *pos;
	const char *nl = memchr(line, '\n', len - *pos);
	*linelen = nl ? (size_t)(nl - line) : len - *pos;
	*pos += *linelen + (nl ? 1 : 0);
	return line;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* "NAME:LINE: WHAT 'TEXT'" on stderr, TEXT cut at 40 characters. */
static int bad_line(const char *name, size_t lineno, const char *what, const char *text,
                    size_t textlen)
{
	int n = textlen > 40 ? 40 : (int)textlen;

	fprintf(stderr, "%s: %s:%zu: %s '%.*s%s'\n", ME, name, lineno, what, n, text,
	        textlen > 40 ? "..." : "");
	return -1;
}

static int out_of_memory(const char *name)
{
	fprintf(stderr, "%s: %s: out of memory\n", ME, name);
	return -1;
}

/* The number in tok[0 .. len): decimal, or hexadecimal after "0x";
 * 0 with *v, or -1 if it is not one (or overflows). */
static int parse_number(const char *tok, size_t len, int base, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;

	if (base == 0) {
		base = 10;
		if (len > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X')) {
			base = 16;
			i = 2;
		}
	}
	if (i >= len)
		return -1;
	for (; i < len; i++) {
		char c = tok[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (x > (UINT64_MAX - d) / (uint64_t)base)
			return -1;
		x = x * (uint64_t)base + d;
	}
	*v = x;
	return 0;
}

/* Page numbers: tokens between commas and blanks, '#' to the end of a
 * line a comment.  Every reference a read. */
static int parse_numbers(const char *name, const unsigned char *buf, size_t len,
                         struct rp_string *s)
{
	size_t pos = 0, linelen, lineno = 0;
	const char *line;

	while ((line = next_line(buf, len, &pos, &linelen)) != NULL) {
		lineno++;
		const char *hash = memchr(line, '#', linelen);
		size_t end = hash ? (size_t)(hash - line) : linelen;
		for (size_t i = 0; i < end;) {
			if (is_blank(line[i]) || line[i] == ',') {
				i++;
				continue;
			}
			size_t j = i;
			while (j < end && !is_blank(line[j]) && line[j] != ',')
				j++;
			uint64_t v;
			if (parse_number(line + i, j - i, 0, &v) != 0)
				return bad_line(name, lineno, "bad page number", line + i, j - i);
			if (rp_append(s, 0, v, 0) != 0)
				return out_of_memory(name);
			i = j;
		}
	}
	return 0;
}

/* One lackey record, "I  ADDR,SIZE" or " L|S|M ADDR,SIZE": its pages
 * (an access that spans pages references each), S and M as writes. */
static int lackey_record(const char *line, size_t len, unsigned shift, struct rp_string *s)
{
	size_t i = 0, j;
	uint64_t addr, size;

	while (i < len && line[i] == ' ')
		i++;
	if (i >= len || line[i] == '\0' || !strchr("ILSM", line[i]))
		return 1;
	char kind = line[i++];
	if (i >= len || line[i] != ' ')
		return 1;
	while (i < len && line[i] == ' ')
		i++;
	for (j = i; j < len && line[j] != ','; j++)
		;
	if (j >= len || j - i > 16 || parse_number(line + i, j - i, 16, &addr) != 0)
		return 1;
	i = j + 1;
	for (j = i; j < len && !is_blank(line[j]); j++)
		;
	if (parse_number(line + i, j - i, 10, &size) != 0)
		return 1;
	for (; j < len; j++)
		if (!is_blank(line[j]))
			return 1;
	uint64_t last = size == 0 ? addr : addr + (size - 1 < UINT64_MAX - addr ? size - 1
	                                                                        : UINT64_MAX - addr);
	if ((last >> shift) - (addr >> shift) > 64)
		return 1; /* no lackey access spans that many pages */
	for (uint64_t pg = addr >> shift; pg <= last >> shift; pg++)
		if (rp_append(s, 0, pg, kind == 'S' || kind == 'M') != 0)
			return -1;
	return 0;
}

static unsigned log2_of(uint64_t page_size)
{
	unsigned shift = 0;

	while ((1ull << shift) < page_size)
		shift++;
	return shift;
}

/* A lackey log: records, and valgrind's "==PID==" lines (skipped). */
static int parse_lackey(const char *name, const unsigned char *buf, size_t len,
                        uint64_t page_size, struct rp_string *s)
{
	size_t pos = 0, linelen, lineno = 0;
	unsigned shift = log2_of(page_size);
	const char *line;

	while ((line = next_line(buf, len, &pos, &linelen)) != NULL) {
		lineno++;
		size_t i = 0;
		while (i < linelen && is_blank(line[i]))
			i++;
		if (i == linelen || (linelen >= 2 && line[0] == '=' && line[1] == '='))
			continue;
		int rc = lackey_record(line, linelen, shift, s);
		if (rc < 0)
			return out_of_memory(name);
		if (rc > 0)
			return bad_line(name, lineno, "not a lackey record", line, linelen);
	}
	return 0;
}

/* ---- trace files ------------------------------------------------------------------ */

static uint64_t le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct trace_ref {
	uint64_t time_ns, seq, addr;
	uint32_t space;
	int write;
};

static int trace_ref_cmp(const void *a, const void *b)
{
	const struct trace_ref *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

#define TRACE_HEADER_MAX (1u << 20) /* as trace_file.c accepts them */
#define TRACE_RECORD_MAX (1u << 16)
#define FIELD(type, field) offsetof(struct type, field)

/* A dpemu trace's header (<dpemu.h>: struct dpemu_trace_header, read
 * field by field, little-endian), checked as trace_file.c checks it: 0
 * with *hb, *rb (header and record bytes: a later version's are longer)
 * and *page_size (the header's, unless one was given), or -1 (printed). */
static int trace_header(const char *name, const unsigned char *buf, size_t len, uint64_t *hb,
                        uint64_t *rb, uint64_t *page_size)
{
	const size_t hmin = sizeof(struct dpemu_trace_header);
	const size_t rmin = sizeof(struct dpemu_trace_record);

	if (len < hmin) {
		fprintf(stderr, "%s: %s: truncated trace header (%zu of %zu bytes)\n", ME, name, len,
		        hmin);
		return -1;
	}
	uint64_t version = le(buf + FIELD(dpemu_trace_header, version), 4);
	*hb = le(buf + FIELD(dpemu_trace_header, header_bytes), 4);
	*rb = le(buf + FIELD(dpemu_trace_header, record_bytes), 4);
	if (version != DPEMU_TRACE_VERSION) {
		fprintf(stderr, "%s: %s: trace version %" PRIu64 ", this dpemu reads version %d\n",
		        ME, name, version, DPEMU_TRACE_VERSION);
		return -1;
	}
	if (*hb < hmin || *hb > TRACE_HEADER_MAX || *rb < rmin || *rb > TRACE_RECORD_MAX) {
		fprintf(stderr, "%s: %s: bad trace header: header_bytes %" PRIu64 ", record_bytes %"
		        PRIu64 "\n", ME, name, *hb, *rb);
		return -1;
	}
	if (len < *hb || (len - *hb) % *rb != 0) {
		fprintf(stderr, "%s: %s: truncated trace (%zu bytes: not a header of %" PRIu64
		        " and whole records of %" PRIu64 ")\n", ME, name, len, *hb, *rb);
		return -1;
	}
	if (*page_size == 0)
		*page_size = le(buf + FIELD(dpemu_trace_header, page_size), 4);
	if (*page_size == 0 || (*page_size & (*page_size - 1))) {
		fprintf(stderr, "%s: %s: the trace's page size %" PRIu64 " is not a power of two\n",
		        ME, name, *page_size);
		return -1;
	}
	return 0;
}

/* A dpemu trace: after its header, records of struct dpemu_trace_record
 * (what a later version appends skipped); its fault events in time order
 * (stable), each the page of its address in its space, a write if the
 * access was one. */
static int parse_trace(const char *name, const unsigned char *buf, size_t len,
                       uint64_t page_size, struct rp_string *s)
{
	uint64_t hb, rb;

	if (trace_header(name, buf, len, &hb, &rb, &page_size) != 0)
		return -1;
	s->page_size = page_size;
	size_t nrec = (len - hb) / rb, nref = 0;
	struct trace_ref *refs = malloc((nrec ? nrec : 1) * sizeof *refs);
	if (!refs)
		return out_of_memory(name);
	for (size_t i = 0; i < nrec; i++) {
		const unsigned char *r = buf + hb + i * rb;
		uint64_t event = le(r + FIELD(dpemu_trace_record, event), 2);
		if (event < DPEMU_EVENT_ZERO_FILL || event > DPEMU_EVENT_UNRESOLVED)
			continue;
		refs[nref++] = (struct trace_ref){
			le(r + FIELD(dpemu_trace_record, time_ns), 8), i,
			le(r + FIELD(dpemu_trace_record, addr), 8),
			(uint32_t)le(r + FIELD(dpemu_trace_record, space), 4),
			le(r + FIELD(dpemu_trace_record, access), 1) == DPEMU_ACCESS_WRITE };
	}
	if (nref > 1) /* (refs may be NULL when empty) */
		qsort(refs, nref, sizeof *refs, trace_ref_cmp);
	unsigned shift = log2_of(page_size);
	for (size_t i = 0; i < nref; i++)
		if (rp_append(s, refs[i].space, refs[i].addr >> shift, refs[i].write) != 0) {
			free(refs);
			return out_of_memory(name);
		}
	free(refs);
	return 0;
}

/* ---- the format, and reading ------------------------------------------------------------ */

/* Text input's format, from its first line that is not blank or a
 * comment: a lackey log if it starts with "==" or is a lackey record. */
static enum rp_format text_format(const unsigned char *buf, size_t len)
{
	size_t pos = 0, linelen;
	const char *line;

	while ((line = next_line(buf, len, &pos, &linelen)) != NULL) {
		size_t i = 0;
		while (i < linelen && is_blank(line[i]))
			i++;
		if (i == linelen || line[i] == '#')
			continue;
		if (linelen >= 2 && line[0] == '=' && line[1] == '=')
			return RP_LACKEY;
		return line[i] && strchr("ILSM", line[i]) && i + 1 < linelen && line[i + 1] == ' '
		       ? RP_LACKEY : RP_NUMBERS;
	}
	return RP_NUMBERS;
}

int rp_parse(const char *name, const unsigned char *buf, size_t len, uint64_t page_size,
             struct rp_string *s)
{
	int rc;

	memset(s, 0, sizeof *s);
	if (len >= 8 && memcmp(buf, DPEMU_TRACE_MAGIC, 8) == 0) {
		s->format = RP_TRACE;
		rc = parse_trace(name, buf, len, page_size, s);
	} else {
		s->format = text_format(buf, len);
		s->page_size = page_size ? page_size : LACKEY_PAGE_SIZE;
		rc = s->format == RP_LACKEY ? parse_lackey(name, buf, len, s->page_size, s)
		                            : parse_numbers(name, buf, len, s);
	}
	if (rc == 0 && s->n == 0) {
		fprintf(stderr, "%s: %s: no page references in the %s\n", ME, name,
		        s->format == RP_TRACE ? "trace (no fault events)" : "input");
		rc = -1;
	}
	if (rc != 0)
		rp_string_free(s);
	return rc;
}

int rp_read(const char *path, uint64_t page_size, struct rp_string *s)
{
	int std = strcmp(path, "-") == 0;
	const char *name = std ? "(standard input)" : path;
	FILE *f = std ? stdin : fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", ME, path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			unsigned char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				if (!std)
					fclose(f);
				return out_of_memory(name);
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: %s\n", ME, name, strerror(errno));
		free(buf);
		if (!std)
			fclose(f);
		return -1;
	}
	if (!std)
		fclose(f);
	rc = rp_parse(name, buf, len, page_size, s);
	free(buf);
	return rc;
}
