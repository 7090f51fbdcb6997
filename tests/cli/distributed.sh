#!/usr/bin/env bash
# descent train on K MPI processes (issue 14): mpirun -np K for K = 1..4 gives, bitwise, the
# numbers of one process without MPI (--json's losses and final weights, --trace's file and the
# checkpoint's bytes), for every full-batch optimizer, linear/logistic/softmax, generated data
# and an NPY file read by row range, 1 or 2 OpenMP threads per process; a checkpoint written by
# K processes resumes on K' (and without MPI) to the same end; one process's bad rows stop all
# with that process's error on one line; a killed process ends the job, the checkpoint intact.
# Usage: distributed.sh /path/to/descent MPI_BUILT(ON|OFF) /path/to/mpiexec
# Exits 77 (skipped) when descent was built without MPI.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ "${2:-OFF}" != ON ] || [ ! -x "${3:-}" ]; then
    echo "skipped: descent built without MPI (DESCENT_MPI), or no mpiexec"
    exit 77
fi
MPIEXEC=$3
cli_setup distributed "$1"

mpi() {  # mpi K ARGS...: descent on K processes
    local k=$1; shift
    "$MPIEXEC" -q --oversubscribe --allow-run-as-root -np "$k" "$DESCENT" "$@"
}
# The numbers of a --json output that must be bitwise the same: losses, final weights, final
# loss, accuracy (printed with round-trip precision, so equal text is equal bits).
numbers() {
    python3 -c 'import json,sys
j = json.load(sys.stdin)
print(repr([j["losses"], j["final_weights"], j["final_loss"], j.get("accuracy"), j["rows"]]))'
}

# Compares the one-process run (no MPI) with K = 1..4 processes; OMP threads alternate 1, 2.
same_for_all_k() {  # same_for_all_k NAME ARGS...
    local name=$1; shift
    local want got k threads
    # The reference on the cpu: a GPU host would otherwise train it there (--dist is cpu only).
    if ! want=$(OMP_NUM_THREADS=2 "$DESCENT" train --dist none --device cpu --json --quiet "$@" | numbers); then
        fail "$name" "the one-process run failed"; return
    fi
    for k in 1 2 3 4; do
        threads=$((k % 2 + 1))
        # Every process must succeed (mpiexec's status), not only process 0's printing.
        if ! OMP_NUM_THREADS=$threads mpi "$k" train --json --quiet "$@" >out.json 2>err.txt ||
           ! got=$(numbers < out.json); then
            fail "$name" "K=$k failed: $(cat err.txt)"; return
        fi
        if [ "$got" != "$want" ]; then
            fail "$name" "K=$k ($threads threads) differs from one process" "one: ${want:0:200}" "K=$k: ${got:0:200}"
            return
        fi
    done
    pass "$name"
}

SYN="synthetic:n=20000,d=4,seed=3"  # 5 blocks of 4096 rows: processes hold 1 to 5 of them
for opt in gd momentum adagrad rmsprop adam adamw newton newton-cg lbfgs; do
    case $opt in
        gd|momentum) lr=(--lr 0.05) ;;
        newton|newton-cg|lbfgs) lr=() ;;
        *) lr=(--lr 0.02) ;;
    esac
    same_for_all_k "linear_$opt" --data "$SYN" --optimizer "$opt" "${lr[@]}" --epochs 8
done
same_for_all_k linear_f32 --data "$SYN" --optimizer adam --lr 0.02 --epochs 8 --dtype f32
# Mini-batches: each batch assembled from the processes' rows, in the one-process order.
same_for_all_k batches_shuffled --data "$SYN" --optimizer adam --lr 0.02 --epochs 3 \
    --batch-size 1000 --shuffle --seed 7
same_for_all_k batches_in_order --data "$SYN" --optimizer momentum --lr 0.02 --epochs 2 \
    --batch-size 6000
# Streamed synthetic data: each process generates its own chunks.
same_for_all_k streamed_chunks --data "$SYN" --optimizer newton --epochs 3 --stream-chunk 3000
same_for_all_k blog_one_block --data blog --optimizer gd --lr 0.01 --epochs 30
same_for_all_k logistic_adam --data "synthetic-logistic:n=17000,d=3,seed=1" --model logistic \
    --optimizer adam --lr 0.05 --epochs 8
same_for_all_k logistic_newton --data "synthetic-logistic:n=17000,d=3,seed=1" --model logistic \
    --optimizer newton --epochs 4
same_for_all_k logistic_newton_cg --data "synthetic-logistic:n=17000,d=3,seed=1" --model logistic \
    --optimizer newton-cg --epochs 4
same_for_all_k softmax_adam --data "synthetic-softmax:n=13000,d=3,k=4,seed=2" --model softmax \
    --optimizer adam --lr 0.05 --epochs 8

