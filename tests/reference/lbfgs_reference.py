#!/usr/bin/python3
"""Independent reference: torch.optim.LBFGS on three problems and four option sets.

Produces tests/reference/fixtures/torch_lbfgs.txt.  For each problem (a scalar function f
of one flat float64 parameter tensor x of shape (p,)) and each option set it builds
    opt = torch.optim.LBFGS([x], **options)
and calls opt.step(closure) STEPS = 5 times, where closure() does opt.zero_grad(),
loss = f(x), loss.backward() and returns loss.  It records every closure call (the point
x, the loss and the gradient), the value each step returned, x after each step, the
number of closure calls per step, the state counters after each step, and the final
optimizer state (func_evals, n_iter, d, t, H_diag, prev_flat_grad, prev_loss and the
history old_dirs / old_stps / ro / al).

Option sets (only these are passed; the others keep torch 1.13's defaults):
  a  {}                                  lr=1, max_iter=20, history_size=100, no line search
  b  line_search_fn='strong_wolfe'
  c  lr=0.5, max_iter=5, history_size=3
  d  history_size=3, max_iter=7, line_search_fn='strong_wolfe',
     tolerance_grad=1e-9, tolerance_change=1e-12
  e  lr=30, line_search_fn='strong_wolfe'   (extra: exercises more of the line search and
     the opt_cond stops; see the "# branches taken" comment of each case)
All runs stay finite (checked), including Rosenbrock with lr=1 and no line search, so no
problem needed a smaller lr.

The problems, their data and starts are those of newton_cg_reference.py, defined in
curvature_problems.py (per-problem seeded torch.Generator, seed 52100 + index):
  linear_mse  f(w) = mean((X w - y)^2)                X (40, 5), y = X w_true + 0.1 noise
  logistic    f(w) = mean(log(1 + exp(-y * (X w))))   X (40, 4), y in {-1, +1}
  rosenbrock  f(x) = sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n = 4
Starts: zeros, zeros, (-1.2, 1, -1.2, 1).

Before writing, the script replays every run with its own plain-Python port of torch 1.13's
LBFGS.step, _strong_wolfe and _cubic_interpolate (the pseudo-code in
tests/reference/README.md, "L-BFGS reference"), calling f and its gradient through torch,
and asserts that every evaluation point, loss, step result and state entry is equal bit for
bit.  Importing curvature_problems.py pins torch to its portable kernels
(ATEN_CPU_CAPABILITY=default): there x.add_(d, alpha=t) rounds t*d and then the sum (the
AVX2 kernels use a fused multiply-add), so the output does not depend on the machine.
torch.dot goes to the system BLAS (here netlib's reference ddot, a left-to-right sum); see
the README.
Floats are written with float.hex().

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/lbfgs_reference.py
(optionally: ... lbfgs_reference.py OUTPUT_PATH).  Output is deterministic.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Sets ATEN_CPU_CAPABILITY=default, then imports torch: must come before any torch import.
from curvature_problems import (  # noqa: E402
    F64, PROBLEMS, check_sum_order, dot, hx, make_problem, output_path, pin_torch, vals,
    write_fixture)
import numpy as np  # noqa: E402
import torch  # noqa: E402

STEPS = 5
OPTION_SETS = [
    ("a", dict()),
    ("b", dict(line_search_fn="strong_wolfe")),
    ("c", dict(lr=0.5, max_iter=5, history_size=3)),
    ("d", dict(history_size=3, max_iter=7, line_search_fn="strong_wolfe",
               tolerance_grad=1e-9, tolerance_change=1e-12)),
    # Extra, for line-search coverage: a large first trial step makes _strong_wolfe's zoom
    # phase run (new high point, insufficient progress, moving t off the bracket's boundary),
    # and the convergence stops (opt_cond inside the loop, then at the start of step()).
    ("e", dict(lr=30, line_search_fn="strong_wolfe")),
]
# Runs whose trajectory amplifies rounding differences (measured: relative noise of 2e-16 on f,
# or torch's AVX2 kernels instead of the default ones).
CHAOTIC = {
    ("rosenbrock", "e"): "chaotic: 1-ulp changes in f or in the update's rounding move x by 1e-2 "
                         "(relative) from step 2 on and change the evaluation counts; only step 1 "
                         "is comparable with a tolerance",
}
GROUP_KEYS = ["lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change",
              "history_size", "line_search_fn"]


def num(v):
    """A Python float from a float, int or 0-d tensor."""
    return float(v.item()) if torch.is_tensor(v) else float(v)


# --- torch's run --------------------------------------------------------------------------

def run_torch(tf, x0, opts):
    x = torch.tensor(x0, dtype=F64, requires_grad=True)
    opt = torch.optim.LBFGS([x], **opts)
    evals = []  # (step, x list, loss, grad list), one per closure call

    def closure():
        opt.zero_grad()
        loss = tf(x)
        loss.backward()
        evals.append((cur_step[0], x.detach().tolist(), loss.item(), x.grad.detach().tolist()))
        return loss

    cur_step = [0]
    steps = []
    for k in range(1, STEPS + 1):
        cur_step[0] = k
        before = len(evals)
        ret = opt.step(closure)
        st = opt.state[x]
        steps.append(dict(loss=ret.item(), x=x.detach().tolist(), evals=len(evals) - before,
                          func_evals=st["func_evals"], n_iter=st["n_iter"]))
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    return evals, steps, dict(opt.state[x]), group


# --- a plain-Python port of torch 1.13's LBFGS (lbfgs.py) ---------------------------------

COVER = set()  # names of the port's branches a run went through (written as a comment)


class T(float):
    """A float64 scalar that torch holds as a 0-dim tensor (gtd, ys, ro, H_diag, al, d_norm, a
    step t derived from them, ...).  Arithmetic rounds exactly like Python floats, except
    `number / tensor`: torch evaluates it as tensor.reciprocal() * number (Tensor.__rdiv__,
    torch/_tensor.py line 837), which rounds twice.  Any operation with a T operand gives a T."""

    def __add__(a, b):
        return T(float(a) + float(b))
    __radd__ = __add__

    def __sub__(a, b):
        return T(float(a) - float(b))

    def __rsub__(a, b):
        return T(float(b) - float(a))

    def __mul__(a, b):
        return T(float(a) * float(b))
    __rmul__ = __mul__

    def __truediv__(a, b):
        return T(float(a) / float(b))

    def __rtruediv__(a, b):
        return T((1.0 / float(a)) * float(b))

    def __neg__(a):
        return T(-float(a))

    def __abs__(a):
        return T(abs(float(a)))

    def __pow__(a, e):
        assert e == 2  # torch computes x**2 as x*x
        return T(float(a) * float(a))


def torch_sum(a):
    """Tensor.sum() of a contiguous float64 vector with fewer than 20 elements (SumKernel.cpp,
    4 double lanes): sum the tail a[4m:] from 0, then add the 4 lane sums
    lane_j = a[j] + a[4+j] + ... in lane order."""
    n = len(a)
    assert n < 20, "the port only covers n < 20"
    m = n // 4
    lanes = [0.0] * 4
    for i in range(m):
        for j in range(4):
            lanes[j] += a[4 * i + j]
    s = 0.0
    for k in range(4 * m, n):
        s += a[k]
    for j in range(4):
        s += lanes[j]
    return s


def axpy(x, alpha, d):
    """x.add_(d, alpha=alpha) with the default (non-FMA) kernel: x + alpha*d per element."""
    alpha = float(alpha)
    return [float(x[i]) + alpha * float(d[i]) for i in range(len(x))]


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)  # x1 - x2 a T: (3*(f1-f2)) * (1/(x1-x2))
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = T(math.sqrt(d2_square))
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    d_norm = T(max(abs(v) for v in d))
    g = list(g)
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = T(dot(g_new, d))
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            COVER.add("ls_bracket_by_f")
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, list(g_new)], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            COVER.add("ls_wolfe_at_try_%s" % ("1" if ls_iter == 0 else "2+"))
            break
        if gtd_new >= 0:
            COVER.add("ls_bracket_by_slope")
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, list(g_new)], [gtd_prev, gtd_new]
            break
        COVER.add("ls_extrapolate")
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, list(g_new), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = T(dot(g_new, d))
        ls_iter += 1
    if ls_iter == max_ls:
        COVER.add("ls_max_ls")
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            COVER.add("zoom_tiny_bracket")
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                COVER.add("zoom_moved_off_boundary")
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                COVER.add("zoom_insuf_progress")
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = T(dot(g_new, d))
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = list(g_new), gtd_new
            COVER.add("zoom_new_high")
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                COVER.add("zoom_wolfe")
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                COVER.add("zoom_high_becomes_low")
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = list(g_new), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGSPort:
    def __init__(self, x0, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        self.lr, self.max_iter, self.max_eval = lr, max_iter, max_eval
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.history_size, self.line_search_fn = history_size, line_search_fn
        self.x = list(x0)
        self.state = {"func_evals": 0, "n_iter": 0}

    def step(self, closure):
        """closure(x) -> (loss, grad list) evaluated at the current parameters."""
        state = self.state
        lr, max_iter, max_eval = self.lr, self.max_iter, self.max_eval
        tolerance_grad, tolerance_change = self.tolerance_grad, self.tolerance_change
        history_size = self.history_size

        orig_loss, flat_grad = closure(self.x)
        loss = orig_loss
        current_evals = 1
        state["func_evals"] += 1
        opt_cond = max(abs(v) for v in flat_grad) <= tolerance_grad
        if opt_cond:
            COVER.add("step_returns_at_start")
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = [-v for v in flat_grad]
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = [flat_grad[i] - prev_flat_grad[i] for i in range(len(d))]
                s = [v * t for v in d]
                ys = T(dot(y, s))
                COVER.add("history_update" if ys > 1e-10 else "history_skip_ys")
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        COVER.add("history_drop_oldest")
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1. / ys)
                    H_diag = ys / T(dot(y, y))
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = [-v for v in flat_grad]
                for i in range(num_old - 1, -1, -1):
                    al[i] = T(dot(old_stps[i], q)) * ro[i]
                    q = axpy(q, -al[i], old_dirs[i])
                d = r = [v * H_diag for v in q]
                for i in range(num_old):
                    be_i = T(dot(old_dirs[i], r)) * ro[i]
                    r = axpy(r, al[i] - be_i, old_stps[i])
                d = r
            prev_flat_grad = list(flat_grad)
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1., 1. / T(torch_sum([abs(v) for v in flat_grad]))) * lr
            else:
                t = lr
            gtd = T(dot(flat_grad, d))
            if gtd > -tolerance_change:
                COVER.add("stop_gtd")
                break
            ls_func_evals = 0
            if self.line_search_fn is not None:
                assert self.line_search_fn == "strong_wolfe"
                x_init = list(self.x)

                def obj_func(x, t, d):
                    return closure(axpy(x, t, d))
                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd)
                self.x = axpy(self.x, t, d)
                opt_cond = max(abs(v) for v in flat_grad) <= tolerance_grad
            else:
                self.x = axpy(self.x, t, d)
                if n_iter != max_iter:
                    loss, flat_grad = closure(self.x)
                    opt_cond = max(abs(v) for v in flat_grad) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter:
                COVER.add("stop_max_iter")
                break
            if current_evals >= max_eval:
                COVER.add("stop_max_eval")
                break
            if opt_cond:
                COVER.add("stop_opt_cond")
                break
            if max(abs(v * t) for v in d) <= tolerance_change:
                COVER.add("stop_small_step")
                break
            if abs(loss - prev_loss) < tolerance_change:
                COVER.add("stop_small_change")
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss


def run_port(tf, x0, opts):
    port = LBFGSPort(x0, **opts)
    evals = []
    cur_step = [0]

    def closure(x):
        xt = torch.tensor(x, dtype=F64, requires_grad=True)
        loss = tf(xt)
        loss.backward()
        g = xt.grad.tolist()
        evals.append((cur_step[0], list(x), loss.item(), g))
        return loss.item(), g

    steps = []
    for k in range(1, STEPS + 1):
        cur_step[0] = k
        before = len(evals)
        ret = port.step(closure)
        steps.append(dict(loss=ret, x=list(port.x), evals=len(evals) - before,
                          func_evals=port.state["func_evals"], n_iter=port.state["n_iter"]))
    return evals, steps, port.state


def bits(a):
    """Exact comparison key: floats (and lists of them) by their hex (-0.0 and 0.0 equal)."""
    if isinstance(a, (list, tuple)):
        return [bits(v) for v in a]
    if torch.is_tensor(a):
        return bits(a.detach().reshape(-1).tolist()) if a.dim() else bits(a.item())
    return a if isinstance(a, (int, str)) or a is None else float(a) + 0.0


def check_port(label, torch_run, port_run):
    t_evals, t_steps, t_state, _ = torch_run
    p_evals, p_steps, p_state = port_run

    def fail(what):
        raise SystemExit("lbfgs_reference.py: %s: port differs from torch in %s" % (label, what))

    if bits(t_evals) != bits(p_evals):
        fail("the closure calls")
    if bits([[s[k] for k in sorted(s)] for s in t_steps]) != bits([[s[k] for k in sorted(s)] for s in p_steps]):
        fail("the step results")
    if set(t_state) != set(p_state):
        fail("the state keys %s vs %s" % (sorted(t_state), sorted(p_state)))
    for key in t_state:
        tv, pv = t_state[key], p_state[key]
        if key == "al":
            tv, pv = [v for v in tv if v is not None], [v for v in pv if v is not None]
        if bits(tv) != bits(pv):
            fail("state[%r]" % key)


# --- main ---------------------------------------------------------------------------------

def run_case(idx, name, set_name, opts):
    X, y, tf, x0 = make_problem(idx, name)
    p = len(x0)
    torch_run = run_torch(tf, x0, opts)
    evals, steps, state, group = torch_run
    for e in evals:
        if not all(math.isfinite(v) for v in e[1] + [e[2]] + e[3]):
            raise SystemExit("lbfgs_reference.py: %s/%s became non-finite; choose a smaller lr"
                             % (name, set_name))
    COVER.clear()
    check_port("%s/%s" % (name, set_name), torch_run, run_port(tf, x0, opts))
    covered = sorted(COVER)

    n_data, n_in = (0, 0) if X is None else tuple(X.shape)
    lines = ["case %s %s %d %d %d %s %d" % (name, name, p, n_data, n_in, set_name, STEPS)]
    lines.append("# passed: %s" % (", ".join("%s=%r" % kv for kv in opts.items()) or "nothing (all defaults)"))
    lines.append("# effective param_group: %s" % ", ".join("%s=%r" % (k, group[k]) for k in GROUP_KEYS))
    for key in GROUP_KEYS:
        v = group[key]
        if key == "line_search_fn":
            lines.append("option %s %s" % (key, "none" if v is None else v))
        elif key in ("max_iter", "max_eval", "history_size"):
            lines.append("option %s %d" % (key, v))
        else:
            lines.append("option %s %s" % (key, hx(v)))
    if X is not None:
        lines.append("X " + vals(X))
        lines.append("y " + vals(y))
    lines.append("x0 " + vals(x0))
    j_in_step = {}
    for k, xe, fe, ge in evals:
        j = j_in_step[k] = j_in_step.get(k, 0) + 1
        lines.append("eval %d %d x %s" % (k, j, vals(xe)))
        lines.append("eval %d %d f %s" % (k, j, hx(fe)))
        lines.append("eval %d %d grad %s" % (k, j, vals(ge)))
    for k, s in enumerate(steps, start=1):
        lines.append("step %d loss %s" % (k, hx(s["loss"])))
        lines.append("step %d x %s" % (k, vals(s["x"])))
        lines.append("step %d evals %d" % (k, s["evals"]))
        lines.append("step %d counters %d %d" % (k, s["func_evals"], s["n_iter"]))
    lines.append("state func_evals %d" % state["func_evals"])
    lines.append("state n_iter %d" % state["n_iter"])
    lines.append("state t %s" % hx(num(state["t"])))
    lines.append("state d %s" % vals(state["d"]))
    lines.append("state H_diag %s" % hx(num(state["H_diag"])))
    lines.append("state prev_flat_grad %s" % vals(state["prev_flat_grad"]))
    lines.append("state prev_loss %s" % hx(state["prev_loss"]))
    m = len(state["old_dirs"])
    assert len(state["old_stps"]) == m and len(state["ro"]) == m
    lines.append("state history %d" % m)
    for i in range(m):
        lines.append("state old_dir %d %s" % (i, vals(state["old_dirs"][i])))
        lines.append("state old_stp %d %s" % (i, vals(state["old_stps"][i])))
    lines.append("state ro %s" % " ".join(hx(num(v)) for v in state["ro"]).rstrip())
    if "al" in state:
        al = [v for v in state["al"] if v is not None]
        assert len(al) == m and all(v is None for v in state["al"][m:])
        lines.append("state al %s" % " ".join(hx(num(v)) for v in al))
    else:
        lines.append("# state al absent (no L-BFGS two-loop ran)")
    final_f = tf(torch.tensor(steps[-1]["x"], dtype=F64)).item()
    lines.append("# branches taken: %s" % " ".join(covered))
    if (name, set_name) in CHAOTIC:
        lines.append("# " + CHAOTIC[(name, set_name)])
    lines.append("# after %d steps: f(x) = %r, func_evals = %d, n_iter = %d"
                 % (STEPS, final_f, state["func_evals"], state["n_iter"]))
    lines.append("end")
    return lines, final_f, steps, state, covered


def main():
    pin_torch("lbfgs_reference.py")
    out_path = output_path("torch_lbfgs.txt")

    # The port's dot and sum must be torch's (torch.dot -> BLAS ddot, Tensor.sum -> SumKernel).
    def agrees(u, v):
        tu, tv = torch.tensor(u.tolist(), dtype=F64), torch.tensor(v.tolist(), dtype=F64)
        return (tu.dot(tv).item() == dot(u.tolist(), v.tolist())
                and tu.sum().item() == torch_sum(u.tolist()))
    check_sum_order("lbfgs_reference.py", range(1, 20), "torch.dot / Tensor.sum", agrees)

    lines = [
        "# generated by tests/reference/lbfgs_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/lbfgs_reference.py",
        "# torch %s, numpy %s (ATEN_CPU_CAPABILITY=default, 1 thread); float64; %d opt.step(closure) "
        "calls per case" % (torch.__version__, np.__version__, STEPS),
        "# closure: opt.zero_grad(); loss = f(x); loss.backward(); return loss.  x is one parameter (p,)",
        "# every run was replayed by a plain-Python port of LBFGS.step/_strong_wolfe and matched bit for bit",
        "# no run became non-finite: every option set uses its own lr (Rosenbrock with lr=1 included)",
        "# floats are float.hex(); parse with strtod.",
    ]
    summary = []
    all_covered = set()
    for idx, name in enumerate(PROBLEMS):
        for set_name, opts in OPTION_SETS:
            case_lines, final_f, steps, state, covered = run_case(idx, name, set_name, opts)
            all_covered.update(covered)
            lines.append("")
            lines += case_lines
            summary.append((name, set_name, final_f, [s["evals"] for s in steps], state))

    write_fixture(out_path, lines)
    for name, set_name, final_f, ev, state in summary:
        print("%-11s %s f=%-24r evals/step=%s func_evals=%d n_iter=%d history=%d" % (
            name, set_name, final_f, ev, state["func_evals"], state["n_iter"], len(state["old_dirs"])))
    print("branches taken over all runs: %s" % " ".join(sorted(all_covered)))
    print("wrote %s" % out_path)


if __name__ == "__main__":
    main()
