#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-policies.sh - custom replacement policies from the outside (issue
# 16): the two examples of doc/policies/ built as a student builds them,
# then `dpemu replay --policy-lib` (the victims of second chance with
# dirty preference on a string where it beats CLOCK, exact totals, the
# simulator and the library agreeing with --live on strings with reads
# and writes, under the backends this kernel allows; a CLOCK written as
# a custom policy taking CLOCK's misses exactly), `dpemu run
# --policy-lib` (the report names the policy, --sweep beside CLOCK, the
# JSON), and the errors: a missing object, one without the symbol, one
# without pick, an init that fails, --policy with --policy-lib.
#
# Uses $DPEMU, $CC, $CFLAGS, $top_srcdir and $top_builddir (the
# Makefile's TESTS_ENVIRONMENT).

dpemu=${DPEMU:-${top_builddir:-.}/dpemu}
src=${top_srcdir:-.}
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-policies.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

if [ ! -x "$dpemu" ]; then
	echo "test-policies: $dpemu is not an executable" >&2
	exit 99
fi

# so NAME SOURCE: build a policy as dpemu_policy(7) says.  The sanitizer
# flags of an ASan build are left out: the object is loaded into
# programs that may not carry the runtime.
so() {
	# shellcheck disable=SC2086
	flags=$(printf '%s\n' $CFLAGS | grep -v -e '^-fsanitize' -e '^-fno-sanitize' | tr '\n' ' ')
	# shellcheck disable=SC2086
	$cc $flags -Wall -Wextra -Werror -shared -fPIC -I"$src/include" -o "$tmp/$1.so" "$2" \
		2>"$tmp/cc.err" || { fail "building $2: $(cat "$tmp/cc.err")"; return 1; }
}

so scd "$src/doc/policies/second_chance_dirty.c"
so ws "$src/doc/policies/working_set.c"
cat >"$tmp/clock.c" <<'EOS'
#include <dpemu.h>
/* CLOCK, written with clear and requeue (dpemu_policy(7)). */
static size_t pick(void *st, struct dpemu_frame_view *f, size_t n, uint64_t now, uint64_t ns)
{
	(void)st, (void)now, (void)ns;
	for (size_t i = 0; i < n; i++) {
		if (!f[i].referenced)
			return i;
		f[i].clear = f[i].requeue = 1;
	}
	return 0;
}
const struct dpemu_policy_ops dpemu_policy_plugin = { .name = "myclock", .pick = pick };
EOS
so myclock "$tmp/clock.c"
cat >"$tmp/nopick.c" <<'EOS'
#include <dpemu.h>
const struct dpemu_policy_ops dpemu_policy_plugin = { .name = "nopick" };
EOS
so nopick "$tmp/nopick.c"
cat >"$tmp/nosym.c" <<'EOS'
int not_a_policy = 1;
EOS
so nosym "$tmp/nosym.c"
cat >"$tmp/badinit.c" <<'EOS'
#include <errno.h>
#include <dpemu.h>
static int init(void *arg, size_t frames, void **state)
{
	(void)arg, (void)frames, (void)state;
	return -ENOSPC;
}
static size_t pick(void *st, struct dpemu_frame_view *f, size_t n, uint64_t now, uint64_t ns)
{
	(void)st, (void)f, (void)n, (void)now, (void)ns;
	return 0;
}
const struct dpemu_policy_ops dpemu_policy_plugin = { .name = "badinit", .init = init,
                                                      .pick = pick };
EOS
so badinit "$tmp/badinit.c"

# A lackey log (pages of 4096 bytes): read 1, write 2, read 3, read 4,
# read 5, read 2.  With 3 frames, 4 evicts 1 for both (every bit set: CLOCK
# clears them all; second chance with dirty preference then takes the
# first clean frame); then 5: CLOCK takes 2 (the hand's), the dirty-
# preferring policy the clean 3, so the last read of 2 hits: 5 misses
# against CLOCK's 6.
printf ' L 00001000,8\n S 00002000,8\n L 00003000,8\n L 00004000,8\n L 00005000,8\n L 00002000,8\n' \
	>"$tmp/dirty.lackey"
