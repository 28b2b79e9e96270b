#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-replay.sh - `dpemu replay` (issue 16) from the outside: the exact
# per-access table and totals of small strings (OSTEP's README trace, its
# Belady example), the JSON, lackey auto-detection on a small log, the
# curve with Belady's anomaly and its SVG, --live in agreement under every
# backend this kernel allows, and the errors: unknown policy, frames 0, a
# bad input line (named by its line number), a missing file, --live with
# opt, and the other options' checks.  (tests/test_replay.c checks the
# simulator and --live on many random strings.)
#
# Uses $DPEMU and $GEN_TRACE (set by the Makefile's TESTS_ENVIRONMENT),
# else $top_builddir/dpemu and $top_builddir/tests/gen_trace (the trace
# file checks are skipped without it).

dpemu=${DPEMU:-${top_builddir:-.}/dpemu}
gen=${GEN_TRACE:-${top_builddir:-.}/tests/gen_trace}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-replay.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

if [ ! -x "$dpemu" ]; then
	echo "test-replay: $dpemu is not an executable" >&2
	exit 99
fi

# expect NAME EXPECTED-STATUS CMD...: the command's stdout must be the
# file $tmp/want.
expect() {
	name=$1
	want_rc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq "$want_rc" ] || fail "$name: exited $rc, expected $want_rc: $(cat "$tmp/err")"
	if ! cmp -s "$tmp/want" "$tmp/out"; then
		fail "$name: unexpected output:"
		diff "$tmp/want" "$tmp/out" >&2
	fi
}

# refused NAME STATUS PATTERN CMD...: exit STATUS, PATTERN on stderr,
# nothing on stdout.
refused() {
	name=$1
	want_rc=$2
	pattern=$3
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq "$want_rc" ] || fail "$name: exited $rc, expected $want_rc"
	grep -q -- "$pattern" "$tmp/err" || fail "$name: no '$pattern' in: $(cat "$tmp/err")"
	[ -s "$tmp/out" ] && fail "$name: printed on stdout: $(head -3 "$tmp/out")"
}

printf '1,2,3,4,1,2,5,1,2,3,4,5\n' >"$tmp/belady"

# OSTEP's README trace: paging-policy.py --addresses=0,1,2,0,1,3,0,3,1,2,1
# --policy=LRU --cachesize=3 -c, from standard input.
cat >"$tmp/want" <<'EOF'
lru: 3 frames; memory least to most recently used

access  lru
     0  miss  -  [0]
     1  miss  -  [0 1]
     2  miss  -  [0 1 2]
     0  hit   -  [1 2 0]
     1  hit   -  [2 0 1]
     3  miss  2  [0 1 3]
     0  hit   -  [1 3 0]
     3  hit   -  [1 0 3]
     1  hit   -  [0 3 1]
     2  miss  0  [3 1 2]
     1  hit   -  [3 2 1]

policy  frames  references  hits  misses  hit rate  evictions
lru          3          11     6       5    54.55%          2
EOF
printf '0,1,2,0,1,3,0,3,1,2,1\n' >"$tmp/readme"
expect "OSTEP README trace" 0 "$dpemu" replay --policy lru --frames 3 - <"$tmp/readme"

# Belady's example, three policies side by side.
cat >"$tmp/want" <<'EOF'
fifo: 3 frames; memory first in to last in
lru: 3 frames; memory least to most recently used
opt: 3 frames; memory in load order

access  fifo              lru               opt
     1  miss  -  [1]      miss  -  [1]      miss  -  [1]
     2  miss  -  [1 2]    miss  -  [1 2]    miss  -  [1 2]
     3  miss  -  [1 2 3]  miss  -  [1 2 3]  miss  -  [1 2 3]
     4  miss  1  [2 3 4]  miss  1  [2 3 4]  miss  3  [1 2 4]
     1  miss  2  [3 4 1]  miss  2  [3 4 1]  hit   -  [1 2 4]
     2  miss  3  [4 1 2]  miss  3  [4 1 2]  hit   -  [1 2 4]
     5  miss  4  [1 2 5]  miss  4  [1 2 5]  miss  4  [1 2 5]
     1  hit   -  [1 2 5]  hit   -  [2 5 1]  hit   -  [1 2 5]
     2  hit   -  [1 2 5]  hit   -  [5 1 2]  hit   -  [1 2 5]
     3  miss  1  [2 5 3]  miss  5  [1 2 3]  miss  2  [1 5 3]
     4  miss  2  [5 3 4]  miss  1  [2 3 4]  miss  3  [1 5 4]
     5  hit   -  [5 3 4]  miss  2  [3 4 5]  hit   -  [1 5 4]

