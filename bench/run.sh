#!/usr/bin/env bash
# bench/run.sh: the benchmark guest run (make bench).
#
#   1. builds the "bench" kernel flavour (the test flavour without KASAN,
#      lockdep and kmemleak) patched and from the pristine source
#      (kernel-src/build.sh bench [unpatched]), skipped when its inputs did
#      not change since the last run;
#   2. indexes out/repo (packaging/repo.sh picks up out/kernel-*/);
#   3. for each kernel, makes a deb guest image (tests/guest/image-deb.sh:
#      the kernel, liburing2 and zcg-tests installed by apt from out/repo)
#      and boots it under QEMU (tests/guest/boot.sh) with zcg.run=bench, so
#      that the guest init runs zcg-bench-run --guest: zcg-bench, then
#      liburing's send-zerocopy example as a cross-check;
#      The guests have the wire and the dummy device of tests/guest/wire.sh
#      (boot.sh's ZCG_GUEST_WIRE), so zcg-bench's default transports run:
#      udp-dummy and wire-tcp/wire-udp (copy-free, checked) first, then
#      the copying loopback TCP/UDP and veth ones, fewer sizes for UDP/veth;
#   4. takes the CSVs off the serial console and writes out/bench/:
#      raw.csv (every run of every boot), results.csv (per row and kernel,
#      median and min..max over the rounds), crosscheck.csv, results.md and
#      the PNG plots (bench/report.py).
# Each round is one boot per kernel, the kernels alternating (ABBA), each
# boot one zcg-bench round over every row; the udp-dummy rows (sender only)
# run in a boot of their own with one guest CPU (ZCG_BENCH_SOLO, below).
#
# The guests run with QEMU's -icount (TCG with instruction counting): the
# guest's clock then advances with the instructions it executes, not with
# the host's time, so a busy host slows the run down but does not change
# the figures, and rounds agree to a fraction of a percent. What is measured
# is instructions, not cycles: no cache or memory effects.
#
# Environment:
#   ZCG_BENCH_TIME     guest seconds per row and round (default 0.4)
#   ZCG_BENCH_ROUNDS   interleaved rounds (default 3)
#   ZCG_BENCH_XTIME    send-zerocopy seconds per run (default 1; 0 skips it)
#   ZCG_BENCH_KERNELS  which kernels (default "bench bench-unpatched", plus
#                      "bench-base" when ZCG_BENCH_BASE is set)
#   ZCG_BENCH_BASE     a commit of this repository: the "bench-base" kernel
#                      is the bench flavour with the kernel series of that
#                      commit (kernel-src/build.sh bench base=REV), and the
#                      report compares every row of ours with it, e.g. to
#                      show what a change of the series costs or gains
#   ZCG_BENCH_APPEND   more kernel command line for the guests, e.g.
#                      "zcg.bench_transports=tcp zcg.bench_sizes=4K"
#   ZCG_BENCH_REBUILD=1  build the kernels even when their inputs are unchanged
#   ZCG_BENCH_SOLO     transports whose rows run in a guest with one CPU, in
#                      a boot of their own (default udp-dummy; empty: every
#                      row in the two-CPU boot). A two-CPU guest under
#                      -icount runs sender-only rows 1.27 times faster in
#                      stretches that come and go (bench/README.md, "The
#                      fast rounds of udp-dummy"); one CPU never did
#   ZCG_BENCH_WIRE     the guests' wire (boot.sh's ZCG_GUEST_WIRE; default 1:
#                      two virtio-net NICs on bridged taps in a host network
#                      namespace of their own; needs /dev/net/tun)
#   ZCG_BENCH_ICOUNT   QEMU -icount setting (default shift=2,sleep=off: a
#                      guest second is 250 million instructions; "none" runs
#                      plain multi-threaded TCG, at the mercy of the host's load)
#   ZCG_BENCH_PROFILE  TRANSPORT:SIZE:MODE[+MODE...]: after the rows, each
#                      boot profiles these rows with perf timer samples
#                      (zcg-bench-run -p; the images then get Debian's
#                      linux-perf) into out/bench/profile-KERNEL-ROUND.txt
#   and what tests/guest/boot.sh reads (ZCG_GUEST_MEM, ZCG_GUEST_SMP, ...).
# The figures come from a TCG guest: only ratios within one run mean
# anything.
. "$(dirname "$0")/../scripts/common.sh"

