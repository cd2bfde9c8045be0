# The listener end to end with the real segmentation (voxseg-predict --dicom-seg, the shipped small model):
# storescu sends the sample CT series, uncompressed and JPEG 2000 lossless (storescu -xv after gdcmconv),
# and for each exactly one DICOM SEG arrives in Orthanc, in the same study, referencing the series.
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/orthanc_env.sh"
MODEL="$VOXSEG_SOURCE/models/ct-abdomen-small"
[ -f "$MODEL/model.json" ] || skip "no shipped model at $MODEL"
voxseg-predict --help 2>/dev/null | grep -q -- "--dicom-seg" || skip "voxseg-predict has no --dicom-seg in this build"
command -v gdcmconv >/dev/null || skip "gdcmconv (libgdcm-tools) is not installed"
start_orthanc
LISTEN_PORT=$(free_port); SPOOL="$WORK/spool"
QUIET=2 start_listener -m "$MODEL" --disable-tta --threads 2

# The sample as it is, and a JPEG 2000 lossless copy as another series of another study.
make_series "$WORK/plain" 56
make_series "$WORK/j2k_src" 56
mkdir "$WORK/j2k"
for f in "$WORK/j2k_src"/*.dcm; do gdcmconv --j2k "$f" "$WORK/j2k/$(basename "$f")" || fail "gdcmconv failed"; done
dcmdump +P 0002,0010 "$WORK/j2k/$(ls "$WORK/j2k" | head -1)" | grep -q JPEG2000Lossless || fail "not JPEG 2000 lossless"
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/plain"/*.dcm || fail "storescu (uncompressed) failed"
storescu -xv -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/j2k"/*.dcm || fail "storescu -xv (JPEG 2000) failed"
dcmdump +P 0002,0010 "$(ls "$SPOOL"/series/*/instances/*.dcm | tail -1)" >/dev/null || fail "spool file unreadable"

sent_is() { [ "$(status_of sent)" = "$1" ]; }
until_true 300 sent_is 2 || { cat "$WORK/listener.log" "$SPOOL"/series/*/out/predict.log >&2; fail "expected 2 SEGs sent"; }
for s in plain j2k; do
  first="$WORK/$s/$(ls "$WORK/$s" | head -1)"
  study=$(tag_of "$first" 0020,000d); series=$(tag_of "$first" 0020,000e)
  [ "$(seg_count "$study")" = 1 ] || fail "$s: expected exactly 1 SEG in study $study"
  id=$(curl -sf -X POST "$REST/tools/find" \
       -d "{\"Level\":\"Instance\",\"Query\":{\"StudyInstanceUID\":\"$study\",\"Modality\":\"SEG\"}}" |
       /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0])')
  curl -sf -o "$WORK/$s.seg.dcm" "$REST/instances/$id/file" || fail "cannot download the SEG"
  [ "$(tag_of "$WORK/$s.seg.dcm" 0008,0016)" = "1.2.840.10008.5.1.4.1.1.66.4" ] || fail "$s: not Segmentation Storage"
  dcmdump "$WORK/$s.seg.dcm" | grep -q "$series" || fail "$s: the SEG does not reference series $series"
done
# Nothing is sent twice, also after a restart.
kill -TERM "$LPID"; wait "$LPID" || fail "listener did not exit 0 on SIGTERM"
QUIET=2 start_listener -m "$MODEL" --disable-tta --threads 2
sleep 3
[ "$(grep -c '"event": "sent"' "$SPOOL/journal.jsonl")" = 2 ] || fail "a SEG was sent again after the restart"
