#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# bench_run.sh - `dpemu run` against the native run of the same programs
# (issue 15), in one run of this script so that every figure is a ratio of
# times taken side by side: each program runs natively and under dpemu run
# (each backend asked for) in turn, REPS times, and the median of each is
# compared.  "warm" is the compute loop of tests/run_loop measured once
# its array is resident: (time of 100 passes - time of 1 pass) under dpemu
# against the same natively - the part of a run that must not trap.
#
# Usage (from the build tree, after make and make tests/run_loop):
#   sh bench/bench_run.sh [REPS]        (default 5; on a quiet machine)
# Environment: DPEMU (default ./dpemu), BACKENDS (default "sigsegv uffd").
# Prints a table: program, native median, then per backend the median
# and the ratio to native.

reps=${1:-5}
dpemu=${DPEMU:-./dpemu}
backends=${BACKENDS:-sigsegv uffd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
[ -x tests/run_loop ] || { echo "bench_run: make tests/run_loop first" >&2; exit 1; }

# The inputs: 200,000 lines to sort and to gzip.
awk 'BEGIN { x = 1; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648;
	printf "%010d line %d\n", x, i } }' >"$tmp/lines"
gzip -c "$tmp/lines" >"$tmp/lines.gz"
py=$(command -v python3)
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

# seconds CMD...: wall seconds of one run, its output in $tmp/out; a run
# that fails prints "fail".
seconds() {
	s=$(date +%s.%N)
	if "$@" >"$tmp/out" 2>/dev/null </dev/null; then
		e=$(date +%s.%N)
		echo "$s $e" | awk '{ printf "%.6f\n", $2 - $1 }'
	else
		echo fail
	fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# bench KEY NAME FRAMES CMD...: REPS interleaved runs natively and per
# backend; the medians go to $tmp/med.KEY.{native,BACKEND}.
bench() {
	key=$1 name=$2 frames=$3
	shift 3
	: >"$tmp/native"
	for b in $backends; do : >"$tmp/$b"; done
	i=0
	while [ $i -lt "$reps" ]; do
		seconds "$@" >>"$tmp/native"
		cp "$tmp/out" "$tmp/out.native"
		for b in $backends; do
			seconds "$dpemu" run --backend "$b" --frames "$frames" -- "$@" >>"$tmp/$b"
			cmp -s "$tmp/out" "$tmp/out.native" || echo fail >>"$tmp/$b"
		done
		i=$((i + 1))
	done
	n=$(median <"$tmp/native")
	echo "$n" >"$tmp/med.$key.native"
	line=$(printf '%-22s %9.4f' "$name" "$n")
	for b in $backends; do
		if grep -q fail "$tmp/$b"; then # (a different output or status)
			line="$line $(printf '%9s %7s' failed -)"
			echo fail >"$tmp/med.$key.$b"
			continue
		fi
		m=$(median <"$tmp/$b")
		echo "$m" >"$tmp/med.$key.$b"
		line="$line $(printf '%9.4f %6.2fx' "$m" "$(echo "$m $n" | awk '{ print $1 / $2 }')")"
	done
	echo "$line"
}

hdr=$(printf '%-22s %9s' program native)
for b in $backends; do hdr="$hdr $(printf '%9s %7s' "$b" ratio)"; done
echo "dpemu run against native, median of $reps runs each, interleaved (seconds)"
echo "$hdr"
bench loop1 "run_loop 1 pass" 4096 tests/run_loop 1
bench loop100 "run_loop 100 passes" 4096 tests/run_loop 100
bench sort "sort 200k lines" 65536 sort "$tmp/lines"
bench gzip "gzip 200k lines" 65536 gzip -c "$tmp/lines"
bench gunzip "gunzip" 65536 gunzip -c "$tmp/lines.gz"
[ -n "$py" ] && bench py "python3 2M ints" 65536 "$py" -c 'l = [i * i for i in range(2000000)]; print(sum(l))'
# warm: the 99 passes run_loop 100 makes beyond run_loop 1, its array resident
n=$(awk '{ a = $1 } END { print a }' "$tmp/med.loop100.native")
n1=$(cat "$tmp/med.loop1.native")
line=$(printf '%-22s %9.4f' "warm loop (99 passes)" "$(echo "$n $n1" | awk '{ print $1 - $2 }')")
for b in $backends; do
	m=$(cat "$tmp/med.loop100.$b") m1=$(cat "$tmp/med.loop1.$b")
	line="$line $(echo "$m $m1 $n $n1" | awk '{ w = $1 - $2; printf "%9.4f %6.2fx", w, w / ($3 - $4) }')"
done
echo "$line"
echo "(failed: the output or exit status differed from the native run's - the sigsegv"
echo " backend cannot serve system calls that read or write the heap: dpemu(1))"
