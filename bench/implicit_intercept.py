"""What an implicit intercept costs per epoch on the CPU: `descent train --ones-column implicit`
(X the file's size, the ones column read as a constant) against `--ones-column stored` (the
column in X), same binary, same file, ratios from one run. An epoch's time is
(t(E + 1 epochs) - t(1 epoch)) / E, best of `--repeat` (loading, validation and start-up cancel).
Usage: python3 bench/implicit_intercept.py --cli build/descent [--epochs 200] [--repeat 3]
       [--model linear|logistic] [--optimizer adam]
Prints one JSON object per file shape."""

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

SHAPES = [(12_500_000, 1), (6_000_000, 3), (2_000_000, 16)]  # rows, features (f8 files)


def seconds(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", default="linear", choices=["linear", "logistic"])
    parser.add_argument("--optimizer", default="adam")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for rows, features in SHAPES:
            X = rng.standard_normal((rows, features))
            y = X @ rng.standard_normal(features) + 0.5 + 0.1 * rng.standard_normal(rows)
            if args.model == "logistic":
                y = (y > 0.5).astype(np.float64)
            path = os.path.join(tmp, f"{rows}x{features}.npy")
            np.save(path, np.column_stack([X, y]))
            del X, y
            result = {"rows": rows, "features": features, "model": args.model,
                      "optimizer": args.optimizer, "epochs": args.epochs}
            base = [args.cli, "train", "--data", path, "--device", "cpu", "--model", args.model,
                    "--optimizer", args.optimizer, "--quiet"]
            for how in ("stored", "implicit"):
                cmd = base + ["--ones-column", how]
                one = min(seconds(cmd + ["--epochs", "1"]) for _ in range(args.repeat))
                many = min(seconds(cmd + ["--epochs", str(args.epochs + 1)])
                           for _ in range(args.repeat))
                result[f"{how}_epoch_ms"] = (many - one) / args.epochs * 1e3
            result["implicit_over_stored"] = result["implicit_epoch_ms"] / result["stored_epoch_ms"]
            print(json.dumps(result), flush=True)
            os.remove(path)


if __name__ == "__main__":
    main()
