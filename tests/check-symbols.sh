#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-symbols.sh - libdpemu exports only names that start with dpemu_.
#
# Uses $LIBDPEMU (set by the Makefile's TESTS_ENVIRONMENT), else
# $top_builddir/.libs/libdpemu.so.  Exit 77 (skip) when the library is not
# there; 1 with the offending names when anything else is exported.

lib=${LIBDPEMU:-${top_builddir:-.}/.libs/libdpemu.so}

if [ ! -f "$lib" ]; then
	echo "check-symbols: $lib not found; skipping" >&2
	exit 77
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "check-symbols: nm not found; skipping" >&2
	exit 77
fi

syms=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 } NF == 2 { print $2 }')
status=$?
if [ $status -ne 0 ] || [ -z "$syms" ]; then
	echo "check-symbols: nm -D --defined-only $lib failed or listed nothing" >&2
	exit 1
fi

bad=$(printf '%s\n' "$syms" | grep -v '^dpemu_')
if [ -n "$bad" ]; then
	echo "check-symbols: $lib exports symbols without the dpemu_ prefix:" >&2
	printf '  %s\n' $bad >&2
	exit 1
fi

# The public functions of dpemu.h are all there.
missing=
for f in dpemu_version dpemu_strerror dpemu_last_error \
	dpemu_pool_create dpemu_pool_destroy dpemu_pool_stats \
	dpemu_space_create dpemu_space_destroy dpemu_space_base \
	dpemu_space_size dpemu_space_backend dpemu_space_pool \
	dpemu_map dpemu_unmap dpemu_protect dpemu_sync \
	dpemu_space_stats dpemu_query dpemu_catch dpemu_fault_kind_name \
	dpemu_space_fork dpemu_prefault \
	dpemu_policy_name; do
	printf '%s\n' "$syms" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "check-symbols: $lib does not export:$missing" >&2
	exit 1
fi

echo "check-symbols: $(printf '%s\n' "$syms" | wc -l) symbols, all dpemu_"
exit 0
