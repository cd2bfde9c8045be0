# A batch with one corrupt file writes the others (with the input's exact geometry), exits 8, and a
# rerun without --force skips the finished cases; --force redoes them.
source "$(dirname "$0")/../lib.sh"
make_predict_fixture a b c_corrupt
mkdir -p "$WORK/out"

expect_exit 8 voxseg predict -m "$WORK/model" "$WORK/cases" -o "$WORK/out" --json
expect_stderr "c_corrupt"
[ -f "$WORK/out/a.nii.gz" ] && [ -f "$WORK/out/b.nii.gz" ] || fail "finished cases were not written"
[ ! -e "$WORK/out/c_corrupt.nii.gz" ] || fail "a label map was written for the corrupt case"
no_partial_files "$WORK/out"
[ "$(grep -Ec '"status": *"ok"' "$WORK/stdout")" = 2 ] || fail "expected two ok cases on stdout"
grep -Eq '"status": *"failed"' "$WORK/stdout" || fail "the failed case is not reported"
[ "$(json_get "$WORK/out/a.json" model.id)" != "" ] || fail "report lacks the model id"
json_get "$WORK/out/a.json" timings.network_s >/dev/null || fail "report lacks timings"
json_get "$WORK/out/a.json" command_line | grep -Eq predict || fail "report lacks the command line"

# Labels: same grid as the input, and they mark the bright ellipsoid.
/usr/bin/python3 - "$WORK/cases/a.nii.gz" "$WORK/out/a.nii.gz" <<'PY' || fail "labels do not match the input"
import sys, numpy as np, nibabel as nib
img, lab = nib.load(sys.argv[1]), nib.load(sys.argv[2])
assert img.shape == lab.shape, (img.shape, lab.shape)
assert np.allclose(img.affine, lab.affine, atol=1e-4), (img.affine, lab.affine)
assert lab.get_data_dtype() == np.uint8, lab.get_data_dtype()
a, b = img.get_fdata() > 50, lab.get_fdata() > 0
agree = (a == b).mean()
assert agree > 0.95 and b.sum() > 0, agree
PY

before=$(stat -c %Y.%s "$WORK/out/a.nii.gz")
sleep 1
expect_exit 8 voxseg predict -m "$WORK/model" "$WORK/cases" -o "$WORK/out" --json
[ "$(grep -Ec '"status": *"skipped"' "$WORK/stdout")" = 2 ] || fail "finished cases were not skipped"
[ "$(stat -c %Y.%s "$WORK/out/a.nii.gz")" = "$before" ] || fail "a finished case was rewritten without --force"

expect_exit 8 voxseg predict -m "$WORK/model" "$WORK/cases" -o "$WORK/out" --force --json
[ "$(grep -Ec '"status": *"ok"' "$WORK/stdout")" = 2 ] || fail "--force did not redo the cases"
