#!/usr/bin/python3
"""Independent reference: scipy 1.10.1's scalar_search_wolfe2 on analytic 1-D functions.

Produces tests/reference/fixtures/scipy_wolfe2.txt.  For each case it builds phi(alpha) and
derphi(alpha) from a closed form with a few parameters, computes phi0 = phi(0) and
derphi0 = derphi(0), and calls

    scipy.optimize._linesearch.scalar_search_wolfe2(phi, derphi, phi0, old_phi0, derphi0)

with scipy's defaults (c1 1e-4, c2 0.9, amax None, no extra_condition, maxiter 10).  It
records every call of phi and of derphi (argument and value, in the order scipy made them)
and the result (alpha_star, phi_star, derphi_star; 'none' for None).

The functions (t = alpha; every expression is evaluated exactly in the order written, with
the parentheses written, in IEEE double, so that tests/test_wolfe2.cpp can rebuild them bit
for bit; sqrt, exp and log1p are the C library's):

  quad     a m c     d = t - m;  phi = a*(d*d) + c;            derphi = (2*a)*d
  quartic  a m c     d = t - m;  e = d*d;  phi = a*(e*e) + c;  derphi = (4*a)*(e*d)
  phuber   s m b     d = t - m;  r = sqrt(b*b + d*d);  phi = s*r;  derphi = s*(d/r)
                     (a pseudo-Huber |t - m| with a corner of width b)
  expwall  k m g     e = exp(k*(t - m));  phi = e - g*t;       derphi = k*e - g
  asym     a b m     d = t - m;  phi = (d < 0 ? a : b)*(d*d);  derphi = (d < 0 ? 2*a : 2*b)*d
                     (two half-parabolas meeting at m: C1, not C2)
  neglog   s         phi = -log1p(s*t);                        derphi = -(s/(1 + s*t))

(b*b + d*d means (b*b) + (d*d); k*e - g means (k*e) - g; e - g*t means e - (g*t).)
Each function's derphi is checked against central differences of its phi before anything
is written.

The script also runs its own Python port of scalar_search_wolfe2 / _zoom / _cubicmin /
_quadmin (below), instrumented to name the branches it takes, checks that the port makes
exactly scipy's calls and returns exactly scipy's result on every case, and writes the
branches as a '# branches:' comment per case.  The port is only for that comment and that
check; the records come from scipy.

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/wolfe2_reference.py
(optionally: ... wolfe2_reference.py OUTPUT_PATH).  Output is deterministic.
"""

import math
import os
import sys
import warnings

import numpy as np
import scipy
from scipy.optimize import _linesearch


def hx(v):
    return float(v).hex()


def hx_opt(v):
    return "none" if v is None else hx(v)


# --- the functions --------------------------------------------------------------------

def make(kind, p):
    """(phi, derphi) for function `kind` with parameters p (floats)."""
    if kind == "quad":
        a, m, c = p

        def phi(t):
            d = t - m
            return a * (d * d) + c

        def derphi(t):
            d = t - m
            return (2.0 * a) * d
    elif kind == "quartic":
        a, m, c = p

        def phi(t):
            d = t - m
            e = d * d
            return a * (e * e) + c

        def derphi(t):
            d = t - m
            e = d * d
            return (4.0 * a) * (e * d)
    elif kind == "phuber":
        s, m, b = p

        def phi(t):
            d = t - m
            return s * math.sqrt(b * b + d * d)

        def derphi(t):
            d = t - m
            return s * (d / math.sqrt(b * b + d * d))
    elif kind == "expwall":
        k, m, g = p

        def phi(t):
            return math.exp(k * (t - m)) - g * t

        def derphi(t):
            return k * math.exp(k * (t - m)) - g
    elif kind == "asym":
        a, b, m = p

        def phi(t):
            d = t - m
            return (a if d < 0 else b) * (d * d)

        def derphi(t):
            d = t - m
            return ((2.0 * a) if d < 0 else (2.0 * b)) * d
    elif kind == "neglog":
        (s,) = p

        def phi(t):
            return -math.log1p(s * t)

        def derphi(t):
            return -(s / (1.0 + s * t))
    else:
        raise ValueError(kind)

    # Force Python floats (scipy's _cubicmin hands back numpy float64 steps; the arithmetic
    # is the same IEEE arithmetic either way, this just keeps the functions uniform).
    return (lambda t: float(phi(float(t)))), (lambda t: float(derphi(float(t))))


