#!/usr/bin/env bash
# build.sh FLAVOUR [unpatched|base=REV]: build a zcg kernel flavour and
# package it with the kernel's own bindeb-pkg and binrpm-pkg.  The packages
# land in out/kernel-FLAVOUR/ (deb and rpm).  "unpatched" builds the same
# flavour from the pristine source (no zcg patches), for baseline
# measurements; "base=REV" builds it with the kernel patch series as it was
# in this repository's commit REV (configuration and scripts as now), into
# out/kernel-FLAVOUR-base/ with release suffix -base, to measure a change of
# the series against an earlier one.
. "$(dirname "$0")/../scripts/common.sh"
. "$ZCG_TOP/kernel-src/pin.env"

flavour=${1:?usage: build.sh test|bench|distro|cloud [unpatched|base=REV]}
variant=${2:-}

t0=$(date +%s)
tree=$("$ZCG_TOP/kernel-src/fetch.sh")
name=$flavour
bind_src=''
if [ "$variant" = unpatched ]; then
	name=$flavour-unpatched
	src=$ZCG_BUILD/kernel/linux-pristine
	if [ ! -d "$src" ]; then
		git -C "$tree" worktree add -q --detach "$src" zcg-base
	fi
	# Built like base=REV below, with the pristine tree mounted over the
	# main one: only what the series changes is compiled again.
	bind_src=$src
	export ZCG_CONFIG_PRISTINE=1
elif [ "${variant%%=*}" = base ]; then
	rev=$(git -C "$ZCG_TOP" rev-parse --verify "${variant#base=}^{commit}") ||
		die "base=${variant#base=}: no such commit"
	name=$flavour-base
	src=$ZCG_BUILD/kernel/linux-base
	pdir=$ZCG_BUILD/kernel/patches-base
	rm -rf "$pdir"
	mkdir -p "$pdir"
	git -C "$ZCG_TOP" archive "$rev" kernel-src/patches |
		tar -x -C "$pdir" --strip-components=2
	[ -d "$src" ] || git -C "$tree" worktree add -q --detach "$src" zcg-base
	git -C "$src" am --abort >/dev/null 2>&1 || true
	git -C "$src" checkout -q -f --detach zcg-base
	while read -r p; do
		case $p in ''|'#'*) continue ;; esac
		git -C "$src" am -q --keep-cr "$pdir/$p" >/dev/null ||
			die "series of $rev: $p does not apply"
	done < "$pdir/series"
	log "kernel $name: the series of $rev ($(git -C "$src" rev-list --count zcg-base..HEAD) patches)"
	# Built with this tree mounted over the main one (in_tree): the compiler
	# sees the same paths, so ccache hits for every file the series of REV
	# leaves as ours, and only what differs is compiled.
	bind_src=$src
elif [ -n "$variant" ]; then
	die "unknown variant '$variant' (unpatched or base=REV)"
fi

obj=$ZCG_BUILD/kernel/obj-$name
out=$ZCG_OUT/kernel-$name

# in_tree CMD...: run CMD, in a private mount namespace with $bind_src
# mounted over $tree if it is set.
in_tree() {
	if [ -z "$bind_src" ]; then
		"$@"
		return
	fi
	# shellcheck disable=SC2016  # expanded by the inner shell
	unshare --mount --propagation private \
		sh -c 'mount --bind "$1" "$2" || exit 1; shift 2; exec "$@"' \
		sh "$bind_src" "$tree" "$@"
}

in_tree "$ZCG_TOP/kernel-src/config.sh" "$flavour" "$tree" "$obj"
if [ "$name" != "$flavour" ]; then
	"$tree/scripts/config" --file "$obj/.config" \
		--set-str LOCALVERSION "$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"/\1/p' "$obj/.config")-${name#"$flavour"-}"
fi

# ccache through PATH keeps CC == HOSTCC, which binrpm-pkg needs to build
# kernel-devel.
export CCACHE_DIR=${CCACHE_DIR:-$ZCG_CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
# Relative paths in the hash: a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ZCG_TOP}
[ -d /usr/lib/ccache ] && export PATH=/usr/lib/ccache:$PATH
# The "user@host" of the kernel's version banner (/proc/version): the
# maintainer address the packages carry, not a placeholder.
export KBUILD_BUILD_USER=${DEBEMAIL%@*} KBUILD_BUILD_HOST=${DEBEMAIL#*@}
# The host programs that linux-headers ships (fixdep, modpost, objtool...)
# are linked stripped, as a distribution ships binaries (lintian).
export HOSTLDFLAGS="${HOSTLDFLAGS:+$HOSTLDFLAGS }-s"
# The build number and date in the kernel's version string: the deb's
# revision and the author date of the tree's last commit (a patch keeps
# its own). The same for the build and the deb packaging, which runs make
# all again (a new string would relink vmlinux), and for every build of
# the same tree.
pkgver=$(make -s -C "$tree" kernelversion)-$ZCG_KERNEL_PKGREV+zcg
export KBUILD_BUILD_VERSION=${pkgver##*-}
KBUILD_BUILD_TIMESTAMP=$(LC_ALL=C date -u -d "@$(git -C "${bind_src:-$tree}" log -1 --format=%at)")
export KBUILD_BUILD_TIMESTAMP

kmake() {
	in_tree make -C "$tree" O="$obj" ARCH=x86_64 LOCALVERSION= -j"$(nproc)" "$@"
}

phase_time "kernel-$name source+config" "$t0"
start=$(date +%s)
kmake olddefconfig >/dev/null
# make resumes a killed build, but for objects it left half made
bash "$ZCG_TOP/kernel-src/drop-partial-objects.sh" "$obj" >&2
kmake -s all
krel=$(kmake -s kernelrelease)
log "built $krel in $(( $(date +%s) - start )) s"
phase_time "kernel-$name build" "$start"
t0=$(date +%s)

rm -rf "$out" "$obj"/rpmbuild/RPMS "$obj"/../*.deb
mkdir -p "$out"
kmake -s bindeb-pkg KDEB_PKGVERSION="$pkgver" >/dev/null
mv "$obj"/../linux-*"$pkgver"_*.deb "$out"/ 2>/dev/null ||
	mv "$ZCG_BUILD"/kernel/linux-*"$pkgver"_*.deb "$out"/
rm -f "$ZCG_BUILD"/kernel/linux-upstream_* "$ZCG_BUILD"/kernel/*.buildinfo "$ZCG_BUILD"/kernel/*.changes
for deb in "$out"/linux-headers-*.deb; do
	bash "$ZCG_TOP/kernel-src/headers-depends.sh" "$deb"
done
kmake -s binrpm-pkg RPMOPTS="--define 'packager $DEBFULLNAME <$DEBEMAIL>'" >/dev/null
find "$obj/rpmbuild/RPMS" -name '*.rpm' -exec mv {} "$out"/ \;
echo "$krel" > "$out/kernelrelease"
phase_time "kernel-$name packages" "$t0"
log "packages for $krel in $out ($(( $(date +%s) - start )) s):"
ls "$out" >&2
