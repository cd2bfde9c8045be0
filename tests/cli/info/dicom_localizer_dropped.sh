# Two localizer images (ImageType ...\LOCALIZER, coronal) in the same series are dropped with one
# warning and listed by `voxseg info`; the volume equals the series without them.
source "$(dirname "$0")/../lib.sh"
src="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
[ -d "$src" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
/usr/bin/python3 -c "import pydicom, numpy" 2>/dev/null || skip "Debian's python3-pydicom/python3-numpy not installed"
/usr/bin/python3 "$VOXSEG_SOURCE/tests/cli/dicom_variants.py" localizer "$src" "$WORK/loc" || fail "cannot make the fixture"
expect_exit 0 voxseg info "$WORK/loc"
expect_stdout "size +160 x 160 x 56"
expect_stdout "dropped +2 images not in the volume"
expect_stdout "IMG0001.dcm +localizer \(ImageType ORIGINAL.PRIMARY.LOCALIZER\)"
expect_stderr "warning: .*dropped 2 localizer images from series [0-9.]+: IMG0001.dcm, IMG0002.dcm"
[ "$(grep -c . "$WORK/stderr")" = 1 ] || { cat "$WORK/stderr" >&2; fail "expected one warning line"; }
expect_exit 0 voxseg convert "$WORK/loc" "$WORK/loc.nii.gz"
expect_same_image "$WORK/loc.nii.gz" "$src/" --abs 0
