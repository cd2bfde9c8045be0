# NIfTI (non-identity direction) to a DICOM series and back: the series reads back equal to the input,
# pydicom sees consistent UIDs and the right orientation, dciodvfy finds no errors, reruns are
# byte-identical, and --to dicom / a trailing '/' / an existing empty folder all mean a series.
source "$(dirname "$0")/../lib.sh"
f=/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1UCharRaw.nii.gz
[ -f "$f" ] || skip "insighttoolkit5-examples not installed"
expect_exit 0 voxseg convert "$f" "$WORK/series/"
expect_same_image "$WORK/series" "$f"
[ "$(ls "$WORK/series" | wc -l)" = 62 ] || fail "expected 62 slice files"
no_partial_files "$WORK"
/usr/bin/python3 - "$WORK/series" "$f" <<'PY' || fail "series metadata wrong"
import glob, sys, numpy as np, nibabel as nib, pydicom
ds = [pydicom.dcmread(p) for p in sorted(glob.glob(sys.argv[1] + "/*.dcm"))]
assert len({d.SeriesInstanceUID for d in ds}) == 1 and len({d.StudyInstanceUID for d in ds}) == 1
assert len({d.FrameOfReferenceUID for d in ds}) == 1 and len({d.SOPInstanceUID for d in ds}) == 62
assert all(d.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and d.Modality == "CT" for d in ds)
img = nib.load(sys.argv[2]); A = np.diag([-1, -1, 1]) @ img.affine[:3, :3]; u = A / np.linalg.norm(A, axis=0)
iop = np.array(ds[0].ImageOrientationPatient, float)
assert np.allclose(iop[:3], u[:, 0], atol=1e-6) and np.allclose(iop[3:], u[:, 1], atol=1e-6), iop
vox = np.asarray(img.dataobj)
for k, d in enumerate(ds):
    hu = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    assert np.array_equal(hu, vox[:, :, k].T), k
print("ok")
PY
if command -v dciodvfy >/dev/null; then
  dciodvfy "$WORK/series/IMG0031.dcm" > "$WORK/dciodvfy.txt" 2>&1 || { cat "$WORK/dciodvfy.txt" >&2; fail "dciodvfy found errors"; }
fi
sum1=$(cat "$WORK"/series/*.dcm | sha256sum)
expect_exit 0 voxseg convert --force "$f" "$WORK/series"
[ "$(cat "$WORK"/series/*.dcm | sha256sum)" = "$sum1" ] || fail "rerun is not byte-identical"
mkdir "$WORK/empty"
expect_exit 0 voxseg convert "$f" "$WORK/empty"
expect_same_image "$WORK/empty" "$f"
expect_exit 0 voxseg convert --to dicom --modality MR "$f" "$WORK/as_mr.d"
[ "$(/usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).Modality)' "$WORK/as_mr.d/IMG0001.dcm")" = MR ] || fail "--modality MR"
expect_exit 2 voxseg convert --dtype uint8 "$f" "$WORK/x/"
