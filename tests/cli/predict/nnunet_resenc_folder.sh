# voxseg predict --nnunet on a ResEnc result folder (nnUNetResEncUNetMPlans, ResidualEncoderUNet with
# random weights, written by PyTorch): the labels equal PyTorch's for the same pipeline.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import torch, nibabel' 2>/dev/null || skip "Debian's python3-torch and python3-nibabel are needed to write the nnU-Net fixture"
make_folder="$(dirname "$0")/../../tools/make_nnunet_folder.py"
results="$WORK/nnUNet_results"
folder=$(/usr/bin/python3 "$make_folder" "$results" --resenc --folds 2 --transpose 2,0,1 --seed 11) ||
  fail "cannot write the nnU-Net fixture"
mkdir -p "$WORK/imagesTs"
/usr/bin/python3 "$(dirname "$0")/../../tools/nnunet_reference_case.py" "$results/reference.pth" "$WORK/imagesTs" case11 \
  "$WORK/expected.nii.gz" || fail "cannot write the case"
expect_exit 0 voxseg predict --nnunet "$folder" "$WORK/imagesTs" -o "$WORK/out" --json
expect_same_image "$WORK/out/case11.nii.gz" "$WORK/expected.nii.gz"
json_get "$WORK/out/case11.json" model.id | grep -q "nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres@fold 0,1" ||
  fail "the report does not name the ResEnc plans and folds: $(json_get "$WORK/out/case11.json" model.id)"
