#!/usr/bin/env bash
# Gather every .deb under out/ (liburing's in out/liburing/, the kernels' in
# out/kernel-*/) into out/repo/ and make it a signed flat apt repository
# (InRelease and Release.gpg, signed with packaging/repo-key.sh's key, whose
# public part is out/repo/zcg-archive-keyring.gpg):
#   deb [signed-by=/path/to/zcg-archive-keyring.gpg] file:/path/to/out/repo ./
# linux-libc-dev comes from one flavour only (libc_headers_dir in
# scripts/common.sh: the host flavour when built, else the test kernel).
# When two directories hold another .deb of the same file name with
# different contents, the first one wins: liburing, then the kernel flavours
# in name order, the "-unpatched" and "-base" (earlier series) benchmark
# kernels last.  liburing's source package (.dsc) is indexed too (Sources),
# for deb-src.  Nothing is redone when no package changed.
. "$(dirname "$0")/../scripts/common.sh"

t0=$(date +%s)
repo=$ZCG_OUT/repo
mkdir -p "$repo"

# Candidates in priority order.
mapfile -t debs < <(
	find "$ZCG_OUT" -path "$repo" -prune -o -type f -name '*.deb' -printf '%h\t%p\n' |
	awk -F'\t' '{
		rank = ($1 ~ /\/liburing$/) ? 0 : ($1 ~ /-(unpatched|base)$/) ? 2 : 1
		print rank "\t" $2
	}' | sort -t"$(printf '\t')" -k1,1n -k2,2 | cut -f2)
[ "${#debs[@]}" -gt 0 ] || die "no .deb under $ZCG_OUT (make liburing / make kernel first)"
hdrs=$(libc_headers_dir) || die "no kernel packages under $ZCG_OUT (make kernel first)"
mapfile -t debs < <(for f in "${debs[@]}"; do
	case ${f##*/} in linux-libc-dev_*) [ "${f%/*}" = "$hdrs" ] || continue ;; esac
	echo "$f"
done)
mapfile -t srcs < <(find "$ZCG_OUT/liburing" -maxdepth 1 -type f \
	\( -name '*.dsc' -o -name '*.orig.tar.*' -o -name '*.debian.tar.*' \) | sort)

# Skip everything when the same files were indexed last time (path, size,
# mtime, inode).
read -r gnupghome keyid < <(bash "$ZCG_TOP/packaging/repo-key.sh") ||
	die "no repository signing key"
state=$({ echo "$keyid"; for f in "${debs[@]}" "${srcs[@]}"; do stat -c '%n %s %y %i' "$f"; done; } |
	sha256sum | cut -d' ' -f1)
if [ -f "$repo/.state" ] && [ "$(cat "$repo/.state")" = "$state" ] &&
   [ -f "$repo/InRelease" ]; then
	log "apt repository $repo is up to date"
	phase_time "apt repository" "$t0" "up to date, nothing done"
	exit 0
fi

rm -f "$repo"/*.deb "$repo"/*.dsc "$repo"/*.tar.* "$repo"/Sources "$repo"/Sources.gz \
	"$repo"/Packages "$repo"/Packages.gz "$repo"/Release \
	"$repo"/InRelease "$repo"/Release.gpg "$repo/.state"
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
for f in "${srcs[@]}"; do
	ln "$f" "$repo/${f##*/}" 2>/dev/null || cp -p "$f" "$repo/${f##*/}"
done

cd "$repo" || die "cannot enter $repo"
apt-ftparchive -q packages . > Packages
gzip -9n < Packages > Packages.gz
apt-ftparchive -q sources . > Sources
gzip -9n < Sources > Sources.gz
apt-ftparchive \
	-o APT::FTPArchive::Release::Origin=zcg \
	-o APT::FTPArchive::Release::Label=zcg \
	-o APT::FTPArchive::Release::Suite=zcg \
	-o APT::FTPArchive::Release::Codename=zcg \
	-o "APT::FTPArchive::Release::Description=zcg kernel and liburing packages" \
	release . > Release.tmp
mv Release.tmp Release
export GNUPGHOME=$gnupghome
sign() {
	gpg --batch --yes --quiet --local-user "$keyid" --clearsign -o InRelease Release &&
		gpg --batch --yes --quiet --local-user "$keyid" --detach-sign --armor \
			-o Release.gpg Release &&
		gpg --batch --yes --export "$keyid" > zcg-archive-keyring.gpg &&
		gpg --batch --yes --armor --export "$keyid" > zcg-archive-keyring.asc
}
sign || die "signing the repository failed"
gpgv --keyring "$repo/zcg-archive-keyring.gpg" InRelease 2> /dev/null ||
	die "InRelease does not verify with the exported key"
echo "$state" > .state
phase_time "apt repository" "$t0"
log "apt repository $repo: $(grep -c '^Package:' Packages) packages, signed by $keyid"
log "use it with: deb [signed-by=$repo/zcg-archive-keyring.gpg] file:$repo ./"
