/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * commands.h - the commands of the dpemu tool, one file each in
 * tools/dpemu/ (demo.c, backends.c, bench.c, trace.c, replay.c, run.c and
 * the run_*.c it names in run.h), dispatched by main.c.
 *
 * Each takes the arguments from the command's name on (argv[0] is "demo",
 * "backends", ...), checks them and the environment itself (options.h),
 * prints its own --help, and returns the exit status: 0 success, 1 a
 * failure while running, 2 a usage error (run: the program's status, or
 * 125, 126, 127 as env(1) gives them).  A new command is one more file
 * and one more line here and in main.c's table.
 */
#ifndef DPEMU_CLI_COMMANDS_H
#define DPEMU_CLI_COMMANDS_H

int cmd_demo(int argc, char **argv);
int cmd_backends(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* `dpemu trace report|export|plot`: trace.c, which dispatches to one file per
 * subcommand (trace.h). */
int cmd_trace(int argc, char **argv);
/* `dpemu replay`: replay.c, and its parts replay_*.c (replay.h). */
int cmd_replay(int argc, char **argv);
/* `dpemu run`: run.c (run.h). */
int cmd_run(int argc, char **argv);

#endif
