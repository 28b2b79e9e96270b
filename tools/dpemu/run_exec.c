/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_exec.c - one run of `dpemu run`: the program started with the
 * preload library in LD_PRELOAD and its configuration in DPEMU_RUN_*
 * (tools/libdpemu-run/init.c lists them), waited for, its exit status
 * told as env(1) and timeout(1) tell it, and the preload's report read.
 *
 * The report file is a temporary file unlinked as soon as it is made: the
 * program opens it again as /proc/PID/fd/N of this process, so nothing is
 * left behind even if dpemu is killed.  (Without /proc, a named temporary
 * file, removed after the run.)  Signals sent to dpemu itself (kill(1):
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT) are passed on to the program; those a
 * terminal sends reach the program by themselves, and dpemu only waits.
 * Calls: fork, exec, wait4, stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

static volatile pid_t running;
static const int passed_on[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void pass_on(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (running > 0 && si->si_code <= 0) /* sent by a process, not a terminal */
		kill(running, sig);
	errno = saved;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The report file: fd (open, close-on-exec) and the path the program
 * opens it by; *named is set when the path is a real name to remove
 * afterwards.  0, or -1 after the message.
 */
static int report_file(int *fd, char *path, size_t len, bool *named)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];

	snprintf(tmpl, sizeof tmpl, "%s/dpemu-run-XXXXXX", dir && *dir ? dir : "/tmp");
	*fd = mkostemp(tmpl, O_CLOEXEC);
	if (*fd < 0) {
		fprintf(stderr, "dpemu run: cannot make a temporary file in %s: %s\n",
		        dir && *dir ? dir : "/tmp", strerror(errno));
		return -1;
	}
	snprintf(path, len, "/proc/%ld/fd/%d", (long)getpid(), *fd);
	if (access(path, W_OK) == 0) {
		unlink(tmpl);
		*named = false;
	} else {
		snprintf(path, len, "%s", tmpl);
		*named = true;
	}
	return 0;
}

static void set_u64(const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%" PRIu64, v);
	setenv(name, buf, 1);
}

/* In the child: the environment the preload library reads, then exec.
 * Writes exec's errno to errfd if it fails. */
