#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-static-link.sh - a program may link libdpemu.a and still define
# functions of its own called set_error and frame_alloc (names dpemu uses
# inside; src/internal.h gives them the reserved prefix _dpemu_).
#
# Uses $LIBDPEMU_A (else $top_builddir/.libs/libdpemu.a), $CC, $CFLAGS,
# $SIGSEGV_LIBS and $PTHREAD_LIBS from the Makefile's TESTS_ENVIRONMENT.
# Exit 77 (skip) when no archive was built (--disable-static).

a=${LIBDPEMU_A:-${top_builddir:-.}/.libs/libdpemu.a}
if [ ! -f "$a" ]; then
	echo "check-static-link: $a not found (--disable-static?); skipping" >&2
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-static.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/prog.c" <<'PROG'
#include <stdio.h>
#include <string.h>
#include "dpemu.h"

/* The program's own functions, with dpemu's internal short names. */
int set_error(const char *what) { return printf("program set_error: %s\n", what) > 0 ? 42 : 0; }
unsigned frame_alloc(unsigned n) { return n + 1; }

int main(void)
{
	struct dpemu_pool *pool;
	struct dpemu_space *space;
	struct dpemu_pool_config pc = { .frames = 4 };
	struct dpemu_space_config sc = { .reserve = 1 << 20, .backend = DPEMU_BACKEND_AUTO };
	char *p;
	void *out;

	if (set_error("mine") != 42 || frame_alloc(1) != 2)
		return 1;
	if (dpemu_pool_create(&pc, &pool) != 0 ||
	    dpemu_space_create(pool, &sc, &space) != 0) {
		fprintf(stderr, "create: %s\n", dpemu_last_error());
		return 1;
	}
	if (dpemu_map(space, NULL, 4096, PROT_READ | PROT_WRITE,
	              DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS, -1, 0, &out) != 0) {
		fprintf(stderr, "map: %s\n", dpemu_last_error());
		return 1;
	}
	p = out;
	p[0] = 'x'; /* a fault: the library's own frame_alloc gives the frame */
	if (p[0] != 'x')
		return 1;
	/* A refused call: the library's own set_error records the message. */
	if (dpemu_map(space, NULL, 0, PROT_READ, DPEMU_MAP_PRIVATE | DPEMU_MAP_ANONYMOUS,
	              -1, 0, &out) >= 0 ||
	    strlen(dpemu_last_error()) == 0) {
		fprintf(stderr, "bad dpemu_map was not refused with a message\n");
		return 1;
	}
	if (dpemu_space_destroy(space) != 0 || dpemu_pool_destroy(pool) != 0)
		return 1;
	puts("library faults and errors: ok");
	return 0;
}
PROG

${CC:-cc} ${CFLAGS} ${LDFLAGS} -I"${top_srcdir:-.}/include" -o "$tmp/prog" "$tmp/prog.c" "$a" \
	${SIGSEGV_LIBS} ${PTHREAD_LIBS} || {
	echo "check-static-link: linking a program that defines set_error and" \
	     "frame_alloc against $a failed" >&2
	exit 1
}
"$tmp/prog" || { echo "check-static-link: the program failed" >&2; exit 1; }
echo "check-static-link: $a links beside a program's own set_error and frame_alloc"
