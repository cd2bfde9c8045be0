# --report writes one self-contained HTML file (no external URLs) that headless Chromium renders without errors: summary table, box plots, QC pictures.
source "$(dirname "$0")/../lib.sh"
cd "$WORK"; mkdir pred ref img
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
rng = np.random.default_rng(4)
z, y, x = np.mgrid[0:24, 0:48, 0:48]
for c in range(3):
    ref = np.zeros((24, 48, 48), np.uint8); pred = np.zeros_like(ref)
    ref[(x-24)**2 + (y-24)**2 + ((z-12)*2)**2 <= 144] = 1
    pred[(x-24-c)**2 + (y-24)**2 + ((z-12)*2)**2 <= 144] = 1
    ref[4:10, 4:12, 30:40] = 2; pred[4:10, 5:12, 30:41] = 2
    image = (100 * (ref > 0) + rng.normal(0, 20, ref.shape)).astype(np.float32)
    aff = np.diag([0.7, 0.7, 1.4, 1.0])
    for d, a in (("ref", ref), ("pred", pred), ("img", image)):
        nib.save(nib.Nifti1Image(a.transpose(2, 1, 0).copy(), aff), f"{d}/case{c}.nii.gz")
PY
expect_exit 0 voxseg eval -p pred -r ref --image img --report rep --csv m.csv
html=rep/index.html
[ -s "$html" ] || fail "no report"
ls rep | grep -q partial && fail "partial file left"
! grep -Eq '(src|href)="(https?:)?//' "$html" || fail "report refers to external URLs"
[ "$(grep -o 'data:image/png;base64,' "$html" | wc -l)" -ge 18 ] || fail "expected 3 cases x 2 labels x 3 QC pictures"
grep -q 'class="boxplot"' "$html" || fail "no SVG box plots"
command -v chromium >/dev/null || skip "chromium is not installed (scripts/setup.sh --tests installs it)"
profile=$(mktemp -d "$WORK/chromium.XXXXXX")
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$profile" --enable-logging=stderr --v=0)
timeout 120 chromium "${flags[@]}" --screenshot="$WORK/out.png" --window-size=1200,2000 "file://$WORK/$html" \
  > "$WORK/chromium.out" 2> "$WORK/chromium.err" || fail "chromium failed: $(tail -3 "$WORK/chromium.err")"
timeout 120 chromium "${flags[@]}" --dump-dom "file://$WORK/$html" > "$WORK/dom.html" 2> "$WORK/dom.err" \
  || fail "chromium --dump-dom failed"
grep -Ei 'CONSOLE|Uncaught|SyntaxError|ReferenceError' "$WORK/chromium.err" "$WORK/dom.err" && fail "JavaScript/console errors"
/usr/bin/python3 - "$WORK/out.png" "$WORK/dom.html" <<'PY' || fail "screenshot or DOM check"
import sys, zlib, struct, re
png = open(sys.argv[1], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", png[16:24]); assert (w, h) == (1200, 2000), (w, h)
pos, idat = 8, b""
while pos < len(png):
    n = struct.unpack(">I", png[pos:pos+4])[0]; t = png[pos+4:pos+8]
    if t == b"IDAT": idat += png[pos+8:pos+8+n]
    pos += 12 + n
raw = zlib.decompress(idat)
distinct = len(set(raw[i:i+3] for i in range(0, len(raw), 997)))
assert distinct > 20, f"screenshot looks blank ({distinct} distinct samples)"
dom = open(sys.argv[2]).read()
m = re.search(r'data-ready="(\d+)"', dom); assert m and int(m.group(1)) >= 12, "inline script did not run"
assert 'id="summary-table"' in dom and dom.count('class="qc"') >= 18
PY
