#!/usr/bin/env bash
# The GPU check: configure for sm_90 (H100/H200), build everything, run the whole ctest suite
# including the `cuda` label, compute-sanitizer memcheck + racecheck over the CUDA tests, run
# the GPU benchmarks, print a summary. Meant to finish in
# well under 8 minutes on an H200. Results (logs, JSON) go to $OUT (or build-gpu/out).
#
# On the lent device machine (no package registry there) Catch2 travels with the tree: run
# scripts/prepare_gpu_carry.sh here first, then carry `.deps`.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build-gpu/out}
mkdir -p "$out"
export PATH="/usr/local/cuda/bin:$PATH"
jobs=$(nproc)
log() { echo "== $*" | tee -a "$out/summary.txt"; }
# Everything must fit the device session: phases run in order of importance (build, tests,
# benchmarks, PyTorch comparison, compute-sanitizer) and the later ones get what is left of
# GPU_CHECK_SECONDS (default 480).
start=$(date +%s)
budget=${GPU_CHECK_SECONDS:-480}
left() { echo $(( budget - ($(date +%s) - start) )); }

log "device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
log "commit: $(git rev-parse --short HEAD 2>/dev/null || echo "${DESCENT_COMMIT:-unknown}")$(git diff --quiet 2>/dev/null || echo ' (dirty)')"

prefix=()
[ -d .deps/catch2 ] && prefix=(-DCMAKE_PREFIX_PATH="$PWD/.deps/catch2")
# The Python module too (its `python_tests` ctest, CUDA arrays included) when nanobind
# travelled in .deps/python and python3 there has numpy and pytest.
[ -d .deps/python ] && export PYTHONPATH="$PWD/.deps/python${PYTHONPATH:+:$PYTHONPATH}"
prefix+=(-DPython_EXECUTABLE="$(command -v python3)")
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
t0=$(date +%s)
cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDESCENT_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DDESCENT_BUILD_TESTS=ON -DDESCENT_BUILD_BENCH=ON \
      "${prefix[@]}" > "$out/configure.txt" 2>&1 || { log "configure FAILED"; tail -30 "$out/configure.txt"; exit 1; }
cmake --build build-gpu -j "$jobs" > "$out/build.txt" 2>&1 || { log "build FAILED"; grep -E "error" "$out/build.txt" | head -30; exit 1; }
log "build: $(( $(date +%s) - t0 )) s"

ctest --test-dir build-gpu --output-on-failure -j 4 --timeout 150 > "$out/ctest.txt" 2>&1
ctest_rc=$?
log "ctest (all labels): $(grep -E 'tests passed' "$out/ctest.txt")"
grep -E "\*\*\*(Failed|Skipped)|Not Run|Timeout" "$out/ctest.txt" | tee -a "$out/summary.txt"

