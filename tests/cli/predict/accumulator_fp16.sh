# --accumulator fp16 (the float16 logits slab) gives the labels of fp32 and is named in the report;
# auto stays fp32 for a small model; an unknown value is a usage error (exit 2) before any work.
source "$(dirname "$0")/../lib.sh"
make_predict_fixture a

expect_exit 0 voxseg predict -m "$WORK/model" "$WORK/cases/a.nii.gz" -o "$WORK/auto.nii.gz"
[ "$(json_get "$WORK/auto.json" accumulator)" = fp32 ] || fail "auto did not keep fp32 for a small model"
expect_exit 0 voxseg predict -m "$WORK/model" "$WORK/cases/a.nii.gz" -o "$WORK/half.nii.gz" --accumulator fp16
[ "$(json_get "$WORK/half.json" accumulator)" = fp16 ] || fail "the report does not name the fp16 accumulator"
/usr/bin/python3 - "$WORK/auto.nii.gz" "$WORK/half.nii.gz" <<'PY' || fail "fp16 labels differ from fp32"
import sys, nibabel as nib
a, b = (nib.load(p).get_fdata() for p in sys.argv[1:3])
agree = (a == b).mean()
assert a.shape == b.shape and agree >= 0.999, agree
PY
expect_exit 2 voxseg predict -m "$WORK/model" "$WORK/cases/a.nii.gz" -o "$WORK/bad.nii.gz" --accumulator int8
expect_stderr "accumulator"
[ ! -e "$WORK/bad.nii.gz" ] || fail "an output was written for a usage error"