time_s=${ZCG_BENCH_TIME:-0.4}
rounds=${ZCG_BENCH_ROUNDS:-3}
xtime=${ZCG_BENCH_XTIME:-1}
icount=${ZCG_BENCH_ICOUNT:-shift=2,sleep=off}
qemu_args=''
if [ "$icount" != none ]; then
	qemu_args="-icount $icount"
	# the guest's TSC then runs on instructions: no host TSC rate for it
	export ZCG_GUEST_TSC_KHZ=0
fi
base_rev=''
if [ -n "${ZCG_BENCH_BASE:-}" ]; then
	base_rev=$(git -C "$ZCG_TOP" rev-parse --verify "$ZCG_BENCH_BASE^{commit}") ||
		die "ZCG_BENCH_BASE=$ZCG_BENCH_BASE: no such commit"
fi
kernels=${ZCG_BENCH_KERNELS:-bench bench-unpatched${base_rev:+ bench-base}}
out=$ZCG_OUT/bench
mkdir -p "$out"
start=$(date +%s)
times=()

# kernel_inputs NAME: a hash of what the NAME kernel's packages are built from.
kernel_inputs() {
	local tree rev
	tree=$(bash "$ZCG_TOP/kernel-src/fetch.sh")
	if [ "$1" = bench-unpatched ]; then
		rev=$(git -C "$tree" rev-parse zcg-base)
	elif [ "$1" = bench-base ]; then
		rev="$base_rev $(git -C "$ZCG_TOP" rev-parse "$base_rev:kernel-src/patches")"
	else
		rev=$(git -C "$tree" rev-parse HEAD)
	fi
	{
		echo "$1 $rev"
		cd "$ZCG_TOP" && sha256sum kernel-src/configs/guest.config \
			kernel-src/configs/bench.config kernel-src/build.sh \
			kernel-src/config.sh kernel-src/pin.env scripts/common.sh
	} | sha256sum | cut -d' ' -f1
}

# build_kernel NAME: bench or bench-unpatched, unless already built from
# the same inputs.
build_kernel() {
	local name=$1 want stamp t
	want=$(kernel_inputs "$name")
	stamp=$out/.inputs-$name
	if [ "${ZCG_BENCH_REBUILD:-0}" != 1 ] && [ -f "$stamp" ] &&
	   [ "$(cat "$stamp")" = "$want" ] && [ -s "$ZCG_OUT/kernel-$name/kernelrelease" ] &&
	   compgen -G "$ZCG_OUT/kernel-$name/linux-image-*.deb" > /dev/null; then
		log "kernel $name: up to date ($(cat "$ZCG_OUT/kernel-$name/kernelrelease"))"
		return 0
	fi
	t=$(date +%s)
	rm -f "$stamp"
	if [ "$name" = bench-unpatched ]; then
		bash "$ZCG_TOP/kernel-src/build.sh" bench unpatched
	elif [ "$name" = bench-base ]; then
		bash "$ZCG_TOP/kernel-src/build.sh" bench "base=$base_rev"
	else
		bash "$ZCG_TOP/kernel-src/build.sh" bench
	fi
	echo "$want" > "$stamp"
	times+=("kernel $name: $(($(date +%s) - t)) s")
}

# extract LOG NAME: the file NAME printed between the markers of
# zcg-bench-run --print, without carriage returns and console noise.
# The kernel may print on the same serial console (printk.time=1: each of
# its lines starts with "[ seconds.micros] "), also in the middle of a CSV
# line, which then goes on after the kernel's line: cut such a line out and
# join the two halves.
extract() {
	tr -d '\r' < "$1" | awk -v f="$2" '
		$0 == "--- zcg-bench-file " f " begin ---" { on = 1; next }
		$0 == "--- zcg-bench-file " f " end ---" { on = 0; part = ""; next }
		!on { next }
		{ $0 = part $0; part = "" }
		match($0, /\[ *[0-9]+\.[0-9]+\] /) { part = substr($0, 1, RSTART - 1); next }
		/^[^ \[]+,/ { print }'
}

for k in $kernels; do
	case $k in
	bench|bench-unpatched) ;;
	bench-base) [ -n "$base_rev" ] || die "kernel bench-base needs ZCG_BENCH_BASE" ;;
	*) die "unknown kernel '$k' (bench, bench-unpatched, bench-base)" ;;
	esac
	build_kernel "$k"
done
bash "$ZCG_TOP/packaging/repo.sh"

