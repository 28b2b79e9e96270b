/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * series_kernel.c - the series that measure the host, not dpemu: the
 * kernel's own faults (anonymous, file, copy-on-write after fork(2),
 * shared memory), the threads' pass (thread_pass, also run by dpemu's
 * thread series), the trap floor (a bare SIGSEGV handler doing one
 * mprotect: trap_arm, trap_disarm) and the timer.  Calls measure.c,
 * stats.c (close_round), libc and pthreads; the trap handler only
 * async-signal-safe calls (mprotect, siglongjmp).
 */
#include "bench_int.h"

/* ----------------------------------------------------- kernel series */

void run_k_anon(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	long f0 = minor_faults();
	if (s->kind == KIND_CHUNK)
		chunk_loop(s, p); /* kernel-seqpass */
	else
		fault_loop(s, p, s->random ? rnd : seq, 0);
	long f = minor_faults() - f0;
	if (f < (long)opt_pages)
		set_note(s, "only %ld minor faults for %zu pages (huge pages?)",
		         f, opt_pages);
	munmap(p, len);
	close_round(s, base);
}

void run_k_file(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	file_warm();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, file_fd, 0);
	if (p == MAP_FAILED)
		return fail(s, "mmap of the file", errno);
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE);
#endif
	if (s->write) {
		long f0 = minor_faults();
		fault_loop(s, p, rnd, 0);
		long f = minor_faults() - f0;
		if (f < (long)opt_pages)
			set_note(s, "only %ld minor faults for %zu pages", f,
			         opt_pages);
	} else {
		/* The kernel maps cached neighbours with each read fault:
		   keep the accesses that faulted (counted outside the timing). */
		uint64_t *out = s->ns + s->n;
		size_t k = 0;
		for (size_t i = 0; i < opt_pages; i++) {
			long f0 = minor_faults();
			uint64_t dt = timed_touch(p + rnd[i] * page, 0);
			if (minor_faults() != f0)
				out[k++] = dt;
		}
		s->n += k;
		s->touches += (long)opt_pages;
		s->faulted += (long)k;
	}
	munmap(p, len);
	close_round(s, base);
}

/* A fresh memfd of len bytes mapped MAP_SHARED (no huge pages), as a
   pool's frames are; NULL with the series failed. */
static char *map_fresh_memfd(struct series *s, size_t len)
{
	int fd = memfd_create("dpemu-bench", MFD_CLOEXEC);
	char *p;

	if (fd < 0) {
		fail(s, "memfd_create", errno);
		return NULL;
	}
	if (ftruncate(fd, (off_t)len) != 0) {
		close(fd);
		fail(s, "ftruncate", errno);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fail(s, "mmap of a memfd", errno);
		return NULL;
	}
#ifdef MADV_NOHUGEPAGE
	madvise(p, len, MADV_NOHUGEPAGE);
#endif
	return p;
}

/* A fresh memfd mapped MAP_SHARED: what a first touch of a frame of a pool
   (itself a memfd) costs the host, without dpemu. */