"$dpemu" replay --policy clock --policy-lib "$tmp/scd.so" --frames 3 --json "$tmp/dirty.lackey" \
	>"$tmp/out" 2>"$tmp/err" || fail "replay dirty string: $(cat "$tmp/err")"
grep -q '"policy":"clock".*"misses":6' "$tmp/out" || fail "clock on the dirty string: $(cat "$tmp/out")"
grep -q '"policy":"second-chance-dirty".*"misses":5' "$tmp/out" ||
	fail "second-chance-dirty on the dirty string: $(cat "$tmp/out")"
# its table shows the dirty page with "+" and the victims
"$dpemu" replay --policy-lib "$tmp/scd.so" --frames 3 "$tmp/dirty.lackey" >"$tmp/out" 2>&1
grep -q 'memory in load order; \* reference bit set, + dirty' "$tmp/out" ||
	fail "table legend: $(head -3 "$tmp/out")"
grep -q ' 0x5  miss  0x3  \[0x2+ 0x4\* 0x5\*\]' "$tmp/out" || fail "table row of 5: $(cat "$tmp/out")"

# Strings with reads and writes: the simulator and the library agree for
# both examples and the custom CLOCK, under each backend; the custom
# CLOCK misses as often as the library's CLOCK.
awk 'BEGIN { x = 12345; for (i = 0; i < 600; i++) {
	x = (x * 1103515245 + 12345) % 2147483648; p = int(x / 65536) % 11;
	if (p > 6) p = int(p / 2);
	printf " %s %08x,4\n", (int(x / 8) % 3 == 0) ? "S" : "L", (p + 1) * 4096 } }' >"$tmp/mixed.lackey"
backends=${DPEMU_TEST_BACKENDS:-sigsegv uffd uffd-sigbus}
for b in $backends; do
	for p in scd ws myclock; do
		for frames in 1 3 5; do
			DPEMU_WS_TAU=4 "$dpemu" replay --policy-lib "$tmp/$p.so" --frames $frames --live \
				--backend "$b" -N "$tmp/mixed.lackey" >"$tmp/out" 2>"$tmp/err"
			rc=$?
			if [ $rc -ne 0 ] && grep -q 'cannot\|not allowed\|Operation not permitted' "$tmp/err"; then
				continue # this kernel forbids the backend
			fi
			[ $rc -eq 0 ] || fail "live $p $frames frames ($b): exited $rc: $(cat "$tmp/err")"
			grep -q ': agree$' "$tmp/out" || fail "live $p $frames frames ($b): $(cat "$tmp/out")"
		done
	done
done
for frames in 2 4 6; do
	"$dpemu" replay --policy clock --policy-lib "$tmp/myclock.so" --frames $frames --json \
		"$tmp/mixed.lackey" >"$tmp/out" 2>"$tmp/err" || fail "myclock: $(cat "$tmp/err")"
	a=$(sed -n 's/.*"policy":"clock".*"misses":\([0-9]*\).*/\1/p' "$tmp/out")
	b=$(sed -n 's/.*"policy":"myclock".*"misses":\([0-9]*\).*/\1/p' "$tmp/out")
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "myclock with $frames frames: $a vs clock's $b"
done
# --curve takes a custom policy too
"$dpemu" replay --policy-lib "$tmp/myclock.so" --policy clock --curve 1-4 -N "$tmp/mixed.lackey" \
	>"$tmp/out" 2>"$tmp/err" || fail "curve: $(cat "$tmp/err")"
grep -q 'myclock' "$tmp/out" || fail "curve: no myclock column: $(cat "$tmp/out")"

