/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * init.c - the preload library's constructor and destructor: which process
 * this is, the configuration `dpemu run` passes in the environment, the
 * pool, the space and the heap given to mimalloc; the report at exit (and
 * at _exit and _Exit, which skip destructors).
 *
 * The environment (dpemu(1), ENVIRONMENT, says the same):
 *   DPEMU_RUN_PID=PID          the process to serve: the one dpemu run
 *                              started (the same after an exec); any other
 *                              is passive
 *   DPEMU_RUN_REPORT=PATH      where the report goes (report.c)
 *   DPEMU_RUN_FRAMES=N         pool frames (required)
 *   DPEMU_RUN_PAGE_SIZE=BYTES  0 or unset: the host's page
 *   DPEMU_RUN_POLICY=NAME      none, fifo, clock, lru, random, custom
 *                              (default clock)
 *   DPEMU_RUN_POLICY_LIB=PATH  with custom: the shared object whose
 *                              dpemu_policy_plugin is the policy (loaded
 *                              with pl_in_lib raised: what its init
 *                              allocates is glibc's, never the arena's,
 *                              so its pick never faults)
 *   DPEMU_RUN_BACKEND=NAME     sigsegv, uffd, uffd-sigbus; unset: auto
 *   DPEMU_RUN_FAULT_AROUND=N   pages per fault (default 1)
 *   DPEMU_RUN_SWAP=PATH        the swap file (default: an unlinked temporary)
 *   DPEMU_RUN_SWAP_SLOTS=N     swap capacity in pages (default: 16 x frames,
 *                              at least 1 GiB of pages)
 *   DPEMU_RUN_RESERVE=BYTES    the space's size (default 64 GiB); half of it,
 *                              from the first 64 MiB boundary, is the heap
 *   DPEMU_RUN_TLB=N            the space's emulated TLB entries (default 0,
 *                              none)
 *   DPEMU_RUN_TRACE=PATH       trace the pool into PATH (dpemu_trace_start;
 *                              stopped, and so complete, in the report)
 * A value that cannot be used stops the program before it starts: the
 * report gets an "error" line, stderr a message, and the exit status is
 * 125 (the tool checks every value first, so this is for hand-made
 * environments).
 * Calls: dpemu (pl_in_lib raised), mimalloc, libc.c, fork.c, signal.c,
 * report.c.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <mimalloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "../policy_plugin.h"

PL_HIDDEN struct pl pl;
PL_HIDDEN __thread int pl_in_lib __attribute__((tls_model("initial-exec")));

/* The store thread of the library's copy of dpemu (store.c: a Redis
 * store's hiredis): everything it allocates goes to glibc, never to the
 * dpemu heap it serves. */
PL_HIDDEN void _dpemu_store_thread_hook(void);
PL_HIDDEN void _dpemu_store_thread_hook(void)
{
	pl_in_lib++;
}

#define HEAP_ALIGN ((uintptr_t)64 << 20) /* mimalloc's arenas: 32 MiB blocks */
#define DEFAULT_RESERVE ((size_t)64 << 30)

uint64_t pl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The unsigned number in variable name, or dflt when it is unset or empty;
 * a value that is not a number stops the program (pl_die). */
static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return dflt;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end || v[0] == '-')
		pl_die(name, "is not a number");
	return x;
}

static enum dpemu_policy env_policy(void)
{
	static const char *const names[] = { "none", "fifo", "clock", "lru", "random",
	                                     "custom" };
	const char *v = getenv("DPEMU_RUN_POLICY");

	if (!v || !*v)
		return DPEMU_POLICY_CLOCK;
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(v, names[i]))
			return (enum dpemu_policy)i;
	pl_die("DPEMU_RUN_POLICY", "is not one of none, fifo, clock, lru, random, custom");
}

