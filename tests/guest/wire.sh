#!/bin/bash
# wire.sh: the copy-free transports of the zcg guests (installed as
# /usr/local/sbin/zcg-wire; tests/guest/init.sh runs it before the tests
# and before the benchmark). One convention for the test guest and the
# bench guest:
#
#   zw0  the NIC with MAC 52:54:00:7a:00:01, root namespace, 198.18.0.1/24
#   zw1  the NIC with MAC 52:54:00:7a:00:02, moved into network namespace
#        "zcgpeer" (handle /run/netns/zcgpeer, lo up there), 198.18.0.2/24
#   zd0  a dummy device, mtu 65535, 198.19.0.1/32, with the route
#        198.19.0.2/32 dev zd0: whatever is sent there is counted and freed
#        at transmit (sender only, nothing receives it)
#
# tests/guest/boot.sh gives QEMU the two NICs, joined by a QEMU hub (see
# ZCG_GUEST_WIRE there), so that a send from zw0 to 198.18.0.2 leaves
# through one emulated device and arrives through the other: the device,
# not a local delivery, takes the pages (no skb_orphan_frags_rx() copy).
# Addresses stay in the benchmarking range 198.18.0.0/15, inside the guest.
#
# Prints one "zcg-wire: ..." line per part (what is up, or why not) and
# exits 0 even when a part is missing: tests and zcg-bench rows that need
# it say so themselves.
#
# Usage: zcg-wire [up|status]
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ns=zcgpeer
mac0=52:54:00:7a:00:01 mac1=52:54:00:7a:00:02

say() { echo "zcg-wire: $*"; }

# nic_by_mac MAC: the name of the root namespace's interface with MAC.
nic_by_mac() {
	local d
	for d in /sys/class/net/*; do
		[ -r "$d/address" ] || continue
		if [ "$(cat "$d/address")" = "$1" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

status() {
	if [ -e /run/netns/$ns ] && ip -n $ns addr show dev zw1 2>/dev/null | grep -q 198.18.0.2/; then
		say "wire: zw0 198.18.0.1 -> zw1 198.18.0.2 (netns $ns)"
	else
		say "wire: absent"
	fi
	if ip route show 198.19.0.2/32 2>/dev/null | grep -q 'dev zd0'; then
		say "dummy: zd0, route 198.19.0.2/32"
	else
		say "dummy: absent"
	fi
}

wire_up() {
	local if0 if1
	if ! if0=$(nic_by_mac $mac0) || ! if1=$(nic_by_mac $mac1); then
		say "wire: no NICs with MACs $mac0 and $mac1 (QEMU without ZCG_GUEST_WIRE)"
		return 0
	fi
	ip netns del $ns 2>/dev/null
	if ! { ip link set dev "$if0" down &&
	       { [ "$if0" = zw0 ] || ip link set dev "$if0" name zw0; } &&
	       ip addr flush dev zw0 &&
	       ip addr add 198.18.0.1/24 dev zw0 &&
	       ip link set dev zw0 up &&
	       ip netns add $ns &&
	       ip -n $ns link set dev lo up &&
	       ip link set dev "$if1" down &&
	       ip link set dev "$if1" netns $ns &&
	       { [ "$if1" = zw1 ] || ip -n $ns link set dev "$if1" name zw1; } &&
	       ip -n $ns addr add 198.18.0.2/24 dev zw1 &&
	       ip -n $ns link set dev zw1 up; }; then
		say "wire: setup failed"
		return 0
	fi
	# carrier (a moment after up), so that the first test does not wait
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ "$(cat /sys/class/net/zw0/operstate 2>/dev/null)" = up ] && break
		sleep 0.2
	done
	say "wire: zw0 ($if0) 198.18.0.1 -> zw1 ($if1) 198.18.0.2 in netns $ns"
}

dummy_up() {
	ip link del zd0 2>/dev/null
	if ! ip link add zd0 type dummy 2>/dev/null; then
		say "dummy: cannot add a dummy device (no CONFIG_DUMMY)"
		return 0
	fi
	if ! { ip link set dev zd0 mtu 65535 &&
	       ip addr add 198.19.0.1/32 dev zd0 &&
	       ip link set dev zd0 up &&
	       ip route add 198.19.0.2/32 dev zd0 src 198.19.0.1; }; then
		say "dummy: setup failed"
		return 0
	fi
	say "dummy: zd0 mtu 65535, 198.19.0.1, route 198.19.0.2/32 dev zd0"
}

case ${1:-up} in
up)
	wire_up
	dummy_up
	;;
status)
	status
	;;
*)
	echo "usage: zcg-wire [up|status]" >&2
	exit 2
	;;
esac
exit 0
