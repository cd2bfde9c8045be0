# --instances: crafted cells with a split, a merge, a missed and a spurious object give the expected counts, F1 and PQ in JSON and CSV.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
ref = np.zeros((60, 20, 4), np.uint16); pred = np.zeros_like(ref)
ref[0:8, 0:8] = 1;  pred[0:8, 0:8] = 101                       # matched
ref[10:18, 0:8] = 2; pred[10:18, 0:4] = 102; pred[10:18, 4:8] = 103   # split
ref[20:24, 0:8] = 3; ref[24:28, 0:8] = 4; pred[20:28, 0:8] = 104      # merged
ref[40:46, 10:16] = 5                                          # missed
pred[50:56, 10:16] = 105                                       # spurious
nib.save(nib.Nifti1Image(ref, np.eye(4)), "ref.nii.gz"); nib.save(nib.Nifti1Image(pred, np.eye(4)), "pred.nii.gz")
PY
expect_exit 0 voxseg eval --instances -p pred.nii.gz -r ref.nii.gz --json --csv m.csv
/usr/bin/python3 - "$WORK/stdout" <<'PY' || fail "instance scores"
import json, sys, csv
c = json.loads(open(sys.argv[1]).readline())["instances"]
want = dict(n_pred=5, n_ref=5, tp=1, fp=4, fn=4, split=1, merged=1, f1=0.2, pq=0.2, mean_matched_iou=1.0)
for k, v in want.items(): assert abs(c[k] - v) < 1e-12, (k, c[k], v)
row = next(csv.DictReader(open("m.csv")))
assert row["split"] == "1" and row["merged"] == "1" and float(row["pq"]) == 0.2, row
PY
