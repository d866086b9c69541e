#!/usr/bin/env bash
# drop-partial-objects.sh OBJDIR: delete the objects that a killed build
# left half made, so that make builds them again.
#
# Kbuild writes an object's .cmd file (which makes make take the object as
# up to date) right after compiling it, and only then appends the symbol
# versions of its exports (genksyms, CONFIG_MODVERSIONS). A build killed
# between the two (SIGKILL: make cannot clean up) leaves an object whose
# exports have no version: modpost then warns "version generation failed"
# and modules see those symbols without a CRC. Seen on the distro flavour,
# resumed after a kill: drivers/cpuidle/cpuidle.o.
#
# Looks at the objects compiled from one source file (their .cmd has a
# source_ line) that export symbols, and deletes each one whose .cmd has no
# SYMVER line, with its .cmd. Prints what it deleted.
set -euo pipefail
obj=${1:?usage: drop-partial-objects.sh OBJDIR}
[ -f "$obj/.config" ] && grep -qx 'CONFIG_MODVERSIONS=y' "$obj/.config" || exit 0

find "$obj" -name '*.o' ! -name '*.mod.o' -print0 |
	xargs -0 -r nm -A 2>/dev/null |
	awk '/ __export_symbol_/ { sub(/:.*/, ""); print }' | sort -u |
	while IFS= read -r o; do
		cmd=$(dirname "$o")/.$(basename "$o").cmd
		grep -q '^source_' "$cmd" 2>/dev/null || continue
		grep -q 'SYMVER' "$cmd" && continue
		echo "dropping $o: its exports have no symbol versions (a killed build)"
		rm -f "$o" "$cmd"
	done
