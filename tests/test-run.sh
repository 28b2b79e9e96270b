#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-run.sh - dpemu run: unmodified programs under dpemu give the same
# output, byte for byte, and the same exit status as natively: sort of a
# file larger than the pool (it must evict), a gzip/gunzip round trip, a
# python3 list comprehension, an 8-thread C program, a C++ program
# (std::vector, std::map), system(3), fork(2) (the child gets its own
# memory), a program with its own SIGSEGV handler, one that maps, remaps,
# protects and unmaps memory itself; a warm compute loop
# takes no fault; the refusals (exit 2), 126, 127 and 128+N; the JSON
# report's keys; the --sweep table; and no file left behind.
#
# Uses $DPEMU and $top_builddir (the Makefile's TESTS_ENVIRONMENT).  Exit
# 77 (skip) when the preload library was not built (no mimalloc).  Cases
# that hand heap memory to system calls (sort, gzip, python3) need the
# uffd backend, which resolves faults inside system calls; without it
# they are skipped, with the reason.

dpemu=${DPEMU:-${top_builddir:-.}/dpemu}
b=${top_builddir:-.}
preload=${DPEMU_RUN_PRELOAD:-$b/.libs/libdpemu-run.so}
failures=0

if [ ! -f "$preload" ]; then
	echo "test-run: $preload was not built (mimalloc missing, or --disable-shared?" \
	     "Debian: apt-get install libmimalloc-dev, then ./configure); skipping"
	exit 77
fi
export DPEMU_RUN_PRELOAD="$preload"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-run-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
# dpemu run's own temporary files go here: it must be empty at the end.
mkdir "$tmp/tmpdir" || exit 99
export TMPDIR="$tmp/tmpdir"

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# same WHAT [dpemu run options] -- PROGRAM [ARGS]: PROGRAM's stdout and
# exit status are the same natively and under dpemu run (whose report
# goes to $tmp/r.json).  Standard input is $tmp/stdin.
same() {
	what=$1
	shift
	opts=
	while [ "$1" != -- ]; do
		opts="$opts $1"
		shift
	done
	shift
	"$@" <"$tmp/stdin" >"$tmp/native.out" 2>"$tmp/native.err"
	nrc=$?
	# shellcheck disable=SC2086 # opts are words
	"$dpemu" run $opts --json "$tmp/r.json" -- "$@" <"$tmp/stdin" >"$tmp/dpemu.out" \
		2>"$tmp/dpemu.err"
	drc=$?
	if [ $nrc -ne $drc ]; then
		fail "$what: exit status $drc under dpemu run, $nrc natively; stderr:" \
		     "$(tail -5 "$tmp/dpemu.err")"
	elif ! cmp -s "$tmp/native.out" "$tmp/dpemu.out"; then
		fail "$what: the output differs from the native run's: $(cmp "$tmp/native.out" \
		      "$tmp/dpemu.out" 2>&1); stderr: $(tail -5 "$tmp/dpemu.err")"
	else
		echo "ok: $what ($(json faults) faults, $(json evictions) evictions)"
	fi
}

# json KEY: the integer KEY of $tmp/r.json (empty if absent).
json() {
	sed -n "s/^ *\"$1\": \([0-9][0-9]*\),*\$/\1/p" "$tmp/r.json" | head -1
}

: >"$tmp/stdin"
# A file of 420 KiB: 20000 lines in no order.
awk 'BEGIN { x = 12345; for (i = 0; i < 20000; i++) {
	x = (x * 1103515245 + 12345) % 2147483648; printf "%010d line %d\n", x, i } }' \
	>"$tmp/lines" || exit 99
head -n 2000 "$tmp/lines" >"$tmp/few"

