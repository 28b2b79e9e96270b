#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-spdx.sh - every source file of the project names its licence: an
# SPDX-License-Identifier line at the very top (the second line after a
# "#!" line; a roff comment on line 1 of a man page).
#
# Looks at the files in $top_srcdir (the tree or a distribution tarball):
# C sources and headers (the tool's and the fuzzer's too), the shell and
# Python scripts, the build files, the man pages, the labs' sources and checks.  A new file in one of these places must carry the line too.
# Exit 0 when all do; 1 naming those that do not.

srcdir=${top_srcdir:-.}
line='SPDX-License-Identifier: GPL-2.0-or-later'
missing=0
checked=0

for f in "$srcdir"/src/*.h "$srcdir"/src/*/*.c "$srcdir"/src/*/*.h "$srcdir"/include/*.h \
	"$srcdir"/bench/*.c "$srcdir"/bench/*.h \
	"$srcdir"/tools/*/*.c "$srcdir"/tools/*/*.h "$srcdir"/tools/*.sh "$srcdir"/tools/*.[ch] \
	"$srcdir"/tests/*.c "$srcdir"/tests/*.cc "$srcdir"/tests/*.h "$srcdir"/tests/*.sh \
	"$srcdir"/tests/each-backend "$srcdir"/bootstrap "$srcdir"/.ci/run \
	"$srcdir"/fuzz/*.c "$srcdir"/fuzz/*.sh "$srcdir"/fuzz/*.py \
	"$srcdir"/configure.ac "$srcdir"/Makefile.am "$srcdir"/dpemu.pc.in \
	"$srcdir"/doc/*.[1-8] "$srcdir"/doc/labs/src/*.c "$srcdir"/doc/labs/*.check "$srcdir"/doc/policies/*.c; do
	[ -f "$f" ] || continue
	checked=$((checked + 1))
	first=$(sed -n 1p "$f")
	case $first in
	'#!'*) top=$(sed -n 2p "$f") ;;
	*) top=$first ;;
	esac
	case $top in
	*"$line"*) ;;
	*)
		echo "check-spdx: $f: no '$line' at the top" >&2
		missing=$((missing + 1))
		;;
	esac
done

if [ $checked -eq 0 ]; then
	echo "check-spdx: no source files under $srcdir" >&2
	exit 99
fi
if [ $missing -ne 0 ]; then
	echo "check-spdx: $missing of $checked file(s) lack the licence line" >&2
	exit 1
fi
echo "check-spdx: $checked files carry the licence line"
exit 0
