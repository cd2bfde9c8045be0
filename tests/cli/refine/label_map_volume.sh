# Refining a CT phantom's label map: the output keeps the input's grid; a second run with --cache
# encodes nothing (cache hits counted in --json) and gives the same labels; intersect stays inside
# the initial map, union contains it; a 3D box labels only its slices and box; bf16 runs.
source "$(dirname "$0")/../lib.sh"
tools="$VOXSEG_SOURCE/tests/tools"
[ -f "$tools/make_sam_fixture.py" ] || skip "tests/tools/make_sam_fixture.py (the SAM reference network) is missing"
[ -f "$FIXTURES/ct/labels.nii.gz" ] || skip "phantom fixtures not built (voxseg-phantom missing)"
/usr/bin/python3 -c 'import torch, nibabel' 2>/dev/null || skip "/usr/bin/python3 needs torch and nibabel"
cd "$WORK"
/usr/bin/python3 "$tools/make_sam_fixture.py" fx --preset tiny --seed 5 --weights-only >/dev/null
ct="$FIXTURES/ct/image.nii.gz" labels="$FIXTURES/ct/labels.nii.gz"
refine() { expect_exit 0 voxseg refine --sam fx/weights.pth -i "$ct" --json "$@"; cp "$WORK/stdout" "$WORK/last.json"; }

refine --labels "$labels" --margin 3 --cache cache -o cold.nii.gz --batch-size 4
slices=$(json_get last.json counts.slices)
[ "$(json_get last.json counts.encoded)" = "$slices" ] || fail "cold run: expected $slices slices encoded"
[ "$(json_get last.json counts.cache_hits)" = 0 ] || fail "cold run: cache hits on an empty cache"
refine --labels "$labels" --margin 3 --cache cache -o warm.nii.gz
[ "$(json_get last.json counts.encoded)" = 0 ] || fail "warm run: the encoder ran despite the cache"
[ "$(json_get last.json counts.cache_hits)" = "$slices" ] || fail "warm run: expected $slices cache hits"
expect_same_image cold.nii.gz warm.nii.gz
refine --labels "$labels" --margin 3 --cache cache --mode intersect -o intersect.nii.gz
refine --labels "$labels" --margin 3 --cache cache --mode union -o union.nii.gz
refine --box 10,12,40,50,5,9 --propagate --margin 2 --precision bf16 -o box.nii.gz
/usr/bin/python3 - "$labels" <<'PY' || fail "label maps are wrong"
import sys
import nibabel as nib, numpy as np
init_img = nib.load(sys.argv[1])
init = np.asarray(init_img.dataobj)
for f in ("cold.nii.gz", "intersect.nii.gz", "union.nii.gz", "box.nii.gz"):
    img = nib.load(f)
    assert img.shape == init.shape and np.allclose(img.affine, init_img.affine), f + ": grid differs"
cold = np.asarray(nib.load("cold.nii.gz").dataobj)
inter = np.asarray(nib.load("intersect.nii.gz").dataobj)
union = np.asarray(nib.load("union.nii.gz").dataobj)
assert ((inter == 0) | (inter == init)).all(), "intersect labels a voxel outside its initial label"
assert (union[init > 0] == init[init > 0]).all(), "union changed an initial label"
assert ((union == init) | (init == 0)).all()
for s in range(init.shape[2]):
    if not init[:, :, s].any():
        assert not cold[:, :, s].any() and not union[:, :, s].any(), f"slice {s} has no labels but got some"
box = np.asarray(nib.load("box.nii.gz").dataobj)  # nibabel order x, y, z
outside = np.ones(box.shape, bool)
outside[10:41, 12:51, 5:10] = False
assert not box[outside].any(), "labels outside the 3D box"
print("cold", int((cold > 0).sum()), "intersect", int((inter > 0).sum()), "union", int((union > 0).sum()),
      "box", int((box > 0).sum()), "initial", int((init > 0).sum()))
PY
