# --count N writes an nnU-Net v2 dataset: imagesTr/<kind>_<seed>_0000.nii.gz, labelsTr/<kind>_<seed>.nii.gz,
# dataset.json with channel_names, labels, numTraining and file_ending; case i equals the single case of seed+i.
source "$(dirname "$0")/../lib.sh"
ds="$WORK/Dataset500_Phantom"
expect_exit 0 voxseg phantom --kind mr-brain --seed 7 --count 3 --size 40,48,40 -o "$ds" --json
expect_stdout '"json": ".*dataset.json"'
for s in 007 008 009; do
  [ -s "$ds/imagesTr/mr-brain_${s}_0000.nii.gz" ] || fail "missing image of case $s"
  [ -s "$ds/labelsTr/mr-brain_${s}.nii.gz" ] || fail "missing labels of case $s"
done
[ "$(ls "$ds/imagesTr" | wc -l)" = 3 ] || fail "extra files in imagesTr"
[ "$(json_get "$ds/dataset.json" channel_names.0)" = MRI ] || fail "channel_names"
[ "$(json_get "$ds/dataset.json" labels.white_matter)" = 3 ] || fail "labels"
[ "$(json_get "$ds/dataset.json" labels.background)" = 0 ] || fail "background label"
[ "$(json_get "$ds/dataset.json" numTraining)" = 3 ] || fail "numTraining"
[ "$(json_get "$ds/dataset.json" file_ending)" = .nii.gz ] || fail "file_ending"
expect_exit 0 voxseg phantom --kind mr-brain --seed 8 --size 40,48,40 -o "$WORK/single"
cmp -s "$WORK/single/image.nii.gz" "$ds/imagesTr/mr-brain_008_0000.nii.gz" || fail "case 008 differs from seed 8"
cmp -s "$WORK/single/labels.nii.gz" "$ds/labelsTr/mr-brain_008.nii.gz" || fail "labels 008 differ from seed 8"
[ ! -e "$ds/phantom.json" ] || fail "a dataset has no phantom.json"
