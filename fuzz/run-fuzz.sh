#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the libFuzzer harness (fuzz/fuzz_api, built by `make fuzz`) for
# FUZZ_SECONDS per backend, starting from the seed corpus.  Fails on any
# mismatch, crash, leak or hang (an input running over 10 s).  Called by
# `make fuzz`; environment:
#   FUZZ         the fuzzer binary                    (fuzz/fuzz_api)
#   FUZZ_CORPUS  the seed corpus                      ($srcdir/fuzz/corpus)
#   FUZZ_OUT     working corpora, crashes and logs    (fuzz-out)
#   FUZZ_SECONDS seconds per backend                  (60)
#   FUZZ_BACKENDS                                     (sigsegv uffd uffd-sigbus)
#   DPEMU        the dpemu tool, to skip a backend the kernel refuses
# The summary (runs and operations per backend) goes to $FUZZ_OUT/fuzz.log.
fuzz="${FUZZ:-fuzz/fuzz_api}"
corpus="${FUZZ_CORPUS:-fuzz/corpus}"
out="${FUZZ_OUT:-fuzz-out}"
secs="${FUZZ_SECONDS:-60}"
dpemu="${DPEMU:-./dpemu}"
mkdir -p "$out" || exit 1
log="$out/fuzz.log"
status=0
echo "== make fuzz: $(date -u '+%Y-%m-%d %H:%M:%S') $secs s per backend" >> "$log"
for b in ${FUZZ_BACKENDS:-sigsegv uffd uffd-sigbus}; do
	if ! why=$("$dpemu" backends "$b" 2>&1); then
		echo "fuzz: SKIP backend $b: $why" | tee -a "$log"
		continue
	fi
	mkdir -p "$out/corpus-$b"
	echo "fuzz: backend $b for $secs s (log: $out/$b.log)"
	# libFuzzer must leave SIGSEGV and SIGBUS to dpemu, and so must ASan.
	DPEMU_BACKEND=$b \
	ASAN_OPTIONS=allow_user_segv_handler=1:handle_segv=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1 \
	timeout $((secs + 300)) "$fuzz" -handle_segv=0 -handle_bus=0 -timeout=10 \
		-max_len=512 -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/crash-$b-" "$out/corpus-$b" "$corpus" \
		> "$out/$b.log" 2>&1
	rc=$?
	runs=$(sed -n "s/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p" "$out/$b.log" | tail -1)
	ops=$(sed -n 's/^fuzz_api: \([0-9]*\) sequences, \([0-9]*\) operations.*/\2/p' "$out/$b.log" | tail -1)
	line="fuzz: backend $b: ${runs:-?} runs (sequences), ${ops:-?} operations, exit $rc"
	echo "$line" | tee -a "$log"
	if [ $rc -ne 0 ]; then
		status=1
		grep -E 'MISMATCH|ERROR|SUMMARY|Test unit written|timeout' "$out/$b.log" | head -20
		tail -40 "$out/$b.log"
	fi
done
[ $status -eq 0 ] && echo "fuzz: no mismatch, crash or hang" | tee -a "$log"
exit $status
