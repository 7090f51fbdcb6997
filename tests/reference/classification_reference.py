#!/usr/bin/python3
"""Independent reference: logistic and softmax regression trained by torch.optim and Newton,
and the logistic optimum from scikit-learn.

Produces three fixtures in tests/reference/fixtures/ (or in OUTPUT_DIR if one is given):

  torch_logistic.txt  50-step trajectories of gd, momentum (and nesterov), adam (and amsgrad,
                      weight_decay) and newton (lr 1 / damping 0 and lr 0.5 / damping 1e-3) on
                      two seeded logistic data sets, from zeros and from a small random init;
                      long runs to the optimum; loss and gradient at extreme logits (|z| ~ 1e4)
  torch_softmax.txt   50-step trajectories of adam (and gd) on a seeded 3-class softmax data
                      set; loss and gradient at extreme logits
  sklearn_logistic.txt  sklearn.linear_model.LogisticRegression(penalty=None,
                      fit_intercept=False, tol=1e-12, max_iter=10000) with solver 'lbfgs' and
                      with solver 'newton-cholesky' on the two logistic data sets, the optimum
                      polished by numpy Newton steps, and each coef_'s distance to it.
                      scikit-learn 1.2.1's lbfgs passes tol as gtol only and leaves scipy's
                      ftol at 2.2e-9, so it stops ~1e-5 from the optimum whatever tol is;
                      newton-cholesky honours tol and lands within 1e-12.

The models (float64; the last column of X is all ones, the intercept):
  logistic  X (n, d), y in {0, 1}, w (d,), z = X w,
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y) (mean)
                 = mean(max(z, 0) - z y + log1p(exp(-|z|)))
            gradient X^T (sigmoid(z) - y) / n, Hessian X^T diag(p (1 - p)) X / n, p = sigmoid(z)
  softmax   X (n, d), labels in 0..k-1, W (d, k) row-major, logits X @ W (n, k),
            loss = torch.nn.functional.cross_entropy(X @ W, labels) (mean)

Optimizers: torch 1.13's torch.optim.SGD / Adam with foreach=False (the single-tensor path),
one parameter tensor (w (d,) or W (d, k)), loop
    opt.zero_grad(); loss = f(w); loss.backward(); record w, loss, w.grad; opt.step()
Newton (written here, torch has none):
    w_{k+1} = w_k - lr * torch.linalg.solve(H(w_k) + damping I, g(w_k))
with g from torch.autograd.grad and H from torch.autograd.functional.hessian, both checked
against the closed forms.

Before writing, the script checks: torch's loss and gradient at every iterate against the
stable closed forms (and the Hessian at w_0, w_25, w_50, and at every Newton step), that the
logistic data are not linearly separable (scipy's linprog), that the undamped Newton runs
converge (finite weights, max |g_50| <= 1e-15), that gd and Newton decrease the loss at every
step (Newton: up to rounding once converged), that the update formulas of
src/shared/optim_rules.hpp, replayed in numpy on the recorded gradients, give torch's
weights bit for bit, that the polished optimum's gradient is below 1e-15 and sklearn's coef_
is near it (newton-cholesky 1e-9, lbfgs 1e-4), that each long run ends within 1e-6 of the
newton-cholesky coef_, and the trajectories' sensitivity to 2^-52 relative noise in every
gradient (written in each case's last comment; must stay below 1e-11).

It imports curvature_problems.py first, which sets ATEN_CPU_CAPABILITY=default before torch
is imported (portable kernels, no fused multiply-add); pin_torch() checks it and uses one
thread.  Output is deterministic.  Floats are float.hex().

Regenerate (from the repository root; sklearn is Debian's python3-sklearn):
    /usr/bin/python3 tests/reference/classification_reference.py [OUTPUT_DIR]
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import curvature_problems as cp  # noqa: E402  (sets ATEN_CPU_CAPABILITY, then imports torch)

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.optimize  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PROG = "classification_reference.py"
F64 = torch.float64
SEED = 61300
STEPS = 50
INIT_SCALE = 0.1
hx, vals = cp.hx, cp.vals


def fail(msg):
    raise SystemExit("%s: %s" % (PROG, msg))


# --- data -----------------------------------------------------------------------------------

class Data:
    """One data set: name, model ('logistic' | 'softmax'), X (n, d) with a ones column last,
    y (float 0/1) or labels (int64), k = columns of the weights (1 for logistic)."""

    def __init__(self, name, model, X, y, k, note):
        self.name, self.model, self.X, self.y, self.k, self.note = name, model, X, y, k, note
        self.n, self.d = X.shape

    def loss(self, w):
        if self.model == "logistic":
            return F.binary_cross_entropy_with_logits(self.X @ w, self.y)
        return F.cross_entropy(self.X @ w, self.y)

    def shape(self):
        return (self.d,) if self.model == "logistic" else (self.d, self.k)


def with_ones(feats):
    return torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=F64)], dim=1)


def make_logistic(idx, name, n, features, scale):
    g = torch.Generator().manual_seed(SEED + idx)
    X = with_ones(torch.randn(n, features, generator=g, dtype=F64))
    w_true = scale * torch.randn(features + 1, generator=g, dtype=F64)
    u = torch.rand(n, generator=g, dtype=F64)
    y = (u < torch.sigmoid(X @ w_true)).to(F64)  # y ~ Bernoulli(sigmoid(X w_true))
    note = ("X[:, :%d] ~ N(0, 1), X[:, %d] = 1; w_true = %g N(0, 1); y = (U(0,1) < sigmoid(X w_true)); "
            "torch.Generator seed %d" % (features, features, scale, SEED + idx))
    return Data(name, "logistic", X, y, 1, note), w_true


def make_softmax(idx, name, n, features, k, scale):
    g = torch.Generator().manual_seed(SEED + idx)
    X = with_ones(torch.randn(n, features, generator=g, dtype=F64))
    W_true = scale * torch.randn(features + 1, k, generator=g, dtype=F64)
    u = torch.rand(n, generator=g, dtype=F64)
    cdf = torch.cumsum(torch.softmax(X @ W_true, dim=1), dim=1)
    labels = torch.clamp((cdf < u[:, None]).sum(dim=1), max=k - 1).to(torch.int64)  # inverse CDF
    note = ("X[:, :%d] ~ N(0, 1), X[:, %d] = 1; W_true = %g N(0, 1) (%d, %d); label = inverse CDF of "
            "softmax(X W_true) at U(0,1); torch.Generator seed %d" % (features, features, scale, features + 1, k,
                                                                      SEED + idx))
    return Data(name, "softmax", X, labels, k, note), W_true


def init_weights(data, kind, idx):
    if kind == "zeros":
        return torch.zeros(data.shape(), dtype=F64)
    g = torch.Generator().manual_seed(SEED + 1000 + idx)
    return INIT_SCALE * torch.randn(data.shape(), generator=g, dtype=F64)


def data_lines(data):
    out = ["data %s %s %d %d %d" % (data.name, data.model, data.n, data.d, data.k),
           "# " + data.note,
           "X " + vals(data.X)]
    if data.model == "logistic":
        out.append("y " + vals(data.y))
    else:
        out.append("labels " + " ".join(str(int(v)) for v in data.y.tolist()))
        out.append("# class counts: %s" % " ".join(str(int((data.y == c).sum())) for c in range(data.k)))
    out.append("end")
    return out


# --- closed forms (numpy) and checks -------------------------------------------------------

def np_sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def logistic_closed(X, y, w):
    """f, g, H of the mean BCE with logits, in numpy."""
    z = X @ w
    n = X.shape[0]
    f = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    p = np_sigmoid(z)
    g = X.T @ (p - y) / n
    H = (X * (p * (1.0 - p))[:, None]).T @ X / n
    return f, g, H


def softmax_closed(X, labels, W):
    Z = X @ W
    m = Z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
    n = X.shape[0]
    f = np.mean(lse - Z[np.arange(n), labels])
    P = np.exp(Z - lse[:, None])
    P[np.arange(n), labels] -= 1.0
    return f, X.T @ P / n


def close(a, b, rel, what, floor=1e-300):
    """max |a - b| <= rel * max(max |b|, floor); returns the relative error."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(floor, float(np.max(np.abs(b))) if b.size else 1.0)
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    if not err <= rel * scale:
        fail("%s: torch and the closed form differ by %.3g (scale %.3g)" % (what, err, scale))
    return err / scale


