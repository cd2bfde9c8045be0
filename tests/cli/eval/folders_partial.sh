# Folders matched by case name: an unmatched case and a corrupt file are listed, the rest scored, exit 8.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"; mkdir pred ref
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
for i, name in enumerate(["a", "b", "c", "d"]):
    ref = np.zeros((20, 20, 10), np.int16); ref[5:15, 5:15, 2:8] = 1
    pred = np.zeros_like(ref); pred[5 + i:15, 5:15, 2:8] = 1
    if name != "c": nib.save(nib.Nifti1Image(ref, np.eye(4)), f"ref/{name}.nii.gz")
    nib.save(nib.Nifti1Image(pred, np.eye(4)), f"pred/{name}.nii.gz")
PY
head -c 40 pred/d.nii.gz > pred/d.tmp && mv pred/d.tmp pred/d.nii.gz   # truncated
expect_exit 8 voxseg eval -p pred -r ref --csv m.csv --output-json m.json
expect_stderr "d"
expect_stderr "no reference"
/usr/bin/python3 - <<'PY' || fail "CSV/JSON content"
import csv, json
rows = list(csv.DictReader(open("m.csv")))
assert [r["case"] for r in rows] == ["a", "b"], rows
assert float(rows[0]["dice"]) == 1.0 and abs(float(rows[1]["dice"]) - 2*540/(600+540)) < 1e-9, rows
j = json.load(open("m.json"))
failed = {f["case"]: f["error"] for f in j["failures"]}
assert set(failed) == {"c", "d"}, failed
assert "no reference" in failed["c"] and "d.nii.gz" in failed["d"], failed
assert j["summary"]["cases"] == 2
PY
no_partial_files "$WORK"
