# The same workflow runs on a real (one-node) Slurm cluster through sbatch, with the profile in
# pipelines/slurm. munged, slurmctld and slurmd are started here on loopback and stopped by PID.
source "$(dirname "$0")/../cli/lib.sh"
command -v snakemake >/dev/null || skip "snakemake is not installed"
command -v slurmctld >/dev/null && command -v munged >/dev/null || skip "slurm-wlm/munge are not installed"
[ "$(id -u)" = 0 ] || skip "starting slurmd needs root"
[ -f /etc/munge/munge.key ] || skip "no /etc/munge/munge.key"
source "$(dirname "$0")/pipeline_env.sh"

S="$WORK/slurm"; mkdir -p "$S"/{state,spool,log}
chmod 755 "$WORK" "$S"   # munged runs as the munge user and must reach its socket folder
install -d -o munge -g munge -m 0755 /run/munge /var/log/munge /var/lib/munge "$S/munge"
MUNGE_SOCKET="$S/munge/munge.socket"
runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" --pid-file="$S/munge/munged.pid" --force
H=$(hostname -s)
cat > "$S/slurm.conf" <<CONF
ClusterName=voxsegtest
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPort=$(( 16817 + RANDOM % 1000 ))
SlurmdPort=$(( 17818 + RANDOM % 1000 ))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$S/slurm.conf"
stop_cluster() {
  for f in slurmd slurmctld; do [ -f "$S/$f.pid" ] && kill "$(cat "$S/$f.pid")" 2>/dev/null; done
  [ -f "$S/munge/munged.pid" ] && kill "$(cat "$S/munge/munged.pid")" 2>/dev/null
  sleep 1; rm -rf "$WORK"
}
trap stop_cluster EXIT
slurmctld -c && slurmd || fail "slurm daemons did not start: $(tail -n 3 "$S"/log/*.log)"
for i in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %T | grep -q idle || fail "slurm node not idle: $(sinfo 2>&1; tail -n 5 "$S"/log/*.log)"

cd "$WORK"
expect_exit 0 snakemake -s "$VOXSEG_SOURCE/pipelines/Snakefile" --configfile "$WORK/config.yaml" \
  --profile "$VOXSEG_SOURCE/pipelines/slurm" -j 4 --latency-wait 5
check_pipeline_outputs
ls "$WORK"/slurm_logs/*.out >/dev/null 2>&1 || fail "no Slurm job logs: the jobs did not run through sbatch"

# The Slurm array example: two array tasks, each `voxseg predict --shard I/2`, cover both scans once.
export VOXSEG="$VOXSEG_BIN/voxseg"   # sbatch passes the environment on
expect_exit 0 sbatch --wait --array=1-2 -c 1 --mem=2000 -o "$WORK/array-%a.out" \
  "$VOXSEG_SOURCE/pipelines/slurm_array_predict.sh" "$MODEL" "$WORK/images" "$WORK/array_out"
for seed in 41 42; do [ -f "$WORK/array_out/ct$seed.nii.gz" ] || fail "the array did not segment ct$seed"; done
[ "$(cat "$WORK"/array_out/results/shard-*.jsonl | grep -c '"status": *"ok"')" = 2 ] ||
  fail "array tasks did not do one scan each: $(cat "$WORK"/array_out/results/shard-*.jsonl "$WORK"/array-*.out)"
