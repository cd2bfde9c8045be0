# The Snakemake workflow with `shards: 2`: two predict jobs, each one voxseg call over its share of the
# scans (voxseg's --shard rule), cover every scan once; a second run has nothing to do.
source "$(dirname "$0")/../cli/lib.sh"
command -v snakemake >/dev/null || skip "snakemake is not installed (apt-get install snakemake)"
source "$(dirname "$0")/pipeline_env.sh"
cd "$WORK"
echo "shards: 2" >> "$WORK/config.yaml"
expect_exit 0 snakemake -s "$VOXSEG_SOURCE/pipelines/Snakefile" --configfile "$WORK/config.yaml" -j 2 -q
check_pipeline_outputs
# Sorted names ct41, ct42: shard 1 has ct41, shard 2 has ct42, one JSON line each.
grep -q '"case": *"ct41".*"status": *"ok"' "$WORK/out/results/shard-1.jsonl" || fail "shard 1 did not do ct41"
grep -q '"case": *"ct42".*"status": *"ok"' "$WORK/out/results/shard-2.jsonl" || fail "shard 2 did not do ct42"
[ "$(cat "$WORK"/out/results/shard-*.jsonl | wc -l)" = 2 ] || fail "expected one line per scan"
expect_exit 0 snakemake -s "$VOXSEG_SOURCE/pipelines/Snakefile" --configfile "$WORK/config.yaml" -j 2 -n
expect_stdout "Nothing to be done"
