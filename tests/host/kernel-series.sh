#!/usr/bin/env bash
# kernel-series.sh: every prefix of the kernel patch series builds.
#
# Applies kernel-src/patches/series one patch at a time to a pristine
# worktree of the kernel tree (build/kernel/series-check) and, after each
# patch, builds the io_uring objects of the test flavour in their own object
# directory (build/kernel/obj-series): io_uring/ is where the series lives,
# and make rebuilds whatever a changed header touches there. A warning in an
# io_uring file counts as a failure, as it would in review.
#
# Prints "PASS <patch>" or "FAIL <patch>" per patch (tests/host/run.sh
# imports them as kernel-series:<patch>); build logs of failures go to
# stdout after the line. Needs the kernel tree of kernel-src/fetch.sh.
. "$(dirname "$0")/../../scripts/common.sh"

tree=$("$ZCG_TOP/kernel-src/fetch.sh")
patchdir=$ZCG_TOP/kernel-src/patches
wt=$ZCG_BUILD/kernel/series-check
obj=$ZCG_BUILD/kernel/obj-series
mkdir -p "$obj"

# The test flavour's configuration, made on the whole series (it names
# options that only later patches add); each prefix keeps what it knows.
"$ZCG_TOP/kernel-src/config.sh" test "$tree" "$obj/full" >/dev/null
cp "$obj/full/.config" "$obj/config.full"
rm -rf "$obj/full"

if [ -d "$wt" ]; then
	git -C "$tree" worktree remove --force "$wt"
fi
git -C "$tree" worktree prune
git -C "$tree" worktree add -q --detach "$wt" zcg-base

export CCACHE_DIR=${CCACHE_DIR:-$ZCG_CACHE/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ZCG_TOP}
[ -d /usr/lib/ccache ] && export PATH=/usr/lib/ccache:$PATH
kmake() {
	make -C "$wt" O="$obj" ARCH=x86_64 LOCALVERSION= -j"$(nproc)" "$@"
}

rc=0
while IFS= read -r p; do
	case $p in ''|'#'*) continue ;; esac
	lg=$obj/${p%.patch}.log
	if ! git -C "$wt" apply --index "$patchdir/$p" > "$lg" 2>&1; then
		echo "FAIL $p (does not apply)"
		sed 's/^/    /' "$lg"
		rc=1
		break
	fi
	cp "$obj/config.full" "$obj/.config"
	if kmake olddefconfig > "$lg" 2>&1 && kmake io_uring/ >> "$lg" 2>&1 &&
		! grep -E '^[^ ]*io_uring/[^ ]*: (warning|error):' "$lg" >&2; then
		echo "PASS $p"
	else
		echo "FAIL $p"
		grep -E 'warning:|error:|Error' "$lg" | head -n 40 | sed 's/^/    /'
		rc=1
	fi
done < "$patchdir/series"

git -C "$tree" worktree remove --force "$wt"
exit "$rc"
