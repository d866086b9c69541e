#!/usr/bin/env bash
# Host unit tests: no guest, no io_uring kernel needed. Prints one line per
# check, "PASS name" or "FAIL name", then "host: N passed, N failed"; the
# details of a failure go to stderr. Exits non-zero if anything failed.
#
#   - liburing-fetch         liburing-fork/fetch.sh: pinned source + series apply
#   - builds:<patch>         the library builds at every patch of the series
#   - liburing-uapi:<item>   the fork's io_uring.h against DESIGN.md section 2
#   - kernel-uapi:<item>     the same checks on the kernel tree's uapi header
#   - helper:<lang>          io_uring_check_zc_notif_groups(), inline and ffi
#   - soname:<lib>           liburing.so.2 / liburing-ffi.so.2
#   - symver:<map>           upstream version nodes unchanged (vs zcg-base)
#   - symver-defs:<lib>      version definitions of the built libraries
#   - version:<what>         pkg-config, rpm and deb versions agree
#   - man:<page>             mandoc -Tlint and groff -ww clean
#   - shellcheck:<script>    every shell script of the repository
#   - deb-depends:LIBURING_ZCG_1  a binary importing the fork's symbols
#                            depends on liburing2-zcg1 (only the fork has it)
#   - repo-signed:apt|rpm    out/repo's InRelease and Release.gpg, every
#                            rpm of out/rpm-repo (rpm -K) and its repomd.xml
#                            verify with the exported key
#   - lint:lintian|rpmlint   no lintian or rpmlint error or warning left
#                            but those overridden with a reason
#   - kernel-distro-config   our options survive olddefconfig (make target)
#   - kernel-devel:rpm|deb   the test kernel's kernel-devel / linux-headers
#                            build an out-of-tree module (extmod/)
#   - checkpatch:<patch>     each kernel patch is checkpatch.pl --strict clean
#   - kernel-series:<patch>  each prefix of the kernel series builds io_uring/
#   - no-upstream-copies     no repository file is a copy of an upstream file
#   - host-kernel:<test>     each zcg test on this host's kernel: skips with a
#                            reason on a stock kernel, passes on a zcg kernel
. "$(dirname "$0")/../../scripts/common.sh"
set +e

here=$ZCG_TOP/tests/host
scratch=$ZCG_BUILD/host-tests
logs=$scratch/logs
rm -rf "$logs"
mkdir -p "$logs"
. "$ZCG_TOP/liburing-fork/pin.env"
CC=${CC:-gcc}
CXX=${CXX:-g++}
npass=0
nfail=0

pass() { echo "PASS $1"; npass=$((npass + 1)); }
# fail NAME [LOG]: the log, if any, is shown on stderr.
fail() {
	echo "FAIL $1"
	nfail=$((nfail + 1))
	if [ -n "${2:-}" ] && [ -s "$2" ]; then
		echo "--- $1:" >&2
		sed 's/^/    /' "$2" >&2
	fi
}
logname() { echo "$logs/${1//[^A-Za-z0-9._+-]/_}.log"; }
# check NAME CMD...: PASS if CMD succeeds; its output is kept in a log.
check() {
	local name=$1 lg
	shift
	lg=$(logname "$name")
	if "$@" > "$lg" 2>&1; then pass "$name"; else fail "$name" "$lg"; fi
}
# import PREFIX CMD...: CMD prints "PASS x"/"FAIL x" lines of its own.
import() {
	local prefix=$1 lg st rest nf=0
	shift
	lg=$(logname "${prefix}run")
	"$@" > "$lg" 2>&1
	local rc=$?
	while read -r st rest; do
		case $st in
		PASS) pass "$prefix$rest" ;;
		FAIL) fail "$prefix$rest"; nf=$((nf + 1)) ;;
		esac
	done < "$lg"
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then fail "${prefix}exit-status" "$lg"; fi
}

