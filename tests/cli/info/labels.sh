# Label maps: every label with its voxel count and volume in ml, as nibabel counts them (ITK's
# KmeansTest skull-strip labels, auto-detected; mricron's aal.nii.gz with --labels).
source "$(dirname "$0")/../lib.sh"
f=/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1RawSkullStrip.nii.gz
[ -f "$f" ] || skip "insighttoolkit5-examples not installed"
expect_exit 0 voxseg info --json "$f"
cp "$WORK/stdout" "$WORK/a.json"
expect_exit 0 voxseg info "$f"
expect_stdout "labels +4 distinct values"
inputs=("$f" "$WORK/a.json")
aal=/usr/share/mricron/templates/aal.nii.gz
if [ -f "$aal" ]; then
  expect_exit 0 voxseg info --json "$aal"
  /usr/bin/python3 -c 'import json,sys; assert "labels" not in json.load(open(sys.argv[1]))["statistics"]' "$WORK/stdout" \
    || fail "117 distinct values should not be listed as labels without --labels"
  expect_exit 0 voxseg info --json --labels "$aal"
  cp "$WORK/stdout" "$WORK/b.json"
  inputs+=("$aal" "$WORK/b.json")
fi
/usr/bin/python3 - "${inputs[@]}" <<'PY' || fail "label counts differ from nibabel"
import json, sys, numpy as np, nibabel as nib
args = sys.argv[1:]
for image, result in zip(args[::2], args[1::2]):
    img = nib.load(image); a = np.asarray(img.dataobj)
    ml = float(np.prod(img.header.get_zooms()[:3])) / 1000
    values, counts = np.unique(a, return_counts=True)
    labels = json.load(open(result))["statistics"]["labels"]
    assert [l["value"] for l in labels] == values.tolist(), image
    assert [l["voxels"] for l in labels] == counts.tolist(), image
    assert all(abs(l["volume_ml"] - c * ml) < 1e-9 * max(1, c * ml) for l, c in zip(labels, counts)), image
    print("ok", image, len(labels), "labels")
PY
