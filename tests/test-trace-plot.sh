#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-trace-plot.sh - `dpemu trace plot`: the SVG of tests/gen_trace's
# scenario (well-formed XML, its title and totals, a dot per fault of
# each kind, the panels --what selects); a trace of 30000 faults drawn as
# at most 20000 cells; a pipe read like the file; real traces, of
# tests/walk_matrix (a matrix walked by rows then by columns under a
# small CLOCK pool) and of `dpemu demo` under DPEMU_TRACE; refusals (exit
# 1 and 2).  Every SVG is rendered with rsvg-convert where it is
# installed (Debian: librsvg2-bin), and parsed as XML with python3 where
# that is.
#
# Uses $DPEMU, $GEN_TRACE and $WALK_MATRIX (set by the Makefile's
# TESTS_ENVIRONMENT), else the programs under $top_builddir.

builddir=${top_builddir:-.}
dpemu=${DPEMU:-$builddir/dpemu}
gen=${GEN_TRACE:-$builddir/tests/gen_trace}
walk=${WALK_MATRIX:-$builddir/tests/walk_matrix}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-plot.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

for p in "$dpemu" "$gen" "$walk"; do
	if [ ! -x "$p" ]; then
		echo "test-trace-plot: $p is not an executable" >&2
		exit 99
	fi
