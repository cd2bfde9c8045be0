# The listener's machinery against a real Orthanc, with a stand-in for voxseg-predict (--segment-command;
# pacs_listener_e2e.sh runs the real one): storescu sends series, exactly one SEG per series version
# arrives in Orthanc in the same study, also after kill -9 and with the destination down for a while;
# unknown calling AE titles are rejected, malformed instances quarantined or refused, a segmentation
# failure moves the series to failed/, 4 concurrent associations land every instance, SIGTERM exits 0.
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/orthanc_env.sh"
command -v gdcmconv >/dev/null || skip "gdcmconv (libgdcm-tools) is not installed"
start_orthanc
LISTEN_PORT=$(free_port); SPOOL="$WORK/spool"
export FAKE_SEGMENT_LOG="$WORK/segment.log"
FAKE="$VOXSEG_SOURCE/tests/integration/fake_segment.sh"
MODEL="$VOXSEG_SOURCE/models/ct-abdomen-small"
start_listener -m "$MODEL" --segment-command "$FAKE" --workers 2
study_of() { tag_of "$(ls "$1"/*.dcm | head -1)" 0020,000d; }
stage_is() { [ "$(status_of "$1")" = "$2" ]; }
wait_sent() { until_true "${2:-60}" stage_is sent "$1" || { cat "$WORK/listener.log" >&2; fail "expected $1 sent"; }; }

# 1. A series: one SEG in its study; the stand-in got predict's command line.
make_series "$WORK/s1" 8
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s1"/*.dcm || fail "storescu s1 failed"
[ "$(ls "$SPOOL"/series/*/instances/*.dcm | wc -l)" = 8 ] || fail "spool lacks instances right after C-STORE"
wait_sent 1
[ "$(seg_count "$(study_of "$WORK/s1")")" = 1 ] || fail "s1: expected exactly 1 SEG in Orthanc"
grep -q -- "-i $SPOOL/series/.*/instances -o $SPOOL/series/.*/out/labels.nii.gz" "$FAKE_SEGMENT_LOG" || fail "segment command line"

# 1b. JPEG 2000 lossless as storescu -xv proposes it: accepted and spooled as it came (not transcoded).
make_series "$WORK/j2k_src" 4
mkdir "$WORK/j2k"
for f in "$WORK/j2k_src"/*.dcm; do gdcmconv --j2k "$f" "$WORK/j2k/$(basename "$f")" || fail "gdcmconv failed"; done
storescu -xv -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/j2k"/*.dcm || fail "storescu -xv failed"
j2k_sop=$(tag_of "$WORK/j2k/$(ls "$WORK/j2k" | head -1)" 0008,0018)
dcmdump +P 0002,0010 "$SPOOL"/series/*/instances/"$j2k_sop.dcm" | grep -q JPEG2000LosslessOnly || fail "J2K not kept"
wait_sent 2
[ "$(seg_count "$(study_of "$WORK/j2k")")" = 1 ] || fail "j2k: expected exactly 1 SEG in Orthanc"

# 2. Unknown calling AE title: A-ASSOCIATE-RJ, exit 7 for our echo; the listener keeps serving.
expect_exit 7 voxseg pacs echo --aet INTRUDER "VOXSEG@127.0.0.1:$LISTEN_PORT"
expect_stderr "rejected"
! storescu -aet INTRUDER -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s1/$(ls "$WORK/s1" | head -1)" 2>/dev/null ||
  fail "storescu with an unknown AE title was accepted"
expect_exit 7 voxseg pacs echo --aet SCU "WRONG@127.0.0.1:$LISTEN_PORT"
expect_exit 0 voxseg pacs echo --aet SCU "VOXSEG@127.0.0.1:$LISTEN_PORT"

