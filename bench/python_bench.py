"""Python binding speed (issue 17 item 6), ratios from one run:
  1. calling overhead: microseconds per call of small ops on 1-element tensors from Python
     (descent's binding, and torch eager's in the same run when torch is importable);
  2. LinearRegression(optimizer="adam").fit on an n x 16 float32 numpy array against the
     descent CLI training on the same data (an .npy file of the same values), wall time.
Usage: python bench/python_bench.py --cli build/descent [--rows 10000000] [--epochs 20]
(with the package importable: the venv of scripts/python_test.sh, or PYTHONPATH=<build>/python).
Prints a JSON object."""

import argparse
import json
import os
import subprocess
import tempfile
import time
import timeit

import numpy as np

import descent


def per_call_us(stmt, namespace, number=200000, repeat=5):
    times = timeit.repeat(stmt, globals=namespace, number=number, repeat=repeat)
    return min(times) / number * 1e6


def overhead():
    a = descent.tensor([1.0])
    b = descent.tensor([2.0])
    ns = {"a": a, "b": b, "descent": descent}
    out = {
        "numel (no op: the binding alone)": per_call_us("a.numel()", ns),
        "a + b": per_call_us("a + b", ns),
        "descent.exp(a)": per_call_us("descent.exp(a)", ns),
        "a * 2.0": per_call_us("a * 2.0", ns),
    }
    try:
        import torch
        torch.set_num_threads(descent.get_num_threads())
        ta, tb = torch.tensor([1.0], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
        tns = {"a": ta, "b": tb, "torch": torch}
        out["torch a + b"] = per_call_us("a + b", tns)
        out["torch.exp(a)"] = per_call_us("torch.exp(a)", tns)
    except ImportError:
        pass
    return out


def fit_against_cli(cli, rows, epochs, d=16):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, d), dtype=np.float32)
    w = rng.standard_normal(d).astype(np.float32)
    y = (X @ w + np.float32(0.5) + np.float32(0.1) * rng.standard_normal(rows, dtype=np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npy")
        np.save(path, np.column_stack([X, y]))
        def cli_seconds(epochs):
            cmd = [cli, "train", "--data", path, "--dtype", "f32", "--optimizer", "adam", "--lr",
                   "0.01", "--epochs", str(epochs), "--quiet"]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            return time.perf_counter() - start

        def fit_seconds(epochs):
            est = descent.LinearRegression(optimizer="adam", lr=0.01, epochs=epochs)
            start = time.perf_counter()
            est.fit(X, y)
            return time.perf_counter() - start

        cli_seconds(2)  # warm the page cache
        runs = {k: [] for k in ("cli", "fit", "cli_short", "fit_short")}
        for _ in range(3):
            runs["cli"].append(cli_seconds(epochs))
            runs["fit"].append(fit_seconds(epochs))
            runs["cli_short"].append(cli_seconds(2))
            runs["fit_short"].append(fit_seconds(2))
    best = {k: min(v) for k, v in runs.items()}
    # The whole call (the CLI also reads the file), and the cost of an epoch alone: the
    # difference between `epochs` and 2 epochs, per epoch (loading and validation cancel).
    cli_epoch = (best["cli"] - best["cli_short"]) / (epochs - 2)
    fit_epoch = (best["fit"] - best["fit_short"]) / (epochs - 2)
    return {"rows": rows, "features": d, "epochs": epochs,
            "cli_seconds": best["cli"], "fit_seconds": best["fit"],
            "fit_over_cli": best["fit"] / best["cli"],
            "cli_epoch_ms": cli_epoch * 1e3, "fit_epoch_ms": fit_epoch * 1e3,
            "fit_epoch_over_cli_epoch": fit_epoch / cli_epoch}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    # The fit first: once torch has run, its OpenMP workers spin and take a core from descent.
    fit = fit_against_cli(args.cli, args.rows, args.epochs)
    result = {"threads": descent.get_num_threads(), "fit": fit, "overhead_us": overhead()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
