# pydicom's 5-slice CT series (CT5N): size, spacing along the normal, origin and HU voxels match a
# stack built with pydicom (sorted by position along the slice normal).
source "$(dirname "$0")/../lib.sh"
dir=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$dir" ] || skip "python3-pydicom test files not installed"
expect_exit 0 voxseg info --json "$dir"
cp "$WORK/stdout" "$WORK/info.json"
expect_exit 0 voxseg convert "$dir" "$WORK/ct5n.nii.gz"
/usr/bin/python3 - "$dir" "$WORK/info.json" "$WORK/ct5n.nii.gz" <<'PY' || fail "CT5N differs from pydicom"
import glob, json, sys, numpy as np, nibabel as nib, pydicom
ds = [pydicom.dcmread(f) for f in glob.glob(sys.argv[1] + "/*")]
iop = np.array(ds[0].ImageOrientationPatient, float); n = np.cross(iop[:3], iop[3:])
ds.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
z = [float(np.dot(n, np.array(d.ImagePositionPatient, float))) for d in ds]
hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ds])  # [z, y, x]
info = json.load(open(sys.argv[2]))
assert info["size"] == [ds[0].Columns, ds[0].Rows, len(ds)], info["size"]
assert abs(info["spacing"][2] - (z[-1] - z[0]) / (len(z) - 1)) < 1e-6, info["spacing"]
assert np.allclose(info["origin"], np.array(ds[0].ImagePositionPatient, float), atol=1e-4)
assert info["series"][0]["slices"] == 5
img = nib.load(sys.argv[3]); vox = np.asarray(img.dataobj)  # [x, y, z]
assert np.array_equal(vox.transpose(2, 1, 0), hu), "voxels differ"
lps = np.diag([-1, -1, 1]) @ img.affine[:3, :3]  # columns = axis vectors in LPS (mm)
assert np.allclose(lps[:, 0] / np.linalg.norm(lps[:, 0]), iop[:3], atol=1e-5)
assert np.allclose(lps[:, 1] / np.linalg.norm(lps[:, 1]), iop[3:], atol=1e-5)
print("ok")
PY
