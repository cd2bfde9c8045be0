# A tiny liver + tumour model trained for a few minutes finds the tumours of held-out phantoms:
# class-aware oversampling (--class-sampling rare) on phantoms whose tumours vary (docs/phantom.md).
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-predict" ] && [ -x "$VOXSEG_BIN/voxseg-eval" ] || skip "voxseg-predict or voxseg-eval not built"
/usr/bin/python3 -c "import nibabel, numpy" 2>/dev/null || skip "Debian's python3-nibabel/numpy (test fixtures) not installed"
# The default field of view at 4 x 4 x 6.3 mm (a coarse grid, cheap to train), 4 tumours per case.
phantom=(--kind ct-abdomen --size 96,96,40 --spacing 4,4,6.3 --objects 4)
voxseg-phantom "${phantom[@]}" --count 10 --seed 500 -o "$WORK/ds" -q || fail "phantom failed"
voxseg-phantom "${phantom[@]}" --count 2 --seed 900 -o "$WORK/test" -q || fail "phantom failed"
# Two classes: liver 1, liver_tumor 2 (the other organs become background).
remap() {
  /usr/bin/python3 - "$1" <<'PY' || fail "label remap failed"
import glob, json, sys
import nibabel as nib, numpy as np
root = sys.argv[1]
for f in sorted(glob.glob(root + "/labelsTr/*.nii.gz")):
    img = nib.load(f)
    lab = np.asarray(img.dataobj)
    out = np.zeros_like(lab)
    out[lab == 1] = 1
    out[lab == 5] = 2
    nib.save(nib.Nifti1Image(out, img.affine, img.header), f)
d = json.load(open(root + "/dataset.json"))
d["labels"] = {"background": 0, "liver": 1, "liver_tumor": 2}
json.dump(d, open(root + "/dataset.json", "w"), indent=1)
PY
}
remap "$WORK/ds"
remap "$WORK/test"
# 200 AdamW steps of batch 16, patch 24x20x24, 3 stages of 8-32 features: about 45 s of CPU per
# thread on a quiet 2-core machine (the whole test stays well under 4 minutes).
expect_exit 0 voxseg-train run "$WORK/ds" -o "$WORK/run" --fold all --optimizer adamw --lr 0.01 --epochs 10 \
  --iterations 20 --base-features 8 --max-features 32 --max-stages 3 --max-patch-voxels 16384 --memory-gb 0.5 \
  --seed 1 --threads 2 --class-sampling rare --foreground-probability 0.5
[ "$(json_get "$WORK/run/model.json" training.options.class_sampling)" = rare ] || fail "class sampling not recorded"
expect_exit 0 voxseg-predict -m "$WORK/run" "$WORK/test/imagesTr" -o "$WORK/pred" --threads 2 --disable-tta --batch-size 8
expect_exit 0 voxseg-eval -p "$WORK/pred" -r "$WORK/test/labelsTr" --label-table "$WORK/run" --no-surface \
  --labels 1,2 --lesions liver_tumor --output-json "$WORK/eval.json"
/usr/bin/python3 - "$WORK/eval.json" <<'PY' || fail "the tumour class was not learned"
import json, sys
e = json.load(open(sys.argv[1]))
dice = {}
for c in e["cases"]:
    for l in c["labels"]:
        dice.setdefault(l["label"], []).append(l["dice"])
tp = sum(l["tp"] for c in e["cases"] for l in c.get("lesions", []))
fn = sum(l["fn"] for c in e["cases"] for l in c.get("lesions", []))
liver = sum(dice["liver"]) / len(dice["liver"])
tumour = sum(dice["liver_tumor"]) / len(dice["liver_tumor"])
print(f"held-out Dice: liver {liver:.3f}, liver_tumor {tumour:.3f}; tumours found {tp} of {tp + fn}", file=sys.stderr)
# Thresholds from runs of this exact command with --seed 1, 2, 3 (loaded 2-core machine, 2 threads):
# liver_tumor mean Dice 0.283 (0.512 / 0.055), 0.371 (0.466 / 0.277), 0.540 (0.424 / 0.656); liver
# 0.857, 0.763, 0.876; tumours found 3 of 7 in each run. A model that never predicts the tumour class
# (what ct-abdomen-small did before it was retrained at 3 mm) scores 0, and spurious tumour voxels without overlap
# also score ~0, so 0.1 fails a broken sampler, loss or label mapping while leaving room for
# thread-count and libm differences; the liver (the control that the pipeline works at all) over-
# grows into the other organs, which are background here, hence 0.6.
assert liver > 0.6, liver
assert tumour > 0.1, tumour
assert tp >= 1, (tp, fn)
PY
