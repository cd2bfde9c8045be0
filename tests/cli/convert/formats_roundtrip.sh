# NIfTI -> NRRD -> MetaImage -> detached NRRD/MetaImage -> NIfTI keeps geometry and voxels exactly;
# --dtype converts on request, and refuses values that do not fit (exit 3, nothing written).
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 - "$WORK" <<'PY' || fail "cannot make the fixture"
import sys, numpy as np, nibabel as nib
a = (np.arange(20 * 18 * 7).reshape(20, 18, 7) % 700 - 300).astype(np.float32) + 0.25
aff = np.array([[0, -0.8, 0, 12.5], [1.2, 0, 0, -40.0], [0, 0, 2.5, -7.25], [0, 0, 0, 1]])
nib.Nifti1Image(a, aff).to_filename(sys.argv[1] + "/in.nii.gz")
PY
prev="$WORK/in.nii.gz"
for ext in nrrd mha nhdr mhd nii; do
  expect_exit 0 voxseg convert "$prev" "$WORK/step.$ext"
  expect_same_image "$WORK/step.$ext" "$WORK/in.nii.gz"
  prev="$WORK/step.$ext"
done
no_partial_files "$WORK"
expect_exit 0 voxseg convert --dtype int16 "$WORK/in.nii.gz" "$WORK/i16.nrrd"
expect_exit 0 voxseg info --json "$WORK/i16.nrrd"
[ "$(json_get "$WORK/stdout" stored_type)" = int16 ] || fail "--dtype int16 not applied"
expect_same_image "$WORK/i16.nrrd" "$WORK/in.nii.gz" --abs 0.5
expect_exit 3 voxseg convert --dtype uint8 "$WORK/in.nii.gz" "$WORK/u8.nii.gz"
expect_one_line_error
expect_stderr "values .* do not fit"
[ ! -e "$WORK/u8.nii.gz" ] || fail "output written although the values do not fit"
f=/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1UCharRaw.nii.gz
if [ -f "$f" ]; then
  expect_exit 0 voxseg convert --dtype uint16 "$f" "$WORK/u16.mha"
  expect_exit 0 voxseg info --json "$WORK/u16.mha"
  [ "$(json_get "$WORK/stdout" stored_type)" = uint16 ] || fail "uint16 not stored"
  [ "$(json_get "$WORK/stdout" dtype)" = int32 ] || fail "uint16 should read as int32"
  expect_same_image "$WORK/u16.mha" "$f"
fi