# Rows per kernel, to size the host's time limit of a boot: 11 modes x 20
# transport sizes (udp-dummy 6, wire-tcp 4, wire-udp 2, tcp 4, udp 2,
# veth 2) + 6 default-ring rows, each warm-up + time + setup, one round per
# boot, about 3 s of the host's time per guest second.
est=$(awk -v t="$time_s" -v x="$xtime" 'BEGIN {
	w = t / 5; if (w > 0.5) w = 0.5
	printf "%d", 3 * (226 * (t + w + 0.3) + 8 * (x + 2)) + 60 }')
limit=$((est * 2 + 600))

# One image per kernel, booted once per round: the kernels alternate (A B,
# B A, A B, ...) so that the load of this shared machine drifting over the
# minutes of the run does not favour one kernel, and the rows of a boot run
# forwards or backwards in turn for the same reason within a kernel.
prof=${ZCG_BENCH_PROFILE:-}
if [ -n "$prof" ]; then
	export ZCG_GUEST_EXTRA_PKGS="${ZCG_GUEST_EXTRA_PKGS:-} linux-perf"
	est=$((est + 120))
	limit=$((limit + 600))
fi
declare -A krel=()
for k in $kernels; do
	krel[$k]=$(cat "$ZCG_OUT/kernel-$k/kernelrelease")
	t=$(date +%s)
	ZCG_GUEST_KREL=${krel[$k]} bash "$ZCG_TOP/tests/guest/image-deb.sh" "$ZCG_BUILD/guest/$k" > /dev/null ||
		die "guest image for ${krel[$k]} failed"
	times+=("image $k: $(($(date +%s) - t)) s")
done

