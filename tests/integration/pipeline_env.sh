# Shared set-up of the pipeline tests (sourced after ../cli/lib.sh): two full-field-of-view phantom CT scans in a
# flat folder, their reference labels, and the shipped model.
MODEL="$VOXSEG_SOURCE/models/ct-abdomen-small"
[ -f "$MODEL/model.json" ] || skip "no shipped model at $MODEL"
[ -x "$VOXSEG_BIN/voxseg-predict" ] || skip "voxseg-predict is not built"
mkdir -p "$WORK/images" "$WORK/refs"
for seed in 41 42; do
  voxseg phantom --kind ct-abdomen --seed $seed --size 96,96,40 --spacing 4,4,6.3 -o "$WORK/ph$seed" -q
  mv "$WORK/ph$seed/image.nii.gz" "$WORK/images/ct$seed.nii.gz"
  mv "$WORK/ph$seed/labels.nii.gz" "$WORK/refs/ct$seed.nii.gz"
done
cat > "$WORK/config.yaml" <<YAML
images: $WORK/images
references: $WORK/refs
output: $WORK/out
model: $MODEL
voxseg: $VOXSEG_BIN/voxseg
threads: 1
mem_mb: 2000
YAML
check_pipeline_outputs() {
  for seed in 41 42; do
    [ -f "$WORK/out/labels/ct$seed.nii.gz" ] || fail "missing labels for ct$seed"
    /usr/bin/python3 - "$WORK/out/labels/ct$seed.nii.gz" "$WORK/images/ct$seed.nii.gz" <<'PY' || fail "ct$seed: labels do not have the scan's geometry"
import sys, nibabel as nib, numpy as np
a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
assert a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-4), (a.shape, b.shape)
assert np.asarray(a.dataobj).max() > 0, "no foreground predicted"
PY
  done
  [ -s "$WORK/out/metrics.csv" ] || fail "missing metrics.csv"
  grep -q "ct41" "$WORK/out/metrics.csv" && grep -q "ct42" "$WORK/out/metrics.csv" || fail "metrics.csv lacks a case"
  no_partial_files "$WORK/out"
}
