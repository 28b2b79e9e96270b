#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-cli.sh - the dpemu command-line tool: --help, --version, demo,
# backends, bench (and its refusal of bad numbers), and an unknown command;
# every command's refusal of what it does not understand.
#
# Uses $DPEMU (set by the Makefile's TESTS_ENVIRONMENT), else
# $top_builddir/dpemu.

dpemu=${DPEMU:-${top_builddir:-.}/dpemu}
srcdir=${top_srcdir:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

if [ ! -x "$dpemu" ]; then
	echo "test-cli: $dpemu is not an executable" >&2
	exit 99
fi

# The version the header promises.
header=$srcdir/include/dpemu.h
if [ -f "$header" ]; then
	major=$(sed -n 's/^#define DPEMU_VERSION_MAJOR[[:space:]]*\([0-9]*\).*/\1/p' "$header")
	minor=$(sed -n 's/^#define DPEMU_VERSION_MINOR[[:space:]]*\([0-9]*\).*/\1/p' "$header")
	patch=$(sed -n 's/^#define DPEMU_VERSION_PATCH[[:space:]]*\([0-9]*\).*/\1/p' "$header")
	version=$major.$minor.$patch
else
	version=0.1.0
fi

# --help: exit 0, mentions the demo command.
"$dpemu" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "--help exited $rc"
grep -q demo "$tmp/out" || fail "--help output does not mention 'demo': $(cat "$tmp/out")"

# --version: exit 0, prints the version.
"$dpemu" --version >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "--version exited $rc"
grep -qF "$version" "$tmp/out" || fail "--version does not print $version: $(cat "$tmp/out")"

# demo: exit 0, talks about zero-filling and frames.
"$dpemu" demo >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "demo exited $rc: $(cat "$tmp/err")"
grep -qi zero "$tmp/out" || fail "demo output does not mention 'zero'"
grep -qi frame "$tmp/out" || fail "demo output does not mention 'frame'"
# ... and its replacement scene evicts to swap, brings a page back, and
# takes a reference fault.
grep -q 'evictions 1, swap-outs 1, swap-ins 0' "$tmp/out" ||
	fail "demo: no eviction to swap in the CLOCK scene"
grep -q 'evictions 2, swap-outs 2, swap-ins 1, reference faults 1' "$tmp/out" ||
	fail "demo: no swap-in and reference fault in the CLOCK scene"
grep -q 'slot 0' "$tmp/out" || fail "demo: no page shown in a swap slot"
# ... and scene 14 shows that pool's own trace, read back from a temporary
# file under $TMPDIR (then removed): its events in time order, with their
# pages and frames (times and latencies vary).
awk '/^14\. /, /^   Times/' "$tmp/out" |
	awk '$1 ~ /^[0-9]+\.[0-9]$/ { print $2, $3, $4 }' >"$tmp/scene14"
printf '%s\n' 'map - -' 'zero-fill 0 0' 'zero-fill 1 1' 'zero-fill 2 2' 'zero-fill 3 0' \
	'swap-out 0 0' 'evict 0 0' 'swap-in 0 1' 'swap-out 1 1' 'evict 1 1' 'reference 2 2' \
	'destroy - -' >"$tmp/want14"
cmp -s "$tmp/want14" "$tmp/scene14" ||
	fail "demo scene 14: the trace's events: $(diff "$tmp/want14" "$tmp/scene14" | tr '\n' ' ')"
grep -q 'swap-in .*read back from swap slot 0$' "$tmp/out" || fail "demo scene 14: no swap slot"
mkdir "$tmp/tmpdir"
TMPDIR="$tmp/tmpdir" "$dpemu" demo >/dev/null 2>"$tmp/err" || fail "demo with TMPDIR: $(cat "$tmp/err")"
[ -z "$(ls "$tmp/tmpdir")" ] || fail "demo left its trace file: $(ls "$tmp/tmpdir")"

# DPEMU_TRACE traces the demo's own pools: the first is PATH, the second
# PATH.1; the tool's check of the environment (a throwaway pool) takes no
# file of its own (it used to take PATH, pushing the demo's to .1 and .2).
DPEMU_TRACE="$tmp/demo.trc" "$dpemu" demo >/dev/null 2>"$tmp/err" ||
	fail "demo under DPEMU_TRACE failed: $(cat "$tmp/err")"
[ -f "$tmp/demo.trc" ] && [ -f "$tmp/demo.trc.1" ] && [ ! -e "$tmp/demo.trc.2" ] ||
	fail "demo under DPEMU_TRACE: want demo.trc and demo.trc.1, got: $(ls "$tmp" | tr '\n' ' ')"
"$dpemu" trace report "$tmp/demo.trc" >"$tmp/out" 2>"$tmp/err" ||
	fail "trace report of the demo's trace failed: $(cat "$tmp/err")"
grep -q zero-fill "$tmp/out" || fail "the demo's first pool traced no zero-fill: $(cat "$tmp/out")"
# ... and its scene 14 says its trace is DPEMU_TRACE's.
DPEMU_TRACE="$tmp/demo.trc" "$dpemu" demo >"$tmp/out" 2>"$tmp/err"
grep -q '^14\. .*not shown here: this pool is traced' "$tmp/out" ||
	fail "demo under DPEMU_TRACE: scene 14: $(grep -A1 '^14\.' "$tmp/out")"

# backends: lists each backend; a named one answers through the exit status.
"$dpemu" backends >"$tmp/out" 2>"$tmp/err" || fail "backends exited $?"
grep -q '^sigsegv' "$tmp/out" || fail "backends does not list sigsegv"
grep -q '^auto' "$tmp/out" || fail "backends does not say what auto picks"
"$dpemu" backends sigsegv >/dev/null 2>&1 || fail "backends sigsegv: not available?"
"$dpemu" backends no-such >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "backends no-such exited $rc, expected 2"

# bench: a tiny run completes and writes its JSON and SVG (no timing checked).
"$dpemu" bench --pages 64 --rounds 1 --passes 1 --json "$tmp/b.json" --svg "$tmp/b.svg" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "bench exited $rc: $(tail -3 "$tmp/err")"
grep -q '"series"' "$tmp/b.json" || fail "bench JSON has no series"
grep -q '<svg' "$tmp/b.svg" || fail "bench SVG is not an SVG"
grep -q 'targets' "$tmp/out" || fail "bench output has no targets section"
"$dpemu" bench --no-such-option >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "bench with a bad option exited $rc, expected 2"

# bench: every numeric option refuses what is not a number in its range
# (a leading '-' must not wrap around, nor trailing characters, an empty
# value, an overflow, or a value out of range pass): exit 2, before any
# series runs, with a message naming the option and the accepted range.
bad_number() { # OPTION VALUE
	"$dpemu" bench "$1" "$2" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 2 ]; then
		fail "bench $1 '$2' exited $rc, expected 2"
	elif ! grep -q -- "$1" "$tmp/err" || ! grep -q 'accepted' "$tmp/err"; then
		fail "bench $1 '$2': the message does not name the option and the range: $(cat "$tmp/err")"
	fi
	[ -s "$tmp/out" ] && fail "bench $1 '$2' ran: $(head -3 "$tmp/out")"
}
for opt in --pages --rounds --passes --seed --pretouch-mib --evict-frames; do
	for val in -1 -0 '' ' 5' +5 5x 0x 0x0x5 1e3 18446744073709551616 \
		99999999999999999999999; do
		bad_number "$opt" "$val"
	done
