#!/usr/bin/env bash
# Regenerates sample_data/ with `voxseg phantom` (and `voxseg convert` for the DICOM series).
# The outputs are byte-identical on every run for the same voxseg version (see docs/phantom.md);
# `scripts/make_sample_data.sh --check` regenerates into a temporary folder and compares checksums.
# Usage: scripts/make_sample_data.sh [--check]   (programs from ${VOXSEG_BIN:-build/bin})
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${VOXSEG_BIN:-$root/build/bin}
[ -x "$bin/voxseg-phantom" ] || { echo "make_sample_data: no $bin/voxseg-phantom; build first or set VOXSEG_BIN" >&2; exit 2; }
export PATH="$bin:$PATH"

out=$root/sample_data
check=0
if [ "${1:-}" = --check ]; then
  check=1
  out=$(mktemp -d "${TMPDIR:-/tmp}/voxseg-sample.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
run() { echo "+ $*" >&2; "$@" >/dev/null; }

# CT abdomen: 160 x 160 x 56 at 2.4 x 2.4 x 4.5 mm (a 384 mm field of view: adult-sized anatomy), 3 liver tumours.
run voxseg-phantom --kind ct-abdomen --seed 1 --size 160,160,56 --spacing 2.4,2.4,4.5 --objects 3 -o "$out/ct_abdomen" --force
# MR brain (T1w-like): 96 x 116 x 100 at 1.875 mm, 2 lesions.
run voxseg-phantom --kind mr-brain --seed 2 --size 96,116,100 --spacing 1.875,1.875,1.875 --objects 2 \
  -o "$out/mr_brain" --force
# Fluorescence nuclei: 128 x 128 x 40 at 0.5 x 0.5 x 1.0 um, 40 nuclei asked (instance labels).
run voxseg-phantom --kind cells --seed 3 --size 128,128,40 --objects 40 -o "$out/cells" --force
# The CT case as a DICOM series (CT Image Storage, one file per slice, UIDs derived from the input).
if [ -x "$bin/voxseg-convert" ]; then
  run voxseg-convert "$out/ct_abdomen/image.nii.gz" "$out/ct_abdomen_dicom/" --to dicom --modality CT \
    --uid-seed voxseg-sample-ct-abdomen-1 --series-description "voxseg phantom ct-abdomen seed 1" --force
else
  echo "make_sample_data: no voxseg-convert; skipping sample_data/ct_abdomen_dicom" >&2
fi

if [ $check = 1 ]; then
  # Compare the folders this run made (ct_abdomen_dicom only when voxseg-convert is built).
  (cd "$root/sample_data" && find $(cd "$out" && ls) -type f | LC_ALL=C sort | xargs sha256sum) > "$out.ref"
  (cd "$out" && find * -type f | LC_ALL=C sort | xargs sha256sum) > "$out.sums"
  if diff -u "$out.ref" "$out.sums"; then echo "make_sample_data: sample_data is up to date"; rm -f "$out.sums" "$out.ref";
  else echo "make_sample_data: sample_data differs from a fresh run (diff above); if the generator changed on purpose, run scripts/make_sample_data.sh and commit sample_data/" >&2; rm -f "$out.sums" "$out.ref"; exit 1; fi
fi
