# voxseg's three conventions agree with independent numpy/scipy reimplementations of MONAI, medpy and DeepMind's pipelines on random anisotropic blobs.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 -c 'import numpy, scipy.ndimage, nibabel' 2>/dev/null || skip "python3-numpy/scipy/nibabel missing"
/usr/bin/python3 - <<'PY'
import numpy as np, nibabel as nib
rng = np.random.default_rng(9)
z, y, x = np.mgrid[0:26, 0:30, 0:34]
ref = np.zeros((26, 30, 34), np.uint8); pred = np.zeros_like(ref)
for _ in range(4):
    c = rng.uniform(6, 20, 3); r = rng.uniform(3, 7)
    ref[(x-c[0])**2 + (y-c[1])**2 + ((z-c[2])*1.6)**2 <= r*r] = 1
    c = c + rng.uniform(-2, 2, 3)
    pred[(x-c[0])**2 + (y-c[1])**2 + ((z-c[2])*1.6)**2 <= r*r] = 1
np.save("ref.npy", ref); np.save("pred.npy", pred)
aff = np.diag([0.7, 1.1, 1.8, 1.0])
nib.save(nib.Nifti1Image(ref.transpose(2, 1, 0).copy(), aff), "ref.nii.gz")
nib.save(nib.Nifti1Image(pred.transpose(2, 1, 0).copy(), aff), "pred.nii.gz")
PY
for conv in "voxels max" "voxels pooled" "surfels max"; do
  set -- $conv
  expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --surface $1 --hd95 $2 --tolerance 1.5 --output-json "$1_$2.json"
done
/usr/bin/python3 - <<'PY' || fail "voxseg differs from the numpy/scipy reimplementations"
import json, itertools
import numpy as np
from scipy import ndimage
sp = (1.8, 1.1, 0.7)  # z y x
ref = np.load("ref.npy").astype(bool); pred = np.load("pred.npy").astype(bool)
def got(name): return json.load(open(name))["cases"][0]["labels"][0]
# MONAI / medpy: boundary = mask XOR erosion (cross, border 0); EDT to the other boundary.
def edges(m): return m ^ ndimage.binary_erosion(m, ndimage.generate_binary_structure(3, 1), border_value=0)
ep, er = edges(pred), edges(ref)
d_pr = ndimage.distance_transform_edt(~er, sampling=sp)[ep]
d_rp = ndimage.distance_transform_edt(~ep, sampling=sp)[er]
both = np.concatenate([d_pr, d_rp])
want_max = dict(hd=both.max(), hd95=max(np.quantile(d_pr, .95), np.quantile(d_rp, .95)), assd=both.mean(),
                nsd=np.mean(both <= 1.5), dice=2*(pred & ref).sum()/(pred.sum()+ref.sum()))
want_pooled = dict(want_max, hd95=np.percentile(both, 95))
# DeepMind: 2x2x2 neighbourhood codes on the half-voxel grid; areas from a marching-cubes table built
# here independently (minority corners cut on ambiguous faces, polygons fanned from the vertex that
# gives the largest unit-grid area), distances between surfel positions, area-weighted statistics.
def table(spacing):
    pos = lambda c: np.array([c >> 2 & 1, c >> 1 & 1, c & 1], float)   # z y x of corner bit (dz*4+dy*2+dx)
    faces = []
    for ax in (4, 2, 1):
        u, w = [b for b in (4, 2, 1) if b != ax]
        for v in (0, ax): faces.append([v, v | u, v | u | w, v | w])
    out = np.zeros(256)
    for code in range(1, 255):
        inside = [(code >> c) & 1 for c in range(8)]
        cut = 1 if sum(inside) < 4 else 0
        adj = {}
        for f in faces:
            es = [tuple(sorted((f[i], f[(i+1) % 4]))) for i in range(4)]
            cr = [e for e in es if inside[e[0]] != inside[e[1]]]
            segs = [(cr[0], cr[1])] if len(cr) == 2 else ([(es[i-1], es[i]) for i in range(4) if inside[f[i]] == cut] if len(cr) == 4 else [])
            for a, b in segs: adj.setdefault(a, []).append(b); adj.setdefault(b, []).append(a)
        seen = set()
        for s in adj:
            if s in seen: continue
            loop = [s]; seen.add(s)
            while True:
                nxt = [n for n in adj[loop[-1]] if n not in seen]
                if not nxt: break
                loop.append(nxt[0]); seen.add(nxt[0])
            unit = [(pos(a) + pos(b)) / 2 for a, b in loop]
            fan = lambda P, s: sum(0.5*np.linalg.norm(np.cross(P[(s+i) % len(P)]-P[s], P[(s+i+1) % len(P)]-P[s])) for i in range(1, len(P)-1))
            best = max(range(len(unit)), key=lambda s: (round(fan(unit, s), 9), -s))
            out[code] += fan([p * np.array(spacing) for p in unit], best)
    return out
def codes(m):
    p = np.pad(m, 1).astype(np.int32)
    c = np.zeros(tuple(n + 1 for n in m.shape), np.int32)
    for dz, dy, dx in itertools.product((0, 1), repeat=3):
        c |= p[dz:dz+c.shape[0], dy:dy+c.shape[1], dx:dx+c.shape[2]] << (dz*4 + dy*2 + dx)
    return c
t = table(sp); cp, cr = codes(pred), codes(ref)
bp, br = (cp != 0) & (cp != 255), (cr != 0) & (cr != 255)
ds_pr = ndimage.distance_transform_edt(~br, sampling=sp)[bp]; ap = t[cp[bp]]
ds_rp = ndimage.distance_transform_edt(~bp, sampling=sp)[br]; ar = t[cr[br]]
def p95(d, a):
    o = np.argsort(d, kind="stable"); cum = np.cumsum(a[o]) / a.sum()
    return d[o][min(np.searchsorted(cum, .95), len(d) - 1)]
want_surfels = dict(hd=max(ds_pr.max(), ds_rp.max()), hd95=max(p95(ds_pr, ap), p95(ds_rp, ar)),
                    assd=0.5*((ds_pr*ap).sum()/ap.sum() + (ds_rp*ar).sum()/ar.sum()),
                    nsd=((ap*(ds_pr <= 1.5)).sum() + (ar*(ds_rp <= 1.5)).sum())/(ap.sum()+ar.sum()))
bad = []
for name, want in (("voxels_max.json", want_max), ("voxels_pooled.json", want_pooled), ("surfels_max.json", want_surfels)):
    g = got(name)
    for k, v in want.items():
        if abs(g[k] - v) > 1e-4 * max(1, abs(v)): bad.append(f"{name} {k}: voxseg {g[k]} python {v}")
print("\n".join(bad)); assert not bad
PY
