# pydicom's MR_small in every transfer syntax GDCM decodes gives the same voxels as pydicom reads;
# the truncated copy fails with exit 3 and a one-line message instead of zero-filled data.
source "$(dirname "$0")/../lib.sh"
P=/usr/lib/python3/dist-packages/pydicom/data/test_files
[ -f "$P/MR_small.dcm" ] || skip "python3-pydicom test files not installed"
expect_exit 0 voxseg convert "$P/MR_small.dcm" "$WORK/ref.nii.gz"
/usr/bin/python3 - "$P/MR_small.dcm" "$WORK/ref.nii.gz" <<'PY' || fail "MR_small voxels differ from pydicom"
import sys, numpy as np, nibabel as nib, pydicom
a = pydicom.dcmread(sys.argv[1]).pixel_array          # [rows, cols]
b = np.asarray(nib.load(sys.argv[2]).dataobj)[:, :, 0]  # [x, y]
assert np.array_equal(a.T, b), "voxels differ"
PY
for v in RLE bigendian expb implicit jp2klossless jpeg_ls_lossless padded; do
  expect_exit 0 voxseg convert "$P/MR_small_$v.dcm" "$WORK/$v.nii.gz"
  expect_same_image "$WORK/$v.nii.gz" "$WORK/ref.nii.gz"
done
expect_exit 3 voxseg info "$P/MR_truncated.dcm"
expect_one_line_error
expect_stderr "MR_truncated.dcm.*truncated pixel data"
