#!/usr/bin/env bash
# The main job on sample_data/: install, build, then segment the sample CT with the shipped model,
# evaluate against its reference labels and write an HTML report. Outputs go to ${OUT:-demo_output}.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
bin=build/bin
out=${OUT:-demo_output}
model=models/ct-abdomen-small
case_dir=sample_data/ct_abdomen
mkdir -p "$out"

echo "== 1. the input: a CT abdomen phantom (NIfTI) and the same CT as a DICOM series"
"$bin/voxseg" info "$case_dir/image.nii.gz"
[ -d sample_data/ct_abdomen_dicom ] && "$bin/voxseg" info sample_data/ct_abdomen_dicom

echo "== 2. segment with $model"
"$bin/voxseg" predict --force --batch-size 8 -m "$model" -i "$case_dir/image.nii.gz" -o "$out/ct_abdomen_labels.nii.gz"
"$bin/voxseg" info --labels "$out/ct_abdomen_labels.nii.gz"

echo "== 3. evaluate against the reference labels and write the report"
"$bin/voxseg" eval --force -p "$out/ct_abdomen_labels.nii.gz" -r "$case_dir/labels.nii.gz" \
  --label-table "$model/model.json" --image "$case_dir/image.nii.gz" \
  --csv "$out/metrics.csv" --output-json "$out/metrics.json" --report "$out/report"
echo "demo: labels $out/ct_abdomen_labels.nii.gz, metrics $out/metrics.csv, report $out/report/index.html"
