# voxseg predict --nnunet on an nnU-Net v2 result folder written by PyTorch (random weights, two folds,
# CT + MR channels as CASE_0000/CASE_0001, transposed axes): the labels equal PyTorch's for the same
# pipeline, the report names the folds; bad folders, folds, checkpoints and option mixes are refused
# with one-line errors and the documented exit codes.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import torch, nibabel' 2>/dev/null || skip "Debian's python3-torch and python3-nibabel are needed to write the nnU-Net fixture"
make_folder="$(dirname "$0")/../../tools/make_nnunet_folder.py"
results="$WORK/nnUNet_results"
folder=$(/usr/bin/python3 "$make_folder" "$results" --folds 2 --channels ct,mr --transpose 2,0,1 --seed 7) ||
  fail "cannot write the nnU-Net fixture"
dataset="$results/Dataset042_Test"

# The reference case as nnU-Net channel files, and the expected labels.
mkdir -p "$WORK/imagesTs"
/usr/bin/python3 "$(dirname "$0")/../../tools/nnunet_reference_case.py" "$results/reference.pth" "$WORK/imagesTs" case7 \
  "$WORK/expected.nii.gz" || fail "cannot write the case"

expect_exit 0 voxseg predict --nnunet "$dataset" "$WORK/imagesTs" -o "$WORK/out" --json
[ -f "$WORK/out/case7.nii.gz" ] || fail "case7_0000 + case7_0001 were not predicted as case7.nii.gz"
expect_same_image "$WORK/out/case7.nii.gz" "$WORK/expected.nii.gz"
json_get "$WORK/out/case7.json" model.id | grep -Eq "Dataset042_Test/nnUNetTrainer__nnUNetPlans__3d_fullres@fold 0,1" ||
  fail "the report does not name the dataset, configuration and folds: $(json_get "$WORK/out/case7.json" model.id)"
no_partial_files "$WORK/out"

# One fold only, by number, straight from the trained-model folder.
expect_exit 0 voxseg predict --nnunet "$folder" --folds 1 --configuration 3d_fullres "$WORK/imagesTs" -o "$WORK/out1"
json_get "$WORK/out1/case7.json" model.id | grep -Eq "@fold 1$" || fail "--folds 1 did not select fold_1"

# Refusals: one line each, exit 2 for usage, 4 for the model, 6 for the device.
expect_exit 2 voxseg predict --nnunet "$folder" -m "$folder" "$WORK/imagesTs" -o "$WORK/x"
expect_exit 2 voxseg predict -m "$folder" --folds 0 "$WORK/imagesTs" -o "$WORK/x"
expect_exit 2 voxseg predict "$WORK/imagesTs" -o "$WORK/x"
expect_stderr "nnunet"
expect_exit 4 voxseg predict -m "$folder" "$WORK/imagesTs" -o "$WORK/x"
expect_stderr "is an nnU-Net result folder.*--nnunet"
expect_exit 4 voxseg predict --nnunet "$folder" --folds 0,7 "$WORK/imagesTs" -o "$WORK/x"
expect_one_line_error
expect_stderr "no fold_7 \(folds: fold_0, fold_1\)"
expect_exit 4 voxseg predict --nnunet "$folder" --checkpoint checkpoint_best.pth "$WORK/imagesTs" -o "$WORK/x"
expect_stderr "no fold has checkpoint_best.pth \(fold_0: checkpoint_final.pth, fold_1: checkpoint_final.pth\)"
expect_exit 4 voxseg predict --nnunet "$folder" --folds 1 --checkpoint checkpoint_best.pth "$WORK/imagesTs" -o "$WORK/x"
expect_stderr "fold_1 has no checkpoint_best.pth \(it has: checkpoint_final.pth\)"
expect_exit 2 voxseg predict --nnunet "$folder" --configuration 2d "$WORK/imagesTs" -o "$WORK/x"
expect_stderr "holds a 3d_fullres model"
expect_exit 4 voxseg predict --nnunet "$dataset" --configuration 3d_lowres "$WORK/imagesTs" -o "$WORK/x"
expect_stderr "no <Trainer>__<Plans>__3d_lowres folder"
expect_exit 4 voxseg predict --nnunet "$WORK/no-such-folder" "$WORK/imagesTs" -o "$WORK/x"
expect_one_line_error
if ! voxseg --version | grep -q "CUDA built"; then
  expect_exit 6 voxseg predict --nnunet "$folder" --device cuda "$WORK/imagesTs" -o "$WORK/x"
  expect_stderr "CUDA"
fi
[ ! -e "$WORK/x" ] || [ -z "$(ls -A "$WORK/x")" ] || fail "a refused run left outputs"

# A plan with a custom network class and a legacy (pre-zip) checkpoint are named, not crashed on.
bad="$WORK/bad/nnUNetTrainer__MyLabPlans__3d_fullres"
mkdir -p "$bad/fold_0"
cp "$folder/dataset.json" "$bad/"
cp "$folder/fold_0/checkpoint_final.pth" "$bad/fold_0/"
sed 's/dynamic_network_architectures\.architectures\.unet\.PlainConvUNet/my_lab.networks.AttentionGatedUNet/' \
  "$folder/plans.json" >"$bad/plans.json"
expect_exit 4 voxseg predict --nnunet "$bad" "$WORK/imagesTs" -o "$WORK/x"
expect_one_line_error
expect_stderr "AttentionGatedUNet"
legacy="$WORK/legacy/nnUNetTrainer__nnUNetPlans__3d_fullres"
mkdir -p "$legacy/fold_0"
cp "$folder/plans.json" "$folder/dataset.json" "$legacy/"
/usr/bin/python3 -c "import torch, sys; torch.save(torch.load(sys.argv[1]), sys.argv[2], _use_new_zipfile_serialization=False)" \
  "$folder/fold_0/checkpoint_final.pth" "$legacy/fold_0/checkpoint_final.pth" || fail "cannot write a legacy checkpoint"
expect_exit 4 voxseg predict --nnunet "$legacy" "$WORK/imagesTs" -o "$WORK/x"
expect_one_line_error
expect_stderr "checkpoint_final.pth"

# A case missing its second channel fails alone (exit 8), the complete one is written.
cp "$WORK/imagesTs/case7_0000.nii.gz" "$WORK/imagesTs/lonely_0000.nii.gz"
expect_exit 8 voxseg predict --nnunet "$folder" "$WORK/imagesTs" -o "$WORK/out2"
expect_stderr "lonely"
[ -f "$WORK/out2/case7.nii.gz" ] && [ ! -e "$WORK/out2/lonely.nii.gz" ] || fail "batch did not isolate the incomplete case"
