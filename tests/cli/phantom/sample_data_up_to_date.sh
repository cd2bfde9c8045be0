# scripts/make_sample_data.sh regenerates the committed sample_data/ byte for byte (so the phantom
# generator is deterministic across runs and any change to it is noticed).
source "$(dirname "$0")/../lib.sh"
[ -d "$VOXSEG_SOURCE/sample_data/ct_abdomen" ] || skip "no sample_data/ in the source tree"
expect_exit 0 env VOXSEG_BIN="$VOXSEG_BIN" TMPDIR="$WORK" bash "$VOXSEG_SOURCE/scripts/make_sample_data.sh" --check
expect_stdout "sample_data is up to date"
# The committed DICOM series reads back as the CT phantom exactly.
if [ -x "$VOXSEG_BIN/voxseg-convert" ] && [ -d "$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom" ]; then
  expect_same_image "$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom/" "$VOXSEG_SOURCE/sample_data/ct_abdomen/image.nii.gz" --abs 0
fi