rm -rf "$out"/results.csv "$out"/raw.csv "$out"/crosscheck.csv "$out"/guest-*.log* \
	"$out"/profile-*.txt \
	"$out"/*.png "$out"/results.md "$out"/summary.md
for k in $kernels; do
	rm -rf "${out:?}/$k"
done
# The transports of the run (zcg-bench's default, or the guest command
# line's zcg.bench_transports=), split into the one-CPU boot's and the rest.
selected=udp-dummy,wire-tcp,wire-udp,tcp,udp,veth
if [[ " ${ZCG_BENCH_APPEND:-} " =~ \ zcg\.bench_transports=([^ ]+)\  ]]; then
	selected=${BASH_REMATCH[1]}
fi
solo_tr='' main_tr=''
IFS=, read -ra tr_list <<< "$selected"
for t in "${tr_list[@]}"; do
	[ "$t" = wire ] && t=wire-tcp,wire-udp
	if [[ ",${ZCG_BENCH_SOLO-udp-dummy}," == *",$t,"* ]]; then
		solo_tr+=${solo_tr:+,}$t
	else
		main_tr+=${main_tr:+,}$t
	fi
done

# what report.py prints about the run
{
	if [ -n "$solo_tr" ] && [ -n "$main_tr" ]; then
		echo "rounds: $rounds (two boots per kernel and round, kernels alternating ABBA)"
	else
		echo "rounds: $rounds (one boot per kernel and round, kernels alternating ABBA)"
	fi
	[ -z "$solo_tr" ] ||
		echo "one-CPU boots: $solo_tr (a boot of its own per kernel and round, ZCG_BENCH_SOLO)"
	echo "time: $time_s guest seconds per row and round"
	if [ -n "$qemu_args" ]; then
		echo "qemu: TCG with $qemu_args"
	else
		echo "qemu: TCG (multi-threaded, no -icount)"
	fi
	echo "wire: ${ZCG_BENCH_WIRE:-1} (tests/guest/boot.sh ZCG_GUEST_WIRE)"
	[ -n "${ZCG_BENCH_APPEND:-}" ] && echo "guest command line: ${ZCG_BENCH_APPEND}"
	[ -z "$base_rev" ] || echo "base: the kernel series of $(git -C "$ZCG_TOP" log -1 --format='%h (%s)' "$base_rev")"
	echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
} > "$out/settings.txt"
# boot_part KERNEL ROUND PART TRANSPORTS CPUS XTIME REVERSE: one boot of
# the kernel's image running zcg-bench over TRANSPORTS; its log is
# guest-KERNEL-ROUND[-PART].log, its CSVs go to out/bench/KERNEL/ and its
# runs to raw.csv.
boot_part() {
	local k=$1 r=$2 part=$3 tr=$4 cpus=$5 x=$6 rev=$7
	local img=$ZCG_BUILD/guest/$k glog sfx='' p='' rc=0 t hdr f
	[ -n "$part" ] && sfx=-$part
	glog=$out/guest-$k-$r$sfx.log
	# a profile runs in the boot of its transport
	[[ -n "$prof" && ",$tr," == *",${prof%%:*},"* ]] && p=$prof
	log "round $r/$rounds: ${krel[$k]}${part:+ ($part: $tr, $cpus CPU)} (about $est s, limit $limit s), log $glog"
	t=$(date +%s)
	ZCG_GUEST_TIMEOUT=$limit ZCG_GUEST_QEMU_ARGS=$qemu_args ZCG_GUEST_SMP=$cpus \
	ZCG_GUEST_WIRE=${ZCG_BENCH_WIRE:-1} \
	ZCG_GUEST_APPEND="zcg.run=bench zcg.bench_time=$time_s zcg.bench_rounds=1 zcg.bench_xtime=$x zcg.bench_reverse=$rev${p:+ zcg.bench_profile=$p} ${ZCG_BENCH_APPEND:-} zcg.bench_transports=$tr" \
		bash "$ZCG_TOP/tests/guest/boot.sh" "$img/root.img" "$img/vmlinuz" "$glog" full || rc=$?
	times+=("guest $k round $r$sfx: $(($(date +%s) - t)) s")
	grep -a 'zcg-bench: \[' "$glog" | tr -d '\r' | sed 's/^/[zcg]   /' | tail -n 2 >&2 || true
	mkdir -p "$out/$k"
	if [ -n "$p" ]; then
		tr -d '\r' < "$glog" | awk '
			/^--- zcg-bench-profile .* begin ---$/ { on = 1 }
			on { print }
			/^--- zcg-bench-profile .* end ---$/ { on = 0 }' \
			> "$out/profile-$k-$r.txt"
	fi
	for f in bench.csv bench-raw.csv crosscheck.csv; do
		extract "$glog" "$f" > "$out/$k/${f%.csv}-$r$sfx.csv"
	done
	if [ "$rc" -ne 0 ] || ! grep -aq 'zcg-guest-done: rc=0' "$glog" ||
	   [ ! -s "$out/$k/bench-raw-$r$sfx.csv" ]; then
		log "benchmark guest ${krel[$k]} round $r$sfx failed (boot status $rc); see $glog"
		failed=1
		return
	fi
	# every run of every boot, numbered by round, under one header
	hdr=1
	[ -s "$out/raw.csv" ] && hdr=0
	awk -F, -v OFS=, -v r="$r" -v hdr="$hdr" \
		'NR == 1 { if (hdr) print; next } { $7 = r; print }' \
		"$out/$k/bench-raw-$r$sfx.csv" >> "$out/raw.csv"
	if [ -s "$out/$k/crosscheck-$r$sfx.csv" ]; then
		if [ -s "$out/crosscheck.csv" ]; then
			tail -n +2 "$out/$k/crosscheck-$r$sfx.csv" >> "$out/crosscheck.csv"
		else
			cp "$out/$k/crosscheck-$r$sfx.csv" "$out/crosscheck.csv"
		fi
	fi
}

read -ra order <<< "$kernels"
failed=0
for ((r = 1; r <= rounds; r++)); do
	for k in "${order[@]}"; do
		x=0 rev=0
		[ "$r" = 1 ] && x=$xtime
		[ $((r % 2)) = 0 ] && rev=1
		# the cross-check (loopback TCP) runs in the two-CPU boot if any
		xs=0
		[ -n "$main_tr" ] || xs=$x
		[ -z "$solo_tr" ] || boot_part "$k" "$r" solo "$solo_tr" 1 "$xs" "$rev"
		[ -z "$main_tr" ] || boot_part "$k" "$r" '' "$main_tr" "${ZCG_GUEST_SMP:-2}" "$x" "$rev"
	done
	# ABBA: the next round starts with the kernel that ran last
	mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
done

[ -s "$out/raw.csv" ] || die "no benchmark results"
# the TCP buffers as zcg-bench reports them (its --sockbuf, or its default)
sockbuf=$(cat "$out"/guest-*.log | tr -d '\r' |
	sed -n 's/^zcg-bench: kernel .*, tcp buffers \(.*\)$/\1/p' | sort -u | paste -sd/)
echo "tcp buffers: ${sockbuf:-not reported} (zcg-bench --sockbuf)" >> "$out/settings.txt"
labels=()
for k in $kernels; do
	labels+=("$k=${krel[$k]}")
done
# results.csv: medians and spread over the rounds, from every run
python3 "$ZCG_TOP/bench/report.py" --aggregate "$out" "${labels[@]}"

log "make bench: $(($(date +%s) - start)) s"
printf '[zcg]   %s\n' "${times[@]}" >&2
log "results: $out/results.md, $out/results.csv, $out/*.png"
[ "$failed" = 0 ]
