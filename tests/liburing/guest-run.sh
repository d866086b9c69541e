#!/bin/bash
# guest-run.sh [TEST...]: in the guest, run upstream liburing's test
# programs the way its test/runtests.sh does (make runtests): from
# /opt/liburing-upstream/test (ZCG_LIBURING_DIR), one at a time, under
# timeout -s INT; the TESTs given (zcg.tests= on the kernel command line),
# else every test of tests.list there (build.sh wrote it).  Installed as /usr/local/sbin/zcg-liburing-run; the
# guest init runs it when booted with zcg.run=liburing.
#
# Prints one line per test on the console,
#   zcg-liburing: pass|skip|fail|timeout NAME SECONDS s rc=STATUS
# (exit status 0 pass, 77 skip, 124 after the timeout, 137 when it ignored
# the SIGINT and was killed 10 s later), the last lines of the
# output of each failed or timed-out test, and "zcg-liburing: done" at the
# end.  Before each test "Running test NAME" goes to the kernel log, as
# runtests.sh writes it, so a splat is found next to the test that caused
# it.  The per-test limit is ZCG_TEST_TIMEOUT (default 300 s).
dir=${ZCG_LIBURING_DIR:-/opt/liburing-upstream/test}
tmo=${ZCG_TEST_TIMEOUT:-300}
cd "$dir" || { echo "zcg-liburing: no test directory $dir"; exit 1; }
if [ $# -gt 0 ]; then
	tests=("$@")
else
	mapfile -t tests < tests.list
fi
echo "zcg-liburing: running ${#tests[@]} tests from $dir, $tmo s each"
out=/tmp/zcg-liburing.out
for t in "${tests[@]}"; do
	echo "Running test $t" > /dev/kmsg
	start=$(date +%s)
	timeout -s INT -k 10 "$tmo" "./$t" > "$out" 2>&1 < /dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) r=pass ;;
	77) r=skip ;;
	124 | 137) r=timeout ;;
	*) r=fail ;;
	esac
	echo "zcg-liburing: $r $t $secs s rc=$rc"
	case $r in
	fail | timeout) tail -n 12 "$out" | sed "s/^/zcg-liburing-out: $t: /" ;;
	esac
done
echo "zcg-liburing: done"
