#!/usr/bin/env bash
# tests/guest/run.sh: only the guest phases of tests/run.sh (make
# test-guest): the deb guest in ci mode, the rpm guest in quick mode.
# Needs the packages in out/ (make packages).  ZCG_TEST_PHASES picks
# other phases, e.g. "deb:full" (make test-full's deb guest).
export ZCG_TEST_PHASES=${ZCG_TEST_PHASES:-deb:ci rpm:quick}
exec bash "$(dirname "$0")/../run.sh" "$@"