# An NPY file: each process reads only its rows (the loader's own tests check the reads).
/usr/bin/python3 -c 'import numpy as np
rng = np.random.default_rng(5)
X = rng.normal(size=(18000, 3)); y = X @ [1.5, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=18000)
np.save("data.npy", np.column_stack([X, y]))
bad = np.column_stack([X, y]); bad[3 * 4096 + 7, 1] = np.nan  # process 2 of 4 (5 blocks: 2, 1, 1, 1)
np.save("bad.npy", bad)
np.savetxt("data.csv", np.column_stack([X, y])[:50], delimiter=",")'
same_for_all_k npy_stored --data data.npy --optimizer adam --lr 0.05 --epochs 6 --ones-column stored
same_for_all_k npy_implicit --data data.npy --optimizer newton --epochs 3 --ones-column implicit
name=file_not_streamed
mpi 2 train --quiet --data data.npy --stream-chunk 1000 --epochs 2 >/dev/null 2>err.txt && ok=0 || ok=1
if [ $ok = 1 ] && grep -q -- "--stream-chunk" err.txt; then pass "$name"; else fail "$name" "$(cat err.txt)"; fi

# --trace and the checkpoint: process 0 writes them, the same bytes as one process writes.
name=trace_and_checkpoint_bytes
"$DESCENT" train --dist none --device cpu --quiet --data "$SYN" --optimizer adam --lr 0.02 --epochs 10 \
    --trace one.csv --checkpoint one.ckpt --checkpoint-every 5 >/dev/null
mpi 3 train --quiet --data "$SYN" --optimizer adam --lr 0.02 --epochs 10 \
    --trace three.csv --checkpoint three.ckpt --checkpoint-every 5 >/dev/null
if cmp -s one.csv three.csv && cmp -s one.ckpt three.ckpt; then pass "$name"
else fail "$name" "trace or checkpoint differ: $(cmp one.csv three.csv; cmp one.ckpt three.ckpt)"; fi

# A checkpoint of 3 processes resumes on 2, and on one process without MPI, to the end of the
# uninterrupted one-process run.
name=resume_on_other_counts
want=$("$DESCENT" train --dist none --device cpu --json --quiet --data data.npy --optimizer momentum --lr 0.05 --epochs 12 | numbers)
mpi 3 train --quiet --data data.npy --optimizer momentum --lr 0.05 --epochs 5 --checkpoint k.ckpt >/dev/null
cp k.ckpt k1.ckpt
got2=$(mpi 2 train --json --quiet --data data.npy --optimizer momentum --lr 0.05 --epochs 12 \
       --checkpoint k.ckpt --resume k.ckpt | numbers)
got1=$("$DESCENT" train --dist none --device cpu --json --quiet --data data.npy --optimizer momentum --lr 0.05 \
       --epochs 12 --checkpoint k1.ckpt --resume k1.ckpt | numbers)
if [ "$got2" = "$want" ] && [ "$got1" = "$want" ]; then pass "$name"
else fail "$name" "resumed runs differ" "want ${want:0:150}" "K'=2 ${got2:0:150}" "none ${got1:0:150}"; fi

# Only process 0 prints: one JSON object for K = 3.
name=one_output
lines=$(mpi 3 train --json --quiet --data "$SYN" --epochs 2 | wc -l)
if [ "$lines" = 1 ]; then pass "$name"; else fail "$name" "$lines lines on stdout"; fi

# One process's bad rows: every process stops, one error line naming process 2, exit non-zero.
name=bad_rows_in_one_process
mpi 4 train --quiet --data bad.npy --epochs 2 >out.txt 2>err.txt; rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l < err.txt)" = 1 ] && grep -q "process 2: .*row 12295.*NaN" err.txt &&
   [ ! -s out.txt ]; then pass "$name"
else fail "$name" "rc=$rc" "$(cat err.txt)"; fi

# Process 0's write failing after training (its directory removed meanwhile): every process
# stops with its error, none waits in the collectives that come after (a classifier's accuracy).
name=trace_write_fails_on_process_0
mkdir gone
# (Not through mpi(): a shell function in the background runs this script's EXIT trap.)
timeout 60 "$MPIEXEC" -q --oversubscribe --allow-run-as-root -np 2 "$DESCENT" train --quiet \
    --model logistic --data "synthetic-logistic:n=100000,d=4" --optimizer gd --epochs 10000 \
    --trace gone/t.csv >out.txt 2>err.txt &
job=$!
sleep 0.5
# Renamed, not removed: rename is atomic, while rm -rf races with a file created meanwhile.
mv gone gone.moved
wait "$job"; rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "cannot write gone/t.csv" err.txt && [ ! -s out.txt ]; then pass "$name"
else fail "$name" "rc=$rc (124: hung)" "$(cat err.txt)"; fi

