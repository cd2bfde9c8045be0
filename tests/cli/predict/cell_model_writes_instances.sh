# A cell model whose bundle asks for instances writes instance ids (not classes) that
# `voxseg eval --instances` scores: several nuclei found, and most of them matched.
source "$(dirname "$0")/../lib.sh"
model="$VOXSEG_SOURCE/models/cells-nuclei-small"
[ -f "$model/model.json" ] || skip "no shipped cell model at $model"
[ -f "$FIXTURES/cells/image.nii.gz" ] || skip "cells fixture missing (voxseg-phantom not built)"
expect_exit 0 voxseg predict -m "$model" -i "$FIXTURES/cells/image.nii.gz" -o "$WORK/cells.nii.gz" \
  --disable-tta --batch-size 4 --json
expect_exit 0 voxseg eval --instances -p "$WORK/cells.nii.gz" -r "$FIXTURES/cells/labels.nii.gz" \
  --json
n_pred=$(grep -o '"n_pred": [0-9]*' "$WORK/stdout" | head -1 | grep -o '[0-9]*$')
f1=$(grep -o '"f1": [0-9.]*' "$WORK/stdout" | head -1 | grep -o '[0-9.]*$')
[ -n "$n_pred" ] && [ "$n_pred" -ge 3 ] || fail "expected several predicted nuclei, got '$n_pred'"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$f1') >= 0.5 else 1)" || fail "instance F1 $f1 < 0.5"