# 3. Malformed input: truncated pixel data is quarantined with a reason (failure status to the sender);
#    a SOP class that is not an image storage class is refused at negotiation. The listener keeps serving.
make_series "$WORK/bad" 1
/usr/bin/python3 - "$WORK/bad/"*.dcm "$WORK/rtstruct.dcm" <<'PY'
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1]); ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]; ds.save_as(sys.argv[1])
ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"; ds.save_as(sys.argv[2])
PY
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/bad"/*.dcm 2>"$WORK/storescu.err"
grep -q "truncated Pixel Data" "$SPOOL"/quarantine/*.reason.txt || fail "truncated instance not quarantined with a reason"
! storescu -R -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/rtstruct.dcm" 2>/dev/null || fail "RT Structure Set accepted"
[ "$(status_of quarantined)" = 1 ] || fail "expected 1 quarantined instance"

# 4. kill -9 right after a series arrived (before it went quiet): after a restart exactly one SEG.
make_series "$WORK/s2" 6
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s2"/*.dcm || fail "storescu s2 failed"
kill -KILL "$LPID"; wait "$LPID" 2>/dev/null
start_listener -m "$MODEL" --segment-command "$FAKE" --workers 2
wait_sent 3
# ... and kill -9 while segmenting (the stand-in sleeps; it dies with the listener): again exactly one.
make_series "$WORK/s3" 5
kill -TERM "$LPID"; wait "$LPID" 2>/dev/null
FAKE_SEGMENT_SLEEP=10 start_listener -m "$MODEL" --segment-command "$FAKE"
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s3"/*.dcm || fail "storescu s3 failed"
s3_series=$(tag_of "$WORK/s3/$(ls "$WORK/s3" | head -1)" 0020,000e)
until_true 30 grep -q "segmenting $s3_series" "$WORK/listener.log" ||
  fail "s3 never started segmenting"
kill -KILL "$LPID"; wait "$LPID" 2>/dev/null
start_listener -m "$MODEL" --segment-command "$FAKE"
wait_sent 4
for s in s1 s2 s3; do [ "$(seg_count "$(study_of "$WORK/$s")")" = 1 ] || fail "$s: expected exactly 1 SEG"; done

# 5. Destination down: the SEG is retried and delivered when it comes back (same ports, same storage).
stop_pid "$OPID"
make_series "$WORK/s4" 4
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s4"/*.dcm || fail "storescu s4 failed"
until_true 30 grep -q "sending the SEG of .* failed" "$WORK/listener.log" || fail "no failed send attempt logged"
[ "$(status_of pending_send)" = 1 ] || fail "the SEG should be pending while Orthanc is down"
/usr/sbin/Orthanc --logdir="$WORK/orthanc" "$WORK/orthanc/orthanc.json" >/dev/null 2>&1 &
OPID=$!; PIDS+=("$OPID")
until_true 30 curl -sf "$REST/system" -o /dev/null || fail "Orthanc did not restart"
wait_sent 5
[ "$(seg_count "$(study_of "$WORK/s4")")" = 1 ] || fail "s4: expected exactly 1 SEG after the destination came back"

# 6. A series the segmentation refuses (exit 3: bad input) goes to failed/ with the reason.
kill -TERM "$LPID"; wait "$LPID" 2>/dev/null
make_series "$WORK/s5" 3
FAKE_SEGMENT_BAD_INPUT=$(tag_of "$WORK/s5/$(ls "$WORK/s5" | head -1)" 0008,0018).dcm start_listener -m "$MODEL" --segment-command "$FAKE"
storescu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/s5"/*.dcm || fail "storescu s5 failed"
until_true 30 stage_is failed 1 || fail "s5 did not fail"
grep -q "inconsistent geometry" "$SPOOL"/failed/*/reason.txt || fail "failed/ lacks the reason"
expect_exit 0 voxseg pacs status "$SPOOL"
expect_stdout "1 failed"

# 7. Load: 4 concurrent associations x 20 instances, each its own series: all in the spool, each segmented once.
for i in 1 2 3 4; do make_series "$WORK/load$i" 20; done
before=$(ls "$SPOOL"/series/*/instances/*.dcm | wc -l)
for i in 1 2 3 4; do
  storescu -aet SCU2 -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$WORK/load$i"/*.dcm & spids[$i]=$!
done
for i in 1 2 3 4; do wait "${spids[$i]}" || fail "storescu load$i failed"; done
[ "$(( $(ls "$SPOOL"/series/*/instances/*.dcm | wc -l) - before ))" = 80 ] || fail "not all 80 instances are in the spool"
wait_sent 9 120
for i in 1 2 3 4; do [ "$(seg_count "$(study_of "$WORK/load$i")")" = 1 ] || fail "load$i: expected exactly 1 SEG"; done
[ "$(grep -c '"event": "segmented"' "$SPOOL/journal.jsonl")" = 9 ] || fail "some series were segmented twice"

# 7b. A DICOM SEG series (e.g. our own result routed back) is stored but never segmented.
# The fake SEGs are copies of an instance: not the JPEG 2000 series' one (storescu has no J2K codec to
# send it with -R, which made this step fail whenever that series' folder sorted first).
seg_file=$(for f in "$SPOOL"/series/*/out/labels.seg.dcm; do
  dcmdump +P 0002,0010 "$f" | grep -q JPEG2000 || { echo "$f"; break; }
done)
[ -n "$seg_file" ] || fail "no uncompressed SEG in the spool"
storescu -R -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" "$seg_file" || fail "storescu of a SEG failed"
until_true 30 stage_is failed 2 || fail "the SEG series was not set aside"
grep -q "DICOM SEG objects" "$SPOOL"/failed/*/reason.txt || fail "no reason for the SEG series"

# 8. SIGTERM: clean exit 0.
kill -TERM "$LPID"; wait "$LPID"; rc=$?
[ "$rc" = 0 ] || fail "listener exited $rc on SIGTERM"
