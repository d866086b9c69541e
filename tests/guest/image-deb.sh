#!/usr/bin/env bash
# image-deb.sh [OUTDIR]: guest disk with our .debs installed by apt.
#
# Extracts the cached base rootfs, installs linux-image-<krel>, liburing2
# and zcg-tests with apt from the local repository $ZCG_OUT/repo (and from
# nothing else), adds the guest init and makes an ext4 image.  Writes
# OUTDIR/root.img, OUTDIR/vmlinuz (the kernel apt installed, taken from the
# image's /boot) and OUTDIR/kernelrelease; prints OUTDIR.
#
# Environment: ZCG_GUEST_REPO (default $ZCG_OUT/repo), ZCG_GUEST_KREL
# (default: $ZCG_OUT/kernel-test/kernelrelease), ZCG_GUEST_KEEP=1 keeps the
# unpacked root directory.  make test-host-kernel (tests/host-kernel/) also
# sets ZCG_GUEST_ARCHIVE=1 (apt also sees the Debian archive of the rootfs's
# sources, bookworm, and trixie at a low pin priority, asked for by
# PACKAGE/trixie), ZCG_GUEST_FIRST (packages installed before the kernel,
# e.g. initramfs-tools) and ZCG_GUEST_AFTER (installed after it, e.g. the
# headers, dkms and a DKMS module package).
. "$(dirname "$0")/lib.sh"
guest_private_ns "$@"

out=${1:-$ZCG_BUILD/guest/deb}
repo=${ZCG_GUEST_REPO:-$ZCG_OUT/repo}
krel=${ZCG_GUEST_KREL:-$(cat "$ZCG_OUT/kernel-test/kernelrelease" 2>/dev/null)} ||
	die "no kernel release: build the test kernel first (make kernel)"
[ -n "$krel" ] || die "empty kernel release"
[ -f "$repo/Packages" ] || die "no apt repository at $repo (make repo)"

start=$(now)
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$out/root
trap guest_umount_all EXIT
guest_extract "$root"

# The repository is bind-mounted read-only; apt reads file: URIs in place.
mkdir -p "$root/zcg-repo" "$root/zcg-apt"
guest_mount --bind -o ro "$(cd "$repo" && pwd)" "$root/zcg-repo"
# Signed: apt checks InRelease against the repository's own key.
echo 'deb [signed-by=/zcg-repo/zcg-archive-keyring.gpg] file:/zcg-repo ./' > "$root/zcg-apt/sources.list"
parts=/dev/null
if [ "${ZCG_GUEST_ARCHIVE:-0}" = 1 ]; then
	parts=/etc/apt/sources.list.d
	mirror=$(host_mirror bookworm) || die "no bookworm mirror in the host's apt sources"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
		>> "$root/zcg-apt/sources.list"
	printf '%s\n' 'Package: *' 'Pin: release n=trixie' 'Pin-Priority: 100' \
		> "$root/etc/apt/preferences.d/zcg-trixie"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null || true
fi
guest_chroot_mounts "$root"

apt_opts=(
	-o Dir::Etc::SourceList=/zcg-apt/sources.list
	-o "Dir::Etc::SourceParts=$parts"
	-o APT::Sandbox::User=root
	-o Acquire::Languages=none
	-o Dpkg::Use-Pty=0
)
pkgs=("linux-image-$krel" liburing2 zcg-tests)
# apt's output goes to a log (a flat repository without compressed indexes
# makes apt-get update print an error per compression it tries), shown when
# something fails.
t=$(now)
aptlog=$out/apt.log
: > "$aptlog"
apt_run() {
	DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get "${apt_opts[@]}" -q "$@" >> "$aptlog" 2>&1 && return 0
	tail -n 30 "$aptlog" >&2
	grep -q 'Hash Sum mismatch' "$aptlog" &&
		die "the index of $repo does not match its .debs (rebuilt since?): run make repo"
	die "apt-get $* failed (log: $aptlog)"
}
apt_run update
# shellcheck disable=SC2206  # word splitting is the point
first=(${ZCG_GUEST_FIRST:-}) after=(${ZCG_GUEST_AFTER:-})
[ "${#first[@]}" -eq 0 ] || apt_run -y --no-install-recommends install "${first[@]}"
apt_run -y --no-install-recommends install "${pkgs[@]}"
[ "${#after[@]}" -eq 0 ] || apt_run -y --no-install-recommends install "${after[@]}"
log "apt installed ${first[*]} ${pkgs[*]} ${after[*]} in $(since "$t") s"
chroot "$root" dpkg-query -W "${pkgs[@]}" | sed 's/^/[zcg]   /' >&2
if [ "${#after[@]}" -gt 0 ] && chroot "$root" sh -c 'command -v dkms' > /dev/null; then
	chroot "$root" dkms status | sed 's/^/[zcg]   dkms: /' >&2
fi
rm -f "$root/etc/apt/preferences.d/zcg-trixie"

guest_umount_all
rm -rf "$root/zcg-repo" "$root/zcg-apt"
guest_finish "$root" "$out" "$krel" "/boot/vmlinuz-$krel"
[ "${ZCG_GUEST_KEEP:-0}" = 1 ] || rm -rf "$root"
log "deb guest image ready in $out ($(since "$start") s)"
echo "$out"
