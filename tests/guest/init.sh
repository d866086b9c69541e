#!/bin/bash
# init.sh: PID 1 of the zcg test guest (installed as /usr/local/sbin/zcg-init,
# booted with init=/usr/local/sbin/zcg-init).  It sets up a minimal system,
# runs zcg-selftest, asks kmemleak for a report, prints the result and
# reboots (QEMU runs with -no-reboot, so that ends the VM).
#
# Kernel command line:
#   zcg.mode=ci|quick|full  selftest mode (default ci: no option; quick:
#                        --quick; full: --full, see zcg-selftest)
#   zcg.timeout=SECONDS  guest-side limit for the selftest (default none;
#                        the host enforces its own hard limit anyway)
#   zcg.test_timeout=SECONDS  per-test limit (zcg-selftest's
#                        ZCG_TEST_TIMEOUT; default: zcg-selftest's own)
#   zcg.date=EPOCH       wall clock to set (the guest has no RTC)
#   zcg.tests=A,B        run only these tests (zcg-selftest TEST arguments)
#   zcg.heartbeat=SECONDS  how often to print the running tests' state
#                        (default 300; 0 turns it off)
#   zcg.run=bench        run zcg-bench-run --guest (bench/run.sh) instead of
#                        the selftest; it prints its CSVs on the console
#   zcg.modprobe=MOD     load module MOD (built by DKMS) and check lsmod; one
#                        zcg-test: PASS|FAIL dkms-module:MOD line
#   zcg.run=liburing     run upstream liburing's own suite instead of the
#                        selftest (zcg-liburing-run, tests/liburing/), then
#                        the kmemleak report as after the selftest
#
# Everything goes to the console (ttyS0).  tests/guest/parse-log.sh reads:
#   zcg-init: userspace at <uptime> s
#   zcg-test: ... lines and the zcg-selftest summary
#   --- zcg-kmemleak begin --- ... --- zcg-kmemleak end ---
#   zcg-guest-done: rc=<selftest exit status>
# Never exits: if PID 1 died the kernel would panic (which boot.sh would
# also notice, as a missing zcg-guest-done line).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
umask 022
cd /

say() { echo "zcg-init: $*"; }
say start

# finish RC: report, flush, reboot.  Does not return.
finish() {
	echo "zcg-guest-done: rc=$1"
	sync
	mount -o remount,ro / 2>/dev/null
	# minbase has no init system, hence no reboot command: busybox's.
	if command -v reboot >/dev/null; then
		reboot -f
	else
		busybox reboot -f
	fi
	sleep 10
	# Still here: let the kernel panic (panic=-1 resets, QEMU exits).
	say "reboot failed"
	exit "$1"
}

# Every program started costs a good fraction of a second in a KASAN
# kernel under TCG, so all mounts are one mount -a of the image's
# /etc/fstab (written by tests/guest/lib.sh; the kernel has already
# mounted devtmpfs on /dev).
[ -e /proc/self ] || mount -t proc proc /proc || say "cannot mount /proc"
mount -a || say "some mounts failed"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

read -r uptime _ < /proc/uptime
say "userspace at $uptime s"

mode=ci timeout='' date='' run=selftest heartbeat=300 tests=() modules=()
read -ra cmdline < /proc/cmdline
for arg in "${cmdline[@]}"; do
	case $arg in
	zcg.mode=*) mode=${arg#*=} ;;
	zcg.timeout=*) timeout=${arg#*=} ;;
	zcg.date=*) date=${arg#*=} ;;
	zcg.test_timeout=*) export ZCG_TEST_TIMEOUT=${arg#*=} ;;
	zcg.tests=*) IFS=, read -ra tests <<< "${arg#*=}" ;;
	zcg.heartbeat=*) heartbeat=${arg#*=} ;;
	zcg.run=*) run=${arg#*=} ;;
	zcg.modprobe=*) modules+=("${arg#*=}") ;;
	esac
done
[ -n "$date" ] && date -s "@$date" >/dev/null
echo zcg-guest > /proc/sys/kernel/hostname
ulimit -Hn 524288 2>/dev/null
# From here on only warnings and worse reach the console, so routine
# messages (veth, netns) do not cut through the test output.  Splats are
# KERN_WARNING or worse and still show.
echo "5 4 1 7" > /proc/sys/kernel/printk
ip link set lo up || say "cannot bring lo up"
# A kernel with modules (the host flavours) and no udev here: load the
# drivers of the devices present (virtio-net for the wire), once.
if [ -s "/lib/modules/$(uname -r)/modules.alias" ]; then
	find /sys/devices -name modalias -exec cat {} + 2>/dev/null | sort -u |
		xargs -r modprobe -q -a 2>/dev/null