static void child(const struct run_config *c, const char *policy, uint64_t frames,
                  const char *report, bool quiet, int errfd)
{
	const char *old = getenv("LD_PRELOAD");
	char pre[8192];
	int err;

	if (quiet) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	snprintf(pre, sizeof pre, "%s%s%s", c->preload, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", pre, 1);
	set_u64("DPEMU_RUN_PID", (uint64_t)getpid());
	setenv("DPEMU_RUN_REPORT", report, 1);
	set_u64("DPEMU_RUN_FRAMES", frames);
	setenv("DPEMU_RUN_POLICY", policy, 1);
	if (!strcmp(policy, "custom"))
		setenv("DPEMU_RUN_POLICY_LIB", c->policy_lib, 1);
	else
		unsetenv("DPEMU_RUN_POLICY_LIB");
	if (c->page_size)
		set_u64("DPEMU_RUN_PAGE_SIZE", c->page_size);
	if (c->backend)
		setenv("DPEMU_RUN_BACKEND", c->backend, 1);
	if (c->fault_around)
		set_u64("DPEMU_RUN_FAULT_AROUND", c->fault_around);
	if (c->swap)
		setenv("DPEMU_RUN_SWAP", c->swap, 1);
	if (c->swap_slots)
		set_u64("DPEMU_RUN_SWAP_SLOTS", c->swap_slots);
	if (c->tlb)
		set_u64("DPEMU_RUN_TLB", c->tlb);
	if (c->trace) {
		/* the preload library starts this trace itself; DPEMU_TRACE
		 * would start a second one on the same pool */
		setenv("DPEMU_RUN_TRACE", c->trace, 1);
		unsetenv("DPEMU_TRACE");
	}
	execvp(c->argv[0], c->argv);
	err = errno;
	if (write(errfd, &err, sizeof err) < 0) {
		/* the parent sees an exit status of 127 alone */
	}
	_exit(RUN_NOTFOUND);
}

/* The preload's report (fd, from its start) into r. */
static void read_report(int fd, struct run_result *r)
{
	char line[1024];
	FILE *f;
	int dup_fd = dup(fd);

	if (dup_fd < 0 || lseek(dup_fd, 0, SEEK_SET) < 0 || !(f = fdopen(dup_fd, "r"))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		char *sp = strchr(line, ' '), *end;
		line[strcspn(line, "\n")] = '\0';
		if (!sp)
			continue;
		*sp++ = '\0';
		if (!strcmp(line, "loaded"))
			r->loaded = true;
		else if (!strcmp(line, "complete"))
			r->loaded = r->complete = true;
		else if (!strcmp(line, "error"))
			snprintf(r->error, sizeof r->error, "%s", sp);
		else if (!strcmp(line, "backend"))
			snprintf(r->backend, sizeof r->backend, "%s", sp);
		else if (!strcmp(line, "policy"))
			snprintf(r->policy, sizeof r->policy, "%s", sp);
		else if (r->nvals < (int)(sizeof r->vals / sizeof r->vals[0])) {
			size_t len = strlen(line);
			uint64_t v = strtoull(sp, &end, 10);
			if (*sp && !*end && len < sizeof r->vals[0].key) {
				memcpy(r->vals[r->nvals].key, line, len + 1);
				r->vals[r->nvals++].v = v;
			}
		}
	}
	fclose(f);
}

/* Wait for pid, passing signals on meanwhile; its status and usage. */
static void wait_for(pid_t pid, int *status, struct rusage *ru)
{
	struct sigaction sa, old[sizeof passed_on / sizeof passed_on[0]];

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = pass_on;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	running = pid;
	for (size_t i = 0; i < sizeof passed_on / sizeof passed_on[0]; i++)
		sigaction(passed_on[i], &sa, &old[i]);
	while (wait4(pid, status, 0, ru) < 0 && errno == EINTR)
		;
	running = 0;
	for (size_t i = 0; i < sizeof passed_on / sizeof passed_on[0]; i++)
		sigaction(passed_on[i], &old[i], NULL);
}

int run_program(const struct run_config *c, const char *policy, uint64_t frames, bool quiet,
                struct run_result *r)
{
	char report[4200];
	int fd, errpipe[2], status = 0, err = 0;
	bool named;
	struct rusage ru;
	uint64_t t0;
	pid_t pid;

	memset(r, 0, sizeof *r);
	memset(&ru, 0, sizeof ru);
	if (report_file(&fd, report, sizeof report, &named) != 0)
		return -1;
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		fprintf(stderr, "dpemu run: pipe: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "dpemu run: fork: %s\n", strerror(errno));
		close(errpipe[0]);
		close(errpipe[1]);
		close(fd);
		if (named)
			unlink(report);
		return -1;
	}
	if (pid == 0)
		child(c, policy, frames, report, quiet, errpipe[1]);
	close(errpipe[1]);
	while (read(errpipe[0], &err, sizeof err) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	wait_for(pid, &status, &ru);
	r->wall_ns = now_ns() - t0;
	r->user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u;
	r->sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
	if (err) {
		r->exec_errno = err;
		r->status = err == ENOENT ? RUN_NOTFOUND : RUN_NOEXEC;
		if (!quiet)
			fprintf(stderr, "dpemu run: cannot run '%s': %s\n", c->argv[0], strerror(err));
	} else if (WIFSIGNALED(status)) {
		r->signal = WTERMSIG(status);
		r->status = 128 + r->signal;
	} else {
		r->status = WEXITSTATUS(status);
	}
	read_report(fd, r);
	close(fd);
	if (named)
		unlink(report);
	return 0;
}
