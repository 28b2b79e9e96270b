#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make tsan-check: the threaded tests under ThreadSanitizer, every backend.
#
# Builds the library's sources and the test programs below with
#   $CLANG -fsanitize=thread   (gcc works too: CLANG=gcc)
# into tsan-build/, then runs each through tests/each-backend with
# TSAN_OPTIONS that make any report fail the test.  Environment (from make):
# CLANG, LIB_C (the library sources), srcdir, builddir, CPPFLAGS_EXTRA (config.h, include paths),
# CMOCKA_CFLAGS, CMOCKA_LIBS, SIGSEGV_LIBS, PTHREAD_CFLAGS, PTHREAD_LIBS.
#
# Why these tests and not the others: test_backends' "fault inside a dpemu
# call" sends an asynchronous signal, which TSan delays until the thread
# leaves the dpemu call, so the test sees other behaviour; test_fork's
# host-fork tests start threads in a child of a multi-threaded process,
# which TSan refuses.  Why detect_deadlocks=0: space_lock_all holds 65 locks
# at once, more than TSan's deadlock detector can track (it aborts).
set -u
: "${CLANG:?CLANG not set}" "${LIB_C:?LIB_C not set (the library sources, Makefile.am)}" "${srcdir:=.}" "${builddir:=.}"
out="$builddir/tsan-build"
mkdir -p "$out" || exit 1
flags="-g -O1 -fsanitize=thread -fno-omit-frame-pointer"
objs=""
for src in $LIB_C; do
	obj="$out/$(echo "$src" | tr / _).o"
	echo "  CC (tsan) $src"
	$CLANG $flags $CPPFLAGS_EXTRA -DDPEMU_BUILDING $PTHREAD_CFLAGS -c \
		-o "$obj" "$srcdir/$src" || exit 1
	objs="$objs $obj"
done
status=0
for t in ${TSAN_TESTS:-test_threads test_evict test_fault test_pool test_latency test_trace test_tlb}; do
	echo "  CCLD (tsan) tests/$t"
	$CLANG $flags $CPPFLAGS_EXTRA $PTHREAD_CFLAGS $CMOCKA_CFLAGS -o "$out/$t" \
		"$srcdir/tests/$t.c" $objs $SIGSEGV_LIBS $CMOCKA_LIBS $PTHREAD_LIBS || exit 1
	echo "== $t under ThreadSanitizer"
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 detect_deadlocks=0 second_deadlock_stack=1 suppressions=$srcdir/tests/tsan.supp" \
		$SHELL "$srcdir/tests/each-backend" "$out/$t" > "$out/$t.log" 2>&1
	rc=$?
	grep -E '^== |SKIP|PASSED|FAILED' "$out/$t.log"
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		status=1
		grep -A40 'WARNING: ThreadSanitizer' "$out/$t.log" | head -80
	fi
done
[ $status -eq 0 ] && echo "tsan-check: no ThreadSanitizer report (see tests/tsan.supp)"
exit $status
