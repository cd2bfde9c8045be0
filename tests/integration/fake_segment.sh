#!/usr/bin/env bash
# Stand-in for voxseg-predict in the listener's machinery tests (--segment-command): takes the same
# command line (-i SERIES_DIR -o OUT/labels.nii.gz --dicom-seg ...), logs it, and writes OUT/labels.seg.dcm:
# a copy of one instance re-labelled as Segmentation Storage with a new series and instance UID.
# FAKE_SEGMENT_SLEEP=S waits first; a series whose instances include a file named in FAKE_SEGMENT_BAD_INPUT
# fails with exit 3 like predict on inconsistent geometry.
set -u
in="" out=""
while [ $# -gt 0 ]; do
  case "$1" in -i) in=$2; shift ;; -o) out=$2; shift ;; esac
  shift
done
echo "fake_segment: -i $in -o $out" >> "${FAKE_SEGMENT_LOG:-/dev/null}"
sleep "${FAKE_SEGMENT_SLEEP:-0}"
if [ -n "${FAKE_SEGMENT_BAD_INPUT:-}" ] && [ -e "$in/$FAKE_SEGMENT_BAD_INPUT" ]; then
  echo "voxseg-predict: error: '$in': slices have inconsistent geometry" >&2; exit 3
fi
first=$(ls "$in" | sort | head -1)
seg="$(dirname "$out")/labels.seg.dcm"
cp "$in/$first" "$seg.tmp"
dcmodify -q -nb -gse -gin -m "(0008,0016)=1.2.840.10008.5.1.4.1.1.66.4" -m "(0008,0060)=SEG" "$seg.tmp" || exit 1
mv "$seg.tmp" "$seg"
