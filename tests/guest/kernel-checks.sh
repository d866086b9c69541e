#!/usr/bin/env bash
# kernel-checks.sh LOG: the checks every guest run must pass, whatever ran
# in it (parse-log.sh for zcg-selftest, tests/liburing/ for liburing's
# upstream suite).  LOG is a serial log without CRs.  Prints one line per
# check in the selftest's format (zcg-test: PASS|FAIL|SKIP guest:finished,
# guest:no-kernel-splat, guest:no-kmemleak-leak), then the splat lines and
# the leak report it found, prefixed "guest-checks:".
# Exit status: 0 iff no check failed.
#
# Kernel splats are recognised on kernel lines only (the guest boots with
# printk.time=1, so those carry a "[ seconds.micros]" stamp); what the
# tests themselves print cannot fake or hide one.
. "$(dirname "$0")/../../scripts/common.sh"

[ $# -eq 1 ] || die "usage: kernel-checks.sh LOG"
clean=$1
[ -f "$clean" ] || die "no log $clean"

failed=0
result() { # result PASS|FAIL|SKIP NAME [WHY]
	case $1 in
	PASS) echo "zcg-test: PASS $2" ;;
	FAIL) failed=1; echo "zcg-test: FAIL $2${3:+ ($3)}" ;;
	SKIP) echo "zcg-test: SKIP $2${3:+: $3}" ;;
	esac
}

# 1. Did the guest get to the end?
done_line=$(grep -oE 'zcg-guest-done: rc=[0-9]+' "$clean" | tail -n 1 || true)
if grep -q 'zcg-boot: TIMEOUT' "$clean"; then
	result FAIL guest:finished "hang: $(grep -oE 'zcg-boot: TIMEOUT.*' "$clean" | tail -n 1 | sed 's/^zcg-boot: //')"
elif grep -q 'zcg-boot: QEMU failed' "$clean"; then
	result FAIL guest:finished "$(grep -oE 'zcg-boot: QEMU failed.*' "$clean" | tail -n 1 | sed 's/^zcg-boot: //')"
elif [ -z "$done_line" ]; then
	if grep -qE 'Kernel panic' "$clean"; then
		result FAIL guest:finished "kernel panic before the end"
	elif ! grep -q 'zcg-init: userspace' "$clean"; then
		result FAIL guest:finished "never reached userspace"
	else
		result FAIL guest:finished "no zcg-guest-done line: guest crashed or log truncated"
	fi
else
	result PASS guest:finished
fi

# 2. Kernel splats, on stamped kernel lines.
ts='\[ *[0-9]+\.[0-9]+\] '
splat='BUG:|WARNING:|KASAN:|UBSAN:|kernel BUG at|Oops|Kernel panic|general protection fault'
splat+='|possible circular locking|inconsistent lock state|possible recursive locking'
splat+='|=====+$|INFO: task .* blocked for more than|rcu: INFO: |detected stall'
splat+='|list_(add|del) corruption|refcount_t: |DEBUG_LOCKS_WARN_ON|Unable to handle'
splat+='|unreferenced object'
# Boot-time notices that share a word with splats but are not bugs:
# CPU vulnerability mitigation notes (arch/x86/kernel/cpu/bugs.c) print
# "<bug>: WARNING: ..." on some emulated CPU models.
benign='(Spectre V[12]|RETBleed|MDS|TAA|MMIO Stale Data|SRBDS|GDS|RFDS|BHI|ITS|TSA|VMSCAPE|Speculative Store Bypass|L1TF|SRSO|Retbleed) ?: WARNING:'
splats=$(grep -nE "$ts.*($splat)" "$clean" | grep -vE "$ts($benign)" || true)
if [ -n "$splats" ]; then
	n=$(printf '%s\n' "$splats" | wc -l)
	result FAIL guest:no-kernel-splat "$n splat lines"
else
	result PASS guest:no-kernel-splat
fi

# 3. kmemleak, from the report the init printed between markers.
kml=$(sed -n '/--- zcg-kmemleak begin ---/,/--- zcg-kmemleak end ---/p' "$clean")
leaks=0
# The test flavour is built with kmemleak (also from the pristine source,
# -zcg-test-unpatched): there a missing kmemleak fails.
krel=$(grep -m1 -o 'Linux version [^ ]*' "$clean" | cut -d' ' -f3 || true)
if grep -q 'zcg-init: kmemleak unavailable' "$clean"; then
	case $krel in
	*-zcg-test|*-zcg-test-*)
		result FAIL guest:no-kmemleak-leak "kmemleak unavailable, but $krel is built with it" ;;
	*)
		result SKIP guest:no-kmemleak-leak "kmemleak not available in ${krel:-this kernel}" ;;
	esac
elif ! grep -q -- '--- zcg-kmemleak end ---' <<< "$kml"; then
	result FAIL guest:no-kmemleak-leak "no complete kmemleak report"
else
	leaks=$(grep -c 'unreferenced object' <<< "$kml" || true)
	if [ "$leaks" -gt 0 ]; then
		result FAIL guest:no-kmemleak-leak "$leaks unreferenced objects"
	else
		result PASS guest:no-kmemleak-leak
	fi
fi

if [ -n "$splats" ]; then
	echo "guest-checks: kernel splat lines (line number: text; first 60):"
	printf '%s\n' "$splats" | head -n 60 | sed 's/^/  /'
fi
if [ "$leaks" -gt 0 ]; then
	echo "guest-checks: kmemleak report (first 80 lines):"
	grep -v -- '--- zcg-kmemleak' <<< "$kml" | head -n 80 | sed 's/^/  /'
fi
[ "$failed" = 0 ]
