# An independent reader (nibabel) sees the documented geometry: RAS affine diag(-sx,-sy,sz) with the
# grid centred on (0,0,0), kidney_left on the patient's left (RAS x < 0) and the spine posterior.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import nibabel, numpy' 2>/dev/null || skip "Debian python3-nibabel/numpy not installed"
expect_exit 0 voxseg phantom --kind ct-abdomen --seed 6 --size 96,80,32 --spacing 4,4,8 -o "$WORK/ct"
/usr/bin/python3 - "$WORK/ct" <<'PY' || fail "nibabel disagrees with the documented geometry"
import sys, numpy as np, nibabel as nib
d = sys.argv[1]
img, lab = nib.load(d + "/image.nii.gz"), nib.load(d + "/labels.nii.gz")
assert img.shape == (96, 80, 32) and lab.shape == img.shape, img.shape
assert np.allclose(img.affine, lab.affine)
A = img.affine
assert np.allclose(A[:3, :3], np.diag([-4.0, -4.0, 8.0])), A  # LPS identity written as RAS
centre = A @ np.array([47.5, 39.5, 15.5, 1.0])
assert np.allclose(centre[:3], 0.0, atol=1e-4), centre
assert img.get_data_dtype() == np.int16 and lab.get_data_dtype() == np.uint8
a, l = np.asarray(img.dataobj), np.asarray(lab.dataobj)
def world(mask):
    ijk = np.argwhere(mask).mean(axis=0)
    return (A @ np.append(ijk, 1.0))[:3]
assert world(l == 3)[0] < -20 and world(l == 4)[0] > 20, (world(l == 3), world(l == 4))  # RAS: left is -x
assert world(l == 1)[0] > 0  # liver on the right
assert world(a > 300)[1] < -20  # bone mostly spine: posterior is -y in RAS
for k, hu in {1: 60, 2: 50}.items():
    m = np.median(a[l == k]); assert abs(m - hu) < 15, (k, m)
# Tumours are hypo- or hyperdense (docs/phantom.md): this seed's stand out from the liver either way.
if (l == 5).any():
    m = np.median(a[l == 5]); assert abs(m - 60) > 10, (5, m)
PY
