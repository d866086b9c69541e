#!/usr/bin/env bash
# parse-log.sh LOG [NAME]: decide pass/fail from a guest's serial log.
#
# Prints every zcg-test: line of the selftest, three checks of its own in
# the same format (guest:finished, guest:no-kernel-splat,
# guest:no-kmemleak-leak), the splat lines and leak reports it found, and
# last "guest-NAME: N passed, N failed" (", N skipped" when there are any).
# NAME defaults to the log's file name without "guest-" and ".log".
# Exit status: 0 iff nothing failed.
#
# Kernel splats are recognised on kernel lines only (the guest boots with
# printk.time=1, so those carry a "[ seconds.micros]" stamp); what the
# tests themselves print cannot fake or hide one.
. "$(dirname "$0")/../../scripts/common.sh"

[ $# -ge 1 ] || die "usage: parse-log.sh LOG [NAME]"
logf=$1
name=${2:-$(basename "$logf" .log)}
name=${name#guest-}
[ -f "$logf" ] || die "no log $logf"

clean=$(mktemp)
trap 'rm -f "$clean"' EXIT
# Serial output has CRLF line ends; drop the CRs and any other controls.
tr -d '\r\000' < "$logf" > "$clean"

pass=0 fail=0 skip=0
result() { # result PASS|FAIL|SKIP NAME [WHY]
	case $1 in
	PASS) pass=$((pass + 1)); echo "zcg-test: PASS $2" ;;
	FAIL) fail=$((fail + 1)); echo "zcg-test: FAIL $2${3:+ ($3)}" ;;
	SKIP) skip=$((skip + 1)); echo "zcg-test: SKIP $2${3:+: $3}" ;;
	esac
}

# 1. The selftest's own lines.  A kernel message can land in the middle of
# a line on the shared console, so match anywhere on the line.
sp=0 sf=0 ss=0
while IFS= read -r line; do
	echo "$line"
	case $line in
	'zcg-test: PASS '*) sp=$((sp + 1)) ;;
	'zcg-test: FAIL '*) sf=$((sf + 1)) ;;
	'zcg-test: SKIP '*) ss=$((ss + 1)) ;;
	esac
done < <(grep -oE 'zcg-test: (PASS|FAIL|SKIP) .*' "$clean" || true)
pass=$((pass + sp)) fail=$((fail + sf)) skip=$((skip + ss))

summary=$(grep -oE 'zcg-selftest: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?' "$clean" | tail -n 1 || true)
done_line=$(grep -oE 'zcg-guest-done: rc=[0-9]+' "$clean" | tail -n 1 || true)
rc=${done_line##*=}
if [ -n "$summary" ]; then
	echo "$summary"
	read -r _ np _ nf _ <<< "${summary//,/}"
	# A line garbled beyond recognition must not turn a failure into
	# nothing: trust the summary when it reports more failures.
	if [ "$nf" -gt "$sf" ]; then
		result FAIL guest:selftest-summary "the summary reports $nf failed, the log shows $sf FAIL lines"
	fi
	[ "$np" -eq "$sp" ] || log "note: the summary reports $np passed, the log shows $sp PASS lines"
fi
if [ -n "$done_line" ] && [ "$rc" != 0 ] && [ "$sf" -eq 0 ] && [ "${nf:-0}" -le "$sf" ]; then
	why="exit status $rc with no FAIL line"
	[ "$rc" = 124 ] && why="timed out in the guest"
	[ "$rc" = 127 ] && why="zcg-selftest is not installed"
	result FAIL guest:selftest-exit "$why"
fi

# 2. Did the guest get to the end?
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

# 3. Kernel splats, on stamped kernel lines.
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

# 4. kmemleak, from the report the init printed between markers.
kml=$(sed -n '/--- zcg-kmemleak begin ---/,/--- zcg-kmemleak end ---/p' "$clean")
leaks=0
# The test flavour is built with kmemleak: there a missing kmemleak fails.
krel=$(grep -m1 -o 'Linux version [^ ]*' "$clean" | cut -d' ' -f3 || true)
if grep -q 'zcg-init: kmemleak unavailable' "$clean"; then
	case $krel in
	*-zcg-test)
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

up=$(grep -oE 'zcg-init: userspace at [0-9.]+ s' "$clean" | head -n 1 | awk '{ print $4 }' || true)
[ -n "$up" ] && echo "guest-$name: userspace $up s after kernel start"
if [ -n "$splats" ]; then
	echo "guest-$name: kernel splat lines (line number: text; first 60):"
	printf '%s\n' "$splats" | head -n 60 | sed 's/^/  /'
fi
if [ "$leaks" -gt 0 ]; then
	echo "guest-$name: kmemleak report (first 80 lines):"
	grep -v -- '--- zcg-kmemleak' <<< "$kml" | head -n 80 | sed 's/^/  /'
fi

line="guest-$name: $pass passed, $fail failed"
[ "$skip" -gt 0 ] && line+=", $skip skipped"
echo "$line"
[ "$fail" -eq 0 ]
