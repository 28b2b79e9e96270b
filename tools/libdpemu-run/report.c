/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.c - what the preload library tells `dpemu run`: one "KEY VALUE"
 * line each, in the file DPEMU_RUN_REPORT names.
 *
 *   loaded 1                 written by the constructor, so that the tool
 *                            can tell a program that never loaded the
 *                            library (static, set-user-ID) from one that
 *                            ended without a report (killed, exec failed)
 *   error TEXT               the library could not start; nothing ran
 *   complete 1               the full report, written at exit, _exit or
 *                            _Exit, replacing the lines above:
 *   backend, policy          names; page_size, frames, reserve_bytes,
 *                            heap_bytes, swap_slots
 *   faults ... reference_faults, pages_resident, mappings, metadata_bytes
 *                            dpemu_space_stats of the space
 *   pool_evictions, pool_swap_outs, pool_swap_ins, frames_used,
 *   frames_used_peak, swap_slots_used
 *                            dpemu_pool_stats of its pool
 *   mmap_placed[_bytes], mmap_fallback[_bytes], mmap_other[_bytes],
 *   early_allocs, early_bytes, forks, host_ranges
 *                            the library's own counts (preload.h)
 *   rss_anon_bytes, rss_file_bytes, rss_shmem_bytes, hwm_bytes
 *                            /proc/self/status at exit: the kernel's view
 *                            (dpemu's frames are shared memory, RssShmem)
 *   tlb_entries, tlb_misses  the emulated TLB (0 and 0 without --tlb)
 *   latency_count, latency_{min,mean,p50,p90,p99,p999,max}_ns
 *                            dpemu_space_latency: every fault of the space
 *   latency_KIND_{count,p50_ns,p99_ns,max_ns}
 *                            dpemu_space_latency_kind, for each kind of
 *                            fault that happened (KIND: zero_fill,
 *                            swap_in, ... as dpemu_event_name, '_' for '-')
 *   trace_error ERRNO        dpemu_trace_stop failed (the trace file is
 *                            incomplete); absent when it succeeded
 *   elapsed_ns               from the constructor to the report
 * Calls: dpemu (statistics), open/write/read; no stdio, no allocation.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

struct out {
	char buf[8192];
	size_t len;
};

static void put(struct out *o, const char *key, unsigned long long v)
{
	int n = snprintf(o->buf + o->len, sizeof o->buf - o->len, "%s %llu\n", key, v);

	if (n > 0 && (size_t)n < sizeof o->buf - o->len)
		o->len += (size_t)n;
}

static void put_text(struct out *o, const char *key, const char *text)
{
	int n = snprintf(o->buf + o->len, sizeof o->buf - o->len, "%s %s\n", key, text);

	if (n > 0 && (size_t)n < sizeof o->buf - o->len)
		o->len += (size_t)n;
}

/* Replace the report with o's lines (nothing if no report was asked for). */
static void write_report(const struct out *o)
{
	int fd;
	size_t done = 0;

	if (!pl.report[0])
		return;
	fd = open(pl.report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	while (done < o->len) {
		ssize_t n = write(fd, o->buf + done, o->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
}

void pl_report_line(const char *key, const char *text)
{
	struct out o = { .len = 0 };

	put_text(&o, key, text);
	write_report(&o);
}

void pl_die(const char *what, const char *why)
{
	struct out o = { .len = 0 };
	char line[1024];
	int n;

	n = snprintf(line, sizeof line, "%s: %s", what, why);
	if (n > 0) {
		put_text(&o, "error", line);
		write_report(&o);
		if (write(STDERR_FILENO, "dpemu run: ", 11) < 0 ||
		    write(STDERR_FILENO, line, strlen(line)) < 0 || write(STDERR_FILENO, "\n", 1) < 0) {
			/* nothing more to say */
		}
	}
	syscall(SYS_exit_group, 125);
	__builtin_unreachable();
}

/* The kib of "Field:" in /proc/self/status, in bytes; 0 if absent. */
static unsigned long long status_bytes(const char *status, const char *field)
{
	const char *p = strstr(status, field);
	unsigned long long kib = 0;

	if (!p)
		return 0;
	p += strlen(field);
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p >= '0' && *p <= '9')
		kib = kib * 10 + (unsigned long long)(*p++ - '0');
	return kib * 1024;
}

static void put_status(struct out *o)
{
	static char status[8192];
	ssize_t n = 0, got;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		while ((got = read(fd, status + n, sizeof status - 1 - (size_t)n)) > 0)
			n += got;
		close(fd);
	}
	status[n > 0 ? n : 0] = '\0';
	put(o, "rss_anon_bytes", status_bytes(status, "RssAnon:"));
	put(o, "rss_file_bytes", status_bytes(status, "RssFile:"));
	put(o, "rss_shmem_bytes", status_bytes(status, "RssShmem:"));
	put(o, "hwm_bytes", status_bytes(status, "VmHWM:"));
}

static void put_counts(struct out *o)
{
	put(o, "mmap_placed", atomic_load(&pl.n.mmap_placed));
	put(o, "mmap_placed_bytes", atomic_load(&pl.n.mmap_placed_bytes));
	put(o, "mmap_fallback", atomic_load(&pl.n.mmap_fallback));
	put(o, "mmap_fallback_bytes", atomic_load(&pl.n.mmap_fallback_bytes));
	put(o, "mmap_other", atomic_load(&pl.n.mmap_other));
	put(o, "mmap_other_bytes", atomic_load(&pl.n.mmap_other_bytes));
	put(o, "early_allocs", atomic_load(&pl.n.early_allocs));
	put(o, "early_bytes", atomic_load(&pl.n.early_bytes));
	put(o, "forks", atomic_load(&pl.n.forks));
	put(o, "host_ranges", atomic_load(&pl.n.host_ranges));
}

/* Latency over every fault, then per kind of fault that happened. */
static void put_latency(struct out *o)
{
	struct dpemu_latency l;
	char key[64];

	if (dpemu_space_latency(pl.space, &l) != 0)
		return;
	put(o, "latency_count", l.count);
	put(o, "latency_min_ns", l.min_ns);
	put(o, "latency_mean_ns", l.mean_ns);
	put(o, "latency_p50_ns", l.p50_ns);
	put(o, "latency_p90_ns", l.p90_ns);
	put(o, "latency_p99_ns", l.p99_ns);
	put(o, "latency_p999_ns", l.p999_ns);
	put(o, "latency_max_ns", l.max_ns);
	for (int e = DPEMU_EVENT_ZERO_FILL; e <= DPEMU_EVENT_UNRESOLVED; e++) {
		const char *name = dpemu_event_name((enum dpemu_event)e);
		size_t n = 0;
		if (dpemu_space_latency_kind(pl.space, (enum dpemu_event)e, &l) != 0 || !l.count)
			continue;
		n = (size_t)snprintf(key, sizeof key, "latency_%s", name);
		for (size_t i = 0; i < n && i < sizeof key; i++)
			if (key[i] == '-')
				key[i] = '_';
		if (n + 8 >= sizeof key)
			continue;
		strcpy(key + n, "_count");
		put(o, key, l.count);
		strcpy(key + n, "_p50_ns");
		put(o, key, l.p50_ns);
		strcpy(key + n, "_p99_ns");
		put(o, key, l.p99_ns);
		strcpy(key + n, "_max_ns");
		put(o, key, l.max_ns);
	}
}

/* The full report (once: the first of exit, _exit and _Exit writes it). */
void pl_report_final(void)
{
	static atomic_int done;
	struct out o = { .len = 0 };
	struct dpemu_stats st;
	struct dpemu_pool_stats ps;

	if (atomic_exchange(&done, 1))
		return;
	pl_in_lib++;
	memset(&st, 0, sizeof st);
	memset(&ps, 0, sizeof ps);
	dpemu_space_stats(pl.space, &st);
	dpemu_pool_stats(pl.pool, &ps);
	put(&o, "complete", 1);
	put_text(&o, "backend", pl.backend_name);
	put_text(&o, "policy", pl.policy_name ? pl.policy_name : dpemu_policy_name(ps.policy));
	put(&o, "page_size", ps.page_size);
	put(&o, "frames", ps.frames_total);
	put(&o, "swap_slots", ps.swap_slots);
	put(&o, "reserve_bytes", pl.end - pl.base);
	put(&o, "heap_bytes", pl.heap_end - pl.heap);
	put(&o, "faults", st.faults);
	put(&o, "zero_fills", st.zero_fills);
	put(&o, "file_reads", st.file_reads);
	put(&o, "cow_copies", st.cow_copies);
	put(&o, "cow_reuses", st.cow_reuses);
	put(&o, "protection_faults", st.protection_faults);
	put(&o, "writebacks", st.writebacks);
	put(&o, "evictions", st.evictions);
	put(&o, "swap_outs", st.swap_outs);
	put(&o, "swap_ins", st.swap_ins);
	put(&o, "reference_faults", st.reference_faults);
	put(&o, "pages_resident", st.pages_resident);
	put(&o, "mappings", st.mappings);
	put(&o, "metadata_bytes", st.metadata_bytes);
	put(&o, "pool_evictions", ps.evictions);
	put(&o, "pool_swap_outs", ps.swap_outs);
	put(&o, "pool_swap_ins", ps.swap_ins);
	put(&o, "frames_used", ps.frames_used);
	put(&o, "frames_used_peak", ps.frames_used_peak);
	put(&o, "swap_slots_used", ps.swap_slots_used);
	put(&o, "tlb_entries", pl.tlb_entries);
	put(&o, "tlb_misses", st.tlb_misses);
	put_latency(&o);
	if (pl.tracing) {
		int err = dpemu_trace_stop(pl.pool); /* the file complete before we say so */
		pl.tracing = false;
		if (err)
			put(&o, "trace_error", (unsigned long long)-err);
	}
	put_counts(&o);
	put_status(&o);
	put(&o, "elapsed_ns", pl_now_ns() - pl.start_ns);
	pl_in_lib--;
	write_report(&o);
}
