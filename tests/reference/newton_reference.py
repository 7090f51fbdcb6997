#!/usr/bin/python3
"""Independent reference: plain numpy Newton's method on losses with closed-form derivatives.

Produces tests/reference/fixtures/numpy_newton.txt.  For each case it runs, in float64,

    w_{k+1} = w_k - lr * np.linalg.solve(H(w_k) + damping * I, g(w_k)),   k = 0 .. iters-1

from w_0 = 0, where f, the gradient g and the Hessian H are written out by hand (no
autodiff anywhere), and records the data, the options, every iterate w_k (k = 0..iters),
f(w_k) and g(w_k).  tests/test_newton_any_loss.cpp rebuilds each loss from descent's ops
and runs descent::optim::Newton with the Hessian from descent::hessian (the autodiff).

The cases (m = X w, s(t) = 1 / (1 + exp(-t))):
  logistic        f = mean(log(1 + exp(-y m)))     g = -X^T (y s(-y m)) / n
                                                   H = X^T diag(s(m) s(-m)) X / n
      a  logistic_lr1     X (60, 5) ~ N(0, 1), y = sign(X w_true + noise) in {-1, +1},
                          checked not linearly separable; lr 1, damping 0, 10 iterations
      b  logistic_damped  the data of a; lr 0.5, damping 0.1, 10 iterations
      d  logistic_d300    X (400, 300) ~ N(0, 1) / sqrt(300), rounded to multiples of 2^-8
                          (so that it is stored compactly and exactly as integers, record Xq);
                          y = sign(X w_true + 0.5 noise) (separable: n < 2d, harmless
                          for 3 damped steps); lr 1, damping 1e-3, 3 iterations
  poisson         f = mean(exp(m) - y m)           g = X^T (exp(m) - y) / n
                                                   H = X^T diag(exp(m)) X / n
      c  poisson_lr1      X (50, 4) = 0.3 N(0, 1), y ~ Poisson(exp(X w_true)); lr 1,
                          damping 0, 10 iterations
The data come from np.random.default_rng(12500 + case index).  Before writing, the script
checks each closed-form gradient and Hessian against central finite differences (of f and
of g) at w_0 and at a random point, checks each solve's residual, and checks that the
undamped lr-1 runs converged (final gradient below 1e-12).  numpy here uses netlib's
reference BLAS/LAPACK, so the output does not depend on the machine's vector extensions.
Floats are written with float.hex() so C++ reads them exactly with strtod.

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/newton_reference.py
(optionally: ... newton_reference.py OUTPUT_PATH).  Output is deterministic.
"""

import os
import sys

import numpy as np
import scipy
import scipy.optimize

SEED = 12500
XQ_STEP = 2.0 ** -8  # the grid of the d = 300 case's X


def hx(v):
    return float(v).hex()


def vals(a):
    return " ".join(hx(v) for v in np.asarray(a, dtype=np.float64).reshape(-1).tolist())


# --- the losses, with closed-form derivatives -------------------------------------------

def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def logistic(X, y):
    n = X.shape[0]

    def f(w):
        return float(np.mean(np.logaddexp(0.0, -y * (X @ w))))

    def g(w):
        return -(X.T @ (y * sigmoid(-y * (X @ w)))) / n

    def H(w):
        m = X @ w
        return (X.T * (sigmoid(m) * sigmoid(-m))) @ X / n
    return f, g, H


def poisson(X, y):
    n = X.shape[0]

    def f(w):
        m = X @ w
        return float(np.mean(np.exp(m) - y * m))

    def g(w):
        return X.T @ (np.exp(X @ w) - y) / n

    def H(w):
        return (X.T * np.exp(X @ w)) @ X / n
    return f, g, H


# --- checks -------------------------------------------------------------------------------

def fail(message):
    raise SystemExit("newton_reference.py: " + message)


def check_derivatives(name, f, g, H, w):
    """Central differences of f against g, and of g against H (relative to max(1, |ref|))."""
    d = w.size
    h = 1e-5
    E = np.eye(d)
    fd_g = np.array([(f(w + h * E[i]) - f(w - h * E[i])) / (2 * h) for i in range(d)])
    fd_H = np.array([(g(w + h * E[i]) - g(w - h * E[i])) / (2 * h) for i in range(d)])
    for what, got, want in (("gradient", fd_g, g(w)), ("Hessian", fd_H, H(w))):
        err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
        if not err <= 1e-7:
            fail("%s: closed-form %s differs from central differences by %g" % (name, what, err))


def check_not_separable(X, y):
    """No w with y_i (x_i . w) >= 1 for all i (LP infeasible), so the logistic minimum exists."""
    A = -(y[:, None] * X)
    res = scipy.optimize.linprog(np.zeros(X.shape[1]), A_ub=A, b_ub=-np.ones(X.shape[0]),
                                 bounds=[(None, None)] * X.shape[1], method="highs")
    return res.status == 2  # 2 = infeasible


