# NIfTI scl_slope/scl_inter are applied (values as nibabel's get_fdata); integer files with an
# integral rescale stay integers (int16 here) instead of ITK's float32.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 - "$WORK" <<'PY' || fail "cannot make fixtures"
import sys, numpy as np, nibabel as nib
a = (np.arange(6 * 7 * 8) % 300).astype(np.int16).reshape(6, 7, 8)
for name, slope, inter in [("int", 1.0, -1024.0), ("frac", 0.5, 3.25)]:
    img = nib.Nifti1Image(a, np.diag([1.5, 1.5, 2, 1])); img.header.set_slope_inter(slope, inter)
    img.to_filename(f"{sys.argv[1]}/{name}.nii.gz")
PY
for name in int frac; do
  expect_exit 0 voxseg info --json "$WORK/$name.nii.gz"
  cp "$WORK/stdout" "$WORK/$name.json"
  expect_exit 0 voxseg convert "$WORK/$name.nii.gz" "$WORK/$name.nrrd"
done
[ "$(json_get "$WORK/int.json" dtype)" = int16 ] || fail "integral rescale should give int16"
[ "$(json_get "$WORK/frac.json" dtype)" = float32 ] || fail "fractional rescale should give float32"
/usr/bin/python3 - "$WORK" <<'PY' || fail "values differ from nibabel"
import json, sys, numpy as np, nibabel as nib
for name in ["int", "frac"]:
    ref = nib.load(f"{sys.argv[1]}/{name}.nii.gz").get_fdata()
    s = json.load(open(f"{sys.argv[1]}/{name}.json"))["statistics"]
    assert abs(s["min"] - ref.min()) < 1e-6 and abs(s["max"] - ref.max()) < 1e-6 and abs(s["mean"] - ref.mean()) < 1e-4, (name, s)
print("ok")
PY
expect_same_image "$WORK/int.nrrd" "$WORK/int.nii.gz"
