#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-layers.sh - the library's import graph, from its object files, and
# the check that it only goes down.
#
# Every file includes internal.h, so #include lines say nothing about who
# uses whom; the object files do: an undefined symbol of a.o that b.o
# defines is an edge a -> b.  LIB_C lists the sources in layer order, top
# to bottom (Makefile.am); a file may call a file listed after it in its own
# folder, or any file of a folder below it (the rule at the top of
# src/internal.h).  Anything else is an upward edge, and fails - except
# the upcalls named in UPCALLS below, each justified at the top of
# src/internal.h.
#
# Usage: LIB_C="src/api/pool.c ..." check-layers.sh [--graph] [OBJDIR]
#   --graph  print every edge with the symbols it uses, layer by layer
#   OBJDIR   the build tree holding src/<layer>/libdpemu_la-<file>.o
#            ($top_builddir, else .)
# Exit 0 when every edge goes down, 1 naming those that do not.
set -u
graph=0
if [ "${1:-}" = --graph ]; then graph=1; shift; fi
objdir=${1:-${top_builddir:-.}}
: "${LIB_C:?LIB_C not set: the library sources in layer order (Makefile.am)}"
command -v nm >/dev/null 2>&1 || { echo "check-layers.sh: needs nm (binutils)"; exit 77; }

# "from -> to: symbol", one per line: the upcalls internal.h justifies.
UPCALLS='mem/frames -> store/swap: swap_cache_release'

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
rank=0 layer_rank=0 prev_layer=
for src in $LIB_C; do
	layer=$(basename "$(dirname "$src")")
	[ "$layer" = "$prev_layer" ] || layer_rank=$((layer_rank + 1))
	prev_layer=$layer
	rank=$((rank + 1))
	name=$(basename "$src" .c)
	obj="$objdir/$(dirname "$src")/libdpemu_la-$name.o"
	[ -f "$obj" ] || obj="$objdir/$(dirname "$src")/.libs/libdpemu_la-$name.o"
	[ -f "$obj" ] || { echo "check-layers.sh: no object for $src in $objdir (build first)"; exit 2; }
	echo "$layer/$name $layer_rank $rank" >> "$tmp/files"
	nm -g --defined-only "$obj" | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/$layer.$name.def"
	nm -u "$obj" | awk '{ print $2 }' | sort -u > "$tmp/$layer.$name.und"
done

bad=0
while read -r a alayer arank; do
	while read -r b blayer brank; do
		[ "$a" = "$b" ] && continue
		syms=$(comm -12 "$tmp/$(echo "$a" | tr / .).und" "$tmp/$(echo "$b" | tr / .).def" |
		       sed 's/^_dpemu_//' | tr '\n' ' ')
		[ -n "$syms" ] || continue
		if [ "$blayer" -gt "$alayer" ] || { [ "$blayer" = "$alayer" ] && [ "$brank" -gt "$arank" ]; }; then
			[ $graph = 1 ] && echo "  $a -> $b: $syms"
		elif printf '%s\n' "$UPCALLS" | grep -qxF "$a -> $b: ${syms% }"; then
			[ $graph = 1 ] && echo "  $a -> $b: $syms(the named upcall)"
		else
			echo "UPWARD $a -> $b: $syms(a call up the layers: see src/internal.h)"
			bad=1
		fi
	done < "$tmp/files"
done < "$tmp/files"
if [ $bad = 0 ]; then
	echo "check-layers.sh: every call goes down but the named upcall ($(wc -l < "$tmp/files") files, layers:" \
	     "$(awk '{ split($1, p, "/"); if (p[1] != l) printf "%s%s", (l ? " > " : ""), p[1]; l = p[1] }' "$tmp/files"))"
fi
exit $bad
