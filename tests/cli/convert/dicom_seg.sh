# DICOM SEG from the phantom label map over the sample DICOM series: dciodvfy finds no errors,
# pydicom sees the segments, codes, colours, per-frame positions and source references; reading it
# back (with and without the reference series) equals the label map; flipped/permuted copies of
# the label map give the byte-identical SEG; another grid is refused (3) unless --resample; a label
# map to a plain DICOM series is refused (2) unless --as-image; a strict label table; eval takes a
# SEG as reference; a fractional SEG with overlapping segments reads thresholded at 0.5, the later
# segment winning (with the overlap count); pydicom's dcmqi liver_1frame.dcm reads.
source "$(dirname "$0")/../lib.sh"
S="$VOXSEG_SOURCE/sample_data"
[ -d "$S/ct_abdomen_dicom" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
/usr/bin/python3 -c 'import pydicom, nibabel' 2>/dev/null || skip "Debian's python3-pydicom and python3-nibabel are needed"
labels="$S/ct_abdomen/labels.nii.gz"; table="$S/ct_abdomen/phantom.json"

expect_exit 0 voxseg convert "$labels" "$WORK/seg.dcm" --seg-reference "$S/ct_abdomen_dicom" --label-table "$table" --uid-seed t \
  --algorithm-name "phantom truth" --algorithm-parameters "seed=1"
no_partial_files "$WORK"
if command -v dciodvfy >/dev/null; then
  dciodvfy "$WORK/seg.dcm" >"$WORK/dciodvfy.txt" 2>&1 || { cat "$WORK/dciodvfy.txt" >&2; fail "dciodvfy found errors"; }
  grep -q "^Segmentation" "$WORK/dciodvfy.txt" || fail "dciodvfy did not validate it as a Segmentation"
  # Accepted warnings (docs/dicom.md): the sample series has no StudyDate/StudyTime.
  if grep "^Warning" "$WORK/dciodvfy.txt" | grep -v "needed to build DICOMDIR - Study \(Date\|Time\)"; then
    fail "dciodvfy warnings not listed in docs/dicom.md"
  fi
else
  echo "note: dciodvfy (dicom3tools) not installed; SEG validation skipped" >&2
fi

/usr/bin/python3 - "$WORK/seg.dcm" "$S/ct_abdomen_dicom" "$labels" <<'PY' || fail "SEG content wrong"
import glob, sys, numpy as np, nibabel as nib, pydicom
seg = pydicom.dcmread(sys.argv[1])
src = {d.SOPInstanceUID: d for d in (pydicom.dcmread(p) for p in glob.glob(sys.argv[2] + "/*.dcm"))}
first = next(iter(src.values()))
assert seg.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4" and seg.SegmentationType == "BINARY"
assert seg.StudyInstanceUID == first.StudyInstanceUID and seg.PatientID == first.PatientID
assert seg.FrameOfReferenceUID == first.FrameOfReferenceUID
assert seg.SeriesInstanceUID != first.SeriesInstanceUID
assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == first.SeriesInstanceUID
segs = {s.SegmentNumber: s for s in seg.SegmentSequence}
want = {1: ("liver", "10200004"), 2: ("spleen", "78961009"), 3: ("kidney_left", "18639004"),
        4: ("kidney_right", "9846003"), 5: ("liver_tumor", "108369006")}
for n, (name, code) in want.items():
    s = segs[n]
    assert s.SegmentLabel == name and s.SegmentedPropertyTypeCodeSequence[0].CodeValue == code, (n, s)
    assert s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == "SCT"
    assert s.SegmentAlgorithmType == "AUTOMATIC" and len(s.RecommendedDisplayCIELabValue) == 3
    assert s.SegmentAlgorithmName == "phantom truth"
    a = s.SegmentationAlgorithmIdentificationSequence[0]
    assert a.AlgorithmName == "phantom truth" and a.AlgorithmParameters == "seed=1", a
assert segs[5].AnatomicRegionSequence[0].CodeValue == "10200004"
lab = np.asarray(nib.load(sys.argv[3]).dataobj)  # (x, y, z), RAS affine of an LPS series
frames = seg.pixel_array
assert frames.shape[0] == seg.NumberOfFrames
expected = sum(int(np.any(lab[:, :, k] == l)) for l in range(1, 6) for k in range(lab.shape[2]))
assert seg.NumberOfFrames == expected, (seg.NumberOfFrames, expected)  # empty frames omitted
for i, f in enumerate(seg.PerFrameFunctionalGroupsSequence):
    ref = f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
    s = src[ref]
    assert [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient] == [float(v) for v in s.ImagePositionPatient]
    number = f.SegmentIdentificationSequence[0].ReferencedSegmentNumber
    k = int(s.InstanceNumber) - 1  # the sample series' instance k+1 is slice k (z up)
    assert np.array_equal(frames[i].astype(bool), (lab[:, :, k] == number).T), (i, number, k)
print("ok")
PY

# Back to a label map: on the series' grid with the reference, on the frames' span without.
expect_exit 0 voxseg convert "$WORK/seg.dcm" "$WORK/back.nii.gz" --seg-reference "$S/ct_abdomen_dicom"
expect_same_image "$WORK/back.nii.gz" "$labels" --abs 0
expect_exit 0 voxseg convert "$WORK/seg.dcm" "$WORK/span.nii.gz"
/usr/bin/python3 - "$WORK/span.nii.gz" "$labels" <<'PY' || fail "frame-grid read wrong"
import sys, numpy as np, nibabel as nib
a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
A, B = np.asarray(a.dataobj), np.asarray(b.dataobj)
z = np.nonzero(B.any(axis=(0, 1)))[0]
k0 = int(round(np.linalg.solve(b.affine, a.affine @ [0, 0, 0, 1])[2]))
assert k0 == z[0] and A.shape[2] == z[-1] - z[0] + 1, (k0, A.shape, z)
assert np.array_equal(A, B[:, :, z[0]:z[-1] + 1])
print("ok")
PY
expect_exit 0 voxseg info --json "$WORK/seg.dcm"
[ "$(json_get "$WORK/stdout" dicom_seg.segments.4.type)" = "SCT:108369006 Neoplasm" ] || fail "info: segment codes"
# A SEG wherever a label map is read: eval scores the label map against it (frames' grid, so
# the prediction is resampled onto it) with Dice 1 for every label.
expect_exit 0 voxseg eval -p "$labels" -r "$WORK/seg.dcm" --resample-pred
grep -q "1 dice=1 hd95=0; 2 dice=1 hd95=0; 3 dice=1 hd95=0; 4 dice=1 hd95=0; 5 dice=1 hd95=0" "$WORK/stdout" "$WORK/stderr" ||
  { cat "$WORK/stdout" "$WORK/stderr" >&2; fail "eval -r SEG.dcm"; }

# The same physical grid in another voxel order gives the same SEG, byte for byte.
/usr/bin/python3 - "$labels" "$WORK" <<'PY'
import sys, numpy as np, nibabel as nib
img = nib.load(sys.argv[1]); d = np.asarray(img.dataobj); A = img.affine; n = d.shape
F = np.diag([-1.0, 1, -1, 1]); F[0, 3] = n[0] - 1; F[2, 3] = n[2] - 1
nib.Nifti1Image(d[::-1, :, ::-1].copy(), A @ F).to_filename(sys.argv[2] + "/flipped.nii.gz")
P = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, -1, n[2] - 1], [0, 0, 0, 1.0]])
nib.Nifti1Image(np.transpose(d, (1, 0, 2))[:, :, ::-1].copy(), A @ P).to_filename(sys.argv[2] + "/permuted.nii.gz")
B = A.copy(); B[0, 3] += 1.0
nib.Nifti1Image(d, B).to_filename(sys.argv[2] + "/shifted.nii.gz")
PY
for v in flipped permuted; do
  expect_exit 0 voxseg convert "$WORK/$v.nii.gz" "$WORK/$v.dcm" --seg-reference "$S/ct_abdomen_dicom" --label-table "$table" \
    --uid-seed t --algorithm-name "phantom truth" --algorithm-parameters "seed=1"
  cmp -s "$WORK/$v.dcm" "$WORK/seg.dcm" || fail "$v label map gives a different SEG"
