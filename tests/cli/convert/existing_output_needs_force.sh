# An existing output stays byte-identical and the run exits 5 (before reading the input) unless
# --force is given; this holds for files and for DICOM series folders.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import sys,numpy as np,nibabel as nib
nib.Nifti1Image(np.arange(60, dtype=np.int16).reshape(3,4,5), np.eye(4)).to_filename(sys.argv[1]+"/in.nii.gz")' "$WORK"
out="$WORK/out.nrrd"; echo "precious" > "$out"; before=$(sha256sum < "$out")
expect_exit 5 voxseg convert "$WORK/does-not-exist.nii.gz" "$out"   # 5, not 3: checked before reading
expect_one_line_error
expect_stderr "already exists.*--force"
[ "$(sha256sum < "$out")" = "$before" ] || fail "output was modified"
expect_exit 5 voxseg convert "$WORK/in.nii.gz" "$out"
[ "$(sha256sum < "$out")" = "$before" ] || fail "output was modified"
expect_exit 0 voxseg convert --force "$WORK/in.nii.gz" "$out"
expect_same_image "$out" "$WORK/in.nii.gz"
expect_exit 0 voxseg convert "$WORK/in.nii.gz" "$WORK/series/"
sum=$(cat "$WORK"/series/* | sha256sum)
expect_exit 5 voxseg convert "$WORK/in.nii.gz" "$WORK/series/"
expect_stderr "already exists.*--force"
[ "$(cat "$WORK"/series/* | sha256sum)" = "$sum" ] || fail "series was modified"
echo mine > "$WORK/series/notes.txt"
expect_exit 5 voxseg convert --force "$WORK/in.nii.gz" "$WORK/series/"
expect_stderr "not a DICOM file"
[ -f "$WORK/series/notes.txt" ] || fail "a foreign file was deleted"
no_partial_files "$WORK"
