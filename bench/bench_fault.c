/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_fault.c - `make bench`: the fault-latency suite (driver.c).
 * `bench_fault --help` lists the options; doc/performance.md describes the
 * method and the results on the project's machine.
 */
#include "bench.h"

int main(int argc, char **argv)
{
	return dpemu_bench_main(argc, argv);
}
