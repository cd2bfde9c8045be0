# Unknown kinds, malformed or out-of-range sizes and counts are usage errors (exit 2, one line) and write nothing.
source "$(dirname "$0")/../lib.sh"
expect_exit 2 voxseg phantom --kind pet --seed 1 -o "$WORK/a"
expect_one_line_error
expect_stderr "unknown phantom kind 'pet'"
expect_exit 2 voxseg phantom --kind ct-abdomen --size 64,64 -o "$WORK/a"
expect_exit 2 voxseg phantom --kind ct-abdomen --size 4,64,64 -o "$WORK/a"
expect_stderr "out of range"
expect_exit 2 voxseg phantom --kind ct-abdomen --spacing 1,0,1 -o "$WORK/a"
expect_exit 2 voxseg phantom --kind cells --count 0 -o "$WORK/a"
expect_exit 2 voxseg phantom --kind ct-abdomen
[ ! -e "$WORK/a" ] || fail "a usage error created the output folder"
expect_exit 0 voxseg phantom --help
for flag in --kind --seed --output --size --spacing --objects --count --force; do expect_stdout -- "$flag"; done
