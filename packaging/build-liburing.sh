#!/usr/bin/env bash
# Build the liburing fork's source and binary packages into out/liburing/:
#   Debian  liburing_VERSION.dsc ("3.0 (quilt)": the pinned upstream tarball
#           as .orig.tar.gz, packaging/debian with the patches below in
#           debian/patches), and the .debs liburing2, liburing-dev, zcg-tests
#   rpm     liburing-VERSION.src.rpm (the same tarball and patches, applied
#           by %autosetup), and the .rpms liburing, liburing-devel, zcg-tests
# The patches: liburing-fork/patches (series order), then one generated
# patch, zcg-suite.patch, that adds what this repository ships beside the
# fork: the man pages (man/), the zcg suite (tests/zcg, as zcg/) and the
# benchmark (bench/).  Nothing is rebuilt when none of those inputs changed.
#
# Environment: ZCG_JOBS (parallel jobs, default 2); ZCG_TESTS_SRC (the zcg
# suite's directory, default tests/zcg; e.g. a work-in-progress copy);
# DEBFULLNAME, DEBEMAIL (the maintainer the packages name; scripts/common.sh).
. "$(dirname "$0")/../scripts/common.sh"
. "$ZCG_TOP/liburing-fork/pin.env"

t0=$(date +%s)
jobs=${ZCG_JOBS:-2}
pkgdir=$ZCG_TOP/packaging
spec_in=$pkgdir/rpm/liburing.spec
zcgdir=${ZCG_TESTS_SRC:-$ZCG_TOP/tests/zcg}
fork=$ZCG_TOP/liburing-fork/patches
work=$ZCG_BUILD/liburing/pkg
out=$ZCG_OUT/liburing