policy  frames  references  hits  misses  hit rate  evictions
fifo         3          12     3       9    25.00%          6
lru          3          12     2      10    16.67%          7
opt          3          12     5       7    41.67%          4
EOF
expect "Belady, 3 frames" 0 "$dpemu" replay --policy fifo,lru,opt --frames 3 "$tmp/belady"

# The library's policies: reference bits, ages, frames.
cat >"$tmp/want" <<'EOF'
clock: 3 frames; memory from the hand (oldest) round to the youngest; * reference bit set
aging: 3 frames; memory in load order, page:age in hex; * reference bit set
random: 3 frames, seed 0; memory by frame number

access  clock                aging                         random
     1  miss  -  [1*]        miss  -  [1:00*]              miss  -  [1]
     2  miss  -  [1* 2*]     miss  -  [1:00* 2:00*]        miss  -  [1 2]
     3  miss  -  [1* 2* 3*]  miss  -  [1:00* 2:00* 3:00*]  miss  -  [1 2 3]
     4  miss  1  [2 3 4*]    miss  1  [2:80 3:80 4:00*]    miss  1  [4 2 3]
     1  miss  2  [3 4* 1*]   miss  2  [3:40 4:80 1:00*]    miss  3  [4 2 1]
     2  miss  3  [4* 1* 2*]  miss  3  [4:40 1:80 2:00*]    hit   -  [4 2 1]
     5  miss  4  [1 2 5*]    miss  4  [1:40 2:80 5:00*]    miss  2  [4 5 1]
     1  hit   -  [1* 2 5*]   hit   -  [1:40* 2:80 5:00*]   hit   -  [4 5 1]
     2  hit   -  [1* 2* 5*]  hit   -  [1:40* 2:80* 5:00*]  miss  5  [4 2 1]
     3  miss  1  [2 5 3*]    miss  5  [1:a0 2:c0 3:00*]    miss  1  [4 2 3]
     4  miss  2  [5 3* 4*]   miss  1  [2:60 3:80 4:00*]    hit   -  [4 2 3]
     5  hit   -  [5* 3* 4*]  miss  2  [3:40 4:80 5:00*]    miss  2  [4 5 3]

policy  frames  references  hits  misses  hit rate  evictions
clock        3          12     3       9    25.00%          6
aging        3          12     2      10    16.67%          7
random       3          12     3       9    25.00%          6
EOF
expect "clock, aging, random" 0 "$dpemu" replay --policy clock,aging,random --frames 3 "$tmp/belady"

# With 4 frames: FIFO 10 misses (Belady's anomaly), LRU 8, OPT 6; as JSON.
cat >"$tmp/want" <<'EOF'
[
  {"policy":"fifo","frames":4,"references":12,"pages":5,"hits":2,"misses":10,"hit_rate":0.1667,"evictions":6},
  {"policy":"lru","frames":4,"references":12,"pages":5,"hits":4,"misses":8,"hit_rate":0.3333,"evictions":4},
  {"policy":"opt","frames":4,"references":12,"pages":5,"hits":6,"misses":6,"hit_rate":0.5000,"evictions":2}
]
EOF
expect "Belady, 4 frames, JSON" 0 "$dpemu" replay --policy fifo,lru,opt --frames 4 --json "$tmp/belady"
cat >"$tmp/want" <<'EOF'
{"policy":"random","frames":3,"references":12,"pages":5,"hits":3,"misses":9,"hit_rate":0.2500,"evictions":6,"seed":7}
EOF
expect "one policy, JSON" 0 "$dpemu" replay -p random -f 3 -s 7 -j "$tmp/belady"
cat >"$tmp/want" <<'EOF'
policy  frames  references  hits  misses  hit rate  evictions
fifo         4          12     2      10    16.67%          6
EOF
expect "-N" 0 "$dpemu" replay --policy fifo --frames 4 -N "$tmp/belady"

# A valgrind lackey log, detected as one: instruction fetches and loads
# read, stores and modifies write, an access across a page boundary
# references both pages; valgrind's own lines are skipped.
cat >"$tmp/lackey" <<'EOF'
==12345== Lackey, an example Valgrind tool
==12345== Command: ./a.out
==12345==
I  04000000,3
 S 1ffefffd00,8
I  04000003,4
 L 04001ffc,8
 M 1ffefffd00,8
I  04000007,2
 L 04003000,4
==12345==
==12345== Counted 1 calls to main()
EOF
cat >"$tmp/want" <<'EOF'
fifo: 2 frames; memory first in to last in

   access  fifo
   0x4000  miss          -  [0x4000]
0x1ffefff  miss          -  [0x4000 0x1ffefff]
   0x4000  hit           -  [0x4000 0x1ffefff]
   0x4001  miss     0x4000  [0x1ffefff 0x4001]
   0x4002  miss  0x1ffefff  [0x4001 0x4002]
