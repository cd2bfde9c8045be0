# The Snakemake workflow in pipelines/ segments and evaluates a folder of scans locally, and a
# second run does nothing (everything up to date).
source "$(dirname "$0")/../cli/lib.sh"
command -v snakemake >/dev/null || skip "snakemake is not installed (apt-get install snakemake)"
source "$(dirname "$0")/pipeline_env.sh"
cd "$WORK"
expect_exit 0 snakemake -s "$VOXSEG_SOURCE/pipelines/Snakefile" --configfile "$WORK/config.yaml" -j 2 -q
check_pipeline_outputs
expect_exit 0 snakemake -s "$VOXSEG_SOURCE/pipelines/Snakefile" --configfile "$WORK/config.yaml" -j 2 -n
expect_stdout "Nothing to be done"
