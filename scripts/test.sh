#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite (unit, CLI,
# integration). Exit status is non-zero when any test fails. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
./scripts/setup.sh --tests
./scripts/fetch_test_data.sh || echo "test: warning: optional test data could not be fetched; those tests will skip"
VOXSEG_BUILD_DIR=${VOXSEG_BUILD_DIR:-build} ./scripts/build.sh -DVOXSEG_WARNINGS_AS_ERRORS=ON
t1=$(date +%s)
ctest --test-dir "${VOXSEG_BUILD_DIR:-build}" --output-on-failure -j "${VOXSEG_JOBS:-$(nproc)}" "$@"
t2=$(date +%s)
echo "test: setup+build $((t1 - t0)) s, tests $((t2 - t1)) s, total $((t2 - t0)) s"
