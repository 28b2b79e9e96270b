/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.h - what `dpemu trace` (trace.c: its usage and the dispatch to
 * the subcommands) shares with its subcommands, one file each:
 * trace_report.c (`dpemu trace report`), trace_export.c (`dpemu trace
 * export`) and trace_plot.c (`dpemu trace plot`): their entry points, the parser of their arguments, their
 * output (stdout or -o OUT) and a JSON string writer.  trace.c calls
 * options.c, getopt, stat and stdio only.
 */
#ifndef DPEMU_CLI_TRACE_H
#define DPEMU_CLI_TRACE_H

#include <stdio.h>

/* The subcommands: argv[0] is "report", "export" or "plot"; the exit
 * status (0, 1 the trace unreadable or the output unwritable, 2 a usage
 * error). */
int trace_report(int argc, char **argv);
int trace_export(int argc, char **argv);
int trace_plot(int argc, char **argv);

/* A flag of a subcommand: --name sets *set to 1; or, where value is not
 * NULL, an option with a value: --name VALUE (or --name=VALUE) sets
 * *value to VALUE. */
struct trace_flag {
	const char *name;
	int *set;
	const char **value;
};

/* What every subcommand takes besides its flags. */
struct trace_args {
	const char *file;  /* the trace, the one argument                   */
	const char *out;   /* -o OUT, --output OUT; NULL: standard output   */
};

/*
 * Parse the arguments argv[1..argc) of subcommand argv0 ("dpemu trace
 * report"): the flags and options (a table ended by a NULL name),
 * -o/--output OUT, -h/--help, and exactly one FILE, in any order ("--"
 * ends the options).
 * OUT is checked now (cli_check_output), before the trace is read.
 * Returns -1 to go on with *a set, or the exit status: 0 after printing
 * help on stdout, 2 after printing "argv0: WHY; try 'argv0 --help'" on
 * stderr (an unknown option, -o without a file or an option without its
 * value, no FILE or a second one,
 * an OUT that cannot be written or is FILE itself).
 */
int trace_parse_args(const char *argv0, const char *help, const struct trace_flag *flags,
                     int argc, char **argv, struct trace_args *a);

/* The output: standard output when out is NULL, else the file out,
 * created or truncated.  NULL after printing "argv0: OUT: why". */
FILE *trace_out_open(const char *argv0, const char *out);

/*
 * Finish the output f of trace_out_open: flush and close it (standard
 * output only flushed) and check that everything was written.  With
 * failed (the trace could not be read to its end), or a failed write, a
 * file out is removed.  Returns the exit status: 0, or 1 (failed, or
 * after printing "argv0: OUT: write error: why").
 */
int trace_out_close(const char *argv0, FILE *f, const char *out, int failed);

/* Write s to f as a JSON string, quotes included. */
void trace_json_string(FILE *f, const char *s);

#endif