/* DPEMU_RUN_BACKEND into pl.backend and pl.uffd_mode. */
static void env_backend(void)
{
	const char *v = getenv("DPEMU_RUN_BACKEND");

	pl.backend = DPEMU_BACKEND_AUTO;
	pl.uffd_mode = DPEMU_UFFD_THREAD;
	if (!v || !*v)
		return;
	if (!strcmp(v, "sigsegv"))
		pl.backend = DPEMU_BACKEND_SIGSEGV;
	else if (!strcmp(v, "uffd"))
		pl.backend = DPEMU_BACKEND_UFFD;
	else if (!strcmp(v, "uffd-sigbus")) {
		pl.backend = DPEMU_BACKEND_UFFD;
		pl.uffd_mode = DPEMU_UFFD_SIGBUS;
	} else {
		pl_die("DPEMU_RUN_BACKEND", "is not one of sigsegv, uffd, uffd-sigbus");
	}
}

/* The pool and the space, from the environment. */
static void make_space(void)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	uint64_t frames = env_u64("DPEMU_RUN_FRAMES", 0), slots, floor_slots;
	const char *trace;
	int err;

	memset(&pc, 0, sizeof pc);
	if (frames == 0)
		pl_die("DPEMU_RUN_FRAMES", "is not set to a number of frames above 0");
	pc.frames = frames;
	pc.page_size = env_u64("DPEMU_RUN_PAGE_SIZE", 0);
	pc.policy = env_policy();
	pl.policy_name = dpemu_policy_name(pc.policy);
	if (pc.policy == DPEMU_POLICY_CUSTOM) {
		const char *lib = getenv("DPEMU_RUN_POLICY_LIB");
		static char why[512];
		if (!lib || !*lib)
			pl_die("DPEMU_RUN_POLICY_LIB", "is not set (policy custom needs it)");
		pc.custom = policy_plugin_load(lib, why, sizeof why);
		if (!pc.custom)
			pl_die("DPEMU_RUN_POLICY_LIB", why);
		if (pc.custom->name && *pc.custom->name)
			pl.policy_name = pc.custom->name;
	}
	pc.swap_path = getenv("DPEMU_RUN_SWAP");
	if (pc.swap_path && !*pc.swap_path)
		pc.swap_path = NULL;
	pl.page_size = pc.page_size ? pc.page_size : pl.host_page;
	floor_slots = ((uint64_t)1 << 30) / pl.page_size;
	slots = frames * 16 > floor_slots ? frames * 16 : floor_slots;
	if (pc.policy != DPEMU_POLICY_NONE)
		pc.swap_slots = env_u64("DPEMU_RUN_SWAP_SLOTS", slots);
	else
		pc.swap_path = NULL;
	err = dpemu_pool_create(&pc, &pl.pool);
	if (err)
		pl_die("dpemu_pool_create", dpemu_last_error());

	memset(&sc, 0, sizeof sc);
	sc.reserve = env_u64("DPEMU_RUN_RESERVE", DEFAULT_RESERVE);
	env_backend();
	sc.backend = pl.backend;
	sc.uffd_mode = pl.uffd_mode;
	sc.fault_around = env_u64("DPEMU_RUN_FAULT_AROUND", 1);
	sc.tlb_entries = env_u64("DPEMU_RUN_TLB", 0);
	err = dpemu_space_create(pl.pool, &sc, &pl.space);
	if (err)
		pl_die("dpemu_space_create", dpemu_last_error());
	pl.tlb_entries = sc.tlb_entries;
	trace = getenv("DPEMU_RUN_TRACE");
	if (trace && *trace) {
		if (dpemu_trace_start(pl.pool, trace) != 0)
			pl_die("DPEMU_RUN_TRACE", dpemu_last_error());
		pl.tracing = true;
	}
	pl.backend = dpemu_space_backend(pl.space);
	pl.backend_name = pl.backend == DPEMU_BACKEND_SIGSEGV ? "sigsegv"
	                  : pl.uffd_mode == DPEMU_UFFD_SIGBUS ? "uffd-sigbus" : "uffd";
	pl.base = (uintptr_t)dpemu_space_base(pl.space);
	pl.end = pl.base + dpemu_space_size(pl.space);
}

/* Half the space, from its first 64 MiB boundary, as one private anonymous
 * mapping: mimalloc's only memory for its blocks. */
