#!/usr/bin/env bash
# boot.sh IMAGE KERNEL LOG [MODE]: boot a guest image under QEMU (TCG; KVM
# does not work on these machines), let its init run zcg-selftest in MODE,
# and write the serial console to LOG.  Modes (the zcg-selftest option):
#   ci     everything, liburing's send-zerocopy as its bounded subset
#          (no option; make test's deb guest; the default)
#   quick  without liburing's send-zerocopy (--quick; make test's rpm guest)
#   full   send-zerocopy's whole matrix (--full; make test-full)
#
# The disk is opened with snapshot=on, so IMAGE stays as built and a run
# can be repeated.  The guest's only network devices are the two NICs of
# its "wire" (ZCG_GUEST_WIRE below, tests/guest/wire.sh): they connect to
# each other and to nothing else.  Other tests use loopback and their own
# network namespaces.
#
# A hang ends in one of three ways: the kernel panics (oops=panic, and
# panic=-1 resets at once; with -no-reboot QEMU then exits), the guest init
# gives up on the selftest after the guest limit, or this script kills QEMU
# after the host limit and appends a zcg-boot: TIMEOUT line to LOG.
#
# Exit status: 0 when QEMU exited by itself (whether the tests passed is
# parse-log.sh's call), 2 on the host timeout, 1 when QEMU failed.
#
# Environment:
#   ZCG_GUEST_TIMEOUT  host hard limit in seconds (default: limits below);
#                      the guest gives up on the selftest 240 s before it,
#                      so kmemleak and the log still get out
#   ZCG_GUEST_TEST_TIMEOUT  one per-test limit for every test in the guest
#                      (default: zcg-selftest's own table, per test)
#   ZCG_GUEST_MEM      guest memory (default 2G)
#   ZCG_GUEST_SMP      guest CPUs (default 2)
#   ZCG_GUEST_TESTS    run only these tests (comma separated, as
#                      zcg-selftest names them, e.g. upstream/send-zerocopy.t)
#   ZCG_GUEST_TSC_KHZ  the host's TSC rate in kHz (default: from the host's
#                      kernel log or /proc/cpuinfo; 0: do not pass it)
#   ZCG_GUEST_APPEND   extra kernel command line
#   ZCG_GUEST_INITRD   an initramfs to boot with (the host flavours)
#   ZCG_GUEST_QEMU_ARGS  extra QEMU options (make bench: "-icount ...")
#   ZCG_GUEST_QUIET=1  do not echo progress lines to stderr
#   ZCG_GUEST_WIRE     the guest's wire: two virtio-net NICs (MACs
#                      52:54:00:7a:00:01 and :02) that only reach each other;
#                      the guest's zcg-wire puts the second one in network
#                      namespace zcgpeer.
#                      1 or tap (default): each on a tap device with
#                        virtio-net headers, the two bridged in a network
#                        namespace of their own on the host that holds
#                        nothing else (QEMU runs inside it; needs root and
#                        /dev/net/tun). The headers give the NICs checksum
#                        offload and TSO, hence scatter-gather in the guest,
#                        without which TCP and UDP copy what a zero-copy send
#                        hands them (zc-copyfree.t fails);
#                      hub: both on one QEMU hub (-netdev hubport,hubid=0),
#                        nothing else on it; a hub port has no virtio-net
#                        header, so this wire copies (kept to show it);
#                      0: no wire.
#   ZCG_GUEST_WIRE_NIC the wire's QEMU NIC model (default virtio-net-pci;
#                      e1000e emulates checksum offload and TSO itself, so
#                      it would give a hub wire scatter-gather, but needs
#                      CONFIG_E1000E in the guest kernel)
#   ZCG_GUEST_NAME     name the progress lines carry (tests/run.sh: deb, rpm)
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: boot.sh IMAGE KERNEL LOG [ci|quick|full]"
image=$1 kernel=$2 logf=$3 mode=${4:-ci}
case $mode in ci|quick|full) ;; *) die "mode must be ci, quick or full, not $mode" ;; esac
[ -f "$image" ] || die "no image $image"
[ -f "$kernel" ] || die "no kernel $kernel"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not installed (scripts/install-deps.sh)"

