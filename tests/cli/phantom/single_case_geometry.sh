# One case per kind: image, labels and phantom.json exist, with the requested grid, a centred LPS
# origin, the documented pixel types and the documented label values.
source "$(dirname "$0")/../lib.sh"
info() { voxseg-info --json --labels "$1" > "$WORK/info.json" || fail "voxseg info failed on $1"; }
labels_of() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(str(l["value"]) for l in d["statistics"]["labels"]))' "$WORK/info.json"; }

expect_exit 0 voxseg phantom --kind ct-abdomen --seed 4 --size 64,56,20 --spacing 3,3,6 -o "$WORK/ct"
for f in image.nii.gz labels.nii.gz phantom.json; do [ -s "$WORK/ct/$f" ] || fail "missing ct/$f"; done
info "$WORK/ct/image.nii.gz"
[ "$(json_get "$WORK/info.json" size)" = "[64, 56, 20]" ] || fail "ct size: $(json_get "$WORK/info.json" size)"
[ "$(json_get "$WORK/info.json" spacing)" = "[3.0, 3.0, 6.0]" ] || fail "ct spacing"
[ "$(json_get "$WORK/info.json" orientation)" = LPS ] || fail "ct orientation"
[ "$(json_get "$WORK/info.json" origin)" = "[-94.5, -82.5, -57.0]" ] || fail "ct origin not centred: $(json_get "$WORK/info.json" origin)"
[ "$(json_get "$WORK/info.json" stored_type)" = int16 ] || fail "ct image not int16"
min=$(json_get "$WORK/info.json" statistics.min)
/usr/bin/python3 -c "import sys; sys.exit(0 if -1024 <= $min < -900 else 1)" || fail "ct air is not about -1000 HU (min $min)"
info "$WORK/ct/labels.nii.gz"
[ "$(json_get "$WORK/info.json" stored_type)" = uint8 ] || fail "ct labels not uint8"
[ "$(labels_of)" = "0 1 2 3 4 5" ] || fail "ct label values: $(labels_of)"
[ "$(json_get "$WORK/ct/phantom.json" labels.5.name)" = liver_tumor ] || fail "label table"
[ "$(json_get "$WORK/ct/phantom.json" seed)" = 4 ] || fail "seed not recorded"

expect_exit 0 voxseg phantom --kind mr-brain --seed 2 --size 48,56,40 -o "$WORK/mr"
info "$WORK/mr/labels.nii.gz"
[ "$(labels_of)" = "0 1 2 3 4" ] || fail "mr label values: $(labels_of)"
[ "$(json_get "$WORK/info.json" spacing)" = "[1.25, 1.25, 1.25]" ] || fail "mr default spacing"

expect_exit 0 voxseg phantom --kind cells --seed 3 --size 64,64,24 --objects 8 -o "$WORK/cells"
info "$WORK/cells/labels.nii.gz"
[ "$(json_get "$WORK/info.json" stored_type)" = uint16 ] || fail "cells labels not uint16"
n=$(json_get "$WORK/info.json" statistics.max)
[ "$(labels_of)" = "$(seq -s ' ' 0 "${n%.*}")" ] || fail "instance ids not contiguous: $(labels_of)"
info "$WORK/cells/image.nii.gz"
[ "$(json_get "$WORK/info.json" stored_type)" = uint16 ] || fail "cells image not uint16"
[ "$(json_get "$WORK/cells/phantom.json" options.spacing_units)" = um ] || fail "cells units"
no_partial_files "$WORK"
