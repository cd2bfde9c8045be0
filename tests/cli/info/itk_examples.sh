# ITK's example files (NIfTI with a non-identity direction, MetaImage and NRRD with detached data and
# rotated directions) read with the geometry and voxels an independent reader (nibabel / header
# text + numpy) computes.
source "$(dirname "$0")/../lib.sh"
D=/usr/share/doc/insighttoolkit5-examples/examples/Data
[ -f "$D/KmeansTest_T1UCharRaw.nii.gz" ] || skip "insighttoolkit5-examples not installed"
for f in KmeansTest_T1UCharRaw.nii.gz BrainProtonDensity3Slices.mha BrainProtonDensitySliceBorder20DirectionPlus30.nhdr \
         BrainProtonDensitySliceBorder20DirectionPlus30.mhd BrainProtonDensitySliceShifted13x17y.nhdr; do
  expect_exit 0 voxseg info --json "$D/$f"
  cp "$WORK/stdout" "$WORK/$f.json"
  expect_exit 0 voxseg convert "$D/$f" "$WORK/$f.nii.gz"
done
/usr/bin/python3 - "$D" "$WORK" <<'PY' || fail "geometry or voxels differ from the independent reader"
import json, os, re, sys, zlib, numpy as np, nibabel as nib
D, W = sys.argv[1], sys.argv[2]
def check(name, size, spacing, origin, direction, voxels):
    info = json.load(open(f"{W}/{name}.json"))
    dims = len(size)
    assert info["size"] == list(size), (name, info["size"], size)
    assert np.allclose(info["spacing"], spacing[:dims], atol=1e-5), (name, info["spacing"], spacing)
    assert np.allclose(info["origin"], origin[:dims], atol=1e-4), (name, info["origin"], origin)
    got = np.array(info["direction"]).reshape(3, 3)[:dims, :dims]
    assert np.allclose(got, np.array(direction)[:dims, :dims], atol=1e-5), (name, got, direction)
    out = np.asarray(nib.load(f"{W}/{name}.nii.gz").dataobj)
    assert np.array_equal(out.reshape(voxels.shape), voxels), name
    print("ok", name, info["orientation"])
# NIfTI: nibabel's affine (RAS) -> LPS.
img = nib.load(f"{D}/KmeansTest_T1UCharRaw.nii.gz")
A = np.diag([-1, -1, 1]) @ img.affine[:3, :]
sp = np.linalg.norm(A[:, :3], axis=0)
assert not np.allclose(A[:, :3] / sp, np.eye(3)), "expected a non-identity direction"
check("KmeansTest_T1UCharRaw.nii.gz", img.shape, sp, A[:, 3], A[:, :3] / sp, np.asarray(img.dataobj))
# MetaImage / NRRD: parse the text header, read the raw data with numpy.
def meta(path):
    h = dict(re.match(r"(\w+)\s*=\s*(.*)", l).groups() for l in open(path) if "=" in l)
    size = [int(v) for v in h["DimSize"].split()]; n = len(size)
    tm = [float(v) for v in h.get("TransformMatrix", " ".join("1" if i % (n + 1) == 0 else "0" for i in range(n * n))).split()]
    direction = np.eye(3); direction[:n, :n] = np.array(tm).reshape(n, n).T  # MetaImage lists axis vectors
    off = [float(v) for v in h.get("Offset", h.get("Position", "0 " * n)).split()]
    dt = {"MET_UCHAR": np.uint8, "MET_SHORT": np.int16, "MET_USHORT": np.uint16, "MET_FLOAT": np.float32}[h["ElementType"]]
    data = open(os.path.join(os.path.dirname(path), h["ElementDataFile"]), "rb").read()
    if h.get("CompressedData", "False") == "True": data = zlib.decompress(data)
    raw = np.frombuffer(data, dt)
    return size, [float(v) for v in h["ElementSpacing"].split()] + [1], off + [0], direction, raw.reshape(size[::-1]).T
def nrrd(path):
    h = dict(l.rstrip("\n").split(": ", 1) for l in open(path) if ": " in l)
    size = [int(v) for v in h["sizes"].split()]; n = len(size)
    vecs = [list(map(float, v.strip("()").split(","))) for v in h["space directions"].split()]
    sp = [np.linalg.norm(v) for v in vecs]
    direction = np.eye(3); direction[:n, :n] = np.array([np.array(v) / s for v, s in zip(vecs, sp)]).T
    off = list(map(float, h["space origin"].strip("()").split(",")))
    sign = np.ones(3)
    if h.get("space", "").startswith("right-anterior"): sign[:2] = -1   # RAS -> LPS
    direction[:n, :n] = (np.diag(sign[:n]) @ direction[:n, :n]); off = list(np.array(off) * sign[:n])
    dt = {"unsigned char": np.uint8, "uchar": np.uint8, "short": np.int16, "float": np.float32}[h["type"]]
    raw = np.fromfile(os.path.join(os.path.dirname(path), h["data file"]), dt)
    return size, sp + [1], off + [0], direction, raw.reshape(size[::-1]).T
for name in ["BrainProtonDensity3Slices.mha", "BrainProtonDensitySliceBorder20DirectionPlus30.mhd"]:
    check(name, *meta(f"{D}/{name}"))
for name in ["BrainProtonDensitySliceBorder20DirectionPlus30.nhdr", "BrainProtonDensitySliceShifted13x17y.nhdr"]:
    check(name, *nrrd(f"{D}/{name}"))
PY
