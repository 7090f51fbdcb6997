"""descent.optim against independent references.

The first-order optimizers (SGD, Adam, AdamW, Adagrad, RMSprop) are run for 20 steps on a
fixed loss whose gradient is computed by descent's backward(), and compared at every step
with numpy implementations, written here, of torch.optim's documented update formulas
(torch 1.13, single-tensor code path, same operation order), fed with the closed-form numpy
gradient of the same loss. LBFGS, Newton and NewtonCG are checked against np.linalg.solve on
a quadratic; one test (skipped without torch) compares LBFGS's iterates with
torch.optim.LBFGS. Everything is f64.
"""

import math

import numpy as np
import pytest

import descent
from descent import optim

# --- the loss: per parameter sum(a/2 p^2 + c/4 p^4 + b p), gradient a p + c p^3 + b ----------

_rng = np.random.default_rng(1234)
SHAPES = [(6,), (2, 3)]  # two parameters: a vector and a matrix
W0 = [_rng.uniform(-1.5, 1.5, size=s) for s in SHAPES]
CONSTS = [(_rng.uniform(0.5, 2.0, size=s), _rng.uniform(0.1, 0.5, size=s),
           _rng.normal(size=s)) for s in SHAPES]
STEPS = 20
# Relative tolerance for 20 steps of an elementwise formula: descent and numpy may round the
# gradient (p**3 via pow) and the fused updates an ulp apart; 1e-12 leaves ~4 orders for that.
RTOL = 1e-12
ATOL = 1e-14  # the parameters are O(1); this only matters for entries that cross zero


def descent_loss(params):
    total = None
    for p, (a, c, b) in zip(params, CONSTS):
        a, c, b = (descent.tensor(x, dtype="f64") for x in (a, c, b))
        term = (0.5 * a * p * p + 0.25 * c * p**4 + b * p).sum()
        total = term if total is None else total + term
    return total


def numpy_grads(params):
    return [a * p + c * p**3 + b for p, (a, c, b) in zip(params, CONSTS)]


def fresh_params(values=W0):
    return [descent.tensor(w, dtype="f64", requires_grad=True) for w in values]


def snapshot(params):
    return [p.detach().numpy().copy() for p in params]


def take_steps(opt, params, n):
    for _ in range(n):
        opt.zero_grad()
        descent_loss(params).backward()
        opt.step()


def closure_for(opt, f, w):
    """torch.optim's closure: zero the gradient, recompute f(w), backward, return the loss."""
    def closure():
        opt.zero_grad()
        loss = f(w)
        loss.backward()
        return loss
    return closure


def run_descent(make_opt, steps=STEPS):
    params = fresh_params()
    opt = make_opt(params)
    trajectory = []
    for _ in range(steps):
        take_steps(opt, params, 1)
        trajectory.append(snapshot(params))
    return trajectory


def run_reference(update, steps=STEPS):
    params = [w.copy() for w in W0]
    states = [{} for _ in params]
    trajectory = []
    for _ in range(steps):
        grads = numpy_grads(params)
        params = [update(p, g, s) for p, g, s in zip(params, grads, states)]
        trajectory.append([p.copy() for p in params])
    return trajectory


def assert_trajectories_close(actual, expected, rtol=RTOL, atol=ATOL):
    assert len(actual) == len(expected)
    for step, (a_step, e_step) in enumerate(zip(actual, expected), start=1):
        for a, e in zip(a_step, e_step):
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"step {step}")


# --- numpy references: torch.optim 1.13's formulas -------------------------------------------

