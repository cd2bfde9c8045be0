# A prediction on another grid is refused (exit 3, naming the difference) unless --resample-pred resamples it.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
ref = np.zeros((40, 40, 20), np.uint8); ref[10:30, 10:30, 5:15] = 3
nib.save(nib.Nifti1Image(ref, np.diag([1.0, 1.0, 2.0, 1.0])), "ref.nii.gz")
pred = np.zeros((20, 20, 10), np.uint8); pred[5:15, 5:15, 2:8] = 3     # same object, half resolution
aff = np.diag([2.0, 2.0, 4.0, 1.0]); aff[:3, 3] = [0.5, 0.5, 1.0]         # voxel centres of the coarse grid
nib.save(nib.Nifti1Image(pred, aff), "pred.nii.gz")
PY
expect_exit 3 voxseg eval -p pred.nii.gz -r ref.nii.gz --csv m.csv
expect_one_line_error
expect_stderr "size|spacing"
expect_stderr "--resample-pred"
[ ! -e m.csv ] || fail "no CSV may be written for a failed single case"
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --resample-pred --output-json m.json
expect_stderr "warn.*resampl"
/usr/bin/python3 - <<'PY' || fail "resampled scores"
import json
j = json.load(open("m.json"))
c = j["cases"][0]
assert c["resampled_pred"] is True
l = c["labels"][0]
assert l["label"] == "3" and l["dice"] > 0.85, l
PY
