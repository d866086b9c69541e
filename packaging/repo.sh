#!/usr/bin/env bash
# Gather every .deb under out/ (liburing's in out/liburing/, the kernels' in
# out/kernel-*/) into out/repo/ and make it a flat apt repository:
#   deb [trusted=yes] file:/path/to/out/repo ./
# When two directories hold a .deb of the same file name with different
# contents (e.g. linux-libc-dev of several kernel flavours), the first one
# wins: liburing, then the kernel flavours in name order, "-unpatched"
# baselines last. Nothing is redone when no .deb changed.
. "$(dirname "$0")/../scripts/common.sh"

t0=$(date +%s)
repo=$ZCG_OUT/repo
mkdir -p "$repo"

# Candidates in priority order.
mapfile -t debs < <(
	find "$ZCG_OUT" -path "$repo" -prune -o -type f -name '*.deb' -printf '%h\t%p\n' |
	awk -F'\t' '{
		rank = ($1 ~ /\/liburing$/) ? 0 : ($1 ~ /-unpatched$/) ? 2 : 1
		print rank "\t" $2
	}' | sort -t"$(printf '\t')" -k1,1n -k2,2 | cut -f2)
[ "${#debs[@]}" -gt 0 ] || die "no .deb under $ZCG_OUT (make liburing / make kernel first)"

# Skip everything when the same files were indexed last time (path, size,
# mtime, inode).
state=$(for f in "${debs[@]}"; do stat -c '%n %s %y %i' "$f"; done | sha256sum | cut -d' ' -f1)
if [ -f "$repo/.state" ] && [ "$(cat "$repo/.state")" = "$state" ] &&
   [ -f "$repo/Release" ]; then
	log "apt repository $repo is up to date"
	phase_time "apt repository" "$t0" "up to date, nothing done"
	exit 0
fi

rm -f "$repo"/*.deb "$repo"/Packages "$repo"/Packages.gz "$repo"/Release "$repo/.state"
declare -A from=()
for f in "${debs[@]}"; do
	b=${f##*/}
	if [ -n "${from[$b]:-}" ]; then
		cmp -s "$f" "$repo/$b" ||
			log "warning: $b differs between ${from[$b]} and ${f%/*}; keeping the one from ${from[$b]}"
		continue
	fi
	from[$b]=${f%/*}
	ln "$f" "$repo/$b" 2>/dev/null || cp -p "$f" "$repo/$b"
done

# No apt-ftparchive cache: it is keyed by file name, and rebuilt packages
# (or another clone's) keep their names, so a cache could index stale
# checksums. Hashing the packages takes about a second.
cd "$repo" || die "cannot enter $repo"
apt-ftparchive -q packages . > Packages
gzip -9n < Packages > Packages.gz
apt-ftparchive \
	-o APT::FTPArchive::Release::Origin=zcg \
	-o APT::FTPArchive::Release::Label=zcg \
	-o APT::FTPArchive::Release::Suite=zcg \
	-o APT::FTPArchive::Release::Codename=zcg \
	-o "APT::FTPArchive::Release::Description=zcg kernel and liburing packages" \
	release . > Release.tmp
mv Release.tmp Release
echo "$state" > .state
phase_time "apt repository" "$t0"
log "apt repository $repo: $(grep -c '^Package:' Packages) packages"
log "use it with: deb [trusted=yes] file:$repo ./"
