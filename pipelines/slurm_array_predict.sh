#!/usr/bin/env bash
# Segment a folder (or a list) of scans with a Slurm job array: every array task runs one
# `voxseg predict --shard I/N` over the same input, so N tasks cover every case exactly once with no
# coordination, each loading the model once. Resumable: resubmit after failures or preemption and
# finished cases (their label map exists) are skipped.
#   sbatch --array=1-8 pipelines/slurm_array_predict.sh models/ct-abdomen-small /data/scans out/
#   sbatch --array=1-8%4 ... (at most 4 tasks at a time)
#   find /data -name '*.nii.gz' > scans.txt; sbatch --array=1-8 pipelines/slurm_array_predict.sh MODEL scans.txt out/
# The shard of a task is SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_MAX, so number the array from 1.
# Extra arguments go to voxseg predict (e.g. --names path for exported studies, --ext .nrrd).
# Per task: OUT/results/shard-I.jsonl (one JSON line per case); exit 8 when some cases failed.
#SBATCH --job-name=voxseg-predict
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --output=slurm-%A_%a.out
set -uo pipefail
model=$1 input=$2 out=$3; shift 3
: "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=1-N}" "${SLURM_ARRAY_TASK_MAX:?submit with sbatch --array=1-N}"
voxseg=${VOXSEG:-voxseg}
mkdir -p "$out/results"
# A .txt input is a list of paths, one per line: every task reads the same file, so they agree on the
# split (a live `find` in each task could differ between tasks).
list=/dev/null
case "$input" in *.txt) list=$input input=- ;; esac
"$voxseg" predict -m "$model" -i "$input" -o "$out" --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_MAX" \
  --threads "${SLURM_CPUS_PER_TASK:-1}" --json "$@" < "$list" > "$out/results/shard-$SLURM_ARRAY_TASK_ID.jsonl"
