/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.h - what every command of the dpemu tool checks the same way:
 * its numeric options (cli_parse_u64), its help and extra arguments
 * (cli_wants_help, cli_no_args), the environment (cli_check_env), an
 * output file (cli_check_output), and a failed library call (cli_check).
 * Also linked into bench/bench_fault, whose options are `dpemu bench`'s.
 * options.c calls <dpemu.h>, stdio, stat(2) and access(2).
 */
#ifndef DPEMU_CLI_OPTIONS_H
#define DPEMU_CLI_OPTIONS_H

#include <stdint.h>

/*
 * The numeric option parser of the tool (dpemu and its bench): parse arg,
 * the value of option opt (for example "--pages"), as an unsigned integer
 * in [min, max], decimal or hexadecimal after "0x".  Refused: an empty
 * string, a sign (a leading '-' would wrap around in strtoull), leading
 * spaces, trailing characters, a value that overflows (ERANGE) or lies
 * outside [min, max].  Returns 0 with *out set, or prints
 * "argv0: bad OPT 'ARG': WHY (accepted: MIN to MAX)" on stderr and
 * returns -1; the caller then exits with status 2, a usage error.
 */
int cli_parse_u64(const char *argv0, const char *opt, const char *arg, uint64_t min,
                  uint64_t max, uint64_t *out);

/*
 * Whether the environment is one the library accepts (DPEMU_BACKEND,
 * DPEMU_HOSTMAP), checked by every command before it does anything: a
 * one-frame pool and a DPEMU_BACKEND_AUTO space are created and destroyed.
 * Returns 0, or -1 after printing "argv0: MESSAGE" (the library's) on
 * stderr when either is refused with -EINVAL; the caller then exits with
 * status 2.  Other failures are left to the command to report.
 */
int cli_check_env(const char *argv0);

/*
 * Whether the file at path (the value of option opt) can be written,
 * checked before the work rather than after: an existing file must be
 * writable and not a directory, a new one needs a writable directory.
 * Nothing is created.  0, or -1 after printing "argv0: OPT PATH: why" on
 * stderr; the caller then exits with status 2.
 */
int cli_check_output(const char *argv0, const char *opt, const char *path);

/* Whether arg (NULL: none) asks for help: "-h" or "--help". */
int cli_wants_help(const char *arg);

/*
 * The arguments argv[1..argc) of command argv[0], one that takes none but
 * --help (help is its help text).  Returns -1 to go on, or the exit
 * status: 0 after printing help on stdout, 2 after printing
 * "dpemu CMD: unexpected argument 'ARG'; try 'dpemu CMD --help'" on stderr.
 */
int cli_no_args(const char *help, int argc, char **argv);

/*
 * A library call's result rc in a command: returned when rc >= 0; else
 * the library's message (which names the function already), or what and
 * the error's name when there is none, is printed on stderr as
 * "dpemu: ..." and the process exits with status 1.
 */
int cli_check(int rc, const char *what);

#endif
