# A missing rank times out and a rank that dies mid-run stops the other: one-line errors, exit 7, no hang,
# no bundle and no partial files; a setup error on rank 0 reaches rank 1 with rank 0's exit code.
source "$(dirname "$0")/../lib.sh"
[ -x "$VOXSEG_BIN/voxseg-phantom" ] || skip "voxseg-phantom not built"
require_gloo
d="$WORK/ds"
voxseg-phantom --kind ct-abdomen --count 3 --seed 300 --size 32,32,16 -o "$d" 2>/dev/null || fail "phantom failed"
opts=(--fold all --epochs 3 --iterations 40 --base-features 4 --max-features 16 --max-stages 3 --memory-gb 0.2 --seed 7
      --threads 1 --world-size 2)
# Rank 1 alone: rank 0 never comes.
start=$SECONDS
expect_exit 7 voxseg-train run "$d" -o "$WORK/alone" "${opts[@]}" --rank 1 --master-port "$(free_port)" --dist-timeout 2
[ $((SECONDS - start)) -lt 60 ] || fail "the missing rank took $((SECONDS - start)) s to be reported"
expect_one_line_error
expect_stderr "rank 1 of 2: rendezvous with the other ranks failed: .*--dist-timeout 2 s"
# Rank 1 killed mid-run: rank 0 notices at its next collective (a step's gradients, or the end of an
# epoch, whichever comes first).
port=$(free_port)
voxseg-train run "$d" -o "$WORK/r0" "${opts[@]}" --rank 0 --master-port "$port" 2>"$WORK/r0.err" & p0=$!
voxseg-train run "$d" -o "$WORK/r1" "${opts[@]}" --rank 1 --master-port "$port" 2>"$WORK/r1.err" & p1=$!
for i in $(seq 600); do [ -e "$WORK/r0/checkpoint_latest.pt" ] && break; kill -0 $p0 2>/dev/null || break; sleep 0.1; done
[ -e "$WORK/r0/checkpoint_latest.pt" ] || { cat "$WORK"/r?.err >&2; fail "no checkpoint after the first epoch"; }
kill -KILL $p1; wait $p1 2>/dev/null
start=$SECONDS
rc=0; wait $p0 || rc=$?
[ "$rc" = 7 ] || { cat "$WORK/r0.err" >&2; fail "rank 0 exited $rc, not 7, after its peer died"; }
[ $((SECONDS - start)) -lt 60 ] || fail "rank 0 took $((SECONDS - start)) s to notice"
cp "$WORK/r0.err" "$WORK/stderr"
expect_one_line_error
expect_stderr "rank 0 of 2: the [a-z -]+ (all-reduce|barrier)[a-z ()-]* failed: .*another rank stopped"
[ ! -e "$WORK/r0/weights.pt" ] || fail "a failed run wrote the bundle"
no_partial_files "$WORK/r0"
# Rank 0 refuses its output folder (exit 5): rank 1 stops with the same code and rank 0's reason.
port=$(free_port)
voxseg-train run "$d" -o "$WORK/r0" "${opts[@]}" --rank 0 --master-port "$port" 2>"$WORK/r0.err" & p0=$!
rc1=0; voxseg-train run "$d" -o "$WORK/r1" "${opts[@]}" --rank 1 --master-port "$port" 2>"$WORK/stderr" || rc1=$?
rc0=0; wait $p0 || rc0=$?
[ "$rc0" = 5 ] && [ "$rc1" = 5 ] || { cat "$WORK/r0.err" "$WORK/stderr" >&2; fail "exits $rc0/$rc1, expected 5/5"; }
expect_one_line_error
expect_stderr "rank 0 stopped: .*already holds a training run"
