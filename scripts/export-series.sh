#!/usr/bin/env bash
# export-series.sh kernel|liburing: write the commits of a build tree above
# its pristine base back to the repository's patch series.
. "$(dirname "$0")/common.sh"
case ${1:-} in
kernel) export_series "$ZCG_BUILD/kernel/linux" "$ZCG_TOP/kernel-src/patches" ;;
liburing) export_series "$ZCG_BUILD/liburing/liburing" "$ZCG_TOP/liburing-fork/patches" ;;
*) die "usage: export-series.sh kernel|liburing" ;;
esac
