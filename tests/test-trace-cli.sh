#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-trace-cli.sh - `dpemu trace report` and `dpemu trace export` on
# trace files written by tests/gen_trace (no library involved): the
# report of a fixed scenario, worked out by hand, exactly, in text and
# JSON; its export as CSV exactly, and as JSON and Chrome trace events
# derived from that CSV by awk (an independent rendering of the same
# rules); percentiles by nearest rank; the resident set through unmaps;
# forward compatibility (longer headers and records); every refusal: a
# missing, empty, foreign, truncated or too new file (exit 1), and bad
# options, arguments and output paths (exit 2, nothing written).
#
# Uses $DPEMU and $GEN_TRACE (set by the Makefile's TESTS_ENVIRONMENT),
# else $top_builddir/dpemu and $top_builddir/tests/gen_trace; JSON is
# validated with python3 -m json.tool where python3 is installed.

builddir=${top_builddir:-.}
dpemu=${DPEMU:-$builddir/dpemu}
gen=${GEN_TRACE:-$builddir/tests/gen_trace}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-trace.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

for p in "$dpemu" "$gen"; do
	if [ ! -x "$p" ]; then
		echo "test-trace-cli: $p is not an executable" >&2
		exit 99
	fi
done
# Absolute paths: the checks run in $tmp, so that file names are short.
case $dpemu in /*) ;; *) dpemu=$(pwd)/$dpemu ;; esac
case $gen in /*) ;; *) gen=$(pwd)/$gen ;; esac
cd "$tmp" || exit 99

# same NAME EXPECTED ACTUAL: the files are equal, else the difference.
same() {
	if ! cmp -s "$2" "$3"; then
		fail "$1 differs from what is expected:"
		diff -u "$2" "$3" | head -40 >&2
	fi
}

# valid_json NAME FILE
valid_json() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool "$2" >/dev/null 2>"$tmp/json.err" ||
			fail "$1 is not valid JSON: $(cat "$tmp/json.err")"
	fi
}

# runs NAME STATUS CMD...: CMD exits with STATUS; its output in out, err.
runs() {
	name=$1 want=$2
	shift 2
	"$@" >out 2>err
	rc=$?
	[ $rc -eq "$want" ] || fail "$name: exited $rc, expected $want: $(head -3 err)"
}

# refused NAME STATUS MESSAGE CMD...: CMD exits with STATUS, writes nothing
# on stdout, and says MESSAGE (a fixed string) on stderr.
refused() {
	name=$1 want=$2 msg=$3
	shift 3
	runs "$name" "$want" "$@"
	[ -s out ] && fail "$name: wrote on stdout: $(head -3 out)"
	grep -qF -- "$msg" err || fail "$name: stderr lacks '$msg': $(cat err)"
}

# ------------------------------------------------------------ the scenario
"$gen" s.bin --scenario || exit 99

# The report, text.  Every figure follows from tests/gen_trace.c's table:
# faults by kind; latencies sorted, percentiles at rank ceil(p/100 x n),
# means truncated (all: 19 faults, rank 10 = 700, rank 18 = 9000, rank 19
# = 12000, 43780 / 19 = 2304); pages by faults, ties by space then
# address; resident pages peak at 6 when the child has touched three pages
# it shares with its parent, frames at 4; the duration ends with the
# swap-in at 12000 + 12000 ns.
cat >want <<'EOF'
trace s.bin: version 1, 36 records
  pid 4242, page size 4096, 4 frames, policy clock
  started 2026-05-28 20:26:40.123456789 UTC, duration 0.000024000 s

faults                count
  zero-fill               4
  file-read               2
  cow-copy                2
  cow-reuse               1
  swap-in                 1
  zero-map                1
  reference               2
  tlb-miss                2
  unresolved              4
    unmapped              1
    protection            1
    out-of-frames         1
    host                  1
  all                    19

fault latency (ns)    count        min        p50        p90        p99        max       mean
  zero-fill               4       1000       1500       2500       2500       2500       1700
  file-read               2       8000       8000       9000       9000       9000       8500
  cow-copy                2        700        700       4000       4000       4000       2350
  cow-reuse               1        600        600        600        600        600        600
  swap-in                 1      12000      12000      12000      12000      12000      12000
  zero-map                1        800        800        800        800        800        800
  reference               2        300        300        350        350        350        325
  tlb-miss                2        100        100        150        150        150        125
  unresolved              4        200        250        270        270        270        245
  all                    19        100        700       9000      12000      12000       2304

top pages by faults
  address                 space   faults
  0x7f0000000000              1        3
  0x7f0000001000              1        3
  0x7f0000002000              1        2
  0x7f1000001000              2        2
  0x7f2000001000              3        2
  0x7f0000003000              1        1
  0x7f0000005000              1        1
  0x7f0000009000              1        1
  0x7f1000000000              2        1
  0x7f1000003000              2        1

page replacement
  evictions                   4
  swap-outs                   2
  writebacks                  1
  swap-ins                    1
  peak resident pages         6
  peak frames in use          4 of 4

other events
  map                         2
  unmap                       2
  fork                        1
  destroy                     2
  unknown                     1
  events lost                 7
EOF
runs "report" 0 "$dpemu" trace report s.bin
same "report" want out
grep -qF 'warning: s.bin: 7 events lost' err || fail "report: no warning of lost events: $(cat err)"
# -o writes the same into a file, nothing on stdout.
runs "report -o" 0 "$dpemu" trace report -o r.txt s.bin
same "report -o r.txt" want r.txt
[ -s out ] && fail "report -o: wrote on stdout"

# The report, JSON.
cat >want <<'EOF'
{
  "file": "s.bin",
  "version": 1,
  "pid": 4242,
  "page_size": 4096,
  "frames": 4,
  "policy": "clock",
  "start_realtime_ns": 1780000000123456789,
  "start_monotonic_ns": 5000000000,
  "duration_ns": 24000,
  "records": 36,
  "events": {"zero-fill": 4, "file-read": 2, "cow-copy": 2, "cow-reuse": 1, "swap-in": 1, "zero-map": 1, "reference": 2, "tlb-miss": 2, "unresolved": 4, "evict": 4, "swap-out": 2, "writeback": 1, "map": 2, "unmap": 2, "fork": 1, "destroy": 2, "lost": 2, "unknown": 1},
  "faults": 19,
  "unresolved": {"unmapped": 1, "protection": 1, "out-of-frames": 1, "host": 1, "unknown": 0},
  "latency_ns": {
    "zero-fill": {"count": 4, "min": 1000, "p50": 1500, "p90": 2500, "p99": 2500, "max": 2500, "mean": 1700},
    "file-read": {"count": 2, "min": 8000, "p50": 8000, "p90": 9000, "p99": 9000, "max": 9000, "mean": 8500},
    "cow-copy": {"count": 2, "min": 700, "p50": 700, "p90": 4000, "p99": 4000, "max": 4000, "mean": 2350},
    "cow-reuse": {"count": 1, "min": 600, "p50": 600, "p90": 600, "p99": 600, "max": 600, "mean": 600},
    "swap-in": {"count": 1, "min": 12000, "p50": 12000, "p90": 12000, "p99": 12000, "max": 12000, "mean": 12000},
    "zero-map": {"count": 1, "min": 800, "p50": 800, "p90": 800, "p99": 800, "max": 800, "mean": 800},
    "reference": {"count": 2, "min": 300, "p50": 300, "p90": 350, "p99": 350, "max": 350, "mean": 325},
    "tlb-miss": {"count": 2, "min": 100, "p50": 100, "p90": 150, "p99": 150, "max": 150, "mean": 125},
    "unresolved": {"count": 4, "min": 200, "p50": 250, "p90": 270, "p99": 270, "max": 270, "mean": 245},
    "all": {"count": 19, "min": 100, "p50": 700, "p90": 9000, "p99": 12000, "max": 12000, "mean": 2304}
  },
  "top_pages": [
    {"addr": "0x7f0000000000", "space": 1, "faults": 3},
    {"addr": "0x7f0000001000", "space": 1, "faults": 3},
    {"addr": "0x7f0000002000", "space": 1, "faults": 2},
    {"addr": "0x7f1000001000", "space": 2, "faults": 2},
    {"addr": "0x7f2000001000", "space": 3, "faults": 2},
    {"addr": "0x7f0000003000", "space": 1, "faults": 1},
    {"addr": "0x7f0000005000", "space": 1, "faults": 1},
    {"addr": "0x7f0000009000", "space": 1, "faults": 1},
    {"addr": "0x7f1000000000", "space": 2, "faults": 1},
    {"addr": "0x7f1000003000", "space": 2, "faults": 1}
  ],
  "evictions": 4,
  "swap_outs": 2,
  "writebacks": 1,
  "swap_ins": 1,
  "peak_resident_pages": 6,
  "peak_frames_in_use": 4,
  "lost_events": 7
}
EOF
runs "report --json" 0 "$dpemu" trace report --json s.bin
same "report --json" want out
valid_json "report --json" out
grep -qF 'warning: s.bin: 7 events lost' err || fail "report --json: no warning of lost events"

# Export, CSV: the table of tests/gen_trace.c, in the file's order.
cat >want.csv <<'EOF'
time_ns,space,tid,event,addr,access,frame,latency_ns,aux,outcome
1000,1,100,map,0x7f0000000000,unknown,,0,32768,
2000,1,100,zero-fill,0x7f0000000010,write,0,1500,0,
4000,1,101,zero-fill,0x7f0000001008,write,1,2500,0,
4500,1,100,zero-fill,0x7f0000005000,write,2,1800,0,
3500,1,100,zero-map,0x7f0000002000,read,,800,0,
6000,1,100,reference,0x7f0000000010,read,0,300,0,
7000,1,100,fork,0x0,unknown,,0,2,
8000,2,100,cow-copy,0x7f1000000018,write,3,4000,0,
8500,2,100,tlb-miss,0x7f1000001000,read,1,150,0,
8600,2,100,reference,0x7f1000005000,read,2,350,0,
8800,2,101,evict,0x7f1000000000,unknown,3,0,0,
8900,2,101,swap-out,0x7f1000000000,unknown,3,0,6,
9000,1,101,cow-copy,0x7f0000001010,write,3,700,0,
9500,2,100,cow-reuse,0x7f1000001008,write,1,600,0,
10000,3,102,map,0x7f2000000000,unknown,,0,16384,
10500,1,102,evict,0x7f0000000000,unknown,0,0,0,
10600,1,102,swap-out,0x7f0000000000,unknown,0,0,5,
11000,3,102,file-read,0x7f2000000004,read,0,9000,0,
11500,3,100,evict,0x7f2000000000,unknown,0,0,0,
11600,3,100,writeback,0x7f2000000000,unknown,0,0,0,
12000,1,100,swap-in,0x7f0000000020,read,0,12000,5,
13000,2,100,evict,0x7f1000005000,unknown,2,0,0,
13500,3,102,file-read,0x7f2000001004,read,2,8000,0,
14000,1,101,tlb-miss,0x7f0000001000,read,3,100,0,
15000,1,101,unresolved,0x7f0000009000,write,,200,0,unmapped
15100,1,101,unresolved,0x7f0000002000,exec,,250,0,protection
15200,2,100,unresolved,0x7f1000003000,write,,260,0,out-of-frames
15300,3,102,unresolved,0x7f2000001000,read,,270,0,host
16000,0,0,lost,0x0,unknown,,0,3,
17000,3,102,unmap,0x7f2000000000,unknown,,0,16384,
18000,1,100,zero-fill,0x7f0000003000,write,2,1000,0,
19000,2,100,destroy,0x0,unknown,,0,0,
20000,1,101,lost,0x0,unknown,,0,4,
21000,1,100,unmap,0x7f0000000000,unknown,,0,32768,
22000,1,100,destroy,0x0,unknown,,0,0,
21500,4,103,unknown,0x1234,unknown,,0,7,
EOF
runs "export --csv" 0 "$dpemu" trace export s.bin --csv
same "export --csv" want.csv out
[ -s err ] && fail "export --csv: wrote on stderr: $(cat err)"

# --sort: the same lines in time order (every time differs).
{ sed -n 1p want.csv; sed 1d want.csv | sort -t, -k1,1n; } >want
runs "export --csv --sort" 0 "$dpemu" trace export --sort --csv s.bin
same "export --csv --sort" want out

# Export, JSON: an array of the CSV's rows as objects, one a line.
awk -F, 'NR > 1 {
	printf "%s{\"time_ns\": %s, \"space\": %s, \"tid\": %s, \"event\": \"%s\", ", \
		(NR > 2 ? ",\n" : ""), $1, $2, $3, $4
	printf "\"addr\": \"%s\", \"access\": \"%s\", \"frame\": %s, ", $5, $6, ($7 == "" ? "null" : $7)
	printf "\"latency_ns\": %s, \"aux\": %s, \"outcome\": %s}", $8, $9, \
		($10 == "" ? "null" : "\"" $10 "\"")
} BEGIN { print "[" } END { print "\n]" }' want.csv >want
runs "export --json" 0 "$dpemu" trace export s.bin --json
same "export --json" want out
valid_json "export --json" out

# Export, Chrome: faults complete events from time_ns lasting latency_ns,
# the others instants; microseconds with three decimals.
awk -F, 'function us(ns) { return sprintf("%d.%03d", int(ns / 1000), ns % 1000) }
BEGIN {
	printf "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n"
	printf "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 4242, \"tid\": 0, "
	printf "\"args\": {\"name\": \"dpemu pid 4242\"}}"
	n = split("zero-fill file-read cow-copy cow-reuse swap-in zero-map reference tlb-miss unresolved", f, " ")
	for (i = 1; i <= n; i++) fault[f[i]] = 1
	cat["evict"] = cat["swap-out"] = cat["writeback"] = "replacement"
	cat["map"] = cat["unmap"] = cat["fork"] = cat["destroy"] = "space"
}
NR > 1 {
	c = ($4 in fault) ? "fault" : ($4 in cat) ? cat[$4] : "trace"
	printf ",\n{\"name\": \"%s\", \"cat\": \"%s\", \"ph\": \"%s\", \"ts\": %s, ", \
		$4, c, (($4 in fault) ? "X" : "i"), us($1)
	if ($4 in fault) printf "\"dur\": %s, ", us($8); else printf "\"s\": \"t\", "
	printf "\"pid\": 4242, \"tid\": %s, \"args\": {\"addr\": \"%s\", \"space\": %s, ", $3, $5, $2
	printf "\"frame\": %s", ($7 == "" ? "null" : $7)
	if ($4 in fault) printf ", \"access\": \"%s\"", $6; else printf ", \"aux\": %s", $9
	if ($10 != "") printf ", \"outcome\": \"%s\"", $10
	printf "}}"
}
END { print "\n]}" }' want.csv >want
runs "export --chrome" 0 "$dpemu" trace export s.bin --chrome
same "export --chrome" want out
valid_json "export --chrome" out
# ... and -o: the same into a file.
runs "export --chrome -o" 0 "$dpemu" trace export s.bin --chrome --output c.json
same "export --chrome -o c.json" want c.json
[ -s out ] && fail "export -o: wrote on stdout"

# ------------------------------------------------------------ other traces
# Forward compatibility: a longer header and longer records (a later
# version's appended fields) read the same.
"$gen" --header-bytes 80 --record-bytes 64 long.bin --scenario || exit 99
"$dpemu" trace report s.bin 2>/dev/null | sed 1d >want
runs "report of longer records" 0 "$dpemu" trace report long.bin
sed 1d out >got
same "report of longer records" want got
runs "export of longer records" 0 "$dpemu" trace export long.bin --csv
same "export of longer records" want.csv out

# Percentiles at the nearest rank: latencies 1 to 200 ns (rank 100, 180,
# 198), in reverse order; the mean 20100 / 200 = 100 (truncated from 100.5).
i=200 recs=
while [ $i -gt 0 ]; do
	recs="$recs $i,1,1,1,$((0x10000 + i * 4096)),2,-,$i,0,0"
	i=$((i - 1))
done
# shellcheck disable=SC2086
"$gen" --frames 1000 p.bin $recs || exit 99
runs "report of 200 faults" 0 "$dpemu" trace report p.bin
grep -q '^  zero-fill *200 *1 *100 *180 *198 *200 *100$' out ||
	fail "report of 200 faults: $(grep zero-fill out)"
grep -q '^  all *200 *1 *100 *180 *198 *200 *100$' out || fail "report of 200 faults: all row"
# 3000 pages, each faulted in once into a frame of its own (the page
# table grows from 1024 entries to 8192 on the way), the last one twice.
i=1 recs=
while [ $i -le 3000 ]; do
	recs="$recs $i,1,1,1,$((0x100000 + i * 4096)),2,$((i - 1)),$i,0,0"
	i=$((i + 1))
done
# shellcheck disable=SC2086
"$gen" --frames 4096 big.bin $recs 3001,1,1,7,$((0x100000 + 3000 * 4096)),1,2999,1,0,0 ||
	exit 99
runs "report of 3000 pages" 0 "$dpemu" trace report big.bin
grep -q '^  zero-fill *3000 *1 *1500 *2700 *2970 *3000 *1500$' out ||
	fail "report of 3000 pages: $(grep zero-fill out)"
grep -q '^  peak resident pages *3000$' out || fail "report of 3000 pages: $(grep resident out)"
grep -q '^  peak frames in use *3000 of 4096$' out ||
	fail "report of 3000 pages: $(grep 'frames in' out)"
sed -n '/^top pages/,/^$/p' out | sed -n '3p;4p;12p' >got
printf '%s\n' '  0xcb8000                    1        2' '  0x101000                    1        1' \
	'  0x109000                    1        1' >want
same "top pages of 3000" want got

# Ten: ranks 5, 9 and 10; mean 5 (from 5.5).
"$gen" t.bin 1,1,1,2,0,1,-,10,0,0 2,1,1,2,0,1,-,9,0,0 3,1,1,2,0,1,-,8,0,0 \
	4,1,1,2,0,1,-,7,0,0 5,1,1,2,0,1,-,6,0,0 6,1,1,2,0,1,-,5,0,0 7,1,1,2,0,1,-,4,0,0 \
	8,1,1,2,0,1,-,3,0,0 9,1,1,2,0,1,-,2,0,0 10,1,1,2,0,1,-,1,0,0 || exit 99
runs "report of 10 faults" 0 "$dpemu" trace report t.bin
grep -q '^  file-read *10 *1 *5 *9 *10 *10 *5$' out ||
	fail "report of 10 faults: $(grep file-read out)"

# The resident set: an unmap wider than every page seen (the table is
# scanned) empties it, and so do an evict of a frame that two pages share
# (the second a fork's child's) and a destroy; each would otherwise push
# the peak past 2 pages.  An unresolved fault of an unknown outcome counts
# as such; no lost events, no warning.
#   time,space,tid,event,addr,access,frame,latency,aux,outcome
"$gen" r.bin \
	1,1,1,1,0x1000,2,0,5,0,0 2,1,1,1,0x2000,2,1,5,0,0 \
	3,1,1,14,0x0,0,-,0,0x40000000,0 \
	4,1,1,1,0x3000,2,2,5,0,0 5,1,1,15,0,0,-,0,2,0 6,2,1,8,0x9003000,1,2,5,0,0 \
	7,1,1,10,0x3000,0,2,0,0,0 \
	8,2,1,1,0x9005000,2,1,5,0,0 9,2,1,1,0x9006000,2,3,5,0,0 \
	10,2,1,16,0,0,-,0,0,0 \
	11,3,1,1,0xa000,2,0,5,0,0 12,3,1,1,0xb000,2,1,5,0,0 \
	13,3,1,9,0x9,2,-,5,0,7 || exit 99
runs "report of the resident set" 0 "$dpemu" trace report r.bin
grep -q '^  peak resident pages *2$' out || fail "resident set: $(grep resident out)"
grep -q '^  peak frames in use *2 of 4$' out || fail "resident set: $(grep 'frames in' out)"
grep -q '^    unknown *1$' out || fail "resident set: no unknown outcome: $(grep -A6 unresolved out)"
grep -q '^  events lost *0$' out || fail "resident set: lost events"
[ -s err ] && fail "report without lost events warned: $(cat err)"

# A trace with no records: a report of zeros, an empty export.
"$gen" e.bin || exit 99
runs "report of no records" 0 "$dpemu" trace report e.bin
grep -q '^trace e.bin: version 1, 0 records$' out || fail "report of no records: $(head -1 out)"
grep -q 'duration 0.000000000 s' out || fail "report of no records: duration"
runs "export of no records" 0 "$dpemu" trace export e.bin --csv
[ "$(cat out)" = "time_ns,space,tid,event,addr,access,frame,latency_ns,aux,outcome" ] ||
	fail "CSV export of no records: $(cat out)"
runs "export of no records" 0 "$dpemu" trace export e.bin --json
[ "$(cat out)" = "$(printf '[\n]')" ] || fail "JSON export of no records: $(cat out)"
runs "export of no records" 0 "$dpemu" trace export e.bin --chrome
valid_json "Chrome export of no records" out
runs "report --json of no records" 0 "$dpemu" trace report --json e.bin
valid_json "report --json of no records" out
grep -q '"zero-fill": {"count": 0, "min": null' out || fail "report --json of no records: latency"

# The trace commands create no pool: a DPEMU_TRACE naming the file read
# leaves it alone, a DPEMU_BACKEND the library refuses does not matter.
cp s.bin s.copy
runs "report under DPEMU_TRACE" 0 env DPEMU_TRACE="$tmp/s.bin" DPEMU_BACKEND=bogus \
	"$dpemu" trace report s.bin
cmp -s s.bin s.copy || fail "report under DPEMU_TRACE=FILE changed FILE"

# ------------------------------------------------------------ broken files
refused "missing file" 1 "nothing.bin: No such file or directory" \
	"$dpemu" trace report nothing.bin
refused "a directory" 1 ".: Is a directory" "$dpemu" trace report .
refused "a directory, export" 1 ".: Is a directory" "$dpemu" trace export . --csv
: >empty.bin
refused "empty file" 1 "empty.bin: not a dpemu trace (empty file)" \
	"$dpemu" trace report empty.bin
echo 'time_ns,space,tid,event,addr' >text.bin
refused "not a trace" 1 "text.bin: not a dpemu trace (bad magic)" \
	"$dpemu" trace report text.bin
"$gen" --magic DPEMUTRX m.bin --scenario || exit 99
refused "bad magic" 1 "m.bin: not a dpemu trace (bad magic)" "$dpemu" trace report m.bin
refused "bad magic, export" 1 "m.bin: not a dpemu trace (bad magic)" \
	"$dpemu" trace export m.bin --chrome
"$gen" --cut 30 h.bin || exit 99
refused "short header" 1 "h.bin: truncated header (34 of 64 bytes)" "$dpemu" trace report h.bin
"$gen" --header-bytes 100 --cut 4 h.bin || exit 99
refused "short long header" 1 "h.bin: truncated header (96 of 100 bytes)" \
	"$dpemu" trace report h.bin
# 64 + 35 x 48 = 1744: the 36th record has 43 of its 48 bytes.
"$gen" --cut 5 c.bin --scenario || exit 99
refused "truncated record" 1 "c.bin: truncated record at offset 1744 (43 of 48 bytes)" \
	"$dpemu" trace report c.bin
refused "truncated record, -o" 1 "c.bin: truncated record at offset 1744" \
	"$dpemu" trace report c.bin --json -o c.out
[ -e c.out ] && fail "report of a truncated trace created its -o file"
# ... found while reading, from a pipe.
cat c.bin | "$dpemu" trace report /dev/stdin -o p.out >out 2>err
rc=$?
[ $rc -eq 1 ] || fail "report of a truncated pipe exited $rc, expected 1"
grep -qF "truncated record at offset 1744 (43 of 48 bytes)" err ||
	fail "report of a truncated pipe: $(cat err)"
[ -e p.out ] && fail "report of a truncated pipe created its -o file"
refused "truncated record, export" 1 "c.bin: truncated record at offset 1744" \
	"$dpemu" trace export c.bin --json -o c.out
[ -e c.out ] && fail "export of a truncated trace created its -o file"
# ... found while exporting, from a pipe: what was written is removed.
cat c.bin | "$dpemu" trace export /dev/stdin --csv -o p.out >out 2>err
rc=$?
[ $rc -eq 1 ] || fail "export of a truncated pipe exited $rc, expected 1"
grep -qF "truncated record at offset 1744 (43 of 48 bytes)" err ||
	fail "export of a truncated pipe: $(cat err)"
[ -e p.out ] && fail "export of a truncated pipe left its -o file"
"$gen" --version 2 v.bin || exit 99
refused "version 2" 1 "v.bin: trace version 2, this dpemu reads version 1" \
	"$dpemu" trace report v.bin
"$gen" --header-bytes 32 v.bin || exit 99
refused "header_bytes 32" 1 "bad header_bytes 32 (accepted: 64 to" "$dpemu" trace report v.bin
"$gen" --record-bytes 40 v.bin || exit 99
refused "record_bytes 40" 1 "bad record_bytes 40 (accepted: 48 to" "$dpemu" trace report v.bin
"$gen" --page-size 3000 v.bin || exit 99
refused "page size 3000" 1 "bad page size 3000 (not a power of two)" \
	"$dpemu" trace report v.bin

# ------------------------------------------------------------ usage errors
refused "trace" 2 "Usage: dpemu trace report" "$dpemu" trace
refused "trace bogus" 2 "unknown subcommand 'bogus'" "$dpemu" trace bogus
refused "trace --help extra" 2 "unexpected argument 'extra'" "$dpemu" trace --help extra
refused "report" 2 "no trace file given" "$dpemu" trace report
refused "report extra" 2 "unexpected argument 'extra'" "$dpemu" trace report s.bin extra
refused "report --bogus" 2 "unknown option '--bogus'" "$dpemu" trace report s.bin --bogus
refused "report -x" 2 "unknown option '-x'" "$dpemu" trace report -x s.bin
refused "report --csv" 2 "unknown option '--csv'" "$dpemu" trace report --csv s.bin
refused "report --json=1" 2 "unknown option '--json=1'" "$dpemu" trace report --json=1 s.bin
refused "report -o" 2 "option '-o' needs a file" "$dpemu" trace report s.bin -o
refused "export" 2 "say which of --csv, --json and --chrome" "$dpemu" trace export s.bin
refused "export --csv --json" 2 "only one of --csv, --json and --chrome" \
	"$dpemu" trace export s.bin --csv --json
refused "export extra" 2 "unexpected argument 'extra'" "$dpemu" trace export s.bin extra --csv
refused "export --bogus" 2 "unknown option '--bogus'" "$dpemu" trace export --bogus s.bin --csv
# An output that cannot be written is refused before the trace is read
# (even a missing one), and nothing is created.
refused "report -o no/such/dir" 2 "-o no/such/dir/x.txt: No such file or directory" \
	"$dpemu" trace report nothing.bin -o no/such/dir/x.txt
refused "export -o no/such/dir" 2 "-o no/such/dir/x.csv: No such file or directory" \
	"$dpemu" trace export nothing.bin --csv -o no/such/dir/x.csv
refused "report -o DIRECTORY" 2 "-o .: Is a directory" "$dpemu" trace report s.bin -o .
[ -e no ] && fail "a refused -o created something"
cp s.bin self.bin
refused "report -o FILE" 2 "-o ./self.bin: that is the trace itself" \
	"$dpemu" trace report self.bin -o ./self.bin
cmp -s s.bin self.bin || fail "report -o FILE changed FILE"
refused "export -o FILE" 2 "-o ./self.bin: that is the trace itself" \
	"$dpemu" trace export self.bin --csv -o ./self.bin
cmp -s s.bin self.bin || fail "export -o FILE changed FILE"
if [ "$(id -u)" -ne 0 ]; then
	: >ro.txt
	chmod a-w ro.txt
	refused "report -o read-only" 2 "-o ro.txt: Permission denied" \
		"$dpemu" trace report s.bin -o ro.txt
fi
# A failed write is a failure (exit 1), not a usage error.
if [ -w /dev/full ]; then
	"$dpemu" trace report s.bin >/dev/full 2>err
	rc=$?
	[ $rc -eq 1 ] || fail "report onto /dev/full exited $rc, expected 1"
	grep -q 'write error' err || fail "report onto /dev/full: $(cat err)"
	"$dpemu" trace export s.bin --csv >/dev/full 2>err
	rc=$?
	[ $rc -eq 1 ] || fail "export onto /dev/full exited $rc, expected 1"
	grep -q 'write error' err || fail "export onto /dev/full: $(cat err)"
fi

# ------------------------------------------------------------ help
runs "trace --help" 0 "$dpemu" trace --help
grep -q '^Usage: dpemu trace report' out || fail "trace --help: no usage"
grep -q 'dpemu trace export' out || fail "trace --help does not name export"
runs "report --help" 0 "$dpemu" trace report --help
grep -q '^Usage: dpemu trace report FILE' out || fail "report --help: no usage"
for opt in --json --output; do
	grep -q -- "$opt" out || fail "report --help does not list $opt"
done
runs "export --help" 0 "$dpemu" trace export --help
grep -q '^Usage: dpemu trace export FILE' out || fail "export --help: no usage"
for opt in --csv --json --chrome --sort --output; do
	grep -q -- "$opt" out || fail "export --help does not list $opt"
done
runs "dpemu --help" 0 "$dpemu" --help
grep -q 'trace report' out || fail "dpemu --help does not mention trace report"
grep -q 'trace export' out || fail "dpemu --help does not mention trace export"

if [ $failures -ne 0 ]; then
	echo "test-trace-cli: $failures failure(s)" >&2
	exit 1
fi
echo "test-trace-cli: all checks passed"
exit 0
