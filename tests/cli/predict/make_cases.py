# Writes NIfTI test cases: a bright ellipsoid (value 100) in a dark box (0), anisotropic oblique grid.
# Usage: make_cases.py DIR NAME... (a name ending in _corrupt gets a truncated file)
import sys, numpy as np, nibabel as nib

out = sys.argv[1]
for i, name in enumerate(sys.argv[2:]):
    shape = (23 + i, 19, 7 + i)  # x, y, z: odd and smaller than the patch along z
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    data = np.where(x * x + y * y + z * z < 0.5, 100.0, 0.0).astype(np.float32)
    c, s = np.cos(0.2), np.sin(0.2)
    affine = np.array([[0.8 * c, -0.9 * s, 0, 10], [0.8 * s, 0.9 * c, 0, -5], [0, 0, 3.0, 2], [0, 0, 0, 1]])
    path = f"{out}/{name}.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    if name.endswith("_corrupt"):
        blob = open(path, "rb").read()
        open(path, "wb").write(blob[: len(blob) // 2])
