# SIGTERM mid-run saves a checkpoint and exits 143; --resume then ends with the same weights as an uninterrupted run (fixed seed and threads).
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-phantom" ] || skip "voxseg-phantom not built"
/usr/bin/python3 -c 'import torch' 2>/dev/null || skip "python3-torch (Debian) not installed: needed to compare weights"
d="$WORK/ds"
voxseg-phantom --kind ct-abdomen --count 3 --seed 300 --size 32,32,16 -o "$d" 2>/dev/null || fail "phantom failed"
opts=(--fold all --epochs 3 --iterations 6 --base-features 4 --max-features 16 --max-stages 3 --memory-gb 0.2 --seed 7 --threads 1)
expect_exit 0 voxseg-train run "$d" -o "$WORK/a" "${opts[@]}"
voxseg-train run "$d" -o "$WORK/b" "${opts[@]}" 2>"$WORK/b.err" & pid=$!
for i in $(seq 600); do [ -e "$WORK/b/checkpoint_latest.pt" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
[ -e "$WORK/b/checkpoint_latest.pt" ] || fail "no checkpoint after the first epoch"
kill -TERM $pid; rc=0; wait $pid || rc=$?
[ "$rc" = 143 ] || { cat "$WORK/b.err" >&2; fail "expected exit 143 after SIGTERM, got $rc"; }
grep -q "checkpoint saved" "$WORK/b.err" || fail "no checkpoint message"
[ ! -e "$WORK/b/weights.pt" ] || fail "an interrupted run wrote the final bundle"
no_partial_files "$WORK/b"
expect_exit 5 voxseg-train run "$d" -o "$WORK/b" "${opts[@]}"
expect_stderr "--resume"
expect_exit 0 voxseg-train run "$d" -o "$WORK/b" "${opts[@]}" --resume
# The archives embed their temporary file name, so compare the tensors, not the bytes.
/usr/bin/python3 - "$WORK/a/weights.pt" "$WORK/b/weights.pt" <<'PY' || fail "resumed weights differ from the uninterrupted run"
import sys, torch
def tensors(p):
    m = torch.jit.load(p); d = dict(m.named_parameters()); d.update(dict(m.named_buffers())); return d
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys() and len(a) > 0
bad = [k for k in a if not torch.equal(a[k], b[k])]
assert not bad, bad[:5]
PY
[ "$(wc -l < "$WORK/b/training_log.csv")" = 4 ] || fail "resumed log should have 3 epochs"
