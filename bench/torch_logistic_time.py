#!/usr/bin/python3
"""Idiomatic PyTorch's full-batch epoch of logistic regression, the reference for
bench_linear --loss logistic: binary_cross_entropy_with_logits(X @ w, y) + backward + an Adam
step (torch.optim.Adam's defaults, as descent's adam), f32, on the cpu with `--threads`
threads. X (n, d) is standard normal and y (n) 0/1 from torch's own RNG (the timing does not
depend on the values).

With --bench, descent's epoch (bench_linear --loss logistic, same n, d, dtype, threads and
optimizer) is timed in the same run: the two alternate for --rounds rounds, so both see the
same state of a shared machine, and the medians over the rounds are compared. Prints one JSON
line: torch's epoch, descent's epoch, its memory floor and ratio to it, and torch / descent.

  /usr/bin/python3 bench/torch_logistic_time.py --bench build/bench/bench_linear \\
      [--n 10000000] [--d 16] [--threads 2] [--reps 7] [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import torch


def torch_epoch_ms(X, y, w, opt, reps, warmup=2):
    def step():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def descent_epoch(bench, n, d, threads, reps):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([bench, "--n", str(n), "--d", str(d), "--dtype", "f32", "--loss",
                          "logistic", "--optimizer", "adam", "--reps", str(reps)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", help="path to bench_linear: also time descent, alternating")
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(args.n, args.d, generator=g, dtype=torch.float32)
    y = (torch.rand(args.n, generator=g) < 0.5).to(torch.float32)
    w = torch.zeros(args.d, requires_grad=True)
    opt = torch.optim.Adam([w])

    torch_ms, descent = [], []
    for _ in range(args.rounds):
        torch_ms.append(torch_epoch_ms(X, y, w, opt, args.reps))
        if args.bench:
            descent.append(descent_epoch(args.bench, args.n, args.d, args.threads, args.reps))
    out = {"bench": "logistic_epoch_vs_torch", "n": args.n, "d": args.d, "dtype": "f32",
           "threads": args.threads, "torch": torch.__version__,
           "torch_epoch_ms_median": statistics.median(torch_ms),
           "torch_epoch_ms_rounds": torch_ms}
    if descent:
        epoch = statistics.median(r["epoch_ms_median"] for r in descent)
        out.update({
            "descent_epoch_ms_median": epoch,
            "descent_epoch_ms_rounds": [r["epoch_ms_median"] for r in descent],
            "floor_ms_median": statistics.median(r["floor_ms"] for r in descent),
            "ratio_to_floor_median": statistics.median(r["ratio_to_floor"] for r in descent),
            "torch_over_descent": out["torch_epoch_ms_median"] / epoch,
        })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
