/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.c - `dpemu trace SUBCOMMAND`: its usage, the dispatch to report
 * (trace_report.c), export (trace_export.c) and plot (trace_plot.c), and
 * what they share (trace.h: their argument parser, their output, JSON
 * strings).
 *
 * The trace commands read files only: unlike the other commands they
 * create no pool, so they do not check DPEMU_BACKEND and DPEMU_HOSTMAP
 * (cli_check_env), and a DPEMU_TRACE left in the environment cannot start
 * a trace that would truncate the very file being read.
 *
 * Calls options.c (cli_wants_help, cli_check_output), getopt, stat and
 * stdio.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "options.h"
#include "trace.h"

static const char trace_usage[] =
	"Usage: dpemu trace report FILE [--json] [-o OUT]\n"
	"       dpemu trace export FILE --csv|--json|--chrome [--sort] [-o OUT]\n"
	"       dpemu trace plot FILE [-o OUT.svg] [--what pattern|resident|latency|all]\n"
	"       dpemu trace --help\n"
	"\n"
	"Read a trace file that dpemu_trace_start (or DPEMU_TRACE=PATH) wrote: every\n"
	"fault of the spaces of one pool with its latency, and every eviction,\n"
	"swap-out, write-back, map, unmap, fork and destroy.\n"
	"\n"
	"  report   a summary: the header, faults by kind and outcome, latency\n"
	"           percentiles per kind, the pages that faulted most, page\n"
	"           replacement, the peak resident set, events lost\n"
	"  export   every event: CSV, a JSON array, or a Chrome/Perfetto trace\n"
	"           (chrome://tracing, ui.perfetto.dev)\n"
	"  plot     an SVG picture: the reference pattern (page against time), the\n"
	"           resident set and faults over time, the latency histograms\n"
	"\n"
	"Each takes --help.  Exit status: 0 success, 1 the trace could not be read\n"
	"(missing, not a trace, truncated) or the output not written, 2 a usage error.\n";

int cmd_trace(int argc, char **argv)
{
	if (argc < 2) {
		fputs(trace_usage, stderr);
		return 2;
	}
	if (cli_wants_help(argv[1])) {
		if (argc > 2) {
			fprintf(stderr, "dpemu trace: unexpected argument '%s' after %s\n",
			        argv[2], argv[1]);
			return 2;
		}
		fputs(trace_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "report"))
		return trace_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export"))
		return trace_export(argc - 1, argv + 1);
	if (!strcmp(argv[1], "plot"))
		return trace_plot(argc - 1, argv + 1);
	fprintf(stderr, "dpemu trace: unknown subcommand '%s'; try 'dpemu trace --help'\n",
	        argv[1]);
	return 2;
}

int trace_parse_args(const char *argv0, const char *help, const struct trace_flag *flags,
                     int argc, char **argv, struct trace_args *a)
{
	struct option longopts[16];
	struct stat in, out;
	size_t n = 0;
	int c, idx;

	for (; flags[n].name; n++)
		longopts[n] = (struct option){ flags[n].name,
		                               flags[n].value ? required_argument : no_argument,
		                               NULL, 0 };
	longopts[n++] = (struct option){ "output", required_argument, NULL, 'o' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	a->file = NULL;
	a->out = NULL;
	opterr = 0;
	optind = 1;
	while ((idx = -1, c = getopt_long(argc, argv, ":o:h", longopts, &idx)) != -1) {
		switch (c) {
		case 0:
			if (flags[idx].value)
				*flags[idx].value = optarg;
			else
				*flags[idx].set = 1;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs a %s; try '%s --help'\n", argv0,
			        argv[optind - 1], optopt == 'o' ? "file" : "value", argv0);
			return 2;
		default:
			fprintf(stderr, "%s: unknown option '%s'; try '%s --help'\n", argv0,
			        argv[optind - 1], argv0);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no trace file given; try '%s --help'\n", argv0, argv0);
		return 2;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'; try '%s --help'\n", argv0,
		        argv[optind + 1], argv0);
		return 2;
	}
	a->file = argv[optind];
	if (a->out && cli_check_output(argv0, "-o", a->out) != 0)
		return 2;
	/* Writing OUT truncates it: it must not be the trace. */
	if (a->out && stat(a->file, &in) == 0 && stat(a->out, &out) == 0 &&
	    in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
		fprintf(stderr, "%s: -o %s: that is the trace itself\n", argv0, a->out);
		return 2;
	}
	return -1;
}

FILE *trace_out_open(const char *argv0, const char *out)
{
	FILE *f;

	if (!out)
		return stdout;
	f = fopen(out, "w");
	if (!f)
		fprintf(stderr, "%s: %s: %s\n", argv0, out, strerror(errno));
	return f;
}

int trace_out_close(const char *argv0, FILE *f, const char *out, int failed)
{
	int err = 0;

	if (fflush(f) != 0 || ferror(f))
		err = errno ? errno : EIO;
	if (f != stdout && fclose(f) != 0 && !err)
		err = errno ? errno : EIO;
	if (err && !failed)
		fprintf(stderr, "%s: %s: write error: %s\n", argv0,
		        out ? out : "standard output", strerror(err));
	if ((err || failed) && out)
		remove(out);
	return err || failed ? 1 : 0;
}

void trace_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
