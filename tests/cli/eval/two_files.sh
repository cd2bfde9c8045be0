# Two label files: CSV and JSON hold per-label Dice equal to numpy's, the conventions and provenance; an existing output needs --force (exit 5).
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
z, y, x = np.mgrid[0:30, 0:40, 0:50]
ref = np.zeros((30, 40, 50), np.uint8); pred = np.zeros_like(ref)
ref[(x-25)**2 + (y-20)**2 + (z-15)**2 <= 81] = 1
pred[(x-27)**2 + (y-20)**2 + (z-15)**2 <= 81] = 1
ref[3:8, 3:8, 3:8] = 2; pred[3:8, 3:8, 4:9] = 2
ref[20:25, 30:35, 40:45] = 4          # missing in pred
pred[2:5, 30:35, 40:45] = 5           # spurious
aff = np.diag([0.8, 0.9, 1.5, 1.0])
for name, a in (("pred", pred), ("ref", ref)):
    nib.save(nib.Nifti1Image(a.transpose(2, 1, 0).copy(), aff), name + ".nii.gz")
dice = {l: 2*np.sum((pred == l) & (ref == l)) / (np.sum(pred == l) + np.sum(ref == l)) for l in (1, 2, 4, 5)}
open("dice.txt", "w").write(" ".join(f"{l}={d:.8f}" for l, d in dice.items()))
PY
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --csv m.csv --output-json m.json
expect_stdout "label 1 \(1\)"
expect_stdout "missing 1"
expect_stdout "^convention: MONAI \(surface voxels, HD95 max-of-directed\), NSD tolerance 1 mm"
/usr/bin/python3 - <<'PY' || fail "CSV/JSON content"
import csv, json
want = dict(kv.split("=") for kv in open("dice.txt").read().split())
rows = list(csv.DictReader(open("m.csv")))
assert [r["label"] for r in rows] == ["1", "2", "4", "5"], rows
for r in rows:
    assert abs(float(r["dice"]) - float(want[r["label"]])) < 1e-7, (r, want)
flags = {r["label"]: r["flag"] for r in rows}
assert flags == {"1": "", "2": "", "4": "missing", "5": "spurious"}, flags
assert {r["convention"] for r in rows} == {"voxels/max-of-directed"}
assert rows[2]["hd95"] == "" and rows[3]["assd"] == "", "distances of a one-sided label must be empty (null)"
assert abs(float(rows[0]["hd"]) - 1.6) < 1e-5, rows[0]["hd"]          # 2 voxels x 0.8 mm
assert abs(float(rows[1]["hd"]) - 0.8) < 1e-5, rows[1]["hd"]
j = json.load(open("m.json"))
assert j["conventions"]["surface"] == "voxels" and j["conventions"]["hd95"] == "max-of-directed"
assert j["conventions"]["matches"] == "MONAI"
assert j["provenance"]["version"] and "m.json" in j["provenance"]["command_line"]
case = j["cases"][0]
assert case["case"] == "ref" and case["missing"] == 1 and case["spurious"] == 1
assert case["labels"][2]["hd95"] is None and case["labels"][2]["flag"] == "missing"
s = {l["label"]: l for l in j["summary"]["labels"]}
assert s["4"]["missing"] == 1 and s["4"]["metrics"]["hd95"]["n_null"] == 1 and s["4"]["metrics"]["dice"]["mean"] == 0
assert abs(s["1"]["metrics"]["dice"]["mean"] - float(want["1"])) < 1e-7
PY
# --json: one line per case plus a summary line, nothing else on stdout.
expect_exit 0 voxseg eval --json -p pred.nii.gz -r ref.nii.gz
[ "$(wc -l < "$WORK/stdout")" = 2 ] || fail "expected 2 JSON lines"
/usr/bin/python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; assert l[0]["case"]=="ref" and "summary" in l[1]' "$WORK/stdout" || fail "bad JSON lines"
# Existing outputs are not overwritten without --force, and nothing is scored first.
before=$(sha256sum < m.csv)
expect_exit 5 voxseg eval -p pred.nii.gz -r ref.nii.gz --csv m.csv
expect_stderr "exists"
[ "$(sha256sum < m.csv)" = "$before" ] || fail "m.csv was modified"
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --csv m.csv --force --labels 1 --hd95 pooled
[ "$(grep -c . m.csv)" = 2 ] || fail "--labels 1 should give one row"
no_partial_files "$WORK"
# Results do not depend on the thread count.
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --threads 1 --surface surfels --csv t1.csv
expect_exit 0 voxseg eval -p pred.nii.gz -r ref.nii.gz --threads 2 --surface surfels --csv t2.csv
cmp -s t1.csv t2.csv || fail "--threads 1 and 2 give different results"
