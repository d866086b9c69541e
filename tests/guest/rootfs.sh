#!/usr/bin/env bash
# rootfs.sh: print the path of a cached Debian bookworm minbase tarball for
# the test guests, building it with mmdebstrap first if needed.
#
# The mirror comes from the host's own apt sources (fed to mmdebstrap on
# standard input), so nothing here names a registry.  The cache key is a
# hash of everything that decides the tarball's contents except the date:
# the suite, the package list, the mmdebstrap options, the host's sources
# and $recipe (bump it when changing how the tarball is made otherwise).  Old
# tarballs go after a week unused.
#
# Environment: ZCG_GUEST_EXTRA_PKGS adds packages (space separated);
# ZCG_ROOTFS_REBUILD=1 rebuilds even when a cached tarball exists.
. "$(dirname "$0")/../../scripts/common.sh"

recipe=1
suite=bookworm
# What the guest init and zcg-selftest use: ip/tc for lo, veth, netns and
# netem (iproute2), modprobe (kmod), ps/sysctl (procps), mount/findmnt
# (mount, util-linux), reboot -f (busybox: minbase has no init system and
# so no reboot command).  minbase already has bash, coreutils (timeout),
# grep, sed, findutils, diffutils and mawk.
pkgs=(iproute2 kmod procps util-linux mount busybox)
# shellcheck disable=SC2206  # word splitting is the point
[ -n "${ZCG_GUEST_EXTRA_PKGS:-}" ] && pkgs+=(${ZCG_GUEST_EXTRA_PKGS})
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | LC_ALL=C sort -u)

# host_sources: the host's apt sources in one format, deb822 if it has any.
host_sources() {
	local f found=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		cat "$f"
		echo
		found=1
	done
	[ -n "$found" ] && return 0
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] && grep -E '^[[:space:]]*deb[[:space:]]' "$f"
	done
	return 0
}

sources=$(host_sources)
[ -n "$sources" ] || die "no apt sources on this host to build the guest rootfs from"

include=$(IFS=,; echo "${pkgs[*]}")
opts=(
	--variant=minbase --format=tar --include="$include"
	# No documentation in the guest: smaller image, faster mkfs.
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/info/*'
)
key=$({
	echo "recipe=$recipe suite=$suite"
	printf 'opt=%s\n' "${opts[@]}"
	printf '%s\n' "$sources"
} | sha256sum | cut -c1-16)
dir=$ZCG_CACHE/rootfs
tarball=$dir/$suite-minbase-$key.tar

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -s "$tarball" ] && [ "${ZCG_ROOTFS_REBUILD:-0}" != 1 ]; then
	touch "$tarball"
	log "guest rootfs: cached $tarball"
	echo "$tarball"
	exit 0
fi

log "guest rootfs: building $suite minbase (+ ${pkgs[*]}) with mmdebstrap"
start=$(date +%s.%N)
tmp=$tarball.tmp.$$
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$sources" | mmdebstrap --quiet "${opts[@]}" "$suite" "$tmp" - >&2 ||
	die "mmdebstrap failed"
mv "$tmp" "$tarball"
trap - EXIT
# Tarballs of other inputs that nobody used for a week go.
find "$dir" -maxdepth 1 -name "$suite-minbase-*.tar" ! -newer "$tarball" \
	! -name "${tarball##*/}" -mtime +7 -delete
end=$(date +%s.%N)
log "guest rootfs: built $tarball ($(du -h "$tarball" | cut -f1)) in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
echo "$tarball"