# --- liburing fork -------------------------------------------------------
tree=
fetch_log=$(logname liburing-fetch)
if tree=$(bash "$ZCG_TOP/liburing-fork/fetch.sh" 2> "$fetch_log"); then
	pass liburing-fetch
else
	fail liburing-fetch "$fetch_log"
	tree=
fi

# build_at COMMIT DIR: configure and build the library of COMMIT in DIR,
# reusing DIR when it already holds a build of the same source tree.
build_at() {
	local commit=$1 dir=$2 key
	key=$(git -C "$tree" rev-parse "$commit^{tree}") || return 1
	[ -f "$dir/.zcg-built" ] && [ "$(cat "$dir/.zcg-built")" = "$key" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$tree" archive "$commit" | tar -x -C "$dir" || return 1
	(cd "$dir" && ./configure && make -C src -j2 && make liburing.pc liburing-ffi.pc) || return 1
	echo "$key" > "$dir/.zcg-built"
}

lib=
if [ -n "$tree" ]; then
	mapfile -t commits < <(git -C "$tree" rev-list --reverse zcg-base..HEAD)
	mapfile -t patches < <(sed -e '/^#/d' -e '/^$/d' "$ZCG_TOP/liburing-fork/patches/series")
	keep=()
	for i in "${!commits[@]}"; do
		name=${patches[$i]:-commit-$((i + 1))}
		dir=$scratch/builds/$((i + 1))
		keep+=("$((i + 1))")
		check "builds:$name" build_at "${commits[$i]}" "$dir"
	done
	# Drop builds of patches that left the series.
	for d in "$scratch"/builds/*; do
		[ -d "$d" ] || continue
		case " ${keep[*]} " in *" ${d##*/} "*) ;; *) rm -rf "$d" ;; esac
	done
	n=${#commits[@]}
	if [ "$n" -eq 0 ]; then
		check "builds:pristine" build_at HEAD "$scratch/builds/0"
		lib=$scratch/builds/0
	elif [ -f "$scratch/builds/$n/.zcg-built" ]; then
		lib=$scratch/builds/$n
	fi
fi

# uapi_checks PREFIX HEADER: compile abi.c against HEADER and import its checks.
uapi_checks() {
	local prefix=$1 header=$2 incdir=$3 bin=$scratch/abi-${1%:}
	if check "${prefix}compile" "$CC" -std=gnu11 -Wall -Wextra -Werror \
		${incdir:+-I"$incdir"} -DZCG_UAPI_HEADER="$header" \
		-o "$bin" "$here/abi.c"; then :; fi
	[ -x "$bin" ] && import "$prefix" "$bin"
	rm -f "$bin"
}

if [ -n "$lib" ]; then
	uapi_checks liburing-uapi: '<liburing/io_uring.h>' "$lib/src/include"

	ffi=$(echo "$lib"/src/liburing-ffi.so.2.*)
	helper_c() {
		"$CC" -std=gnu11 -Wall -Wextra -Werror -I"$lib/src/include" \
			-DZCG_FFI_LIB="\"$ffi\"" -o "$scratch/helper-c" "$here/helper.c" -ldl &&
			"$scratch/helper-c"
	}
	helper_cxx() {
		"$CXX" -std=c++20 -x c++ -Wall -Wextra -I"$lib/src/include" \
			-o "$scratch/helper-cxx" "$here/helper.c" && "$scratch/helper-cxx"
	}
	check helper:c helper_c
	check helper:c++20 helper_cxx

	soname() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'; }
	check soname:liburing test "$(soname "$lib"/src/liburing.so.2.*)" = liburing.so.2
	check soname:liburing-ffi test "$(soname "$ffi")" = liburing-ffi.so.2

	for m in liburing.map liburing-ffi.map; do
		git -C "$tree" show "zcg-base:src/$m" > "$scratch/base-$m" 2>/dev/null
		check "symver:$m" python3 "$here/mapcmp.py" "$scratch/base-$m" "$tree/src/$m"
	done
	# The built libraries define exactly the nodes of their maps.
	verdefs() {
		objdump -p "$1" | awk '/^Version definitions:/ { on = 1; next }
			on && NF == 0 { exit } on && NF >= 4 && $2 != "0x01" { print $4 }' | sort
	}
	mapnodes() { grep -oE '^[A-Za-z0-9_.]+[[:space:]]*\{' "$1" | tr -d ' \t{' | sort; }
	check symver-defs:liburing diff <(verdefs "$lib"/src/liburing.so.2.*) <(mapnodes "$tree/src/liburing.map")
	check symver-defs:liburing-ffi diff <(verdefs "$ffi") <(mapnodes "$tree/src/liburing-ffi.map")

	pcver=$(sed -n 's/^Version: //p' "$lib/liburing.pc")
	rpmver=$(awk '$1 == "Version:" { print $2; exit }' "$ZCG_TOP/packaging/rpm/liburing.spec")
	debver=$(dpkg-parsechangelog -l "$ZCG_TOP/packaging/debian/changelog" -SVersion 2>/dev/null)
	up=$LIBURING_UPSTREAM_VERSION
	version_pc() { case $pcver in "$up"+zcg*) ;; *) echo "liburing.pc: $pcver"; return 1 ;; esac; }
	version_deb() {
		case $debver in "$up"-*+zcg*) ;; *) echo "changelog: $debver"; return 1 ;; esac
		dpkg --compare-versions "$debver" gt "$up-1"
	}
	check version:pkgconfig version_pc
	check version:rpm test "$rpmver" = "$pcver"
	check version:deb version_deb
