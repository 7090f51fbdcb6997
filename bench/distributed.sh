#!/usr/bin/env bash
# Issue 14 item 6 on this machine: the distributed epoch against one process, strong and weak
# scaling, the exchange's latency for K = 2..4 (an α-β fit), and the scaling model at 8, 64 and
# 1,024 processes for n = 10^10, d = 16. Configurations alternate within each round (the
# machine's memory speed drifts); medians of the rounds.
# Usage: bench/distributed.sh BUILD_DIR [ROUNDS]    (BUILD_DIR with -DDESCENT_BUILD_BENCH=ON and MPI)
set -euo pipefail
build=${1:?usage: bench/distributed.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
bench="$build/bench/bench_distributed"
mpi=(mpirun -q --oversubscribe --allow-run-as-root --bind-to none)
n=10000000
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() {  # run LABEL THREADS [mpirun -np K | ""] ARGS...
    local label=$1 threads=$2 k=$3; shift 3
    local line
    if [ "$k" = 0 ]; then line=$(OMP_NUM_THREADS=$threads "$bench" "$@")
    else line=$(OMP_NUM_THREADS=$threads "${mpi[@]}" -np "$k" "$bench" "$@"); fi
    echo "$label $line" | tee -a "$out"
}

for r in $(seq 1 "$rounds"); do
    echo "# round $r"
    run one_process_2_threads 2 0 --n $n --no-communicator
    run two_processes_1_thread 1 2 --n $n
    run one_process_1_thread 1 0 --n $((n / 2)) --no-communicator
    run one_process_1_thread_comm 1 1 --n $((n / 2))
done
for k in 2 3 4; do
    for bytes in 200 2000 20000; do
        run "exchange_k${k}" 1 "$k" --exchange-bytes "$bytes"
    done
done

python3 - "$out" "$n" <<'PY'
import json, math, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, _, js = line.partition(" ")
    rows.setdefault(label, []).append(json.loads(js))
med = lambda label, key: statistics.median(r[key] for r in rows[label])
one2 = med("one_process_2_threads", "epoch_ms")
two1 = med("two_processes_1_thread", "epoch_ms")
one1 = med("one_process_1_thread", "epoch_ms")
one1c = med("one_process_1_thread_comm", "epoch_ms")
print(f"\nstrong: 2 processes x 1 thread {two1:.2f} ms / 1 process x 2 threads {one2:.2f} ms = {two1 / one2:.3f}")
print(f"weak: 2 processes x n/2 rows each {two1:.2f} ms / 1 process x n/2 rows {one1:.2f} ms = {two1 / one1:.3f}")
print(f"the distributed path on one process: {one1c:.2f} ms vs {one1:.2f} ms without ({one1c / one1:.3f})")
print(f"bytes sent per step by the busiest process (K=2): {rows['two_processes_1_thread'][0]['bytes_sent_per_step']}")
# α-β fit of the allgather: t = α ceil(log2 K) + β (K - 1) m, m = bytes per process (an
# allgather by recursive doubling: log2 K rounds of latency, (K - 1) m bytes received).
steps = lambda k: math.ceil(math.log2(k))
pts = []
for k in (2, 3, 4):
    for r in rows[f"exchange_k{k}"]:
        pts.append((steps(k), (k - 1) * r["bytes"], r["allgather_us"] * 1e-6))
# least squares for (α, β)
sxx = sum(a * a for a, b, t in pts); sxy = sum(a * b for a, b, t in pts); syy = sum(b * b for a, b, t in pts)
sxt = sum(a * t for a, b, t in pts); syt = sum(b * t for a, b, t in pts)
det = sxx * syy - sxy * sxy
alpha = (sxt * syy - syt * sxy) / det
beta = (sxx * syt - sxy * sxt) / det
print(f"allgather fit: alpha = {alpha * 1e6:.2f} us per round, beta = {beta * 1e9:.3f} ns/byte received")
for k in (2, 3, 4):
    print("  K=%d: " % k + ", ".join(f"{r['bytes']} B {r['allgather_us']:.1f} us" for r in rows[f'exchange_k{k}']))
# The model: n = 10^10, d = 16, f32, Adam. Per-process throughput from the 1-thread run
# (rows per second of one core here), the exchange from the fit with the busiest process's
# nodes (<= 2 log2(blocks)), the step and the tree fold negligible (17 doubles per node).
n = int(sys.argv[2])
rows_per_s = (n / 2) / (one1 * 1e-3)
blocks = math.ceil(1e10 / 4096)
entries = 17
print(f"\nmodel (n = 1e10, d = 16, f32, Adam; one core per process at {rows_per_s / 1e6:.0f} M rows/s):")
print("| processes | rows each | pass ms | nodes sent | bytes received | exchange us | epoch ms | efficiency |")
print("|---|---|---|---|---|---|---|---|")
for k in (8, 64, 1024):
    pass_ms = 1e10 / k / rows_per_s * 1e3
    nodes = 2 * math.ceil(math.log2(blocks / k)) + 2
    m = 16 + nodes * (16 + 8 * entries)
    ex = alpha * steps(k) + beta * (k - 1) * m
    epoch = pass_ms + ex * 1e3
    print(f"| {k} | {1e10 / k:.3g} | {pass_ms:.1f} | {nodes} | {(k - 1) * m} | {ex * 1e6:.0f} | {epoch:.1f} | {pass_ms / epoch:.3f} |")
PY
