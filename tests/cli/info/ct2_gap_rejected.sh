# pydicom's CT2 series (z = -99.48, 103.02, 104.27, 105.52) has missing slices: rejected with exit 3
# and a one-line message naming the gap, not silently read with a wrong spacing.
source "$(dirname "$0")/../lib.sh"
dir=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/77654033/CT2
[ -d "$dir" ] || skip "python3-pydicom test files not installed"
expect_exit 3 voxseg info "$dir"
expect_one_line_error
expect_stderr "missing slice\(s\).*202\.5 mm.*1\.25 mm"
expect_exit 3 voxseg convert "$dir" "$WORK/ct2.nii.gz"
[ ! -e "$WORK/ct2.nii.gz" ] || fail "an output was written for a rejected series"
no_partial_files "$WORK"
