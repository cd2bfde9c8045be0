# Compressed transfer syntaxes archives send (JPEG lossless, JPEG-LS, JPEG 2000, RLE, deflate), made
# by gdcmconv and DCMTK's converters from the sample series, read to the same voxels as the original.
source "$(dirname "$0")/../lib.sh"
src="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
[ -d "$src" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
command -v gdcmconv >/dev/null || skip "gdcmconv (package libgdcm-tools) not installed"
command -v dcmcjpeg >/dev/null || skip "dcmcjpeg (package dcmtk) not installed"
mkdir "$WORK/orig"
cp "$src"/IMG000[1-6].dcm "$WORK/orig/"
expect_exit 0 voxseg convert "$WORK/orig" "$WORK/orig.nii.gz"
# variant name, expected TransferSyntaxUID (dcmdump's name), command (input output)
while read -r name syntax tool; do
  mkdir "$WORK/$name"
  for f in "$WORK"/orig/*.dcm; do $tool "$f" "$WORK/$name/$(basename "$f")" || fail "$tool failed on $f"; done
  dcmdump +P 0002,0010 "$WORK/$name/IMG0001.dcm" | grep -q "=$syntax " || fail "$name: not $syntax"
  expect_exit 0 voxseg convert "$WORK/$name" "$WORK/$name.nii.gz"
  expect_same_image "$WORK/$name.nii.gz" "$WORK/orig.nii.gz" --abs 0
done <<'LIST'
gdcm-jpeg JPEGLossless:Non-hierarchical-1stOrderPrediction gdcmconv --jpeg
gdcm-jpegls JPEGLSLossless gdcmconv --jpegls
gdcm-j2k JPEG2000LosslessOnly gdcmconv --j2k
gdcm-rle RLELossless gdcmconv --rle
gdcm-deflate DeflatedLittleEndianExplicit gdcmconv --deflated
dcmtk-jpeg JPEGLossless:Non-hierarchical-1stOrderPrediction dcmcjpeg
dcmtk-jpegls JPEGLSLossless dcmcjpls
dcmtk-rle RLELossless dcmcrle
LIST
expect_exit 0 voxseg info "$WORK/gdcm-j2k"
expect_stdout "size +160 x 160 x 6"
