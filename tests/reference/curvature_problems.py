"""The three test problems of lbfgs_reference.py and newton_cg_reference.py, and the set-up
both scripts share.  It is not a script; both import it.

Importing this module sets ATEN_CPU_CAPABILITY=default and then imports torch, so it must be
imported before anything else imports torch (it checks).  That selects torch's portable
kernels: there x.add_(d, alpha=t) rounds t*d and then the sum (the AVX2/AVX512 kernels use a
fused multiply-add), so the fixtures do not depend on the machine's vector extensions.
pin_torch() checks that the setting took effect.

The problems (float64, each a scalar function f of one flat vector x):
  linear_mse  f(w) = mean((X w - y)^2)                X (40, 5) ~ N(0,1), y = X w_true + 0.1 noise
  logistic    f(w) = mean(log(1 + exp(-y * (X w))))   X (40, 4) ~ N(0,1),
              y = sign(X w_true + 0.5 noise) in {-1, +1}
  rosenbrock  f(x) = sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n = 4
Starts: zeros for linear_mse and logistic, (-1.2, 1, -1.2, 1) for rosenbrock.
The data come from a per-problem seeded torch.Generator (seed SEED + index in PROBLEMS).
f is evaluated with torch (the formulas above, as in hessian_reference.py).
torch_callables() adds the gradient (torch.autograd.grad) and H v (a second
torch.autograd.grad, of grad . v).
"""

import os
import sys

if "torch" in sys.modules:
    raise SystemExit("curvature_problems.py must be imported before torch "
                     "(it sets ATEN_CPU_CAPABILITY first)")
os.environ["ATEN_CPU_CAPABILITY"] = "default"

import numpy as np  # noqa: E402
import torch  # noqa: E402

F64 = torch.float64
SEED = 52100
PROBLEMS = ["linear_mse", "logistic", "rosenbrock"]
HERE = os.path.dirname(os.path.abspath(__file__))


# --- output -------------------------------------------------------------------------------

def hx(v):
    return float(v).hex()


def vals(a):
    """Space-separated float.hex() of every element (a tensor, array or list), row-major."""
    if torch.is_tensor(a):
        a = a.detach().reshape(-1).tolist()
    return " ".join(hx(v) for v in np.asarray(a, dtype=np.float64).reshape(-1).tolist())


def output_path(fixture):
    """The command line's OUTPUT_PATH if given, else tests/reference/fixtures/<fixture>."""
    return sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "fixtures", fixture)


def write_fixture(out_path, lines):
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out_path)


# --- the problems -------------------------------------------------------------------------

def make_problem(idx, name):
    """(X or None, y or None, torch function of a flat tensor, x0 as a list of floats)."""
    g = torch.Generator().manual_seed(SEED + idx)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=F64)

    if name == "linear_mse":
        n, d = 40, 5
        X = randn(n, d)
        w_true = randn(d)
        y = X @ w_true + 0.1 * randn(n)

        def f(w):
            return ((X @ w - y) ** 2).mean()
        return X, y, f, [0.0] * d
    if name == "logistic":
        n, d = 40, 4
        X = randn(n, d)
        w_true = randn(d)
        y = torch.where(X @ w_true + 0.5 * randn(n) >= 0, 1.0, -1.0).to(F64)

        def f(w):
            return torch.log(1 + torch.exp(-y * (X @ w))).mean()
        return X, y, f, [0.0] * d
    if name == "rosenbrock":
        def f(x):
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        return None, None, f, [-1.2, 1.0, -1.2, 1.0]
    raise ValueError(name)


def torch_callables(tf):
    """fun, grad, hessp on float64 numpy vectors, computed with torch."""
    def fun(x):
        return tf(torch.tensor(np.asarray(x, dtype=np.float64), dtype=F64)).item()

    def grad(x):
        xt = torch.tensor(np.asarray(x, dtype=np.float64), dtype=F64, requires_grad=True)
        (g,) = torch.autograd.grad(tf(xt), xt)
        return g.detach().numpy().copy()

    def hessp(x, p):
        xt = torch.tensor(np.asarray(x, dtype=np.float64), dtype=F64, requires_grad=True)
        pt = torch.tensor(np.asarray(p, dtype=np.float64), dtype=F64)
        (g,) = torch.autograd.grad(tf(xt), xt, create_graph=True)
        (hv,) = torch.autograd.grad(torch.dot(g, pt), xt)
        return hv.detach().numpy().copy()
    return fun, grad, hessp


# --- kernels and the checks that torch / numpy use them ----------------------------------

def dot(a, b):
    """torch.dot and np.dot of float64 vectors = BLAS ddot; netlib's (installed here) is
    s = 0; s += a[i]*b[i] left to right."""
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s


def pin_torch(prog):
    """One thread, and check that ATEN_CPU_CAPABILITY=default took effect: x.add_(d, alpha=t)
    must round t*d, then the sum (no fused multiply-add)."""
    torch.set_num_threads(1)
    a, b, t = torch.tensor([1.0], dtype=F64), torch.tensor([1.0 + 2.0 ** -30], dtype=F64), -(1.0 + 2.0 ** -30)
    if a.clone().add_(b, alpha=t).item() != 1.0 + t * (1.0 + 2.0 ** -30):
        raise SystemExit("%s: torch uses fused multiply-add; "
                         "ATEN_CPU_CAPABILITY=default did not take effect" % prog)


def check_sum_order(prog, sizes, what, agrees):
    """A script's dot and sum ports must be what the library computes: agrees(u, v) compares
    them on seeded float64 vectors of each size in sizes.  An optimised BLAS (OpenBLAS, MKL)
    sums differently from netlib's reference ddot."""
    rng = np.random.default_rng(11)
    for n in sizes:
        for _ in range(50):
            u, v = rng.standard_normal(n) * 10.0 ** rng.integers(-4, 4, n), rng.standard_normal(n)
            if not agrees(u, v):
                raise SystemExit("%s: %s do not sum in the documented order "
                                 "(is the BLAS not netlib's reference ddot?)" % (prog, what))
