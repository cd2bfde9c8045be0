# voxseg pacs echo/store/find/get/move against a real Orthanc on loopback: the sample series goes in,
# find sees it, get and move bring back the same SOP Instance UIDs and pixel data; peers that are
# down or refuse exit 7 with one line; unreadable local files exit 3.
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/orthanc_env.sh"
MOVE_PORT=$(free_port)
start_orthanc "\"VOXSEG\": [\"VOXSEG\", \"127.0.0.1\", $MOVE_PORT]"
n=$(ls "$SAMPLE"/*.dcm | wc -l)

expect_exit 0 voxseg pacs echo "$ORTHANC"
expect_stdout "C-ECHO .*: ok"
expect_exit 7 voxseg pacs echo "ORTHANC@127.0.0.1:$(free_port)" --timeout 3
expect_one_line_error; expect_stderr "Connection refused"
expect_exit 2 voxseg pacs echo "ORTHANC127.0.0.1:4242"

expect_exit 0 voxseg pacs store "$ORTHANC" "$SAMPLE" --json
[ "$(json_get "$WORK/stdout" sent)" = "$n" ] || fail "store: expected $n sent"
[ "$(rest_count /instances)" = "$n" ] || fail "Orthanc holds $(rest_count /instances) instances, expected $n"
echo "not dicom" > "$WORK/junk.dcm"; head -c 20000 "$SAMPLE/IMG0001.dcm" > "$WORK/truncated.dcm"
expect_exit 3 voxseg pacs store "$ORTHANC" "$WORK/junk.dcm" "$WORK/truncated.dcm"
mkdir "$WORK/mixed"; cp "$SAMPLE/IMG0001.dcm" "$WORK/junk.dcm" "$WORK/mixed/"
expect_exit 8 voxseg pacs store "$ORTHANC" "$WORK/mixed"

series=$(tag_of "$SAMPLE/IMG0001.dcm" 0020,000e); study=$(tag_of "$SAMPLE/IMG0001.dcm" 0020,000d)
expect_exit 0 voxseg pacs find "$ORTHANC" --level series --modality CT --json
grep -q "\"SeriesInstanceUID\": \"$series\"" "$WORK/stdout" || fail "find: series $series not listed"
[ "$(json_get "$WORK/stdout" NumberOfSeriesRelatedInstances)" = "$n" ] || fail "find: wrong instance count"
expect_exit 0 voxseg pacs find "$ORTHANC" --level study --study-uid "$study"
expect_stdout "$study"
expect_exit 2 voxseg pacs find "$ORTHANC" --date 2024-01-01

same_instances() {  # same_instances DIR: one file per instance, named by its SOP UID, same pixel data
  /usr/bin/python3 - "$SAMPLE" "$1" <<'PY' || fail "$1 does not hold the sample's instances"
import sys, os, pydicom
src, got = sys.argv[1], sys.argv[2]
files = sorted(os.listdir(src))
assert len(os.listdir(got)) == len(files), (len(os.listdir(got)), len(files))
for f in files:
    a = pydicom.dcmread(os.path.join(src, f))
    b = pydicom.dcmread(os.path.join(got, a.SOPInstanceUID + ".dcm"))
    assert b.SOPInstanceUID == a.SOPInstanceUID and b.PixelData == a.PixelData, f
PY
}
expect_exit 0 voxseg pacs get "$ORTHANC" --series-uid "$series" -o "$WORK/get"
same_instances "$WORK/get"
expect_exit 0 voxseg pacs get "$ORTHANC" --study-uid "$study" -o "$WORK/get" --json
[ "$(json_get "$WORK/stdout" existing)" = "$n" ] || fail "get again: existing files should be kept without --force"
expect_exit 0 voxseg pacs move "$ORTHANC" --study-uid "$study" -o "$WORK/move" --port "$MOVE_PORT"
same_instances "$WORK/move"
# An AE title the peer does not know as a move destination: the peer's refusal, exit 7.
expect_exit 7 voxseg pacs move "$ORTHANC" --series-uid "$series" -o "$WORK/move2" --port "$MOVE_PORT" --aet STRANGER
expect_one_line_error
