/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backends.c - `dpemu backends [NAME]`: try a space of each backend and
 * say which this kernel allows, and what DPEMU_BACKEND_AUTO picks; with
 * NAME, answer for that one through the exit status.  Calls <dpemu.h>,
 * options.c and stdio.
 */
#include <stdio.h>
#include <string.h>

#include "dpemu.h"
#include "commands.h"
#include "options.h"

static const char backends_usage[] =
	"Usage: dpemu backends [NAME]\n"
	"\n"
	"Try a space of each backend, sigsegv, uffd (userfaultfd, handler thread)\n"
	"and uffd-sigbus (userfaultfd, SIGBUS mode), and say which this kernel\n"
	"allows, and why not, and what DPEMU_BACKEND_AUTO picks.  With NAME, only\n"
	"that one: exit 0 if it is available, 1 if not, 2 if NAME is unknown.\n";

/* The backends this command tries, in order. */
static const struct backend_entry {
	const char *name;
	enum dpemu_backend backend;
	enum dpemu_uffd_mode mode;
	const char *what;
} all[] = {
	{ "sigsegv", DPEMU_BACKEND_SIGSEGV, DPEMU_UFFD_THREAD,
	  "SIGSEGV through libsigsegv; faults in system calls: EFAULT" },
	{ "uffd", DPEMU_BACKEND_UFFD, DPEMU_UFFD_THREAD,
	  "userfaultfd, handler thread; faults in system calls resolved" },
	{ "uffd-sigbus", DPEMU_BACKEND_UFFD, DPEMU_UFFD_SIGBUS,
	  "userfaultfd, SIGBUS mode; fastest; faults in system calls: EFAULT" },
};

/* The arguments: none, or NAME, or --help.  -1 to go on, or the exit
 * status (0 after --help, 2 on a usage error, the message printed). */
static int backends_args(int argc, char **argv)
{
	const char *only = argc > 0 ? argv[0] : NULL;

	if (only && (!strcmp(only, "-h") || !strcmp(only, "--help"))) {
		fputs(backends_usage, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "dpemu backends: unexpected argument '%s'; "
		        "try 'dpemu backends --help'\n", argv[1]);
		return 2;
	}
	if (only && only[0] == '-') {
		fprintf(stderr, "dpemu backends: unknown option '%s'; "
		        "try 'dpemu backends --help'\n", only);
		return 2;
	}
	return -1;
}

/* Try a space of backend e in pool and say whether it works (and why
 * not).  0 if it does, 1 if not. */
static int try_backend(dpemu_pool *pool, const struct backend_entry *e)
{
	struct dpemu_space_config sc = { .reserve = 1, .backend = e->backend,
	                                 .uffd_mode = e->mode };
	dpemu_space *s;

	if (dpemu_space_create(pool, &sc, &s) == 0) {
		printf("%-12s available: %s\n", e->name, e->what);
		dpemu_space_destroy(s);
		return 0;
	}
	printf("%-12s unavailable: %s\n", e->name, dpemu_last_error());
	return 1;
}

/* Say what DPEMU_BACKEND_AUTO picks in pool, or why it cannot. */
static void try_auto(dpemu_pool *pool)
{
	struct dpemu_space_config sc = { .reserve = 1 };
	dpemu_space *s;

	if (dpemu_space_create(pool, &sc, &s) == 0) {
		printf("%-12s picks %s\n", "auto", dpemu_space_backend(s) == DPEMU_BACKEND_UFFD
		       ? "userfaultfd" : "sigsegv");
		dpemu_space_destroy(s);
	} else {
		printf("%-12s unavailable: %s\n", "auto", dpemu_last_error());
	}
}

/* Try a space of each backend; print what works.  With `only`, report that
 * one backend through the exit status. */
static int backends(int argc, char **argv)
{
	struct dpemu_pool_config pc = { .frames = 1 };
	const char *only = argc > 0 ? argv[0] : NULL;
	dpemu_pool *pool;
	int found = -1;
	int rc = backends_args(argc, argv);

	if (rc >= 0)
		return rc;
	cli_check(dpemu_pool_create(&pc, &pool), "dpemu_pool_create");
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (only && strcmp(only, all[i].name))
			continue;
		found = try_backend(pool, &all[i]);
	}
	if (only) {
		dpemu_pool_destroy(pool);
		if (found < 0) {
			fprintf(stderr, "dpemu: unknown backend '%s'; try sigsegv, uffd, uffd-sigbus\n", only);
			return 2;
		}
		return found;
	}
	try_auto(pool);
	dpemu_pool_destroy(pool);
	return 0;
}

int cmd_backends(int argc, char **argv)
{
	if (!cli_wants_help(argc > 1 ? argv[1] : NULL) && cli_check_env("dpemu backends") != 0)
		return 2;
	return backends(argc - 1, argv + 1);
}
