#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# longest-functions.sh - print the N longest C functions below the given
# directories (or of the given files), longest first, one a line:
#
#	LINES  FILE:LINE  NAME
#
# LINES counts the body from its opening '{' to its closing '}', both
# included; FILE:LINE is where the function's name stands.  The C is read
# as text, in the kernel style this project keeps: a function's body opens
# with '{' at column 0 and closes with '}' at column 0, and its name is on
# the last line before the body that starts at column 0 and holds a '('.
# A '{' at column 0 after a line with '=' (an initialiser) is not a body.
#
# Usage: tools/longest-functions.sh [-n N] [DIR|FILE]...
#	-n N	how many to print (default 20; 0: all)
#	no DIR	the current directory
# Needs only a POSIX shell, find, awk and sort.  Exit 0; 2 on a bad call.

n=20
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || { echo "$0: -n needs a number" >&2; exit 2; }
	    n=$2; shift 2 ;;
	-n*) n=${1#-n}; shift ;;
	-h|--help) sed -n '3,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "$0: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
case $n in
''|*[!0-9]*) echo "$0: -n takes a whole number, not '$n'" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- .

for p in "$@"; do
	if [ ! -e "$p" ]; then
		echo "$0: no such file or directory: $p" >&2
		exit 2
	fi
done

find "$@" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort |
while IFS= read -r f; do
	awk '
	# sig: the last column-0 line with a "(" since the previous body
	# or declaration; body: the line of the open "{" while in a body.
	FNR == 1 { sig = ""; body = 0 }
	body == 0 && /^[A-Za-z_]/ && index($0, "(") { sig = $0; sigline = FNR; next }
	body == 0 && /^[A-Za-z_]/ && /;[ \t]*$/ { sig = ""; next }
	body == 0 && /^\{/ {
		if (sig != "" && index(substr(sig, 1, index(sig, "(")), "=") == 0) {
			body = FNR
			if (match(sig, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/))
				name = substr(sig, RSTART, RLENGTH)
			else
				name = sig
			sub(/[ \t]*\($/, "", name)
		}
		next
	}
	body > 0 && /^\}/ {
		printf "%d\t%s:%d\t%s\n", FNR - body + 1, FILENAME, sigline, name
		body = 0
		sig = ""
	}
	' "$f"
done | LC_ALL=C sort -t "$(printf '\t')" -k1,1nr -k2,2 |
if [ "$n" -gt 0 ]; then head -n "$n"; else cat; fi |
awk -F '\t' '{ printf "%5d  %-36s %s\n", $1, $2, $3 }'
