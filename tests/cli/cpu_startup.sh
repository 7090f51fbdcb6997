#!/usr/bin/env bash
# A CPU-only run never loads CUDA (issue 13): `descent train` on the blog data, with the
# default --device auto, on a machine without a GPU
#   - links no CUDA library (the CUDA backend is a module loaded on first use of a device),
#   - has the dynamic loader open none either (LD_DEBUG=files; only the driver probe's
#     libcuda.so.1 is allowed: that is how --device auto learns there is no GPU),
#   - runs under `ulimit -v 500000` (the CUDA libraries alone take ~1.1 GB of address space),
#   - starts and finishes in under DESCENT_STARTUP_LIMIT_MS (50) ms, best of 5 runs.
# Meant for the CUDA build, where these used to fail; passes trivially without CUDA. On a
# machine with a GPU, auto would rightly use it: the runs there say --device cpu instead.
# Under the sanitizers (DESCENT_TEST_SANITIZED=1) only the loader checks run: ASan reserves
# terabytes of address space and slows everything down.
# Usage: cpu_startup.sh /path/to/descent
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cli_setup cpu_startup "$@"

cuda_libs='libcudart|libcublas|libcusolver|libcusparse|libdescent_cuda'
run_args=(train)
if [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ]; then
    echo "note: this machine has a GPU; the runs below use --device cpu"
    run_args+=(--device cpu)
fi
sanitized=${DESCENT_TEST_SANITIZED:-0}

# 1. Nothing CUDA among the program's own dependencies.
if needed=$(LD_TRACE_LOADED_OBJECTS=1 "$DESCENT" 2>&1) && ! grep -Eq "$cuda_libs" <<<"$needed"; then
    pass "links_no_cuda_library"
else
    fail "links_no_cuda_library" "$needed"
fi

# 2. Nothing CUDA opened at run time either.
LD_DEBUG=files "$DESCENT" "${run_args[@]}" >out.txt 2>ld.txt
rc=$?
opened=$(grep -E "file=" ld.txt | grep -E "$cuda_libs")
if [ $rc -eq 0 ] && grep -q "final loss" out.txt && [ -z "$opened" ]; then
    pass "loads_no_cuda_library"
else
    fail "loads_no_cuda_library" "exit $rc" "$opened" "$(grep -v 'file=\|^ *[0-9]*:' ld.txt | tail -5)"
fi

if [ "$sanitized" = 1 ]; then
    echo "note: sanitized build: the address-space and time checks are skipped"
else
    # 3. Fits in 500 MB of address space.
    (ulimit -v 500000 && exec "$DESCENT" "${run_args[@]}") >out.txt 2>err.txt
    rc=$?
    if [ $rc -eq 0 ] && grep -q "final loss" out.txt; then
        pass "runs_under_ulimit_v_500000"
    else
        fail "runs_under_ulimit_v_500000" "exit $rc" "$(tail -5 err.txt)"
    fi

    # 4. Wall time, start to finish: the best of 5 (this is a shared machine).
    limit_ms=${DESCENT_STARTUP_LIMIT_MS:-50}
    best_us=
    for _ in 1 2 3 4 5; do
        t0=$(date +%s%N)
        "$DESCENT" "${run_args[@]}" >/dev/null 2>&1
        t1=$(date +%s%N)
        us=$(( (t1 - t0) / 1000 ))
        if [ -z "$best_us" ] || [ "$us" -lt "$best_us" ]; then best_us=$us; fi
    done
    echo "descent ${run_args[*]}: best of 5 runs $((best_us / 1000)).$(printf '%03d' $((best_us % 1000))) ms (limit $limit_ms ms)"
    if [ "$best_us" -lt $((limit_ms * 1000)) ]; then
        pass "finishes_under_${limit_ms}_ms"
    else
        fail "finishes_under_${limit_ms}_ms" "best of 5: $best_us us"
    fi
fi

cli_summary
