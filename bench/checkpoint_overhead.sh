#!/usr/bin/env bash
# What checkpointing costs a run (issue 11 item 11): the median wall time of R runs of each
# problem without --checkpoint, with --checkpoint at its default (by time: every 5 s and 20x
# a checkpoint's own cost, and after the last epoch) and with --checkpoint-every 1, measured
# in one session, alternating, so the ratios compare like with like.
#
#   bash bench/checkpoint_overhead.sh build/descent [runs, default 11]
#
# Prints one line per problem and setting: median seconds and the ratio to the plain run.

set -eu
DESCENT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
RUNS=${2:-11}
WORK="$(mktemp -d "${TMPDIR:-/tmp}/descent-ckpt-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {  # measure NAME EVERY1(0|1) ARGS...
    local name=$1 every1=$2; shift 2
    local plain=() default=() each=() r t0
    for ((r = 0; r < RUNS; ++r)); do
        t0=$(now); "$DESCENT" "$@" >/dev/null; plain+=($(( $(now) - t0 )))
        rm -f ck.bin
        t0=$(now); "$DESCENT" "$@" --checkpoint ck.bin >/dev/null; default+=($(( $(now) - t0 )))
        if [ "$every1" = 1 ] && [ $r -lt 3 ]; then
            rm -f ck.bin
            t0=$(now); "$DESCENT" "$@" --checkpoint ck.bin --checkpoint-every 1 >/dev/null
            each+=($(( $(now) - t0 )))
        fi
    done
    local p d e
    p=$(printf '%s\n' "${plain[@]}" | median)
    d=$(printf '%s\n' "${default[@]}" | median)
    awk -v n="$name" -v p="$p" -v d="$d" 'BEGIN {
        printf "%-34s plain %8.4f s   --checkpoint (default) %8.4f s   x%.3f\n", n, p/1e9, d/1e9, d/p }'
    if [ ${#each[@]} -gt 0 ]; then
        e=$(printf '%s\n' "${each[@]}" | median)
        awk -v n="$name" -v p="$p" -v e="$e" 'BEGIN {
            printf "%-34s                          --checkpoint-every 1   %8.4f s   x%.1f\n", n, e/1e9, e/p }'
    fi
}

measure "blog, gd, 5000 epochs" 1 train --device cpu --quiet --epochs 5000 --lr 0.01
measure "synthetic 10^6 x 16, adam, 100 ep" 0 train --device cpu --quiet \
    --data synthetic:n=1000000,d=16,seed=1 --optimizer adam --lr 0.01 --epochs 100
measure "synthetic 10^5 x 8, mini-batch" 0 train --device cpu --quiet \
    --data synthetic:n=100000,d=8,seed=2 --optimizer momentum --lr 0.01 --batch-size 256 \
    --shuffle --epochs 20