if why=$("$dpemu" backends uffd 2>&1); then
	# sort of a file larger than the pool: 64 frames are 256 KiB here.
	same "sort of a file larger than the pool" --frames 64 -- sort "$tmp/lines"
	[ "$(json evictions)" -gt 0 ] 2>/dev/null || fail "sort: no eviction with 64 frames"
	# gzip and gunzip: a round trip, each under dpemu run.
	same "gzip" --frames 64 -- gzip -c "$tmp/lines"
	cp "$tmp/dpemu.out" "$tmp/lines.gz"
	same "gunzip" --frames 64 -- gunzip -c "$tmp/lines.gz"
	cmp -s "$tmp/dpemu.out" "$tmp/lines" || fail "gunzip did not give back the file"
	# python3: a list comprehension over 2 million ints.
	py=$(command -v python3)
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	if [ -n "$py" ]; then
		same "python3 list comprehension" --memory 256M -- "$py" -c \
			'l = [i * i for i in range(2000000)]; print(len(l), sum(l), l[12345])'
	else
		echo "skip: python3 (not installed)"
	fi
	# a fork of a fork: bash's $(a | b) forks a subshell that forks the
	# pipeline (the grandchild once died of SIGSEGV touching its heap)
	same "a fork of a fork (bash's \$(a | b))" --frames 1024 -- bash -c \
		'f() { echo in "$1"; }; y=$(f one | cat); z=$( (f two | cat) | cat); echo "$y/$z"'
else
	echo "skip: sort, gzip, python3 need the uffd backend (faults inside system calls): $why"
fi

# Programs of this suite, under every backend the kernel allows: they give
# the heap to no system call that would fault (stdio writes what it just
# wrote; the pools are large enough that its buffer is not evicted before).
backends=
for be in uffd sigsegv uffd-sigbus; do
	"$dpemu" backends "$be" >/dev/null 2>&1 && backends="$backends $be"
done
for be in $backends; do
	same "8 threads ($be)" --backend "$be" --frames 16384 -- "$b/tests/run_threads"
	if [ -x "$b/tests/run_cxx" ]; then
		same "C++ vector and map ($be)" --backend "$be" --frames 16384 -- "$b/tests/run_cxx"
	fi
	same "system(3) ($be)" --backend "$be" --frames 256 -- "$b/tests/run_system"
	same "fork(2) ($be)" --backend "$be" --frames 4096 -- "$b/tests/run_fork"
	[ "$(json forks)" = 2 ] || fail "fork ($be): the preload copied $(json forks) forks, not 2"
	# 4 MiB of data in a 1 MiB pool: the child's copy comes from swap too.
	same "fork(2), memory swapped out ($be)" --backend "$be" --frames 256 -- "$b/tests/run_fork"
	[ "$(json swap_outs)" -gt 0 ] 2>/dev/null || fail "fork ($be): nothing swapped out"
	same "own SIGSEGV handler ($be)" --backend "$be" --frames 1024 -- "$b/tests/run_sigsegv"
	same "mmap, mremap, madvise, mprotect, munmap ($be)" --backend "$be" --frames 4096 -- \
		"$b/tests/run_mmap"
	[ "$(json host_ranges)" = 1 ] || fail "mmap ($be): $(json host_ranges) host ranges, not 1"
done
[ -x "$b/tests/run_cxx" ] || echo "skip: C++ (no C++ compiler at configure time)"

# A program the program starts runs without dpemu, in the environment it
# would have had.
"$dpemu" run --tlb 4 --trace "$tmp/env.trace" -- sh -c 'env; :' >"$tmp/out" 2>/dev/null
if grep -E '^DPEMU_RUN_(PID|REPORT|FRAMES|PAGE_SIZE|POLICY|BACKEND|FAULT_AROUND|SWAP|TLB|TRACE)|^LD_PRELOAD=.*libdpemu-run' \
	"$tmp/out" >"$tmp/err"; then
	fail "a child of the program sees dpemu run's environment: $(cat "$tmp/err")"
fi

# A warm compute loop takes no fault: 1 pass and 4 passes fault alike.
"$dpemu" run --frames 8192 --json "$tmp/r.json" -- "$b/tests/run_loop" 1 >/dev/null 2>&1
one=$(json faults)
"$dpemu" run --frames 8192 --json "$tmp/r.json" -- "$b/tests/run_loop" 4 >/dev/null 2>&1
four=$(json faults)
if [ -z "$one" ] || [ "$one" != "$four" ]; then
	fail "warm loop: $one faults for 1 pass, $four for 4 (passes over resident pages trapped)"