fi

# --- man pages -----------------------------------------------------------
# mandoc's style messages count, except the lower-case title that liburing
# (and man-pages 6) use for every page.
man_clean() {
	local out
	out=$({ mandoc -Tlint -W style "$1" 2>&1 |
		grep -v 'STYLE: lower case character in document title'
		groff -man -ww -z "$1" 2>&1; })
	[ -z "$out" ] || { echo "$out"; return 1; }
}
for p in "$ZCG_TOP"/man/*.[137]; do
	[ -f "$p" ] && check "man:${p##*/}" man_clean "$p"
done
if [ -n "$tree" ]; then
	check "man:fork/io_uring_prep_send_zc.3" man_clean "$tree/man/io_uring_prep_send_zc.3"
fi

# --- shell scripts -------------------------------------------------------
mapfile -t scripts < <(cd "$ZCG_TOP" && git ls-files -co --exclude-standard |
	while read -r f; do
		[ -f "$f" ] || continue
		case $f in
		*.sh) echo "$f" ;;
		*) head -n1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba)?sh( |$)|^# shellcheck shell=' && echo "$f" ;;
		esac
	done)
for s in "${scripts[@]}"; do
	check "shellcheck:$s" shellcheck "$ZCG_TOP/$s"
done

# --- the zcg tests on this host's kernel ----------------------------------
# The same binaries must run on a stock kernel: there every zcg test skips
# (exit 77) and says why; on a zcg kernel it passes. Never a failure.
host_kernel_tests() {
	local d=$scratch/zcg-tests t rc out
	rm -rf "$d"
	mkdir -p "$d/lib"
	cp "$ZCG_TOP"/tests/zcg/*.[ch] "$ZCG_TOP"/tests/zcg/Makefile "$d"/
	ln -sf "$(ls "$lib"/src/liburing.so.2.*)" "$d/lib/liburing.so.2"
	make -s -C "$d" LIBURING="$lib" >&2 || { echo "FAIL build"; return 1; }
	for t in "$d"/*.t; do
		out=$(cd "$d" && LD_LIBRARY_PATH=$d/lib timeout 600 "$t" 2>&1)
		rc=$?
		case $rc in
		0) echo "PASS ${t##*/} (ran on $(uname -r))" ;;
		77) if grep -q 'skip: ' <<< "$out"; then
			echo "PASS ${t##*/} (skipped: $(grep -m1 'skip: ' <<< "$out"))"
		    else
			echo "FAIL ${t##*/} (skipped without a reason)"
		    fi ;;
		*) echo "FAIL ${t##*/} (exit $rc on $(uname -r))"
		   printf '%s\n' "$out" >&2 ;;
		esac
	done
}
if [ -n "$lib" ]; then
	import host-kernel: host_kernel_tests
