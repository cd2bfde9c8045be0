# One input to one file: an existing output is refused (5) before any work, a CUDA request in a CPU
# build is exit 6 with a clear message, a missing model is 4, a channel mismatch is 3.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import torch, nibabel' 2>/dev/null || skip "Debian's python3-torch and python3-nibabel are needed to write the test bundle"
here="$(dirname "$0")"
mkdir -p "$WORK/model" "$WORK/model2" "$WORK/cases"
/usr/bin/python3 "$here/make_bundle.py" "$WORK/model"
/usr/bin/python3 "$here/make_bundle.py" "$WORK/model2" 2
/usr/bin/python3 "$here/make_cases.py" "$WORK/cases" a
in="$WORK/cases/a.nii.gz"; out="$WORK/a_labels.nrrd"

expect_exit 0 voxseg predict -m "$WORK/model" "$in" -o "$out" --disable-tta --step 0.7
[ -f "$out" ] && [ -f "$WORK/a_labels.json" ] || fail "outputs missing"
expect_same_image "$out" "$out"
expect_exit 5 voxseg predict -m "$WORK/model" "$in" -o "$out"
expect_stderr "exists.*--force"
expect_exit 0 voxseg predict -m "$WORK/model" "$in" -o "$out" --force --save-probabilities
[ -f "$WORK/a_labels_probabilities.nrrd" ] || fail "probabilities missing"

if ! voxseg --version | grep -q "CUDA built"; then
  expect_exit 6 voxseg predict -m "$WORK/model" "$in" -o "$WORK/x.nii.gz" --device cuda
  expect_one_line_error
  expect_stderr "CUDA"
fi
expect_exit 4 voxseg predict -m "$WORK/no-such-model" "$in" -o "$WORK/y.nii.gz"
expect_one_line_error
expect_exit 3 voxseg predict -m "$WORK/model2" "$in" -o "$WORK/z.nii.gz"
expect_stderr "2 channel"
# Two channel files named nnU-Net style form one case for the two-channel model.
mkdir "$WORK/mc"; cp "$in" "$WORK/mc/p_0000.nii.gz"; cp "$in" "$WORK/mc/p_0001.nii.gz"
expect_exit 0 voxseg predict -m "$WORK/model2" "$WORK/mc" -o "$WORK/mc_out"
[ -f "$WORK/mc_out/p.nii.gz" ] || fail "multi-channel case not written as p.nii.gz"
