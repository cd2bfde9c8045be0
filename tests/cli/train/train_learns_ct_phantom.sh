# A short CPU run on tiny CT phantoms lowers the loss, reaches a held-out liver Dice > 0.8, writes logs, a curve and a bundle predict can use.
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-phantom" ] || skip "voxseg-phantom not built"
d="$WORK/ds"; out="$WORK/run"
# 10 cases: fold 0 of 5 holds out 2 of them (seeds never seen in training).
voxseg-phantom --kind ct-abdomen --count 10 --seed 200 --size 48,48,20 -o "$d" 2>/dev/null || fail "phantom failed"
expect_exit 0 voxseg-train run "$d" -o "$out" --optimizer adamw --lr 0.01 --epochs 8 --iterations 30 --val-every 4 \
  --base-features 8 --max-features 32 --max-stages 4 --memory-gb 0.5 --seed 1 --threads 2 --json
for f in model.json weights.pt checkpoint_latest.pt training_log.csv training_log.json training_curve.svg; do
  [ -s "$out/$f" ] || fail "missing $f"
done
no_partial_files "$out"
/usr/bin/python3 - "$out" <<'PY' || fail "training did not learn"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/training_log.csv")))
assert len(rows) == 8, len(rows)
rows_val = [r for r in rows if r["dice_liver"]]
assert len(rows_val) == 2, rows_val
first, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
print("loss", first, "->", last, "liver dice", rows[-1]["dice_liver"], file=sys.stderr)
assert last < first - 0.3, (first, last)
# The liver is the largest organ: after 240 AdamW steps a working pipeline gets it to ~0.85-0.9 on the
# held-out phantoms (measured 0.845 after 180 steps); a pipeline with misaligned labels, a wrong
# normalization or a broken loss stays near 0 (background-only predictions score 0).
assert float(rows[-1]["dice_liver"]) > 0.8, rows[-1]
assert float(rows[-1]["samples_per_second"]) > 0
m = json.load(open(sys.argv[1] + "/model.json"))
assert m["training"]["state"] == "trained"
assert len(m["training"]["splits"]) == 5 and len(m["training"]["validation_cases"]) == 2
assert m["patch_size"] == m["training"]["plan"]["patch_size"]
assert m["mirror_axes"] == [0, 1], m["mirror_axes"]  # kidney_left/right: no left-right mirroring
PY
grep -q "<polyline" "$out/training_curve.svg" || fail "empty training curve"
if [ -x "$VOXSEG_BIN/voxseg-predict" ]; then
  val=$(json_get "$out/model.json" training.validation_cases.0)
  expect_exit 0 voxseg-predict -m "$out" "$d/imagesTr/${val}_0000.nii.gz" -o "$WORK/pred"
  [ -n "$(ls "$WORK/pred")" ] || fail "predict wrote nothing"
fi