else
	echo "ok: warm loop ($one faults for 1 pass and for 4)"
fi

# The JSON report: the keys scripts rely on, each an integer.
"$dpemu" run --frames 64 --json "$tmp/r.json" -- "$b/tests/run_loop" 1 >/dev/null 2>&1
for key in faults evictions swap_ins swap_outs reference_faults tlb_misses \
	peak_resident_pages exit_status; do
	grep -Eq "^  \"$key\": [0-9]+,?\$" "$tmp/r.json" || fail "JSON: no integer \"$key\""
done
[ "$(json peak_resident_pages)" = 64 ] || fail "JSON: peak_resident_pages" \
	"$(json peak_resident_pages) with 64 frames and an 8 MiB array"
[ "$(json evictions)" -gt 0 ] 2>/dev/null || fail "JSON: no eviction with 64 frames"
# The latency of every fault, in the JSON: one count per fault, ordered
# percentiles, and the zero-fills' own.
[ "$(json latency_count)" = "$(json faults)" ] ||
	fail "JSON: latency_count $(json latency_count) for $(json faults) faults"
[ "$(json latency_zero_fill_count)" = "$(json zero_fills)" ] ||
	fail "JSON: latency_zero_fill_count $(json latency_zero_fill_count) for" \
	     "$(json zero_fills) zero-fills"
[ "$(json latency_min_ns)" -le "$(json latency_p50_ns)" ] 2>/dev/null &&
	[ "$(json latency_p50_ns)" -le "$(json latency_p99_ns)" ] &&
	[ "$(json latency_p99_ns)" -le "$(json latency_max_ns)" ] ||
	fail "JSON: latency min $(json latency_min_ns) p50 $(json latency_p50_ns)" \
	     "p99 $(json latency_p99_ns) max $(json latency_max_ns) out of order"
[ "$(json tlb_misses)" = 0 ] || fail "JSON: $(json tlb_misses) TLB misses without --tlb"

# --tlb 1: every change of page is a miss, so one pass over the 2048 pages
# of the array after they were filled misses at least 2047 times; the
# output is the native one.
same "run_loop --tlb 1" --frames 8192 --tlb 1 -- "$b/tests/run_loop" 1
[ "$(json tlb_entries)" = 1 ] || fail "--tlb 1: tlb_entries $(json tlb_entries)"
[ "$(json tlb_misses)" -ge 2047 ] 2>/dev/null ||
	fail "--tlb 1: $(json tlb_misses) TLB misses for a pass over 2048 pages"
"$dpemu" run --frames 8192 --tlb 1 -- "$b/tests/run_loop" 1 >/dev/null 2>"$tmp/err"
grep -Eq '^  tlb +1 entries, [0-9]+ misses$' "$tmp/err" ||
	fail "--tlb 1: the report has no tlb line: $(cat "$tmp/err")"

# --trace FILE: the run's trace, complete at exit: as many zero-fill
# records as the report counts zero-fills, and TLB misses likewise.
same "run_loop --trace" --frames 64 --tlb 2 --trace "$tmp/run.trace" -- "$b/tests/run_loop" 1
if "$dpemu" trace export "$tmp/run.trace" --csv -o "$tmp/run.csv" 2>"$tmp/err"; then
	zf=$(grep -c ',zero-fill,' "$tmp/run.csv")
	tm=$(grep -c ',tlb-miss,' "$tmp/run.csv")
	[ "$zf" = "$(json zero_fills)" ] ||
		fail "--trace: $zf zero-fill records, the report says $(json zero_fills)"
	[ "$tm" = "$(json tlb_misses)" ] ||
		fail "--trace: $tm tlb-miss records, the report says $(json tlb_misses)"
	ev=$(grep -c ',evict,' "$tmp/run.csv")
	[ "$ev" = "$(json evictions)" ] ||
		fail "--trace: $ev evict records, the report says $(json evictions)"
