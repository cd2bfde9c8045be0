# A --prompts JSON file (voxel and mm coordinates) gives the same mask as the equivalent --box, with
# the file's label; a 2D input written with a volume extension is a 2D volume on the image's grid.
source "$(dirname "$0")/../lib.sh"
tools="$VOXSEG_SOURCE/tests/tools"
[ -f "$tools/make_sam_fixture.py" ] || skip "tests/tools/make_sam_fixture.py (the SAM reference network) is missing"
/usr/bin/python3 -c 'import torch, PIL, nibabel' 2>/dev/null || skip "/usr/bin/python3 needs torch, PIL, nibabel"
cd "$WORK"
/usr/bin/python3 "$tools/make_sam_fixture.py" fx --preset tiny --seed 6 --weights-only >/dev/null
/usr/bin/python3 -c 'import numpy as np; from PIL import Image
y, x = np.mgrid[0:70, 0:100]
Image.fromarray((30 + 180 * ((x - 50) ** 2 + (y - 35) ** 2 < 400)).astype(np.uint8)).save("img.png")'
expect_exit 0 voxseg refine --sam fx/weights.pth -i img.png --box 25,10,75,60 -o box.png
echo '{"coordinates": "voxel", "labels": [{"label": 3, "boxes": [[25, 10, 75, 60]]}]}' > voxel.json
expect_exit 0 voxseg refine --sam fx/weights.pth -i img.png --prompts voxel.json -o voxel.nii.gz
echo '{"coordinates": "mm", "labels": [{"label": 3, "boxes": [[75, 60, 25, 10]]}]}' > mm.json
expect_exit 0 voxseg refine --sam fx/weights.pth -i img.png --prompts mm.json -o mm.png
/usr/bin/python3 - <<'PY' || fail "prompts file results differ from --box"
import nibabel as nib, numpy as np
from PIL import Image
box = np.array(Image.open("box.png"))
vol = np.asarray(nib.load("voxel.nii.gz").dataobj)
vol = vol.reshape(vol.shape[0], vol.shape[1]).T  # nibabel x, y -> rows, columns
mm = np.array(Image.open("mm.png"))
assert box.shape == (70, 100) and vol.shape == (70, 100), (box.shape, vol.shape)
assert box.any() and set(np.unique(box)) <= {0, 1}
assert (vol == 3 * box).all() and (mm == 3 * box).all()
PY
