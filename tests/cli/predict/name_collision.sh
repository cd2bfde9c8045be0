# Two inputs with one file name in different folders (p1/ct.nii.gz, p2/ct.nii.gz) are refused before
# any work (exit 2, both paths listed, nothing written); --names path names them p1/ct and p2/ct.
source "$(dirname "$0")/../lib.sh"
model="$VOXSEG_SOURCE/models/ct-abdomen-small"
voxseg phantom --kind ct-abdomen --seed 1 --size 24,24,10 --count 2 -o "$WORK/ds" >/dev/null || fail "phantom"
mkdir -p "$WORK/in/p1" "$WORK/in/p2"
cp "$WORK/ds/imagesTr/ct-abdomen_001_0000.nii.gz" "$WORK/in/p1/ct.nii.gz"
cp "$WORK/ds/imagesTr/ct-abdomen_002_0000.nii.gz" "$WORK/in/p2/ct.nii.gz"

# Checked before the model is loaded: a missing model would be exit 4.
expect_exit 2 voxseg predict -m "$WORK/no-model" "$WORK/in/p1/ct.nii.gz" "$WORK/in/p2/ct.nii.gz" -o "$WORK/out"
expect_one_line_error
expect_stderr "'ct' \(.*p1/ct.nii.gz, .*p2/ct.nii.gz\)"
expect_stderr "--names path"
# The same from a list on stdin, with the real model: still refused, nothing written.
find "$WORK/in" -name ct.nii.gz | sort > "$WORK/list.txt"
expect_exit 2 voxseg predict -m "$model" - -o "$WORK/out" --json < "$WORK/list.txt"
expect_one_line_error
[ ! -s "$WORK/stdout" ] || fail "stdout is not empty after a refused list"
! find "$WORK/out" -name '*.nii.gz' | grep -q . || fail "a label map was written for a refused list"

# --names path: outputs from the path below the inputs' common folder, in sub-folders.
expect_exit 0 voxseg predict -m "$model" --names path - -o "$WORK/out" --json --threads 1 --disable-tta < "$WORK/list.txt"
[ -f "$WORK/out/p1/ct.nii.gz" ] && [ -f "$WORK/out/p2/ct.nii.gz" ] || fail "outputs not named p1/ct, p2/ct"
[ -f "$WORK/out/p1/ct.json" ] && [ -f "$WORK/out/p2/ct.json" ] || fail "reports not beside their label maps"
expect_stdout '"case": *"p1/ct"'
expect_stdout '"case": *"p2/ct"'
[ "$(grep -Ec '"status": *"ok"' "$WORK/stdout")" = 2 ] || fail "expected two ok cases"
# Each label map has its own input's grid (geometry compared, values not: --abs huge).
expect_same_image "$WORK/in/p1/ct.nii.gz" "$WORK/out/p1/ct.nii.gz" --abs 1e9
expect_same_image "$WORK/in/p2/ct.nii.gz" "$WORK/out/p2/ct.nii.gz" --abs 1e9

# The same file name with two extensions in one folder collides even with --names path.
cp "$WORK/in/p1/ct.nii.gz" "$WORK/in/p1/ct.nii"
expect_exit 2 voxseg predict -m "$model" --names path "$WORK/in/p1" -o "$WORK/out2"
expect_stderr "rename or remove"
