# The listener with its optional refine step (--refine-sam), real programs end to end (voxseg-predict,
# voxseg-refine with a tiny random SAM checkpoint, voxseg-convert): one SEG per series arrives in
# Orthanc, built from the refined labels. SIGTERM while the steps run stops after the current step; the
# restart resumes after the last journaled step (the prediction is not run again) and sends exactly
# once. A checkpoint that does not load moves the series to failed/ with the refine step's reason.
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/orthanc_env.sh"
MODEL="$VOXSEG_SOURCE/models/ct-abdomen-small"
[ -f "$MODEL/model.json" ] || skip "no shipped model at $MODEL"
for p in voxseg-predict voxseg-refine voxseg-convert; do [ -x "$VOXSEG_BIN/$p" ] || skip "$p is not built"; done
[ -f "$VOXSEG_SOURCE/tests/tools/make_sam_fixture.py" ] || skip "tests/tools/make_sam_fixture.py is missing"
/usr/bin/python3 -c 'import torch' 2>/dev/null || skip "/usr/bin/python3 needs torch for the SAM fixture"
/usr/bin/python3 "$VOXSEG_SOURCE/tests/tools/make_sam_fixture.py" "$WORK/fx" --preset tiny --seed 5 --weights-only \
  >/dev/null || fail "make_sam_fixture.py failed"
start_orthanc
LISTEN_PORT=$(free_port); SPOOL="$WORK/spool"
events() { grep -c "\"event\": \"$1\"" "$SPOOL/journal.jsonl"; }
listen() {
  QUIET=2 start_listener -m "$MODEL" --disable-tta --threads 2 --refine-margin 2 --refine-arg --batch-size \
    --refine-arg 4 --refine-sam "$@"
}
listen "$WORK/fx/weights.pth"

# SIGTERM during the steps: the current step finishes and is journaled, the next waits for the restart.
make_series "$WORK/s1" 12
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s1"/*.dcm || fail "storescu s1 failed"
until_true 60 grep -q "segmenting" "$WORK/listener.log" || { cat "$WORK/listener.log" >&2; fail "s1 never segmented"; }
kill -TERM "$LPID"; wait "$LPID" || fail "listener did not exit 0 on SIGTERM"
[ "$(events predicted)" = 1 ] && [ "$(events segmented)" = 0 ] ||
  { cat "$WORK/listener.log" >&2; fail "expected the prediction journaled and no SEG yet"; }
listen "$WORK/fx/weights.pth"
sent_is() { [ "$(status_of sent)" = "$1" ]; }
until_true 300 sent_is 1 || { cat "$WORK/listener.log" "$SPOOL"/series/*/out/*.log >&2; fail "expected 1 SEG sent"; }
grep -q "resuming .* after its" "$WORK/listener.log" || fail "the restart did not resume after the journaled step"
[ "$(events predicted)" = 1 ] || fail "the prediction ran again after the restart"
[ "$(events refined)" = 1 ] && [ "$(events segmented)" = 1 ] && [ "$(events sent)" = 1 ] || fail "journal steps"
key=$(ls "$SPOOL/series"); out="$SPOOL/series/$key/out"
[ -f "$out/refine.log" ] || fail "no refine.log"
[ -f "$out/labels.nii.gz" ] && [ -f "$out/refined.nii.gz" ] && [ -f "$out/refined.seg.dcm" ] || fail "step outputs: $(ls "$out")"
[ ! -e "$out/labels.seg.dcm" ] || fail "predict wrote a SEG of the unrefined labels"

# The SEG in Orthanc: in the study, referencing the series, and holding the refined labels.
first="$WORK/s1/$(ls "$WORK/s1" | head -1)"
study=$(tag_of "$first" 0020,000d); series=$(tag_of "$first" 0020,000e)
[ "$(seg_count "$study")" = 1 ] || fail "expected exactly 1 SEG in study $study"
id=$(seg_instances | head -1)
curl -sf -o "$WORK/s1.seg.dcm" "$REST/instances/$id/file" || fail "cannot download the SEG"
dcmdump "$WORK/s1.seg.dcm" | grep -q "$series" || fail "the SEG does not reference series $series"
voxseg convert "$WORK/s1.seg.dcm" "$WORK/back.nii.gz" --seg-reference "$WORK/s1" -q || fail "cannot read the SEG back"
# The SEG names both algorithms: predict's model (name and weights' sha256) and the SAM checkpoint.
sam_sha=$(sha256sum "$WORK/fx/weights.pth" | cut -d' ' -f1)
dcmdump +L "$WORK/s1.seg.dcm" | grep -q "\[model_sha256=[0-9a-f]\{64\}; refine=sam; sam_sha256=$sam_sha\].*AlgorithmParameters" ||
  fail "the SEG's algorithm identification does not name the model and the checkpoint: $(dcmdump +L "$WORK/s1.seg.dcm" | grep -m1 AlgorithmParameters), want sam_sha256=$sam_sha"
/usr/bin/python3 - "$WORK/back.nii.gz" "$out/refined.nii.gz" "$out/labels.nii.gz" <<'PY' || fail "the SEG is not the refined labels"
import sys
import nibabel as nib, numpy as np
back, refined, predicted = (np.asarray(nib.load(f).dataobj) for f in sys.argv[1:4])
assert back.shape == refined.shape, (back.shape, refined.shape)
assert ((back > 0) == (refined > 0)).all(), "foreground of the SEG differs from refined.nii.gz"
print("SEG voxels", int((back > 0).sum()), "refined", int((refined > 0).sum()), "predicted", int((predicted > 0).sum()))
PY

# A checkpoint that does not load: refine exits 4, the series goes to failed/ with the step's reason.
kill -TERM "$LPID"; wait "$LPID" || fail "listener did not exit 0 on SIGTERM"
head -c 1000 "$WORK/fx/weights.pth" > "$WORK/cut.pth"
listen "$WORK/cut.pth"
make_series "$WORK/s2" 6
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s2"/*.dcm || fail "storescu s2 failed"
failed_is() { [ "$(status_of failed)" = "$1" ]; }
until_true 300 failed_is 1 || { cat "$WORK/listener.log" >&2; fail "expected s2 failed"; }
grep -q "refinement exited with 4" "$SPOOL"/failed/*/reason.txt || fail "reason: $(cat "$SPOOL"/failed/*/reason.txt)"
[ "$(seg_count "$(tag_of "$(ls "$WORK"/s2/*.dcm | head -1)" 0020,000d)")" = 0 ] || fail "a SEG was sent for s2"
echoscu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" || fail "the listener stopped serving"
[ "$(events sent)" = 1 ] || fail "a SEG was sent twice"