# The pinned tarball (fetch.sh downloads and checks it).
orig=$(bash "$ZCG_TOP/liburing-fork/fetch.sh" --orig)
upver=$LIBURING_UPSTREAM_VERSION
rpmver=$(awk '$1 == "Version:" { print $2; exit }' "$spec_in")
debver=$(dpkg-parsechangelog -l "$pkgdir/debian/changelog" -SVersion)
[ -n "$rpmver" ] || die "no Version in $spec_in"
topdir=$({ tar -tzf "$orig" 2> /dev/null || true; } | head -n 1)
topdir=${topdir%%/*}
[ -n "$topdir" ] || die "cannot read $orig"

[ -f "$zcgdir/Makefile" ] || die "$zcgdir/Makefile is missing: zcg-tests is not built without the zcg suite"
[ -f "$ZCG_TOP/bench/Makefile" ] || die "bench/Makefile is missing: zcg-tests is not built without the benchmark"

# list_files DIR PATTERN...: the repository's source files under DIR that
# match a pattern, without build products (git's ignore rules when the
# repository is a git checkout).
list_files() {
	local dir=$1
	shift
	[ -d "$dir" ] || return 0
	if git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$dir" && git ls-files -co --exclude-standard -- "$@")
	else
		(cd "$dir" && for p in "$@"; do find . -maxdepth 1 -type f -name "$p" \
			! -name '*.o' ! -name '*.t' -printf '%P\n'; done)
	fi | sort -u
}
mapfile -t man_files < <(list_files "$ZCG_TOP/man" '*.1' '*.3' '*.7')
mapfile -t zcg_files < <(list_files "$zcgdir" '*')
mapfile -t bench_files < <(list_files "$ZCG_TOP/bench" Makefile '*.c' zcg-bench-run)
mapfile -t fork_patches < <(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$fork/series")

# Everything the packages are made of, hashed: skip the build if unchanged.
inputs=$({
	echo "orig $LIBURING_ORIG_SHA256 jobs $jobs maintainer $DEBFULLNAME <$DEBEMAIL>"
	(cd "$fork" && sha256sum series "${fork_patches[@]}")
	(cd "$pkgdir" && find . -type f | sort | xargs sha256sum)
	(cd "$ZCG_TOP/man" && sha256sum -- "${man_files[@]}")
	(cd "$zcgdir" && sha256sum -- "${zcg_files[@]}")
	(cd "$ZCG_TOP/bench" && sha256sum -- "${bench_files[@]}")
	sha256sum "$ZCG_TOP/scripts/common.sh" "$0"
} | sha256sum | cut -d' ' -f1)
stamp=$out/.inputs
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] &&
   compgen -G "$out/*.deb" >/dev/null && compgen -G "$out/*.rpm" >/dev/null; then
	log "liburing packages are up to date in $out"
	phase_time "liburing packages" "$t0" "up to date, nothing built"
	exit 0
fi

rm -rf "$work"
mkdir -p "$work/patches" "$work/add/empty" "$work/add/b/man" "$work/add/b/zcg" "$work/add/b/bench"

# 1. The patches: the fork's, then zcg-suite.patch (new files only; none of
# them is in the tarball).
cp -- "${fork_patches[@]/#/$fork/}" "$work/patches/"
(cd "$ZCG_TOP/man" && cp -- "${man_files[@]}" "$work/add/b/man/")
(cd "$zcgdir" && cp --parents -- "${zcg_files[@]}" "$work/add/b/zcg/")
(cd "$ZCG_TOP/bench" && cp -- "${bench_files[@]}" "$work/add/b/bench/")
for f in "${man_files[@]/#/man/}" "${zcg_files[@]/#/zcg/}" "${bench_files[@]/#/bench/}"; do
	! tar -tzf "$orig" "$topdir/$f" > /dev/null 2>&1 || die "$f is in the upstream tarball already"
done
find "$work/add/b" -exec touch -h -d @0 {} +
{
	cat <<-EOT
	Description: the zcg regression suite, benchmark and manual pages
	 What the zcg repository ships beside the fork's patches: the zcg test
	 suite and zcg-selftest (zcg/), the zcg-bench benchmark (bench/), and
	 the manual pages of the zcg helpers and commands (man/).
	Author: $DEBFULLNAME <$DEBEMAIL>
	Forwarded: not-needed
	---
	EOT
	rc=0
	(cd "$work/add" && LC_ALL=C TZ=UTC diff -Nru empty b) || rc=$?
	[ "$rc" = 1 ] || die "diff of the zcg additions failed ($rc)"
} > "$work/patches/zcg-suite.patch"
{
	printf '%s\n' "${fork_patches[@]}"
	echo zcg-suite.patch
} > "$work/patches/series"

# 2. The Debian source package and the .debs.
mkdir -p "$work/deb"
tar -xzf "$orig" -C "$work/deb"
ln -s "$orig" "$work/deb/${LIBURING_SRC_PKG}_$upver.orig.tar.gz"
dsrc=$work/deb/$topdir
# Upstream's own debian/ goes, as dpkg-source -x drops it for 3.0 (quilt).
rm -rf "$dsrc/debian"
cp -r "$pkgdir/debian" "$dsrc/debian"
cp -r "$work/patches" "$dsrc/debian/patches"
sed -i "s/^Maintainer: .*/Maintainer: $DEBFULLNAME <$DEBEMAIL>/" "$dsrc/debian/control"
sed -i "s/^ -- [^<]*<[^>]*>/ -- $DEBFULLNAME <$DEBEMAIL>/" "$dsrc/debian/changelog"
log "building the Debian source and binary packages ($debver)"
(cd "$dsrc" && DEB_BUILD_OPTIONS="parallel=$jobs noddebs" \
	dpkg-buildpackage -us -uc >&2) || die "dpkg-buildpackage failed"

# 3. The SRPM and the .rpms: the spec with one PatchN line per patch.
rpmtop=$work/rpm
mkdir -p "$rpmtop/SOURCES" "$rpmtop/SPECS"
cp "$orig" "$rpmtop/SOURCES/$topdir.tar.gz"
cp "$work"/patches/*.patch "$rpmtop/SOURCES/"
spec=$rpmtop/SPECS/liburing.spec
n=0
while read -r p; do
	n=$((n + 1))
	printf 'Patch%d:%*s%s\n' "$n" $((10 - ${#n})) '' "$p"
done < "$work/patches/series" > "$work/patch-lines"
sed -e "/^#ZCG-PATCHES#$/{r $work/patch-lines" -e 'd}' \
	-e "s/@TOPDIR@/$topdir/g" \
	-e "s/@PACKAGER@/$DEBFULLNAME <$DEBEMAIL>/g" "$spec_in" > "$spec"
grep -q '^Patch1:' "$spec" || die "no Patch lines in $spec (#ZCG-PATCHES# missing in $spec_in?)"
log "building the SRPM and the .rpms ($rpmver)"
rpmbuild -ba --nodeps \
	--define "_topdir $rpmtop" \
	--define "_smp_mflags -j$jobs" \
	--define "packager $DEBFULLNAME <$DEBEMAIL>" \
	--define "__os_install_post $pkgdir/rpm/finish-buildroot.sh" \
	"$spec" >&2 || die "rpmbuild failed"

# Sanity: ABI and versions of what was built.
soname=$(readelf -d "$dsrc"/src/liburing.so.2.* | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = liburing.so.2 ] || die "SONAME is '$soname', expected liburing.so.2"
pcver=$(sed -n 's/^Version: //p' "$dsrc/liburing.pc")
[ "$pcver" = "$rpmver" ] || die "liburing.pc says $pcver, the rpm spec $rpmver"

rm -rf "$out"
mkdir -p "$out"
cp "$work"/deb/*.deb "$work"/deb/*.dsc "$work"/deb/*.debian.tar.* "$work"/deb/*.buildinfo \
	"$work"/deb/*.changes "$out"/
cp -L "$work/deb/${LIBURING_SRC_PKG}_$upver.orig.tar.gz" "$out"/
cp "$rpmtop"/RPMS/*/*.rpm "$rpmtop"/SRPMS/*.src.rpm "$out"/
echo "$inputs" > "$stamp"
phase_time "liburing packages" "$t0"
log "liburing packages in $out:"
(cd "$out" && ls -1 -- *.dsc *.deb *.rpm) | sed 's/^/[zcg]   /' >&2
