#!/usr/bin/env bash
# Checkpoint and resume through the CLI, with real kills: a run checkpointing every epoch is
# killed with SIGKILL at a random moment (sometimes twice), resumed from its checkpoint until
# it finishes, and its --json output must equal, byte for byte, that of the same run never
# interrupted (every loss, the final weights and loss: all printed to round-trip precision).
# Done for full-batch Adam and for shuffled mini-batch momentum (whose RNG state must resume).
#
#   bash tests/cli/checkpoint_resume.sh /path/to/descent [trials per run, default 3]
#
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 /path/to/descent [trials]" >&2
    exit 2
fi
DESCENT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
TRIALS=${2:-3}
WORK="$(mktemp -d "${TMPDIR:-/tmp}/descent-resume.XXXXXX")" || exit 2
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

passed=0
failed=0
RANDOM=$(( $$ % 32768 ))  # a random moment, but printed so a failure can be replayed
echo "random seed $RANDOM"

now_ms() { date +%s%3N; }

# kill_at_random DURATION_MS ARGS...: starts descent, waits for its first checkpoint, then kills
# it with SIGKILL at a random moment within the first 80% of the time the run has left
# (DURATION_MS, the uninterrupted run's length, less what it took to reach the checkpoint:
# data generation counts). Returns 0 when the kill landed before the run finished; otherwise
# sets RUN_MS to how long this run really took, so that a retry can aim within it (a machine
# running other tests at the same time makes one run several times slower than the next).
RUN_MS=0
kill_at_random() {
    local duration=$1; shift
    local t0 pid waited=0
    t0=$(now_ms)
    "$DESCENT" "$@" >/dev/null 2>&1 &
    pid=$!
    while [ ! -e ck.bin ] && kill -0 "$pid" 2>/dev/null && [ $waited -lt 6000 ]; do
        sleep 0.01; waited=$((waited + 1))
    done
    local t_ck
    t_ck=$(now_ms)
    local window=$(( (duration - (t_ck - t0)) * 8 / 10 ))
    [ $window -lt 1 ] && window=1
    local deadline=$(( t_ck + RANDOM % window ))
    # Poll rather than sleep through the delay: a run that ends first tells us its length.
    while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt $deadline ]; do sleep 0.005; done
    if kill -KILL "$pid" 2>/dev/null; then
        { wait "$pid"; } 2>/dev/null  # (bash would report "Killed")
        [ $? -eq 137 ] && return 0
    else
        wait "$pid" 2>/dev/null
    fi
    RUN_MS=$(( $(now_ms) - t0 ))
    return 1
}

check_run() {  # check_run NAME ARGS...
    local name=$1; shift
    local args=("$@" --quiet --json --device cpu)
    # --checkpoint-every 1: a checkpoint at every epoch (the default is by time), so a kill at
    # any moment finds one.
    local every=(--checkpoint-every 1)
    local t0 t1
    t0=$(now_ms)
    if ! "$DESCENT" "${args[@]}" >expected.json 2>expected.err; then
        echo "FAIL  $name: the uninterrupted run failed: $(cat expected.err)"; failed=$((failed + 1)); return
    fi
    t1=$(now_ms)
    local duration=$((t1 - t0)) trial
    echo "      $name: uninterrupted run ${duration} ms"
    for ((trial = 1; trial <= TRIALS; ++trial)); do
        rm -f ck.bin .ck.bin.*.tmp
        local kills=0 problems=()
        # Odd trials are killed twice (the second time while resuming).
        # A loaded machine can make this run slower or faster than the timed one: when the
        # kill lands after the end, try again within the length the run just had, halved
        # each further time (five attempts at most).
        local window=$duration attempt
        for attempt in 1 2 3 4 5; do
            rm -f ck.bin .ck.bin.*.tmp
            if kill_at_random "$window" "${args[@]}" --checkpoint ck.bin "${every[@]}"; then kills=1; break; fi
            [ $RUN_MS -lt $window ] && window=$RUN_MS
            window=$(( attempt == 1 ? window : window / 2 ))
        done
        if [ $((trial % 2)) -eq 1 ] && [ -e ck.bin ] &&
           kill_at_random "$window" "${args[@]}" --checkpoint ck.bin "${every[@]}" --resume ck.bin; then
            kills=$((kills + 1))
        fi
        if [ $kills -eq 0 ]; then
            problems+=("no kill landed before the run ended (run too short for this machine?)")
        elif [ ! -e ck.bin ]; then
            problems+=("no checkpoint was written before the kill")
        else
            local version
            version=$(od -An -j8 -N4 -tu4 ck.bin | tr -d ' ')
            if ! "$DESCENT" "${args[@]}" --checkpoint ck.bin "${every[@]}" --resume ck.bin >resumed.json 2>resumed.err; then
                problems+=("the resumed run failed: $(cat resumed.err)")
            elif ! cmp -s expected.json resumed.json; then
                problems+=("the resumed run's output differs from the uninterrupted run's:")
                problems+=("$(diff <(tr ',' '\n' <expected.json) <(tr ',' '\n' <resumed.json) | head -6)")
            fi
            [ "$version" = 2 ] || problems+=("checkpoint format version $version")
        fi
        if [ ${#problems[@]} -eq 0 ]; then
            passed=$((passed + 1)); echo "ok    $name trial $trial ($kills kill(s), resumed bitwise equal)"
        else
            failed=$((failed + 1)); echo "FAIL  $name trial $trial"; printf '        %s\n' "${problems[@]}"
        fi
    done
}

check_run adam_full_batch train --data synthetic:n=100000,d=8,seed=3 --optimizer adam --lr 0.01 \
    --epochs 400
check_run momentum_shuffled_minibatch train --data synthetic:n=20000,d=4,seed=4 --optimizer momentum \
    --lr 0.01 --batch-size 256 --shuffle --seed 9 --epochs 150
# The curvature methods: L-BFGS's history, step and counters, Newton-CG's previous loss and
# status travel in the checkpoint (a short history, so it fills and shifts).
check_run lbfgs_strong_wolfe train --data synthetic:n=100000,d=8,seed=3 --optimizer lbfgs \
    --line-search strong-wolfe --history-size 3 --max-iter 2 --tolerance-grad 0 --epochs 120
# Newton-CG truncated to one CG step still improves for ~20 epochs here; 24 keep it moving.
check_run newton_cg train --data synthetic:n=100000,d=8,seed=5 --optimizer newton-cg --xtol 1e-14 \
    --cg-max-iter 1 --epochs 24

echo
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