# --- the cases ----------------------------------------------------------------------------

def make_data(idx, loss):
    rng = np.random.default_rng(SEED + idx)
    if loss == "logistic":
        n, d = 60, 5
        X = rng.standard_normal((n, d))
        w_true = rng.standard_normal(d)
        y = np.where(X @ w_true + rng.standard_normal(n) >= 0, 1.0, -1.0)
        return X, y
    if loss == "logistic_d300":
        n, d = 400, 300
        X = np.round(rng.standard_normal((n, d)) / np.sqrt(d) / XQ_STEP) * XQ_STEP
        w_true = rng.standard_normal(d)
        y = np.where(X @ w_true + 0.5 * rng.standard_normal(n) >= 0, 1.0, -1.0)
        return X, y
    if loss == "poisson":
        n, d = 50, 4
        X = 0.3 * rng.standard_normal((n, d))
        w_true = rng.standard_normal(d)
        y = rng.poisson(np.exp(X @ w_true)).astype(np.float64)
        return X, y
    raise ValueError(loss)


# (name, loss, data index (cases sharing data share it), lr, damping, iterations)
CASES = [
    ("logistic_lr1", "logistic", 0, 1.0, 0.0, 10),
    ("logistic_damped", "logistic", 0, 0.5, 0.1, 10),
    ("poisson_lr1", "poisson", 2, 1.0, 0.0, 10),
    ("logistic_d300", "logistic", 3, 1.0, 1e-3, 3),
]


def run_case(name, loss, idx, lr, damping, iters):
    X, y = make_data(idx, "logistic_d300" if name == "logistic_d300" else loss)
    n, d = X.shape
    f, g, H = (logistic if loss == "logistic" else poisson)(X, y)

    check_w = 0.3 * np.random.default_rng(SEED + 100 + idx).standard_normal(d)
    for w in (np.zeros(d), check_w):
        check_derivatives(name, f, g, H, w)

    w = np.zeros(d)
    ws, fs, gs = [w.copy()], [f(w)], [g(w)]
    for _ in range(iters):
        A = H(w) + damping * np.eye(d)
        gk = g(w)
        p = np.linalg.solve(A, gk)
        if not np.max(np.abs(A @ p - gk)) <= 1e-12 * max(1.0, np.max(np.abs(gk))):
            fail("%s: np.linalg.solve residual too large" % name)
        w = w - lr * p
        ws.append(w.copy())
        fs.append(f(w))
        gs.append(g(w))
    if lr == 1.0 and damping == 0.0 and not np.max(np.abs(gs[-1])) <= 1e-12:
        fail("%s: Newton did not converge (|g| = %g)" % (name, np.max(np.abs(gs[-1]))))

    separable = None
    if loss == "logistic":
        separable = not check_not_separable(X, y)
        if name != "logistic_d300" and separable:
            fail("%s: the logistic data are linearly separable" % name)

    lines = ["case %s %s %d %d %d" % (name, loss, n, d, iters),
             "option lr %s" % hx(lr),
             "option damping %s" % hx(damping)]
    if name == "logistic_d300":
        q = np.round(X / XQ_STEP)
        if not np.array_equal(q * XQ_STEP, X) or np.max(np.abs(q)) >= 2 ** 31:
            fail("%s: X is not on the grid" % name)
        lines.append("Xq %s %s" % (hx(XQ_STEP), " ".join(str(int(v)) for v in q.reshape(-1))))
    else:
        lines.append("X " + vals(X))
    lines.append("y " + vals(y))
    for k in range(iters + 1):
        lines.append("iter %d w %s" % (k, vals(ws[k])))
        lines.append("iter %d f %s" % (k, hx(fs[k])))
        lines.append("iter %d grad %s" % (k, vals(gs[k])))
    lines.append("end")
    cond = np.linalg.cond(H(ws[-1]) + damping * np.eye(d))
    return lines, (name, fs[0], fs[-1], np.max(np.abs(gs[-1])), cond, separable)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "fixtures", "numpy_newton.txt")
    lines = [
        "# generated by tests/reference/newton_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/newton_reference.py",
        "# numpy %s (netlib BLAS/LAPACK), float64; closed-form f, gradient and Hessian;" % np.__version__,
        "# w_{k+1} = w_k - lr * np.linalg.solve(H(w_k) + damping I, g(w_k)), w_0 = 0",
        "# floats are float.hex(); parse with strtod. Xq <step> <ints>: X = step * int, exactly.",
    ]
    summary = []
    for case in CASES:
        case_lines, info = run_case(*case)
        lines.append("")
        lines += case_lines
        summary.append(info)

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, out_path)
    for name, f0, fk, gk, cond, separable in summary:
        print("%-16s f0=%.6g f_last=%.17g |g_last|=%.3g cond(H_last+damping)=%.3g separable=%s"
              % (name, f0, fk, gk, cond, separable))
    print("wrote %s" % out_path)


if __name__ == "__main__":
    main()