done
expect_exit 3 voxseg convert "$WORK/shifted.nii.gz" "$WORK/shifted.dcm" --seg-reference "$S/ct_abdomen_dicom"
expect_one_line_error
expect_stderr "not on the grid.*origin.*--resample"
expect_exit 0 voxseg convert "$WORK/shifted.nii.gz" "$WORK/shifted.dcm" --seg-reference "$S/ct_abdomen_dicom" --resample
# Existing output: 5 before any work; other UIDs without --uid-seed.
expect_exit 5 voxseg convert "$labels" "$WORK/seg.dcm" --seg-reference "$S/ct_abdomen_dicom"
expect_exit 0 voxseg convert "$labels" "$WORK/seg2.dcm" --seg-reference "$S/ct_abdomen_dicom"
/usr/bin/python3 -c 'import sys, pydicom
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
assert a.SOPInstanceUID != b.SOPInstanceUID and a.SeriesInstanceUID != b.SeriesInstanceUID
assert b.SegmentSequence[0].SegmentLabel == "label 1"  # no label table: generic names
assert b.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == "85756007"' \
  "$WORK/seg.dcm" "$WORK/seg2.dcm" || fail "fresh UIDs / default names"

# A label map to a plain DICOM image series is refused unless --as-image.
expect_exit 2 voxseg convert "$labels" "$WORK/series/"
expect_one_line_error
expect_stderr "looks like a label map.*--seg-reference.*--as-image"
expect_exit 0 voxseg convert "$labels" "$WORK/series/" --as-image

