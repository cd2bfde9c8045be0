# eval --shard I/N: the jobs' CSVs together hold every case exactly once (unmatched names are sharded
# with the pairs), by the documented rule (names sorted, the k-th to shard k mod N + 1).
source "$(dirname "$0")/../lib.sh"
cd "$WORK"; mkdir pred ref
/usr/bin/python3 - <<'PY' || skip "python3-nibabel/numpy missing"
import numpy as np, nibabel as nib
for name in ["e", "a", "d", "b", "c"]:
    ref = np.zeros((12, 12, 6), np.uint8); ref[3:9, 3:9, 1:5] = 1
    nib.save(nib.Nifti1Image(ref, np.eye(4)), f"ref/{name}.nii.gz")
    if name != "c": nib.save(nib.Nifti1Image(ref, np.eye(4)), f"pred/{name}.nii.gz")
PY
# Sorted a b c d e: shard 1/2 = a c e (c has no prediction: failed there), shard 2/2 = b d.
expect_exit 8 voxseg eval -p pred -r ref --shard 1/2 --csv s1.csv --json
expect_stdout '"case": *"c".*"status": *"failed"'
expect_stderr "2 done, 0 skipped, 1 failed"
expect_exit 0 voxseg eval -p pred -r ref --shard 2/2 --csv s2.csv --json
! grep -q '"case": *"c"' "$WORK/stdout" || fail "case c reported by both shards"
cut -d, -f1 s1.csv | tail -n +2 | tr '\n' ' ' > s1.txt
cut -d, -f1 s2.csv | tail -n +2 | tr '\n' ' ' > s2.txt
[ "$(cat s1.txt)" = "a e " ] || fail "shard 1/2 scored: $(cat s1.txt)"
[ "$(cat s2.txt)" = "b d " ] || fail "shard 2/2 scored: $(cat s2.txt)"
