# Mixed slice spacing (two slices dropped from the sample series) is refused with exit 3 and one line
# listing every gap; nothing is written.
source "$(dirname "$0")/../lib.sh"
src="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
[ -d "$src" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
/usr/bin/python3 -c "import pydicom, numpy" 2>/dev/null || skip "Debian's python3-pydicom/python3-numpy not installed"
/usr/bin/python3 "$VOXSEG_SOURCE/tests/cli/dicom_variants.py" gap "$src" "$WORK/gap" || fail "cannot make the fixture"
expect_exit 3 voxseg info "$WORK/gap"
expect_one_line_error
expect_stderr "missing slice\(s\) in series [0-9.]+: 9 mm between 'IMG0002.dcm' and 'IMG0003.dcm', 9 mm between 'IMG0004.dcm' and 'IMG0005.dcm' where the spacing is 4.5 mm"
expect_exit 3 voxseg convert "$WORK/gap" "$WORK/gap.nii.gz"
[ ! -e "$WORK/gap.nii.gz" ] || fail "an output was written for a refused series"
