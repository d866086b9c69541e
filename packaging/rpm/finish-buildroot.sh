#!/bin/bash
# finish-buildroot.sh: the end of %install for rpmbuild on a Debian build
# host (packaging/build-liburing.sh sets it as __os_install_post), doing
# what an rpm distribution's brp scripts do there: Debian's brp-compress
# fails under dash (read -d), and the .debs strip through debhelper, not
# rpm.  Compresses the man pages and strips ELF executables and shared
# libraries (static archives keep their debug information).  Reads
# RPM_BUILD_ROOT, as rpmbuild exports it.
set -euo pipefail
root=${RPM_BUILD_ROOT:?RPM_BUILD_ROOT is not set}
[ "$root" != / ] || exit 1
if [ -d "$root/usr/share/man" ]; then
	find "$root/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
fi
while IFS= read -r -d '' f; do
	case $(file -b "$f") in
	*ELF*shared\ object*not\ stripped* | *ELF*pie\ executable*not\ stripped*) strip --strip-unneeded "$f" ;;
	*ELF*executable*not\ stripped*) strip "$f" ;;
	esac
done < <(find "$root" -type f -perm /111 -print0)
