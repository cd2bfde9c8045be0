# An intensity image given as a label map is refused (exit 3) with a hint that -p/-r may be swapped:
# float data with non-integer values, or more distinct values than --max-labels (default 1000).
source "$(dirname "$0")/../lib.sh"
voxseg phantom --kind ct-abdomen --seed 1 --size 40,40,12 -o "$WORK/ph" >/dev/null || fail "phantom"
img="$WORK/ph/image.nii.gz"; lab="$WORK/ph/labels.nii.gz"

expect_exit 3 voxseg eval -p "$img" -r "$lab"
expect_one_line_error
expect_stderr "image.nii.gz' \(prediction\) holds non-integer values"
expect_stderr "swapped"
expect_exit 3 voxseg eval -p "$lab" -r "$img" --json
expect_stderr "\(reference\)"
expect_stdout '"status": *"failed"'

# An integer image (int16, rounded CT values) has too many distinct values to be a label map.
/usr/bin/python3 - "$img" "$WORK/int.nii.gz" <<'PY' || skip "python3-nibabel/numpy missing"
import sys, numpy as np, nibabel as nib
im = nib.load(sys.argv[1])
nib.save(nib.Nifti1Image(np.round(im.get_fdata()).astype(np.int16), im.affine), sys.argv[2])
print(len(np.unique(np.round(im.get_fdata()))))
PY
n=$(/usr/bin/python3 -c 'import sys, numpy as np, nibabel as nib; print(len(np.unique(nib.load(sys.argv[1]).get_fdata())) - 1)' "$WORK/int.nii.gz")
[ "$n" -gt 200 ] || skip "the phantom has only $n distinct values"
expect_exit 3 voxseg eval -p "$WORK/int.nii.gz" -r "$lab" --max-labels 200
expect_stderr "has $n distinct label values, more than --max-labels 200"
expect_stderr "swapped"
# Raised limit: scored (it is an integer volume).
expect_exit 0 voxseg eval -p "$WORK/int.nii.gz" -r "$lab" --max-labels 100000 --no-surface
# A real label map passes.
expect_exit 0 voxseg eval -p "$lab" -r "$lab" --no-surface
