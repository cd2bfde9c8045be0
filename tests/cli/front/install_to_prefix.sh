# `cmake --install` to a prefix gives a working suite on PATH: the front finds the installed
# voxseg-<verb> programs, and the shipped models and pipelines land in share/voxseg.
source "$(dirname "$0")/../lib.sh"
build=$(dirname "$VOXSEG_BIN")
prefix=$WORK/prefix
cmake --install "$build" --prefix "$prefix" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "cmake --install failed"; }
[ -x "$prefix/bin/voxseg" ] || fail "no bin/voxseg in the prefix"
[ -f "$prefix/share/voxseg/models/ct-abdomen-small/model.json" ] || fail "model bundles not in share/voxseg/models"
[ -x "$prefix/share/voxseg/pipelines/batch_predict.sh" ] || fail "pipelines not installed (executable) in share/voxseg/pipelines"
[ -f "$prefix/share/doc/voxseg/predict.md" ] || fail "docs not in share/doc/voxseg"

# Only the prefix on PATH (not the build tree), and run from elsewhere.
cd "$WORK"
export PATH="$prefix/bin:/usr/bin:/bin"
expect_exit 0 voxseg --version
expect_stdout "^voxseg [0-9]+\.[0-9]+\.[0-9]+ "
expect_exit 0 voxseg --help
for program in "$prefix"/bin/voxseg-*; do  # every installed program is listed as installed
  verb=${program##*/voxseg-}
  grep -Eq "^  $verb +.*[^)]$" "$WORK/stdout" || { cat "$WORK/stdout" >&2; fail "voxseg --help does not list $verb as installed"; }
done
expect_exit 0 voxseg info "$FIXTURES/ct/image.nii.gz"
# The pipeline that failed with "voxseg: command not found" before there was an install step.
models=$prefix/share/voxseg/models
expect_exit 0 "$prefix/share/voxseg/pipelines/batch_predict.sh" "$models/ct-abdomen-small" "$FIXTURES/ct/image.nii.gz" "$WORK/out" --disable-tta
[ "$(json_get "$WORK/out/results.jsonl" status)" = ok ] || { cat "$WORK/out/results.jsonl" >&2; fail "batch_predict.sh did not segment the case"; }
[ -f "$WORK/out/image.nii.gz" ] || fail "no labels written by the installed voxseg-predict"
# The case's report and --json name the BLAS and oneDNN ISA the run used (docs/performance.md).
json_get "$WORK/out/image.json" runtime.blas | grep -Eq '^[a-z-]+ .*/libblas\.so' || fail "no runtime.blas in image.json"
[ -n "$(json_get "$WORK/out/image.json" runtime.onednn_isa)" ] || fail "no runtime.onednn_isa in image.json"
[ -n "$(json_get "$WORK/out/results.jsonl" runtime.threads)" ] || fail "no runtime in predict --json"
