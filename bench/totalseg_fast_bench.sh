#!/usr/bin/env bash
# Issue 14's moonshot, end to end through the CLI: a TotalSegmentator --fast-sized job (one nnU-Net
# default 3d_fullres network — PlainConvUNet, 6 stages 32->320, patch 128^3 — at 3 mm, 105 classes,
# no TTA) on a 512x512x300 CT, timed from `voxseg predict`'s start to the written label map, with
# its peak RSS (GNU time). Random weights: the time and memory do not depend on their values.
#
# usage: bench/totalseg_fast_bench.sh [BIN_DIR] [THREADS] [PRECISION...]
#   BIN_DIR    where voxseg-phantom and voxseg-predict are (default build/bin)
#   THREADS    compute threads (default 2)
#   PRECISION  fp32 and/or bf16 (default: bf16 fp32)
# Work files go to ${VOXSEG_BENCH_DIR:-/tmp/voxseg_totalseg_fast_bench} (about 0.3 GB).
set -euo pipefail
bin=${1:-build/bin}
threads=${2:-2}
shift $(($# < 2 ? $# : 2))
precisions=("${@:-bf16}")
[[ $# -eq 0 ]] && precisions=(bf16 fp32)
work=${VOXSEG_BENCH_DIR:-/tmp/voxseg_totalseg_fast_bench}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

if [[ ! -f $work/ct/image.nii.gz ]]; then
  "$bin/voxseg-phantom" --kind ct-abdomen --seed 7 --size 512,512,300 --spacing 0.8,0.8,1.5 -o "$work/ct" --force -q
fi

bundle=$work/bundle
if [[ ! -f $bundle/weights.pth ]]; then
  mkdir -p "$bundle"
  /usr/bin/python3 - "$bundle" <<'EOF'
import json, sys
out = sys.argv[1]
stages = 6
arch = {"type": "unet", "dims": 3, "in_channels": 1, "num_classes": 105,
        "features_per_stage": [32, 64, 128, 256, 320, 320],
        "kernel_sizes": [[3, 3, 3]] * stages,
        "strides": [[1, 1, 1]] + [[2, 2, 2]] * (stages - 1),
        "n_conv_per_stage": [2] * stages, "n_conv_per_stage_decoder": [2] * (stages - 1),
        "conv_bias": True, "norm": "instance", "norm_eps": 1e-5, "norm_affine": True, "negative_slope": 0.01}
json.dump(arch, open(f"{out}/arch.json", "w"))
model = {"schema_version": 1, "name": "totalseg-fast-sized", "dims": 3, "architecture": arch,
         "weights": "weights.pth",
         "channels": [{"name": "CT", "normalization": {"scheme": "ct", "mean": 60.0, "std": 150.0,
                                                        "clip_low": -1000.0, "clip_high": 1500.0}}],
         "labels": [{"id": k, "name": "background" if k == 0 else f"structure_{k}"} for k in range(105)],
         "target_spacing": [3.0, 3.0, 3.0], "patch_size": [128, 128, 128], "crop_to_nonzero": True}
json.dump(model, open(f"{out}/model.json", "w"), indent=1)
EOF
  mkdir -p "$bundle/fixture"
  /usr/bin/python3 "$here/../tests/tools/make_unet_fixture.py" "$bundle/arch.json" "$bundle/fixture" 1 1,1,64,64,64
  mv "$bundle/fixture/weights.pth" "$bundle/weights.pth"
  rm -rf "$bundle/fixture" "$bundle/arch.json"
fi

for precision in "${precisions[@]}"; do
  out=$work/labels_$precision.nii.gz
  /usr/bin/time -f "%e %M" -o "$work/time_$precision.txt" \
    "$bin/voxseg-predict" -m "$bundle" "$work/ct/image.nii.gz" -o "$out" --force --disable-tta \
    --precision "$precision" --threads "$threads" --json >"$work/report_$precision.json"
  read -r wall rss_kb <"$work/time_$precision.txt"
  /usr/bin/python3 - "$work/report_$precision.json" "$precision" "$threads" "$wall" "$rss_kb" <<'EOF'
import json, sys
report = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
t = report.get("timings", {})
print(json.dumps({"bench": "totalseg_fast_bench", "precision": sys.argv[2], "threads": int(sys.argv[3]),
                  "end_to_end_s": float(sys.argv[4]), "peak_rss_mb": round(int(sys.argv[5]) / 1024),
                  "tiles": report.get("tiles"), "network_shape": report.get("network_shape"),
                  "timings": {k: round(v, 2) for k, v in t.items()},
                  "target": "<= 60 s end to end at <= 4096 MB"}))
EOF
done
