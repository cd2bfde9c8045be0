#!/usr/bin/env bash
# ctest runner for one GoogleTest suite: `run_gtest_suite.sh BINARY --gtest_filter=Suite.*`.
# Passes gtest's output through (it names every failing test) and keeps its exit status, except
# that a suite whose every test skipped exits 77 (ctest: skipped), so a skip never counts as a pass.
set -u
log=$(mktemp "${TMPDIR:-/tmp}/voxseg-gtest.XXXXXX")
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ] && grep -q '^\[  PASSED  \] 0 tests\.' "$log" && grep -q '^\[  SKIPPED \]' "$log"; then
  exit 77
fi
exit "$rc"