else
	fail "--trace: dpemu trace export failed: $(cat "$tmp/err")"
fi
"$dpemu" run --frames 64 --trace "$tmp/run2.trace" -- "$b/tests/run_loop" 1 >/dev/null \
	2>"$tmp/err"
grep -q "^  trace     $tmp/run2.trace\$" "$tmp/err" ||
	fail "--trace: the report does not name the trace: $(cat "$tmp/err")"

# Without --json, the report goes to stderr; the output is the program's.
"$dpemu" run --frames 64 -- "$b/tests/run_loop" 1 >"$tmp/out" 2>"$tmp/err"
grep -q '^1 passes' "$tmp/out" || fail "the program's output is not on stdout"
grep -q 'faults' "$tmp/err" || fail "no report on stderr: $(cat "$tmp/err")"

# expect STATUS WHAT ARGS...: dpemu ARGS exits with STATUS, saying why.
expect() {
	want=$1 what=$2
	shift 2
	"$dpemu" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		fail "$what: exit $rc, expected $want"
	elif [ "$want" -ne 0 ] && [ "$want" -lt 128 ] && [ ! -s "$tmp/err" ]; then
		fail "$what: no message"
	fi
}
printf 'not a program\n' >"$tmp/noexec"
chmod 644 "$tmp/noexec"
expect 2 "unknown policy" run --policy bogus -- true
expect 2 "zero frames" run --frames 0 -- true
expect 2 "frames and memory" run --frames 8 --memory 1M -- true
expect 2 "unknown option" run --no-such-option -- true
expect 2 "option without its value" run --frames
expect 2 "no program" run --frames 8
expect 2 "several policies without --sweep" run --policy fifo,lru -- true
expect 2 "--svg without --sweep" run --svg "$tmp/x.svg" -- true
expect 2 "bad page size" run --page-size 1000 -- true
expect 2 "bad --memory unit" run --memory 1X -- true
expect 2 "--swap without a policy" run --policy none --swap "$tmp/swap" -- true
expect 2 "zero TLB entries" run --tlb 0 -- true
expect 2 "--trace with --sweep" run --sweep 8,16 --trace "$tmp/t.trace" -- true
expect 2 "--trace into a missing directory" run --trace "$tmp/no/such/dir/t" -- true
expect 127 "missing program" run -- "$tmp/no-such-program"
expect 126 "non-executable program" run -- "$tmp/noexec"
expect 143 "program killed by SIGTERM" run -- sh -c 'kill -TERM $$'
grep -q 'signal 15' "$tmp/err" || fail "killed program: the report does not say signal 15"
expect 7 "the program's exit status" run -- sh -c 'exit 7'
expect 0 "run --help" run --help
grep -q -- '--sweep' "$tmp/out" || fail "run --help does not list --sweep"

# --sweep: the table has a header and one row of numbers per frames count,
# one column per policy; the SVG has one curve per policy.
"$dpemu" run --sweep 8,16,32 --policy fifo,clock --svg "$tmp/s.svg" -- sort "$tmp/few" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "--sweep exited $rc: $(cat "$tmp/err")"
grep -Eq '^ +frames +fifo +clock$' "$tmp/out" || fail "--sweep: no header: $(cat "$tmp/out")"
rows=$(grep -Ec '^ +(8|16|32) +[0-9]+ +[0-9]+ $' "$tmp/out")
[ "$rows" = 3 ] || fail "--sweep: $rows rows of numbers, not 3: $(cat "$tmp/out")"
grep -q '<svg' "$tmp/s.svg" || fail "--sweep --svg: not an SVG"
[ "$(grep -c '<polyline' "$tmp/s.svg")" = 2 ] || fail "--sweep --svg: not 2 curves"

# Nothing left behind in TMPDIR.
left=$(ls -A "$TMPDIR")
[ -z "$left" ] || fail "files left behind in TMPDIR: $left"

if [ $failures -ne 0 ]; then
	echo "test-run: $failures failure(s)" >&2
	exit 1
fi
echo "test-run: all checks passed"
exit 0
