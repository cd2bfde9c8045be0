# --help exits 0 with examples and every option; usage errors exit 2; missing inputs exit 3 with a one-line error.
source "$(dirname "$0")/../lib.sh"
expect_exit 0 voxseg eval --help
for flag in --pred --ref --pairs --image --labels --regions --label-table --instances --tolerance --tolerances \
            --hd95 --surface --no-surface --resample-pred --csv --output-json --report --json --force --threads; do
  expect_stdout "$flag"
done
expect_stdout "Examples:"
expect_exit 2 voxseg eval --hd95 median -p a -r b
expect_exit 2 voxseg eval -p only_pred.nii.gz
expect_stderr "give -p PRED and -r REF"
expect_exit 3 voxseg eval -p "$WORK/nope.nii.gz" -r "$WORK/nope2.nii.gz"
expect_one_line_error
expect_stderr "nope.nii.gz"
