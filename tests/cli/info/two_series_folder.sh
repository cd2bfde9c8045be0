# A folder with two real series (CT5N's 5 slices and CT_small's 1) and no --series: both are listed, the one with most slices is read and
# the other is named in a warning; --series reads the chosen one; an unknown UID is exit 3.
source "$(dirname "$0")/../lib.sh"
P=/usr/lib/python3/dist-packages/pydicom/data/test_files
[ -d "$P/dicomdirtests/98892001/CT5N" ] || skip "python3-pydicom test files not installed"
mkdir "$WORK/mixed"; cp "$P"/dicomdirtests/98892001/CT5N/* "$P/CT_small.dcm" "$WORK/mixed/"
uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SeriesInstanceUID)' "$1"; }
small=$(uid "$P/CT_small.dcm")
big=$(uid "$P/dicomdirtests/98892001/CT5N/2062")
expect_exit 0 voxseg info --json "$WORK/mixed"
expect_stderr "warning: .*holds 2 series; reading the largest, $big .*5 slices.*others: $small .*1 slice\).*--series"
[ "$(json_get "$WORK/stdout" size.2)" = 5 ] || fail "did not read the 5-slice series"
[ "$(json_get "$WORK/stdout" series.1.series_uid)" = "$small" ] || fail "second series not listed"
expect_exit 0 voxseg info --json --series "$small" "$WORK/mixed"
[ "$(json_get "$WORK/stdout" size.2)" = 1 ] || fail "--series did not select the 1-slice series"
[ "$(json_get "$WORK/stdout" dicom.series_uid)" = "$small" ] || fail "wrong series read"
expect_exit 3 voxseg info --series 1.2.3.4 "$WORK/mixed"
expect_one_line_error
expect_stderr "no series 1\.2\.3\.4 \(found: $big"