def check_point(data, w, what, hessian=False):
    """torch's f and gradient (and Hessian) at w against the closed forms; returns f, g (torch)."""
    wt = w.detach().clone().requires_grad_(True)
    loss = data.loss(wt)
    (g,) = torch.autograd.grad(loss, wt)
    X, wn = data.X.numpy(), w.detach().numpy()
    if data.model == "logistic":
        f_c, g_c, H_c = logistic_closed(X, data.y.numpy(), wn)
    else:
        f_c, g_c = softmax_closed(X, data.y.numpy(), wn)
    close([loss.item()], [f_c], 1e-13, "%s: loss" % what)
    close(g.numpy(), g_c, 1e-12, "%s: gradient" % what, floor=1e-3)  # at an optimum g is noise
    if hessian:
        H = torch.autograd.functional.hessian(data.loss, w.detach().clone())
        close(H.numpy(), H_c, 1e-12, "%s: Hessian" % what)
    return loss.item(), g


def check_not_separable(data):
    """No w with s_i (x_i . w) >= 1 for all i, s = 2 y - 1 (LP infeasible): the optimum exists."""
    X, s = data.X.numpy(), 2.0 * data.y.numpy() - 1.0
    res = scipy.optimize.linprog(np.zeros(data.d), A_ub=-(s[:, None] * X), b_ub=-np.ones(data.n),
                                 bounds=[(None, None)] * data.d, method="highs")
    if res.status != 2:
        fail("data %s is linearly separable (linprog status %d)" % (data.name, res.status))


