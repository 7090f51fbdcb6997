#!/usr/bin/python3
"""Independent reference: second derivatives from torch.autograd.functional.

Produces tests/reference/fixtures/torch_hessian.txt.  It takes four scalar functions f of
one flat float64 parameter vector x and records, for each case (function + point), the
data that defines f, the point x, a direction v, f(x), the gradient
torch.autograd.grad(f(x), x), the Hessian torch.autograd.functional.hessian(f, x)
(row-major, numel(x) x numel(x)) and torch.autograd.functional.hvp(f, x, v)[1] (H(x) v).
tests/test_hessian_torch.cpp rebuilds each f with descent's ops and compares.

The functions (n rows of data, all in float64):
  linear_mse  f(w) = mean((X w - y)^2)                       X (20, 4), w (4)
  logistic    f(w) = mean(log(1 + exp(-y * (X w))))          X (20, 3), y in {-1, +1}, w (3)
  mlp_tanh    pred = tanh(X W1^T + b1) W2^T + b2; f = mean((pred - y)^2)
              X (16, 3), hidden 5; x (26) = [W1 (5, 3) row-major, b1 (5), W2 (1, 5), b2 (1)]
  rosenbrock  f(x) = sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n = 5,
              at a random point and at the minimum x = (1, ..., 1)
The data and points come from a per-case seeded torch.Generator (see make_case).  The
script checks torch against closed forms before writing anything: the linear MSE Hessian is
2/n X^T X, the Rosenbrock gradient and Hessian have textbook formulas, H v from hvp equals
the Hessian times v, and hvp's first result equals f(x).  Floats are written with
float.hex() so the C++ test can parse them exactly with strtod.

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/hessian_reference.py
(optionally: ... hessian_reference.py OUTPUT_PATH).  Output is deterministic
(torch runs single-threaded here).
"""

import os
import sys

import numpy as np
import torch

F64 = torch.float64
MLP_IN, MLP_HIDDEN = 3, 5


def hx(v):
    return float(v).hex()


def vals(t):
    """Space-separated hex of every element of a tensor (row-major)."""
    return " ".join(hx(v) for v in t.detach().reshape(-1).tolist())


# --- the functions, each of one flat vector x --------------------------------------------

def linear_mse(X, y):
    def f(w):
        return ((X @ w - y) ** 2).mean()
    return f


def logistic(X, y):
    def f(w):
        return torch.log(1 + torch.exp(-y * (X @ w))).mean()
    return f


def mlp_unflatten(x):
    """x (26) -> W1 (5, 3), b1 (5), W2 (1, 5), b2 (1), in this order, row-major."""
    h, i = MLP_HIDDEN, MLP_IN
    o = 0
    W1 = x[o:o + h * i].reshape(h, i)
    o += h * i
    b1 = x[o:o + h]
    o += h
    W2 = x[o:o + h].reshape(1, h)
    o += h
    b2 = x[o:o + 1]
    return W1, b1, W2, b2


def mlp_tanh(X, y):
    def f(x):
        W1, b1, W2, b2 = mlp_unflatten(x)
        pred = (torch.tanh(X @ W1.T + b1) @ W2.T + b2).reshape(-1)
        return ((pred - y) ** 2).mean()
    return f


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


# --- closed forms, only to check torch ----------------------------------------------------

def rosenbrock_grad_hessian(x):
    x = x.tolist()
    n = len(x)
    g = [0.0] * n
    H = np.zeros((n, n))
    for i in range(n - 1):
        a, b = x[i], x[i + 1]
        g[i] += -400 * a * (b - a * a) - 2 * (1 - a)
        g[i + 1] += 200 * (b - a * a)
        H[i, i] += 1200 * a * a - 400 * b + 2
        H[i, i + 1] += -400 * a
        H[i + 1, i] += -400 * a
        H[i + 1, i + 1] += 200
    return np.array(g), H


def check_close(what, got, want, tol):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    if not err <= tol:
        raise SystemExit("hessian_reference.py: %s off by %g (relative to max(1, |ref|))" % (what, err))


# --- the cases ----------------------------------------------------------------------------