fi

# --- packages ------------------------------------------------------------
# A binary that imports LIBURING_ZCG_1 must depend on liburing2-zcg1, which
# only the fork's liburing2 provides: no later Debian liburing2 (2.16, ...)
# can then replace the fork under it in an apt upgrade.
deb_zcg_dependency() {
	local deb d ver prov deps libdir
	deb=$(compgen -G "$ZCG_OUT/liburing/liburing2_*.deb" | head -n 1)
	[ -n "$deb" ] || { echo "no liburing2 .deb in $ZCG_OUT/liburing (make liburing)"; return 1; }
	d=$scratch/shlibs
	rm -rf "$d"
	mkdir -p "$d/debian/liburing2/DEBIAN" "$d/debian/t/usr/bin"
	dpkg-deb -x "$deb" "$d/debian/liburing2" || return 1
	dpkg-deb -e "$deb" "$d/control" || return 1
	cp "$d/control/symbols" "$d/debian/liburing2/DEBIAN/symbols"
	ver=$(dpkg-deb -f "$deb" Version)
	prov=$(dpkg-deb -f "$deb" Provides)
	echo "liburing2 $ver provides: $prov"
	[ "$prov" = "liburing2-zcg1 (= $ver)" ] || return 1
	libdir=$(cd "$d" && echo debian/liburing2/usr/lib/*-linux-gnu)
	$CC -o "$d/debian/t/usr/bin/t" "$here/zcg-import.c" "$d/$libdir/liburing-ffi.so.2" || return 1
	printf 'Source: t\n\nPackage: t\nArchitecture: any\n' > "$d/debian/control"
	deps=$(cd "$d" && dpkg-shlibdeps -O -l"$libdir" debian/t/usr/bin/t) || return 1
	echo "a binary importing LIBURING_ZCG_1: $deps"
	grep -q 'liburing2-zcg1 (>= 2.15-1+zcg1~)' <<< "$deps" || return 1
	# The same as a package, for upgrade.sh: zcg-import-check.
	mkdir -p "$d/pkg/DEBIAN" "$d/pkg/usr/bin"
	cp "$d/debian/t/usr/bin/t" "$d/pkg/usr/bin/zcg-import-check"
	printf '%s\n' 'Package: zcg-import-check' 'Version: 1' 'Architecture: amd64' \
		"Maintainer: $DEBFULLNAME <$DEBEMAIL>" "Depends: ${deps#shlibs:Depends=}" \
		'Description: imports a LIBURING_ZCG_1 symbol (zcg host tests)' > "$d/pkg/DEBIAN/control"
	dpkg-deb -Zxz --root-owner-group --build "$d/pkg" "$scratch/zcg-import-check.deb"
}
check deb-depends:LIBURING_ZCG_1 deb_zcg_dependency

# Upgrades, downgrades and removals in a chroot (upgrade.sh).
import pkg- bash "$here/upgrade.sh" "$scratch/zcg-import-check.deb"

# The apt repository verifies with its exported key: InRelease and
# Release.gpg.
apt_repo_signed() {
	local r=$ZCG_OUT/repo
	gpgv --keyring "$r/zcg-archive-keyring.gpg" "$r/InRelease" &&
		gpgv --keyring "$r/zcg-archive-keyring.gpg" "$r/Release.gpg" "$r/Release"
}
check repo-signed:apt apt_repo_signed
# Every rpm verifies (rpm -K) with the exported key, and does not without it.
rpm_repo_signed() {
	local r=$ZCG_OUT/rpm-repo db out
	compgen -G "$r/*.rpm" > /dev/null || { echo "no .rpm in $r"; return 1; }
	db=$(mktemp -d)
	out=$(rpm --dbpath "$db" -K "$r"/*.rpm)
	echo "without the key: $out"
	if ! grep -q 'SIGNATURES NOT OK' <<< "$out"; then
		rm -rf "$db"
		return 1
	fi
	rpm --dbpath "$db" --import "$r/RPM-GPG-KEY-zcg" &&
		out=$(rpm --dbpath "$db" -K "$r"/*.rpm)
	echo "with the key: $out"
	if grep -qv ': digests signatures OK$' <<< "$out" ||
	   ! gpg --dearmor < "$r/RPM-GPG-KEY-zcg" > "$db/key.gpg"; then
		rm -rf "$db"
		return 1
	fi
	gpgv --keyring "$db/key.gpg" "$r/repodata/repomd.xml.asc" "$r/repodata/repomd.xml"
	out=$?
	rm -rf "$db"
	return "$out"
}
check repo-signed:rpm rpm_repo_signed

# --- lint ----------------------------------------------------------------
# lintian: liburing's source and binary packages (their .changes) and the
# .debs of every kernel flavour built.  No error and no warning: what is
# left is overridden with a reason, in debian/*.lintian-overrides for
# liburing, in packaging/lint/lintian-kernel.tags for the kernel's own
# bindeb-pkg packages (which carry no override file of ours).
lint_lintian() {
	local rc=0 d
	lintian --tag-display-limit 0 --fail-on error,warning "$ZCG_OUT"/liburing/*.changes || rc=1
	for d in "$ZCG_OUT"/kernel-*/; do
		compgen -G "$d*.deb" > /dev/null || continue
		lintian --tag-display-limit 0 --fail-on error,warning \
			--suppress-tags-from-file "$ZCG_TOP/packaging/lint/lintian-kernel.tags" \
			"$d"*.deb || rc=1
	done
	return "$rc"
}
check lint:lintian lint_lintian
# rpmlint: every package of the rpm repository as hosts get it (signed),
# liburing's SRPM included.  No error and no warning but those filtered in
# packaging/lint/rpmlint.toml, each with its reason.
lint_rpmlint() {
	local out home
	# rpmlint checks the signatures against the rpm database of
	# ~/.rpmmacros: a scratch one that knows only the repository's key.
	home=$scratch/rpmlint-home
	rm -rf "$home"
	mkdir -p "$home"
	printf '%%_dbpath %s/rpmdb\n' "$home" > "$home/.rpmmacros"
	HOME=$home rpm --import "$ZCG_OUT/rpm-repo/RPM-GPG-KEY-zcg" || return 1
	out=$(HOME=$home rpmlint -c "$ZCG_TOP/packaging/lint/rpmlint.toml" "$ZCG_OUT"/rpm-repo/*.rpm 2>&1)
	echo "$out"
	grep -qE '^ *[0-9]+ packages and [0-9]+ specfiles checked; 0 errors, 0 warnings' <<< "$out"
}
check lint:rpmlint lint_rpmlint

# --- kernel --------------------------------------------------------------
check kernel-distro-config make -s -C "$ZCG_TOP" kernel-distro-config
ktree=$ZCG_BUILD/kernel/linux
if [ -f "$ktree/include/uapi/linux/io_uring.h" ]; then
	uapi_checks kernel-uapi: "\"$ktree/include/uapi/linux/io_uring.h\"" ""
fi
# The kernel tree is Debian's source tarball in a git of our own, without
# upstream's history: checkpatch cannot look up the commits that Fixes:
# tags name (UNKNOWN_COMMIT_ID); fixes_tags below checks them instead.
checkpatch_one() {
	(cd "$ktree" && perl scripts/checkpatch.pl --strict -q \
		--ignore UNKNOWN_COMMIT_ID "$1")
}
# fixes_tags PATCH: every Fixes: tag names a commit of upstream-commits.txt
# with its exact subject.
fixes_tags() {
	local id subj
	while read -r id subj; do
		subj=${subj#(\"}
		subj=${subj%\")}
		grep -qxF "$id $subj" "$here/upstream-commits.txt" ||
			{ echo "unknown Fixes: $id (\"$subj\")"; return 1; }
	done < <(sed -n 's/^Fixes: //p' "$1")
}
if [ -f "$ktree/scripts/checkpatch.pl" ]; then
	while read -r p; do
		check "checkpatch:${p%%.patch}" checkpatch_one "$ZCG_TOP/kernel-src/patches/$p"
		check "fixes-tags:${p%%.patch}" fixes_tags "$ZCG_TOP/kernel-src/patches/$p"
	done < <(sed -e '/^#/d' -e '/^$/d' "$ZCG_TOP/kernel-src/patches/series")
else
	fail "checkpatch (no kernel tree in $ktree: run make packages first)"
fi
# The test kernel's kernel-devel rpm and linux-headers deb, unpacked as a
# host has them, build an out-of-tree module (extmod/zcg_hello.c, with a
# one-line Kbuild written here) for that release.
extmod() {
	local kind=$1 d=$scratch/extmod-$1 krel pkg kdir
	krel=$(cat "$ZCG_OUT/kernel-test/kernelrelease") || return 1
	rm -rf "$d"
	mkdir -p "$d/root" "$d/mod"
	case $kind in
	rpm)
		pkg=$(compgen -G "$ZCG_OUT/kernel-test/kernel-devel-*.rpm") || return 1
		(cd "$d/root" && rpm2cpio "$pkg" | cpio -idm --quiet) || return 1
		kdir=$d/root/usr/src/kernels/$krel ;;
	deb)
		pkg=$(compgen -G "$ZCG_OUT/kernel-test/linux-headers-*.deb") || return 1
		dpkg-deb -x "$pkg" "$d/root" || return 1
		kdir=$d/root/usr/src/linux-headers-$krel ;;
	esac
	cp "$here/extmod/zcg_hello.c" "$d/mod/"
	echo 'obj-m := zcg_hello.o' > "$d/mod/Kbuild"
	make -C "$kdir" M="$d/mod" modules || return 1
	modinfo -F vermagic "$d/mod/zcg_hello.ko" | tee /dev/stderr | grep -q "^$krel "
}
check kernel-devel:rpm extmod rpm
check kernel-devel:deb extmod deb

# Each prefix of the series builds the io_uring objects (kernel-series.sh).
import kernel-series: bash "$here/kernel-series.sh"

# --- hard rule: no upstream file in the repository -----------------------
# Git blob ids of the repository's files (>= 256 bytes: tiny files such as
# "3.0 (quilt)" coincide by nature) against the pristine upstream trees.
upstream_copies() {
	local t found=0
	(cd "$ZCG_TOP" && git ls-files -co --exclude-standard |
		while read -r f; do
			[ -f "$f" ] && [ "$(stat -c %s "$f")" -ge 256 ] &&
				printf '%s %s\n' "$(git hash-object "$f")" "$f"
		done) |
		sort > "$scratch/repo-blobs"
	for t in "$tree" "$ktree"; do
		[ -n "$t" ] || continue
		git -C "$t" rev-parse -q --verify zcg-base >/dev/null 2>&1 || continue
		git -C "$t" ls-tree -r zcg-base | awk '{ print $3 }' | sort -u > "$scratch/up-blobs"
		if join -o 1.2 "$scratch/repo-blobs" "$scratch/up-blobs" | grep .; then
			echo "(identical to files of $t at zcg-base)"
			found=1
		fi
	done
	return "$found"
}
check no-upstream-copies upstream_copies

echo "host: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
