#!/usr/bin/env bash
# parse-log.sh LOG [NAME]: decide pass/fail from a guest's serial log.
#
# Prints every zcg-test: line of the selftest, the three checks of
# kernel-checks.sh in the same format (guest:finished,
# guest:no-kernel-splat, guest:no-kmemleak-leak) with the splat lines and
# leak reports it found, and last "guest-NAME: N passed, N failed"
# (", N skipped" when there are any).  NAME defaults to the log's file name
# without "guest-" and ".log".  Exit status: 0 iff nothing failed.
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

# 2.-4. Did the guest get to the end, kernel splats, kmemleak:
# kernel-checks.sh, which tests/liburing/ shares.
nchecks=0
while IFS= read -r line; do
	case $line in
	'zcg-test: PASS '*) pass=$((pass + 1)) nchecks=$((nchecks + 1)) ;;
	'zcg-test: FAIL '*) fail=$((fail + 1)) nchecks=$((nchecks + 1)) ;;
	'zcg-test: SKIP '*) skip=$((skip + 1)) nchecks=$((nchecks + 1)) ;;
	esac
	echo "${line//guest-checks:/guest-$name:}"
done < <(bash "$(dirname "$0")/kernel-checks.sh" "$clean" || true)
[ "$nchecks" -eq 3 ] || result FAIL guest:kernel-checks "kernel-checks.sh gave $nchecks of its 3 results"

up=$(grep -oE 'zcg-init: userspace at [0-9.]+ s' "$clean" | head -n 1 | awk '{ print $4 }' || true)
[ -n "$up" ] && echo "guest-$name: userspace $up s after kernel start"
line="guest-$name: $pass passed, $fail failed"
[ "$skip" -gt 0 ] && line+=", $skip skipped"
echo "$line"
[ "$fail" -eq 0 ]
