#!/usr/bin/env bash
# tests/guest/run.sh: only the guest phases of tests/run.sh (make
# test-guest): the deb guest in full mode, the rpm guest in quick mode.
# Needs the packages in out/ (make packages).  ZCG_TEST_PHASES picks
# other phases, e.g. "deb:quick".
export ZCG_TEST_PHASES=${ZCG_TEST_PHASES:-deb:full rpm:quick}
exec bash "$(dirname "$0")/../run.sh" "$@"
