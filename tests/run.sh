#!/usr/bin/env bash
# tests/run.sh: the whole zcg test run (make test, after the packages are
# built).
#
#   1. host tests: tests/host/run.sh (prints "host: N passed, N failed")
#   2. deb guest, ci mode: our .debs installed by apt into a Debian
#      rootfs, booted under QEMU (tests/guest/image-deb.sh, boot.sh); the
#      whole suite, liburing's send-zerocopy as a bounded subset
#   3. rpm guest, quick mode: the same with our .rpms (image-rpm.sh),
#      without send-zerocopy
#
# Serial logs go to $ZCG_OUT/logs/guest-NAME.log.  The summary gives the
# time of every phase: the test phases, and the build phases of the make
# run that started this one (lines of $ZCG_OUT/logs/times.txt written
# since $ZCG_RUN_START).  The last line printed is "N passed, N failed"
# (", N skipped" when there are any); the exit status is non-zero iff
# something failed.
#
# Environment:
#   ZCG_TEST_PHASES  what to run (default "host deb:ci rpm:quick"; make
#                    test-full: "host deb:full rpm:quick"); e.g.
#                    "rpm:quick" for a short guest-only run
#   ZCG_TEST_PARALLEL  1 (default): boot each guest as soon as its image is
#                    built and let it run beside the next; 0: one at a
#                    time.  A TCG guest keeps about one host core busy, so
#                    on 2 cores the deb (ci) and rpm (quick) guests ran side
#                    by side in 473 s, one after the other in 411 + 235 s.
#   ZCG_RUN_START    epoch seconds when make started (set by the Makefile)
#   and what tests/guest/boot.sh reads (ZCG_GUEST_TIMEOUT, ...).
. "$(dirname "$0")/../scripts/common.sh"

phases=${ZCG_TEST_PHASES:-host deb:ci rpm:quick}
parallel=${ZCG_TEST_PARALLEL:-1}
logs=$ZCG_OUT/logs
mkdir -p "$logs"

total_pass=0 total_fail=0 total_skip=0
times=()
results=()

now() { date +%s; }

# add_counts LABEL LINE: add "N passed, N failed[, N skipped]" from LINE.
add_counts() {
	local p f s
	p=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<< "$2")
	f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<< "$2")
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<< "$2")
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0}))
	total_skip=$((total_skip + ${s:-0}))
	results+=("$1: ${p:-0} passed, ${f:-0} failed${s:+, $s skipped}")
}

# failed LABEL WHY: count one failure for a phase that could not run.
failed() {
	echo "$1: FAIL ($2)"
	total_fail=$((total_fail + 1))
	results+=("$1: 0 passed, 1 failed ($2)")
}

