# A series whose Study/Series/SOP Instance UIDs an anonymizer blanked (empty) or removed is grouped
# by its headers, read with one warning, and gives the same volume as the original series.
source "$(dirname "$0")/../lib.sh"
src="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
[ -d "$src" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
command -v dcmodify >/dev/null || skip "dcmodify (package dcmtk) not installed"
mkdir "$WORK/orig" "$WORK/anon"
cp "$src"/IMG000[1-8].dcm "$WORK/orig/"
cp "$src"/IMG000[1-8].dcm "$WORK/anon/"
dcmodify -q -nb -ma "(0020,000e)=" -ma "(0020,000d)=" -ma "(0008,0018)=" "$WORK"/anon/IMG000[1-4].dcm || fail "dcmodify -ma"
dcmodify -q -nb -ea "(0020,000e)" -ea "(0020,000d)" -ea "(0008,0018)" "$WORK"/anon/IMG000[5-8].dcm || fail "dcmodify -ea"
expect_exit 0 voxseg info "$WORK/anon"
expect_stdout "size +160 x 160 x 8"
expect_stdout "series +no-uid-1 \(the files have no SeriesInstanceUID"
expect_stderr "warning: .*8 files without SeriesInstanceUID.*grouped into 1 series"
[ "$(grep -c . "$WORK/stderr")" = 1 ] || { cat "$WORK/stderr" >&2; fail "expected one warning line"; }
expect_exit 0 voxseg info --json --series no-uid-1 "$WORK/anon"
cp "$WORK/stdout" "$WORK/info.json"
[ "$(json_get "$WORK/info.json" dicom.series_uid_missing)" = True ] || fail "series_uid_missing not reported"
expect_exit 0 voxseg convert "$WORK/anon" "$WORK/anon.nii.gz"
expect_exit 0 voxseg convert "$WORK/orig" "$WORK/orig.nii.gz"
expect_same_image "$WORK/anon.nii.gz" "$WORK/orig.nii.gz" --abs 0
