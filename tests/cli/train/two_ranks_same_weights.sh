# Two processes on 127.0.0.1 train together (Gloo): both finish, only rank 0 writes the bundle and logs, the
# final weights are bit-identical on both ranks and differ from a one-process run (rank 1's batches count).
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-phantom" ] || skip "voxseg-phantom not built"
require_gloo
d="$WORK/ds"
voxseg-phantom --kind ct-abdomen --count 4 --seed 300 --size 32,32,16 -o "$d" 2>/dev/null || fail "phantom failed"
port=$(free_port)
opts=(--folds 2 --fold 0 --epochs 2 --iterations 4 --base-features 4 --max-features 16 --max-stages 3 --memory-gb 0.2
      --seed 7 --threads 1 --json --dist-timeout 120)
# Separate output folders, as on two nodes without a shared file system: rank 1 must write nothing but its cache.
voxseg-train run "$d" -o "$WORK/r0" "${opts[@]}" --world-size 2 --rank 0 --master-port "$port" >"$WORK/r0.json" 2>"$WORK/r0.err" &
p0=$!
WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
  voxseg-train run "$d" -o "$WORK/r1" "${opts[@]}" >"$WORK/r1.json" 2>"$WORK/r1.err" &   # ranks from the environment
p1=$!
rc0=0; wait $p0 || rc0=$?
rc1=0; wait $p1 || rc1=$?
[ "$rc0" = 0 ] && [ "$rc1" = 0 ] || { cat "$WORK"/r?.err >&2; fail "ranks exited $rc0 and $rc1"; }
for f in model.json weights.pt checkpoint_latest.pt training_log.csv training_log.json; do
  [ -s "$WORK/r0/$f" ] || fail "rank 0 did not write $f"
  [ ! -e "$WORK/r1/$f" ] || fail "rank 1 wrote $f"
done
no_partial_files "$WORK/r0"
sha0=$(json_get "$WORK/r0.json" parameters_sha256); sha1=$(json_get "$WORK/r1.json" parameters_sha256)
[ "$(json_get "$WORK/r1.json" rank)" = 1 ] && [ "$(json_get "$WORK/r0.json" world_size)" = 2 ] || fail "rank/world size not reported"
[ ${#sha0} = 64 ] || fail "no parameter checksum from rank 0"
[ "$sha0" = "$sha1" ] || fail "weights differ across ranks: $sha0 vs $sha1"
/usr/bin/python3 - "$WORK/r0" <<'PY' || fail "logs of the two-rank run are wrong"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/training_log.csv")))
assert len(rows) == 2, rows
for r in rows:
    assert 0 <= float(r["data_wait_fraction"]) < 1, r
    assert 0 < float(r["allreduce_fraction"]) < 1, r
assert rows[-1]["dice_liver"] != "", rows[-1]  # validation shared by both ranks, reported by rank 0
m = json.load(open(sys.argv[1] + "/model.json"))
assert m["training"]["options"]["world_size"] == 2
PY
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then  # the bundle on disk holds exactly those weights
  /usr/bin/python3 - "$WORK/r0/weights.pt" "$sha0" <<'PY' || fail "weights.pt does not match rank 0's checksum"
import hashlib, sys, torch
m = torch.jit.load(sys.argv[1])
h = hashlib.sha256(b"".join(p.detach().contiguous().numpy().tobytes() for p in m.parameters())).hexdigest()
assert h == sys.argv[2], (h, sys.argv[2])
PY
fi
# One process with the same seed: different weights, so rank 1's gradients did reach rank 0.
expect_exit 0 voxseg-train run "$d" -o "$WORK/single" "${opts[@]}"
[ "$(json_get "$WORK/stdout" parameters_sha256)" != "$sha0" ] || fail "two ranks trained exactly like one process"
[ "$(json_get "$WORK/stdout" world_size)" = 1 ] || fail "a plain run is not world size 1"
