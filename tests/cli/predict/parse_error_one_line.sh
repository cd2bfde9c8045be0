# A command-line error is one line "voxseg-<verb>: error: ..." with a pointer to --help, exit 2.
source "$(dirname "$0")/../lib.sh"
expect_exit 2 voxseg predict --bogus -o out in.nii.gz
expect_one_line_error
expect_stderr "bogus.*--help"
expect_exit 2 voxseg predict -m m in.nii.gz
expect_one_line_error
expect_stderr "output.*required"
expect_exit 2 voxseg-eval -p a -r b --hd95 median
expect_one_line_error
expect_stderr "^voxseg-eval: error: .*median.*see 'voxseg-eval --help'"
expect_exit 0 voxseg predict --help
expect_stdout "--shard"
