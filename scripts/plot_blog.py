#!/usr/bin/python3
"""Plot the blog experiment: loss curves and weight trajectories over the MSE surface.

Produces DIR/loss.png (loss vs epoch, log y-scale, one line per optimizer) and
DIR/trajectories.png (contours of mean((w0*x + w1 - y)^2) around the
least-squares optimum with each optimizer's path, start and optimum marked; each path has its
own colour, line style and markers, so coincident paths stay distinguishable, and an inset
zooms in on the optimum where the converging paths meet).

Usage / exact command:
    /usr/bin/python3 scripts/plot_blog.py --trajectories TRAJ.csv --data DATA.csv --out DIR

TRAJ.csv has the header `optimizer,epoch,w0,w1,loss` (epoch 0..N; loss may be
empty, e.g. for the final epoch); DATA.csv has the header `x,y` (the model is
y ~ w0*x + w1).  Each PNG is written to a temporary file inside DIR and then
moved into place with os.replace, so a failed run never leaves a half-written
PNG.  Output is deterministic (no timestamps in the PNG metadata).  On missing or
malformed input it exits with status 1 and a one-line message on stderr.
Needs numpy and matplotlib (uses the Agg backend; no display required).
"""

import argparse
import csv
import math
import os
import sys
import tempfile


class InputError(Exception):
    pass


def parse_float(text, where):
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        if "0x" in text.lower():  # also accept C99 / float.hex() hex floats
            try:
                return float.fromhex(text)
            except (ValueError, TypeError):
                pass
        raise InputError("%s: not a number: %r" % (where, text))


