# An intensity image given as a label map is refused (exit 3) with a hint that -p/-r may be swapped:
# more distinct non-zero values than --max-labels (default 1000), or float data with non-integer values.
source "$(dirname "$0")/../lib.sh"
voxseg phantom --kind ct-abdomen --seed 1 --size 64,64,16 -o "$WORK/ph" >/dev/null || fail "phantom"
img="$WORK/ph/image.nii.gz"; lab="$WORK/ph/labels.nii.gz"
n=$(/usr/bin/python3 -c 'import sys, numpy as np, nibabel as nib
d = np.asarray(nib.load(sys.argv[1]).dataobj); print(len(np.unique(d[d != 0])))' "$img") || skip "python3-nibabel/numpy missing"
[ "$n" -gt 1000 ] || fail "the phantom CT has only $n distinct values; the test needs more than 1000"

expect_exit 3 voxseg eval -p "$img" -r "$lab"
expect_one_line_error
expect_stderr "image.nii.gz' \(prediction\) has more than 1000 distinct non-zero values"
expect_stderr "swapped"
expect_exit 3 voxseg eval -p "$lab" -r "$img" --json
expect_stderr "image.nii.gz' \(reference\)"
expect_stdout '"status": *"failed"'
# A limit the user raises: an integer volume is scored.
expect_exit 0 voxseg eval -p "$img" -r "$lab" --max-labels 100000 --no-surface
# A label map passes; so does a float file holding whole numbers.
expect_exit 0 voxseg eval -p "$lab" -r "$lab" --no-surface
/usr/bin/python3 - "$img" "$lab" "$WORK" <<'PY' || fail "cannot write float volumes"
import sys, numpy as np, nibabel as nib
im, lab = nib.load(sys.argv[1]), nib.load(sys.argv[2])
nib.save(nib.Nifti1Image(np.asarray(lab.dataobj).astype(np.float32), lab.affine), sys.argv[3] + "/labf.nii.gz")
small = (np.asarray(im.dataobj) > 0) * 0.25 + 1.0   # two values, not whole numbers
nib.save(nib.Nifti1Image(small.astype(np.float32), im.affine), sys.argv[3] + "/frac.nii.gz")
PY
expect_exit 0 voxseg eval -p "$WORK/labf.nii.gz" -r "$lab" --no-surface
expect_exit 3 voxseg eval -p "$WORK/frac.nii.gz" -r "$lab"
expect_stderr "frac.nii.gz' \(prediction\) holds non-integer values \(e.g. 1.25\)"
expect_stderr "swapped"
