#!/usr/bin/env bash
# upgrade.sh CHECK-DEB: package upgrades, downgrades and removals, in a
# chroot of the guests' Debian bookworm base rootfs (tests/guest/rootfs.sh)
# whose apt sees the host's Debian mirror and our signed out/repo.  CHECK-DEB
# is a package whose binary imports a LIBURING_ZCG_1 symbol, with the
# dependency dpkg-shlibdeps gave it (tests/host/run.sh builds it).  Prints
# "PASS name" / "FAIL name" lines (tests/host/run.sh imports them as pkg-*):
#   upgrade:debian-to-zcg   Debian's liburing2 installed, apt-get upgrade
#                           moves to ours (a later version)
#   upgrade:zcg-dependent   the check package installs against ours
#   upgrade:downgrade-blocked  apt refuses Debian's liburing2 while the
#                           check package needs ours (--no-remove)
#   upgrade:zcg-to-debian   without it, back to Debian's liburing2
#   kernel:side-by-side     every kernel flavour of out/repo installed
#                           together (one alone when only one is built)
#   kernel:purge:<release>  each removed and purged in turn: no file of
#                           its release, no dpkg state left behind
#   kernel:nothing-left     the chroot's files are as before the kernels
# shellcheck disable=SC2016  # dpkg-query formats, not shell expansions
. "$(dirname "$0")/../guest/lib.sh"
guest_private_ns "$@"

check_deb=${1:?usage: upgrade.sh CHECK-DEB}
[ -f "$check_deb" ] || { echo "FAIL upgrade:zcg-dependent (no $check_deb)"; exit 1; }
repo=$ZCG_OUT/repo
[ -f "$repo/InRelease" ] || { echo "FAIL upgrade:debian-to-zcg (no signed repository in $repo)"; exit 1; }
root=$ZCG_BUILD/host-tests/upgrade-root
trap guest_umount_all EXIT
guest_extract "$root" 2> /dev/null
mkdir -p "$root/zcg-repo"
guest_mount --bind -o ro "$(cd "$repo" && pwd)" "$root/zcg-repo"
guest_chroot_mounts "$root"
cp "$check_deb" "$root/tmp/zcg-import-check.deb"
echo 'deb [signed-by=/zcg-repo/zcg-archive-keyring.gpg] file:/zcg-repo ./' \
	> "$root/etc/apt/sources.list.d/zcg.list"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null || true

in_root() { DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }
apt_q() { in_root apt-get -q -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root "$@"; }
version() { in_root dpkg-query -W -f='${Version}' "$1" 2> /dev/null; }
result() { # result NAME CONDITION-STATUS [DETAIL]
	if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1${3:+ ($3)}"; fi
}

apt_q update > /dev/null || { echo "FAIL upgrade:debian-to-zcg (apt-get update)"; exit 1; }
ours=$(in_root apt-cache policy liburing2 | awk '/Candidate:/ { print $2 }')
debian=$(in_root apt-cache madison liburing2 | awk -F'|' '$2 !~ /zcg/ { gsub(/ /, "", $2); print $2; exit }')
if [ -z "$debian" ] || [ -z "$ours" ]; then
	echo "FAIL upgrade:debian-to-zcg (liburing2 versions: Debian's '$debian', ours '$ours')"
	exit 1
fi
echo "liburing2: Debian's $debian, ours $ours"

# 1. Debian's liburing2, then apt-get upgrade.
rc=0
apt_q install -y "liburing2=$debian" > /dev/null && apt_q upgrade -y > /dev/null || rc=1
[ "$(version liburing2)" = "$ours" ] || rc=1
result upgrade:debian-to-zcg "$rc" "installed: $(version liburing2)"

# 2. A package that needs the fork.
rc=0
apt_q install -y /tmp/zcg-import-check.deb > /dev/null || rc=1
in_root dpkg-query -W -f='${Depends}\n' zcg-import-check
result upgrade:zcg-dependent "$rc"

# 3. Back to Debian's: refused while the check package needs ours.
rc=0
if apt_q install -y --no-remove --allow-downgrades "liburing2=$debian" > /dev/null 2>&1; then
	rc=1
fi
[ "$(version liburing2)" = "$ours" ] && [ -n "$(version zcg-import-check)" ] || rc=1
result upgrade:downgrade-blocked "$rc" "liburing2 $(version liburing2)"

# 4. Without it, back to Debian's.
rc=0
apt_q purge -y zcg-import-check > /dev/null &&
	apt_q install -y --allow-downgrades "liburing2=$debian" > /dev/null || rc=1
[ "$(version liburing2)" = "$debian" ] || rc=1
result upgrade:zcg-to-debian "$rc" "installed: $(version liburing2)"

# 5. Kernels side by side, then each removed and purged.
mapfile -t kimgs < <(in_root apt-cache search --names-only '^linux-image-[0-9.]+-zcg' | awk '{ print $1 }' | sort)
snap_files() { # the files of the chroot outside the mounts and apt/dpkg state
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./zcg-repo \
		-o -path ./var/cache/apt -o -path ./var/lib/apt/lists -o -path ./tmp -o -path ./var/log \) -prune \
		-o -print | sort)
}
before=$(mktemp)
snap_files > "$before"
pkgs=()
for k in "${kimgs[@]}"; do
	pkgs+=("$k" "linux-headers-${k#linux-image-}")
done
rc=0
apt_q install -y --no-install-recommends "${pkgs[@]}" > /dev/null || rc=1
for k in "${kimgs[@]}"; do
	[ -f "$root/boot/vmlinuz-${k#linux-image-}" ] || rc=1
	[ -d "$root/lib/modules/${k#linux-image-}" ] || rc=1
done
result kernel:side-by-side "$rc" "${#kimgs[@]} flavours: ${kimgs[*]}"
for k in "${kimgs[@]}"; do
	rel=${k#linux-image-}
	rc=0
	apt_q purge -y "$k" "linux-headers-$rel" > /dev/null || rc=1
	left=$(cd "$root" && for f in "boot/vmlinuz-$rel" "boot/System.map-$rel" "boot/config-$rel" \
		"lib/modules/$rel" "usr/src/linux-headers-$rel" "usr/lib/linux-image-$rel"; do
		if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
	done)
	[ -z "$left" ] || { echo "  left behind by $k: $left"; rc=1; }
	in_root dpkg-query -W -f='${Status}\n' "$k" "linux-headers-$rel" 2> /dev/null |
		grep -v 'not-installed' && rc=1
	result "kernel:purge:$rel" "$rc"
done
after=$(mktemp)
snap_files > "$after"
extra=$(comm -13 "$before" "$after")
rc=0
[ -z "$extra" ] || { echo "  files added by the kernels and not removed:"; echo "$extra" | head -n 20 | sed 's/^/    /'; rc=1; }
result kernel:nothing-left "$rc"
rm -f "$before" "$after"
