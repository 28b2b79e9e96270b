/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.c - the checks every command of the dpemu tool shares
 * (options.h says what each takes and returns).  Calls <dpemu.h> (a
 * throwaway pool and space in cli_check_env, the last error in cli_check)
 * and stdio only (and stat(2), access(2) for cli_check_output).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dpemu.h>

#include "options.h"

int cli_check_env(const char *argv0)
{
	struct dpemu_pool_config pc;
	struct dpemu_space_config sc;
	dpemu_pool *pool;
	dpemu_space *sp;
	int rc;

	/* The throwaway pool must not take DPEMU_TRACE's file (it would be the
	 * first traced pool: PATH, and the command's own pool PATH.1). */
	const char *trace_env = getenv("DPEMU_TRACE");
	char *saved = trace_env ? strdup(trace_env) : NULL;
	if (trace_env && !saved)
		return -1;
	unsetenv("DPEMU_TRACE");
	memset(&pc, 0, sizeof pc);
	pc.frames = 1;
	rc = dpemu_pool_create(&pc, &pool);
	if (rc == 0) {
		memset(&sc, 0, sizeof sc);
		sc.reserve = 1;
		sc.backend = DPEMU_BACKEND_AUTO;
		rc = dpemu_space_create(pool, &sc, &sp);
		if (rc == 0)
			dpemu_space_destroy(sp);
		else if (rc == -EINVAL)
			fprintf(stderr, "%s: %s\n", argv0, dpemu_last_error());
		dpemu_pool_destroy(pool);
	} else if (rc == -EINVAL) {
		fprintf(stderr, "%s: %s\n", argv0, dpemu_last_error());
	}
	if (saved) {
		setenv("DPEMU_TRACE", saved, 1);
		free(saved);
	}
	return rc == -EINVAL ? -1 : 0;
}

int cli_parse_u64(const char *argv0, const char *opt, const char *arg, uint64_t min,
                  uint64_t max, uint64_t *out)
{
	static const char dec[] = "0123456789", hex[] = "0123456789abcdefABCDEF";
	const char *digits = arg, *set = dec;
	const char *why = NULL;
	unsigned long long v = 0;
	int base = 10;

	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
		digits += 2;
		base = 16;
		set = hex;
	}
	/* Only digits reach strtoull: it would skip spaces and take a sign. */
	if (arg[0] == '\0') {
		why = "empty";
	} else if (arg[0] == '-') {
		why = "negative";
	} else if (digits[0] == '\0' || strspn(digits, set) == 0) {
		why = "not a number";
	} else if (digits[strspn(digits, set)] != '\0') {
		why = "not a number (trailing characters)";
	} else {
		errno = 0;
		v = strtoull(digits, NULL, base);
		if (errno == ERANGE)
			why = "too large";
		else if (v < min || v > max)
			why = "out of range";
	}
	if (why) {
		fprintf(stderr, "%s: bad %s '%s': %s (accepted: %" PRIu64 " to %" PRIu64 ")\n",
		        argv0, opt, arg, why, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_check_output(const char *argv0, const char *opt, const char *path)
{
	struct stat st;
	int err = 0;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			err = EISDIR;
		else if (access(path, W_OK) != 0)
			err = errno;
	} else if (errno == ENOENT) {
		const char *slash = strrchr(path, '/');
		char dir[4096];
		if (!slash)
			snprintf(dir, sizeof dir, ".");
		else if (slash == path)
			snprintf(dir, sizeof dir, "/");
		else
			snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		if (!*path)
			err = ENOENT;
		else if (access(dir, W_OK | X_OK) != 0)
			err = errno;
	} else {
		err = errno;
	}
	if (err) {
		fprintf(stderr, "%s: %s %s: %s\n", argv0, opt, path, strerror(err));
		return -1;
	}
	return 0;
}

int cli_wants_help(const char *arg)
{
	return arg && (!strcmp(arg, "-h") || !strcmp(arg, "--help"));
}

int cli_no_args(const char *help, int argc, char **argv)
{
	if (argc > 1 && cli_wants_help(argv[1])) {
		fputs(help, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "dpemu %s: unexpected argument '%s'; try 'dpemu %s --help'\n",
		        argv[0], argv[1], argv[0]);
		return 2;
	}
	return -1;
}

int cli_check(int rc, const char *what)
{
	if (rc < 0) {
		const char *msg = dpemu_last_error();
		if (msg && *msg)
			fprintf(stderr, "dpemu: %s (%s)\n", msg, dpemu_strerror(rc));
		else
			fprintf(stderr, "dpemu: %s: %s\n", what, dpemu_strerror(rc));
		exit(1);
	}
	return rc;
}

