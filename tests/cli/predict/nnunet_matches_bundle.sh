# The shipped CT bundle written as an nnU-Net v2 result folder (tests/tools/bundle_to_nnunet.py) must label
# the sample CT exactly as the bundle does: both loaders feed the same pipeline (CT normalization,
# resampling 2.4x2.4x4.5 mm -> the model's 3x3x2.5 mm and back, mirroring over the same axes).
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import torch' 2>/dev/null || skip "Debian's python3-torch is needed to write the nnU-Net folder"
folder=$(/usr/bin/python3 "$(dirname "$0")/../../tools/bundle_to_nnunet.py" "$VOXSEG_SOURCE/models/ct-abdomen-small" \
  "$WORK/results") || fail "cannot write the nnU-Net folder"
image="$VOXSEG_SOURCE/sample_data/ct_abdomen/image.nii.gz"
expect_exit 0 voxseg predict -m "$VOXSEG_SOURCE/models/ct-abdomen-small" --batch-size 8 "$image" -o "$WORK/bundle.nii.gz"
expect_exit 0 voxseg predict --nnunet "$folder" --batch-size 8 "$image" -o "$WORK/nnunet.nii.gz"
expect_same_image "$WORK/bundle.nii.gz" "$WORK/nnunet.nii.gz"
[ "$(json_get "$WORK/nnunet.json" tiles)" = "$(json_get "$WORK/bundle.json" tiles)" ] || fail "different tiling"
