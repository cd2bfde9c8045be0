# An existing output is refused with exit 5 before any work and left unchanged; --force rewrites it.
source "$(dirname "$0")/../lib.sh"
out="$WORK/case"
expect_exit 0 voxseg phantom --kind ct-abdomen --seed 1 --size 32,32,12 -o "$out"
before=$(cat "$out"/* | sha256sum)
expect_exit 5 voxseg phantom --kind ct-abdomen --seed 2 --size 32,32,12 -o "$out"
expect_one_line_error
expect_stderr "already exists.*--force"
[ "$(cat "$out"/* | sha256sum)" = "$before" ] || fail "refused run modified the outputs"
expect_exit 0 voxseg phantom --kind ct-abdomen --seed 2 --size 32,32,12 -o "$out" --force
[ "$(cat "$out"/* | sha256sum)" != "$before" ] || fail "--force did not rewrite the outputs"
[ "$(json_get "$out/phantom.json" seed)" = 2 ] || fail "phantom.json not rewritten"
# A dataset refuses as soon as one of its files exists.
expect_exit 0 voxseg phantom --kind cells --seed 5 --count 2 --size 32,32,12 -o "$WORK/ds"
rm "$WORK/ds/dataset.json"
expect_exit 5 voxseg phantom --kind cells --seed 5 --count 2 --size 32,32,12 -o "$WORK/ds"
[ ! -e "$WORK/ds/dataset.json" ] || fail "refused dataset run wrote dataset.json"
no_partial_files "$WORK"
# An output folder that cannot be created is exit 5 too, not an internal error.
touch "$WORK/plainfile"
expect_exit 5 voxseg phantom --kind cells --seed 1 --size 16,16,8 -o "$WORK/plainfile/sub"
expect_one_line_error
