# Bad prompts exit 2 (box outside the image or empty, 3D box on a 2D image, two prompt sources,
# unknown key in a prompts file), a wrong or truncated checkpoint exits 4 with the reason, an
# existing output exits 5: each with one line on stderr and no output written.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
/usr/bin/python3 -c 'import numpy as np; from PIL import Image
Image.fromarray((np.arange(40 * 60) % 251).astype(np.uint8).reshape(40, 60)).save("grey.png")' ||
  skip "/usr/bin/python3 cannot write a PNG (install python3-pil)"
printf 'not a checkpoint' > bad.pth
CKPT=bad.pth
run() { expect_exit "$1" voxseg refine --sam "$CKPT" -i grey.png -o out.png "${@:2}"; expect_one_line_error; }
run 2 --box 10,5,60,20          # x1 = 60 is outside 0..59
expect_stderr "outside the image"
run 2 --box 30,5,10,20          # empty
expect_stderr "empty box"
run 2 --box 1,2,10,20,0,0       # 3D box on a 2D image
expect_stderr "3D box.* on a 2D image"
run 2 --box 1,2,10,20 --labels grey.png
echo '{"labels": [{"label": 1, "boxes": [[1, 2, 10, 20]], "pointz": []}]}' > p.json
run 2 --prompts p.json
expect_stderr "labels\[0\]\.pointz: unknown key"
run 4 --box 1,2,10,20
expect_stderr "$CKPT"
head -c 100 /dev/zero > zeros.pth; CKPT=zeros.pth
run 4 --box 1,2,10,20
expect_stderr "$CKPT"
if [ -f "$VOXSEG_SOURCE/tests/tools/make_sam_fixture.py" ]; then  # a real checkpoint, truncated
  /usr/bin/python3 "$VOXSEG_SOURCE/tests/tools/make_sam_fixture.py" fx --preset tiny --weights-only >/dev/null
  head -c 3000000 fx/weights.pth > cut.pth; CKPT=cut.pth
  run 4 --box 1,2,10,20
  expect_stderr "cut.pth"
fi
[ ! -e out.png ] || fail "an output was written"
touch out.png
run 5 --box 1,2,10,20
expect_stderr "force"
no_partial_files "$WORK"