def sgd_ref(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    def update(p, g, s):
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            if "buf" not in s:
                s["buf"] = g.copy()  # the first step copies the gradient, undamped
            else:
                s["buf"] = s["buf"] * momentum + (1 - dampening) * g
            g = g + momentum * s["buf"] if nesterov else s["buf"]
        return p - lr * g
    return update


def adam_ref(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False):
    beta1, beta2 = betas

    def update(p, g, s):
        t = s["step"] = s.get("step", 0) + 1
        if decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay != 0:
            g = g + weight_decay * p
        s["m"] = s.get("m", 0.0) * beta1 + (1 - beta1) * g
        s["v"] = s.get("v", 0.0) * beta2 + (1 - beta2) * (g * g)
        v = s["v"]
        if amsgrad:
            v = s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        return p - step_size * (s["m"] / denom)
    return update


def adagrad_ref(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10):
    def update(p, g, s):
        t = s["step"] = s.get("step", 0) + 1
        if weight_decay != 0:
            g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s["sum"] = s.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
        return p - clr * (g / (np.sqrt(s["sum"]) + eps))
    return update


def rmsprop_ref(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):
    def update(p, g, s):
        if weight_decay != 0:
            g = g + weight_decay * p
        s["sq"] = s.get("sq", 0.0) * alpha + (1 - alpha) * (g * g)
        if centered:
            s["ga"] = s.get("ga", 0.0) * alpha + (1 - alpha) * g
            avg = np.sqrt(s["sq"] - s["ga"] * s["ga"]) + eps
        else:
            avg = np.sqrt(s["sq"]) + eps
        if momentum > 0:
            s["buf"] = s.get("buf", 0.0) * momentum + g / avg
            return p - lr * s["buf"]
        return p - lr * (g / avg)
    return update


# (descent constructor, numpy reference) with the same keyword arguments.
FIRST_ORDER_CASES = {
    "sgd": (optim.SGD, sgd_ref, dict(lr=0.05)),
    "sgd_momentum": (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.9)),
    "sgd_dampening": (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd_nesterov": (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    "adam": (optim.Adam, adam_ref, dict(lr=0.05)),
    # beta2 0.9 makes the second moment fall at times, so amsgrad's max matters.
    "adam_amsgrad": (optim.Adam, adam_ref, dict(lr=0.05, betas=(0.8, 0.9), amsgrad=True)),
    "adam_weight_decay": (optim.Adam, adam_ref, dict(lr=0.05, weight_decay=0.1)),
    "adagrad": (optim.Adagrad, adagrad_ref, dict(lr=0.1)),
    "adagrad_lr_decay": (optim.Adagrad, adagrad_ref,
                         dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5)),
    "adagrad_weight_decay": (optim.Adagrad, adagrad_ref, dict(lr=0.1, weight_decay=0.2)),
    "rmsprop": (optim.RMSprop, rmsprop_ref, dict(lr=0.01)),
    "rmsprop_centered": (optim.RMSprop, rmsprop_ref, dict(lr=0.01, centered=True)),
    "rmsprop_momentum": (optim.RMSprop, rmsprop_ref, dict(lr=0.01, momentum=0.8)),
    "rmsprop_centered_momentum_wd": (optim.RMSprop, rmsprop_ref,
                                     dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5,
                                          weight_decay=0.1)),
}


@pytest.mark.parametrize("case", sorted(FIRST_ORDER_CASES))
def test_first_order_optimizer_matches_torch_formula(case):
    make, ref, kwargs = FIRST_ORDER_CASES[case]
    actual = run_descent(lambda params: make(params, **kwargs))
    expected = run_reference(ref(**kwargs))
    assert_trajectories_close(actual, expected)
    # The run moved the parameters well beyond the tolerance (the test can fail).
    assert max(np.abs(a - w).max() for a, w in zip(actual[-1], W0)) > 1e-3


def test_adamw_default_weight_decay_is_1e_2():
    actual = run_descent(lambda params: optim.AdamW(params, lr=0.05))
    assert_trajectories_close(actual, run_reference(adam_ref(lr=0.05, weight_decay=1e-2,
                                                             decoupled=True)))
    # Without decay the trajectory is measurably different, so the default was applied.
    no_decay = run_reference(adam_ref(lr=0.05))
    assert np.abs(actual[-1][0] - no_decay[-1][0]).max() > 1e-6


def test_adamw_amsgrad_and_explicit_weight_decay():
    kwargs = dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.3, amsgrad=True)
    actual = run_descent(lambda params: optim.AdamW(params, **kwargs))
    assert_trajectories_close(actual, run_reference(adam_ref(decoupled=True, **kwargs)))
    # amsgrad's max engages with these betas (the amsgrad cases are not vacuous).
    plain = run_reference(adam_ref(lr=0.05, betas=(0.8, 0.9)))
    ams = run_reference(adam_ref(lr=0.05, betas=(0.8, 0.9), amsgrad=True))
    assert np.abs(plain[-1][0] - ams[-1][0]).max() > 1e-6


# --- learning rate, state_dict ---------------------------------------------------------------

def test_lr_property_changes_the_next_step():
    params = fresh_params()
    opt = optim.SGD(params, lr=0.05)
    assert opt.lr == 0.05
    take_steps(opt, params, 1)
    opt.lr = 0.2
    assert opt.lr == 0.2
    before = snapshot(params)
    take_steps(opt, params, 1)
    for p, b, g in zip(snapshot(params), before, numpy_grads(before)):
        np.testing.assert_allclose(p, b - 0.2 * g, rtol=RTOL, atol=ATOL)