# Label tables are read strictly; a bad key is named with its path.
printf '{"labels": [{"id": 1, "name": "liver", "colour": [1, 2, 3]}]}\n' >"$WORK/bad.json"
expect_exit 3 voxseg convert "$labels" "$WORK/bad.dcm" --seg-reference "$S/ct_abdomen_dicom" --label-table "$WORK/bad.json"
expect_one_line_error
expect_stderr "bad.json: labels\[0\]\.colour: unknown key"
printf '{"labels": {"background": 0, "liver": 1, "spleen": 2}}\n' >"$WORK/dataset.json"
expect_exit 0 voxseg convert "$labels" "$WORK/ds.dcm" --seg-reference "$S/ct_abdomen_dicom" --label-table "$WORK/dataset.json"

# Fractional SEG (threshold 0.5) with overlapping segments (the later one wins, with a count):
# the binary SEG rewritten by pydicom as 8-bit fractions, one spleen frame filled entirely.
/usr/bin/python3 - "$WORK/seg.dcm" "$WORK/frac.dcm" "$WORK/frac_expected.txt" <<'PY'
import sys, numpy as np, pydicom
d = pydicom.dcmread(sys.argv[1]); f = d.pixel_array.astype(np.uint8) * 200  # (frames, rows, cols)
f[f == 0] = 127                                   # just below 0.5 of 255: background
spleen = [i for i, g in enumerate(d.PerFrameFunctionalGroupsSequence)
          if g.SegmentIdentificationSequence[0].ReferencedSegmentNumber == 2][0]
f[spleen] = 255
d.BitsAllocated = d.BitsStored = 8; d.HighBit = 7
d.SegmentationType = "FRACTIONAL"; d.SegmentationFractionalType = "PROBABILITY"; d.MaximumFractionalValue = 255
d.PixelData = f.tobytes()
d.save_as(sys.argv[2])
# Expected overlap count: painting the frames in segment order onto each slice.
slices = {}
order = sorted(range(len(f)), key=lambda i: d.PerFrameFunctionalGroupsSequence[i].SegmentIdentificationSequence[0].ReferencedSegmentNumber)
overlap = 0
for i in order:
    g = d.PerFrameFunctionalGroupsSequence[i]
    n = g.SegmentIdentificationSequence[0].ReferencedSegmentNumber
    z = float(g.PlanePositionSequence[0].ImagePositionPatient[2])
    cur = slices.setdefault(z, np.zeros(f.shape[1:], np.int32))
    on = f[i] >= 128
    overlap += int(np.count_nonzero(on & (cur != 0) & (cur != n)))
    cur[on] = n
open(sys.argv[3], "w").write(str(overlap))
PY
expect_exit 0 voxseg convert "$WORK/frac.dcm" "$WORK/frac.nii.gz" --seg-reference "$S/ct_abdomen_dicom"
expect_stderr "segments overlap in $(cat "$WORK/frac_expected.txt") voxel\(s\); the later segment wins"
/usr/bin/python3 - "$WORK/frac.nii.gz" "$labels" "$WORK/frac.dcm" <<'PY' || fail "fractional/overlap read wrong"
import sys, numpy as np, nibabel as nib, pydicom
got = np.asarray(nib.load(sys.argv[1]).dataobj); lab = np.asarray(nib.load(sys.argv[2]).dataobj).copy()
d = pydicom.dcmread(sys.argv[3])
g = [g for g in d.PerFrameFunctionalGroupsSequence if g.SegmentIdentificationSequence[0].ReferencedSegmentNumber == 2][0]
k = round((float(g.PlanePositionSequence[0].ImagePositionPatient[2]) + 123.75) / 4.5)
sl = lab[:, :, k]; sl[sl <= 2] = 2  # spleen fills the slice; kidneys and tumor (later segments) stay
assert np.array_equal(got, lab), np.argwhere(got != lab)[:5]
print("ok")
PY

# dcmqi's liver_1frame.dcm (pydicom test data): NumberOfFrames missing, one frame of pixel data.
L=/usr/lib/python3/dist-packages/pydicom/data/test_files/liver_1frame.dcm
if [ -f "$L" ]; then
  expect_exit 0 voxseg info --json "$L"
  [ "$(json_get "$WORK/stdout" dicom_seg.segments.0.name)" = "Liver" ] || fail "liver_1frame: segment name"
  expect_exit 0 voxseg convert "$L" "$WORK/liver.nii.gz"
  expect_stderr "no NumberOfFrames, 3 per-frame item\(s\), pixel data for 1; reading 1 frame"
  /usr/bin/python3 - "$L" "$WORK/liver.nii.gz" <<'PY' || fail "liver_1frame read wrong"
import sys, numpy as np, nibabel as nib, pydicom
d = pydicom.dcmread(sys.argv[1]); raw = np.unpackbits(np.frombuffer(d.PixelData, np.uint8), bitorder="little")
want = raw[:512 * 512].reshape(512, 512).T  # (x, y)
got = np.asarray(nib.load(sys.argv[2]).dataobj)
assert got.shape == (512, 512, 1) and np.array_equal(got[:, :, 0] != 0, want != 0), got.shape
print("ok")
PY
else
  echo "note: pydicom's liver_1frame.dcm not found; reader check on a dcmqi SEG skipped" >&2
fi
no_partial_files "$WORK"
