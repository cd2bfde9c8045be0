# A missing path in a stdin list or an argument list fails that case only: a {"status": "failed",
# "error": ...} JSON line, the other cases done, exit 8 and a summary line. A single missing input
# prints its failed line too (exit 3).
source "$(dirname "$0")/../lib.sh"
model="$VOXSEG_SOURCE/models/ct-abdomen-small"
voxseg phantom --kind ct-abdomen --seed 1 --size 24,24,10 --count 2 -o "$WORK/ds" >/dev/null || fail "phantom"
a="$WORK/ds/imagesTr/ct-abdomen_001_0000.nii.gz"; b="$WORK/ds/imagesTr/ct-abdomen_002_0000.nii.gz"
printf '%s\n%s\n%s\n' "$a" "$WORK/gone/missing.nii.gz" "$b" > "$WORK/list.txt"

expect_exit 8 voxseg predict -m "$model" - -o "$WORK/out" --json --threads 1 --disable-tta < "$WORK/list.txt"
[ "$(grep -c . "$WORK/stdout")" = 3 ] || fail "expected one JSON line per case"
[ "$(grep -Ec '"status": *"ok"' "$WORK/stdout")" = 2 ] || fail "the other cases were not done"
/usr/bin/python3 - "$WORK/stdout" <<'PY' || fail "the failed line is wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
failed = [l for l in lines if l["status"] == "failed"]
assert len(failed) == 1, lines
f = failed[0]
assert f["case"] == "missing" and f["exit_code"] == 3 and "missing.nii.gz" in f["error"], f
assert [l["case"] for l in lines] == ["ct-abdomen_001", "missing", "ct-abdomen_002"], lines
PY
expect_stderr "error: cannot read '.*missing.nii.gz'"
expect_stderr "2 done, 0 skipped, 1 failed"
[ -f "$WORK/out/ct-abdomen_001.nii.gz" ] && [ -f "$WORK/out/ct-abdomen_002.nii.gz" ] || fail "outputs missing"

# The same in an argument list (the finished cases are skipped now).
expect_exit 8 voxseg predict -m "$model" "$a" "$WORK/nothing-here" "$b" -o "$WORK/out" --json
expect_stdout '"case": *"nothing-here".*"status": *"failed"|"status": *"failed".*"case": *"nothing-here"'
expect_stderr "0 done, 2 skipped, 1 failed"

# One missing input with --json: the failed line on stdout, the case's exit code.
expect_exit 3 voxseg predict -m "$model" "$WORK/gone.nii.gz" -o "$WORK/one.nii.gz" --json
expect_stdout '"status": *"failed"'
expect_stdout '"error": *"cannot read'
expect_one_line_error