STATE_CASES = {
    "sgd_nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam_amsgrad": lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.9), amsgrad=True),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.05),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.05),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
}


@pytest.mark.parametrize("case", sorted(STATE_CASES))
def test_state_dict_round_trip_continues_bitwise(case):
    make = STATE_CASES[case]
    # One run of 20 steps that saves its state at step 10 and goes on (so the saved state
    # must be a copy, not the live buffers) ...
    params = fresh_params()
    opt = make(params)
    take_steps(opt, params, 10)
    saved, at_10 = opt.state_dict(), snapshot(params)
    assert saved["params"][0]["step"] == 10
    take_steps(opt, params, STEPS - 10)
    uninterrupted = snapshot(params)
    # ... and a fresh optimizer on a fresh copy of the step-10 parameters, from that state.
    resumed_params = fresh_params(at_10)
    resumed = make(resumed_params)
    resumed.load_state_dict(saved)
    assert resumed.step_count() == 10
    take_steps(resumed, resumed_params, STEPS - 10)
    for a, b in zip(snapshot(resumed_params), uninterrupted):
        np.testing.assert_array_equal(a, b)


def test_lbfgs_state_dict_round_trip_continues_bitwise():
    f, _ = quadratic_problem()

    def run(opt, w, n):
        for _ in range(n):
            opt.step(closure_for(opt, f, w))

    make = lambda w: optim.LBFGS([w], max_iter=2, history_size=3)  # noqa: E731
    w = descent.zeros(5, dtype="f64", requires_grad=True)
    opt = make(w)
    run(opt, w, 3)
    saved = opt.state_dict()
    w2 = descent.tensor(w.detach().numpy(), dtype="f64", requires_grad=True)
    run(opt, w, 3)
    uninterrupted = w.detach().numpy().copy()

    resumed = make(w2)
    resumed.load_state_dict(saved)
    run(resumed, w2, 3)
    np.testing.assert_array_equal(w2.detach().numpy(), uninterrupted)


# --- make_optimizer --------------------------------------------------------------------------

def blog_adam_ref(p, g, s):
    # The blog's Adam: lr 0.1, betas 0.9 / 0.99, no eps and no bias correction.
    s["m"] = (1 - 0.9) * g + 0.9 * s.get("m", 0.0)
    s["v"] = (1 - 0.99) * g**2 + 0.99 * s.get("v", 0.0)
    return p - 0.1 * s["m"] / np.sqrt(s["v"])


def test_make_optimizer_blog_adam_formula():
    assert optim.make_optimizer("adam", fresh_params(), "blog").lr == 0.1
    # Three steps: the first checks lr and eps 0, the next ones the missing bias correction.
    actual = run_descent(lambda ps: optim.make_optimizer("adam", ps, "blog"), steps=3)
    assert_trajectories_close(actual, run_reference(blog_adam_ref, steps=3))


def test_make_optimizer_torch_preset_is_torch_adam():
    actual = run_descent(lambda ps: optim.make_optimizer("adam", ps, "torch", lr=0.05))
    assert_trajectories_close(actual, run_reference(adam_ref(lr=0.05)))


def test_make_optimizer_rejects_inapplicable_options_and_unknown_keywords():
    w = descent.zeros(3, dtype="f64", requires_grad=True)
    with pytest.raises(ValueError, match="momentum"):
        optim.make_optimizer("gd", [w], momentum=0.9)
    with pytest.raises(ValueError, match="beta1"):
        optim.make_optimizer("rmsprop", [w], beta1=0.9)
    with pytest.raises(TypeError, match="not_an_option"):
        optim.make_optimizer("adam", [w], not_an_option=1.0)


# --- curvature methods on a quadratic 1/2 w'Hw - b'w -----------------------------------------

def quadratic_problem(d=5, seed=7):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    h = a @ a.T + d * np.eye(d)
    b = rng.normal(size=d)
    ht, bt = descent.tensor(h, dtype="f64"), descent.tensor(b, dtype="f64")
    f = lambda w: 0.5 * (w @ (ht @ w)) - bt @ w  # noqa: E731
    f.h, f.b = h, b
    return f, np.linalg.solve(h, b)


def test_lbfgs_needs_a_closure():
    f, _ = quadratic_problem()
    w = descent.zeros(5, dtype="f64", requires_grad=True)
    opt = optim.LBFGS([w])
    assert opt.needs_closure
    with pytest.raises(ValueError, match="closure"):
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), np.zeros(5))
    loss = opt.step(closure_for(opt, f, w))
    assert loss.item() == 0.0  # the loss at the starting point, as torch returns
    assert f(w).item() < 0.0