def check_derivative(name, kind, params, phi, derphi, points):
    """derphi against central differences of phi (step h = 1e-6 max(1, |t|)).  Points
    within 100 h of a kink (phuber's corner, asym's joint, both at m = params[1] or [2])
    are skipped: there the difference quotient does not resolve the curvature."""
    kink = {"phuber": params[1], "asym": params[2]}.get(kind) if len(params) > 2 else None
    checked = 0
    for t in points:
        h = 1e-6 * max(1.0, abs(t))
        if kink is not None and abs(t - kink) < 100 * h:
            continue
        fd = (phi(t + h) - phi(t - h)) / (2 * h)
        g = derphi(t)
        scale = max(1.0, abs(g), abs(phi(t)) / max(1.0, abs(t)))
        if abs(fd - g) > 1e-6 * scale:
            raise SystemExit(f"{name}: derphi({t}) = {g} but finite differences give {fd}")
        checked += 1
    if checked < 4:
        raise SystemExit(f"{name}: only {checked} points for the derivative check")
    return checked


# --- an instrumented port (for the branch comment and a cross-check only) ---------------

def port_cubicmin(a, fa, fpa, b, fb, c, fc):
    # Same expressions as scipy's _cubicmin (numpy errstate(raise) -> None).
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            C = fpa
            db = b - a
            dc = c - a
            denom = (db * dc) ** 2 * (db - dc)
            d1 = np.empty((2, 2))
            d1[0, 0] = dc ** 2
            d1[0, 1] = -db ** 2
            d1[1, 0] = -dc ** 3
            d1[1, 1] = db ** 3
            [A, B] = np.dot(d1, np.asarray([fb - fa - C * db, fc - fa - C * dc]).flatten())
            A /= denom
            B /= denom
            radical = B * B - 3 * A * C
            xmin = a + (-B + np.sqrt(radical)) / (3 * A)
        except ArithmeticError:
            return None, "error"
    if not np.isfinite(xmin):
        return None, "nonfinite"
    return xmin, None


def port_quadmin(a, fa, fpa, b, fb):
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            D = fa
            C = fpa
            db = b - a * 1.0
            B = (fb - D - C * db) / (db * db)
            xmin = a - C / (2.0 * B)
        except ArithmeticError:
            return None, "error"
    if not np.isfinite(xmin):
        return None, "nonfinite"
    return xmin, None