# --- runs ------------------------------------------------------------------------------------

OPTIMIZERS = {"gd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam}


def option_lines(opts):
    out = []
    for key, v in opts.items():
        if isinstance(v, bool):
            out.append("option %s %d" % (key, int(v)))
        else:
            out.append("option %s %s" % (key, hx(v)))
    return out


def torch_kwargs(opts):
    """The project's option names -> torch's constructor arguments."""
    kw = dict(opts)
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    kw["foreach"] = False
    return kw


def run_torch(data, optimizer, opts, w0, steps, noise=None):
    """[(w_k, loss_k, grad_k) for k = 0..steps], final opt.state, effective param_group.
    noise: a numpy Generator; multiplies each gradient by (1 + 2^-52 N(0,1)) (sensitivity)."""
    w = w0.clone().requires_grad_(True)
    opt = OPTIMIZERS[optimizer]([w], **torch_kwargs(opts))
    group = {key: v for key, v in opt.param_groups[0].items() if key != "params"}
    rec = []
    for k in range(steps + 1):
        opt.zero_grad()
        loss = data.loss(w)
        loss.backward()
        if noise is not None:
            with torch.no_grad():
                w.grad.mul_(torch.from_numpy(1.0 + 2.0 ** -52 * noise.standard_normal(w.shape)))
        rec.append((w.detach().clone(), loss.item(), w.grad.detach().clone()))
        if not torch.isfinite(w).all():
            fail("%s %s diverged" % (data.name, optimizer))
        if k < steps:
            opt.step()
    return rec, opt.state[w], group


def run_newton(data, opts, w0, steps, noise=None, check=True):
    """Newton with torch's gradient and Hessian; [(w_k, loss_k, grad_k)], max Hessian check error."""
    lr, damping = opts["lr"], opts["damping"]
    w = w0.clone()
    rec, herr = [], 0.0
    eye = torch.eye(data.d, dtype=F64)
    for k in range(steps + 1):
        wt = w.clone().requires_grad_(True)
        loss = data.loss(wt)
        (g,) = torch.autograd.grad(loss, wt)
        if noise is not None:
            g = g * torch.from_numpy(1.0 + 2.0 ** -52 * noise.standard_normal(g.shape))
        rec.append((w.clone(), loss.item(), g.clone()))
        if not torch.isfinite(w).all():
            fail("%s newton diverged" % data.name)
        if k == steps:
            break
        H = torch.autograd.functional.hessian(data.loss, w.clone())
        if check:
            _, _, H_c = logistic_closed(data.X.numpy(), data.y.numpy(), w.numpy())
            herr = max(herr, close(H.numpy(), H_c, 1e-12, "%s newton Hessian at step %d" % (data.name, k)))
        A = H + damping * eye
        x = torch.linalg.solve(A, g)
        res = float((A @ x - g).abs().max() / max(g.abs().max().item(), 1e-300))
        if check and not res <= 1e-12:
            fail("%s newton: solve residual %.3g" % (data.name, res))
        w = w - lr * x
    return rec, herr


def run(data, optimizer, opts, w0, steps, noise=None, check=True):
    if optimizer == "newton":
        rec, herr = run_newton(data, opts, w0, steps, noise, check)
        return rec, None, {"lr": opts["lr"], "damping": opts["damping"]}, herr
    rec, state, group = run_torch(data, optimizer, opts, w0, steps, noise)
    return rec, state, group, 0.0


def replay(optimizer, opts, rec):
    """The update formulas of src/shared/optim_rules.hpp (Preset::torch; sgd_update,
    adam_update), in numpy float64 with every operation rounded separately, fed with the
    recorded gradients: the weights must equal torch's bit for bit."""
    import math
    w = rec[0][0].numpy().copy()
    buf, m, v, vmax = None, np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    lr, wd = opts["lr"], opts.get("weight_decay", 0.0)
    for k in range(len(rec) - 1):
        g = rec[k][2].numpy().copy()
        if optimizer in ("gd", "momentum"):
            d = g if wd == 0.0 else g + wd * w
            mom = opts.get("momentum", 0.0)
            if mom != 0.0:
                buf = d.copy() if buf is None else buf * mom + (1.0 - 0.0) * d  # dampening 0
                d = d + mom * buf if opts.get("nesterov", False) else buf
            w = w + (-lr) * d
        else:
            b1, b2, eps = opts["beta1"], opts["beta2"], opts["eps"]
            if wd != 0.0:
                g = g + wd * w
            step = float(k + 1)
            step_lr = lr / (1.0 - math.pow(b1, step))
            bc2_sqrt = math.sqrt(1.0 - math.pow(b2, step))
            m = m * b1 + (1.0 - b1) * g
            v = v * b2 + (1.0 - b2) * g * g
            second = v
            if opts.get("amsgrad", False):
                vmax = np.maximum(vmax, v)
                second = vmax
            w = w + (-step_lr) * m / (np.sqrt(second) / bc2_sqrt + eps)
        if not np.array_equal(w, rec[k + 1][0].numpy()):
            return k + 1
    return 0


def state_lines(state):
    out = []
    for key, v in state.items():
        if v is None:
            out.append("# state %s None" % key)
        elif key == "step":
            out.append("state step %s" % hx(v.item() if torch.is_tensor(v) else v))
        else:
            out.append("state %s %s" % (key, vals(v)))
    return out


# --- the cases -------------------------------------------------------------------------------

GD = {"lr": 0.5}
MOM = {"lr": 0.1, "momentum": 0.9}
NEST = {"lr": 0.1, "momentum": 0.9, "nesterov": True}
ADAM = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
AMS = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": True}
ADAM_WD = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
NEWTON = {"lr": 1.0, "damping": 0.0}
NEWTON_D = {"lr": 0.5, "damping": 1e-3}

# (case name, data name, optimizer (the project's name), options, init)
LOGISTIC_CASES = [
    ("gd_zeros", "logit4", "gd", GD, "zeros"),
    ("gd_random", "logit4", "gd", GD, "random"),
    ("momentum_zeros", "logit4", "momentum", MOM, "zeros"),
    ("momentum_random", "logit4", "momentum", MOM, "random"),
    ("nesterov_random", "logit4", "momentum", NEST, "random"),
    ("adam_zeros", "logit4", "adam", ADAM, "zeros"),
    ("adam_random", "logit4", "adam", ADAM, "random"),
    ("amsgrad_random", "logit4", "adam", AMS, "random"),
    ("adam_wd_random", "logit4", "adam", ADAM_WD, "random"),
    ("newton_zeros", "logit4", "newton", NEWTON, "zeros"),
    ("newton_random", "logit4", "newton", NEWTON, "random"),
    ("newton_damped_zeros", "logit4", "newton", NEWTON_D, "zeros"),
    ("newton_damped_random", "logit4", "newton", NEWTON_D, "random"),
    ("d9_gd_random", "logit9", "gd", GD, "random"),
    ("d9_momentum_random", "logit9", "momentum", MOM, "random"),
    ("d9_adam_random", "logit9", "adam", ADAM, "random"),
    ("d9_newton_zeros", "logit9", "newton", NEWTON, "zeros"),
    ("d9_newton_damped_random", "logit9", "newton", NEWTON_D, "random"),
]
SOFTMAX_CASES = [
    ("adam_zeros", "softmax3", "adam", ADAM, "zeros"),
    ("adam_random", "softmax3", "adam", ADAM, "random"),
    ("amsgrad_wd_random", "softmax3", "adam", dict(AMS, weight_decay=0.01), "random"),
    ("gd_random", "softmax3", "gd", GD, "random"),
]
# Long runs on the logistic data (the optimum is checked against sklearn's): name, data,
# optimizer, options, init, steps.
LONG_RUNS = [
    ("long_newton_zeros", "logit4", "newton", NEWTON, "zeros", 20),
    ("long_gd_zeros", "logit4", "gd", GD, "zeros", 2000),
    ("long_momentum_zeros", "logit4", "momentum", MOM, "zeros", 500),
    ("long_d9_newton_zeros", "logit9", "newton", NEWTON, "zeros", 20),
    ("long_d9_gd_zeros", "logit9", "gd", GD, "zeros", 3000),
]


def trajectory_case(name, data, optimizer, opts, init, idx, summary):
    w0 = init_weights(data, init, idx)
    rec, state, group, herr = run(data, optimizer, opts, w0, STEPS)
    for k, (w, loss, g) in enumerate(rec):
        hess = data.model == "logistic" and k in (0, STEPS // 2, STEPS)
        f_c, g_c = check_point(data, w, "%s %s w_%d" % (data.name, name, k), hessian=hess)
        if f_c != loss or not torch.equal(g_c, g):
            fail("%s: step %d's recorded loss or gradient is not torch's at w_%d" % (name, k, k))
    if optimizer != "newton":
        bad = replay(optimizer, opts, rec)
        if bad:
            fail("%s: the rules.hpp formulas do not reproduce torch's w_%d bit for bit" % (name, bad))
    losses = [r[1] for r in rec]
    worst = max(b - a for a, b in zip(losses, losses[1:]))
    if (optimizer == "gd" and not worst < 0.0) or (optimizer == "newton" and not worst <= 4e-16 * losses[0]):
        fail("%s: %s does not decrease the loss at every step (worst increase %.3g)" % (name, optimizer, worst))
    gmax = float(rec[-1][2].abs().max())
    if optimizer == "newton" and opts["damping"] == 0.0 and not gmax <= 1e-15:
        fail("%s: undamped Newton did not converge (max |g_50| = %.3g)" % (name, gmax))
    # Sensitivity: rerun with 2^-52 relative noise on every gradient, three seeds.
    sens = 0.0
    for s in range(3):
        rec_n = run(data, optimizer, opts, w0, STEPS, noise=np.random.default_rng(900 + s), check=False)[0]
        sens = max(sens, max(float((a[0] - b[0]).abs().max()) for a, b in zip(rec, rec_n)))
    if not sens <= 1e-11:
        fail("%s: trajectory too sensitive to 1-ulp gradient noise (%.3g)" % (name, sens))

    lines = ["case %s %s %s %s %d" % (name, data.name, optimizer, init, STEPS),
             "# effective param_group: %s" % ", ".join("%s=%r" % kv for kv in sorted(group.items()))]
    lines += option_lines(opts)
    lines.append("w0 " + vals(w0))
    for k, (w, loss, g) in enumerate(rec):
        lines.append("iter %d w %s" % (k, vals(w)))
        lines.append("iter %d loss %s" % (k, hx(loss)))
        lines.append("iter %d grad %s" % (k, vals(g)))
    if state is not None:
        lines += state_lines(state)
    lines.append("# loss %r -> %r; max |g_%d| %.3g; max |w_k - w_k'| under 2^-52 gradient noise: %.2g%s"
                 % (losses[0], losses[-1], STEPS, gmax, sens,
                    "; max rel. Hessian error vs closed form %.2g" % herr if optimizer == "newton" else ""))
    lines.append("end")
    summary.append((data.name, name, optimizer, losses[0], losses[-1], gmax, sens))
    return lines


def long_case(name, data, optimizer, opts, init, steps, optimum, coef):
    w0 = init_weights(data, init, 0)
    rec = run(data, optimizer, opts, w0, steps, check=False)[0]
    w, loss, g = rec[-1]
    dist_opt = float(np.max(np.abs(w.numpy() - optimum)))
    dist_sk = float(np.max(np.abs(w.numpy() - coef)))
    first = next(k for k, r in enumerate(rec) if np.max(np.abs(r[0].numpy() - optimum)) <= 1e-7)
    if not dist_sk <= 1e-6:
        fail("%s: the long run ends %.3g from sklearn's newton-cholesky coef_" % (name, dist_sk))
    lines = ["long %s %s %s %s %d" % (name, data.name, optimizer, init, steps)]
    lines += option_lines(opts)
    lines.append("w0 " + vals(w0))
    lines.append("final w %s" % vals(w))
    lines.append("final loss %s" % hx(loss))
    lines.append("final grad %s" % vals(g))
    lines.append("# max |w - optimum| %.3g, max |w - sklearn newton-cholesky coef_| %.3g; within 1e-7 of the optimum "
                 "from step %d" % (dist_opt, dist_sk, first))
    lines.append("end")
    return lines, (name, steps, dist_opt, dist_sk, first)


def point_lines(name, data, w, what):
    wt = w.clone().requires_grad_(True)
    loss = data.loss(wt)
    (g,) = torch.autograd.grad(loss, wt)
    X, wn = data.X.numpy(), w.numpy()
    if data.model == "logistic":
        f_c, g_c, _ = logistic_closed(X, data.y.numpy(), wn)
        with np.errstate(over="ignore"):
            naive = float(np.mean(np.log(1.0 + np.exp(-(2.0 * data.y.numpy() - 1.0) * (X @ wn)))))
    else:
        f_c, g_c = softmax_closed(X, data.y.numpy(), wn)
        Z = X @ wn
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            naive = float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(data.n), data.y.numpy()]))
    close([loss.item()], [f_c], 1e-13, "%s loss" % name)
    close(g.numpy(), g_c, 1e-12, "%s gradient" % name)
    if not (np.isfinite(loss.item()) and torch.isfinite(g).all()):
        fail("%s: torch's loss is not finite" % name)
    zmax = float(np.max(np.abs(X @ wn)))
    return ["point %s %s" % (name, data.name),
            "# " + what,
            "# max |logit| = %.6g; loss %r; the naive formula gives %r" % (zmax, loss.item(), naive),
            "w " + vals(w),
            "loss " + hx(loss.item()),
            "grad " + vals(g),
            "end"], zmax