void run_k_shm(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_fresh_memfd(s, len);
	if (!p)
		return;
	long f0 = minor_faults();
	if (s->kind == KIND_CHUNK)
		chunk_loop(s, p);
	else
		fault_loop(s, p, s->random ? rnd : seq, 0);
	long f = minor_faults() - f0;
	if (f < (long)opt_pages)
		set_note(s, "only %ld minor faults for %zu pages", f, opt_pages);
	munmap(p, len);
	close_round(s, base);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* A fresh memfd mapped MAP_SHARED, populated FA_PAGES pages per
   madvise(MADV_POPULATE_WRITE) and then written, ascending: what making a
   fault-around window's host pages present in one call costs. */
void run_k_shmpop(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_fresh_memfd(s, len);
	if (!p)
		return;
	if (madvise(p, FA_PAGES * page, MADV_POPULATE_WRITE) != 0) {
		s->unavailable = 1;
		snprintf(s->note, sizeof s->note,
		         "unavailable here: madvise(MADV_POPULATE_WRITE): %s",
		         strerror(errno));
		munmap(p, len);
		return;
	}
	uint64_t *out = s->ns + s->n;
	size_t chunks = opt_pages / CHUNK;
	for (size_t c = 0; c < chunks; c++) {
		char *q = p + c * CHUNK * page;
		uint64_t t0 = now_ns();
		for (size_t i = 0; i < CHUNK; i += FA_PAGES) {
			madvise(q + i * page, FA_PAGES * page, MADV_POPULATE_WRITE);
			for (size_t j = i; j < i + FA_PAGES; j++)
				*(volatile char *)(q + j * page) = 1;
		}
		uint64_t dt = now_ns() - t0;
		out[c] = (dt + CHUNK / 2) / CHUNK;
		s->total_ns += dt;
		s->total_pages += CHUNK;
	}
	s->n += chunks;
	munmap(p, len);
	close_round(s, base);
}

void run_k_cow(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	for (size_t off = 0; off < len; off += page) /* populate, untimed */
		p[off] = 2;
	int pfd[2];
	if (pipe(pfd) != 0) {
		munmap(p, len);
		return fail(s, "pipe", errno);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		munmap(p, len);
		return fail(s, "fork", errno);
	}
	if (pid == 0) {
		/* the child keeps its references until the parent is done */
		char c;
		close(pfd[1]);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pfd[0]);
	long f0 = minor_faults();
	fault_loop(s, p, rnd, 0);
	long f = minor_faults() - f0;
	close(pfd[1]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (f < (long)opt_pages)
		set_note(s, "only %ld minor faults for %zu pages", f, opt_pages);
	munmap(p, len);
	close_round(s, base);
}

/* ----------------------------------------------------------- threads */

struct worker {
	pthread_t tid;
	char *p;
	const size_t *idx;
	size_t n;
	int cpu;        /* pinned to this CPU, or -1                        */
	int spin;       /* the control: arithmetic instead of accesses      */
	uint64_t t0, t1;
};

static volatile uint64_t spin_sink;
static atomic_int pass_ready, pass_go;

/*
 * Each worker pins itself to its own CPU and then spins on pass_go rather
 * than sleeping on a barrier: a thread woken from a futex is placed on the
 * waker's CPU (wake-affine) and can share it with the other worker for
 * milliseconds, which serializes a pass of a few milliseconds whatever the
 * code under test does (the spin control showed 1.0 x with a barrier).
 */
static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	atomic_fetch_add(&pass_ready, 1);
	while (!atomic_load_explicit(&pass_go, memory_order_acquire))
		;
	w->t0 = now_ns();
	if (w->spin) {
		/* the control: about 2 us of arithmetic per page, no memory */
		uint64_t x = 88172645463325252ULL;
		for (size_t i = 0; i < w->n; i++)
			for (int k = 0; k < 1000; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
			}
		spin_sink = x;
	} else {
		for (size_t i = 0; i < w->n; i++)
			*(volatile char *)(w->p + w->idx[i] * page) = 1;
	}
	w->t1 = now_ns();
	return NULL;
}

/* One pass over p with nthr threads; returns its wall time in ns. */
uint64_t thread_pass(char *p, int nthr, int spin)
{
	struct worker w[2];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int err;
	atomic_store(&pass_ready, 0);
	atomic_store(&pass_go, 0);
	for (int t = 0; t < nthr; t++) {
		w[t].p = p;
		w[t].idx = nthr == 1 ? rnd : half[t];
		w[t].n = nthr == 1 ? opt_pages : half_n[t];
		w[t].cpu = ncpu >= nthr ? t : -1;
		w[t].spin = spin;
		if ((err = pthread_create(&w[t].tid, NULL, worker_fn, &w[t])) != 0) {
			/* cannot happen short of resources; a started worker
			   would spin forever, so give up on the process */
			fprintf(stderr, "bench: pthread_create: %s\n", strerror(err));
			exit(1);
		}
	}
	while (atomic_load(&pass_ready) < nthr)
		sched_yield();
	atomic_store_explicit(&pass_go, 1, memory_order_release);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int t = 0; t < nthr; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].t0 < lo)
			lo = w[t].t0;
		if (w[t].t1 > hi)
			hi = w[t].t1;
	}
	return hi - lo;
}