fi
# zcg.modprobe=MOD (make test-host-kernel): a module DKMS built for this
# kernel at install time must load; counted as a test.
for m in "${modules[@]}"; do
	if modprobe "$m" && lsmod | grep -q "^${m//-/_} "; then
		echo "zcg-test: PASS dkms-module:$m"
		lsmod | grep "^${m//-/_} " | sed 's/^/zcg-init: lsmod: /'
	else
		echo "zcg-test: FAIL dkms-module:$m (modprobe or lsmod)"
	fi
done
# The copy-free transports (wire between two namespaces over two emulated
# NICs, dummy device): tests/guest/wire.sh; it says what is missing.
if command -v zcg-wire >/dev/null; then
	zcg-wire up
else
	say "zcg-wire is not installed: no wire, no dummy device"
fi

if [ "$run" = bench ]; then
	say "running zcg-bench-run${timeout:+ (limit $timeout s)}"
	timeout -k 30 "${timeout:-86400}" zcg-bench-run --guest < /dev/null
	rc=$?
	say "zcg-bench-run exited with $rc"
	finish "$rc"
fi

kmemleak=/sys/kernel/debug/kmemleak
# kmemleak_report: what leaked since the clear below, between the markers
# tests/guest/kernel-checks.sh reads.
kmemleak_report() {
	if [ -r "$kmemleak" ]; then
		# Objects are only reported once they are a few seconds old
		# and were found unreferenced by two scans; scan, wait, scan.
		echo scan > "$kmemleak"
		sleep 6
		echo scan > "$kmemleak"
		echo "--- zcg-kmemleak begin ---"
		cat "$kmemleak"
		echo "--- zcg-kmemleak end ---"
	else
		say "kmemleak unavailable"
	fi
}
if [ -w "$kmemleak" ]; then
	# Forget what boot left behind (early allocations kmemleak cannot
	# trace); only what the tests leak is reported at the end.
	echo scan > "$kmemleak"
	echo clear > "$kmemleak"
fi

if [ "$run" = liburing ]; then
	say "running zcg-liburing-run${timeout:+ (limit $timeout s)}${ZCG_TEST_TIMEOUT:+, per test $ZCG_TEST_TIMEOUT s}"
	timeout -k 30 "${timeout:-86400}" zcg-liburing-run "${tests[@]}" < /dev/null
	rc=$?
	[ "$rc" -eq 124 ] && say "zcg-liburing-run timed out after ${timeout:-86400} s"
	read -r uptime _ < /proc/uptime
	say "zcg-liburing-run exited with $rc at $uptime s"
	kmemleak_report
	finish "$rc"
fi

args=(--strict)
case $mode in
quick) args+=(--quick) ;;
full) args+=(--full) ;;
ci) ;;
*) say "unknown zcg.mode=$mode, running ci" ;;
esac
args+=("${tests[@]}")

# A test that runs for long in a slow guest looks like a hung one; say now
# and then what the test programs are doing (state, CPU time, wait channel).
hb=''
if [ "$heartbeat" -gt 0 ] 2>/dev/null; then
	while sleep "$heartbeat"; do
		ps -eo pid=,stat=,time=,wchan:24=,args= |
			awk '$5 ~ /\.t$/ { print "zcg-init: heartbeat: " $0 }'
	done &
	hb=$!
fi
say "running zcg-selftest ${args[*]} (mode $mode${timeout:+, limit $timeout s}${ZCG_TEST_TIMEOUT:+, per test $ZCG_TEST_TIMEOUT s})"
if ! command -v zcg-selftest >/dev/null; then
	say "zcg-selftest is not installed"
	rc=127
elif [ -n "$timeout" ]; then
	timeout -k 30 "$timeout" zcg-selftest "${args[@]}" < /dev/null
	rc=$?
	[ "$rc" -eq 124 ] && say "zcg-selftest timed out after $timeout s"
else
	zcg-selftest "${args[@]}" < /dev/null
	rc=$?
fi
[ -n "$hb" ] && kill "$hb" 2>/dev/null
read -r uptime _ < /proc/uptime
say "zcg-selftest exited with $rc at $uptime s"

kmemleak_report
finish "$rc"
