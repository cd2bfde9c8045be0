# Bad inputs end with exit 3 and one line naming the file and the problem: missing, empty,
# truncated .nii.gz, text named .nii, folder without DICOM, NIfTI-2, 4D NIfTI.
source "$(dirname "$0")/../lib.sh"
check() {  # check REGEX FILE
  expect_exit 3 voxseg info "$2"
  expect_one_line_error
  expect_stderr "'$2'.*$1"
}
check "no such file" "$WORK/missing.nii.gz"
: > "$WORK/empty.nii.gz"; check "file is empty" "$WORK/empty.nii.gz"
echo "just some text, long enough to look like it could hold a header of some kind" > "$WORK/text.nii"
check "not a NIfTI file" "$WORK/text.nii"
mkdir "$WORK/nodicom"; echo hi > "$WORK/nodicom/readme.txt"
check "no DICOM" "$WORK/nodicom"
/usr/bin/python3 - "$WORK" <<'PY' || fail "cannot make fixtures with nibabel"
import sys, numpy as np, nibabel as nib
w = sys.argv[1]
a = (np.arange(40 * 40 * 30) % 251).astype(np.float32).reshape(40, 40, 30)
nib.Nifti1Image(a, np.diag([2, 2, 3, 1])).to_filename(w + "/whole.nii.gz")
data = open(w + "/whole.nii.gz", "rb").read()
open(w + "/truncated.nii.gz", "wb").write(data[: len(data) // 2])
nib.Nifti2Image(a, np.eye(4)).to_filename(w + "/nifti2.nii.gz")
nib.Nifti1Image(np.zeros((8, 8, 4, 3), np.int16), np.eye(4)).to_filename(w + "/four_d.nii.gz")
PY
check "truncated" "$WORK/truncated.nii.gz"
check "NIfTI-2 files are not supported" "$WORK/nifti2.nii.gz"
check "4D NIfTI \(8x8x4 with 3 volumes\).*split" "$WORK/four_d.nii.gz"
expect_exit 0 voxseg info "$WORK/whole.nii.gz"   # the intact file reads
