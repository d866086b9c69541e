#!/usr/bin/env bash
# tests/liburing/run.sh (make test-liburing): upstream liburing's whole
# test suite (the pinned release, built from its tarball, not our fork) in
# two guests side by side: one boots our test kernel, the other the same
# configuration built from the pristine source (kernel-src/build.sh test
# unpatched).  Both boot the deb guest image with the suite added
# (build.sh, tests/guest/image-deb.sh), run zcg-liburing-run (guest-run.sh)
# and report kmemleak.  report.py compares the two runs.
#
# Fails when a test passes on the pristine kernel and does not on ours,
# when our guest does not finish every test, or on a kernel splat or leak
# in our guest.  What fails on the pristine kernel too is upstream's
# (liburing 2.15 on 6.12) and is reported, not counted.  Not part of make
# test (about 70 min on 2 cores); make test-liburing-record keeps the
# report in tests/recorded/.
#
# Out: $ZCG_OUT/liburing-suite/{report.md,guest-*.log,*.checks}
#
# Environment:
#   ZCG_LIBURING_TEST_TIMEOUT  per-test limit in the guests (default 300 s)
#   ZCG_LIBURING_GUEST_TIMEOUT whole-guest limit (default 10800 s)
#   ZCG_GUEST_TESTS            run only these tests (comma separated)
#   ZCG_LIBURING_PARALLEL      1 (default): both guests side by side
. "$(dirname "$0")/../../scripts/common.sh"

out=$ZCG_OUT/liburing-suite
img=$ZCG_BUILD/guest/liburing
tmo=${ZCG_LIBURING_TEST_TIMEOUT:-300}
limit=${ZCG_LIBURING_GUEST_TIMEOUT:-10800}
start=$(date +%s)
mkdir -p "$out"
rm -f "$out"/guest-*.log "$out"/guest-*.log.qemu "$out"/*.checks "$out/report.md"

[ -s "$ZCG_OUT/kernel-test/kernelrelease" ] || die "no test kernel: run make packages first"
log "=== the test kernel from the pristine source ==="
bash "$ZCG_TOP/kernel-src/build.sh" test unpatched
ukrel=$(cat "$ZCG_OUT/kernel-test-unpatched/kernelrelease")

log "=== upstream liburing's tests ==="
tdir=$(bash "$ZCG_TOP/tests/liburing/build.sh")

log "=== guest image ==="
ZCG_GUEST_LIBURING_TESTS=$tdir bash "$ZCG_TOP/tests/guest/image-deb.sh" "$img" > /dev/null
# The test kernel has no modules: the pristine one boots the same image.
udeb=$(compgen -G "$ZCG_OUT/kernel-test-unpatched/linux-image-${ukrel}_*.deb" | head -n 1) ||
	die "no linux-image deb in $ZCG_OUT/kernel-test-unpatched"
dpkg-deb --fsys-tarfile "$udeb" | tar -xO "./boot/vmlinuz-$ukrel" > "$img/vmlinuz-unpatched"
cp "$img/vmlinuz" "$img/vmlinuz-patched"

# boot_one KIND: boot the image with the KIND kernel, the suite instead of
# the selftest.
boot_one() {
	ZCG_GUEST_NAME=liburing-$1 ZCG_GUEST_TIMEOUT=$limit ZCG_GUEST_TEST_TIMEOUT=$tmo \
		ZCG_GUEST_APPEND="zcg.run=liburing ${ZCG_GUEST_APPEND:-}" \
		bash "$ZCG_TOP/tests/guest/boot.sh" "$img/root.img" "$img/vmlinuz-$1" \
		"$out/guest-$1.log" quick || true
}
log "=== both kernels' guests (per test $tmo s, per guest $limit s) ==="
t=$(date +%s)
if [ "${ZCG_LIBURING_PARALLEL:-1}" = 1 ]; then
	boot_one patched &
	p=$!
	boot_one unpatched
	wait "$p"
else
	boot_one patched
	boot_one unpatched
fi
guests=$(($(date +%s) - t))

for k in patched unpatched; do
	tr -d '\r\000' < "$out/guest-$k.log" > "$out/guest-$k.clean"
	bash "$ZCG_TOP/tests/guest/kernel-checks.sh" "$out/guest-$k.clean" > "$out/$k.checks" || true
done
python3 "$ZCG_TOP/tests/liburing/report.py" "$out" \
	"liburing $(basename "$(dirname "$tdir")" | sed 's/^liburing-//')" \
	"$(cat "$ZCG_OUT/kernel-test/kernelrelease")" "$ukrel" "$tmo" "$guests" \
	"$(($(date +%s) - start))"
