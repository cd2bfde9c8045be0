# --lesions: BraTS-style lesion-wise Dice/HD95, detection counts and autoPET FP/FN volumes agree with an
# independent numpy/scipy implementation on random anisotropic blobs (two lesion labels), including
# --lesion-min-ml and --lesion-dilate; lesion CSV, JSON and the report's scatter are written.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 -c 'import numpy, scipy.ndimage, nibabel' 2>/dev/null || skip "python3-numpy/scipy/nibabel missing"
/usr/bin/python3 - <<'PY'
import numpy as np, nibabel as nib
rng = np.random.default_rng(15)
z, y, x = np.mgrid[0:24, 0:40, 0:44]
ref = np.zeros((24, 40, 44), np.uint8); pred = np.zeros_like(ref)
for lab in (1, 2):
    for _ in range(5):
        c = rng.uniform(4, 38, 3) * [1, 1, 0.55]; r = rng.uniform(1.5, 5)
        ref[(x-c[0])**2 + (y-c[1])**2 + ((z-c[2])*1.6)**2 <= r*r] = lab
        if rng.uniform() < 0.8:   # some lesions missed
            c = c + rng.uniform(-2.5, 2.5, 3)
            pred[(x-c[0])**2 + (y-c[1])**2 + ((z-c[2])*1.6)**2 <= (r*rng.uniform(0.6, 1.3))**2] = lab
    for _ in range(2):            # false positives
        c = rng.uniform(4, 38, 3) * [1, 1, 0.55]; r = rng.uniform(1, 3)
        pred[(x-c[0])**2 + (y-c[1])**2 + ((z-c[2])*1.6)**2 <= r*r] = lab
np.save("ref.npy", ref); np.save("pred.npy", pred)
aff = np.diag([0.7, 1.1, 1.8, 1.0])
nib.save(nib.Nifti1Image(ref.transpose(2, 1, 0).copy(), aff), "ref.nii.gz")
nib.save(nib.Nifti1Image(pred.transpose(2, 1, 0).copy(), aff), "pred.nii.gz")
PY
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions 1,2 --output-json any.json --lesion-csv any.csv --report rep
expect_stdout "lesions 1: 1 case"
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions 2 --lesion-min-ml 0.05 --lesion-dilate 2 \
  --lesion-connectivity 6 --output-json brats.json
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions 1 --lesion-match iou:0.3 --output-json iou.json
/usr/bin/python3 - <<'PY' || fail "voxseg's lesion scores differ from the numpy/scipy implementation"
import json, csv
import numpy as np
from scipy import ndimage
sp = np.array((1.8, 1.1, 0.7)); vml = sp.prod() / 1000
ref0 = np.load("ref.npy"); pred0 = np.load("pred.npy")
diag = float(np.sqrt(((np.array(ref0.shape) * sp) ** 2).sum()))
def hd95(a, b):   # MONAI: boundary voxels, larger directed linear 95th percentile
    e = lambda m: m ^ ndimage.binary_erosion(m, ndimage.generate_binary_structure(3, 1), border_value=0)
    ea, eb = e(a), e(b)
    d1 = ndimage.distance_transform_edt(~eb, sampling=sp)[ea]; d2 = ndimage.distance_transform_edt(~ea, sampling=sp)[eb]
    return max(np.quantile(d1, .95), np.quantile(d2, .95))
def lesionwise(lab, conn=3, min_ml=0.0, dil=0, iou=None):
    st = ndimage.generate_binary_structure(3, conn)
    R, nr = ndimage.label(ref0 == lab, st); P, np_ = ndimage.label(pred0 == lab, st)
    for L, n in ((R, nr), (P, np_)):
        for k in range(1, n + 1):
            if (L == k).sum() * vml < min_ml: L[L == k] = 0
    rs = [k for k in range(1, nr + 1) if (R == k).any()]; ps = [k for k in range(1, np_ + 1) if (P == k).any()]
    match = set()
    for r in rs:
        m = R == r
        if iou is not None:
            for p in ps:
                i = (m & (P == p)).sum()
                if i / (m.sum() + (P == p).sum() - i) > iou: match.add((r, p))
        else:
            if dil: m = ndimage.binary_dilation(m, ndimage.generate_binary_structure(3, 2), iterations=dil)
            for p in np.unique(P[m]):
                if p: match.add((r, int(p)))
    dice, hd, tp, fn, fnv, fpv = [], [], 0, 0, 0.0, 0.0
    for r in rs:
        m = R == r; mine = [p for (q, p) in match if q == r]
        if mine:
            u = np.isin(P, mine); tp += 1
            dice.append(2 * (m & u).sum() / (m.sum() + u.sum())); hd.append(hd95(u, m))
        else:
            fn += 1; dice.append(0.0); hd.append(diag)
        if not (m & (P > 0)).any(): fnv += m.sum() * vml
    fp = 0
    for p in ps:
        m = P == p
        if not any(q == p for (_, q) in match): fp += 1; dice.append(0.0); hd.append(diag)
        if not (m & (R > 0)).any(): fpv += m.sum() * vml
    return dict(n_ref=len(rs), n_pred=len(ps), tp=tp, fp=fp, fn=fn, lesion_dice=np.mean(dice), lesion_hd95=np.mean(hd),
                fp_volume_ml=fpv, fn_volume_ml=fnv, penalty_mm=diag)
def check(file, i, want):
    got = json.load(open(file))["cases"][0]["lesions"][i]
    for k, v in want.items():
        assert abs(got[k] - v) <= 1e-4 * max(1, abs(v)), (file, got["label"], k, got[k], v)
    return got
a = lesionwise(1); b = lesionwise(2)
assert a["tp"] > 0 and a["fp"] > 0 and b["fn"] + a["fn"] > 0, (a, b)   # the fixture exercises every case
g = check("any.json", 0, a); check("any.json", 1, b)
check("brats.json", 0, lesionwise(2, conn=1, min_ml=0.05, dil=2))
check("iou.json", 0, lesionwise(1, iou=0.3))
rows = list(csv.DictReader(open("any.csv")))
assert len(rows) == a["n_ref"] + a["n_pred"] + b["n_ref"] + b["n_pred"], len(rows)
assert {r["side"] for r in rows} == {"ref", "pred"}
mine = [r for r in rows if r["label"] == "1" and r["side"] == "ref"]
assert abs(np.mean([float(r["dice"]) for r in mine] + [0.0] * a["fp"]) - a["lesion_dice"]) < 1e-6
s = json.load(open("any.json"))["summary"]["lesions"]
assert s[0]["tp"] == a["tp"] and s[1]["fn"] == b["fn"], s
html = open("rep/index.html").read()
assert 'id="lesions"' in html and "lesion-scatter" in html and html.count("<circle") >= a["n_ref"]
PY
# Usage errors: unknown name, IoU with dilation, lesion options without --lesions, with --instances.
expect_exit 2 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions tumour
expect_one_line_error; expect_stderr tumour
expect_exit 2 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions 1 --lesion-match iou:0.5 --lesion-dilate 3
expect_exit 2 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesion-csv x.csv
expect_exit 2 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions 1 --lesion-match overlap
expect_exit 2 voxseg eval -p pred.nii.gz -r ref.nii.gz --lesions 1 --instances
[ ! -e x.csv ] || fail "x.csv written despite a usage error"
