# A series acquired with a 15-degree gantry tilt (orientation tilted, positions along the table) is
# refused with the reason (exit 3, no output), and resampled onto an orthogonal grid with --allow-tilt.
source "$(dirname "$0")/../lib.sh"
src="$VOXSEG_SOURCE/sample_data/ct_abdomen_dicom"
[ -d "$src" ] || skip "no sample_data/ct_abdomen_dicom in the source tree"
/usr/bin/python3 -c "import pydicom, numpy" 2>/dev/null || skip "Debian's python3-pydicom/python3-numpy not installed"
/usr/bin/python3 "$VOXSEG_SOURCE/tests/cli/dicom_variants.py" tilt "$src" "$WORK/tilt" || fail "cannot make the fixture"
expect_exit 3 voxseg info "$WORK/tilt"
expect_one_line_error
expect_stderr "gantry tilt \(15 degrees: each slice is shifted 1\.16[0-9]* mm within its plane\); --allow-tilt"
expect_exit 3 voxseg convert "$WORK/tilt" "$WORK/tilt.nii.gz"
expect_one_line_error
[ ! -e "$WORK/tilt.nii.gz" ] || fail "an output was written for a refused series"
expect_exit 0 voxseg convert --allow-tilt "$WORK/tilt" "$WORK/tilt.nii.gz"
expect_stderr "warning: .*gantry tilt of 15 degrees; resampled onto an orthogonal grid"
expect_exit 0 voxseg info --allow-tilt "$WORK/tilt"
expect_stdout "size +160 x 160 x 56"
expect_stdout "spacing +2.4 x 2.4 x 4.3466[0-9]* mm"
expect_stdout "tilt +gantry tilt 15 degrees, resampled"
expect_exit 0 voxseg info --json --allow-tilt "$WORK/tilt"
cp "$WORK/stdout" "$WORK/info.json"
/usr/bin/python3 - "$WORK/info.json" <<'PY' || fail "resampled grid is not orthogonal along the slice normal"
import json, math, sys
d = json.load(open(sys.argv[1]))
m = d["direction"]  # row-major 3x3, columns = axes
normal = [m[2], m[5], m[8]]
a = math.radians(15)
assert all(abs(x - y) < 1e-5 for x, y in zip(normal, [0, -math.sin(a), math.cos(a)])), normal
assert abs(d["dicom"]["gantry_tilt_resampled_degrees"] - 15) < 1e-3
PY
expect_exit 0 voxseg predict --help
expect_stdout "--allow-tilt"