# --- sklearn --------------------------------------------------------------------------------

SK_SOLVERS = ["lbfgs", "newton-cholesky"]


def sklearn_fit(data, solver):
    """LogisticRegression(penalty=None, fit_intercept=False, tol=1e-12, max_iter=10000, solver)."""
    import warnings
    import sklearn
    from sklearn.linear_model import LogisticRegression
    kw = dict(fit_intercept=False, tol=1e-12, max_iter=10000, solver=solver)
    yi = data.y.numpy().astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning must not pass silently
        try:
            clf = LogisticRegression(penalty=None, **kw).fit(data.X.numpy(), yi)
            spelling = "None"
        except (TypeError, ValueError):  # scikit-learn < 1.2 spells it 'none'
            clf = LogisticRegression(penalty="none", **kw).fit(data.X.numpy(), yi)
            spelling = "'none'"
    if list(clf.classes_) != [0, 1]:
        fail("sklearn classes %r" % (clf.classes_,))
    return clf.coef_[0].astype(np.float64).copy(), int(clf.n_iter_[0]), spelling, sklearn.__version__


def polish(data, w):
    """numpy Newton steps from w until max |g| stops decreasing (at most 20)."""
    X, y = data.X.numpy(), data.y.numpy()
    hist = []
    best = (np.max(np.abs(logistic_closed(X, y, w)[1])), w.copy(), 0)
    for k in range(1, 21):
        _, g, H = logistic_closed(X, y, w)
        w = w - np.linalg.solve(H, g)
        gm = float(np.max(np.abs(logistic_closed(X, y, w)[1])))
        hist.append(gm)
        if gm < best[0]:
            best = (gm, w.copy(), k)
        elif k - best[2] >= 3:
            break
    return best[1], best[2], hist