# Process 0's checkpoint failing mid-training while the others go on: it waits for them (10 s),
# reports its own error on one line and ends the job; nothing hangs.
name=checkpoint_fails_in_training
mkdir gone2
timeout 60 "$MPIEXEC" -q --oversubscribe --allow-run-as-root -np 2 "$DESCENT" train --quiet \
    --data "synthetic:n=100000,d=4" --optimizer gd --lr 0.01 --epochs 100000 \
    --checkpoint gone2/c.ckpt --checkpoint-every 100 >out.txt 2>err.txt &
job=$!
sleep 0.5
mv gone2 gone2.moved
wait "$job"; rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "^descent: error: process 0 of 2: .*gone2/c.ckpt" err.txt &&
   [ "$(grep -c '^descent' err.txt)" = 1 ]; then pass "$name"
else fail "$name" "rc=$rc (124: hung)" "$(cat err.txt)"; fi

# A CSV is not split: refused on one line with the way out.
name=csv_refused
mpi 2 train --quiet --data data.csv --epochs 2 >out.txt 2>err.txt; rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l < err.txt)" = 1 ] && grep -q "convert it to NPY" err.txt; then pass "$name"
else fail "$name" "rc=$rc" "$(cat err.txt)"; fi

# What the processes cannot do yet is refused, not ignored.
name=refused_flags
ok=1
# A GPU named by index: each process takes its own (its index on the host).
mpi 2 train --quiet --data "$SYN" --epochs 2 --device cuda:1 >/dev/null 2>err.txt && ok=0
grep -q -- "--dist: --device cuda:1" err.txt || ok=0
# GPUs: none here, or fewer than the processes of this host (the device check's machine has
# one): refused on every process, with one line.
mpi 2 train --quiet --data "$SYN" --epochs 2 --device cuda >/dev/null 2>err.txt && ok=0
[ "$(grep -c -- "--device cuda" err.txt)" = 1 ] || ok=0
"$DESCENT" train --dist bogus --epochs 1 >/dev/null 2>err.txt && ok=0
grep -q "dist must be auto, mpi or none" err.txt || ok=0
if [ $ok = 1 ]; then pass "$name"; else fail "$name" "$(cat err.txt)"; fi

# A process killed mid-run: the job ends (non-zero) within 10 s, one line naming it; the last
# checkpoint is intact and resumes on fewer processes to the uninterrupted run's end.
name=killed_process
KILL=(--quiet --data "synthetic:n=200000,d=8,seed=1" --optimizer adam --lr 0.01)
"$MPIEXEC" -q --oversubscribe --allow-run-as-root -np 3 "$DESCENT" train "${KILL[@]}" \
    --epochs 100000 --checkpoint kill.ckpt --checkpoint-every 20 >/dev/null 2>err.txt &
job=$!
victim=""
for _ in $(seq 1 200); do  # the first checkpoint written, kill process 1
    sleep 0.1
    [ -s kill.ckpt ] || continue
    for p in $(pgrep -x descent); do
        if grep -q kill.ckpt "/proc/$p/cmdline" 2>/dev/null &&
           tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
            victim=$p
        fi
    done
    [ -n "$victim" ] && break
done
start=$(date +%s.%N)
[ -n "$victim" ] && kill -9 "$victim"
wait "$job"; rc=$?
took=$(python3 -c "import time; print(round(time.time() - $start, 2))")
# The epochs the checkpoint holds (its refusal of --epochs 1 says them), then 20 more.
done_epochs=$("$DESCENT" train "${KILL[@]}" --dist none --epochs 1 --resume kill.ckpt 2>&1 |
              sed -n 's/.*has already done \([0-9]*\) epochs.*/\1/p')
total=$((${done_epochs:-0} + 20))
want=$("$DESCENT" train "${KILL[@]}" --dist none --device cpu --json --epochs "$total" | numbers)
got=$(mpi 2 train "${KILL[@]}" --json --epochs "$total" --checkpoint kill.ckpt --resume kill.ckpt | numbers)
if [ -n "$victim" ] && [ $rc -ne 0 ] && python3 -c "import sys; sys.exit(0 if $took < 10 else 1)" &&
   [ "$(wc -l < err.txt)" = 1 ] && grep -q "^descent: error: process 1 (pid $victim on .*) ended" err.txt &&
   [ -n "$done_epochs" ] && [ "$got" = "$want" ]; then
    pass "$name"
else
    fail "$name" "victim=$victim rc=$rc took=${took}s epochs=$done_epochs" "$(head -5 err.txt)" \
        "$(python3 -c "import sys; a, b = sys.argv[1], sys.argv[2]; i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), -1); print(i, a[i-20:i+40], b[i-20:i+40])" "$want" "$got")"
fi

cli_summary
