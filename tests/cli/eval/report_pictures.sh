# The report's pictures as a radiologist reads them: one window per image (CT phantom: abdomen 40/400 from its label
# table; MR phantom without a table: percentiles; --report-window lung), a legend of the contour colours, a bar per
# label for one case with round [0, 1] ticks; then headless Chromium renders it: legend and window in the DOM, the QC
# crops neither blown out nor blank and each through its label, the contours visible on the screenshot.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"
[ -f "$FIXTURES/ct/labels.nii.gz" ] && [ -f "$FIXTURES/mr/image.nii.gz" ] || skip "phantom fixtures not built (voxseg-phantom missing)"
/usr/bin/python3 - "$FIXTURES/ct/labels.nii.gz" <<'PY' || skip "python3-nibabel/numpy missing"
import sys, numpy as np, nibabel as nib
img = nib.load(sys.argv[1]); a = np.asarray(img.dataobj)
nib.save(nib.Nifti1Image(np.roll(a, 1, axis=0).astype(a.dtype), img.affine, img.header), "pred.nii.gz")
PY
expect_exit 2 voxseg eval -p pred.nii.gz -r "$FIXTURES/ct/labels.nii.gz" --report bad --report-window 40,0
expect_stderr "report-window '40,0'"
[ ! -e bad/index.html ] || fail "a report was written for a bad --report-window"
expect_exit 0 voxseg eval -p pred.nii.gz -r "$FIXTURES/ct/labels.nii.gz" --label-table "$FIXTURES/ct/phantom.json" \
  --image "$FIXTURES/ct/image.nii.gz" --report ct
expect_exit 0 voxseg eval -p "$FIXTURES/mr/labels.nii.gz" -r "$FIXTURES/mr/labels.nii.gz" --image "$FIXTURES/mr/image.nii.gz" --report mr
expect_exit 0 voxseg eval -p pred.nii.gz -r "$FIXTURES/ct/labels.nii.gz" --image "$FIXTURES/ct/image.nii.gz" --report lung \
  --report-window lung
/usr/bin/python3 - <<'PY' || fail "report HTML"
import re
ct, mr, lung = (open(f"{d}/index.html").read() for d in ("ct", "mr", "lung"))
assert 'id="qc-legend"' in ct and "reference" in ct and "prediction" in ct, "no legend"
assert 'data-window-level="40" data-window-width="400"' in ct and "window 40/400 (abdomen; CT (label table))" in ct
assert "percentile 0.5-99.5; not CT (intensity range)" in mr, "MR without a table: percentiles"
assert 'data-window-level="-600" data-window-width="1500"' in lung
assert 'class="barchart"' in ct and 'class="boxplot"' not in ct, "one case: bars, not distributions"
ticks = re.findall(r'class="tick"[^>]*>([^<]*)<', ct)
assert ticks and not [t for t in ticks if re.search(r"[eE]|^-0(\.0*)?$", t)], ticks
assert ct.count('class="qc-context"') == ct.count('class="qc"') > 0, "a context view beside every crop"
PY
command -v chromium >/dev/null || skip "chromium is not installed (scripts/setup.sh --tests installs it)"
/usr/bin/python3 -c "import PIL" 2>/dev/null || skip "python3-pil is not installed (scripts/setup.sh --tests)"
profile=$(mktemp -d "$WORK/chromium.XXXXXX")
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars)
timeout 120 chromium "${flags[@]}" --dump-dom "file://$WORK/ct/index.html" > dom.html 2> dom.err \
  || fail "chromium --dump-dom failed: $(tail -3 dom.err)"
timeout 120 chromium "${flags[@]}" --screenshot="$WORK/shot.png" --window-size=1400,7000 "file://$WORK/ct/index.html" \
  > shot.out 2> shot.err || fail "chromium --screenshot failed: $(tail -3 shot.err)"
/usr/bin/python3 - <<'PY' || fail "rendered report"
import base64, io, re
from PIL import Image
dom = open("dom.html").read()
legend = re.search(r'<div id="qc-legend".*?</div>', dom, re.S)
assert legend and "reference" in legend.group(0) and "prediction" in legend.group(0), "legend not in the rendered DOM"
assert re.search(r'class="qc-window" data-window-level="40" data-window-width="400"', dom), "window not in the DOM"
assert int(re.search(r'data-ready="(\d+)"', dom).group(1)) >= 8, "inline script did not run (bar charts)"
# Every crop in the one window: not mostly white (blown out) and not one flat grey.
for m in re.finditer(r'<img class="qc" alt="([^"]*)" src="data:image/png;base64,([^"]+)"', dom):
    px = list(Image.open(io.BytesIO(base64.b64decode(m.group(2)))).convert("RGB").getdata())
    grey = sorted(r for r, g, b in px if r == g == b)  # the image, contours left out
    assert len(grey) > 0.3 * len(px), f"{m.group(1)}: mostly contours"
    white = sum(v >= 250 for v in grey) / len(grey)
    assert white < 0.3, f"{m.group(1)}: {white:.0%} white (blown out)"
    spread = grey[int(0.95 * (len(grey) - 1))] - grey[int(0.05 * (len(grey) - 1))]
    assert spread >= 20, f"{m.group(1)}: flat grey ({spread})"
    assert (30, 210, 30) in px or (240, 210, 30) in px, f"{m.group(1)}: the slice misses the label (no contour)"
shot = Image.open("shot.png").convert("RGB")
assert shot.size == (1400, 7000), shot.size
colours = shot.getcolors(1 << 24)
green = sum(n for n, c in colours if abs(c[0] - 30) < 25 and c[1] > 180 and abs(c[2] - 30) < 25)
assert green > 50, f"reference contours not visible on the screenshot ({green} green pixels)"
PY