def port_zoom(a_lo, a_hi, phi_lo, phi_hi, derphi_lo, phi, derphi, phi0, derphi0, c1, c2, br):
    maxiter = 10
    i = 0
    delta1 = 0.2
    delta2 = 0.1
    phi_rec = phi0
    a_rec = 0
    br.append("zoom(lo>hi)" if a_lo > a_hi else "zoom(lo<hi)")
    while True:
        dalpha = a_hi - a_lo
        if dalpha < 0:
            a, b = a_hi, a_lo
        else:
            a, b = a_lo, a_hi
        use_quad = True
        if i > 0:
            cchk = delta1 * dalpha
            a_j, why = port_cubicmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi, a_rec, phi_rec)
            if a_j is None:
                br.append("cubic-" + why)
            elif a_j > b - cchk or a_j < a + cchk:
                br.append("cubic-rejected")
            else:
                br.append("cubic")
                use_quad = False
        if use_quad:
            qchk = delta2 * dalpha
            a_j, why = port_quadmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi)
            if a_j is None:
                br.append("quad-" + why + ">bisect")
                a_j = a_lo + 0.5 * dalpha
            elif a_j > b - qchk or a_j < a + qchk:
                br.append("quad-rejected>bisect")
                a_j = a_lo + 0.5 * dalpha
            else:
                br.append("quad")
        if dalpha < 0 and not (a <= a_j <= b):
            br.append("outside-bracket")
        phi_aj = phi(a_j)
        if (phi_aj > phi0 + c1 * a_j * derphi0) or (phi_aj >= phi_lo):
            br.append("new-hi")
            phi_rec = phi_hi
            a_rec = a_hi
            a_hi = a_j
            phi_hi = phi_aj
        else:
            derphi_aj = derphi(a_j)
            if abs(derphi_aj) <= -c2 * derphi0:
                br.append("zoom-wolfe")
                return a_j, phi_aj, derphi_aj
            if derphi_aj * (a_hi - a_lo) >= 0:
                br.append("new-lo(hi=old-lo)")
                phi_rec = phi_hi
                a_rec = a_hi
                a_hi = a_lo
                phi_hi = phi_lo
            else:
                br.append("new-lo")
                phi_rec = phi_lo
                a_rec = a_lo
            a_lo = a_j
            phi_lo = phi_aj
            derphi_lo = derphi_aj
        i += 1
        if i > maxiter:
            br.append("zoom-exhausted")
            return None, None, None


def port_search(phi, derphi, phi0, old_phi0, derphi0, br, c1=1e-4, c2=0.9, maxiter=10):
    alpha0 = 0
    if old_phi0 is not None and derphi0 != 0:
        alpha1 = min(1.0, 1.01 * 2 * (phi0 - old_phi0) / derphi0)
        br.append("first-step-from-old_phi0" if alpha1 >= 0 else "first-step-negative>1")
    else:
        alpha1 = 1.0
        br.append("first-step-1")
    if alpha1 < 0:
        alpha1 = 1.0
    phi_a1 = phi(alpha1)
    phi_a0 = phi0
    derphi_a0 = derphi0
    for i in range(maxiter):
        if alpha1 == 0:
            br.append("alpha1==0")
            return None, phi0, None
        if (phi_a1 > phi0 + c1 * alpha1 * derphi0) or ((phi_a1 >= phi_a0) and i > 0):
            br.append("zoom-from-armijo" if phi_a1 > phi0 + c1 * alpha1 * derphi0
                      else "zoom-from-not-lower")
            return port_zoom(alpha0, alpha1, phi_a0, phi_a1, derphi_a0, phi, derphi,
                             phi0, derphi0, c1, c2, br)
        derphi_a1 = derphi(alpha1)
        if abs(derphi_a1) <= -c2 * derphi0:
            br.append("wolfe-at-%s" % ("first-trial" if i == 0 else "doubled"))
            return alpha1, phi_a1, derphi_a1
        if derphi_a1 >= 0:
            br.append("zoom-from-slope")
            return port_zoom(alpha1, alpha0, phi_a1, phi_a0, derphi_a1, phi, derphi,
                             phi0, derphi0, c1, c2, br)
        br.append("double")
        alpha2 = 2 * alpha1
        alpha0 = alpha1
        alpha1 = alpha2
        phi_a0 = phi_a1
        phi_a1 = phi(alpha1)
        derphi_a0 = derphi_a1
    br.append("maxiter")
    return alpha1, phi_a1, None


# --- the cases ------------------------------------------------------------------------

