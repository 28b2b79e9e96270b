/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench.c - `dpemu bench [OPTIONS]`: the fault-latency suite of bench/,
 * the same dpemu_bench_main that bench/bench_fault (make bench) runs; it
 * parses its own options and checks the environment (bench/bench.h).
 */
#include "commands.h"
#include "../../bench/bench.h"

int cmd_bench(int argc, char **argv)
{
	return dpemu_bench_main(argc, argv);
}