done
bad_number --pages 0
bad_number --pages 65        # not a multiple of 64
bad_number --pages 4194368   # above 4194304
bad_number --rounds 0
bad_number --rounds 1001
bad_number --passes 0
bad_number --passes 101
bad_number --evict-frames 7
bad_number --evict-frames 262145
bad_number --pretouch-mib 18446744073709551615
bad_number --pretouch-mib 0x7fffffffffffffff
"$dpemu" bench --rounds=-1 >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "bench --rounds=-1 exited $rc, expected 2"
# ... while numbers in range, also in hexadecimal, are taken (--only
# kernel-w: nothing but the fixed series runs, quickly).
"$dpemu" bench --pages 0x40 --rounds 1 --passes 1 --seed 0xffffffffffffffff \
	--pretouch-mib 0 --evict-frames 8 --only kernel-w >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "bench with numbers in range exited $rc: $(tail -3 "$tmp/err")"

# Every command refuses what it does not understand (issue 12): exit 2, a
# message on stderr, nothing run.  usage_error NAME CMD...
usage_error() {
	name=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$name: exited $rc, expected 2: $(head -3 "$tmp/out")"
	[ -s "$tmp/err" ] || fail "$name: printed nothing on stderr"
	[ -s "$tmp/out" ] && fail "$name: ran: $(head -3 "$tmp/out")"
}
# bench --only: an item that selects no series; the message names them.
usage_error "bench --only nonsense" "$dpemu" bench --pages 64 --rounds 1 --only nonsense
grep -q 'kernel-w' "$tmp/err" || fail "bench --only nonsense: the valid series are not named"
usage_error "bench --only kernel-w,nonsense" "$dpemu" bench --pages 64 --rounds 1 \
	--only kernel-w,nonsense