# (name, kind, params, old_phi0 spec, what it is for).  old_phi0 spec: None, or
# ("phi0+", delta) meaning old_phi0 = phi0 + delta.
CASES = [
    ("accept_first", "quad", (1.0, 1.2, 0.0), None,
     "alpha1 = 1 satisfies both Wolfe conditions at once"),
    ("old_phi0_step", "quad", (1.0, 1.2, 0.0), ("phi0+", 0.0625),
     "first trial min(1, 2.02 (phi0 - old_phi0)/derphi0) < 1, then doubling to Wolfe"),
    ("old_phi0_negative", "quad", (1.0, 1.2, 0.0), ("phi0+", -0.5),
     "old_phi0 < phi0: the first trial is negative and reset to 1"),
    ("double_flat", "quad", (1.0, 100.0, 0.0), None,
     "a flat quadratic: doubling 1, 2, 4, 8, 16, Wolfe at 16"),
    ("maxiter_quad", "quad", (2.0 ** -10, 1.0e4, 0.0), None,
     "doubling never reaches the curvature condition: maxiter, alpha 1024, derphi_star None"),
    ("maxiter_neglog", "neglog", (1.0e-4,), None,
     "-log(1 + s t), decreasing forever with weak curvature: maxiter"),
    ("zoom_armijo_quad", "quad", (1.0, 0.3, 0.5), None,
     "alpha1 = 1 fails sufficient decrease; the zoom's quadratic hits the minimum"),
    ("zoom_slope_quad", "quad", (3.0, 0.51, -1.0), None,
     "alpha1 = 1 lower but past the minimum (derphi >= 0): zoom(1, 0) with a_lo > a_hi"),
    ("zoom_cubic_error", "quad", (1.0, 0.05, 0.0), None,
     "quadratic minimum within 0.1 dalpha of a_lo: bisection; the cubic through exact "
     "quadratic data divides by zero (A = 0), the quadratic is used"),
    ("zoom_cubic_rejected", "quad", (3.0, 0.062, 0.0), None,
     "as zoom_cubic_error, but rounding makes A tiny, not 0: the cubic's minimizer is "
     "rejected (out of the interval), the quadratic is used"),
    ("zoom_cubic_new_lo", "expwall", (8.0, 0.94, 0.5), None,
     "an exponential wall: quadratic, new a_lo (a_hi kept), then the cubic is accepted"),
    ("zoom_mixed", "expwall", (100.0, 0.5, 0.5), None,
     "a steep wall: cubic accepted and rejected, quadratic rejected, bisection, a_hi = old "
     "a_lo, 6 zoom trials"),
    ("zoom_not_lower", "phuber", (1.0, 1.4, 0.05), None,
     "after one doubling phi(2) >= phi(1) while Armijo holds: zoom(1, 2)"),
    ("zoom_slope_long", "expwall", (30.0, 2.875, 0.5), ("phi0+", 0.011),
     "first trial from old_phi0, 6 doublings, zoom from derphi >= 0 (a_lo > a_hi), cubic "
     "steps"),
    ("zoom_asym", "asym", (0.1, 40.0, 0.994), None,
     "two half-parabolas: zoom from derphi >= 0, cubic with a_lo > a_hi"),
    ("zoom_quartic", "quartic", (1.0, 0.25, 0.0), None,
     "a quartic: bisection, new a_hi, cubic"),
    ("zoom_exhausted", "phuber", (1.0, 0.3, 1.0e-9), None,
     "a corner of width 1e-9: the zoom gives up after 11 trials (alpha_star None)"),
    ("zoom_collapse", "expwall", (100.0, 0.521, 0.5), None,
     "the cubic lands exactly on a_lo, so a_hi = a_lo; both interpolants divide by zero, "
     "bisection repeats phi(0.5) until the zoom gives up"),
    ("alpha1_zero", "quad", (1.0, 1.2, 0.0), ("phi0+", 0.0),
     "old_phi0 == phi0: alpha1 = -0.0, phi is called once, then None"),
    ("alpha1_underflow", "quad", (1.0e300, 1.0, -1.0e300), ("phi0+", 5e-324),
     "2.02 (phi0 - old_phi0)/derphi0 underflows to +0.0: phi(0) once, then None"),
]


