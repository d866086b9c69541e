#!/usr/bin/env bash
# tests/host-kernel/run.sh FLAVOUR (make test-host-kernel FLAVOUR=cloud|
# distro): a host flavour installed as a host installs it, then booted.
#
# Builds the flavour (kernel-src/build.sh FLAVOUR; make resumes a build
# that was interrupted), the repositories, and a guest image into which
# apt installs from out/repo and the Debian archive of the host's apt
# sources: initramfs-tools first, then linux-image-<release>, liburing2 and
# zcg-tests, then linux-headers-<release>, gcc, make and openssl (named:
# without them, as apt installs without recommends, DKMS stopped at "gcc:
# not found"; openssl makes its signing key), dkms and a DKMS module package
# from Debian's archive, which DKMS builds against our kernel in that apt
# transaction (ZCG_DKMS_PKG, default openvpn-dco-dkms/trixie: trixie's
# kernel is 6.12, so its DKMS packages are made for 6.12; bookworm's
# ovpn-dco does not build on 6.12).  QEMU boots the installed kernel with
# its initramfs; the guest loads the module (modprobe ZCG_DKMS_MODULE,
# default ovpn-dco-v2, then lsmod) and runs zcg-selftest --strict.
# The result line is "host-kernel-FLAVOUR: N passed, N failed".
. "$(dirname "$0")/../../scripts/common.sh"

flavour=${1:?usage: run.sh cloud|distro}
case $flavour in cloud|distro) ;; *) die "FLAVOUR must be cloud or distro, not $flavour" ;; esac
dkms_pkg=${ZCG_DKMS_PKG:-openvpn-dco-dkms/trixie}
dkms_mod=${ZCG_DKMS_MODULE:-ovpn-dco-v2}
img=$ZCG_BUILD/guest/host-$flavour
logf=$ZCG_OUT/logs/guest-host-$flavour.log
start=$(date +%s)

t=$(date +%s)
bash "$ZCG_TOP/kernel-src/build.sh" "$flavour"
kbuild=$(($(date +%s) - t))
krel=$(cat "$ZCG_OUT/kernel-$flavour/kernelrelease")
bash "$ZCG_TOP/packaging/build-liburing.sh"
bash "$ZCG_TOP/packaging/repo.sh"

t=$(date +%s)
ZCG_GUEST_KREL=$krel ZCG_GUEST_ARCHIVE=1 ZCG_GUEST_FIRST=initramfs-tools \
	ZCG_GUEST_AFTER="linux-headers-$krel gcc make openssl dkms $dkms_pkg" \
	bash "$ZCG_TOP/tests/guest/image-deb.sh" "$img" > /dev/null
[ -s "$img/initrd.img" ] || die "no initramfs for $krel in the image"
imgsecs=$(($(date +%s) - t))

t=$(date +%s)
ZCG_GUEST_NAME=host-$flavour ZCG_GUEST_INITRD=$img/initrd.img \
	ZCG_GUEST_APPEND="zcg.modprobe=$dkms_mod ${ZCG_GUEST_APPEND:-}" \
	bash "$ZCG_TOP/tests/guest/boot.sh" "$img/root.img" "$img/vmlinuz" "$logf" ci || true
bootsecs=$(($(date +%s) - t))
rc=0
bash "$ZCG_TOP/tests/guest/parse-log.sh" "$logf" "host-$flavour" || rc=1
grep -q "zcg-test: PASS dkms-module:$dkms_mod" "$logf" || { log "the DKMS module $dkms_mod did not load"; rc=1; }
log "times: kernel build $kbuild s, image $imgsecs s, boot and tests $bootsecs s, in all $(($(date +%s) - start)) s"
exit "$rc"
