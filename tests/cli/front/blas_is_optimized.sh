# scripts/setup.sh leaves an optimized BLAS selected (not Debian's reference libblas3, ~40x slower
# matmul), the programs report the BLAS they load, and predict warns in one line when it is the reference.
source "$(dirname "$0")/../lib.sh"
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
selected=$(readlink -f "/usr/lib/$multiarch/libblas.so.3") || fail "no libblas.so.3 selected"
case "$selected" in
  */blas/*) fail "libblas.so.3 is the reference BLAS ($selected); run scripts/setup.sh (installs and selects libopenblas0-pthread)" ;;
esac

# What the programs actually load (dladdr on sgemm_), in --version -v and version --json.
expect_exit 0 voxseg --version -v
expect_stdout "^BLAS: [a-z]"
expect_stdout "^oneDNN: [0-9]+\.[0-9]+\.[0-9]+, ISA [a-z0-9_]+"
grep -q "^BLAS: .*($selected)" "$WORK/stdout" || { cat "$WORK/stdout" >&2; fail "voxseg --version -v does not name $selected"; }
grep -q "^BLAS: reference" "$WORK/stdout" && fail "the programs load the reference BLAS"
expect_exit 0 voxseg-predict --version -v
expect_stdout "^BLAS: .*$selected"
expect_exit 0 voxseg version --json
[ "$(json_get "$WORK/stdout" runtime.blas)" != "" ] || fail "version --json has no runtime.blas"
expect_exit 0 voxseg --version
grep -q "^BLAS" "$WORK/stdout" && fail "--version without -v should stay one line"

# Forcing the reference BLAS in: predict warns once (one line), then goes on to its own checks.
reference=/usr/lib/$multiarch/blas/libblas.so.3
[ -e "$reference" ] || skip "the reference BLAS ($reference) is not installed, so its warning cannot be checked"
mkdir "$WORK/in"
LD_PRELOAD=$reference expect_exit 4 voxseg predict -m "$WORK/no-model" "$WORK/in" -o "$WORK/out"
expect_stderr "warning: the reference BLAS .*blas/libblas.so.3.* is loaded"
[ "$(grep -c 'reference BLAS' "$WORK/stderr")" = 1 ] || fail "expected one warning line"
expect_exit 4 voxseg predict -m "$WORK/no-model" "$WORK/in" -o "$WORK/out"
grep -q "reference BLAS" "$WORK/stderr" && fail "warned without the reference BLAS"
exit 0
