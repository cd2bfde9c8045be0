# An Enhanced CT Image Storage file (multi-frame, per-frame functional groups, rescale only in the
# functional groups) built with pydicom from 8 sample slices reads as the same volume (HU) as the slices.
source "$(dirname "$0")/../lib.sh"
src="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
[ -d "$src" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
/usr/bin/python3 -c "import pydicom, numpy" 2>/dev/null || skip "Debian's python3-pydicom/python3-numpy not installed"
/usr/bin/python3 "$VOXSEG_SOURCE/tests/cli/dicom_variants.py" enhanced "$src" "$WORK/enhanced.dcm" 8 ||
  fail "cannot make the enhanced CT fixture"
mkdir "$WORK/slices"
cp "$src"/IMG000[1-8].dcm "$WORK/slices/"
expect_exit 0 voxseg info "$WORK/enhanced.dcm"
expect_stdout "size +160 x 160 x 8"
expect_stdout "spacing +2.4 x 2.4 x 4.5 mm"
expect_exit 0 voxseg convert "$WORK/enhanced.dcm" "$WORK/enhanced.nii.gz"
expect_exit 0 voxseg convert "$WORK/slices" "$WORK/slices.nii.gz"
expect_same_image "$WORK/enhanced.nii.gz" "$WORK/slices.nii.gz" --abs 0
# In a folder it is a series of its own.
mkdir "$WORK/folder"
cp "$WORK/enhanced.dcm" "$WORK/folder/"
expect_exit 0 voxseg convert "$WORK/folder" "$WORK/folder.nii.gz"
expect_same_image "$WORK/folder.nii.gz" "$WORK/slices.nii.gz" --abs 0