static void make_heap(void)
{
	uintptr_t start = (pl.base + HEAP_ALIGN - 1) & ~(HEAP_ALIGN - 1);
	size_t len = ((pl.end - pl.base) / 2) & ~(size_t)(HEAP_ALIGN - 1);
	void *out;
	int err;

	if (len < HEAP_ALIGN || start + len > pl.end)
		pl_die("DPEMU_RUN_RESERVE", "leaves less than 64 MiB for the heap (give at least "
		       "256 MiB)");
	err = dpemu_map(pl.space, (void *)start, len, PROT_READ | PROT_WRITE,
	                DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS | DPEMU_MAP_FIXED, -1, 0, &out);
	if (err)
		pl_die("dpemu_map of the heap", dpemu_last_error());
	/* Blocks only from the arena below: none from the system; and no
	 * decommit (it would unmap and map again pieces of the heap through
	 * madvise, splitting dpemu's mapping without end). */
	mi_option_set(mi_option_limit_os_alloc, 1);
	mi_option_set(mi_option_allow_decommit, 0);
	mi_option_set(mi_option_show_errors, 0);
	if (!mi_manage_os_memory(out, len, true, false, true, -1))
		pl_die("mi_manage_os_memory", "mimalloc refused the heap");
	pl.heap = (uintptr_t)out;
	pl.heap_end = pl.heap + len;
}

/*
 * Take this library out of LD_PRELOAD, and drop the DPEMU_RUN_ variables
 * dpemu run sets (DPEMU_RUN_RESERVE is the user's), in a passive process:
 * it and its children see the environment they would see without `dpemu
 * run`, and its children run without dpemu.
 */
void pl_strip_environment(void)
{
	const char *pre = getenv("LD_PRELOAD");
	static char rest[4096];
	size_t n = 0;

	static const char *const names[] = { "DPEMU_RUN_PID", "DPEMU_RUN_REPORT",
		"DPEMU_RUN_FRAMES", "DPEMU_RUN_PAGE_SIZE", "DPEMU_RUN_POLICY", "DPEMU_RUN_BACKEND",
		"DPEMU_RUN_FAULT_AROUND", "DPEMU_RUN_SWAP", "DPEMU_RUN_SWAP_SLOTS", "DPEMU_RUN_TLB",
		"DPEMU_RUN_TRACE" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unsetenv(names[i]);
	if (!pre)
		return;
	/* Keep every entry that is not a libdpemu-run.so. */
	for (const char *p = pre; *p;) {
		size_t len = strcspn(p, ": ");
		const char *slash = memrchr(p, '/', len);
		const char *name = slash ? slash + 1 : p;
		bool ours = (size_t)(p + len - name) >= strlen("libdpemu-run.so") &&
		            !strncmp(name, "libdpemu-run.so", strlen("libdpemu-run.so"));
		if (!ours && len > 0 && n + len + 2 < sizeof rest) {
			if (n)
				rest[n++] = ':';
			memcpy(rest + n, p, len);
			n += len;
		}
		p += len;
		while (*p == ':' || *p == ' ')
			p++;
	}
	rest[n] = '\0';
	if (n)
		setenv("LD_PRELOAD", rest, 1);
	else
		unsetenv("LD_PRELOAD");
}

__attribute__((constructor)) static void pl_init(void)
{
	const char *pid = getenv("DPEMU_RUN_PID");
	const char *report = getenv("DPEMU_RUN_REPORT");

	pl.host_page = (size_t)sysconf(_SC_PAGESIZE);
	if (!pl_libc_resolve() || !pid || strtol(pid, NULL, 10) != (long)getpid()) {
		pl_strip_environment();
		atomic_store(&pl.state, PL_PASSIVE);
		return;
	}
	pl.pid = getpid();
	pl.start_ns = pl_now_ns();
	if (report && strlen(report) < sizeof pl.report)
		strcpy(pl.report, report);
	pl_in_lib++;
	pl_report_line("loaded", "1");
	pl_signals_init();
	make_space();
	make_heap();
	if (pl_fork_install() != 0)
		pl_die("pthread_atfork", "failed");
	pl_in_lib--;
	atomic_store_explicit(&pl.state, PL_ON, memory_order_release);
}

__attribute__((destructor)) static void pl_fini(void)
{
	if (pl_state() == PL_ON && getpid() == pl.pid)
		pl_report_final();
}

PL_EXPORT void _exit(int status)
{
	if (pl_state() == PL_ON && getpid() == pl.pid)
		pl_report_final();
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

PL_EXPORT void _Exit(int status)
{
	_exit(status);
}
