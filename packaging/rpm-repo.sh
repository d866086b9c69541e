#!/usr/bin/env bash
# rpm-repo.sh: make out/rpm-repo/ an rpm repository of every .rpm under
# out/ (liburing's SRPM included; kernel-headers of one flavour only, see
# libc_headers_dir in scripts/common.sh): signed copies of the packages
# (rpmsign, with packaging/repo-key.sh's key), createrepo_c's metadata, repodata/repomd.xml.asc, and the public key
# as RPM-GPG-KEY-zcg. Checks every package with rpm -K against that key.
# A host uses it with a .repo file like:
#   [zcg]
#   name=zcg
#   baseurl=file:///path/to/out/rpm-repo
#   gpgcheck=1
#   repo_gpgcheck=1
#   gpgkey=file:///path/to/out/rpm-repo/RPM-GPG-KEY-zcg
. "$(dirname "$0")/../scripts/common.sh"

t0=$(date +%s)
repo=$ZCG_OUT/rpm-repo
read -r gnupghome keyid < <(bash "$ZCG_TOP/packaging/repo-key.sh") ||
	die "no repository signing key"
mapfile -t rpms < <(find "$ZCG_OUT" -path "$repo" -prune -o -type f -name '*.rpm' -print | sort)
[ "${#rpms[@]}" -gt 0 ] || die "no .rpm under $ZCG_OUT (make liburing / make kernel first)"
# kernel-headers (the userspace headers) from one flavour only, as
# linux-libc-dev in the apt repository (repo.sh).
hdrs=$(libc_headers_dir) || die "no kernel packages under $ZCG_OUT (make kernel first)"
mapfile -t rpms < <(for f in "${rpms[@]}"; do
	case ${f##*/} in kernel-headers-*) [ "${f%/*}" = "$hdrs" ] || continue ;; esac
	echo "$f"
done)
state=$({ echo "$keyid"; for f in "${rpms[@]}"; do stat -c '%n %s %y %i' "$f"; done; } |
	sha256sum | cut -d' ' -f1)
if [ -f "$repo/.state" ] && [ "$(cat "$repo/.state")" = "$state" ]; then
	log "rpm repository $repo is up to date"
	phase_time "rpm repository" "$t0" "up to date, nothing done"
	exit 0
fi

rm -rf "$repo"
mkdir -p "$repo"
for f in "${rpms[@]}"; do
	if [ -e "$repo/${f##*/}" ]; then
		log "warning: ${f##*/} twice under $ZCG_OUT; keeping the first"
		continue
	fi
	cp -p "$f" "$repo/"
done
export GNUPGHOME=$gnupghome
rpmsign --addsign --define "_gpg_name $keyid" --define "__gpg $(command -v gpg)" \
	"$repo"/*.rpm > /dev/null 2>&1 ||
	die "rpmsign failed"
createrepo_c --quiet "$repo" || die "createrepo_c failed"
gpg --batch --yes --quiet --local-user "$keyid" --detach-sign --armor \
	-o "$repo/repodata/repomd.xml.asc" "$repo/repodata/repomd.xml" ||
	die "signing repomd.xml failed"
gpg --batch --yes --armor --export "$keyid" > "$repo/RPM-GPG-KEY-zcg"

# Every package must verify against the exported key, and only that key.
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
rpm --dbpath "$db" --import "$repo/RPM-GPG-KEY-zcg" || die "rpm --import failed"
bad=$(rpm --dbpath "$db" -K "$repo"/*.rpm | grep -v ': digests signatures OK$' || true)
[ -z "$bad" ] || die "packages that do not verify: $bad"
echo "$state" > "$repo/.state"
phase_time "rpm repository" "$t0"
log "rpm repository $repo: ${#rpms[@]} packages, signed by $keyid"
