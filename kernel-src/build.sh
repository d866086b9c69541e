#!/usr/bin/env bash
# build.sh FLAVOUR [unpatched]: build a zcg kernel flavour and package it
# with the kernel's own bindeb-pkg and binrpm-pkg.  The packages land in
# out/kernel-FLAVOUR/ (deb and rpm).  "unpatched" builds the same flavour
# from the pristine source (no zcg patches), for baseline measurements.
. "$(dirname "$0")/../scripts/common.sh"
. "$ZCG_TOP/kernel-src/pin.env"

flavour=${1:?usage: build.sh test|bench|distro [unpatched]}
variant=${2:-}

t0=$(date +%s)
tree=$("$ZCG_TOP/kernel-src/fetch.sh")
name=$flavour
if [ "$variant" = unpatched ]; then
	name=$flavour-unpatched
	src=$ZCG_BUILD/kernel/linux-pristine
	if [ ! -d "$src" ]; then
		git -C "$tree" worktree add -q --detach "$src" zcg-base
	fi
	tree=$src
fi

obj=$ZCG_BUILD/kernel/obj-$name
out=$ZCG_OUT/kernel-$name
"$ZCG_TOP/kernel-src/config.sh" "$flavour" "$tree" "$obj"
if [ "$variant" = unpatched ]; then
	"$tree/scripts/config" --file "$obj/.config" \
		--set-str LOCALVERSION "$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"/\1/p' "$obj/.config")-unpatched"
fi

# ccache through PATH keeps CC == HOSTCC, which binrpm-pkg needs to build
# kernel-devel.
export CCACHE_DIR=${CCACHE_DIR:-$ZCG_CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
# Relative paths in the hash: a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ZCG_TOP}
[ -d /usr/lib/ccache ] && export PATH=/usr/lib/ccache:$PATH
export KBUILD_BUILD_USER=zcg KBUILD_BUILD_HOST=zcg

kmake() {
	make -C "$tree" O="$obj" ARCH=x86_64 LOCALVERSION= -j"$(nproc)" "$@"
}

phase_time "kernel-$name source+config" "$t0"
start=$(date +%s)
kmake olddefconfig >/dev/null
kmake -s all
krel=$(kmake -s kernelrelease)
log "built $krel in $(( $(date +%s) - start )) s"
phase_time "kernel-$name build" "$start"
t0=$(date +%s)

rm -rf "$out" "$obj"/rpmbuild/RPMS "$obj"/../*.deb
mkdir -p "$out"
pkgver=$(kmake -s kernelversion)-$ZCG_KERNEL_PKGREV+zcg
kmake -s bindeb-pkg KDEB_PKGVERSION="$pkgver" >/dev/null
mv "$obj"/../linux-*"$pkgver"_*.deb "$out"/ 2>/dev/null ||
	mv "$ZCG_BUILD"/kernel/linux-*"$pkgver"_*.deb "$out"/
rm -f "$ZCG_BUILD"/kernel/linux-upstream_* "$ZCG_BUILD"/kernel/*.buildinfo "$ZCG_BUILD"/kernel/*.changes
kmake -s binrpm-pkg >/dev/null
find "$obj/rpmbuild/RPMS" -name '*.rpm' -exec mv {} "$out"/ \;
echo "$krel" > "$out/kernelrelease"
phase_time "kernel-$name packages" "$t0"
log "packages for $krel in $out ($(( $(date +%s) - start )) s):"
ls "$out" >&2