void record_pass(struct series *s, uint64_t dt)
{
	s->ns[s->n++] = (dt + opt_pages / 2) / opt_pages;
	s->total_ns += dt;
	s->total_pages += opt_pages;
}

/* ----------------------------------------------------- the trap floor */

static char *trap_lo, *trap_hi;
static volatile sig_atomic_t trap_count;
static sigjmp_buf trap_escape;
static volatile sig_atomic_t trap_errno;
volatile sig_atomic_t trap_threaded; /* no siglongjmp across threads */

static void trap_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *a = si->si_addr;
	int saved = errno;
	if (a < trap_lo || a >= trap_hi) {
		/* not ours: let the default action take it */
		signal(SIGSEGV, SIG_DFL);
		errno = saved;
		return;
	}
	char *pg = (char *)((uintptr_t)a & ~(uintptr_t)(page - 1));
	if (mprotect(pg, page, PROT_READ | PROT_WRITE) != 0) {
		trap_errno = errno;
		if (trap_threaded) {
			signal(SIGSEGV, SIG_DFL); /* the access kills us */
			errno = saved;
			return;
		}
		siglongjmp(trap_escape, 1); /* e.g. vm.max_map_count reached */
	}
	trap_count++;
	errno = saved;
}

/* A populated PROT_NONE region of len bytes with the trap handler armed;
   NULL (errno set) on failure. */
char *trap_arm(size_t len, struct sigaction *prev)
{
	char *p = map_anon(len);
	if (!p)
		return NULL;
	for (size_t off = 0; off < len; off += page) /* populate, untimed */
		((volatile char *)p)[off] = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = trap_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	trap_lo = p;
	trap_hi = p + len;
	trap_count = 0;
	trap_errno = 0;
	if (mprotect(p, len, PROT_NONE) != 0 || sigaction(SIGSEGV, &sa, prev) != 0) {
		int e = errno;
		munmap(p, len);
		trap_lo = trap_hi = NULL;
		errno = e;
		return NULL;
	}
	return p;
}

void trap_disarm(char *p, size_t len, const struct sigaction *prev)
{
	sigaction(SIGSEGV, prev, NULL);
	trap_lo = trap_hi = NULL;
	munmap(p, len);
}

void run_trap(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	struct sigaction prev;
	/* Only around this run: whatever was installed comes back after. */
	char *p = trap_arm(len, &prev);
	if (!p)
		return fail(s, "trap set-up", errno);
	uint64_t *out = s->ns + base;
	volatile size_t i = 0;
	if (sigsetjmp(trap_escape, 1) == 0) {
		for (; i < opt_pages; i++) {
			if (i == opt_pages / 2)
				note_vmas(s);
			out[i] = timed_touch(p + rnd[i] * page, 1);
		}
	}
	note_vmas(s);
	trap_disarm(p, len, &prev);
	if (i < opt_pages) {
		s->failed = 1;
		s->note[0] = 0;
		set_note(s, "mprotect failed after %zu of %zu pages: %s "
		         "(vm.max_map_count?)", (size_t)i, opt_pages,
		         strerror(trap_errno));
		return;
	}
	if ((size_t)trap_count != opt_pages)
		set_note(s, "%ld traps for %zu pages", (long)trap_count, opt_pages);
	s->n += opt_pages;
	close_round(s, base);
}

void run_timer(struct series *s)
{
	size_t len = opt_pages * page, base = s->n;
	char *p = map_anon(len);
	if (!p)
		return fail(s, "mmap", errno);
	for (size_t off = 0; off < len; off += page)
		((volatile char *)p)[off] = 0;
	fault_loop(s, p, rnd, 0);
	munmap(p, len);
	close_round(s, base);
}
