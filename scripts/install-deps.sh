#!/usr/bin/env bash
# Install the Debian packages the build and the tests need (idempotent).
. "$(dirname "$0")/common.sh"
pkgs=(
	# kernel build and packaging
	build-essential bc flex bison libssl-dev libelf-dev cpio kmod rsync
	xz-utils zstd python3 git ccache dpkg-dev fakeroot rpm debhelper
	# guest tests
	qemu-system-x86 mmdebstrap e2fsprogs apt-utils
	# signed apt and rpm repositories; rpm packages built on Debian
	# (finish-buildroot.sh) and unpacked by the host tests
	gnupg createrepo-c file rpm2cpio
	# package lint (host tests)
	lintian rpmlint
	# man pages and script lint
	mandoc groff shellcheck
	# make bench: plots
	gnuplot-nox
)
t0=$(date +%s)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	phase_time "build dependencies" "$t0" "all installed already"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
log "installing build dependencies: ${missing[*]}"
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
phase_time "build dependencies" "$t0" "installed ${#missing[@]} packages"
