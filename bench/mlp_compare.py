#!/usr/bin/python3
"""descent's MLP training step against PyTorch eager, the same shapes in the same session.

One step = forward, MSE loss, backward, Adam update of a 16 -> h -> 1 tanh net over a batch
of b rows (f32), as bench_mlp runs it through descent's training loop; PyTorch 1.13 eager with
torch.nn.Sequential and torch.optim.Adam (foreach=False), torch.set_num_threads(T) for T =
OMP_NUM_THREADS (default 2). Prints a Markdown table and, with --json FILE, the raw numbers.

    /usr/bin/python3 bench/mlp_compare.py --bench build/bench/bench_mlp [--shapes 64x64,1024x256,16384x512]
"""

import argparse
import json
import os
import subprocess
import time

import torch


def torch_step_us(batch, hidden, features=16, reps=5):
    torch.manual_seed(0)
    X = torch.randn(batch, features)
    y = torch.sin(X[:, 0]) + 0.1 * X[:, 1]
    net = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=False)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X).squeeze(1), y)
        loss.backward()
        opt.step()

    steps = max(3, 20000000 // (batch * hidden))
    for _ in range(3):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - t0) / steps * 1e6)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--shapes", default="64x64,1024x256,16384x512")
    ap.add_argument("--json")
    args = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    rows = []
    for shape in args.shapes.split(","):
        b, h = map(int, shape.split("x"))
        out = subprocess.run([args.bench, "--batch", str(b), "--hidden", str(h), "--dtype", "f32"],
                             capture_output=True, text=True, env=env, check=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])
        theirs = torch_step_us(b, h)
        rows.append({"batch": b, "hidden": h, "threads": threads,
                     "descent_us": ours["us_per_step_median"], "torch_us": theirs,
                     "torch_over_descent": theirs / ours["us_per_step_median"]})
    print("| batch x hidden | descent µs/step | PyTorch eager µs/step | PyTorch / descent |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print("| %d x %d | %.0f | %.0f | %.2f |" % (r["batch"], r["hidden"], r["descent_us"],
                                                 r["torch_us"], r["torch_over_descent"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
