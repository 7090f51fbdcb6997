#!/bin/bash
# Issue 12 item 7, in one run: the autodiff HVP against the gradient (MLP), a Newton-CG
# iteration against reads of X, and time to solution on linear MSE (n x 16, f32) for
# descent's newton, newton-cg, lbfgs and adam and for torch.optim.LBFGS on the same NPY file.
# Usage: bash bench/second_order.sh BUILD_DIR [N (default 10000000)] [MAX_SECONDS (60)]
set -euo pipefail
build=${1:?usage: bench/second_order.sh BUILD_DIR [N] [MAX_SECONDS]}
n=${2:-10000000}
max_seconds=${3:-60}
here=$(cd "$(dirname "$0")" && pwd)
bench="$build/bench/bench_second_order"
work=$(mktemp -d "${TMPDIR:-/tmp}/descent-second-order.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$bench" --mlp
"$bench" --mlp --batch 64 --hidden 64
"$bench" --newton-cg-step --n "$n" --d 16 --reps 6
"$bench" --newton-cg-step --n "$n" --d 16 --reps 6 --spread 30
# The data: 15 features N(0,1) and y = X w + 0.5 + 0.1 noise, f32, seeded.
/usr/bin/python3 - "$work/data.npy" "$n" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(16)
X = rng.standard_normal((n, 15), dtype=np.float32)
w = rng.standard_normal(15).astype(np.float32)
y = X @ w + np.float32(0.5) + np.float32(0.1) * rng.standard_normal(n, dtype=np.float32)
np.save(path, np.concatenate([X, y[:, None]], axis=1).astype(np.float32))
PY
"$bench" --solve --data "$work/data.npy" --max-seconds "$max_seconds"
/usr/bin/python3 "$here/torch_lbfgs_time.py" "$work/data.npy" "$max_seconds"