# Whole-guest limits: boot, every test, the kmemleak scans and the reboot.
# Measured on a quiet 2-core host (test kernel, QEMU TCG, the deb and rpm
# guests side by side as make test runs them); each limit is at least 2x
# the time measured (a machine twice as slow passes):
#   quick  248 s (rpm guest) -> 1200 s (4.8x)
#   ci     470 s (deb guest; 557 s alone with the first, larger subset)
#          -> 1800 s (3.8x)
#   full   about 1570 s (quick plus send-zerocopy's whole matrix, 1316 s),
#          about 2400 s with a make bench beside it -> 5400 s (3.4x, 2.2x)
case $mode in
quick) limit=${ZCG_GUEST_TIMEOUT:-1200} ;;
ci) limit=${ZCG_GUEST_TIMEOUT:-1800} ;;
full) limit=${ZCG_GUEST_TIMEOUT:-5400} ;;
esac
tlimit=${ZCG_GUEST_TEST_TIMEOUT:-}
glimit=$((limit - 240))
[ "$glimit" -ge 60 ] || glimit=$((limit * 3 / 4))

# Guest clock.  Without ACPI the guest has neither HPET nor PM timer, so
# it cannot calibrate the TSC and falls back to counting timer ticks, which
# loses time whenever QEMU is short of CPU (a third of it on a host busy
# building kernels): guest timeouts then overrun the host's.  Under TCG the
# guest's TSC is the host's, so tell the guest its rate.
host_tsc_khz() {
	local mhz k
	k=$(dmesg 2>/dev/null | grep -E 'tsc: (Refined TSC clocksource calibration|Detected [0-9.]+ MHz)' || true)
	mhz=$(sed -nE 's/.*Refined TSC clocksource calibration: ([0-9.]+) MHz.*/\1/p' <<< "$k" | tail -n 1)
	[ -n "$mhz" ] || mhz=$(sed -nE 's/.*Detected ([0-9.]+) MHz TSC.*/\1/p' <<< "$k" | tail -n 1)
	[ -n "$mhz" ] || mhz=$(sed -nE 's/.*Detected ([0-9.]+) MHz processor.*/\1/p' <<< "$k" | tail -n 1)
	if [ -z "$mhz" ] && grep -qw constant_tsc /proc/cpuinfo; then
		mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	fi
	awk -v m="${mhz:-0}" 'BEGIN { if (m > 0) printf "%d\n", m * 1000 + 0.5 }'
}
tsc_khz=${ZCG_GUEST_TSC_KHZ:-$(host_tsc_khz)}

append=(
	console=ttyS0 root=/dev/vda rootfstype=ext4 rw
	"init=$GUEST_INIT"
	printk.time=1
	# A kernel oops or panic ends the VM at once instead of hanging it.
	panic=-1 oops=panic
	"zcg.mode=$mode" "zcg.timeout=$glimit"
	"zcg.date=$(date +%s)"
)
[ -n "$tlimit" ] && append+=("zcg.test_timeout=$tlimit")
[ "${tsc_khz:-0}" -gt 0 ] && append+=("tsc_early_khz=$tsc_khz" tsc=reliable)
[ -n "${ZCG_GUEST_TESTS:-}" ] && append+=("zcg.tests=${ZCG_GUEST_TESTS// /,}")
# shellcheck disable=SC2206  # word splitting is the point
[ -n "${ZCG_GUEST_APPEND:-}" ] && append+=(${ZCG_GUEST_APPEND})

mkdir -p "$(dirname "$logf")"
: > "$logf"
qlog=$logf.qemu
qemu=(
	qemu-system-x86_64
	-accel tcg -cpu max
	-smp "${ZCG_GUEST_SMP:-2}" -m "${ZCG_GUEST_MEM:-2G}"
	-nodefaults -no-user-config -nographic -no-reboot
	-serial "file:$logf" -monitor none
	-nic none
	-drive "file=$image,format=raw,if=virtio,snapshot=on"
	-kernel "$kernel" -append "${append[*]}"
)
[ -n "${ZCG_GUEST_INITRD:-}" ] && qemu+=(-initrd "$ZCG_GUEST_INITRD")
wire=${ZCG_GUEST_WIRE:-1}
nic=${ZCG_GUEST_WIRE_NIC:-virtio-net-pci}
runner=()
case $wire in
0) ;;
hub)
	qemu+=(
		-netdev "hubport,id=zw0,hubid=0"
		-device "$nic,netdev=zw0,mac=52:54:00:7a:00:01"
		-netdev "hubport,id=zw1,hubid=0"
		-device "$nic,netdev=zw1,mac=52:54:00:7a:00:02"
	) ;;
