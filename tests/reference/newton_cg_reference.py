#!/usr/bin/python3
"""Independent reference: scipy.optimize.minimize(method='Newton-CG') on three problems.

Produces tests/reference/fixtures/scipy_newton_cg.txt.  For each problem (a scalar
function f of one flat float64 vector x, with its gradient and Hessian-vector product)
it runs
    scipy.optimize.minimize(fun, x0, method='Newton-CG', jac=grad, hessp=hvp,
                            callback=record)
with scipy 1.10.1's default options (xtol=1e-5, maxiter=200*len(x0)) and records every
iterate x_k (x_0 and the callback's points), f and the gradient at every iterate, the
final OptimizeResult, and, per outer iteration, what the algorithm did inside: the number
of CG iterations, how CG stopped (residual test or negative/zero curvature), the number
of Hessian-vector products, the search direction p_k, the line search's first trial step
and accepted step alpha_k, and its f/g evaluation counts.

scipy does not expose the per-iteration quantities, so the script also runs its own
port of scipy 1.10.1's _minimize_newtoncg (scipy/optimize/_optimize.py lines
1903-2078), _line_search_wolfe12 -> line_search_wolfe1 -> scalar_search_wolfe1
(_linesearch.py lines 31-171) and MINPACK-2's dcsrch/dcstep (Fortran, called through
scipy.optimize._minpack2), written with plain Python floats in the order of operations
that tests/reference/README.md ("Newton-CG reference") describes.  The script asserts
that the port's iterates, f, gradients and final counts equal scipy's bit for bit, and
that the dcsrch port equals minpack2.dcsrch bit for bit on extra seeded line searches
(covering all four dcstep cases), before writing anything.  So the recorded iterates are
scipy's own output and the recorded CG/line-search data belong to exactly those iterates.

The problems (float64), shared with lbfgs_reference.py and defined in curvature_problems.py:
  linear_mse  f(w) = mean((X w - y)^2)                X (40, 5) ~ N(0,1), y = X w_true + 0.1 noise
  logistic    f(w) = mean(log(1 + exp(-y * (X w))))   X (40, 4) ~ N(0,1),
              y = sign(X w_true + 0.5 noise) in {-1, +1}; checked not linearly separable
  rosenbrock  f(x) = sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n = 4
Starts: zeros for linear_mse and logistic, (-1.2, 1, -1.2, 1) for rosenbrock.
The data come from a per-problem seeded torch.Generator (seed 52100 + index).  f is
evaluated with torch (the formulas above, as in hessian_reference.py), the gradient with
torch.autograd.grad and H v with a second torch.autograd.grad of (grad . v).  Importing
curvature_problems.py pins torch to its portable kernels (ATEN_CPU_CAPABILITY=default, no
fused multiply-add), and it runs on one thread, so the output does not depend on the
machine's vector extensions.  Floats are written with float.hex().

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/newton_cg_reference.py
(optionally: ... newton_cg_reference.py OUTPUT_PATH).  Output is deterministic.
"""

import math
import os
import sys

import numpy as np
import scipy
import scipy.optimize
from scipy.optimize import _minpack2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Sets ATEN_CPU_CAPABILITY=default, then imports torch: must come before any torch import.
from curvature_problems import (  # noqa: E402
    PROBLEMS, check_sum_order, dot, hx, make_problem, output_path, pin_torch, torch_callables,
    vals, write_fixture)
import torch  # noqa: E402


# --- the logistic problem's data ----------------------------------------------------------

def check_not_separable(X, y):
    """No w with y_i (x_i . w) >= 1 for all i (LP feasibility), so the logistic minimum exists."""
    A = -(y[:, None] * X).numpy()
    res = scipy.optimize.linprog(np.zeros(X.shape[1]), A_ub=A, b_ub=-np.ones(X.shape[0]),
                                 bounds=[(None, None)] * X.shape[1], method="highs")
    if res.status != 2:  # 2 = infeasible
        raise SystemExit("newton_cg_reference.py: logistic data are linearly separable")


# --- scalar kernels with numpy's / netlib BLAS's summation order -------------------------

