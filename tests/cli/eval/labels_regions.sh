# --labels, --regions and --label-table (model.json, nnU-Net dataset.json, phantom.json) name and merge labels.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib, json
ref = np.zeros((20, 20, 10), np.uint8); ref[0:10] = 1; ref[10:20] = 6; ref[2:5, 2:5, 2:5] = 2
pred = np.zeros_like(ref); pred[0:20] = 6; pred[2:5, 2:5, 2:5] = 2
nib.save(nib.Nifti1Image(ref, np.eye(4)), "ref.nii.gz"); nib.save(nib.Nifti1Image(pred, np.eye(4)), "pred.nii.gz")
json.dump({"labels": {"background": 0, "liver": 1, "kidney": 2, "vessel": 6}}, open("dataset.json", "w"))
json.dump({"labels": [{"id": 1, "name": "liver"}, {"id": 2, "name": "kidney"}]}, open("model.json", "w"))
json.dump({"label_table": [{"id": 2, "name": "kidney"}]}, open("phantom.json", "w"))
PY
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --label-table dataset.json --labels 1,2 --regions "liver_all=1,6" --csv m.csv
/usr/bin/python3 - <<'PY' || fail "CSV names/regions"
import csv
rows = {r["label"]: r for r in csv.DictReader(open("m.csv"))}
assert list(rows) == ["liver", "kidney", "liver_all"], list(rows)
assert rows["liver"]["flag"] == "missing" and float(rows["kidney"]["dice"]) == 1.0
assert rows["liver_all"]["values"] == "1+6" and float(rows["liver_all"]["dice"]) == 1.0
PY
mkdir bundle && cp model.json bundle/
for table in bundle phantom.json; do
  expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --label-table $table --labels 2 --json
  expect_stdout '"label": ?"kidney"'
done
expect_exit 2 voxseg eval -p pred.nii.gz -r ref.nii.gz --regions "nonsense"
expect_exit 3 voxseg eval -p pred.nii.gz -r ref.nii.gz --label-table ref.nii.gz
