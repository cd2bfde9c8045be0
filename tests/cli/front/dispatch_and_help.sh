# `voxseg <verb>` runs voxseg-<verb>; help and version exit 0; an unknown verb is a usage error (2).
source "$(dirname "$0")/../lib.sh"
expect_exit 0 voxseg --help
expect_stdout "Commands:"
expect_stdout "info"
expect_exit 0 voxseg --version
expect_stdout "^voxseg [0-9]+\.[0-9]+\.[0-9]+ .*ITK 5\..*DCMTK 3\..*LibTorch"
expect_exit 2 voxseg no-such-verb
expect_stderr "unknown command 'no-such-verb'"
expect_exit 2 voxseg
expect_exit 0 voxseg version --json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["itk"].startswith("5.") and "cuda_built" in d' "$WORK/stdout" || fail "version --json is not valid JSON with library versions"
