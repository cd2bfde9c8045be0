# Without a terminal a batch prints one line per finished case at the default verbosity ("case i/N
# NAME: ok in ..., elapsed ..., ETA ...") and a summary; -q prints none. On a terminal (script(1)) the
# bar shows "case i/N".
source "$(dirname "$0")/../lib.sh"
model="$VOXSEG_SOURCE/models/ct-abdomen-small"
voxseg phantom --kind ct-abdomen --seed 1 --size 24,24,10 --count 3 -o "$WORK/ds" >/dev/null || fail "phantom"

expect_exit 0 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out" --threads 1 --disable-tta
for i in 1 2 3; do
  expect_stderr "^voxseg-predict: case $i/3 ct-abdomen_00$i: ok in [0-9.:]+( s)?, elapsed [0-9.:]+( s)?"
done
expect_stderr "^voxseg-predict: case 1/3 .*, ETA [0-9.:]+"
expect_stderr "^voxseg-predict: 3 done, 0 skipped, 0 failed \(3 cases in "
[ "$(grep -c . "$WORK/stderr")" = 4 ] || { cat "$WORK/stderr" >&2; fail "expected 4 stderr lines"; }

expect_exit 0 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out"
expect_stderr "^voxseg-predict: case 2/3 ct-abdomen_002: skipped \(exists\)"
expect_stderr "0 done, 3 skipped, 0 failed"

expect_exit 0 voxseg predict -q -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out"
[ ! -s "$WORK/stderr" ] || fail "-q printed progress"

if command -v script >/dev/null; then
  rm -rf "$WORK/out"
  script -qec "voxseg predict -m '$model' '$WORK/ds/imagesTr' -o '$WORK/out' --threads 1 --disable-tta" \
    "$WORK/tty.log" >/dev/null 2>&1 || fail "the run on a terminal failed"
  grep -aq "case 2/3 (" "$WORK/tty.log" || { cat -v "$WORK/tty.log" >&2; fail "no 'case i/N' on the terminal"; }
  grep -aq "ETA" "$WORK/tty.log" || fail "no ETA on the terminal"
else
  echo "note: script(1) is not installed; the terminal display is not checked" >&2
fi