usage_error "bench extra argument" "$dpemu" bench --pages 64 extra
# Backend names: the canonical ones, as DPEMU_BACKEND and dpemu backends.
usage_error "bench --evict-backend sigbus" "$dpemu" bench --evict-backend sigbus
usage_error "bench --evict-backend segv" "$dpemu" bench --evict-backend segv
grep -q 'uffd-sigbus' "$tmp/err" || fail "bench --evict-backend: the names are not listed"
"$dpemu" bench --pages 64 --rounds 1 --passes 1 --pretouch-mib 0 --evict-frames 8 \
	--evict-backend sigsegv --only evict,sigsegv --json "$tmp/e.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "bench --evict-backend sigsegv exited $rc: $(tail -3 "$tmp/err")"
grep -q 'sigsegv backend' "$tmp/out" || fail "bench: the eviction scans do not name sigsegv"
grep -q '"evict_backend": "sigsegv"' "$tmp/e.json" || fail "bench JSON: evict_backend is not sigsegv"
grep -q '"backend": "sigsegv"' "$tmp/e.json" || fail "bench JSON: no series with backend sigsegv"
grep -q '"backend": "segv"' "$tmp/e.json" && fail "bench JSON: a backend spelled segv"
for b in uffd uffd-sigbus; do
	"$dpemu" bench --pages 64 --rounds 1 --evict-backend $b --only kernel-w \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || fail "bench --evict-backend $b exited $rc: $(tail -3 "$tmp/err")"
done
# Output paths are checked before anything is measured.
usage_error "bench --json into a missing directory" "$dpemu" bench --json "$tmp/no/such/b.json"
usage_error "bench --svg onto a directory" "$dpemu" bench --svg "$tmp"
[ -e "$tmp/no" ] && fail "bench: a checked output path was created"
# demo and backends take --help, and no other argument.
"$dpemu" demo --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "demo --help exited $rc"
grep -q 'Usage: dpemu demo' "$tmp/out" || fail "demo --help prints no usage: $(head -3 "$tmp/out")"
grep -q 'demand paging in a running program' "$tmp/out" && fail "demo --help ran the demo"
usage_error "demo extra" "$dpemu" demo extra
usage_error "demo --no-such-option" "$dpemu" demo --no-such-option
"$dpemu" backends --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "backends --help exited $rc: $(cat "$tmp/err")"
grep -q 'Usage: dpemu backends' "$tmp/out" || fail "backends --help prints no usage"
usage_error "backends sigsegv extra" "$dpemu" backends sigsegv extra
usage_error "backends --no-such-option" "$dpemu" backends --no-such-option
usage_error "--version extra" "$dpemu" --version extra
usage_error "--help extra" "$dpemu" --help extra
# An environment the library rejects, in every command.
for cmd in demo backends bench; do
	usage_error "DPEMU_BACKEND=bogus $cmd" env DPEMU_BACKEND=bogus "$dpemu" $cmd
	grep -q 'DPEMU_BACKEND=bogus' "$tmp/err" ||
		fail "DPEMU_BACKEND=bogus $cmd: the message does not name it: $(cat "$tmp/err")"
	usage_error "DPEMU_HOSTMAP=bogus $cmd" env DPEMU_HOSTMAP=bogus "$dpemu" $cmd
	grep -q 'DPEMU_HOSTMAP=bogus' "$tmp/err" ||
		fail "DPEMU_HOSTMAP=bogus $cmd: the message does not name it: $(cat "$tmp/err")"
done
# ... and a message that names the failing function once.
grep -q 'dpemu_pool_create: dpemu_pool_create' "$tmp/err" &&
	fail "a message repeats the function name: $(cat "$tmp/err")"

# The demo's scenes say what their tables show (issue 12).
"$dpemu" demo >"$tmp/out" 2>"$tmp/err"
grep -q 'read-only, and its reference count' "$tmp/out" &&
	fail "demo scene 8 says read-only where the table shows rw-"
grep -q 'keeps slot 0 (the swap cache, one' "$tmp/out" ||
	fail "demo scene 12 does not say which swap-cache slot page 0 keeps"

# An unknown command: exit 2, a message on stderr.
"$dpemu" no-such-command >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] || fail "unknown command exited $rc, expected 2"
[ -s "$tmp/err" ] || fail "unknown command printed nothing on stderr"

# An unknown option: a usage error too.
"$dpemu" --no-such-option >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] || fail "unknown option exited $rc, expected 2"
[ -s "$tmp/err" ] || fail "unknown option printed nothing on stderr"

if [ $failures -ne 0 ]; then
	echo "test-cli: $failures failure(s)" >&2
	exit 1
fi
echo "test-cli: all checks passed"
exit 0