def sklearn_lines(data):
    X, y = data.X.numpy(), data.y.numpy()
    fits = {solver: sklearn_fit(data, solver) for solver in SK_SOLVERS}
    opt, nsteps, hist = polish(data, fits["lbfgs"][0])
    f_o, g_o, H_o = logistic_closed(X, y, opt)
    gmax_o = float(np.max(np.abs(g_o)))
    if not gmax_o <= 1e-15:
        fail("%s: polished optimum's max |g| = %.3g" % (data.name, gmax_o))
    eig = np.linalg.eigvalsh(H_o)
    lines = data_lines(data)[:-1]  # the data block without its 'end'
    info = {"data": data.name}
    for solver, (coef, n_iter, spelling, skver) in fits.items():
        f_s, g_s, _ = logistic_closed(X, y, coef)
        dist = float(np.max(np.abs(coef - opt)))
        gmax_s = float(np.max(np.abs(g_s)))
        info[solver] = (n_iter, gmax_s, dist)
        lines += [
            "# LogisticRegression(penalty=%s, fit_intercept=False, tol=1e-12, max_iter=10000, "
            "solver='%s'), scikit-learn %s" % (spelling, solver, skver),
            "sklearn %s coef %s" % (solver, vals(coef)),
            "sklearn %s n_iter %d" % (solver, n_iter),
            "sklearn %s loss %s" % (solver, hx(f_s)),
            "sklearn %s grad %s" % (solver, vals(g_s)),
            "sklearn %s distance %s" % (solver, hx(dist)),
            "# max |g(coef_)| = %.3g; max |coef_ - optimum| = %.3g" % (gmax_s, dist),
        ]
    if not info["newton-cholesky"][2] <= 1e-9:
        fail("%s: sklearn's newton-cholesky coef_ is %.3g from the optimum" % (data.name, info["newton-cholesky"][2]))
    if not info["lbfgs"][2] <= 1e-4:
        fail("%s: sklearn's lbfgs coef_ is %.3g from the optimum" % (data.name, info["lbfgs"][2]))
    lines += [
        "# polish: numpy Newton steps w -= np.linalg.solve(H, g) (closed-form g and H) from the lbfgs "
        "coef_; max |g| after each: %s" % " ".join("%.3g" % v for v in hist),
        "optimum w " + vals(opt),
        "optimum newton_steps %d" % nsteps,
        "optimum loss " + hx(f_o),
        "optimum grad " + vals(g_o),
        "# Hessian eigenvalues at the optimum: %s" % " ".join("%.3g" % v for v in eig),
        "end",
    ]
    info["f_opt"], info["gmax_opt"] = f_o, gmax_o
    return lines, opt, fits["newton-cholesky"][0], info