1|tap)
	[ -c /dev/net/tun ] || die "ZCG_GUEST_WIRE=tap needs /dev/net/tun"
	qemu+=(
		-netdev "tap,id=zw0,ifname=zcgt0,script=no,downscript=no,vnet_hdr=on"
		-device "$nic,netdev=zw0,mac=52:54:00:7a:00:01"
		-netdev "tap,id=zw1,ifname=zcgt1,script=no,downscript=no,vnet_hdr=on"
		-device "$nic,netdev=zw1,mac=52:54:00:7a:00:02"
	)
	# A new, empty network namespace (gone when QEMU exits): two taps
	# and a bridge between them, nothing else, no address.
	# shellcheck disable=SC2016  # expanded by the inner shell
	runner=(unshare --net -- bash -ec '
		for t in zcgt0 zcgt1; do
			ip tuntap add dev "$t" mode tap vnet_hdr
		done
		ip link add zcgbr type bridge forward_delay 0
		ip link set zcgt0 master zcgbr
		ip link set zcgt1 master zcgbr
		for d in zcgt0 zcgt1 zcgbr; do
			ip link set "$d" up
		done
		exec "$@"' zcg-wire-ns)
	;;
*) die "ZCG_GUEST_WIRE must be 1, tap, hub or 0, not $wire" ;;
esac
# shellcheck disable=SC2206  # word splitting is the point
[ -n "${ZCG_GUEST_QEMU_ARGS:-}" ] && qemu+=(${ZCG_GUEST_QEMU_ARGS})
log "booting $(basename "$kernel") with $(basename "$image") (mode $mode, wire $wire, host limit $limit s, guest limit $glimit s)"
start=$(now)
timeout -k 15 "$limit" "${runner[@]}" "${qemu[@]}" > "$qlog" 2>&1 &
qpid=$!

# Echo the guest's progress with host-side elapsed time.
follower=''
if [ "${ZCG_GUEST_QUIET:-0}" != 1 ]; then
	tail -n +1 -F --pid="$qpid" "$logf" 2>/dev/null |
		while IFS= read -r line; do
			line=${line//$'\r'/}
			case $line in
			*zcg-init:*|*zcg-wire:*|*zcg-test:*|*zcg-liburing:*|*zcg-selftest:*|*zcg-guest-done:*|*Kernel\ panic*|*BUG:*|*WARNING:*)
				printf '[zcg] guest%s %6.1fs | %s\n' "${ZCG_GUEST_NAME:+ $ZCG_GUEST_NAME}" "$(since "$start")" "${line#*] }" >&2 ;;
			esac
		done &
	follower=$!
fi

rc=0
wait "$qpid" || rc=$?
[ -n "$follower" ] && { wait "$follower" || true; }
elapsed=$(since "$start")
# QEMU ends with status 0 on SIGTERM too; a kill from outside is no
# clean guest exit.
if [ "$rc" = 0 ] && grep -q 'terminating on signal' "$qlog"; then
	rc=143
fi
case $rc in
0)
	log "guest exited after $elapsed s"
	;;
124|137)
	echo "zcg-boot: TIMEOUT after $limit s, QEMU killed" >> "$logf"
	log "guest hung: killed QEMU after $limit s (log: $logf)"
	exit 2
	;;
143)
	echo "zcg-boot: QEMU failed: killed from outside ($(grep -m1 'terminating on signal' "$qlog"))" >> "$logf"
	log "QEMU was killed from outside after $elapsed s"
	exit 1
	;;
*)
	echo "zcg-boot: QEMU failed with status $rc" >> "$logf"
	log "QEMU failed with status $rc after $elapsed s:"
	sed 's/^/[zcg]   /' "$qlog" >&2
	exit 1
	;;
esac
