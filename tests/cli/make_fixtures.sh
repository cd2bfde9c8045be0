#!/usr/bin/env bash
# Makes the shared inputs of the end-to-end tests (ctest FIXTURES_SETUP), deterministic by seed.
set -euo pipefail
: "${VOXSEG_BIN:?}" "${FIXTURES:?}"
export PATH="$VOXSEG_BIN:$PATH"
rm -rf "$FIXTURES"; mkdir -p "$FIXTURES"
if [ -x "$VOXSEG_BIN/voxseg-phantom" ]; then
  voxseg-phantom --kind ct-abdomen --seed 1 --size 64,64,24 -o "$FIXTURES/ct"
  voxseg-phantom --kind mr-brain --seed 2 --size 48,56,40 -o "$FIXTURES/mr"
  voxseg-phantom --kind cells --seed 3 --size 48,48,24 --objects 12 -o "$FIXTURES/cells"
fi
echo "fixtures in $FIXTURES"
