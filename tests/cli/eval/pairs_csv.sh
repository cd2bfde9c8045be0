# --pairs CSV (pred,ref,image,case columns; paths relative to the CSV) scores each row under its case name; a bad header is exit 3.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"; mkdir -p data/p data/r
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
for i in range(2):
    ref = np.zeros((16, 16, 8), np.uint8); ref[4:12, 4:12, 2:6] = 1
    pred = np.zeros_like(ref); pred[4 + i:12, 4:12, 2:6] = 1
    nib.save(nib.Nifti1Image(ref, np.eye(4)), f"data/r/x{i}.nii.gz")
    nib.save(nib.Nifti1Image(pred, np.eye(4)), f"data/p/y{i}.nii.gz")
    nib.save(nib.Nifti1Image(ref.astype(np.float32) * 100, np.eye(4)), f"data/r/img{i}.nii.gz")
PY
printf 'case,pred,ref,image\nfirst,p/y0.nii.gz,r/x0.nii.gz,r/img0.nii.gz\nsecond,p/y1.nii.gz,r/x1.nii.gz,\n' > data/pairs.csv
expect_exit 0 voxseg eval --pairs data/pairs.csv --csv m.csv --report rep
/usr/bin/python3 - <<'PY' || fail "pairs CSV results"
import csv
rows = list(csv.DictReader(open("m.csv")))
assert [r["case"] for r in rows] == ["first", "second"], rows
assert float(rows[0]["dice"]) == 1.0 and abs(float(rows[1]["dice"]) - 2*224/(256+224)) < 1e-9, rows
PY
printf 'a,b\nx,y\n' > bad.csv
expect_exit 3 voxseg eval --pairs bad.csv
expect_stderr "pred and ref"
expect_exit 2 voxseg eval --pairs data/pairs.csv -p data/p