def run_case(name, kind, params, old_spec):
    phi_f, derphi_f = make(kind, params)
    phi0 = phi_f(0.0)
    derphi0 = derphi_f(0.0)
    old_phi0 = None if old_spec is None else phi0 + old_spec[1]

    calls = []

    def phi(t):
        v = phi_f(t)
        calls.append(("phi", float(t), v))
        return v

    def derphi(t):
        v = derphi_f(t)
        calls.append(("derphi", float(t), v))
        return v

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _linesearch.LineSearchWarning)
        alpha_star, phi_star, phi0_out, derphi_star = _linesearch.scalar_search_wolfe2(
            phi, derphi, phi0, old_phi0, derphi0)

    # Cross-check with the instrumented port.
    port_calls = []

    def pphi(t):
        v = phi_f(t)
        port_calls.append(("phi", float(t), v))
        return v

    def pderphi(t):
        v = derphi_f(t)
        port_calls.append(("derphi", float(t), v))
        return v

    br = []
    p_alpha, p_phi, p_der = port_search(pphi, pderphi, phi0, old_phi0, derphi0, br)

    def key(x):
        return None if x is None else float(x).hex()
    if port_calls != calls or [key(p_alpha), key(p_phi), key(p_der)] != \
            [key(alpha_star), key(phi_star), key(derphi_star)]:
        raise SystemExit(f"{name}: the instrumented port disagrees with scipy")

    # derphi against central differences at 0, at every trial, and at the result.
    pts = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0] + [t for _, t, _ in calls]
    if alpha_star is not None:
        pts.append(float(alpha_star))
    check_derivative(name, kind, params, phi_f, derphi_f, pts)

    return dict(phi0=phi0, old_phi0=old_phi0, derphi0=derphi0, calls=calls,
                alpha_star=alpha_star, phi_star=phi_star, derphi_star=derphi_star,
                branches=br)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "fixtures", "scipy_wolfe2.txt")
    lines = [
        "# scipy.optimize._linesearch.scalar_search_wolfe2 on analytic phi(alpha)",
        f"# generated by tests/reference/wolfe2_reference.py with scipy {scipy.__version__}, "
        f"numpy {np.__version__}",
        "# defaults: c1 1e-4, c2 0.9, amax None, extra_condition None, maxiter 10",
        "# case <name> <function> <nparams> <params...>   (formulas: see the script's docstring)",
        "# start <phi0> <old_phi0|none> <derphi0>",
        "# call phi <alpha> <value> | call derphi <alpha> <value>   every call, in scipy's order",
        "# result <alpha_star|none> <phi_star|none> <derphi_star|none>",
        "# end",
    ]
    for name, kind, params, old_spec, what in CASES:
        r = run_case(name, kind, params, old_spec)
        nphi = sum(1 for c in r["calls"] if c[0] == "phi")
        nder = len(r["calls"]) - nphi
        lines.append(f"# {name}: {what}")
        lines.append(f"#   params {params}, phi0 {r['phi0']!r}, derphi0 {r['derphi0']!r}, "
                     f"old_phi0 {r['old_phi0']!r}")
        lines.append(f"#   {nphi} phi calls, {nder} derphi calls; alpha_star "
                     f"{r['alpha_star']!r}")
        lines.append("# branches: " + " ".join(r["branches"]))
        lines.append(f"case {name} {kind} {len(params)} " + " ".join(hx(p) for p in params))
        lines.append(f"start {hx(r['phi0'])} {hx_opt(r['old_phi0'])} {hx(r['derphi0'])}")
        for which, t, v in r["calls"]:
            lines.append(f"call {which} {hx(t)} {hx(v)}")
        lines.append(f"result {hx_opt(r['alpha_star'])} {hx_opt(r['phi_star'])} "
                     f"{hx_opt(r['derphi_star'])}")
        lines.append("end")
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out_path}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
