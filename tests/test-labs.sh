#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-labs.sh - every lab handout of doc/labs/ still does what it says:
# for each doc/labs/NN-*.md, in a scratch directory holding a copy of
# doc/labs/src/, run the "$ " commands of its ```sh blocks in order (a
# trailing "\" continues a command), each under `bash -c` and a timeout,
# the k-th one's stdout+stderr in out/k and its exit status in out/k.rc;
# then run the lab's NN-*.check there, which asserts the shape of the
# answers the handout promises (the format: doc/labs/README.md).
#
# The commands are what an installed user types: `dpemu` is the build's
# tool (first on PATH), `pkg-config --cflags --libs dpemu` answers with
# the build tree's flags (a shim first on PATH; LD_LIBRARY_PATH names the
# build's .libs) and dpemu run finds the build's preload library.
#
# Uses $top_srcdir, $top_builddir, $DPEMU, $CC (the Makefile's
# TESTS_ENVIRONMENT), all defaulting to the current directory's.  Exit 77
# (skip) when the preload library was not built (no mimalloc): labs 3
# and 4 need dpemu run.  LAB_TIMEOUT: seconds per command (default 120).

src=${top_srcdir:-.}
b=${top_builddir:-.}
srcabs=$(cd "$src" && pwd) || exit 99
babs=$(cd "$b" && pwd) || exit 99
dpemu=${DPEMU:-$babs/dpemu}
case $dpemu in /*) ;; *) dpemu=$PWD/$dpemu ;; esac
preload=${DPEMU_RUN_PRELOAD:-$babs/.libs/libdpemu-run.so}
case $preload in /*) ;; *) preload=$PWD/$preload ;; esac
limit=${LAB_TIMEOUT:-120}

if [ ! -f "$preload" ]; then
	echo "test-labs: $preload was not built (mimalloc missing?); skipping"
	exit 77
fi
if [ ! -f "$babs/.libs/libdpemu.so" ]; then
	echo "test-labs: $babs/.libs/libdpemu.so was not built (--disable-shared?); skipping"
	exit 77
fi
export DPEMU_RUN_PRELOAD="$preload"
set -- "$srcabs"/doc/labs/[0-9][0-9]-*.md
if [ ! -f "$1" ]; then
	echo "test-labs: no lab under $srcabs/doc/labs" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpemu-labs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" || exit 99
ln -s "$dpemu" "$tmp/bin/dpemu" || exit 99
# cc: the compiler the build uses, as a student's cc.
if [ -n "$CC" ]; then
	printf '#!/bin/sh\nexec %s "$@"\n' "$CC" >"$tmp/bin/cc"
	chmod +x "$tmp/bin/cc"
fi
cat >"$tmp/bin/pkg-config" <<EOF
#!/bin/sh
# pkg-config for dpemu only, with the build tree's flags.
cflags= libs= want=
for a in "\$@"; do
	case \$a in
	--cflags) cflags=1 ;;
	--libs) libs=1 ;;
	--exists) ;;
	dpemu) want=1 ;;
	*) echo "pkg-config (test-labs shim): \$a: not dpemu" >&2; exit 1 ;;
	esac
done
[ -n "\$want" ] || exit 1
out=
[ -n "\$cflags" ] && out="-I$srcabs/include"
[ -n "\$libs" ] && out="\$out -L$babs/.libs -ldpemu"
echo \$out
EOF
chmod +x "$tmp/bin/pkg-config"
export PATH="$tmp/bin:$PATH"
export LD_LIBRARY_PATH="$babs/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# commands FILE DIR: write the "$ " commands of FILE's ```sh blocks
# into DIR/1, DIR/2, ... (a command continued by "\" keeps its lines);
# print how many.
commands() {
	awk -v dir="$2" '
	/^```sh[ \t]*$/ { insh = 1; next }
	/^```/ { insh = 0; cont = 0; next }
	!insh { next }
	cont { print >> f; cont = /\\$/; next }
	/^\$ / { n++; f = dir "/" n; print substr($0, 3) > f; cont = /\\$/ }
	END { for (i = 1; i <= n; i++) close(dir "/" i); print n + 0 }
	' "$1"
}

failed=0
for md in "$@"; do
	name=$(basename "$md" .md)
	check=${md%.md}.check
	dir=$tmp/$name
	mkdir -p "$dir/out" || exit 99
	if [ -d "$srcabs/doc/labs/src" ]; then
		cp -R "$srcabs"/doc/labs/src/. "$dir"/ || exit 99
	fi
	mkdir "$dir/tmpdir" || exit 99
	mkdir "$dir.cmd" || exit 99
	n=$(commands "$md" "$dir.cmd") || exit 99
	k=0
	bad=
	while [ $k -lt "$n" ]; do
		k=$((k + 1))
		(cd "$dir" && TMPDIR="$dir/tmpdir" timeout "$limit" bash -c "$(cat "$dir.cmd/$k")") \
			>"$dir/out/$k" 2>&1 </dev/null
		echo $? >"$dir/out/$k.rc"
		if [ "$(cat "$dir/out/$k.rc")" = 124 ]; then
			bad="command $k timed out after $limit s: $(cat "$dir.cmd/$k")"
			break
		fi
	done
	if [ $k -eq 0 ]; then
		bad="no \$ command in a \`\`\`sh block"
	elif [ -z "$bad" ] && [ ! -f "$check" ]; then
		bad="$check is missing"
	elif [ -z "$bad" ]; then
		msg=$(cd "$dir" && bash "$check" 2>&1)
		[ $? -eq 0 ] || bad="$msg"
	fi
	if [ -n "$bad" ]; then
		echo "FAIL: $name: $bad"
		for f in "$dir"/out/[0-9]*; do
			case $f in *.rc) continue ;; esac
			n=${f##*/}
			if [ "$(cat "$f.rc")" != 0 ]; then
				echo "  command $n exited $(cat "$f.rc"); its output:"
				tail -20 "$f" | sed 's/^/    /'
			fi
		done
		failed=$((failed + 1))
	else
		echo "PASS: $name ($k commands)"
	fi
done
[ $failed -eq 0 ] || { echo "test-labs: $failed lab(s) failed"; exit 1; }
exit 0