# GPU processes of a distributed run (issue 14): ctest's test_cuda_distributed above runs K =
# 1..4 processes (threads) on this GPU and compares their bits. Under mpirun, when this machine
# has Open MPI and the build found it: one process on the GPU against the run without MPI (a
# distributed pass sums per 4096-row block, the one-process GPU pass per CUDA block: equal to
# rounding, not bitwise), and two processes on one GPU refused.
mpi_failed=0
if command -v mpirun >/dev/null && grep -q "MPI communicator ON" "$out/configure.txt"; then
  mpi_args=(train --quiet --json --data synthetic:n=1000000,d=16,seed=3 --dtype f64 --optimizer adam --lr 0.05 --epochs 20 --device cuda)
  build-gpu/descent "${mpi_args[@]}" --dist none > "$out/mpi_k0.json" 2> "$out/mpi_k0.err"
  mpirun -q --oversubscribe --allow-run-as-root -np 1 build-gpu/descent "${mpi_args[@]}" > "$out/mpi_k1.json" 2> "$out/mpi_k1.err"
  mpi_rc=$?
  mpi_verdict=$(python3 -c "
import json, sys
a, b = (json.load(open(sys.argv[i])) for i in (1, 2))
wa, wb = a['final_weights'], b['final_weights']
err = max(abs(x - y) for x, y in zip(wa, wb)) / max(abs(x) for x in wa)
print('final loss %r vs %r without MPI; weights differ by %.2e (scaled) %s' % (b['final_loss'], a['final_loss'], err, 'ok' if err < 1e-9 else 'NOT ok'))
" "$out/mpi_k0.json" "$out/mpi_k1.json" 2>&1 | tail -1)
  log "mpirun -np 1 on the GPU: exit $mpi_rc; $mpi_verdict"
  { [ $mpi_rc -ne 0 ] || ! echo "$mpi_verdict" | grep -q " ok$"; } && mpi_failed=1
  mpirun -q --oversubscribe --allow-run-as-root -np 2 build-gpu/descent "${mpi_args[@]}" > /dev/null 2> "$out/mpi_k2.err"
  k2_rc=$?
  log "mpirun -np 2 on one GPU: exit $k2_rc ($(head -1 "$out/mpi_k2.err"))"
  { [ $k2_rc -eq 0 ] || ! grep -q "one process per GPU" "$out/mpi_k2.err"; } && mpi_failed=1
else
  log "mpirun or the build's MPI not found: the GPU check under mpirun NOT run (test_cuda_distributed covers the passes)"
fi

bench=build-gpu/bench/bench_linear
run_bench() { "$bench" "$@" | tee -a "$out/bench.jsonl"; }
: > "$out/bench.jsonl"
log "benchmarks (one JSON line each; floor: device-to-device copy of the same bytes)"
run_bench --device cuda --n 100000000 --d 16 --dtype f32 --optimizer adam --reps 10
run_bench --device cuda --n 10000000 --d 16 --dtype f32 --optimizer adam --reps 10
run_bench --device cuda --n 100000000 --d 16 --dtype f32 --optimizer newton --reps 10
run_bench --device cuda --n 100000000 --d 2 --dtype f32 --optimizer adam --reps 10
run_bench --device cuda --blog --optimizer gd --reps 20
run_bench --device cuda --blog --optimizer adam --reps 20
run_bench --device cuda --blog --optimizer gd --reps 20 --cuda-graph
run_bench --device cuda --blog --optimizer adam --reps 20 --cuda-graph
run_bench --device cuda --n 10000000 --d 16 --dtype f32 --optimizer adam --batch-size 65536 --shuffle --reps 5
# The fused Hessian-vector product (issue 12): one read of X against the copy floor.
run_bench --device cuda --n 100000000 --d 16 --dtype f32 --hvp --reps 10
# X held in host memory (6.8 GB) and streamed to the device in chunks of 2^22 rows; its floor
# is the pinned host-to-device copy of the same bytes, measured in the same run.
run_bench --device cuda --n 100000000 --d 16 --dtype f32 --optimizer adam --reps 5 --stream-chunk 4194304
for n in 1000 10000 100000 1000000 10000000 100000000; do
  run_bench --device cuda --n $n --d 16 --dtype f32 --optimizer adam --reps 10
done
log "blog problem (50 epochs, f32): time and launches per epoch, without and with --cuda-graph"
grep '"bench": "blog"' "$out/bench.jsonl" | sed -E \
  's/.*"optimizer": "([^"]*)".*"cuda_graph": ([a-z]*).*"epoch_us": ([^,]*),.*"kernel_launches_per_epoch": ([^,]*),.*"graph_launches_per_epoch": ([^,]*),.*/  \1, cuda_graph \2: \3 us\/epoch, \4 kernel launches + \5 graph launches per epoch/' |
  tee -a "$out/summary.txt"
log "host data streamed to the device (n=10^8, d=16, f32, chunks of 2^22 rows; floor: pinned host-to-device copy of the same bytes)"
grep '"bench": "epoch_streamed"' "$out/bench.jsonl" | sed -E \
  's/.*"epoch_ms_median": ([^,]*),.*"effective_gbps": ([^,]*), "floor_kind": "([^"]*)", "floor_ms": ([^,]*), "floor_gbps": ([^,]*), "ratio_to_floor": ([^,]*),.*"host_bytes_pinned": ([^,]*), "device_mb_in_use_max": ([^,]*),.*"cuda_mallocs_after_first_epoch": ([^}]*)}/  epoch \1 ms (\2 GB\/s); \3 floor \4 ms (\5 GB\/s); ratio \6; host bytes pinned \7; device MB in use \8; cudaMalloc after the first epoch \9/' |
  tee -a "$out/summary.txt"
if [ "$(left)" -gt 120 ] && python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  log "descent vs idiomatic PyTorch on the GPU (same run)"
  python3 bench/compare.py --bench "$bench" --device cuda --skip-numpy \
      --sizes 10000000x16,100000000x16 --json "$out/compare_cuda.json" | tee -a "$out/summary.txt"
fi
# compute-sanitizer: memcheck (out-of-bounds and misaligned accesses, invalid frees) over
# every CUDA test executable, racecheck (shared-memory hazards) over the tests of the kernels
# that use shared memory. Each must report 0 errors and the tests must pass under it.
# (No --leak-check: the cuBLAS/cuSOLVER handles and the caching allocator's blocks live for
# the process, as in PyTorch, and are reported at exit by design; the allocator test checks
# that training returns every block.)
sanitizer_rc=0
sanitizer_runs=0
run_sanitizer() {  # run_sanitizer TOOL TEST [catch2 test spec]
  local tool=$1 t=$2 spec=${3:-} share rc summary
  share=$(( $(left) / 3 ))
  [ "$share" -gt 120 ] && share=120
  if [ "$share" -lt 20 ]; then log "compute-sanitizer $tool $t: no time left"; sanitizer_rc=1; return; fi
  sanitizer_runs=$((sanitizer_runs + 1))
  local file="$out/sanitizer_${tool}_${t}_${sanitizer_runs}.txt"
  timeout "$share" compute-sanitizer --tool "$tool" --error-exitcode 86 \
      "build-gpu/tests/$t" ${spec:+"$spec"} > "$file" 2>&1
  rc=$?
  summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$file" | tail -1)
  log "compute-sanitizer $tool $t ${spec:+[$spec] }(limit ${share} s): exit $rc; ${summary:-no summary}"
  [ $rc -ne 0 ] && sanitizer_rc=1
}
if command -v compute-sanitizer >/dev/null; then
  for t in test_cuda_device test_cuda_optim test_cuda_parity; do
    run_sanitizer memcheck "$t"
  done
  # The distributed passes' block partials and device fold (the smaller cases: the linear
  # case's 300 blocks are many launches under the tool).
  run_sanitizer memcheck test_cuda_distributed "GPU processes: logistic*"
  run_sanitizer racecheck test_cuda_distributed "GPU processes: logistic*"
  # The out-of-memory test makes cudaMalloc fail on purpose; memcheck reports those API
  # errors, so it runs apart and must show nothing but them.
  run_sanitizer memcheck test_cuda_training "~[graph]~out of device memory*"
  # The CUDA-graph cases (288 runs, ~40k small launches) apart, so that running out of their
  # time share is named as theirs.
  run_sanitizer memcheck test_cuda_training "[graph]"
  timeout 60 compute-sanitizer --tool memcheck build-gpu/tests/test_cuda_training \
      "out of device memory*" > "$out/sanitizer_memcheck_oom.txt" 2>&1
  others=$(grep -a -E "^========= (Invalid|Program hit)" "$out/sanitizer_memcheck_oom.txt" | grep -v -c "cudaErrorMemoryAllocation")
  log "compute-sanitizer memcheck out-of-memory test: $(grep -a -c 'cudaErrorMemoryAllocation' "$out/sanitizer_memcheck_oom.txt") intended cudaMalloc failures, $others other reports"
  [ "$others" -ne 0 ] && sanitizer_rc=1
  # racecheck is slow: one test case at a time, so whatever runs out of time is named. The
  # CUDA-graph cases (288 training runs) replay the kernels the other cases already race-check
  # uncaptured; memcheck above covers them, graphs included.
  for t in test_cuda_optim test_cuda_training test_cuda_parity test_cuda_device; do
    while IFS= read -r name; do
      [ -z "$name" ] && continue
      run_sanitizer racecheck "$t" "$name"
    done < <("build-gpu/tests/$t" --list-test-names-only 2>/dev/null | grep -v '^$' | grep -v 'out of device memory' | grep -v -i 'cuda graph')
  done
else
  log "compute-sanitizer not found: memcheck/racecheck NOT run"
  sanitizer_rc=1
fi

log "total: $(( $(date +%s) - t0 )) s; ctest exit $ctest_rc; compute-sanitizer $([ $sanitizer_rc -eq 0 ] && echo clean || echo 'NOT clean'); mpirun checks $([ $mpi_failed -eq 0 ] && echo 'ok or not run' || echo FAILED)"
[ $ctest_rc -eq 0 ] && [ $sanitizer_rc -eq 0 ] && [ $mpi_failed -eq 0 ]