def read_csv(path, expected_header):
    if not os.path.isfile(path):
        raise InputError("%s: no such file" % path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError("%s: cannot read: %s" % (path, e))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError("%s: empty file" % path)
    header = [c.strip() for c in rows[0]]
    if header != expected_header:
        raise InputError("%s: header must be %r, got %r" % (path, ",".join(expected_header), ",".join(header)))
    body = rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(expected_header):
            raise InputError("%s:%d: expected %d fields, got %d" % (path, i + 2, len(expected_header), len(r)))
    return body


def read_data(path):
    body = read_csv(path, ["x", "y"])
    xs, ys = [], []
    for i, (xt, yt) in enumerate(body):
        where = "%s:%d" % (path, i + 2)
        x, y = parse_float(xt, where), parse_float(yt, where)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InputError("%s: non-finite value" % where)
        xs.append(x)
        ys.append(y)
    if len(xs) < 2 or min(xs) == max(xs):
        raise InputError("%s: need at least two distinct x values" % path)
    return xs, ys


def read_trajectories(path):
    body = read_csv(path, ["optimizer", "epoch", "w0", "w1", "loss"])
    runs = {}  # optimizer -> {epoch: (w0, w1, loss or None)}; insertion order kept
    for i, (name, et, w0t, w1t, lt) in enumerate(body):
        where = "%s:%d" % (path, i + 2)
        name = name.strip()
        if not name:
            raise InputError("%s: empty optimizer name" % where)
        try:
            epoch = int(et.strip())
        except ValueError:
            raise InputError("%s: epoch is not an integer: %r" % (where, et))
        if epoch < 0:
            raise InputError("%s: negative epoch" % where)
        w0, w1 = parse_float(w0t, where), parse_float(w1t, where)
        loss = parse_float(lt, where) if lt.strip() else None
        run = runs.setdefault(name, {})
        if epoch in run:
            raise InputError("%s: duplicate epoch %d for %s" % (where, epoch, name))
        run[epoch] = (w0, w1, loss)
    if not runs:
        raise InputError("%s: no trajectory rows" % path)
    return runs


def save_png(fig, out_dir, name):
    """Write fig to out_dir/name atomically (temp file in out_dir, then os.replace)."""
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=150, metadata={"Software": None})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; use normal file permissions
        os.replace(tmp, os.path.join(out_dir, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def plot(runs, xs, ys, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401  (used as matplotlib.ticker)
    from matplotlib import colors as mcolors
    import numpy as np

    x = np.asarray(xs)
    y = np.asarray(ys)
    A = np.stack((x, np.ones_like(x)), axis=1)
    w_opt = np.linalg.lstsq(A, y, rcond=None)[0]
    loss_opt = float(np.mean((A @ w_opt - y) ** 2))

    # validate everything before writing any file
    paths = {}
    for name, run in runs.items():
        pts = [(v[0], v[1]) for e, v in sorted(run.items())
               if math.isfinite(v[0]) and math.isfinite(v[1])]
        if pts:
            paths[name] = np.asarray(pts)
    if not paths:
        raise InputError("no finite trajectory points to plot")
    if not any(v[2] is not None and math.isfinite(v[2]) and v[2] > 0
               for run in runs.values() for v in run.values()):
        raise InputError("no positive finite loss values to plot")

    cmap = plt.get_cmap("tab10")
    colors = {name: cmap(i % 10) for i, name in enumerate(runs)}

    # ---- loss.png -------------------------------------------------------
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, run in runs.items():
        pts = [(e, v[2]) for e, v in sorted(run.items())
               if v[2] is not None and math.isfinite(v[2]) and v[2] > 0]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-", marker=".", ms=4,
                lw=1.6, color=colors[name], label=name)
    if loss_opt > 0:
        ax.axhline(loss_opt, color="0.3", ls="--", lw=1,
                   label="least-squares minimum (%.4g)" % loss_opt)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss (before the update)")
    ax.set_title("Loss vs epoch: linear regression on %d points" % len(xs))
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    ax.legend(fontsize=9)
    fig.tight_layout()
    save_png(fig, out_dir, "loss.png")
    plt.close(fig)

    # ---- trajectories.png ----------------------------------------------
    allpts = np.vstack(list(paths.values()) + [w_opt[None, :]])
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * np.maximum(1.0, np.abs(w_opt)))
    lo, hi = lo - 0.12 * span, hi + 0.12 * span

    g0 = np.linspace(lo[0], hi[0], 300)
    g1 = np.linspace(lo[1], hi[1], 300)
    W0, W1 = np.meshgrid(g0, g1)
    # mean((w0*x + w1 - y)^2) expanded in the sufficient statistics
    sxx, sx, sy = np.mean(x * x), np.mean(x), np.mean(y)
    sxy, syy = np.mean(x * y), np.mean(y * y)
    Z = (W0 ** 2 * sxx + 2 * W0 * W1 * sx + W1 ** 2 - 2 * W0 * sxy - 2 * W1 * sy + syy)
    Z = np.maximum(Z, loss_opt)  # rounding guard
    # log-spaced levels of the excess loss so the narrow valley shows detail
    excess = Z - loss_opt
    emax = float(excess.max())
    emin = max(emax * 1e-5, 1e-12)
    levels = loss_opt + np.geomspace(emin, emax, 24)
    levels = np.concatenate(([loss_opt], levels))

    # The whole paths on the left; on the right, zoomed, the neighbourhood of the optimum.
    fig, (ax, inset) = plt.subplots(1, 2, figsize=(14, 7.5), gridspec_kw={"width_ratios": [1.7, 1]})
    cf = ax.contourf(W0, W1, Z, levels=levels, cmap="viridis_r",
                     norm=mcolors.LogNorm(vmin=max(levels[1], 1e-300), vmax=levels[-1]),
                     extend="neither")
    ax.contour(W0, W1, Z, levels=levels[1:], colors="white", linewidths=0.4, alpha=0.6)
    cbar = fig.colorbar(cf, ax=ax)
    cbar.set_label("MSE loss  mean((w0*x + w1 - y)^2)")
    # readable ticks: 1-2-5 values inside the contoured range, plus the minimum
    vmin, vmax = levels[1], levels[-1]
    ticks = [m * 10.0 ** k for k in range(int(math.floor(math.log10(vmin))) - 1,
                                         int(math.ceil(math.log10(vmax))) + 1)
             for m in (1, 2, 5) if vmin <= m * 10.0 ** k <= vmax]
    cbar.set_ticks(sorted(set(ticks)))
    cbar.ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    cbar.ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())

    # later optimizers are drawn underneath earlier ones and the line styles
    # cycle, so coincident paths (e.g. the two Newton runs) both stay visible
    styles = ["-", "--", "-.", ":"]
    nruns = len(paths)
    for i, (name, p) in enumerate(paths.items()):
        c = colors[name]
        z = 4 + 2 * (nruns - i) / nruns
        ax.plot(p[:, 0], p[:, 1], "-", color="black", lw=3.0, alpha=0.25, zorder=3)
        ax.plot(p[:, 0], p[:, 1], styles[i % len(styles)], marker="o", ms=3, lw=2.0,
                color=c, label=name, zorder=z)
    starts = np.unique(np.vstack([p[:1] for p in paths.values()]), axis=0)
    ax.plot(starts[:, 0], starts[:, 1], "o", ms=10, mfc="white", mec="black", mew=2,
            ls="none", label="start", zorder=6)
    ax.plot([w_opt[0]], [w_opt[1]], "*", ms=18, mfc="gold", mec="black", mew=1.2,
            ls="none", label="least-squares optimum (%.3f, %.3f)" % (w_opt[0], w_opt[1]),
            zorder=7)
    # Near the optimum the paths crowd together (and their last steps are too small to see):
    # the right panel zooms in on the neighbourhood the converging runs end in.
    ends = np.vstack([p[-1:] for p in paths.values()] + [w_opt[None, :]])
    close = ends[np.all(np.abs(ends - w_opt) <= 0.15 * (hi - lo), axis=1)]
    zspan = np.maximum(close.max(axis=0) - close.min(axis=0), 0.02 * (hi - lo))
    zlo, zhi = w_opt - 1.5 * zspan, w_opt + 1.5 * zspan
    ig0, ig1 = np.linspace(zlo[0], zhi[0], 150), np.linspace(zlo[1], zhi[1], 150)
    IW0, IW1 = np.meshgrid(ig0, ig1)
    IZ = np.maximum(IW0 ** 2 * sxx + 2 * IW0 * IW1 * sx + IW1 ** 2 - 2 * IW0 * sxy - 2 * IW1 * sy + syy, loss_opt)
    inset.contourf(IW0, IW1, IZ, levels=20, cmap="viridis_r")
    for i, (name, p) in enumerate(paths.items()):
        inset.plot(p[:, 0], p[:, 1], styles[i % len(styles)], marker="o", ms=3, lw=1.5,
                   color=colors[name], zorder=4 + 2 * (nruns - i) / nruns)
    inset.plot([w_opt[0]], [w_opt[1]], "*", ms=12, mfc="gold", mec="black", zorder=7)
    inset.set_xlim(zlo[0], zhi[0])
    inset.set_ylim(zlo[1], zhi[1])
    inset.set_xlabel("w0 (slope)")
    inset.set_title("zoomed: near the optimum")
    from matplotlib.patches import Rectangle
    ax.add_patch(Rectangle((zlo[0], zlo[1]), zhi[0] - zlo[0], zhi[1] - zlo[1], fill=False,
                           edgecolor="black", lw=1.2, ls="--", zorder=8))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("w0 (slope)")
    ax.set_ylabel("w1 (intercept)")
    ax.set_title("Optimizer trajectories over the MSE surface")
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.8, -0.09),
              ncol=5, framealpha=0.95)
    fig.tight_layout()
    save_png(fig, out_dir, "trajectories.png")
    plt.close(fig)


class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("%s: error: %s (see --help)\n" % (self.prog, message))
        sys.exit(2)


def guarded(prog, body):
    """Runs body(); any failure is one line on stderr and exit status 1."""
    try:
        body()
    except InputError as e:
        sys.stderr.write("%s: error: %s\n" % (prog, e))
        return 1
    except Exception as e:  # anything unexpected: still one line, non-zero
        sys.stderr.write("%s: error: %s: %s\n" % (prog, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        return 1
    return 0


def main(argv=None):
    ap = OneLineArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trajectories", required=True, help="CSV: optimizer,epoch,w0,w1,loss")
    ap.add_argument("--data", required=True, help="CSV: x,y")
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args(argv)

    def body():
        runs = read_trajectories(args.trajectories)
        xs, ys = read_data(args.data)
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as e:
            raise InputError("%s: cannot create output directory: %s" % (args.out, e))
        plot(runs, xs, ys, args.out)
    return guarded("plot_blog.py", body)


if __name__ == "__main__":
    sys.exit(main())
