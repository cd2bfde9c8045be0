# Outputs that cannot be written fail with exit 5 and one line: a missing folder, an unknown
# extension; an unreadable input is exit 3; --help lists every flag.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import sys,numpy as np,nibabel as nib
nib.Nifti1Image(np.zeros((3,4,5), np.uint8), np.eye(4)).to_filename(sys.argv[1]+"/in.nii.gz")' "$WORK"
expect_exit 5 voxseg convert "$WORK/in.nii.gz" "$WORK/no/such/dir/out.nii.gz"
expect_one_line_error
expect_stderr "folder '.*no/such/dir' does not exist"
expect_exit 5 voxseg convert "$WORK/in.nii.gz" "$WORK/no/such/series/"
expect_one_line_error
expect_exit 5 voxseg convert "$WORK/in.nii.gz" "$WORK/out.png"
expect_one_line_error
expect_stderr "unknown extension"
expect_exit 3 voxseg convert "$WORK/missing.nii.gz" "$WORK/out.nii.gz"
expect_one_line_error
[ -z "$(ls "$WORK" | grep -v -x -e in.nii.gz -e stdout -e stderr)" ] || fail "something was written: $(ls "$WORK")"
expect_exit 0 voxseg convert --help
for flag in --series --to --dtype --modality --uid-seed --series-description --patient-id --force --json; do
  expect_stdout -- "$flag"
done
expect_exit 2 voxseg convert --dtype uint64 "$WORK/in.nii.gz" "$WORK/o.nii.gz"