0x1ffefff  miss     0x4001  [0x4002 0x1ffefff]
   0x4000  miss     0x4002  [0x1ffefff 0x4000]
   0x4003  miss  0x1ffefff  [0x4000 0x4003]

policy  frames  references  hits  misses  hit rate  evictions
fifo         2           8     1       7    12.50%          5
EOF
expect "lackey log" 0 "$dpemu" replay --policy fifo --frames 2 "$tmp/lackey"
cat >"$tmp/want" <<'EOF'
{"policy":"fifo","frames":2,"references":8,"pages":3,"hits":4,"misses":4,"hit_rate":0.5000,"evictions":2}
EOF
expect "lackey log, 8 KiB pages" 0 "$dpemu" replay --policy fifo --frames 2 --page-size 8192 \
	--json "$tmp/lackey"

# A dpemu trace file: its fault events in time order (the file's order
# is the writer's), pages per space, other events (an eviction) left out.
# RECORD: TIME,SPACE,TID,EVENT,ADDR,ACCESS,FRAME,LATENCY,AUX,OUTCOME.
if [ -x "$gen" ]; then
	"$gen" "$tmp/trace" 30,1,1,1,0x3000,2,-,0,0,0 10,1,1,1,0x1000,2,-,0,0,0 \
		20,1,1,1,0x2000,1,-,0,0,0 25,1,1,10,0x1000,0,-,0,0,0 40,2,1,1,0x1000,1,-,0,0,0 \
		50,1,1,5,0x1000,1,-,0,0,0 60,1,1,7,0x2fff,1,-,0,0,0 ||
		fail "gen_trace failed"
	cat >"$tmp/want" <<'EOF'
fifo: 2 frames; memory first in to last in

access  fifo
 1:0x1  miss      -  [1:0x1]
 1:0x2  miss      -  [1:0x1 1:0x2]
 1:0x3  miss  1:0x1  [1:0x2 1:0x3]
 2:0x1  miss  1:0x2  [1:0x3 2:0x1]
 1:0x1  miss  1:0x3  [2:0x1 1:0x1]
 1:0x2  miss  2:0x1  [1:0x1 1:0x2]

policy  frames  references  hits  misses  hit rate  evictions
fifo         2           6     0       6     0.00%          4
EOF
	expect "trace file" 0 "$dpemu" replay --policy fifo --frames 2 - <"$tmp/trace"
	"$gen" --version 2 "$tmp/trace2" 10,1,1,1,0x1000,2,-,0,0,0 || fail "gen_trace failed"
	refused "trace of another version" 1 "trace version 2" "$dpemu" replay --policy fifo \
		--frames 2 "$tmp/trace2"
fi

# --curve: every size, exact LRU in one pass, Belady's anomaly named.
cat >"$tmp/want" <<'EOF'
frames  fifo  lru  opt   (misses)
     1    12   12   12
     2    12   12    9
     3     9   10    7
     4    10    8    6
     5     5    5    5
     6     5    5    5
Belady's anomaly: fifo misses more with 4 frames (10) than with 3 (9)
EOF
expect "--curve" 0 "$dpemu" replay --policy fifo,lru,opt --curve 1-6 --svg "$tmp/c.svg" "$tmp/belady"
grep -q '<svg' "$tmp/c.svg" || fail "--svg: not an SVG"
grep -q 'Belady' "$tmp/c.svg" || fail "--svg: the anomaly is not marked"
[ "$(grep -c '<polyline' "$tmp/c.svg")" -eq 3 ] || fail "--svg: not one line per policy"
cat >"$tmp/want" <<'EOF'
{"policy":"fifo","references":12,"pages":5,"from":3,"to":4,"curve":[{"frames":3,"misses":9},{"frames":4,"misses":10}],"anomalies":[{"frames":4,"misses":10,"fewer_frames":3,"fewer_misses":9}]}
EOF
expect "--curve --json" 0 "$dpemu" replay --policy fifo --curve 3-4 --json "$tmp/belady"

# --live: the library agrees, under every backend this kernel allows.
for b in sigsegv uffd uffd-sigbus; do
	"$dpemu" backends $b >/dev/null 2>&1 || continue
	for input in belady lackey; do
		"$dpemu" replay --policy fifo,clock,aging,random --frames 3 -N --live --backend $b \
			"$tmp/$input" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		[ $rc -eq 0 ] || fail "--live $b $input: exited $rc: $(cat "$tmp/err")"
		[ "$(grep -c "^live .* ($b): .*: agree$" "$tmp/out")" -eq 4 ] ||
			fail "--live $b $input: not four agreements: $(cat "$tmp/out")"
	done
