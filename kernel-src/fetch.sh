#!/usr/bin/env bash
# Obtain the pinned Debian linux-source-6.12, verify it, extract it under
# build/kernel/ and apply kernel-src/patches/series.
# Prints the path of the patched tree on stdout.
. "$(dirname "$0")/../scripts/common.sh"
. "$ZCG_TOP/kernel-src/pin.env"

tarname=linux-source-${LINUX_SOURCE_PKG#linux-source-}.tar.xz
cache=$ZCG_CACHE/kernel
tarball=$cache/$LINUX_SOURCE_VERSION/$tarname
mkdir -p "$cache"

if [ ! -f "$tarball" ]; then
	log "downloading $LINUX_SOURCE_PKG=$LINUX_SOURCE_VERSION"
	tmp=$(mktemp -d "$cache/dl.XXXXXX")
	chmod 755 "$tmp"
	if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$LINUX_SOURCE_PKG=$LINUX_SOURCE_VERSION" >&2); then
		rm -rf "$tmp"
		log "the pinned $LINUX_SOURCE_PKG $LINUX_SOURCE_VERSION is not in this host's apt index."
		log "Run 'apt-get update' first. If it is still missing, it has left the registry:"
		log "pick a version from 'apt-cache policy $LINUX_SOURCE_PKG', and set"
		log "LINUX_SOURCE_VERSION and LINUX_SOURCE_SHA256 in kernel-src/pin.env"
		log "(the sha256 of /usr/src/$tarname inside that package)."
		die "pinned kernel source unavailable"
	fi
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" "./usr/src/$tarname"
	sha256_check "$tmp/usr/src/$tarname" "$LINUX_SOURCE_SHA256"
	mkdir -p "$(dirname "$tarball")"
	mv "$tmp/usr/src/$tarname" "$tarball"
	rm -rf "$tmp"
fi

tree=$ZCG_BUILD/kernel/linux
if [ ! -f "$tree/Makefile" ]; then
	sha256_check "$tarball" "$LINUX_SOURCE_SHA256"
	log "extracting $tarball"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -xf "$tarball" -C "$tree.tmp" --strip-components=1
	mv "$tree.tmp" "$tree"
fi

apply_series "$tree" "$ZCG_TOP/kernel-src/patches" \
	"Debian $LINUX_SOURCE_PKG $LINUX_SOURCE_VERSION (pristine)"
echo "$tree"
