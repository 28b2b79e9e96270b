#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-symbols.sh - libdpemu exports only the names of dpemu.h.
#
# The shared library ($LIBDPEMU, else $top_builddir/.libs/libdpemu.so) may
# export only names that start with dpemu_.  The static archive
# ($LIBDPEMU_A, else $top_builddir/.libs/libdpemu.a) cannot hide anything,
# so every global symbol it defines must start with dpemu_ (the API) or
# _dpemu_ (the reserved prefix of internals, src/internal.h).  Both are
# checked when they were built; with --disable-shared the archive is the
# only library.  Exit 77 (skip) when neither is there; 1 with the
# offending names when anything else is exported.

so=${LIBDPEMU:-${top_builddir:-.}/.libs/libdpemu.so}
a=${LIBDPEMU_A:-$(dirname "$so")/libdpemu.a}

if ! command -v nm >/dev/null 2>&1; then
	echo "check-symbols: nm not found; skipping" >&2
	exit 77
fi
if [ ! -f "$so" ] && [ ! -f "$a" ]; then
	echo "check-symbols: neither $so nor $a found; skipping" >&2
	exit 77
fi

# check LIB KIND SYMS PATTERN: SYMS (one a line) all match PATTERN and
# hold every public function of dpemu.h.
check() {
	lib=$1 kind=$2 syms=$3 pattern=$4
	if [ -z "$syms" ]; then
		echo "check-symbols: nm listed nothing defined in $lib" >&2
		return 1
	fi
	bad=$(printf '%s\n' "$syms" | grep -Ev "$pattern")
	if [ -n "$bad" ]; then
		echo "check-symbols: $lib ($kind) defines global symbols outside $pattern:" >&2
		printf '  %s\n' $bad >&2
		return 1
	fi
	# dpemu_ is the API's prefix: nothing else may wear it.
	if [ -n "$api" ]; then
		bad=$(printf '%s\n' "$syms" | grep '^dpemu_' | grep -vxF "$api")
		if [ -n "$bad" ]; then
			echo "check-symbols: $lib ($kind) defines dpemu_ names that dpemu.h does" \
			     "not declare (internals take _dpemu_, src/internal.h):" >&2
			printf '  %s\n' $bad >&2
			return 1
		fi
	fi
	missing=
	for f in dpemu_version dpemu_strerror dpemu_last_error \
		dpemu_pool_create dpemu_pool_destroy dpemu_pool_stats \
		dpemu_space_create dpemu_space_destroy dpemu_space_base \
		dpemu_space_size dpemu_space_backend dpemu_space_pool \
		dpemu_map dpemu_unmap dpemu_protect dpemu_sync \
		dpemu_space_stats dpemu_query dpemu_catch dpemu_fault_kind_name \
		dpemu_space_fork dpemu_prefault dpemu_read \
		dpemu_policy_name dpemu_event_name dpemu_space_latency \
		dpemu_space_latency_kind dpemu_trace_start dpemu_trace_stop; do
		printf '%s\n' "$syms" | grep -qx "$f" || missing="$missing $f"
	done
	if [ -n "$missing" ]; then
		echo "check-symbols: $lib ($kind) does not define:$missing" >&2
		return 1
	fi
	echo "check-symbols: $lib ($kind): $(printf '%s\n' "$syms" | wc -l) symbols, all $pattern"
}

# The names dpemu.h declares with DPEMU_API (empty if it is not found).
h=${top_srcdir:-.}/include/dpemu.h
api=
if [ -f "$h" ]; then
	api=$(tr '\n' ' ' <"$h" | grep -o 'DPEMU_API[^(;]*(' |
		sed 's/[[:space:]]*($//; s/.*[[:space:]*]//')
fi

status=0
if [ -f "$so" ]; then
	syms=$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 } NF == 2 { print $2 }') || status=1
	check "$so" "dynamic" "$syms" '^dpemu_' || status=1
fi
if [ -f "$a" ]; then
	# Global definitions: upper-case types other than U (undefined).  A
	# sanitizer build adds its own (__odr_asan.NAME for each global NAME,
	# __asan_*, __ubsan_*): the compiler's, not dpemu's.  <sys/sdt.h>
	# (the USDT probes) adds the weak, hidden _.stapsdt.base that every
	# object with probes shares by design: no program can define it.
	syms=$(nm -g --defined-only "$a" | awk 'NF >= 3 && $2 ~ /^[A-TV-Z]$/ { print $3 }' |
		grep -v -e '^__odr_asan' -e '^__asan' -e '^__ubsan' -e '^__sanitizer' \
			-e '^_\.stapsdt\.base$' | sort -u) ||
		status=1
	check "$a" "static" "$syms" '^_?dpemu_' || status=1
fi
exit $status
