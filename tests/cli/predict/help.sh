# --help exits 0 and documents every predict option; a missing required option is a usage error (2).
source "$(dirname "$0")/../lib.sh"
expect_exit 0 voxseg predict --help
for flag in --model --output --device --precision --step --batch-size --tta --disable-tta --save-probabilities \
            --largest-component --fill-holes --min-size-ml --connectivity --threads --force --json Examples; do
  expect_stdout "$flag"
done
expect_exit 2 voxseg predict in.nii.gz
expect_exit 2 voxseg predict -m m -o o --step 0 in.nii.gz
