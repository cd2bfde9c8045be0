#!/usr/bin/env bash
# Installs the Debian packages, builds every program (no tests or benchmarks) and installs them:
#   scripts/install.sh [PREFIX]    default /usr/local (root), else ~/.local
# Programs go to PREFIX/bin (put it on PATH), model bundles to PREFIX/share/voxseg/models,
# pipelines to PREFIX/share/voxseg/pipelines, docs to PREFIX/share/doc/voxseg.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then prefix=$1
elif [ "$(id -u)" -eq 0 ]; then prefix=/usr/local
else prefix=$HOME/.local
fi
./scripts/setup.sh
VOXSEG_TARGETS=voxseg_programs ./scripts/build.sh
cmake --install "${VOXSEG_BUILD_DIR:-build}" --prefix "$prefix"
echo "install: programs in $prefix/bin, models in $prefix/share/voxseg/models"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "install: add $prefix/bin to PATH: export PATH=\"$prefix/bin:\$PATH\"" ;; esac