done
case $dpemu in /*) ;; *) dpemu=$(pwd)/$dpemu ;; esac
case $gen in /*) ;; *) gen=$(pwd)/$gen ;; esac
case $walk in /*) ;; *) walk=$(pwd)/$walk ;; esac
cd "$tmp" || exit 99

if command -v rsvg-convert >/dev/null 2>&1; then
	rsvg=yes
else
	rsvg=no
	echo "test-trace-plot: rsvg-convert not installed: the SVGs are not rendered"
fi

# runs NAME STATUS CMD...: CMD exits with STATUS; its output in out, err.
runs() {
	name=$1 want=$2
	shift 2
	"$@" >out 2>err
	rc=$?
	[ $rc -eq "$want" ] || fail "$name: exited $rc, expected $want: $(head -3 err)"
}

# svg_ok NAME FILE: FILE is an SVG document, well-formed, and renders.
svg_ok() {
	head -2 "$2" | grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' ||
		fail "$1: not an SVG: $(head -2 "$2")"
	tail -1 "$2" | grep -qx '</svg>' || fail "$1: does not end with </svg>"
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$2" \
			2>"$tmp/xml.err" || fail "$1: not well-formed XML: $(tail -1 "$tmp/xml.err")"
	fi
	if [ $rsvg = yes ]; then
		rsvg-convert -o "$2.png" "$2" 2>"$tmp/rsvg.err" ||
			fail "$1: rsvg-convert failed: $(cat "$tmp/rsvg.err")"
		[ -s "$2.png" ] || fail "$1: rsvg-convert wrote no PNG"
	fi
}

# dots FILE KIND: the dots of fault kind KIND in the pattern of FILE (one
# "M x y" segment each, in the paths of class "dots KIND").
dots() {
	grep -o "<path class=\"dots $2\"[^>]*>" "$1" | grep -o 'M' | wc -l | tr -d ' '
}

# ------------------------------------------------------------ the scenario
"$gen" s.bin --scenario || exit 99
runs "plot" 0 "$dpemu" trace plot s.bin -o s.svg
[ -s out ] && fail "plot -o wrote on stdout"
grep -qF 'warning: s.bin: 7 events lost' err || fail "plot: no warning of lost events: $(cat err)"
svg_ok "plot of the scenario" s.svg
grep -qF 'dpemu trace plot: s.bin</text>' s.svg || fail "plot: the title does not name the file"
grep -qF '36 records' s.svg || fail "plot: no record count in the title"
grep -qF '19 faults, 4 evictions, 2 swap-outs, 1 write-backs, 2 maps, 2 unmaps, 1 forks, 2 destroys' \
	s.svg || fail "plot: the totals: $(grep -o '[0-9]* faults, [^<]*' s.svg)"
grep -qF '7 events lost' s.svg || fail "plot: the lost events are not in the picture"
grep -qF 'peak 6 resident pages in 4 frames' s.svg || fail "plot: the peak resident set"
# a dot per fault, of each kind (tests/gen_trace.c's table), three bands
for kd in zero-fill:4 file-read:2 cow-copy:2 cow-reuse:1 swap-in:1 zero-map:1 reference:2 \
	tlb-miss:2 unresolved:4; do
	k=${kd%:*} n=${kd#*:}
	[ "$(dots s.svg "$k")" -eq "$n" ] || fail "plot: $(dots s.svg "$k") dots of $k, expected $n"
	grep -q "<g class=\"hist $k\"" s.svg || fail "plot: no latency histogram of $k"
	grep -q "<g class=\"bars $k\"" s.svg || fail "plot: no bars of $k per interval"
done
grep -qF 'a dot per fault (19)' s.svg || fail "plot: the pattern's heading"
for sp in 'space 1: 11 faults' 'space 2: 5 faults' 'space 3: 3 faults'; do
	grep -qF "$sp" s.svg || fail "plot: no band '$sp'"
done
# standard output by default; the same picture
runs "plot to stdout" 0 "$dpemu" trace plot s.bin
cmp -s out s.svg || fail "plot to standard output differs from plot -o"
# a pipe is read like the file (held in memory)
cat s.bin | "$dpemu" trace plot /dev/stdin >p.svg 2>/dev/null || fail "plot of a pipe failed"
sed 's|plot: /dev/stdin<|plot: s.bin<|' p.svg | cmp -s - s.svg || fail "plot of a pipe differs"

# --what: the panels asked for, in their order
for w in pattern resident latency; do
	runs "plot --what $w" 0 "$dpemu" trace plot --what $w s.bin -o $w.svg
	svg_ok "plot --what $w" $w.svg
done
grep -q 'Reference pattern' pattern.svg || fail "--what pattern: no pattern"
grep -q 'Resident set\|Fault latency' pattern.svg && fail "--what pattern: other panels drawn"
grep -q 'Resident set' resident.svg || fail "--what resident: no resident set"
grep -q 'Reference pattern\|Fault latency' resident.svg && fail "--what resident: other panels"
grep -q 'Fault latency' latency.svg || fail "--what latency: no histograms"
grep -q 'Reference pattern\|Resident set' latency.svg && fail "--what latency: other panels"
runs "plot --what=latency,pattern" 0 "$dpemu" trace plot --what=latency,pattern s.bin
grep -q 'Reference pattern' out && grep -q 'Fault latency' out && ! grep -q 'Resident set' out ||
	fail "--what=latency,pattern: the wrong panels"
runs "plot --what all" 0 "$dpemu" trace plot --what all s.bin
cmp -s out s.svg || fail "--what all differs from the default"

# ------------------------------------------------------------ a large trace
# 30000 faults: more than 20000, so the pattern is drawn as cells, at most
# 20000 of them (one path segment each), and the file stays small.
"$gen" --frames 64 w.bin --walk 30000 || exit 99
runs "plot of 30000 faults" 0 "$dpemu" trace plot w.bin -o w.svg
svg_ok "plot of 30000 faults" w.svg
grep -q 'class="dots' w.svg && fail "plot of 30000 faults: drawn as dots"
cells=$(grep -o '<path class="cells [^>]*>' w.svg | grep -o 'M' | wc -l | tr -d ' ')
said=$(sed -n 's/.*30000 faults drawn as \([0-9]*\) cells of .*/\1/p' w.svg)
[ -n "$said" ] && [ "$cells" -eq "$said" ] && [ "$cells" -le 20000 ] && [ "$cells" -gt 1000 ] ||
	fail "plot of 30000 faults: $cells cells drawn, the heading says '$said'"
grep -q 'class="cells swap-in"' w.svg || fail "plot of 30000 faults: the swap-ins are lost"
size=$(wc -c <w.svg)
[ "$size" -lt 1500000 ] || fail "plot of 30000 faults: $size bytes"

