# shellcheck shell=bash
# Shared helpers for the zcg build scripts. Sourced, never executed.

set -euo pipefail

ZCG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZCG_BUILD=${ZCG_BUILD:-$ZCG_TOP/build}
ZCG_OUT=${ZCG_OUT:-$ZCG_TOP/out}
# Downloads and ccache live outside the repository so clean clones reuse them.
ZCG_CACHE=${ZCG_CACHE:-/var/cache/zcg}
export ZCG_TOP ZCG_BUILD ZCG_OUT ZCG_CACHE

log() { printf '[zcg] %s\n' "$*" >&2; }
die() { printf '[zcg] error: %s\n' "$*" >&2; exit 1; }

# The maintainer the packages name: Debian's variables, which the kernel's
# bindeb-pkg reads too.  Set both to build packages of your own.
export DEBFULLNAME=${DEBFULLNAME:-zcg developers}
export DEBEMAIL=${DEBEMAIL:-zcg-dev@zcg.invalid}
case $DEBFULLNAME$DEBEMAIL in
*[/\\\&\<\>]*) die 'DEBFULLNAME and DEBEMAIL must not contain / \ & < >' ;;
esac

# Identity for the commits the scripts make in build trees.
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-zcg build}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-zcg-build@localhost}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}

# phase_time PHASE START [NOTE]: append "END PHASE SECONDS NOTE" (tab
# separated; END and START are epoch seconds) to $ZCG_OUT/logs/times.txt.
# tests/run.sh prints the lines of its own make run (ZCG_RUN_START, set by
# the Makefile) at the end of make test.
phase_time() {
	local end
	end=$(date +%s)
	mkdir -p "$ZCG_OUT/logs"
	printf '%s\t%s\t%s\t%s\n' "$end" "$1" "$((end - $2))" "${3:-}" >> "$ZCG_OUT/logs/times.txt"
}

# sha256_check FILE EXPECTED
sha256_check() {
	local got
	got=$(sha256sum "$1" | cut -d' ' -f1)
	[ "$got" = "$2" ] || die "checksum mismatch for $1: expected $2, got $got"
}

# host_mirror [SUITE-PATTERN]: the first URI of the host's apt sources whose
# suites match the pattern (deb822 *.sources or one-line sources.list).
host_mirror() {
	local pat=${1:-bookworm}
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk -v pat="$pat" '
			/^URIs:/ { u = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i ~ "^" pat "$") s = 1 }
			/^$/ { if (u != "" && s) { print u; done = 1; exit } u = ""; s = 0 }
			END { if (!done && u != "" && s) print u }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk -v pat="$pat" '$1 == "deb" && $3 ~ "^" pat "$" { print $2; exit }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	return 1
}

# apply_series TREE PATCHDIR BASE-MESSAGE
# Makes TREE a git repository whose first commit is the pristine source, then
# applies PATCHDIR/series with git am.  When the series changed since the
# last run, the tree is reset to the pristine commit and the series applied
# again; git only rewrites the files that differ, so builds stay incremental.
apply_series() {
	local tree=$1 pdir=$2 msg=$3 stamp want p
	want=$(cd "$pdir" && { cat series; sed -e '/^#/d' -e '/^$/d' series | xargs -r cat; } | sha256sum | cut -d' ' -f1)
	stamp=$tree/.git/zcg-series
	if [ ! -d "$tree/.git" ]; then
		log "recording pristine tree in git ($tree)"
		git -C "$tree" init -q -b pristine
		git -C "$tree" add -A -f .
		git -C "$tree" commit -q -m "$msg"
		git -C "$tree" tag zcg-base
	fi
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	   [ "$(git -C "$tree" rev-parse HEAD)" = "$(cat "$stamp.head")" ]; then
		return 0
	fi
	if [ -f "$stamp.head" ] && [ "$(git -C "$tree" rev-parse HEAD)" != "$(cat "$stamp.head")" ]; then
		die "$tree has commits that are not in $pdir; run the export target first (or remove $tree)"
	fi
	if ! git -C "$tree" diff --quiet HEAD; then
		die "$tree has uncommitted changes; commit and export them first (or remove $tree)"
	fi
	git -C "$tree" checkout -q -B zcg zcg-base
	while read -r p; do
		case $p in ''|'#'*) continue ;; esac
		[ -f "$pdir/$p" ] || die "series names $p, which is not in $pdir"
		if ! git -C "$tree" am -q --keep-cr "$pdir/$p" >/dev/null 2>&1; then
			git -C "$tree" am --abort >/dev/null 2>&1 || true
			die "patch does not apply: $pdir/$p"
		fi
	done < "$pdir/series"
	echo "$want" > "$stamp"
	git -C "$tree" rev-parse HEAD > "$stamp.head"
	log "applied $(git -C "$tree" rev-list --count zcg-base..HEAD) patches from $pdir"
}

# export_series TREE PATCHDIR: write the tree's commits above the pristine
# base back to PATCHDIR as git format-patch output plus a series file.
export_series() {
	local tree=$1 pdir=$2
	rm -f "$pdir"/*.patch
	git -C "$tree" format-patch -q --no-signature --zero-commit -N \
		-o "$pdir" zcg-base..HEAD
	(cd "$pdir" && ls -- *.patch 2>/dev/null > series) || : > "$pdir/series"
	git -C "$tree" rev-parse HEAD > "$tree/.git/zcg-series.head"
	(cd "$pdir" && { cat series; sed -e '/^#/d' -e '/^$/d' series | xargs -r cat; } | sha256sum | cut -d' ' -f1) > "$tree/.git/zcg-series"
	log "exported $(wc -l < "$pdir/series") patches to $pdir"
}

# libc_headers_dir: the kernel package directory under $ZCG_OUT whose
# userspace headers (linux-libc-dev, kernel-headers) the repositories carry,
# one per repository: the flavour hosts install (distro, then cloud) when
# built, else the test kernel's, else (make bench alone) the bench kernel's.
libc_headers_dir() {
	local f
	for f in distro cloud test bench; do
		if [ -s "$ZCG_OUT/kernel-$f/kernelrelease" ]; then
			echo "$ZCG_OUT/kernel-$f"
			return 0
		fi
	done
	return 1
}
