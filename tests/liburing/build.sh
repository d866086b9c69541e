#!/usr/bin/env bash
# build.sh: build upstream liburing's own test suite from the pinned
# upstream tarball (liburing-fork/pin.env), without our fork's patches, into
# $ZCG_BUILD/liburing-upstream/liburing-VERSION.  The test programs link
# liburing statically, so the guest needs nothing else.  Writes the list of
# tests upstream's "make runtests" runs (the Makefile's test_targets) to
# test/tests.list.  Prints the test directory.
. "$(dirname "$0")/../../scripts/common.sh"
. "$ZCG_TOP/liburing-fork/pin.env"

# fetch.sh downloads and checks the tarball.
orig=$(bash "$ZCG_TOP/liburing-fork/fetch.sh" --orig)
top=$ZCG_BUILD/liburing-upstream
src=$top/liburing-$LIBURING_UPSTREAM_VERSION
stamp=$top/orig.sha256

if [ "$(cat "$stamp" 2>/dev/null)" != "$LIBURING_ORIG_SHA256" ] || [ ! -f "$src/test/tests.list" ]; then
	rm -rf "$top"
	mkdir -p "$src"
	tar -xzf "$orig" -C "$src" --strip-components=1
	log "building upstream liburing $LIBURING_UPSTREAM_VERSION's tests (pristine, not the fork)"
	t=$(date +%s)
	(cd "$src" && ./configure > /dev/null && make -s -j"$(nproc)" -C src > /dev/null &&
		make -s -j"$(nproc)" -C test > /dev/null) ||
		die "upstream liburing's tests do not build"
	make -s -C "$src/test" -pn 2>/dev/null | sed -n 's/^test_targets := //p' | head -n 1 |
		tr ' ' '\n' | sed '/^$/d' > "$src/test/tests.list.tmp"
	n=$(wc -l < "$src/test/tests.list.tmp")
	[ "$n" -gt 100 ] || die "upstream's Makefile lists $n tests; expected about 255"
	while read -r t; do
		[ -x "$src/test/$t" ] || die "upstream test $t was not built"
	done < "$src/test/tests.list.tmp"
	mv "$src/test/tests.list.tmp" "$src/test/tests.list"
	echo "$LIBURING_ORIG_SHA256" > "$stamp"
	log "built $n upstream tests in $(($(date +%s) - t)) s"
fi
echo "$src/test"
