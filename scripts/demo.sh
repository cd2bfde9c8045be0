#!/usr/bin/env bash
# The main job on sample_data/: install, build the programs it runs (no tests or benchmarks), then
# segment the sample CT with the shipped model, evaluate against its reference labels and write an
# HTML report. Outputs go to ${OUT:-demo_output}. Prints how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
phases=()
t=$(date +%s)
phase_done() { local now; now=$(date +%s); phases+=("$1 $((now - t)) s"); t=$now; }

./scripts/setup.sh
phase_done setup
VOXSEG_TARGETS="voxseg voxseg-info voxseg-predict voxseg-eval" ./scripts/build.sh
phase_done build
bin=${VOXSEG_BUILD_DIR:-build}/bin
out=${OUT:-demo_output}
model=models/ct-abdomen-small
case_dir=sample_data/ct_abdomen
mkdir -p "$out"

echo "== 1. the input: a CT abdomen phantom (NIfTI) and the same CT as a DICOM series"
"$bin/voxseg" info "$case_dir/image.nii.gz"
[ -d sample_data/ct_abdomen_dicom ] && "$bin/voxseg" info sample_data/ct_abdomen_dicom
phase_done info

echo "== 2. segment with $model"
"$bin/voxseg" predict --force --batch-size 8 -m "$model" -i "$case_dir/image.nii.gz" -o "$out/ct_abdomen_labels.nii.gz"
"$bin/voxseg" info --labels "$out/ct_abdomen_labels.nii.gz"
phase_done predict

echo "== 3. evaluate against the reference labels and write the report"
"$bin/voxseg" eval --force -p "$out/ct_abdomen_labels.nii.gz" -r "$case_dir/labels.nii.gz" \
  --label-table "$model/model.json" --image "$case_dir/image.nii.gz" \
  --csv "$out/metrics.csv" --output-json "$out/metrics.json" --report "$out/report"
phase_done eval
echo "demo: labels $out/ct_abdomen_labels.nii.gz, metrics $out/metrics.csv, report $out/report/index.html"
echo "demo: times: $(IFS=,; echo "${phases[*]}" | sed 's/,/, /g')"
