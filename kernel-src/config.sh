#!/usr/bin/env bash
# config.sh FLAVOUR TREE OBJDIR: write OBJDIR/.config for a zcg kernel flavour
# and check that every option of our fragments survived olddefconfig.
# With ZCG_CONFIG_PRISTINE=1 (build.sh FLAVOUR unpatched), options that the
# source's Kconfig does not define (those our patches add) may be missing.
#   test    tinyconfig + kvm_guest + guest.config + debug.config (CI's kernel)
#   bench   tinyconfig + kvm_guest + guest.config, no debug options, -O2
#   distro  Debian's own 6.12 amd64 config + zcg.config (what hosts install)
#   cloud   Debian's own 6.12 cloud-amd64 config + zcg.config + cloud.config
#           (release -zcg-cloud, for virtual machines)
. "$(dirname "$0")/../scripts/common.sh"
. "$ZCG_TOP/kernel-src/pin.env"

flavour=$1
tree=$(realpath "$2")
obj=$(realpath -m "$3")
cfgdir=$ZCG_TOP/kernel-src/configs
mkdir -p "$obj"

case $flavour in
test) frags=("$cfgdir/guest.config" "$cfgdir/debug.config" "$cfgdir/test.config") ;;
bench) frags=("$cfgdir/guest.config" "$cfgdir/bench.config") ;;
distro) frags=("$cfgdir/zcg.config" "$cfgdir/distro.config") dcfg=config.amd64_none_amd64 ;;
cloud) frags=("$cfgdir/zcg.config" "$cfgdir/distro.config" "$cfgdir/cloud.config")
	dcfg=config.amd64_none_cloud-amd64 ;;
*) die "unknown flavour '$flavour' (test, bench, distro or cloud)" ;;
esac

mk() { make -s -C "$tree" O="$obj" ARCH=x86_64 "$@" >&2; }

if [ -n "${dcfg:-}" ]; then
	deb=$ZCG_CACHE/kernel/$LINUX_SOURCE_VERSION/$LINUX_CONFIG_PKG.deb
	if [ ! -f "$deb" ]; then
		tmp=$(mktemp -d "$ZCG_CACHE/kernel/dl.XXXXXX")
		chmod 755 "$tmp"
		(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$LINUX_CONFIG_PKG=$LINUX_SOURCE_VERSION" >&2) ||
			die "$LINUX_CONFIG_PKG=$LINUX_SOURCE_VERSION is not in the apt index (see kernel-src/pin.env)"
		mv "$tmp"/*.deb "$deb"
		rmdir "$tmp"
	fi
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO --wildcards "./usr/src/linux-config-*/$dcfg.xz" |
		xz -d > "$obj/.config"
else
	mk tinyconfig
	frags=("$tree/kernel/configs/kvm_guest.config" "${frags[@]}")
fi

(cd "$obj" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" .config "${frags[@]}" >/dev/null)
mk olddefconfig

# Every option our own fragments set must be in the final config; when
# two fragments set one option, the later one (as merge_config.sh).
bad=0
declare -A last=()
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case $line in CONFIG_*=* | '# CONFIG_'*' is not set') ;; *) continue ;; esac
		opt=${line#\# }
		last[${opt%%[= ]*}]=$f
	done < "$f"
done
for f in "${frags[@]}"; do
	case $f in "$cfgdir"/*) ;; *) continue ;; esac
	frag=${f##*/}
	fragpath=$f
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) want=$line ;;
		'# CONFIG_'*' is not set') want=$line ;;
		*) continue ;;
		esac
		opt=${want#\# }
		opt=${opt%%[= ]*}
		[ "${last[$opt]}" = "$fragpath" ] || continue
		got=$(grep -E "^(# )?${opt}[= ]" "$obj/.config" || echo "# $opt is not set")
		if [ "$got" != "$want" ]; then
			# The pristine source (build.sh ... unpatched) lacks
			# the options our series adds: those are not lost.
			if [ "${ZCG_CONFIG_PRISTINE:-0}" = 1 ] &&
			   ! grep -rqsx --include='Kconfig*' "config ${opt#CONFIG_}" "$tree"; then
				log "$flavour: $opt is not in the pristine source; left out"
				continue
			fi
			log "$flavour: $frag wants '$want', got '$got'"
			bad=1
		fi
	done < "$f"
done
[ "$bad" = 0 ] || die "$flavour config lost options of our fragments"
log "$flavour config ok: $obj/.config"
