#!/usr/bin/env bash
# Quick source checks before a commit, the same ones CI runs (ctest -L lint) plus formatting:
#   1. clang-format (.clang-format) on the C++ lines changed since BASE (default: main), committed or
#      not (git clang-format; new files must be git-added); with --all, the whole tree in report mode
#      (counts only, never fails: the tree predates .clang-format);
#   2. tests/lint/check_sources.sh: layering, heavy headers in their corners, thin apps;
#   3. tests/lint/check_duplicates.py: copy-pasted runs of code;
#   4. bash -n on every shell script.
# Usage: scripts/check.sh [--all] [BASE]. Needs no build. Exit 1 if any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
all=0
[ "${1:-}" = "--all" ] && { all=1; shift; }
base=${1:-main}
status=0
export VOXSEG_SOURCE=$PWD

echo "== format"
if ! command -v clang-format >/dev/null; then
  echo "check: clang-format not installed (scripts/setup.sh --tests); format not checked"
elif [ $all = 1 ]; then
  files=0 unformatted=0 lines=0
  for f in $(git ls-files '*.cpp' '*.h' '*.hpp'); do
    files=$((files + 1))
    n=$(clang-format "$f" | diff "$f" - | grep -c '^>')
    [ "$n" -gt 0 ] && { unformatted=$((unformatted + 1)); lines=$((lines + n)); echo "  $f: $n line(s) differ"; }
  done
  echo "check: format (report only): $unformatted of $files files differ from .clang-format, $lines lines"
else
  # Only the lines changed since BASE (committed or not), so untouched legacy code never fails it.
  merge_base=$(git merge-base HEAD "$base" 2>/dev/null || echo HEAD)
  if out=$(git clang-format --diff --extensions cpp,h,hpp "$merge_base" 2>&1) &&
     ! echo "$out" | grep -q '^diff '; then
    echo "check: format ok (lines changed since $base)"
  else
    echo "$out" | head -60
    echo "check: format: changed lines differ from .clang-format; fix with: git clang-format $merge_base"
    status=1
  fi
fi

echo "== lint"
bash tests/lint/check_sources.sh || status=1

echo "== duplicates"
/usr/bin/python3 tests/lint/check_duplicates.py "$PWD" | tail -20
[ "${PIPESTATUS[0]}" = 0 ] || status=1

echo "== shell syntax"
for s in $(git ls-files '*.sh') .ci/run; do
  bash -n "$s" || { echo "  $s: syntax error"; status=1; }
done
[ $status = 0 ] && echo "check: ok" || echo "check: FAILED"
exit $status
