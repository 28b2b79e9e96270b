#!/bin/sh
# The fuzzer's seed corpus (and the crashes it found, kept there as
# regression cases) as a test: tests/fuzz_replay runs every input of
# fuzz/corpus through the harness, under every backend.
exec $SHELL "$top_srcdir/tests/each-backend" "$top_builddir/tests/fuzz_replay" \
	"$top_srcdir/fuzz/corpus"
