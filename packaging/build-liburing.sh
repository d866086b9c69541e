#!/usr/bin/env bash
# Build the liburing fork's packages into out/liburing/:
#   .deb  liburing2, liburing-dev, zcg-tests  (packaging/debian, dpkg-buildpackage)
#   .rpm  liburing, liburing-devel, zcg-tests (packaging/rpm/liburing.spec, rpmbuild)
# The source is the patched tree of liburing-fork/fetch.sh plus the
# repository's man pages (man/*.3, man/*.7) and the zcg suite (tests/zcg).
# Nothing is rebuilt when none of those inputs changed.
#
# Environment: ZCG_JOBS (parallel jobs, default 2); ZCG_TESTS_SRC (the zcg
# suite's directory, default tests/zcg; e.g. a work-in-progress copy).
. "$(dirname "$0")/../scripts/common.sh"

t0=$(date +%s)
jobs=${ZCG_JOBS:-2}
pkgdir=$ZCG_TOP/packaging
spec=$pkgdir/rpm/liburing.spec
zcgdir=${ZCG_TESTS_SRC:-$ZCG_TOP/tests/zcg}
work=$ZCG_BUILD/liburing/pkg
out=$ZCG_OUT/liburing

tree=$(bash "$ZCG_TOP/liburing-fork/fetch.sh")
rpmver=$(awk '$1 == "Version:" { print $2; exit }' "$spec")
debver=$(dpkg-parsechangelog -l "$pkgdir/debian/changelog" -SVersion)
[ -n "$rpmver" ] || die "no Version in $spec"
name=liburing-$rpmver
src=$work/$name

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

mapfile -t man_files < <(list_files "$ZCG_TOP/man" '*.3' '*.7')
mapfile -t zcg_files < <(list_files "$zcgdir" '*')
mapfile -t bench_files < <(list_files "$ZCG_TOP/bench" Makefile '*.c' zcg-bench-run)
if [ ! -f "$zcgdir/Makefile" ]; then
	log "##############################################################"
	log "WARNING: $zcgdir/Makefile is missing: zcg-tests will only"
	log "WARNING: hold liburing's upstream tests, not the zcg suite."
	log "##############################################################"
	zcg_files=()
fi

# Everything the packages are made of, hashed: skip the build if unchanged.
inputs=$({
	echo "tree $(git -C "$tree" rev-parse HEAD) jobs $jobs"
	(cd "$pkgdir" && find . -type f | sort | xargs sha256sum)
	[ "${#man_files[@]}" -eq 0 ] || (cd "$ZCG_TOP/man" && sha256sum -- "${man_files[@]}")
	[ "${#zcg_files[@]}" -eq 0 ] || (cd "$zcgdir" && sha256sum -- "${zcg_files[@]}")
	[ "${#bench_files[@]}" -eq 0 ] || (cd "$ZCG_TOP/bench" && sha256sum -- "${bench_files[@]}")
	sha256sum "$ZCG_TOP/scripts/common.sh"
} | sha256sum | cut -d' ' -f1)
stamp=$out/.inputs
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] &&
   compgen -G "$out/*.deb" >/dev/null && compgen -G "$out/*.rpm" >/dev/null; then
	log "liburing packages are up to date in $out"
	phase_time "liburing packages" "$t0" "up to date, nothing built"
	exit 0
fi

# Scratch source tree: the committed state of the fork (no build products),
# upstream's own debian/ dropped, our man pages and the zcg suite added.
log "preparing $src"
rm -rf "$work"
mkdir -p "$work/rpm/SOURCES"
git -C "$tree" archive --format=tar --prefix="$name/" HEAD | tar -x -C "$work"
rm -rf "$src/debian"
for f in "${man_files[@]}"; do
	[ ! -e "$src/man/$f" ] || log "man/$f replaces the fork's page of the same name"
	cp "$ZCG_TOP/man/$f" "$src/man/"
done
if [ "${#zcg_files[@]}" -gt 0 ]; then
	mkdir -p "$src/zcg"
	(cd "$zcgdir" && cp --parents -- "${zcg_files[@]}" "$src/zcg/")
fi
[ "${#bench_files[@]}" -eq 0 ] || { mkdir -p "$src/bench" && (cd "$ZCG_TOP/bench" && cp -- "${bench_files[@]}" "$src/bench/"); }

# The rpm source tarball (reproducible), then the Debian packaging.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-czf "$work/rpm/SOURCES/$name.tar.gz" -C "$work" "$name"
cp -r "$pkgdir/debian" "$src/debian"

log "building .deb packages ($debver)"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs noddebs" \
	dpkg-buildpackage -b -us -uc >&2) || die "dpkg-buildpackage failed"

log "building .rpm packages ($rpmver)"
rpmbuild -bb --nodeps \
	--define "_topdir $work/rpm" \
	--define "_smp_mflags -j$jobs" \
	"$spec" >&2 || die "rpmbuild failed"

# Sanity: ABI and versions of what was built.
soname=$(readelf -d "$src"/src/liburing.so.2.* | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = liburing.so.2 ] || die "SONAME is '$soname', expected liburing.so.2"
pcver=$(sed -n 's/^Version: //p' "$src/liburing.pc")
[ "$pcver" = "$rpmver" ] || die "liburing.pc says $pcver, the rpm spec $rpmver"

rm -rf "$out"
mkdir -p "$out"
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
cp "$work"/rpm/RPMS/*/*.rpm "$out"/
echo "$inputs" > "$stamp"
phase_time "liburing packages" "$t0"
log "liburing packages in $out:"
(cd "$out" && ls -1 -- *.deb *.rpm) | sed 's/^/[zcg]   /' >&2
