#!/usr/bin/python3
"""Times one full-batch Adam epoch of linear regression three ways, in the same run:
descent (bench_linear, the fused one-pass step), the blog's numpy code (its LinearModelTrainer
step and Adam update), and idiomatic PyTorch (autograd + torch.optim.Adam). Prints a table
with times per epoch, ratios to descent, and descent's ratio to the memory floor; writes
the raw results as JSON.

  /usr/bin/python3 bench/compare.py --bench build-bench/bench/bench_linear \
      --sizes 1000000x16,10000000x16,10000000x2 [--device cpu|cuda] [--reps 10] [--json out.json]

numpy and PyTorch get the same shapes and dtype (f32) on fresh data of their own RNG (the
timing does not depend on the values). On the cpu, PyTorch is limited to the same threads as
descent (OMP_NUM_THREADS, default: all cores).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def time_reps(step, reps, warmup, sync=lambda: None):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def numpy_blog_epoch(n, d, reps, warmup):
    """The blog's trainer step and AdamOptimizer.step, as written apart from einops and an
    eps in the denominator (the blog has none; from zero weights 0/0 would give NaN)."""
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    weights = np.zeros(d, dtype=np.float32)
    grad_sum = np.zeros_like(weights).reshape(1, -1)
    grad_sq_sum = np.zeros_like(weights).reshape(1, -1)
    lr, b1, b2 = 1e-3, 0.9, 0.99

    def step():
        nonlocal grad_sum, grad_sq_sum
        preds = X @ weights
        loss = np.mean((preds - y) ** 2)  # recorded by the blog's trainer
        mse_grad = (2 * (preds - y) / len(preds)).reshape(-1, 1)
        grad = mse_grad.transpose() @ X
        grad_sum = (1 - b1) * grad + b1 * grad_sum
        grad_sq_sum = (1 - b2) * grad ** 2 + b2 * grad_sq_sum
        weights[:] -= (lr * grad_sum / (np.sqrt(grad_sq_sum) + 1e-8)).reshape(-1)
        return loss

    return time_reps(step, reps, warmup)


def torch_epoch(n, d, device, reps, warmup):
    import torch
    if device == "cpu" and "OMP_NUM_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    g = torch.Generator(device=device).manual_seed(0)
    X = torch.randn(n, d, generator=g, device=device, dtype=torch.float32)
    y = torch.randn(n, generator=g, device=device, dtype=torch.float32)
    w = torch.zeros(d, device=device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=1e-3)

    def step():
        opt.zero_grad()
        loss = ((X @ w - y) ** 2).mean()
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return time_reps(step, reps, warmup, sync)


def descent_epoch(bench, n, d, device, reps):
    out = subprocess.run([bench, "--n", str(n), "--d", str(d), "--dtype", "f32", "--device",
                          device, "--optimizer", "adam", "--reps", str(reps)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="path to bench_linear")
    ap.add_argument("--sizes", default="1000000x16,10000000x16,10000000x2")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--skip-numpy", action="store_true")
    ap.add_argument("--json", help="write the raw results here")
    args = ap.parse_args()

    rows = []
    for size in args.sizes.split(","):
        n, d = (int(v) for v in size.split("x"))
        r = {"n": n, "d": d, "device": args.device}
        r["descent"] = descent_epoch(args.bench, n, d, args.device, args.reps)
        r["descent_ms"] = r["descent"]["epoch_ms_median"]
        r["torch_ms"] = 1e3 * torch_epoch(n, d, args.device, args.reps, 2)
        if not args.skip_numpy:
            r["numpy_ms"] = 1e3 * numpy_blog_epoch(n, d, args.reps, 2)
        rows.append(r)
        print(f"# done {n}x{d}", file=sys.stderr, flush=True)

    print(f"{'n x d':>14} {'device':>6} {'descent ms':>11} {'floor ms':>9} {'x floor':>8} "
          f"{'torch ms':>9} {'torch/descent':>13} {'numpy ms':>9} {'numpy/descent':>13}")
    for r in rows:
        numpy_ms = r.get("numpy_ms")
        print(f"{r['n']:>10}x{r['d']:<3} {r['device']:>6} {r['descent_ms']:>11.3f} "
              f"{r['descent']['floor_ms']:>9.3f} {r['descent']['ratio_to_floor']:>8.3f} "
              f"{r['torch_ms']:>9.3f} {r['torch_ms'] / r['descent_ms']:>13.1f} "
              + (f"{numpy_ms:>9.3f} {numpy_ms / r['descent_ms']:>13.1f}" if numpy_ms else
                 f"{'-':>9} {'-':>13}"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
