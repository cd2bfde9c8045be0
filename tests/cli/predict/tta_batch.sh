# --tta-batch: the mirrored copies of a tile run as one forward pass (8) or one pass per mirror (1, and
# auto on the CPU);
# the labels are the same either way, for a TorchScript bundle and an nnU-Net folder (whose labels
# also equal PyTorch's), and the report says how many copies went per pass. A negative value is exit 2.
source "$(dirname "$0")/../lib.sh"
make_predict_fixture a
here="$(dirname "$0")"

expect_exit 0 voxseg predict -m "$WORK/model" "$WORK/cases/a.nii.gz" -o "$WORK/all.nii.gz" --tta-batch 8
expect_exit 0 voxseg predict -m "$WORK/model" "$WORK/cases/a.nii.gz" -o "$WORK/one.nii.gz"
expect_same_image "$WORK/all.nii.gz" "$WORK/one.nii.gz" --abs 0
[ "$(json_get "$WORK/all.json" tta_copies_per_pass)" = 8 ] || fail "--tta-batch 8 did not run the 8 mirrors in one pass"
[ "$(json_get "$WORK/one.json" tta_copies_per_pass)" = 1 ] || fail "auto on the CPU did not run one pass per mirror"
[ "$(json_get "$WORK/one.json" forward_passes)" = "$(( 8 * $(json_get "$WORK/all.json" forward_passes) ))" ] ||
  fail "forward passes: $(json_get "$WORK/one.json" forward_passes) vs $(json_get "$WORK/all.json" forward_passes)"
expect_exit 2 voxseg predict -m "$WORK/model" "$WORK/cases/a.nii.gz" -o "$WORK/bad.nii.gz" --tta-batch -1
[ ! -e "$WORK/bad.nii.gz" ] || fail "a usage error wrote an output"

# nnU-Net folder (native U-Net, two folds, transposed axes): both ways equal PyTorch's labels.
results="$WORK/nnUNet_results"
/usr/bin/python3 "$here/../../tools/make_nnunet_folder.py" "$results" --folds 2 --channels ct --transpose 2,0,1 --seed 9 \
  >/dev/null || fail "cannot write the nnU-Net fixture"
mkdir -p "$WORK/imagesTs"
/usr/bin/python3 "$(dirname "$0")/../../tools/nnunet_reference_case.py" "$results/reference.pth" "$WORK/imagesTs" case9 \
  "$WORK/expected.nii.gz" || fail "cannot write the case"
for n in 0 8 3; do
  expect_exit 0 voxseg predict --nnunet "$results/Dataset042_Test" "$WORK/imagesTs" -o "$WORK/nn$n" --tta-batch $n
  expect_same_image "$WORK/nn$n/case9.nii.gz" "$WORK/expected.nii.gz"
done
