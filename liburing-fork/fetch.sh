#!/usr/bin/env bash
# Obtain the pinned liburing upstream tarball from Debian's liburing source
# package (sid), verify it, extract it under build/liburing/ and apply
# liburing-fork/patches/series.
# Prints the path of the patched tree on stdout; logs go to stderr.
# With --orig, only downloads and checks the tarball and prints its path
# (the packages and upstream's test suite are built from it, not the tree).
#
# apt runs with a private configuration (own sources file, lists and cache
# under $ZCG_CACHE/liburing/apt): the host's apt sources and state are never
# touched. Once the tarball is cached, nothing is downloaded again.
. "$(dirname "$0")/../scripts/common.sh"
. "$ZCG_TOP/liburing-fork/pin.env"

pkg=$LIBURING_SRC_PKG
upver=$LIBURING_UPSTREAM_VERSION
cache=$ZCG_CACHE/liburing
origname=${pkg}_$upver.orig.tar.gz
orig=$cache/$origname
tree=$ZCG_BUILD/liburing/liburing
mkdir -p "$cache"

# fetch_orig: download the source package with apt into a temporary
# directory and move its verified orig tarball to $orig.
fetch_orig() {
	local aptdir=$cache/apt mirror codename tmp ver vers
	if [ -n "${ZCG_MIRROR:-}" ]; then
		mirror=$ZCG_MIRROR
	else
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
		mirror=$(host_mirror "${codename:-bookworm}")
		[ -n "$mirror" ] ||
			die "no apt source for '${codename:-?}' in the host's apt sources; set ZCG_MIRROR to a Debian mirror URI"
	fi
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	printf 'deb-src %s %s main\n' "$mirror" "$LIBURING_SUITE" > "$aptdir/sources.list"
	local apt_opts=(
		-o "Dir::Etc::SourceList=$aptdir/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$aptdir/lists"
		-o "Dir::Cache=$aptdir/cache"
		-o APT::Sandbox::User=root
	)
	log "updating the private apt index ($LIBURING_SUITE source packages from $mirror)"
	apt-get "${apt_opts[@]}" -q update >&2 ||
		die "apt-get update failed for the private $LIBURING_SUITE index"

	# Any Debian revision of the pinned upstream version will do; the
	# orig checksum below is what is pinned.
	vers=$(apt-cache "${apt_opts[@]}" showsrc --only-source "$pkg" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -u)
	ver=$(printf '%s\n' "$vers" | grep -E "^([0-9]+:)?${upver//./\\.}-" | sort -V | tail -n1 || true)
	if [ -z "$ver" ]; then
		log "$pkg $upver is no longer in $LIBURING_SUITE (versions there: $(echo "$vers" | tr '\n' ' '))."
		log "Re-pin: set LIBURING_UPSTREAM_VERSION in liburing-fork/pin.env to one of those,"
		log "empty LIBURING_ORIG_SHA256, run this script once to learn the checksum,"
		log "pin it, and rebase liburing-fork/patches onto the new version."
		die "pinned liburing source unavailable"
	fi
	log "downloading source package $pkg=$ver"
	tmp=$(mktemp -d "$cache/dl.XXXXXX")
	chmod 755 "$tmp"
	if ! (cd "$tmp" && apt-get "${apt_opts[@]}" -q source --download-only "$pkg=$ver" >&2); then
		rm -rf "$tmp"
		die "apt-get source $pkg=$ver failed"
	fi
	[ -f "$tmp/$origname" ] || { rm -rf "$tmp"; die "$pkg $ver has no $origname"; }
	if [ -z "$LIBURING_ORIG_SHA256" ]; then
		log "sha256 of $origname: $(sha256sum "$tmp/$origname" | cut -d' ' -f1)"
		rm -rf "$tmp"
		die "LIBURING_ORIG_SHA256 is empty in liburing-fork/pin.env; pin the checksum above"
	fi
	if ! (sha256_check "$tmp/$origname" "$LIBURING_ORIG_SHA256"); then
		rm -rf "$tmp"
		die "$pkg $ver does not ship the pinned $origname (see liburing-fork/pin.env)"
	fi
	mv "$tmp/$origname" "$orig"
	echo "$ver" > "$cache/$pkg-$upver.debian-version"
	rm -rf "$tmp"
}

[ -f "$orig" ] || fetch_orig
if [ "${1:-}" = --orig ]; then
	sha256_check "$orig" "$LIBURING_ORIG_SHA256"
	echo "$orig"
	exit 0
fi

# (Re-)extract when the tree is missing or was extracted from another pin.
stamp=$ZCG_BUILD/liburing/orig.sha256
if [ -f "$tree/Makefile" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$LIBURING_ORIG_SHA256" ]; then
	if [ -f "$tree/.git/zcg-series.head" ] &&
	   [ "$(git -C "$tree" rev-parse HEAD)" = "$(cat "$tree/.git/zcg-series.head")" ] &&
	   git -C "$tree" diff --quiet HEAD; then
		log "$tree comes from another liburing pin; replacing it"
		rm -rf "$tree"
	else
		die "$tree comes from another liburing pin and has local work; export it, then remove $tree"
	fi
fi
if [ ! -f "$tree/Makefile" ]; then
	sha256_check "$orig" "$LIBURING_ORIG_SHA256"
	log "extracting $orig"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -xzf "$orig" -C "$tree.tmp" --strip-components=1
	mv "$tree.tmp" "$tree"
	echo "$LIBURING_ORIG_SHA256" > "$stamp"
fi

apply_series "$tree" "$ZCG_TOP/liburing-fork/patches" \
	"liburing $upver upstream tarball ($origname, pristine)"
echo "$tree"
