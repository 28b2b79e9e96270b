/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * measure.c - the helpers every series measures with: the random orders
 * (rng_next, shuffle, reproducible for a given --seed), the untimed
 * pretouch before a run, the loops that time one access per sample
 * (fault_loop) or a chunk of CHUNK pages (chunk_loop), counts of VMAs and
 * minor faults, and a series' note and failure.  Calls libc and <dpemu.h>
 * (dpemu_strerror, dpemu_last_error) only.
 */
#include "bench_int.h"

/* ------------------------------------------------------------ utilities */

uint64_t rng_state;

uint64_t rng_next(void)
{
	/* xorshift64*: reproducible for a given --seed */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void shuffle(size_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next() % i);
		size_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static uint64_t count_vmas(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[65536];
	uint64_t lines = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

void note_vmas(struct series *s)
{
	uint64_t v = count_vmas();
	if (v > s->vmas_max)
		s->vmas_max = v;
}

long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * Populate and free a large block, untimed, so that the memory the next
 * run touches is backed by the host again (on the reference VM, freed
 * memory goes back to the host and its next touch costs 12-20 us a page;
 * doc/performance.md, "Host costs measured on the reference machine").
 */
void pretouch(size_t need)
{
	size_t len = opt_pretouch_mib << 20;
	if (len == 0)
		return; /* --pretouch-mib 0: off, to see what it is for */
	if (len < 2 * need)
		len = 2 * need;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (!MAP_POPULATE) /* only if the libc lacks it */
		for (size_t off = 0; off < len; off += page)
			((volatile char *)p)[off] = 1;
	munmap(p, len);
}

void set_note(struct series *s, const char *fmt, ...)
{
	if (s->note[0])
		return; /* keep the first */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->note, sizeof s->note, fmt, ap);
	va_end(ap);
}

void fail(struct series *s, const char *what, long err)
{
	s->failed = 1;
	s->note[0] = 0;
	if (err < 0)
		set_note(s, "%s: %s (%s)", what, dpemu_strerror((int)err),
		         dpemu_last_error());
	else
		set_note(s, "%s: %s", what, strerror((int)err));
}

char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE); /* one fault per 4 KiB page */
#endif
	return p;
}

/* Time opt_pages single accesses of p in the given order. */
void fault_loop(struct series *s, char *p, const size_t *order, int vmas)
{
	uint64_t *out = s->ns + s->n;
	for (size_t i = 0; i < opt_pages; i++) {
		if (vmas && i == opt_pages / 2)
			note_vmas(s); /* untimed: half the pages touched */
		out[i] = timed_touch(p + order[i] * page, s->write);
	}
	s->n += opt_pages;
}

/* Time an ascending pass of writes over p, CHUNK pages per sample. */
void chunk_loop(struct series *s, char *p)
{
	uint64_t *out = s->ns + s->n;
	size_t chunks = opt_pages / CHUNK;
	for (size_t c = 0; c < chunks; c++) {
		char *q = p + c * CHUNK * page;
		uint64_t t0 = now_ns();
		for (size_t i = 0; i < CHUNK; i++)
			*(volatile char *)(q + i * page) = 1;
		uint64_t dt = now_ns() - t0;
		out[c] = (dt + CHUNK / 2) / CHUNK;
		s->total_ns += dt;
		s->total_pages += CHUNK;
	}
	s->n += chunks;
}

/* Read the test file whole, untimed, so its pages are in the page cache. */
void file_warm(void)
{
	char buf[65536];
	for (off_t off = 0; off < (off_t)(opt_pages * page); off += sizeof buf)
		if (pread(file_fd, buf, sizeof buf, off) <= 0)
			break;
}
