#!/usr/bin/env bash
# Configures and builds voxseg (Release, Ninja, ccache when present) into ${VOXSEG_BUILD_DIR:-build}.
# Usage: scripts/build.sh [extra cmake -D options]
#   VOXSEG_TARGETS="voxseg voxseg-predict" builds only those targets (voxseg_programs: every program,
#   no tests or benchmarks); VOXSEG_JOBS sets the parallel jobs (default: cores).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${VOXSEG_BUILD_DIR:-build}
jobs=${VOXSEG_JOBS:-$(nproc)}
targets=()
for t in ${VOXSEG_TARGETS:-}; do targets+=(--target "$t"); done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake "$build_dir" "$@"
fi
start=$(date +%s)
cmake --build "$build_dir" --parallel "$jobs" "${targets[@]}"
echo "build: ${VOXSEG_TARGETS:-everything} done in $(( $(date +%s) - start )) s; programs in $build_dir/bin"
