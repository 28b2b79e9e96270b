/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench.h - the fault-latency benchmark suite of dpemu, as a function.
 *
 * bench/bench_fault (make bench) and the tool's `dpemu bench` both run it:
 * argv[0] is the name to show in messages, the rest are the options that
 * `--help` lists.  Returns the exit status: 0 when every series completed
 * (a backend the kernel refuses counts as unavailable, not as a failure),
 * 1 when a series failed or an output file could not be written, 2 on a
 * bad option or argument, an output path that cannot be written (checked
 * before measuring) or an environment the library rejects.  Prints to stdout; uses only <dpemu.h>, libc and pthreads.
 */
#ifndef DPEMU_BENCH_H
#define DPEMU_BENCH_H

#include <stdint.h>

int dpemu_bench_main(int argc, char **argv);

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

#endif
