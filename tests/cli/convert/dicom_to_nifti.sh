# A real DICOM series (pydicom's CT5N) to NIfTI: nibabel sees the HU voxels and the affine pydicom implies.
source "$(dirname "$0")/../lib.sh"
dir=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$dir" ] || skip "python3-pydicom test files not installed"
expect_exit 0 voxseg convert --json "$dir" "$WORK/ct.nii.gz"
[ "$(json_get "$WORK/stdout" input_format)" = DICOM ] || fail "input format not reported"
/usr/bin/python3 - "$dir" "$WORK/ct.nii.gz" <<'PY' || fail "NIfTI differs from pydicom"
import glob, sys, numpy as np, nibabel as nib, pydicom
ds = [pydicom.dcmread(f) for f in glob.glob(sys.argv[1] + "/*")]
iop = np.array(ds[0].ImageOrientationPatient, float); n = np.cross(iop[:3], iop[3:])
ds.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
p0, p1 = (np.array(d.ImagePositionPatient, float) for d in (ds[0], ds[-1]))
ps = [float(v) for v in ds[0].PixelSpacing]
lps = np.eye(4); lps[:3, 0] = iop[:3] * ps[1]; lps[:3, 1] = iop[3:] * ps[0]; lps[:3, 2] = (p1 - p0) / (len(ds) - 1); lps[:3, 3] = p0
img = nib.load(sys.argv[2])
assert np.allclose(img.affine, np.diag([-1, -1, 1, 1]) @ lps, atol=1e-4), (img.affine, lps)
hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ds]).transpose(2, 1, 0)
assert np.array_equal(np.asarray(img.dataobj), hu)
assert img.get_data_dtype() == np.int16, img.get_data_dtype()
print("ok")
PY
