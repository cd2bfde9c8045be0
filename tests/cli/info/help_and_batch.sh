# --help exits 0 and lists every flag; several inputs give one JSON line each; '-' reads paths from
# stdin; a failed case (also a missing path) gives exit 8 while the others are reported.
source "$(dirname "$0")/../lib.sh"
expect_exit 0 voxseg info --help
for flag in --series --labels --max-auto-labels --json --quiet --verbose --threads; do expect_stdout -- "$flag"; done
expect_exit 2 voxseg info
expect_exit 2 voxseg info --no-such-flag x
/usr/bin/python3 -c 'import sys,numpy as np,nibabel as nib
for i in range(3): nib.Nifti1Image(np.full((4,5,6), i, np.int16), np.eye(4)).to_filename(f"{sys.argv[1]}/c{i}.nii.gz")' "$WORK"
expect_exit 0 voxseg info --json "$WORK/c0.nii.gz" "$WORK/c1.nii.gz"
[ "$(grep -c . "$WORK/stdout")" = 2 ] || fail "expected two JSON lines"
ls "$WORK"/c*.nii.gz | voxseg info --json - > "$WORK/out.json" || fail "stdin list failed"
[ "$(grep -c '"case"' "$WORK/out.json")" = 3 ] || fail "expected three cases from stdin"
expect_exit 0 voxseg info --json "$WORK"   # a folder of cases
[ "$(grep -c '"status": "ok"' "$WORK/stdout")" = 3 ] || fail "folder of cases"
echo "not an image, only text that is long enough to be taken for a header" > "$WORK/bad.nii"
expect_exit 8 voxseg info --json "$WORK/c0.nii.gz" "$WORK/bad.nii"
expect_stderr "bad.nii.*not a NIfTI file"
[ "$(grep -c '"status": "failed"' "$WORK/stdout")" = 1 ] || fail "the failed case has no JSON line"
expect_exit 8 voxseg info --json "$WORK/c0.nii.gz" "$WORK/missing.nii.gz"   # a missing path fails its case only
expect_stderr "missing.nii.gz.*no such file"
grep -q '"case": "missing".*"status": "failed"' "$WORK/stdout" || fail "the missing path has no failed JSON line"
grep -q '"case": "c0".*"status": "ok"' "$WORK/stdout" || fail "the other case was not described"
