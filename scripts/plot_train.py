#!/usr/bin/python3
"""Plot one descent training run: its loss curves and, for two weights, its path over the loss.

Produces DIR/loss.png (the training loss of each epoch, log y-scale, and the validation loss
when there is one) and, with --trajectory, DIR/trajectory.png (the weights' path over the
contours of the MSE surface loss(w) = w'Aw - 2b'w + c given by --quadratic, the start and the
minimum marked, with a zoomed panel around the minimum when the last steps are too small to see).

Usage / exact command (descent train --plot DIR runs it):
    /usr/bin/python3 scripts/plot_train.py --losses LOSSES.csv [--trajectory TRAJ.csv
        --quadratic A00,A01,A11,B0,B1,C] --title TEXT --out DIR

LOSSES.csv has the header `epoch,loss,val_loss` (val_loss may be empty); TRAJ.csv has
`epoch,w0,w1` (epoch 0 is the start). PNGs are written atomically (a temporary file in DIR
renamed into place) and deterministically; bad input exits 1 with one line on stderr.
Needs numpy and matplotlib (Agg backend).
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_blog import (InputError, OneLineArgumentParser, guarded, parse_float,  # noqa: E402
                       read_csv, save_png)


def read_losses(path):
    rows = []
    for i, (et, lt, vt) in enumerate(read_csv(path, ["epoch", "loss", "val_loss"])):
        where = "%s:%d" % (path, i + 2)
        rows.append((int(et), parse_float(lt, where), parse_float(vt, where) if vt.strip() else None))
    if not rows:
        raise InputError("%s: no epochs" % path)
    return rows


def read_trajectory(path):
    pts = []
    for i, (et, at, bt) in enumerate(read_csv(path, ["epoch", "w0", "w1"])):
        where = "%s:%d" % (path, i + 2)
        pts.append((parse_float(at, where), parse_float(bt, where)))
    if not pts:
        raise InputError("%s: no points" % path)
    return pts


def plot(losses, trajectory, quadratic, title, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colors as mcolors
    import numpy as np

    # ---- loss.png -------------------------------------------------------
    fig, ax = plt.subplots(figsize=(8, 5.5))
    train = [(e, l) for e, l, _ in losses if math.isfinite(l) and l > 0]
    val = [(e + 1, v) for e, _, v in losses if v is not None and math.isfinite(v) and v > 0]
    if not train and not val:
        raise InputError("no positive finite loss to plot")
    if train:
        ax.plot([p[0] for p in train], [p[1] for p in train], "-", marker=".", ms=4, lw=1.6,
                label="training loss (before each epoch's update)")
    if val:
        ax.plot([p[0] for p in val], [p[1] for p in val], "--", marker="s", ms=3, lw=1.6,
                label="validation loss (after each epoch)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    ax.legend(fontsize=9)
    fig.tight_layout()
    save_png(fig, out_dir, "loss.png")
    plt.close(fig)
    if trajectory is None:
        return

    # ---- trajectory.png -------------------------------------------------
    a00, a01, a11, b0, b1, c = quadratic
    A = np.array([[a00, a01], [a01, a11]])
    b = np.array([b0, b1])
    try:
        w_min = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        raise InputError("--quadratic: the loss has no unique minimum (A is singular)")
    loss_min = float(c - b @ w_min)
    path = np.array([p for p in trajectory if math.isfinite(p[0]) and math.isfinite(p[1])])
    if len(path) == 0:
        raise InputError("no finite trajectory points to plot")

    def surface(lo, hi, n=300):
        g0, g1 = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
        W0, W1 = np.meshgrid(g0, g1)
        Z = a00 * W0 ** 2 + 2 * a01 * W0 * W1 + a11 * W1 ** 2 - 2 * (b0 * W0 + b1 * W1) + c
        return W0, W1, np.maximum(Z, loss_min)

    def levels_of(Z):
        excess = Z - loss_min
        emax = float(excess.max())
        emin = max(emax * 1e-5, 1e-12)
        return loss_min + np.concatenate(([0.0], np.geomspace(emin, emax, 24)))

    pts = np.vstack([path, w_min[None, :]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * np.maximum(1.0, np.abs(w_min)))
    lo, hi = lo - 0.12 * span, hi + 0.12 * span
    W0, W1, Z = surface(lo, hi)
    levels = levels_of(Z)
    # Zoomed on the right when the last steps are too small to see at the whole path's scale.
    tail = path[-max(3, len(path) // 5):]
    near = np.vstack([tail, w_min[None, :]])
    zlo, zhi = near.min(axis=0), near.max(axis=0)
    zspan = np.maximum(zhi - zlo, 1e-6 * np.maximum(1.0, np.abs(w_min)))
    zlo, zhi = zlo - 0.25 * zspan, zhi + 0.25 * zspan
    zoom = bool(np.all(zspan < 0.25 * (hi - lo)))
    if zoom:
        fig, (ax, inset) = plt.subplots(1, 2, figsize=(14, 7.5), gridspec_kw={"width_ratios": [1.7, 1]})
    else:
        fig, ax = plt.subplots(figsize=(9, 7.5))
    norm = mcolors.LogNorm(vmin=max(levels[1], 1e-300), vmax=levels[-1])
    cf = ax.contourf(W0, W1, Z, levels=levels, cmap="viridis_r", norm=norm)
    ax.contour(W0, W1, Z, levels=levels[1:], colors="white", linewidths=0.4, alpha=0.6)
    fig.colorbar(cf, ax=ax).set_label("MSE loss")
    ax.plot(path[:, 0], path[:, 1], "-", color="black", lw=3.0, alpha=0.25, zorder=3)
    ax.plot(path[:, 0], path[:, 1], "-", marker="o", ms=3, lw=2.0, color="tab:red",
            label="weights, epoch by epoch", zorder=4)
    ax.plot([path[0, 0]], [path[0, 1]], "o", ms=10, mfc="white", mec="black", mew=2,
            label="start", zorder=5)
    ax.plot([w_min[0]], [w_min[1]], "*", ms=18, mfc="gold", mec="black", mew=1.2,
            label="minimum (%.4g, %.4g)" % (w_min[0], w_min[1]), zorder=6)
    if zoom:
        from matplotlib.patches import Rectangle
        IW0, IW1, IZ = surface(zlo, zhi, 150)
        inset.contourf(IW0, IW1, IZ, levels=levels_of(IZ), cmap="viridis_r")
        inset.plot(path[:, 0], path[:, 1], "-", marker="o", ms=3, lw=1.5, color="tab:red")
        inset.plot([w_min[0]], [w_min[1]], "*", ms=12, mfc="gold", mec="black")
        inset.set_xlim(zlo[0], zhi[0])
        inset.set_ylim(zlo[1], zhi[1])
        inset.set_xlabel("w0")
        inset.set_title("zoomed: near the minimum")
        ax.add_patch(Rectangle((zlo[0], zlo[1]), zhi[0] - zlo[0], zhi[1] - zlo[1], fill=False,
                               edgecolor="black", lw=1.2, ls="--", zorder=8))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("w0")
    ax.set_ylabel("w1")
    ax.set_title(title)
    ax.legend(fontsize=9, loc="lower left")
    fig.tight_layout()
    save_png(fig, out_dir, "trajectory.png")
    plt.close(fig)


def main(argv=None):
    ap = OneLineArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--losses", required=True)
    ap.add_argument("--trajectory")
    ap.add_argument("--quadratic")
    ap.add_argument("--title", default="descent train")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    def body():
        losses = read_losses(args.losses)
        trajectory = quadratic = None
        if args.trajectory:
            if not args.quadratic:
                raise InputError("--trajectory needs --quadratic")
            trajectory = read_trajectory(args.trajectory)
            quadratic = [parse_float(t, "--quadratic") for t in args.quadratic.split(",")]
            if len(quadratic) != 6:
                raise InputError("--quadratic takes 6 numbers")
        os.makedirs(args.out, exist_ok=True)
        plot(losses, trajectory, quadratic, args.title, args.out)
    return guarded("plot_train.py", body)


if __name__ == "__main__":
    sys.exit(main())
