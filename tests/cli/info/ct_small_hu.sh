# A real single-slice CT (pydicom's CT_small.dcm): geometry and Hounsfield values (rescale applied) match pydicom.
source "$(dirname "$0")/../lib.sh"
f=/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm
[ -f "$f" ] || skip "python3-pydicom test files not installed"
expect_exit 0 voxseg info --json "$f"
cp "$WORK/stdout" "$WORK/info.json"
/usr/bin/python3 - "$f" "$WORK/info.json" <<'PY' || fail "voxseg info disagrees with pydicom"
import json, sys, numpy as np, pydicom
d = pydicom.dcmread(sys.argv[1]); info = json.load(open(sys.argv[2]))
hu = d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
assert info["format"] == "DICOM" and info["size"] == [d.Columns, d.Rows, 1], info["size"]
ps = [float(v) for v in d.PixelSpacing]
assert np.allclose(info["spacing"][:2], [ps[1], ps[0]]), info["spacing"]
assert np.allclose(info["origin"], [float(v) for v in d.ImagePositionPatient], atol=1e-4), info["origin"]
s = info["statistics"]
assert s["min"] == hu.min() and s["max"] == hu.max(), (s, hu.min(), hu.max())
assert abs(s["mean"] - hu.mean()) < 1e-6, (s["mean"], hu.mean())
for p in (1, 50, 99): assert abs(s["p%d" % p] - np.percentile(hu, p)) < 1e-6, p
assert info["dicom"]["rescale"]["intercept"] == float(d.RescaleIntercept)
assert info["dicom"]["modality"] == "CT" and info["dicom"]["series_uid"] == d.SeriesInstanceUID
print("ok: HU", hu.min(), hu.max())
PY