def np_sum(a):
    """np.add.reduce of a contiguous float64 vector (numpy 1.24 pairwise_sum)."""
    n = len(a)
    if n < 8:
        s = 0.0
        for v in a:
            s += v
        return s
    if n <= 128:  # PW_BLOCKSIZE
        r = list(a[:8])
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[i + j]
            i += 8
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            s += a[i]
            i += 1
        return s
    n2 = n // 2
    n2 -= n2 % 8
    return np_sum(a[:n2]) + np_sum(a[n2:])


def asum(a):
    """np.add.reduce(np.abs(a)): the L1 norm as scipy computes it."""
    return np_sum([abs(v) for v in a])


# --- MINPACK-2 dcstep / dcsrch, transliterated from the Fortran ---------------------------

DCSTEP_CASES = set()


def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    sgnd = dp * (dx / abs(dx))
    if fp > fx:
        DCSTEP_CASES.add(1)
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt((theta / s) * (theta / s) - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        r = p / q
        stpc = stx + r * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) < abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:
        DCSTEP_CASES.add(2)
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt((theta / s) * (theta / s) - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        r = p / q
        stpc = stp + r * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if abs(stpc - stp) > abs(stpq - stp):
            stpf = stpc
        else:
            stpf = stpq
        brackt = True
    elif abs(dp) < abs(dx):
        DCSTEP_CASES.add(3)
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt(max(0.0, (theta / s) * (theta / s) - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0.0 and gamma != 0.0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            if abs(stpc - stp) < abs(stpq - stp):
                stpf = stpc
            else:
                stpf = stpq
            if stp > stx:
                stpf = min(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = max(stp + 0.66 * (sty - stp), stpf)
        else:
            if abs(stpc - stp) > abs(stpq - stp):
                stpf = stpc
            else:
                stpf = stpq
            stpf = min(stpmax, stpf)
            stpf = max(stpmin, stpf)
    else:
        DCSTEP_CASES.add(4)
        if brackt:
            theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
            s = max(abs(theta), abs(dy), abs(dp))
            gamma = s * math.sqrt((theta / s) * (theta / s) - (dy / s) * (dp / s))
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            r = p / q
            stpc = stp + r * (sty - stp)
            stpf = stpc
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


class Dcsrch:
    """dcsrch's saved state (isave/dsave) as attributes; call() is one dcsrch call."""

    def __init__(self, ftol, gtol, xtol, stpmin, stpmax):
        self.ftol, self.gtol, self.xtol = ftol, gtol, xtol
        self.stpmin, self.stpmax = stpmin, stpmax
        self.task = "START"

    def call(self, stp, f, g):
        ftol, gtol, xtol, stpmin, stpmax = self.ftol, self.gtol, self.xtol, self.stpmin, self.stpmax
        if self.task == "START":
            task = ""
            if stp < stpmin:
                task = "ERROR: STP .LT. STPMIN"
            if stp > stpmax:
                task = "ERROR: STP .GT. STPMAX"
            if g >= 0.0:
                task = "ERROR: INITIAL G .GE. ZERO"
            if ftol < 0.0:
                task = "ERROR: FTOL .LT. ZERO"
            if gtol < 0.0:
                task = "ERROR: GTOL .LT. ZERO"
            if xtol < 0.0:
                task = "ERROR: XTOL .LT. ZERO"
            if stpmin < 0.0:
                task = "ERROR: STPMIN .LT. ZERO"
            if stpmax < stpmin:
                task = "ERROR: STPMAX .LT. STPMIN"
            if task:
                self.task = task
                return stp
            self.brackt = False
            self.stage = 1
            self.finit = f
            self.ginit = g
            self.gtest = ftol * self.ginit
            self.width = stpmax - stpmin
            self.width1 = self.width / 0.5
            self.stx, self.fx, self.gx = 0.0, self.finit, self.ginit
            self.sty, self.fy, self.gy = 0.0, self.finit, self.ginit
            self.stmin = 0.0
            self.stmax = stp + 4.0 * stp
            self.task = "FG"
            return stp
        ftest = self.finit + stp * self.gtest
        if self.stage == 1 and f <= ftest and g >= 0.0:
            self.stage = 2
        task = "FG"
        if self.brackt and (stp <= self.stmin or stp >= self.stmax):
            task = "WARNING: ROUNDING ERRORS PREVENT PROGRESS"
        if self.brackt and self.stmax - self.stmin <= xtol * self.stmax:
            task = "WARNING: XTOL TEST SATISFIED"
        if stp == stpmax and f <= ftest and g <= self.gtest:
            task = "WARNING: STP = STPMAX"
        if stp == stpmin and (f > ftest or g >= self.gtest):
            task = "WARNING: STP = STPMIN"
        if f <= ftest and abs(g) <= gtol * (-self.ginit):
            task = "CONVERGENCE"
        if task != "FG":
            self.task = task
            return stp
        if self.stage == 1 and f <= self.fx and f > ftest:
            gtest = self.gtest
            fm = f - stp * gtest
            fxm = self.fx - self.stx * gtest
            fym = self.fy - self.sty * gtest
            gm = g - gtest
            gxm = self.gx - gtest
            gym = self.gy - gtest
            (self.stx, fxm, gxm, self.sty, fym, gym, stp, self.brackt) = dcstep(
                self.stx, fxm, gxm, self.sty, fym, gym, stp, fm, gm, self.brackt,
                self.stmin, self.stmax)
            self.fx = fxm + self.stx * gtest
            self.fy = fym + self.sty * gtest
            self.gx = gxm + gtest
            self.gy = gym + gtest
        else:
            (self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp, self.brackt) = dcstep(
                self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp, f, g, self.brackt,
                self.stmin, self.stmax)
        if self.brackt:
            if abs(self.sty - self.stx) >= 0.66 * self.width1:
                stp = self.stx + 0.5 * (self.sty - self.stx)
            self.width1 = self.width
            self.width = abs(self.sty - self.stx)
        if self.brackt:
            self.stmin = min(self.stx, self.sty)
            self.stmax = max(self.stx, self.sty)
        else:
            self.stmin = stp + 1.1 * (stp - self.stx)
            self.stmax = stp + 4.0 * (stp - self.stx)
        stp = max(stp, stpmin)
        stp = min(stp, stpmax)
        if (self.brackt and (stp <= self.stmin or stp >= self.stmax)) or \
                (self.brackt and self.stmax - self.stmin <= xtol * self.stmax):
            stp = self.stx
        self.task = "FG"
        return stp


def scalar_search_wolfe1_port(phi, derphi, phi0, old_phi0, derphi0,
                              c1=1e-4, c2=0.9, amax=50.0, amin=1e-8, xtol=1e-14):
    """_linesearch.py lines 91-171.  Returns (stp or None, phi1, phi0, alpha1 first trial)."""
    if old_phi0 is not None and derphi0 != 0:
        alpha1 = min(1.0, 1.01 * 2 * (phi0 - old_phi0) / derphi0)
        if alpha1 < 0:
            alpha1 = 1.0
    else:
        alpha1 = 1.0
    first = alpha1
    phi1, derphi1 = phi0, derphi0
    srch = Dcsrch(c1, c2, xtol, amin, amax)
    stp = None
    for _ in range(100):
        stp = srch.call(alpha1, phi1, derphi1)
        if srch.task[:2] == "FG":
            alpha1 = stp
            phi1 = phi(stp)
            derphi1 = derphi(stp)
        else:
            break
    else:
        stp = None
    if srch.task[:5] == "ERROR" or srch.task[:4] == "WARN":
        stp = None
    return stp, phi1, phi0, first


# --- the port of _minimize_newtoncg (hessp given, hess None) ------------------------------

class CachedFunction:
    """ScalarFunction's memoisation: one cached point; f and g computed on demand."""

    def __init__(self, fun, grad, x0):
        self._fun, self._grad = fun, grad
        self.x = list(x0)
        self.nfev = self.ngev = 0
        self.f_ok = self.g_ok = False
        self.fun(x0)   # ScalarFunction.__init__ evaluates f(x0) and grad(x0)
        self.grad(x0)

    def _move(self, x):
        if list(x) != self.x:
            self.x = list(x)
            self.f_ok = self.g_ok = False

    def fun(self, x):
        self._move(x)
        if not self.f_ok:
            self.nfev += 1
            self.f = self._fun(np.array(self.x))
            self.f_ok = True
        return self.f

    def grad(self, x):
        self._move(x)
        if not self.g_ok:
            self.ngev += 1
            self.g = [float(v) for v in self._grad(np.array(self.x))]
            self.g_ok = True
        return self.g


def newton_cg_port(fun, grad, hessp, x0, avextol=1e-5, maxiter=None):
    n = len(x0)
    sf = CachedFunction(fun, grad, [float(v) for v in x0])
    hcalls = 0
    if maxiter is None:
        maxiter = n * 200
    cg_maxiter = 20 * n
    xtol = n * avextol
    update = [2 * xtol]
    xk = [float(v) for v in x0]
    iterates = [list(xk)]
    info = []
    k = 0
    old_fval = sf.fun(xk)
    old_old_fval = None
    eps64 = float(np.finfo(np.float64).eps)
    status = None
    gfk = None
    while asum(update) > xtol:
        if k >= maxiter:
            status = 1
            break
        b = [-v for v in sf.grad(xk)]
        maggrad = asum(b)
        eta = min(0.5, math.sqrt(maggrad))
        termcond = eta * maggrad
        xsupi = [0.0] * n
        ri = [-v for v in b]
        psupi = [-v for v in ri]
        i = 0
        dri0 = dot(ri, ri)
        how = None
        hv_here = 0
        curv = None
        for _k2 in range(cg_maxiter):
            if asum(ri) <= termcond:
                how = "residual"
                break
            Ap = [float(v) for v in hessp(np.array(xk), np.array(psupi))]
            hcalls += 1
            hv_here += 1
            curv = dot(psupi, Ap)
            if 0 <= curv <= 3 * eps64:
                how = "zerocurv"
                break
            elif curv < 0:
                if i > 0:
                    how = "negcurv"
                    break
                scale = dri0 / (-curv)
                xsupi = [scale * v for v in b]
                how = "negcurv_first"
                break
            alphai = dri0 / curv
            xsupi = [xsupi[j] + alphai * psupi[j] for j in range(n)]
            ri = [ri[j] + alphai * Ap[j] for j in range(n)]
            dri1 = dot(ri, ri)
            betai = dri1 / dri0
            psupi = [-ri[j] + betai * psupi[j] for j in range(n)]
            i += 1
            dri0 = dri1
        else:
            status = 3
            break
        pk = xsupi
        gfk = [-v for v in b]

        nf0, ng0 = sf.nfev, sf.ngev

        def phi(s):
            return sf.fun([xk[j] + s * pk[j] for j in range(n)])

        def derphi(s):
            return dot(sf.grad([xk[j] + s * pk[j] for j in range(n)]), pk)

        derphi0 = dot(gfk, pk)
        alphak, phi1, phi0, alpha_first = scalar_search_wolfe1_port(
            phi, derphi, old_fval, old_old_fval, derphi0)
        if alphak is None:
            raise SystemExit("newton_cg_reference.py: line_search_wolfe1 failed; the wolfe2 "
                             "fallback is not ported (and not needed by these problems)")
        old_fval, old_old_fval = phi1, phi0
        update = [alphak * v for v in pk]
        xk = [xk[j] + update[j] for j in range(n)]
        iterates.append(list(xk))
        info.append(dict(cg_iters=i, cg_exit=how, nhvp=hv_here, curv=curv, p=list(pk), alpha=alphak,
                         alpha_first=alpha_first, ls_nfev=sf.nfev - nf0, ls_ngev=sf.ngev - ng0,
                         fallback=0))
        k += 1
    if status is None:
        status = 3 if (math.isnan(old_fval) or any(math.isnan(v) for v in update)) else 0
    result = dict(x=xk, fun=old_fval, jac=gfk, nit=k, nfev=sf.nfev, njev=sf.ngev, nhev=hcalls,
                  status=status)
    return iterates, info, result


# --- dcsrch port against minpack2.dcsrch ------------------------------------------------

def check_dcsrch_port(cases):
    """Run minpack2.dcsrch and the port side by side; every returned stp/task must match."""
    count = 0
    for phi, derphi, stp0, ftol, gtol in cases:
        isave = np.zeros((2,), np.intc)
        dsave = np.zeros((13,), float)
        task = b"START"
        srch = Dcsrch(ftol, gtol, 1e-14, 1e-8, 50.0)
        f, g = phi(0.0), derphi(0.0)
        stp = stp0
        pstp, pf, pg = stp0, f, g
        for _ in range(100):
            stp, f, g, task = _minpack2.dcsrch(stp, f, g, ftol, gtol, 1e-14, task, 1e-8, 50.0,
                                               isave, dsave)
            pstp = srch.call(pstp, pf, pg)
            ptask = srch.task
            if not (stp == pstp and task.decode().strip()[:30] == ptask[:30]):
                raise SystemExit("newton_cg_reference.py: dcsrch port differs: %r %r vs %r %r"
                                 % (stp, task, pstp, ptask))
            if task[:2] != b"FG":
                break
            f, g = phi(stp), derphi(stp)
            pf, pg = f, g
        count += 1
    return count


def dcsrch_cases():
    """Seeded 1-D line searches on the Rosenbrock function along random descent directions."""
    rng = np.random.default_rng(7)
    out = []

    def rosen(x):
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def rosen_grad(x):
        g = np.zeros_like(x)
        g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
        g[1:] += 200 * (x[1:] - x[:-1] ** 2)
        return g

    for _ in range(60):
        x = rng.uniform(-2, 2, 4)
        g = rosen_grad(x)
        p = -g * rng.uniform(0.0, 1.0, 4) + 0.1 * rng.standard_normal(4)
        if np.dot(g, p) >= 0:
            p = -p
        stp0 = float(10.0 ** rng.uniform(-4, 1))
        ftol, gtol = [(1e-4, 0.9), (1e-4, 0.1), (0.3, 0.4)][len(out) % 3]
        out.append((lambda s, x=x, p=p: rosen(x + s * p),
                    lambda s, x=x, p=p: float(np.dot(rosen_grad(x + s * p), p)), stp0, ftol, gtol))
    # A slope that first steepens (dcstep's fourth case): phi(s) = -s - s^2 + c s^4.
    for c, stp0 in ((0.01, 0.1), (0.01, 0.01), (0.001, 0.05), (0.05, 1.0)):
        out.append((lambda s, c=c: -s - s * s + c * s ** 4,
                    lambda s, c=c: -1.0 - 2.0 * s + 4.0 * c * s ** 3, stp0, 1e-4, 0.9))
    return out


# --- main ---------------------------------------------------------------------------------

def same(a, b):
    return np.array_equal(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))


def run_problem(idx, name):
    X, y, tf, x0 = make_problem(idx, name)
    x0 = np.array(x0, dtype=np.float64)
    if name == "logistic":
        check_not_separable(X, y)
    fun, grad, hessp = torch_callables(tf)
    p = x0.size

    xs = [x0.copy()]
    res = scipy.optimize.minimize(fun, x0.copy(), method="Newton-CG", jac=grad, hessp=hessp,
                                  callback=lambda xk: xs.append(np.array(xk, dtype=np.float64)))

    iterates, info, port = newton_cg_port(fun, grad, hessp, x0)
    # The port must reproduce scipy exactly.
    if len(iterates) != len(xs) or not all(same(a, b) for a, b in zip(iterates, xs)):
        raise SystemExit("newton_cg_reference.py: %s: port iterates differ from scipy's" % name)
    for key in ("nit", "nfev", "njev", "nhev", "status"):
        if port[key] != res[key]:
            raise SystemExit("newton_cg_reference.py: %s: port %s=%r, scipy %r"
                             % (name, key, port[key], res[key]))
    if not (same(port["x"], res.x) and port["fun"] == res.fun and same(port["jac"], res.jac)):
        raise SystemExit("newton_cg_reference.py: %s: port result differs from scipy's" % name)
    if res.status != 0:
        raise SystemExit("newton_cg_reference.py: %s did not converge: %s" % (name, res.message))

    n_data, n_in = (0, 0) if X is None else tuple(X.shape)
    lines = ["case %s %s %d %d %d" % (name, name, p, n_data, n_in)]
    lines.append("# scipy.optimize.minimize(fun, x0, method='Newton-CG', jac=grad, hessp=hvp); "
                 "no options passed")
    lines.append("# effective: xtol=1e-05 (stop when sum|alpha_k p_k| <= p*xtol = %r), "
                 "maxiter=%d (200*p), cg_maxiter=%d (20*p); line search c1=1e-4 c2=0.9 "
                 "amax=50 amin=1e-8 xtol=1e-14" % (p * 1e-5, 200 * p, 20 * p))
    lines.append("option xtol %s" % hx(1e-5))
    lines.append("option maxiter %d" % (200 * p))
    lines.append("option cg_maxiter %d" % (20 * p))
    if X is not None:
        lines.append("X " + vals(X))
        lines.append("y " + vals(y))
    for k, xk in enumerate(xs):
        lines.append("iter %d x %s" % (k, vals(xk)))
        lines.append("iter %d f %s" % (k, hx(fun(xk))))
        lines.append("iter %d grad %s" % (k, vals(grad(xk))))
    for k, it in enumerate(info, start=1):
        lines.append("step %d cg %d %s %d" % (k, it["cg_iters"], it["cg_exit"], it["nhvp"]))
        if it["cg_exit"] != "residual":
            lines.append("# step %d: CG stopped on the curvature test, p.Hp = %r (3*eps = %r)"
                         % (k, it["curv"], 3 * float(np.finfo(np.float64).eps)))
        lines.append("step %d p %s" % (k, vals(it["p"])))
        lines.append("step %d ls %s %s %d %d %d" % (k, hx(it["alpha_first"]), hx(it["alpha"]),
                                                    it["ls_nfev"], it["ls_ngev"], it["fallback"]))
    lines.append("result x %s" % vals(res.x))
    lines.append("result fun %s" % hx(res.fun))
    lines.append("result jac %s" % vals(res.jac))
    lines.append("result counts %d %d %d %d %d" % (res.nit, res.nfev, res.njev, res.nhev, res.status))
    alphas = [it["alpha"] for it in info]
    lines.append("# %s: nit=%d fun=%r; accepted alphas != 1: %s" % (
        name, res.nit, res.fun,
        ", ".join("step %d: %r" % (k, a) for k, a in enumerate(alphas, start=1) if a != 1.0) or "none"))
    lines.append("end")
    return lines, res, info


def main():
    pin_torch("newton_cg_reference.py")
    out_path = output_path("scipy_newton_cg.txt")

    # The port's dot and L1 norm must be numpy's (np.dot -> BLAS ddot, np.add.reduce).
    check_sum_order("newton_cg_reference.py", list(range(1, 13)) + [40], "np.dot / np.add.reduce",
                    lambda u, v: (np.dot(u, v) == dot(u.tolist(), v.tolist())
                                  and np.add.reduce(np.abs(u)) == asum(u.tolist())))

    n_ls = check_dcsrch_port(dcsrch_cases())
    self_check_cases = sorted(DCSTEP_CASES)
    if self_check_cases != [1, 2, 3, 4]:
        raise SystemExit("newton_cg_reference.py: dcsrch self-check covers dcstep cases %r only"
                         % self_check_cases)

    lines = [
        "# generated by tests/reference/newton_cg_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/newton_cg_reference.py",
        "# scipy %s, numpy %s, torch %s (ATEN_CPU_CAPABILITY=default, 1 thread); float64"
        % (scipy.__version__, np.__version__, torch.__version__),
        "# f by torch, grad by torch.autograd.grad, hvp by autograd.grad(grad . v)",
        "# iterates are scipy's own (x_0, then the callback's x_k); cg/ls data come from a port",
        "# checked equal to scipy bit for bit (and dcsrch port == minpack2.dcsrch on %d extra "
        "line searches)" % n_ls,
        "# floats are float.hex(); parse with strtod.",
    ]
    summary = []
    for idx, name in enumerate(PROBLEMS):
        case_lines, res, info = run_problem(idx, name)
        lines.append("")
        lines += case_lines
        summary.append((name, res, info))

    write_fixture(out_path, lines)
    for name, res, info in summary:
        print("%-11s nit=%d nfev=%d njev=%d nhev=%d fun=%r cg=%s alphas!=1: %s" % (
            name, res.nit, res.nfev, res.njev, res.nhev, res.fun,
            [(it["cg_iters"], it["cg_exit"]) for it in info],
            [(k, it["alpha"]) for k, it in enumerate(info, start=1) if it["alpha"] != 1.0]))
    print("wrote %s" % out_path)


if __name__ == "__main__":
    main()