# ------------------------------------------------------------ real traces
# A matrix written by rows (256 zero-fills), read by 8 columns and by rows
# again under a CLOCK pool of 64 frames (swap-ins).
runs "walk_matrix" 0 "$walk" m.trc 256 64 8
faults=$(sed -n 's/^faults //p' out)
runs "plot of walk_matrix" 0 "$dpemu" trace plot m.trc -o m.svg
svg_ok "plot of walk_matrix" m.svg
grep -qF "$faults faults, " m.svg || fail "plot of walk_matrix: not $faults faults in the title"
[ "$(dots m.svg zero-fill)" -eq 256 ] || fail "plot of walk_matrix: $(dots m.svg zero-fill) zero-fills"
"$dpemu" trace report m.trc >r.txt || fail "report of walk_matrix failed"
swapins=$(awk '$1 == "swap-in" { print $2; exit }' r.txt)
[ "$(dots m.svg swap-in)" -eq "$swapins" ] ||
	fail "plot of walk_matrix: $(dots m.svg swap-in) swap-in dots, the report says $swapins"
grep -qF "the pool's 64 frames" m.svg || fail "plot of walk_matrix: no line of the pool's frames"
# The demo's two pools.
DPEMU_TRACE="$tmp/d.trc" "$dpemu" demo >/dev/null 2>err || fail "demo under DPEMU_TRACE: $(cat err)"
for t in d.trc d.trc.1; do
	runs "plot of the demo's $t" 0 "$dpemu" trace plot $t -o $t.svg
	svg_ok "plot of the demo's $t" $t.svg
done
[ "$(dots d.trc.1.svg zero-fill)" -eq 4 ] && [ "$(dots d.trc.1.svg swap-in)" -eq 1 ] ||
	fail "plot of the demo's CLOCK scene: the wrong dots"

# ------------------------------------------------------------ no records
"$gen" e.bin || exit 99
runs "plot of no records" 0 "$dpemu" trace plot e.bin -o e.svg
svg_ok "plot of no records" e.svg
grep -q 'no faults' e.svg || fail "plot of no records: says nothing of it"

# ------------------------------------------------------------ refusals
runs "plot of a missing file" 1 "$dpemu" trace plot nothing.bin -o x.svg
grep -qF 'nothing.bin: No such file or directory' err || fail "plot of a missing file: $(cat err)"
"$gen" --cut 5 c.bin --scenario || exit 99
runs "plot of a truncated trace" 1 "$dpemu" trace plot c.bin -o c.svg
grep -qF 'truncated record at offset 1744' err || fail "plot of a truncated trace: $(cat err)"
[ -e c.svg ] && fail "plot of a truncated trace created its -o file"
[ -e x.svg ] && fail "plot of a missing file created its -o file"
runs "plot --what bogus" 2 "$dpemu" trace plot s.bin --what bogus
grep -qF "bad --what 'bogus'" err || fail "plot --what bogus: $(cat err)"
runs "plot --what pattern,," 2 "$dpemu" trace plot s.bin --what pattern,,
runs "plot --what" 2 "$dpemu" trace plot s.bin --what
grep -qF "option '--what' needs a value" err || fail "plot --what: $(cat err)"
runs "plot -o" 2 "$dpemu" trace plot s.bin -o
grep -qF "option '-o' needs a file" err || fail "plot -o: $(cat err)"
runs "plot" 2 "$dpemu" trace plot
grep -qF 'no trace file given' err || fail "plot without a file: $(cat err)"
runs "plot --csv" 2 "$dpemu" trace plot s.bin --csv
runs "plot -o FILE" 2 "$dpemu" trace plot s.bin -o ./s.bin
grep -qF 'that is the trace itself' err || fail "plot -o FILE: $(cat err)"
if [ -w /dev/full ]; then
	"$dpemu" trace plot s.bin >/dev/full 2>err
	[ $? -eq 1 ] && grep -q 'write error' err || fail "plot onto /dev/full: $(cat err)"
fi

# ------------------------------------------------------------ help
runs "plot --help" 0 "$dpemu" trace plot --help
grep -q '^Usage: dpemu trace plot FILE' out || fail "plot --help: no usage"
for opt in --what --output pattern resident latency 20000; do
	grep -q -- "$opt" out || fail "plot --help does not mention $opt"
done
runs "trace --help" 0 "$dpemu" trace --help
grep -q 'dpemu trace plot' out || fail "trace --help does not name plot"
runs "dpemu --help" 0 "$dpemu" --help
grep -q 'trace plot' out || fail "dpemu --help does not mention trace plot"

if [ $failures -ne 0 ]; then
	echo "test-trace-plot: $failures failure(s)" >&2
	exit 1
fi
echo "test-trace-plot: all checks passed"
exit 0
