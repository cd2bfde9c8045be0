# --shard I/N: N independent jobs cover the case list exactly once (disjoint, sizes differ by at most
# one), by the documented rule (names sorted, the k-th to shard k mod N + 1), whatever order the list
# comes in; a bad shard is a usage error.
source "$(dirname "$0")/../lib.sh"
model="$VOXSEG_SOURCE/models/ct-abdomen-small"
voxseg phantom --kind ct-abdomen --seed 1 --size 24,24,10 --count 5 -o "$WORK/ds" >/dev/null || fail "phantom"
ls "$WORK"/ds/imagesTr/*.nii.gz | sort -r > "$WORK/list.txt"   # reversed: order must not matter
cases() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j.get("status") == "ok": print(j["case"])' "$1" | sort; }

for i in 1 2 3; do
  expect_exit 0 voxseg predict -m "$model" - -o "$WORK/out" --shard "$i/3" --json --threads 1 --disable-tta < "$WORK/list.txt"
  cases "$WORK/stdout" > "$WORK/shard$i"
done
# The rule: sorted names ct-abdomen_001..005; shard 1 = 1st, 4th; shard 2 = 2nd, 5th; shard 3 = 3rd.
[ "$(tr '\n' ' ' < "$WORK/shard1")" = "ct-abdomen_001 ct-abdomen_004 " ] || fail "shard 1/3: $(cat "$WORK/shard1")"
[ "$(tr '\n' ' ' < "$WORK/shard2")" = "ct-abdomen_002 ct-abdomen_005 " ] || fail "shard 2/3: $(cat "$WORK/shard2")"
[ "$(tr '\n' ' ' < "$WORK/shard3")" = "ct-abdomen_003 " ] || fail "shard 3/3: $(cat "$WORK/shard3")"
[ "$(cat "$WORK"/shard? | sort -u | wc -l)" = 5 ] && [ "$(cat "$WORK"/shard? | wc -l)" = 5 ] || fail "shards overlap or miss cases"
[ "$(find "$WORK/out" -name '*.nii.gz' | wc -l)" = 5 ] || fail "expected 5 label maps"

# More shards than cases: an empty shard is fine (exit 0, nothing to do).
expect_exit 0 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out" --shard 7/7 --json
[ ! -s "$WORK/stdout" ] || fail "shard 7/7 of 5 cases ran something"

expect_exit 2 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out" --shard 0/3
expect_one_line_error
expect_stderr "count from 1"
expect_exit 2 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out" --shard 4/3
expect_exit 2 voxseg predict -m "$model" "$WORK/ds/imagesTr" -o "$WORK/out" --shard 2
expect_one_line_error