# The errors
refused() {
	name=$1
	want_rc=$2
	pattern=$3
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq "$want_rc" ] || fail "$name: exited $rc, expected $want_rc"
	grep -q -- "$pattern" "$tmp/err" || fail "$name: no '$pattern' in: $(cat "$tmp/err")"
}
refused "replay missing .so" 2 "no-such.so" "$dpemu" replay --policy-lib "$tmp/no-such.so" --frames 3 "$tmp/dirty.lackey"
refused "replay no symbol" 2 "defines no dpemu_policy_plugin" "$dpemu" replay --policy-lib "$tmp/nosym.so" --frames 3 "$tmp/dirty.lackey"
refused "replay no pick" 2 "has no pick callback" "$dpemu" replay --policy-lib "$tmp/nopick.so" --frames 3 "$tmp/dirty.lackey"
refused "replay init fails" 1 "badinit policy's init failed" "$dpemu" replay --policy-lib "$tmp/badinit.so" --frames 3 "$tmp/dirty.lackey"
refused "replay live init fails" 1 "init failed" "$dpemu" replay --policy-lib "$tmp/badinit.so" --frames 3 --live "$tmp/dirty.lackey"
refused "replay a text file as .so" 2 "policy-lib" "$dpemu" replay --policy-lib "$tmp/dirty.lackey" --frames 3 "$tmp/dirty.lackey"

# dpemu run: only where the preload library was built (mimalloc)
if "$dpemu" run --frames 64 -- true 2>"$tmp/err"; then
	cat >"$tmp/walk.c" <<'EOS'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
	size_t n = 256, ps = 4096;
	unsigned char *a = malloc(n * ps);
	unsigned long sum = 0;
	if (!a)
		return 1;
	memset(a, 1, n * ps);
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < n; i++)
			sum += a[i * ps];
	printf("%lu\n", sum);
	free(a);
	return sum == 3 * n ? 0 : 1;
}
EOS
	# shellcheck disable=SC2086
	$cc -o "$tmp/walk" "$tmp/walk.c" || fail "building walk"
	"$dpemu" run --policy-lib "$tmp/ws.so" --frames 64 -- "$tmp/walk" >"$tmp/out" 2>"$tmp/err"
	[ $? -eq 0 ] || fail "run working-set: $(cat "$tmp/err")"
	grep -q '^768$' "$tmp/out" || fail "run working-set: the program printed $(cat "$tmp/out")"
	grep -q 'policy working-set' "$tmp/err" || fail "run report: $(cat "$tmp/err")"
	grep -q 'evictions [1-9]' "$tmp/err" || fail "run working-set evicted nothing: $(cat "$tmp/err")"
	"$dpemu" run --policy-lib "$tmp/scd.so" --frames 64 --json "$tmp/r.json" -- "$tmp/walk" \
		>/dev/null 2>"$tmp/err" || fail "run scd json: $(cat "$tmp/err")"
	grep -q '"policy": "second-chance-dirty"' "$tmp/r.json" || fail "run json: $(cat "$tmp/r.json")"
	"$dpemu" run --policy clock --policy-lib "$tmp/myclock.so" --sweep 64,128 -- "$tmp/walk" \
		>"$tmp/out" 2>"$tmp/err" || fail "run sweep: $(cat "$tmp/err")"
	grep -q 'clock *myclock' "$tmp/out" || fail "run sweep header: $(cat "$tmp/out")"
	# myclock and clock take the same faults on every row
	awk '/^ *[0-9]+ / { if ($2 != $3) bad = 1 } END { exit bad }' "$tmp/out" ||
		fail "run sweep: myclock and clock differ: $(cat "$tmp/out")"
	refused "run --policy with --policy-lib" 2 "drop --policy" "$dpemu" run --policy clock --policy-lib "$tmp/ws.so" -- true
	refused "run no symbol" 2 "defines no dpemu_policy_plugin" "$dpemu" run --policy-lib "$tmp/nosym.so" -- true
	refused "run missing .so" 2 "no-such.so" "$dpemu" run --policy-lib "$tmp/no-such.so" -- true
	refused "run init fails" 125 "init failed" "$dpemu" run --policy-lib "$tmp/badinit.so" --frames 64 -- true
else
	echo "test-policies: dpemu run unavailable here ($(head -1 "$tmp/err")); its checks skipped"
fi

if [ $failures -ne 0 ]; then
	echo "test-policies: $failures failure(s)" >&2
	exit 1
fi
echo "test-policies: all passed"
