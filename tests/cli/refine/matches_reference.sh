# voxseg refine on 2D images equals a Python re-implementation of SamPredictor's and MedSAM's pre- and
# post-processing (tests/tools/sam_refine_reference.py) around the PyTorch reference SAM of
# make_sam_fixture.py, with the same random small weights: logits within 1e-3 (relative to the
# largest logit), masks equal except where |logit| < 1e-4; for boxes, single points (multimask) and
# box + points, grey and RGB images, both presets.
source "$(dirname "$0")/../lib.sh"
tools="$VOXSEG_SOURCE/tests/tools"
[ -f "$tools/make_sam_fixture.py" ] || skip "tests/tools/make_sam_fixture.py (the SAM reference network) is missing"
/usr/bin/python3 -c 'import torch, PIL, skimage, nibabel' 2>/dev/null ||
  skip "/usr/bin/python3 needs torch, PIL, skimage, nibabel (python3-torch, -pil, -skimage, -nibabel)"
cd "$WORK"
/usr/bin/python3 "$tools/make_sam_fixture.py" fx --preset tiny --seed 4 --weights-only >/dev/null
/usr/bin/python3 -c 'import numpy as np; from PIL import Image
y, x = np.mgrid[0:90, 0:131]
g = (40 + 150 * (((x - 60) ** 2 + (y - 45) ** 2) < 600) + (x % 7) * 3).astype(np.uint8)
Image.fromarray(g).save("grey.png")
rgb = np.stack([g, (255 - g), ((x * 2) % 256).astype(np.uint8)], axis=-1)
Image.fromarray(rgb).save("rgb.png")'

check() {  # check NAME IMAGE PRESET PROMPT-ARGS...
  local name=$1 image=$2 preset=$3; shift 3
  expect_exit 0 voxseg refine --sam fx/weights.pth --preset "$preset" -i "$image" -o "$name.png" \
    --logits "$name.nii.gz" --json "$@"
  cp "$WORK/stdout" "$name.report.json"
  /usr/bin/python3 "$tools/sam_refine_reference.py" fx/weights.pth "$image" "ref_$name" --preset "$preset" "$@" ||
    fail "$name: reference failed"
  /usr/bin/python3 - "$name" "$@" <<'PY' || fail "$1 differs from the reference"
import json, sys
import nibabel as nib, numpy as np
from PIL import Image
name, args = sys.argv[1], sys.argv[2:]
meta = json.load(open(f"ref_{name}.json"))
h, w = meta["height"], meta["width"]
ref = np.fromfile(f"ref_{name}_logits.f32", np.float32).reshape(h, w)
ref_mask = np.fromfile(f"ref_{name}_mask.u8", np.uint8).reshape(h, w)
got = np.asarray(nib.load(f"{name}.nii.gz").dataobj).reshape(w, h).T
mask = np.array(Image.open(f"{name}.png"))
inside = np.ones((h, w), bool)
if "--box" in args:
    x0, y0, x1, y1 = [int(v) for v in args[args.index("--box") + 1].split(",")]
    inside[:] = False
    inside[y0:y1 + 1, x0:x1 + 1] = True
    assert (mask[~inside] == 0).all(), "labels outside the box"
scale = max(1.0, float(np.abs(ref[inside]).max()))
err = float(np.abs(got - ref)[inside].max()) / scale
undecided = np.abs(ref) < 1e-4
bad = ((mask > 0) != (ref_mask > 0)) & inside & ~undecided
report = json.loads(open(f"{name}.report.json").read())
p = report["prompts"][0]
print(f"{name}: max relative logit error {err:.2e}, {int(bad.sum())} mask pixels differ, "
      f"iou {p['iou']:.6f} vs {meta['iou']:.6f}, mask {p['mask_index']} vs {meta['mask_index']}, "
      f"{int((mask > 0).sum())} pixels on")
assert err < 1e-3, err
assert bad.sum() == 0
assert abs(p["iou"] - meta["iou"]) < 1e-3 and p["mask_index"] == meta["mask_index"]
assert mask.shape == (h, w)
PY
}
check sam_box grey.png sam --box 30,15,90,75
check sam_rgb_box rgb.png sam --box 5,20,120,88
check sam_point grey.png sam --point 60,45:1
check sam_box_points grey.png sam --box 30,15,90,75 --point 60,45:1 --point 35,20:0
check medsam_box grey.png medsam --box 30,15,90,75
check medsam_rgb_box rgb.png medsam --box 0,0,130,89
