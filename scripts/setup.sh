#!/usr/bin/env bash
# Installs every Debian 12 package voxseg needs to build, run and test.
# Idempotent and non-interactive; safe to run again. Needs root (or sudo).
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libinsighttoolkit5-dev libtorch-dev libdcmtk-dev libcli11-dev libfmt-dev
  libgtest-dev googletest
  nlohmann-json3-dev  # typed JSON readers/writers (model.json, plans, prompts, label tables)
  libgloo-dev  # headers for multi-process training (c10d Gloo); without them world size > 1 is refused
  # LibTorch's matrix products go through libblas.so.3; with --no-install-recommends Debian's default
  # is the reference BLAS (libblas3), ~40x slower than OpenBLAS (docs/performance.md).
  libopenblas0-pthread
  libdnnl-dev  # oneDNN C++ API: the native U-Net's inference engine (same libdnnl.so.2 as LibTorch)
)
test_pkgs=(
  dcmtk dicom3tools curl orthanc libgdcm-tools
  python3-torch python3-numpy python3-nibabel python3-pydicom
  mricron-data insighttoolkit5-examples
  chromium python3-scipy
  clang-format  # scripts/check.sh (format of changed files)
  python3-pil python3-skimage  # refine: Pillow and scikit-image resizing as SAM/MedSAM do it (reference fixtures)
  snakemake slurm-wlm munge
)
[ "${1:-}" = "--tests" ] && want=("${build_pkgs[@]}" "${test_pkgs[@]}") || want=("${build_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#want[@]} packages present"
else
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done"
fi

# Select OpenBLAS for libblas.so.3/liblapack.so.3 when the reference implementation is selected
# (another optimized choice made by hand, e.g. BLIS, is left alone). tests/cli/front/blas_is_optimized.sh checks it.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  openblas=/usr/lib/$multiarch/openblas-pthread/$lib
  current=$(readlink -f "/usr/lib/$multiarch/$lib" || true)
  if [ -e "$openblas" ] && { [ -z "$current" ] || [[ $current == */blas/* || $current == */lapack/* ]]; }; then
    echo "setup: selecting OpenBLAS for $lib (was ${current:-none})"
    $SUDO update-alternatives --quiet --auto "$lib-$multiarch"  # highest priority: OpenBLAS (100) over reference (10)
    [[ $(readlink -f "/usr/lib/$multiarch/$lib") == */openblas* ]] ||
      $SUDO update-alternatives --quiet --set "$lib-$multiarch" "$openblas"
  fi
done
