# A batch killed with SIGKILL in the middle resumes: a case is done iff its label map exists. A rerun
# redoes every other case exactly once (also one whose report was written but not its label map, the
# state a kill between the two leaves), removes the killed run's temporaries, and leaves every output
# complete; a third run has nothing to do.
source "$(dirname "$0")/../lib.sh"
model="$VOXSEG_SOURCE/models/ct-abdomen-small"
voxseg phantom --kind ct-abdomen --seed 1 --size 24,24,10 --count 8 -o "$WORK/ds" >/dev/null || fail "phantom"
out="$WORK/out"
cases() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j.get("status") == sys.argv[2]: print(j["case"])' "$1" "$2" | sort; }

voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$out" --json --threads 1 >"$WORK/run1.jsonl" 2>"$WORK/run1.err" &
pid=$!
for _ in $(seq 1200); do  # until the first case is done (or the run ends), then kill -9 mid-batch
  grep -q '"status": *"ok"' "$WORK/run1.jsonl" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null
wait "$pid"; status=$?
[ "$status" = 137 ] || echo "note: the first run ended (exit $status) before the kill" >&2
cases "$WORK/run1.jsonl" ok > "$WORK/ok1"
[ -s "$WORK/ok1" ] || fail "no case finished before the kill"
[ "$(wc -l < "$WORK/ok1")" -lt 8 ] || echo "note: every case finished before the kill" >&2

# The state a kill between the report and the label map leaves: report present, label map missing,
# and a temporary of a process that no longer runs.
redo=$(head -1 "$WORK/ok1")
rm "$out/$redo.nii.gz"
[ -f "$out/$redo.json" ] || fail "the finished case has no report"
dead=$(sh -c 'echo $$')
echo "half a label map" > "$out/.$redo.partial-$dead.nii.gz"

expect_exit 0 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$out" --json --threads 1
cp "$WORK/stdout" "$WORK/run2.jsonl"
cases "$WORK/run2.jsonl" ok > "$WORK/ok2"
cases "$WORK/run2.jsonl" skipped > "$WORK/skipped2"
grep -vx "$redo" "$WORK/ok1" > "$WORK/kept1"
# Exactly once: the rerun skips what the first run finished and redoes all the rest.
cmp -s "$WORK/skipped2" "$WORK/kept1" || fail "rerun skipped $(tr '\n' ' ' < "$WORK/skipped2"), expected $(tr '\n' ' ' < "$WORK/kept1")"
[ "$(sort -u "$WORK/kept1" "$WORK/ok2" | wc -l)" = 8 ] && [ "$(cat "$WORK/kept1" "$WORK/ok2" | wc -l)" = 8 ] ||
  fail "cases not done exactly once: first run $(tr '\n' ' ' < "$WORK/kept1"), rerun $(tr '\n' ' ' < "$WORK/ok2")"
grep -qx "$redo" "$WORK/ok2" || fail "the case with a report but no label map was not redone"
expect_stderr "$(wc -l < "$WORK/ok2" | tr -d ' ') done, $(wc -l < "$WORK/kept1" | tr -d ' ') skipped, 0 failed"
no_partial_files "$out"

# Every output complete: 8 readable label maps on their image's grid, 8 reports that parse.
for image in "$WORK"/ds/imagesTr/*.nii.gz; do
  name=$(basename "$image" _0000.nii.gz)
  expect_same_image "$image" "$out/$name.nii.gz" --abs 1e9
  [ "$(json_get "$out/$name.json" case)" = "$name" ] || fail "report of $name is incomplete"
done
[ "$(find "$out" -name '*.nii.gz' | wc -l)" = 8 ] || fail "expected 8 label maps"

expect_exit 0 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$out" --json
[ "$(grep -Ec '"status": *"skipped"' "$WORK/stdout")" = 8 ] || fail "a third run redid cases"
expect_stderr "0 done, 8 skipped, 0 failed"
