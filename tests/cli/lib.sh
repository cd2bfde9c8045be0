# Shared helpers for tests/cli/<program>/<case>.sh (sourced). Each test runs in its own $WORK.
set -u
: "${VOXSEG_BIN:?run through ctest}" "${FIXTURES:?run through ctest}"
export PATH="$VOXSEG_BIN:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/voxseg-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TEST_NAME="$(basename "$(dirname "$0")")/$(basename "$0" .sh)"

fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
skip() { echo "SKIP [$TEST_NAME]: $*" >&2; exit 77; }

# expect_exit CODE cmd...: runs cmd, keeps stdout/stderr in $WORK/stdout, $WORK/stderr.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$WORK/stdout" 2>"$WORK/stderr" || got=$?
  if [ "$got" != "$want" ]; then
    echo "--- stdout:" >&2; head -c 4000 "$WORK/stdout" >&2
    echo "--- stderr:" >&2; head -c 4000 "$WORK/stderr" >&2
    fail "expected exit $want, got $got: $*"
  fi
}
# expect_stderr REGEX / expect_stdout REGEX: extended regex somewhere in the captured stream.
expect_stderr() { grep -Eq -- "$1" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "stderr lacks /$1/"; }; }
expect_stdout() { grep -Eq -- "$1" "$WORK/stdout" || { cat "$WORK/stdout" >&2; fail "stdout lacks /$1/"; }; }
# An error is one line: "voxseg-<verb>: error: ..."
expect_one_line_error() {
  local n; n=$(grep -c . "$WORK/stderr")
  [ "$n" = 1 ] || { cat "$WORK/stderr" >&2; fail "expected a one-line error, got $n lines"; }
  expect_stderr "^voxseg-[a-z]+: error: "
}
# expect_same_image A B [diff options]: same geometry exactly, values within tolerance.
expect_same_image() { voxseg-test-diff "$@" >"$WORK/diff.txt" 2>&1 || { cat "$WORK/diff.txt" >&2; fail "images differ: $1 $2"; }; }
# json_get FILE KEY.PATH: prints a value from a JSON file (Debian's python3 is a test-only dependency).
json_get() { /usr/bin/python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$1" "$2"; }
# no_partial_files DIR: nothing half-written left behind.
no_partial_files() { ! find "$1" -name '*.partial-*' | grep -q . || fail "partial files left in $1"; }
# Multi-process training tests: skip (saying why) when this build has no Gloo; a free port on 127.0.0.1.
require_gloo() {
  voxseg-train run "$WORK/none" -o "$WORK/none" --world-size 2 --rank 1 --master-port 9 --dist-timeout 1 2>&1 |
    grep -q "no Gloo backend" && skip "this build has no Gloo (libgloo-dev) for multi-process training"
  return 0
}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The predict tests' fixture: a small scripted bundle in $WORK/model and cases $WORK/cases/<name>.nii.gz
# (names as tests/cli/predict/make_cases.py takes them); skips without Debian's python3-torch.
make_predict_fixture() {
  /usr/bin/python3 -c 'import torch, nibabel' 2>/dev/null ||
    skip "Debian's python3-torch and python3-nibabel are needed to write the test bundle"
  local tools
  tools="$(dirname "${BASH_SOURCE[0]}")/predict"
  mkdir -p "$WORK/model" "$WORK/cases"
  /usr/bin/python3 "$tools/make_bundle.py" "$WORK/model" || fail "cannot write the test bundle"
  /usr/bin/python3 "$tools/make_cases.py" "$WORK/cases" "$@" || fail "cannot write cases"
}
