# `train plan` writes model.json with the plan; an edited plan (patch, batch, features) is what `train run` trains and ships.
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-phantom" ] || skip "voxseg-phantom not built"
d="$WORK/ds"; out="$WORK/run"
voxseg-phantom --kind ct-abdomen --count 3 --seed 400 --size 32,32,16 -o "$d" 2>/dev/null || fail "phantom failed"
expect_exit 0 voxseg-train plan "$d" -o "$out" --memory-gb 0.2 --base-features 4 --max-features 16 --max-stages 3 --json
expect_stdout '"patch_size"'
[ "$(json_get "$out/model.json" training.state)" = planned ] || fail "model.json is not a planned bundle"
[ "$(json_get "$out/model.json" channels.0.normalization.scheme)" = ct ] || fail "CT channel not CT-normalized"
expect_exit 5 voxseg-train plan "$d" -o "$out"
/usr/bin/python3 - "$out/model.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); p = m["training"]["plan"]
p["patch_size"] = [8, 16, 16]; p["batch_size"] = 3; p["network"]["features_per_stage"] = [4, 6, 8]
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
expect_exit 0 voxseg-train run "$d" -o "$out" --fold all --epochs 1 --iterations 2 --threads 2
/usr/bin/python3 - "$out/model.json" <<'PY' || fail "the edited plan was not used"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["patch_size"] == [8, 16, 16], m["patch_size"]
assert m["architecture"]["features_per_stage"] == [4, 6, 8], m["architecture"]
assert m["training"]["options"]["batch_size"] == 3
PY
# a broken edit is refused with the field named
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["training"]["plan"]["patch_size"]=[7,16,16]; json.dump(m,open(sys.argv[1],"w"))' "$out/model.json"
expect_exit 4 voxseg-train run "$d" -o "$out" --force --fold all --epochs 1 --iterations 1
expect_stderr "training.plan.*divisible"
