# Batch mode with predict's conventions: two shards cover every case exactly once, --labels DIR pairs
# each case with DIR/<case>.nii.gz, a case without its label map fails alone (a failed JSON line, exit
# 8, "N done, M skipped, K failed"), a rerun skips the cases done, a batch case equals the same case
# refined on its own, and two inputs with one case name are refused before any work.
source "$(dirname "$0")/../lib.sh"
tools="$VOXSEG_SOURCE/tests/tools"
[ -f "$tools/make_sam_fixture.py" ] || skip "tests/tools/make_sam_fixture.py (the SAM reference network) is missing"
/usr/bin/python3 -c 'import torch' 2>/dev/null || skip "/usr/bin/python3 needs torch"
cd "$WORK"
/usr/bin/python3 "$tools/make_sam_fixture.py" fx --preset tiny --seed 5 --weights-only >/dev/null
voxseg phantom --kind ct-abdomen --seed 1 --size 32,32,8 --count 5 -o ds >/dev/null || fail "phantom"
mkdir imgs labels
for k in 1 2 3 4 5; do
  cp ds/imagesTr/ct-abdomen_00${k}_0000.nii.gz imgs/case$k.nii.gz
  [ $k = 5 ] || cp ds/labelsTr/ct-abdomen_00$k.nii.gz labels/case$k.nii.gz   # case5 has no label map
done
ls "$PWD"/imgs/*.nii.gz | sort -r > list.txt   # reversed: the order must not matter
refine() { voxseg refine --sam fx/weights.pth --labels labels --margin 2 --threads 1 --json "$@"; }
with_status() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["status"] == sys.argv[2]: print(j["case"])' "$1" "$2" | sort | tr '\n' ' '; }

# Sorted names case1..case5: shard 1/2 = case1, case3, case5 (no label map: fails alone); 2/2 = case2, case4.
expect_exit 8 refine - -o out --shard 1/2 < list.txt
[ "$(with_status stdout ok)" = "case1 case3 " ] || fail "shard 1/2 did: $(with_status stdout ok)"
[ "$(with_status stdout failed)" = "case5 " ] || fail "shard 1/2: case5 should have failed"
expect_stdout '"error": *"--labels .*case5'
expect_stderr "2 done, 0 skipped, 1 failed"
expect_exit 0 refine - -o out --shard 2/2 < list.txt
[ "$(with_status stdout ok)" = "case2 case4 " ] || fail "shard 2/2 did: $(with_status stdout ok)"
[ "$(ls out | tr '\n' ' ')" = "case1.nii.gz case2.nii.gz case3.nii.gz case4.nii.gz " ] || fail "outputs: $(ls out)"
no_partial_files out

# A rerun over the folder skips the cases done; with case5's label map it is done too.
expect_exit 8 refine imgs -o out
expect_stderr "0 done, 4 skipped, 1 failed"
cp ds/labelsTr/ct-abdomen_005.nii.gz labels/case5.nii.gz
expect_exit 0 refine imgs -o out
expect_stderr "1 done, 4 skipped, 0 failed"
[ "$(with_status stdout skipped)" = "case1 case2 case3 case4 " ] || fail "rerun: $(with_status stdout skipped)"

# A case of the batch is the case refined on its own (single mode: -i FILE --labels FILE -o FILE).
expect_exit 0 voxseg refine --sam fx/weights.pth -i imgs/case3.nii.gz --labels labels/case3.nii.gz --margin 2 \
  --threads 1 -o single.nii.gz
expect_same_image single.nii.gz out/case3.nii.gz

# Before any work: name collisions (exit 2, listing them), --labels FILE in a batch (2), a file as
# the batch's output (2), an output extension without its dot (2).
mkdir -p p1 p2 && cp imgs/case1.nii.gz p1/ct.nii.gz && cp imgs/case2.nii.gz p2/ct.nii.gz
expect_exit 2 refine p1/ct.nii.gz p2/ct.nii.gz -o coll
expect_one_line_error
expect_stderr "'ct' \(.*p1/ct.nii.gz, .*p2/ct.nii.gz\).*--names path"
[ ! -e coll ] || [ -z "$(ls coll)" ] || fail "collision: something was written"
# --names path: cases p1/ct and p2/ct, their label maps lbl/p1/ct.nii.gz and lbl/p2/ct.nii.gz.
mkdir -p lbl/p1 lbl/p2 && cp labels/case1.nii.gz lbl/p1/ct.nii.gz && cp labels/case2.nii.gz lbl/p2/ct.nii.gz
expect_exit 0 voxseg refine --sam fx/weights.pth p1/ct.nii.gz p2/ct.nii.gz --labels lbl --margin 2 --threads 1 \
  --names path -o coll
expect_same_image coll/p1/ct.nii.gz out/case1.nii.gz
expect_same_image coll/p2/ct.nii.gz out/case2.nii.gz
expect_exit 2 voxseg refine --sam fx/weights.pth imgs --labels labels/case1.nii.gz -o out2
expect_stderr "give a folder of label maps"
expect_exit 2 voxseg refine --sam fx/weights.pth imgs --labels labels -o one.nii.gz
expect_exit 2 voxseg refine --sam fx/weights.pth imgs --labels labels -o out2 --ext nrrd
expect_exit 4 voxseg refine --sam labels/case1.nii.gz imgs --labels labels -o out3
[ -z "$(ls out3 2>/dev/null)" ] || fail "a bad checkpoint still wrote outputs"