done
"$dpemu" replay --policy aging --frames 3 --live --json "$tmp/belady" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "--live --json: exited $rc: $(cat "$tmp/err")"
grep -q '"misses":10,.*"live":{.*"misses":10,.*"agree":true}}$' "$tmp/out" ||
	fail "--live --json: $(cat "$tmp/out")"
# A pool of one frame and a string cycling over two pages: the library's
# livelock guard stops some accesses, which are tried again.
i=0
while [ $i -lt 100 ]; do
	echo "1 2"
	i=$((i + 1))
done >"$tmp/cycle"
"$dpemu" replay --policy fifo --frames 1 -N --live "$tmp/cycle" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "--live, one frame: exited $rc: $(cat "$tmp/err")"
grep -q '200 misses.*: agree$' "$tmp/out" || fail "--live, one frame: $(cat "$tmp/out")"

# Errors.
refused "unknown policy" 2 "unknown policy 'lfu'" "$dpemu" replay --policy fifo,lfu --frames 3 \
	"$tmp/belady"
refused "frames 0" 2 "bad --frames '0'" "$dpemu" replay --policy fifo --frames 0 "$tmp/belady"
printf '1, 2, 3\n4 five 6\n' >"$tmp/bad"
refused "bad input line" 1 "bad:2: bad page number 'five'" "$dpemu" replay --policy fifo \
	--frames 3 "$tmp/bad"
printf '==1== Lackey\n L 0400,4\n X 0400,4\n' >"$tmp/badlackey"
refused "bad lackey line" 1 "badlackey:3: not a lackey record" "$dpemu" replay --policy fifo \
	--frames 3 "$tmp/badlackey"
refused "missing file" 1 "no-such-file: No such file or directory" "$dpemu" replay \
	--policy fifo --frames 3 "$tmp/no-such-file"
: >"$tmp/empty"
refused "empty input" 1 "no page references" "$dpemu" replay --policy fifo --frames 3 "$tmp/empty"
refused "--live with opt" 2 "no opt policy" "$dpemu" replay --policy fifo,opt --frames 3 --live \
	"$tmp/belady"
refused "--live with lru" 2 "no exact lru" "$dpemu" replay --policy lru --frames 3 --live \
	"$tmp/belady"
refused "no --policy" 2 "--policy (or --policy-lib) is required" "$dpemu" replay --frames 3 "$tmp/belady"
refused "no --frames" 2 "--frames (or --curve) is required" "$dpemu" replay --policy fifo \
	"$tmp/belady"
refused "--frames with --curve" 2 "exclude each other" "$dpemu" replay --policy fifo --frames 3 \
	--curve 1-4 "$tmp/belady"
refused "--curve 4-3" 2 "bad --curve TO" "$dpemu" replay --policy fifo --curve 4-3 "$tmp/belady"
refused "--curve 4" 2 "not FROM-TO" "$dpemu" replay --policy fifo --curve 4 "$tmp/belady"
refused "--svg without --curve" 2 "--svg needs --curve" "$dpemu" replay --policy fifo \
	--frames 3 --svg "$tmp/x.svg" "$tmp/belady"
refused "--svg onto a directory" 2 "--svg" "$dpemu" replay --policy fifo --curve 1-2 \
	--svg "$tmp" "$tmp/belady"
refused "--seed without random" 2 "--seed is for the random policy" "$dpemu" replay \
	--policy fifo --frames 3 --seed 1 "$tmp/belady"
refused "--backend without --live" 2 "--backend needs --live" "$dpemu" replay --policy fifo \
	--frames 3 --backend sigsegv "$tmp/belady"
refused "bad --backend" 2 "bad --backend 'segv'" "$dpemu" replay --policy fifo --frames 3 \
	--live --backend segv "$tmp/belady"
refused "bad --page-size" 2 "not a power of two" "$dpemu" replay --policy fifo --frames 3 \
	--page-size 3000 "$tmp/lackey"
refused "unknown option" 2 "unknown option '--no-such'" "$dpemu" replay --policy fifo \
	--frames 3 --no-such "$tmp/belady"
refused "extra argument" 2 "unexpected argument" "$dpemu" replay --policy fifo --frames 3 \
	"$tmp/belady" "$tmp/belady"
refused "DPEMU_BACKEND=bogus" 2 "DPEMU_BACKEND=bogus" env DPEMU_BACKEND=bogus "$dpemu" replay \
	--policy fifo --frames 3 "$tmp/belady"
"$dpemu" replay --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "replay --help exited $rc"
grep -q 'Usage: dpemu replay' "$tmp/out" || fail "replay --help prints no usage"
"$dpemu" --help | grep -q 'replay' || fail "dpemu --help does not list replay"

if [ $failures -ne 0 ]; then
	echo "test-replay: $failures failure(s)" >&2
	exit 1
fi
echo "test-replay: all checks passed"
exit 0
