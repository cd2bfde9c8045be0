# --check-only lists every broken case on its own line (geometry, undeclared label, missing channel) and exits 3; a clean dataset exits 0.
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-phantom" ] || skip "voxseg-phantom not built"
/usr/bin/python3 -c 'import nibabel' 2>/dev/null || skip "python3-nibabel not installed"
d="$WORK/ds"
voxseg-phantom --kind ct-abdomen --count 4 --seed 11 --size 24,24,12 -o "$d" 2>/dev/null || fail "phantom failed"
expect_exit 0 voxseg-train --check-only "$d"
expect_stdout "4 cases, 0 problem"
/usr/bin/python3 - "$d" <<'PY'
import sys, nibabel as nib, numpy as np, os
d = sys.argv[1]
# case 11: label spacing differs; case 12: undeclared label 9; case 13: missing image
img = nib.load(f"{d}/labelsTr/ct-abdomen_011.nii.gz"); z = img.header.get_zooms()
a = np.asanyarray(img.dataobj); aff = img.affine.copy(); aff[0, 0] *= 2
nib.save(nib.Nifti1Image(a, aff), f"{d}/labelsTr/ct-abdomen_011.nii.gz")
img = nib.load(f"{d}/labelsTr/ct-abdomen_012.nii.gz"); a = np.asanyarray(img.dataobj).copy(); a[0, 0, 0] = 9
nib.save(nib.Nifti1Image(a, img.affine, img.header), f"{d}/labelsTr/ct-abdomen_012.nii.gz")
os.remove(f"{d}/imagesTr/ct-abdomen_013_0000.nii.gz")
PY
expect_exit 3 voxseg-train --check-only "$d"
expect_stdout "^ct-abdomen_011: label geometry differs"
expect_stdout "^ct-abdomen_012: label values not declared in dataset.json: 9"
expect_stdout "^ct-abdomen_013: image .* is missing"
grep -q "^ct-abdomen_010" "$WORK/stdout" && fail "the clean case was reported"
[ "$(grep -c '^ct-abdomen_01[123]:' "$WORK/stdout")" = 3 ] || fail "expected exactly one line per broken case"
# training refuses the same dataset before doing any work, naming the cases on stderr
expect_exit 3 voxseg-train run "$d" -o "$WORK/out"
expect_stderr "ct-abdomen_012: label values not declared"
expect_stderr "3 problem\(s\) in 3 of 4 cases"
[ ! -e "$WORK/out/weights.pt" ] || fail "weights written for an invalid dataset"