# --- main -----------------------------------------------------------------------------------

def header(fixture, what):
    import sklearn
    return [
        "# generated by tests/reference/classification_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/classification_reference.py",
        "# torch %s, numpy %s, scipy %s, scikit-learn %s; float64; ATEN_CPU_CAPABILITY=default, one thread"
        % (torch.__version__, np.__version__, scipy.__version__, sklearn.__version__),
        "# " + what,
        "# floats are float.hex(); parse with strtod.  Format: tests/reference/README.md, " + fixture,
    ]


def main():
    cp.pin_torch(PROG)
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "fixtures")

    logit4, _ = make_logistic(0, "logit4", 200, 3, 1.5)
    logit9, _ = make_logistic(1, "logit9", 200, 8, 0.7)
    softmax3, _ = make_softmax(2, "softmax3", 150, 3, 3, 1.5)
    datasets = {dd.name: dd for dd in (logit4, logit9, softmax3)}
    for dd in (logit4, logit9):
        check_not_separable(dd)

    # Extreme logits: a copy of logit4 whose first feature is scaled by 1e4.
    scaled = Data("logit4_scaled", "logistic", logit4.X.clone(), logit4.y, 1,
                  "logit4 with column 0 multiplied by 1e4 (exact: 1e4 = 2^4 * 625)")
    scaled.X[:, 0] *= 1e4

    summary = []
    # sklearn first: the long runs are checked against its optimum.
    sk_lines, sk_summary, optima = [], [], {}
    for dd in (logit4, logit9):
        lines, opt, coef, info = sklearn_lines(dd)
        sk_lines += [""] + lines
        sk_summary.append(info)
        optima[dd.name] = (opt, coef)

    # torch_logistic.txt
    lines = header("torch_logistic.txt",
                   "loss = binary_cross_entropy_with_logits(X @ w, y) (mean); torch.optim SGD/Adam "
                   "foreach=False; newton: w - lr * linalg.solve(hessian + damping I, grad)")
    for dd in (logit4, logit9, scaled):
        lines += [""] + data_lines(dd)
    for idx, (name, dname, optimizer, opts, init) in enumerate(LOGISTIC_CASES):
        lines += [""] + trajectory_case(name, datasets[dname], optimizer, opts, init,
                                        {"logit4": 0, "logit9": 1}[dname], summary)
    long_summary = []
    for name, dname, optimizer, opts, init, steps in LONG_RUNS:
        opt, coef = optima[dname]
        ll, info = long_case(name, datasets[dname], optimizer, opts, init, steps, opt, coef)
        lines += [""] + ll
        long_summary.append(info)
    w_opt4 = torch.from_numpy(optima["logit4"][0].copy())
    ext = [
        ("extreme_scaled_optimum", scaled, w_opt4,
         "logit4_scaled at the optimum of logit4 (so column 0's logit part is 1e4 times too big)"),
        ("extreme_large_w", logit4, torch.tensor([4000.0, -2500.0, 1500.0, 3.0], dtype=F64),
         "logit4 at w = (4000, -2500, 1500, 3)"),
        ("extreme_zero_w_scaled", scaled, torch.zeros(4, dtype=F64), "logit4_scaled at w = 0 (loss log 2)"),
    ]
    ext_summary = []
    for name, dd, w, what in ext:
        pl, zmax = point_lines(name, dd, w, what)
        lines += [""] + pl
        ext_summary.append((name, zmax))
    cp.write_fixture(os.path.join(out_dir, "torch_logistic.txt"), lines)

    # torch_softmax.txt
    lines = header("torch_softmax.txt",
                   "loss = cross_entropy(X @ W, labels) (mean), W (d, k) row-major; torch.optim "
                   "Adam/SGD foreach=False")
    lines += [""] + data_lines(softmax3)
    for name, dname, optimizer, opts, init in SOFTMAX_CASES:
        lines += [""] + trajectory_case(name, softmax3, optimizer, opts, init, 2, summary)
    W_big = torch.tensor([[3000.0, -1000.0, 500.0], [-2000.0, 2500.0, 100.0],
                          [1000.0, 1500.0, -3000.0], [5.0, -5.0, 0.0]], dtype=F64)
    pl, zmax = point_lines("extreme_large_W", softmax3, W_big, "softmax3 at a W with entries ~1e3")
    lines += [""] + pl
    ext_summary.append(("extreme_large_W", zmax))
    cp.write_fixture(os.path.join(out_dir, "torch_softmax.txt"), lines)

    # sklearn_logistic.txt
    cp.write_fixture(os.path.join(out_dir, "sklearn_logistic.txt"),
                     header("sklearn_logistic.txt",
                            "sklearn LogisticRegression optimum and the numpy-Newton-polished optimum; "
                            "loss = mean BCE with logits") + sk_lines)

    for dname, name, optimizer, l0, l50, gmax, sens in summary:
        print("%-9s %-24s %-8s loss0=%.17g loss50=%.17g |g50|=%.3g sens=%.2g"
              % (dname, name, optimizer, l0, l50, gmax, sens))
    for name, steps, dist_opt, dist_sk, first in long_summary:
        print("%-22s steps=%d |w-opt|=%.3g |w-sklearn|=%.3g within 1e-7 from step %d"
              % (name, steps, dist_opt, dist_sk, first))
    for info in sk_summary:
        print("sklearn %-7s f(opt)=%.17g |g(opt)|=%.3g" % (info["data"], info["f_opt"], info["gmax_opt"]))
        for solver in SK_SOLVERS:
            print("    %-16s n_iter=%d |g(coef)|=%.3g |coef-opt|=%.3g" % ((solver,) + info[solver]))
    for name, zmax in ext_summary:
        print("%-24s max|logit|=%.6g" % (name, zmax))
    print("wrote %s" % ", ".join(os.path.join(out_dir, f) for f in
                                 ("torch_logistic.txt", "torch_softmax.txt", "sklearn_logistic.txt")))


if __name__ == "__main__":
    main()