run_host() {
	local out rc line
	if [ ! -f "$ZCG_TOP/tests/host/run.sh" ]; then
		failed host "tests/host/run.sh is missing"
		return
	fi
	out=$logs/host.log
	if bash "$ZCG_TOP/tests/host/run.sh" 2>&1 | tee "$out"; then
		rc=0
	else
		rc=${PIPESTATUS[0]}
	fi
	line=$(grep -E '^host: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)
	if [ -z "$line" ]; then
		failed host "no summary line, exit status $rc"
		return
	fi
	add_counts host "$line"
	if [ "$rc" -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed' <<< "$line"; then
		failed host-exit "exit status $rc although no test failed"
	fi
}

# guest_image KIND: build the KIND (deb or rpm) guest image.
guest_image() {
	local name=$1 t
	rm -f "$logs/guest-$name.log" "$logs/guest-$name.log.qemu" "$logs/guest-$name.result"
	t=$(now)
	if ! bash "$ZCG_TOP/tests/guest/image-$name.sh" "$ZCG_BUILD/guest/$name" > /dev/null; then
		failed "guest-$name" "image build failed"
		times+=("guest-$name image: $(($(now) - t)) s (failed)")
		return 1
	fi
	times+=("guest-$name image: $(($(now) - t)) s")
}

# guest_boot KIND MODE: boot the image; the time goes to guest-KIND.secs.
guest_boot() {
	local name=$1 mode=$2 dir=$ZCG_BUILD/guest/$1 t
	t=$(now)
	ZCG_GUEST_NAME=$name bash "$ZCG_TOP/tests/guest/boot.sh" \
		"$dir/root.img" "$dir/vmlinuz" "$logs/guest-$name.log" "$mode" || true
	echo "$(($(now) - t))" > "$logs/guest-$name.secs"
}

# guest_parse KIND MODE: count the results of the guest's log.
guest_parse() {
	local name=$1 mode=$2 line
	times+=("guest-$name boot+tests ($mode): $(cat "$logs/guest-$name.secs" 2>/dev/null || echo '?') s")
	bash "$ZCG_TOP/tests/guest/parse-log.sh" "$logs/guest-$name.log" "$name" | tee "$logs/guest-$name.result" || true
	line=$(grep -E "^guest-$name: [0-9]+ passed, [0-9]+ failed" "$logs/guest-$name.result" | tail -n 1 || true)
	if [ -z "$line" ]; then
		failed "guest-$name" "log parser gave no result"
		return
	fi
	add_counts "guest-$name" "$line"
}

start=$(now)
booting=() side_start=0
for ph in $phases; do
	t=$(now)
	log "=== test phase $ph ==="
	case $ph in
	host) run_host ;;
	deb:*|rpm:*)
		kind=${ph%%:*} mode=${ph#*:}
		rm -f "$logs/guest-$kind.secs"
		if ! guest_image "$kind"; then
			:
		elif [ "$parallel" = 1 ]; then
			# The guest runs while the next image is built and
			# the next guest boots; results are read below.
			[ "${#booting[@]}" -gt 0 ] || side_start=$(now)
			guest_boot "$kind" "$mode" &
			booting+=("$kind:$mode:$!")
			continue
		else
			guest_boot "$kind" "$mode"
			guest_parse "$kind" "$mode"
		fi ;;
	*) failed "$ph" "unknown test phase" ;;
	esac
	times+=("phase $ph: $(($(now) - t)) s")
done
if [ "${#booting[@]}" -gt 0 ]; then
	log "=== waiting for ${#booting[@]} guests running side by side ==="
	for b in "${booting[@]}"; do
		wait "${b##*:}" || true
	done
	[ "${#booting[@]}" -lt 2 ] ||
		times+=("guests side by side, from the first boot to the last exit: $(($(now) - side_start)) s")
	for b in "${booting[@]}"; do
		guest_parse "${b%%:*}" "$(cut -d: -f2 <<< "$b")"
	done
fi

# build_times: the build phases of this make run, from times.txt.
build_times() {
	local f=$logs/times.txt n=0 sum=0 end name secs note
	if [ -z "${ZCG_RUN_START:-}" ]; then
		echo "  build: not run by make; no build phases to report"
		return
	fi
	if [ -f "$f" ]; then
		while IFS=$'\t' read -r end name secs note; do
			[ "$end" -ge "$ZCG_RUN_START" ] 2>/dev/null || continue
			echo "  time: build $name: $secs s${note:+ ($note)}"
			n=$((n + 1)) sum=$((sum + secs))
		done < "$f"
	fi
	if [ "$n" -eq 0 ]; then
		echo "  build: no build phase ran in this make run (nothing to build, or a test-only target)"
	else
		echo "  time: build total: $sum s"
	fi
}

echo
echo "=== summary (logs in $logs) ==="
printf '  %s\n' "${results[@]}"
build_times
printf '  time: %s\n' "${times[@]}" "tests total: $(($(now) - start)) s"
[ -n "${ZCG_RUN_START:-}" ] && echo "  time: this make run in all: $(($(now) - ZCG_RUN_START)) s"
line="$total_pass passed, $total_fail failed"
[ "$total_skip" -gt 0 ] && line+=", $total_skip skipped"
echo "$line"
[ "$total_fail" -eq 0 ]
