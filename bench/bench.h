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
 * before measuring) or an environment the library rejects.  Prints to
 * stdout; uses only <dpemu.h>, libc, pthreads and the tool's option
 * checks (tools/dpemu/options.h).
 */
#ifndef DPEMU_BENCH_H
#define DPEMU_BENCH_H

int dpemu_bench_main(int argc, char **argv);

#endif
