# Output problems are found before the model is loaded (a missing model would be exit 4): --ext without
# its dot (would write DICOM folders) or .dcm is exit 2, an unwritable output folder or a single .dcm
# output exit 5; nothing is written.
source "$(dirname "$0")/../lib.sh"
voxseg phantom --kind ct-abdomen --seed 1 --size 24,24,10 -o "$WORK/ph" >/dev/null || fail "phantom"
in="$WORK/ph/image.nii.gz"; nomodel="$WORK/no-model"

expect_exit 2 voxseg predict -m "$nomodel" "$in" -o "$WORK/out" --ext nrrd
expect_one_line_error
expect_stderr "did you mean '.nrrd'"
expect_exit 2 voxseg predict -m "$nomodel" "$in" -o "$WORK/out" --ext .dcm
expect_one_line_error
expect_stderr "single .dcm"
expect_exit 2 voxseg predict -m "$nomodel" "$in" -o "$WORK/out" --ext .png
expect_stderr "unknown extension"
! find "$WORK/out" -mindepth 1 2>/dev/null | grep -q . || fail "something was written for a refused --ext"

expect_exit 5 voxseg predict -m "$nomodel" "$in" -o "$WORK/one.dcm"
expect_one_line_error
expect_stderr "single .dcm"

# An output folder that cannot be written: read-only for a normal user; as root (who may write
# anywhere) a folder of /proc, where nothing can be created.
if [ "$(id -u)" != 0 ]; then
  mkdir "$WORK/ro"; chmod 555 "$WORK/ro"; ro="$WORK/ro"
else
  ro=/proc/voxseg-test-no-such-folder
fi
expect_exit 5 voxseg predict -m "$nomodel" "$in" -o "$ro"
expect_one_line_error
expect_stderr "output folder '$ro'"
if [ "$(id -u)" != 0 ]; then
  expect_exit 5 voxseg predict -m "$nomodel" "$in" -o "$ro/sub"
fi

# A good --ext passes these checks and only then is the model looked at.
expect_exit 4 voxseg predict -m "$nomodel" "$in" -o "$WORK/out2" --ext .nrrd
