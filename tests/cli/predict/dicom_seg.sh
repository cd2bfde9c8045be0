# predict --dicom-seg on the sample DICOM series: <name>.seg.dcm beside the label map, valid for
# dciodvfy, with the model's label names and codes, reading back equal to the label map; folder mode
# writes OUT/<case>.seg.dcm and fails (exit 8) a case not read from DICOM; no DICOM case at all is
# a usage error (2).
source "$(dirname "$0")/../lib.sh"
S="$VOXSEG_SOURCE/sample_data"
[ -d "$S/ct_abdomen_dicom" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
/usr/bin/python3 -c 'import torch, nibabel, pydicom' 2>/dev/null || skip "Debian's python3-torch, -nibabel and -pydicom are needed"
here="$(dirname "$0")"
mkdir -p "$WORK/model" "$WORK/out"
/usr/bin/python3 "$here/make_bundle.py" "$WORK/model"
# The sample's own spacing and a large patch: few tiles. Label 1 is "liver" with a colour.
/usr/bin/python3 - "$WORK/model/model.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m.update(target_spacing=[4.5, 2.4, 2.4], patch_size=[16, 64, 64])
m["labels"] = [{"id": 0, "name": "background"}, {"id": 1, "name": "liver", "color": [200, 100, 50]}]
json.dump(m, open(sys.argv[1], "w"))
PY

expect_exit 0 voxseg predict -m "$WORK/model" "$S/ct_abdomen_dicom" -o "$WORK/out/labels.nii.gz" --disable-tta --dicom-seg
seg="$WORK/out/labels.seg.dcm"
[ -f "$seg" ] && [ -f "$WORK/out/labels.nii.gz" ] || fail "outputs missing"
[ "$(json_get "$WORK/out/labels.json" dicom_seg)" = "$seg" ] || fail "report lacks dicom_seg"
if command -v dciodvfy >/dev/null; then
  dciodvfy "$seg" >"$WORK/dciodvfy.txt" 2>&1 || { cat "$WORK/dciodvfy.txt" >&2; fail "dciodvfy found errors"; }
else
  echo "note: dciodvfy (dicom3tools) not installed; SEG validation skipped" >&2
fi
expect_exit 0 voxseg convert "$seg" "$WORK/back.nii.gz" --seg-reference "$S/ct_abdomen_dicom"
expect_same_image "$WORK/back.nii.gz" "$WORK/out/labels.nii.gz" --abs 0
/usr/bin/python3 - "$seg" "$WORK/model/model.json" <<'PY' || fail "SEG description wrong"
import hashlib, sys, pydicom
d = pydicom.dcmread(sys.argv[1]); s = d.SegmentSequence
assert len(s) == 1 and s[0].SegmentLabel == "liver", s
assert s[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == "10200004"
assert s[0].SegmentAlgorithmName == "threshold-test"
a = s[0].SegmentationAlgorithmIdentificationSequence[0]
assert a.AlgorithmName == "threshold-test" and a.AlgorithmVersion.startswith("voxseg ")
assert a.AlgorithmParameters.startswith("model_sha256=") and len(a.AlgorithmParameters) == 13 + 64, a.AlgorithmParameters
print("ok")
PY

# Folder mode: the DICOM case gets OUT/<case>.seg.dcm, a NIfTI case fails (8), the batch goes on.
expect_exit 8 voxseg predict -m "$WORK/model" "$S/ct_abdomen_dicom" "$S/ct_abdomen/image.nii.gz" -o "$WORK/batch" \
  --disable-tta --dicom-seg
[ -f "$WORK/batch/ct_abdomen_dicom.seg.dcm" ] || fail "folder mode: no OUT/<case>.seg.dcm"
expect_stderr "image.*--dicom-seg needs a case read from a DICOM series"
# No DICOM case at all: usage error before any work.
expect_exit 2 voxseg predict -m "$WORK/model" "$S/ct_abdomen/image.nii.gz" -o "$WORK/x.nii.gz" --dicom-seg
expect_one_line_error
expect_stderr "no input is a DICOM series"
no_partial_files "$WORK"
