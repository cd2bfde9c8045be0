# Shared set-up of the PACS tests (sourced after ../cli/lib.sh): a real Orthanc on loopback with free
# ports, servers stopped by PID on exit, helpers to query its REST API and to run our listener.
[ -x /usr/sbin/Orthanc ] || skip "orthanc is not installed (scripts/setup.sh --tests)"
command -v curl >/dev/null || skip "curl is not installed"
command -v storescu >/dev/null || skip "dcmtk (storescu) is not installed"
[ -x "$VOXSEG_BIN/voxseg-pacs" ] || skip "voxseg-pacs is not built"
SAMPLE="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap stop_all EXIT
# until_true SECONDS cmd...: polls cmd every 0.2 s, bounded in time.
until_true() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.2; done
}
start_orthanc() {  # sets HTTP_PORT, DICOM_PORT, ORTHANC (AET@HOST:PORT), REST, OPID; $1: extra modalities JSON
  HTTP_PORT=$(free_port); DICOM_PORT=$(free_port)
  mkdir -p "$WORK/orthanc/db"
  cat > "$WORK/orthanc/orthanc.json" <<JSON
{ "Name": "TEST_PACS", "StorageDirectory": "$WORK/orthanc/db", "IndexDirectory": "$WORK/orthanc/db",
  "Plugins": [], "HttpPort": $HTTP_PORT, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "DicomAet": "ORTHANC", "DicomPort": $DICOM_PORT, "DicomCheckCalledAet": false,
  "DicomAlwaysAllowEcho": true, "DicomAlwaysAllowStore": true, "DicomAlwaysAllowFind": true,
  "DicomAlwaysAllowGet": true, "DicomAlwaysAllowMove": true, "UnknownSopClassAccepted": true,
  "DicomModalities": { ${1:-} } }
JSON
  /usr/sbin/Orthanc --logdir="$WORK/orthanc" "$WORK/orthanc/orthanc.json" >/dev/null 2>&1 &
  OPID=$!; PIDS+=("$OPID")
  REST="http://127.0.0.1:$HTTP_PORT"
  ORTHANC="ORTHANC@127.0.0.1:$DICOM_PORT"
  until_true 30 curl -sf "$REST/system" -o /dev/null || fail "Orthanc did not start (log in $WORK/orthanc)"
  until_true 10 voxseg-pacs echo "$ORTHANC" -q || fail "Orthanc's DICOM port did not open"
}
stop_pid() {  # stop_pid PID: TERM, wait (bounded), KILL
  kill -TERM "$1" 2>/dev/null
  until_true 20 bash -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null || true
}
# rest_count PATH: number of items the REST API lists under PATH (e.g. /instances).
rest_count() { curl -sf "$REST$1" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# seg_instances: Orthanc ids of stored Segmentation Storage instances, one per line.
seg_instances() {
  curl -sf -X POST "$REST/tools/find" -d '{"Level":"Instance","Query":{"SOPClassUID":"1.2.840.10008.5.1.4.1.1.66.4"}}' |
    /usr/bin/python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))'
}
# tag_of FILE TAG: one attribute value of a DICOM file.
tag_of() { dcmdump -Un +P "$2" "$1" 2>/dev/null | head -1 | sed -E 's/^[^[]*\[([^]]*)\].*/\1/'; }
new_uid() { /usr/bin/python3 -c 'import uuid; print("2.25.%d" % uuid.uuid4().int)'; }
# make_series DIR COUNT: COUNT instances of the sample CT as a new study and series (new SOP UIDs).
make_series() {
  mkdir -p "$1"
  cp $(ls "$SAMPLE"/*.dcm | sort | head -"$2") "$1/"
  dcmodify -q -nb -m "(0020,000d)=$(new_uid)" -m "(0020,000e)=$(new_uid)" -gin "$1"/*.dcm || fail "dcmodify failed"
}
# seg_count STUDY_UID: SEG instances Orthanc holds in that study.
seg_count() {
  curl -sf -X POST "$REST/tools/find" \
    -d "{\"Level\":\"Series\",\"Expand\":true,\"Query\":{\"StudyInstanceUID\":\"$1\",\"Modality\":\"SEG\"}}" |
    /usr/bin/python3 -c 'import json,sys; print(sum(len(s["Instances"]) for s in json.load(sys.stdin)))'
}
# start_listener [extra options]: our listener on LISTEN_PORT with spool $SPOOL, allowing SCU; sets LPID.
start_listener() {
  voxseg-pacs listen --port "$LISTEN_PORT" --spool "$SPOOL" --allow SCU,SCU2 --send-to "$ORTHANC" \
    --quiet-seconds "${QUIET:-2}" --retry-seconds 1 --retry-max-seconds 2 -v "$@" >> "$WORK/listener.log" 2>&1 &
  LPID=$!; PIDS+=("$LPID")
  until_true 30 echoscu -aet SCU -aec VOXSEG 127.0.0.1 "$LISTEN_PORT" 2>/dev/null ||
    { cat "$WORK/listener.log" >&2; fail "the listener did not start"; }
}
status_of() { voxseg-pacs status "$SPOOL" --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
