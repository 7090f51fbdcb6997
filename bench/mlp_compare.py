#!/usr/bin/python3
"""descent's MLP training step against PyTorch eager, the same shapes in the same session.

One step = forward, MSE loss, backward, Adam update of a 16 -> h -> 1 tanh net over a batch
of b rows (f32), as bench_mlp runs it through descent's training loop; PyTorch 1.13 eager with
torch.nn.Sequential and torch.optim.Adam (foreach=False), torch.set_num_threads(T) for T =
OMP_NUM_THREADS (default 2). Prints a Markdown table and, with --json FILE, the raw numbers.

    /usr/bin/python3 bench/mlp_compare.py --bench build/bench/bench_mlp [--shapes 64x64,1024x256,16384x512]
                                          [--memory 16384x512]

With --memory (default 16384x512), also the peak memory the training steps add to a process
(peak resident set after the steps minus the resident set before the first), descent from
bench_mlp and PyTorch in a fresh process of its own.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    """This process image's peak resident set: VmHWM (ru_maxrss also counts the peak of the
    parent that forked it, which Linux carries across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def torch_step(batch, hidden, features=16):
    """PyTorch's side of one step, the data, net and optimizer made from seed 0."""
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
    return step


def torch_step_memory_mb(batch, hidden, steps=5):
    """In this (fresh) process: what PyTorch's steps add to its peak resident set."""
    step = torch_step(batch, hidden)
    before = current_rss_mb()
    for _ in range(steps):
        step()
    return peak_rss_mb() - before


def torch_step_us(batch, hidden, reps=5):
    step = torch_step(batch, hidden)
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
    ap.add_argument("--memory", default="16384x512",
                    help="shapes whose peak memory is compared, each in a fresh process")
    ap.add_argument("--torch-memory-of", help=argparse.SUPPRESS)  # the fresh process's job
    args = ap.parse_args()
    if args.torch_memory_of:
        b, h = map(int, args.torch_memory_of.split("x"))
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
        print(json.dumps({"torch_steps_peak_increase_mb": torch_step_memory_mb(b, h)}))
        return
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    shapes = [tuple(map(int, shape.split("x"))) for shape in args.shapes.split(",")]
    # descent's runs first: after a PyTorch run its OpenMP workers spin-wait for a while,
    # taking a core from whatever runs next on a 2-core machine.
    ours = []
    for b, h in shapes:
        out = subprocess.run([args.bench, "--batch", str(b), "--hidden", str(h), "--dtype", "f32"],
                             capture_output=True, text=True, env=env, check=True).stdout
        ours.append(json.loads(out.strip().splitlines()[-1]))
    rows = []
    for (b, h), mine in zip(shapes, ours):
        theirs = torch_step_us(b, h)
        rows.append({"batch": b, "hidden": h, "threads": threads,
                     "descent_us": mine["us_per_step_median"], "torch_us": theirs,
                     "torch_over_descent": theirs / mine["us_per_step_median"],
                     "descent_peak_rss_mb": mine["peak_rss_mb"]})
    memory = set(args.memory.split(",")) if args.memory else set()
    for r, mine in zip(rows, ours):
        if "%dx%d" % (r["batch"], r["hidden"]) not in memory:
            continue
        out = subprocess.run([sys.executable, __file__, "--bench", args.bench, "--torch-memory-of",
                              "%dx%d" % (r["batch"], r["hidden"])],
                             capture_output=True, text=True, env=env, check=True).stdout
        r["torch_steps_peak_increase_mb"] = json.loads(out)["torch_steps_peak_increase_mb"]
        r["descent_steps_peak_increase_mb"] = mine["steps_peak_increase_mb"]
    print("| batch x hidden | descent µs/step | PyTorch eager µs/step | PyTorch / descent |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print("| %d x %d | %.0f | %.0f | %.2f |" % (r["batch"], r["hidden"], r["descent_us"],
                                                 r["torch_us"], r["torch_over_descent"]))
    for r in rows:
        if "torch_steps_peak_increase_mb" in r:
            print("peak memory the steps add, %d x %d: descent %.1f MB, PyTorch %.1f MB" % (
                r["batch"], r["hidden"], r["descent_steps_peak_increase_mb"],
                r["torch_steps_peak_increase_mb"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
