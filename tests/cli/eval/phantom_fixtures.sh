# On `voxseg phantom` fixtures: a perturbed CT label map is scored with names from phantom.json and a report over the image; the cells phantom scored against itself as instances gives F1 = PQ = 1.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
[ -f "$FIXTURES/ct/labels.nii.gz" ] && [ -f "$FIXTURES/cells/labels.nii.gz" ] || skip "phantom fixtures not built (voxseg-phantom missing)"
/usr/bin/python3 - "$FIXTURES/ct/labels.nii.gz" <<'PY' || skip "python3-nibabel/numpy missing"
import sys, numpy as np, nibabel as nib
img = nib.load(sys.argv[1]); a = np.asarray(img.dataobj)
pred = np.roll(a, 1, axis=0)                 # every organ moved by one voxel along x
nib.save(nib.Nifti1Image(pred.astype(a.dtype), img.affine, img.header), "pred.nii.gz")
PY
expect_exit 0 voxseg eval -p pred.nii.gz -r "$FIXTURES/ct/labels.nii.gz" --label-table "$FIXTURES/ct/phantom.json" \
  --image "$FIXTURES/ct/image.nii.gz" --report rep --output-json m.json
/usr/bin/python3 - "$FIXTURES/ct/phantom.json" <<'PY' || fail "names or scores on the CT phantom"
import json, sys
doc = json.load(open(sys.argv[1])); table = doc.get("label_table", doc.get("labels"))
names = {str(e["id"]): e["name"] for e in (table if isinstance(table, list) else [])}
labels = json.load(open("m.json"))["cases"][0]["labels"]
assert labels, "no labels scored"
for l in labels:
    assert l["label"] in names.values(), (l["label"], names)
    assert 0 < l["dice"] < 1 and l["hd"] > 0, l
PY
[ "$(grep -o 'data:image/png' rep/index.html | wc -l)" -ge 3 ] || fail "no QC pictures in the report"
expect_exit 0 voxseg eval --instances -p "$FIXTURES/cells/labels.nii.gz" -r "$FIXTURES/cells/labels.nii.gz" --json
/usr/bin/python3 -c 'import json,sys; c=json.loads(open(sys.argv[1]).readline())["instances"]; assert c["n_ref"]>1 and c["f1"]==1 and c["pq"]==1 and c["split"]==0 and c["merged"]==0, c' "$WORK/stdout" \
  || fail "cells phantom against itself"
