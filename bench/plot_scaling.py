#!/usr/bin/python3
"""Plots time per epoch against n (log-log) from bench_linear's JSON lines, with the
memory-bandwidth floor measured in the same runs, to show where fixed costs dominate and
where the cost grows linearly with n*d.

  /usr/bin/python3 bench/plot_scaling.py results.jsonl out.png [--title TEXT]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: plot_scaling.py results.jsonl out.png [--title TEXT]")
    title = sys.argv[sys.argv.index("--title") + 1] if "--title" in sys.argv else "descent: time per epoch"
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
    rows = [r for r in rows if r.get("bench") == "epoch" and r["d"] == 16 and r["optimizer"] == "adam"]
    rows.sort(key=lambda r: r["n"])
    n = [r["n"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=150)
    ax.loglog(n, [r["epoch_ms_median"] for r in rows], "o-", label="descent epoch (Adam, fused step)")
    ax.loglog(n, [r["floor_ms"] for r in rows], "s--", label="floor: one read of X and y")
    ax.set_xlabel("rows n (d = 16, f32)")
    ax.set_ylabel("time per epoch (ms)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()
