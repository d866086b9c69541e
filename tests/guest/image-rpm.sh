#!/usr/bin/env bash
# image-rpm.sh [OUTDIR]: guest disk with our .rpms installed by rpm.
#
# Same base rootfs as the deb guest, but the kernel, liburing and zcg-tests
# come from the rpms, installed with the host's rpm (rpm --root DIR -i
# --nodeps: the base is Debian, so rpm's database knows nothing of its
# libc).  The kernel booted is the one the rpm installed (its %post copies
# it to /boot).  Writes OUTDIR/root.img, OUTDIR/vmlinuz, OUTDIR/kernelrelease;
# prints OUTDIR.
#
# Environment: ZCG_GUEST_KERNEL_RPMS (default $ZCG_OUT/kernel-test),
# ZCG_GUEST_LIBURING_RPMS (default $ZCG_OUT/liburing), ZCG_GUEST_KREL
# (default: kernelrelease in the kernel directory), ZCG_GUEST_KEEP=1.
. "$(dirname "$0")/lib.sh"
guest_private_ns "$@"

out=${1:-$ZCG_BUILD/guest/rpm}
kdir=${ZCG_GUEST_KERNEL_RPMS:-$ZCG_OUT/kernel-test}
udir=${ZCG_GUEST_LIBURING_RPMS:-$ZCG_OUT/liburing}
krel=${ZCG_GUEST_KREL:-$(cat "$kdir/kernelrelease" 2>/dev/null)} ||
	die "no kernel release: build the test kernel first (make kernel)"
[ -n "$krel" ] || die "empty kernel release"
command -v rpm >/dev/null || die "rpm is not installed (scripts/install-deps.sh)"

# pick NAME DIR: the binary rpm in DIR whose package name is NAME.
pick() {
	local f found=''
	for f in "$2"/*.rpm; do
		[ -f "$f" ] || continue
		case $f in *.src.rpm) continue ;; esac
		[ "$(rpm -qp --qf '%{NAME}' "$f" 2>/dev/null)" = "$1" ] || continue
		[ -z "$found" ] || die "more than one $1 rpm in $2"
		found=$f
	done
	[ -n "$found" ] || die "no $1 rpm in $2"
	echo "$found"
}
rpms=("$(pick kernel "$kdir")" "$(pick liburing "$udir")" "$(pick zcg-tests "$udir")")

start=$(now)
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$out/root
trap guest_umount_all EXIT
guest_extract "$root"
guest_chroot_mounts "$root"

t=$(now)
# Debian's rpm refuses to install into a dpkg system without
# --force-debian; the option does not exist elsewhere.
force=()
case $(rpm --help 2>/dev/null) in *--force-debian*) force=(--force-debian) ;; esac
rpm --root "$root" -i --nodeps "${force[@]}" "${rpms[@]}" >&2 ||
	die "rpm -i ${rpms[*]##*/} failed"
log "rpm installed ${rpms[*]##*/} in $(since "$t") s"
rpm --root "$root" -qa | sed 's/^/[zcg]   /' >&2

# rpms built for a Fedora-style layout put libraries in /usr/lib64, which a
# Debian base does not search: add whatever directory liburing landed in.
libdir=$(rpm --root "$root" -ql liburing | sed -n 's,/liburing\.so\.[0-9][0-9.]*$,,p' | head -n1)
[ -n "$libdir" ] || die "the liburing rpm has no liburing.so.N"
case $libdir in
/lib/x86_64-linux-gnu|/usr/lib/x86_64-linux-gnu|/lib|/usr/lib) ;;
*) echo "$libdir" > "$root/etc/ld.so.conf.d/zcg-rpm.conf" ;;
esac
chroot "$root" ldconfig
# (grep without -q: an early exit would fail the pipe under pipefail)
chroot "$root" ldconfig -p | grep 'liburing\.so\.2 ' >/dev/null ||
	die "liburing.so.2 is not in the guest's ld.so cache after ldconfig"

kernel=/boot/vmlinuz-$krel
[ -f "$root$kernel" ] || kernel=/lib/modules/$krel/vmlinuz
guest_umount_all
guest_finish "$root" "$out" "$krel" "$kernel"
[ "${ZCG_GUEST_KEEP:-0}" = 1 ] || rm -rf "$root"
log "rpm guest image ready in $out ($(since "$start") s)"
echo "$out"
