#!/usr/bin/env bash
# headers-depends.sh DEB: declare what the host programs of a linux-headers
# package built by bindeb-pkg need (modpost, fixdep, objtool... link libc6
# and libelf1), as Debian's own linux-headers packages do; bindeb-pkg
# leaves Depends out.  The package is rewritten in place, its contents
# unchanged.
. "$(dirname "$0")/../scripts/common.sh"

deb=${1:?usage: headers-depends.sh linux-headers-....deb}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dpkg-deb -R "$deb" "$work/pkg"
mapfile -t elfs < <(find "$work/pkg" -type f ! -path '*/DEBIAN/*' \
	-exec sh -c 'head -c 4 "$1" | grep -q "^.ELF" && echo "$1"' sh {} \;)
[ "${#elfs[@]}" -gt 0 ] || die "$deb: no host programs found"

# dpkg-shlibdeps reads debian/control from its working directory.
mkdir -p "$work/src/debian"
printf 'Source: linux-upstream\n\nPackage: headers\nArchitecture: any\n' \
	> "$work/src/debian/control"
deps=$(cd "$work/src" && dpkg-shlibdeps -O "${elfs[@]}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || die "$deb: dpkg-shlibdeps found no dependency"

ctl=$work/pkg/DEBIAN/control
grep -q '^Depends:' "$ctl" && die "$deb: already has Depends (bindeb-pkg changed?)"
sed -i "/^Installed-Size:/a Depends: $deps" "$ctl"
dpkg-deb --root-owner-group -b "$work/pkg" "$deb" > /dev/null
log "$(basename "$deb"): Depends: $deps"