def test_lbfgs_strong_wolfe_solves_a_quadratic():
    f, solution = quadratic_problem()
    w = descent.zeros(5, dtype="f64", requires_grad=True)
    # Tolerances below the defaults: the default tolerance_change (1e-9 on the loss) stops at
    # ~2e-6 from the solution here, exactly as torch.optim.LBFGS does.
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                      tolerance_change=1e-15)
    for _ in range(3):
        opt.step(closure_for(opt, f, w))
    np.testing.assert_allclose(w.detach().numpy(), solution, rtol=0, atol=1e-8)


def test_newton_one_step_lands_on_the_solution():
    f, solution = quadratic_problem()
    w = descent.tensor(np.linspace(-1, 1, 5), dtype="f64", requires_grad=True)
    opt = optim.Newton([w])
    f(w).backward()
    opt.set_hessian(descent.tensor(f.h, dtype="f64"))
    opt.step()
    # One Cholesky solve of a well-conditioned 5x5 system (cond < 10): rounding only.
    np.testing.assert_allclose(w.detach().numpy(), solution, rtol=1e-12, atol=1e-14)
    # lr and damping, the Hessian from a callable: w -= lr (H + damping I)^-1 g.
    w0 = np.linspace(-1, 1, 5)
    w = descent.tensor(w0, dtype="f64", requires_grad=True)
    opt = optim.Newton([w], lr=0.5, damping=2.0, hessian=lambda: descent.tensor(f.h, dtype="f64"))
    f(w).backward()
    opt.step()
    expected = w0 - 0.5 * np.linalg.solve(f.h + 2.0 * np.eye(5), f.h @ w0 - f.b)
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-12, atol=1e-14)


def test_newton_cg_with_descent_hvp_converges():
    f, solution = quadratic_problem()
    w = descent.zeros(5, dtype="f64", requires_grad=True)
    opt = optim.NewtonCG([w], hvp=lambda v: descent.hvp(f, w.detach(), v))
    for _ in range(30):
        opt.step(closure_for(opt, f, w))
    assert opt.status.startswith("converged")
    np.testing.assert_allclose(w.detach().numpy(), solution, rtol=0, atol=1e-8)


# --- torch.optim.LBFGS itself (skipped without torch) ----------------------------------------

def rosenbrock(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_iterates_match_torch_on_rosenbrock(line_search):
    torch = pytest.importorskip("torch")
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    kwargs = dict(lr=1.0 if line_search else 0.01, max_iter=4, history_size=5,
                  line_search_fn=line_search)

    xt = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([xt], **kwargs)
    xd = descent.tensor(x0, dtype="f64", requires_grad=True)
    dopt = optim.LBFGS([xd], **kwargs)

    for step in range(8):
        tloss = topt.step(closure_for(topt, rosenbrock, xt)).item()
        dloss = dopt.step(closure_for(dopt, rosenbrock, xd)).item()
        # Path-dependent iterations (dot products summed in other orders): 1e-9, as
        # descent's own C++ check against torch fixtures.
        assert dloss == pytest.approx(tloss, rel=1e-9, abs=1e-12), f"step {step}"
        np.testing.assert_allclose(xd.detach().numpy(), xt.detach().numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=f"step {step}")
    assert rosenbrock(xd).item() < rosenbrock(descent.tensor(x0, dtype="f64")).item()


def test_adamw_is_a_class_of_its_own_kind():
    w = descent.zeros(2, dtype="f64", requires_grad=True)
    opt = optim.AdamW([w])
    assert isinstance(opt, optim.AdamW) and isinstance(opt, optim.Adam)
    assert not isinstance(optim.Adam([w]), optim.AdamW)


def test_an_optimizer_whose_callable_refers_back_to_it_is_collected():
    # The hvp / Hessian callables live in the optimizer's __dict__, so the garbage collector
    # sees the cycle (optimizer -> callable -> optimizer) and frees both.
    import gc
    import weakref

    def make():
        w = descent.zeros(2, dtype="f64", requires_grad=True)
        cg = optim.NewtonCG([w])
        cg.set_hvp(lambda v: cg.params[0].detach() * 0 + v)
        newton = optim.Newton([w], hessian=lambda: newton.params[0].detach())
        return weakref.ref(cg), weakref.ref(newton)

    refs = make()
    gc.collect()
    assert all(r() is None for r in refs)
