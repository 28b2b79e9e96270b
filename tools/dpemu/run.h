/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.h - `dpemu run`, in four files: run.c (options, checks, one run),
 * run_exec.c (starting the program under the preload library and waiting
 * for it), run_report.c (the report: text on stderr, or JSON) and
 * run_sweep.c (--sweep: one run per policy and number of frames, the
 * table and the SVG curve).  How the preload library works:
 * tools/libdpemu-run/preload.h.
 */
#ifndef DPEMU_CLI_RUN_H
#define DPEMU_CLI_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RUN_MAX_SWEEP 64
#define RUN_MAX_POLICIES 6

/* Exit statuses of dpemu run itself (besides the program's own). */
#define RUN_USAGE 2       /* a bad option, before anything ran           */
#define RUN_FAILED 125    /* dpemu run could not run the program (as
                             env(1) and timeout(1) use 125)              */
#define RUN_NOEXEC 126    /* PROGRAM is not executable                  */
#define RUN_NOTFOUND 127  /* PROGRAM was not found                      */

/* What the options ask for (run.c fills it, checked). */
struct run_config {
	uint64_t frames;           /* the pool; with --sweep, unused        */
	uint64_t page_size;        /* 0: the host's page                    */
	const char *policy[RUN_MAX_POLICIES];
	int npolicies;             /* at least 1 ("clock" by default)       */
	const char *backend;       /* sigsegv, uffd, uffd-sigbus; NULL: the
	                              library's AUTO (DPEMU_BACKEND)         */
	uint64_t fault_around;     /* 0: the default (1)                    */
	const char *swap;          /* NULL: an unlinked temporary file      */
	uint64_t swap_slots;       /* 0: the preload's default              */
	uint64_t tlb;              /* emulated TLB entries; 0: none         */
	const char *trace;         /* --trace FILE, or NULL                 */
	const char *json, *svg;
	char policy_lib[4096];     /* --policy-lib's absolute path, or ""    */
	char custom_name[64];      /* its policy's name (policy "custom")   */
	uint64_t sweep[RUN_MAX_SWEEP];
	int nsweep;                /* 0: one run                            */
	char **argv;               /* PROGRAM and its arguments             */
	char preload[4096];        /* libdpemu-run.so                       */
};

/* One key of the preload's report. */
struct run_value {
	char key[40];
	uint64_t v;
};

/* What one run gave. */
struct run_result {
	int status;         /* the exit status dpemu run reports for it      */
	int signal;         /* the signal that killed it, 0 if none          */
	int exec_errno;     /* exec failed: its errno (status 126 or 127)    */
	uint64_t wall_ns, user_ns, sys_ns;
	bool loaded;        /* the preload library's constructor ran         */
	bool complete;      /* its report at exit came                       */
	char error[512];    /* the preload library could not start: why      */
	char backend[16], policy[64];
	struct run_value vals[96];
	int nvals;
};

/* How policy p of c->policy is called in tables: "custom" by its own name. */
const char *run_policy_label(const struct run_config *c, const char *p);

/* run_exec.c.  Run c->argv once with policy and frames; quiet: stdin,
 * stdout and stderr of the program are /dev/null.  0 with *r filled, or
 * -1 after printing why dpemu run itself could not (exit RUN_FAILED). */
int run_program(const struct run_config *c, const char *policy, uint64_t frames, bool quiet,
                struct run_result *r);

/* run_report.c */
uint64_t run_get(const struct run_result *r, const char *key);
void run_print_report(FILE *f, const struct run_config *c, const struct run_result *r);
void run_json_object(FILE *f, const struct run_config *c, const struct run_result *r,
                     const char *indent);
int run_write_json(const struct run_config *c, const struct run_result *r);

/* run_sweep.c: the whole of --sweep; returns the exit status. */
int run_sweep(const struct run_config *c);

#endif
