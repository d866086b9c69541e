#!/bin/sh
# TCP data segments per send of each mode over loopback (TCPOrigDataSent).
get() {
	awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
		else { for (i = 1; i <= NF; i++) if (n[i] == "TCPOrigDataSent") print $i } }' /proc/net/netstat
}
for s in 1K 4K 16K 64K; do
	for m in zc zc_skip combine group8 group32 group128 group8_skip group32_skip; do
		a=$(get)
		zcg-bench --transports tcp --modes "$m" --sizes "$s" --time 0.4 --rounds 1 \
			--default-ring none --quiet --raw /tmp/r.csv
		b=$(get)
		awk -F, -v d=$((b - a)) -v s="$s" -v m="$m" 'NR == 2 {
			n = $22 / $6; printf "SEGS %s %s sends %d datasegs %d per-send %.4f req/s %.0f\n", s, m, n, d, d / n, $12 / $10 }' /tmp/r.csv
	done
done
