#!/usr/bin/env bash
# Segment thousands of scans from a shell, resumably: cases whose output exists are skipped.
# Usage: pipelines/batch_predict.sh MODEL LIST_OR_FOLDER OUT_DIR [extra predict options]
#   find /data -name '*.nii.gz' | pipelines/batch_predict.sh models/ct-abdomen-small - out/
# Exit status: 0 all done, 8 some cases failed (listed in OUT_DIR/failed.txt), other codes as voxseg's.
set -uo pipefail
model=$1 input=$2 out=$3; shift 3
mkdir -p "$out"
voxseg predict -m "$model" -i "$input" -o "$out" --json "$@" > "$out/results.jsonl"
status=$?
grep '"status": "failed"' "$out/results.jsonl" > "$out/failed.txt" || true
echo "batch: $(grep -c '"status": "ok"' "$out/results.jsonl") done, $(grep -c '"status": "skipped"' "$out/results.jsonl") skipped, $(wc -l < "$out/failed.txt") failed (exit $status)" >&2
exit $status