def make_case(idx, name):
    """(function name, dims n in hidden, X or None, y or None, f, x, v), all float64."""
    g = torch.Generator().manual_seed(31400 + idx)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=F64)

    if name == "linear_mse":
        n, d = 20, 4
        X = randn(n, d)
        w_true = randn(d)
        y = X @ w_true + 0.3 + 0.1 * randn(n)
        x, v = randn(d), randn(d)
        return "linear_mse", (n, d, 0), X, y, linear_mse(X, y), x, v
    if name == "logistic":
        n, d = 20, 3
        X = randn(n, d)
        w_true = randn(d)
        y = torch.where(X @ w_true + 0.5 * randn(n) >= 0, 1.0, -1.0).to(F64)
        x, v = 0.5 * randn(d), randn(d)
        return "logistic", (n, d, 0), X, y, logistic(X, y), x, v
    if name == "mlp_tanh":
        n = 16
        X = randn(n, MLP_IN)
        y = torch.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.1 * randn(n)
        p = MLP_HIDDEN * MLP_IN + MLP_HIDDEN + MLP_HIDDEN + 1
        x, v = 0.5 * randn(p), randn(p)
        return "mlp_tanh", (n, MLP_IN, MLP_HIDDEN), X, y, mlp_tanh(X, y), x, v
    if name == "rosenbrock_random":
        n = 5
        x = 3 * torch.rand(n, generator=g, dtype=F64) - 1.5  # uniform in [-1.5, 1.5)
        v = randn(n)
        return "rosenbrock", (n, 0, 0), None, None, rosenbrock, x, v
    if name == "rosenbrock_minimum":
        n = 5
        x = torch.ones(n, dtype=F64)
        v = randn(n)
        return "rosenbrock", (n, 0, 0), None, None, rosenbrock, x, v
    raise ValueError(name)


CASES = ["linear_mse", "logistic", "mlp_tanh", "rosenbrock_random", "rosenbrock_minimum"]


def run_case(idx, name):
    function, (n, d, h), X, y, f, x, v = make_case(idx, name)
    p = x.numel()

    xg = x.clone().requires_grad_(True)
    fx = f(xg)
    (grad,) = torch.autograd.grad(fx, xg)
    H = torch.autograd.functional.hessian(f, x)
    f_hvp, Hv = torch.autograd.functional.hvp(f, x, v)
    assert H.shape == (p, p) and Hv.shape == (p,) and H.dtype == F64 and Hv.dtype == F64

    # torch against itself and against closed forms.
    check_close(name + " hvp()[0] vs f(x)", f_hvp.item(), fx.item(), 1e-15)
    check_close(name + " hvp vs H v", Hv, H @ v, 1e-13)
    check_close(name + " H symmetric", H, H.T, 1e-13)
    if function == "linear_mse":
        check_close(name + " H vs 2/n X^T X", H, 2.0 / n * X.T @ X, 1e-13)
        check_close(name + " grad vs 2/n X^T r", grad, 2.0 / n * X.T @ (X @ x - y), 1e-13)
    if function == "rosenbrock":
        g_cf, H_cf = rosenbrock_grad_hessian(x)
        check_close(name + " grad vs closed form", grad, g_cf, 1e-13)
        check_close(name + " H vs closed form", H, H_cf, 1e-13)
    if function == "logistic":
        s = torch.sigmoid(-y * (X @ x))  # d/dm log(1 + e^{-y m}) = -y s; d2 = s (1 - s)
        check_close(name + " H vs X^T diag(s(1-s)) X / n", H, X.T @ torch.diag(s * (1 - s)) @ X / n, 1e-13)

    lines = ["case %s %s %d %d %d %d" % (name, function, p, n, d, h)]
    if X is not None:
        lines.append("X " + vals(X))
        lines.append("y " + vals(y))
    lines.append("x " + vals(x))
    lines.append("v " + vals(v))
    lines.append("f " + hx(fx.item()))
    lines.append("grad " + vals(grad))
    lines.append("hessian " + vals(H))
    lines.append("hvp " + vals(Hv))
    lines.append("end")
    return lines


def main():
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "fixtures", "torch_hessian.txt")

    lines = [
        "# generated by tests/reference/hessian_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/hessian_reference.py",
        "# torch %s, numpy %s; float64, CPU, single thread" % (torch.__version__, np.__version__),
        "# hessian = torch.autograd.functional.hessian(f, x) (row-major, p x p);",
        "# hvp = torch.autograd.functional.hvp(f, x, v)[1]; grad = torch.autograd.grad(f(x), x)",
        "# mlp_tanh: x = [W1 (hidden, in) row-major, b1 (hidden), W2 (1, hidden), b2 (1)]",
        "# floats are float.hex(); parse with strtod.",
    ]
    for idx, name in enumerate(CASES):
        lines.append("")
        lines += run_case(idx, name)

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out_path)
    print("wrote %s" % out_path)


if __name__ == "__main__":
    main()
