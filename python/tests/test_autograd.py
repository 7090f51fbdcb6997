"""descent's autodiff from Python against independent references.

Gradients, second derivatives, Hessian-vector products, Hessians and Jacobians are compared
with closed-form derivatives computed here in numpy (softmax, logsumexp, the losses with
torch's reduction='mean', the logistic Hessian X^T diag(p(1-p)) X / n, ...). One test
(skipped without torch) compares the gradient and Hessian of a small tanh MLP with
torch.autograd. The rest checks the API's contracts: grad-mode guards, errors, gradcheck.
Everything is f64.
"""

import numpy as np
import pytest

import descent

# One rounding per op on O(1) values: closed forms and autodiff agree to a few ulps; 1e-12
# relative leaves room for summation order (matmul, reductions over up to ~30 terms).
RTOL = 1e-12
ATOL = 1e-14

rng = np.random.default_rng(2024)
X = rng.normal(size=(7, 4))
Z = rng.normal(size=(5, 3))
R = rng.normal(size=(5, 3))


def t(a, requires_grad=False):
    return descent.tensor(a, dtype="f64", requires_grad=requires_grad)


def grad_of(loss_fn, value):
    """descent's backward() gradient of loss_fn at value (a numpy array)."""
    x = t(value, requires_grad=True)
    assert x.grad is None
    loss = loss_fn(x)
    assert loss.requires_grad
    loss.backward()
    return loss.item(), x.grad.numpy()


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# --- first derivatives of composite expressions ----------------------------------------------

def test_sum_tanh_matmul_squared():
    w0 = rng.normal(size=4) * 0.5
    value, g = grad_of(lambda w: (descent.tanh(t(X) @ w) ** 2).sum(), w0)
    th = np.tanh(X @ w0)
    close(value, np.sum(th**2))
    close(g, X.T @ (2 * th * (1 - th**2)))


@pytest.mark.parametrize("dim", [0, 1])
def test_softmax(dim):
    value, g = grad_of(lambda z: (descent.softmax(z, dim) * t(R)).sum(), Z)
    s = softmax(Z, dim)
    close(value, np.sum(s * R))
    close(g, s * (R - np.sum(s * R, axis=dim, keepdims=True)))


@pytest.mark.parametrize("dim", [0, 1])
def test_log_softmax(dim):
    value, g = grad_of(lambda z: (descent.log_softmax(z, dim) * t(R)).sum(), Z)
    s = softmax(Z, dim)
    close(value, np.sum(np.log(s) * R))
    close(g, R - s * R.sum(axis=dim, keepdims=True))


@pytest.mark.parametrize("dim", [0, 1])
def test_logsumexp(dim):
    r = rng.normal(size=Z.shape[1 - dim])
    value, g = grad_of(lambda z: (descent.logsumexp(z, dim) * t(r)).sum(), Z)
    m = Z.max(axis=dim, keepdims=True)
    lse = (m + np.log(np.exp(Z - m).sum(axis=dim, keepdims=True))).squeeze(dim)
    close(value, np.sum(lse * r))
    close(g, np.expand_dims(r, dim) * softmax(Z, dim))


def test_cross_entropy():
    labels = np.array([0, 2, 1, 1, 2])
    value, g = grad_of(lambda z: descent.cross_entropy(z, t(labels.astype(np.float64))), Z)
    n = len(labels)
    onehot = np.eye(3)[labels]
    close(value, -np.mean(np.log(softmax(Z, 1))[np.arange(n), labels]))
    close(g, (softmax(Z, 1) - onehot) / n)


@pytest.mark.parametrize("shape", [(9,), (3, 4)])
def test_binary_cross_entropy_with_logits(shape):
    z0 = rng.normal(size=shape) * 2
    y = rng.uniform(size=shape)  # soft targets, as torch allows
    value, g = grad_of(lambda z: descent.binary_cross_entropy_with_logits(z, t(y)), z0)
    p = 1 / (1 + np.exp(-z0))
    close(value, np.mean(np.logaddexp(0, z0) - y * z0))
    close(g, (p - y) / z0.size)


@pytest.mark.parametrize("shape", [(9,), (3, 4)])
def test_mse_loss(shape):
    a0, b = rng.normal(size=shape), rng.normal(size=shape)
    value, g = grad_of(lambda a: descent.mse_loss(a, t(b)), a0)
    close(value, np.mean((a0 - b) ** 2))  # torch's mean over every element
    close(g, 2 * (a0 - b) / a0.size)


def test_broadcasting_and_reductions():
    # sum over rows of (X * w) / (1 + w^2) with w broadcast along X's rows, plus mean(exp(w)).
    w0 = rng.normal(size=4)
    value, g = grad_of(
        lambda w: (t(X) * w / (1.0 + w * w)).sum() + descent.exp(w).mean(), w0)
    colsum = X.sum(axis=0)
    close(value, np.sum(colsum * w0 / (1 + w0**2)) + np.mean(np.exp(w0)))
    close(g, colsum * (1 - w0**2) / (1 + w0**2) ** 2 + np.exp(w0) / 4)


def test_backward_accumulates_with_retain_graph():
    x = t([0.5, -1.0, 2.0], requires_grad=True)
    loss = (x**3).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    close(x.grad.numpy(), 2 * 3 * np.array([0.5, -1.0, 2.0]) ** 2)


# --- descent.grad ----------------------------------------------------------------------------

def test_grad_create_graph_second_derivative():
    x0 = np.array([0.5, -1.5, 2.0, 3.0])
    x = t(x0, requires_grad=True)
    (g,) = descent.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad
    close(g.detach().numpy(), 3 * x0**2)
    (gg,) = descent.grad(g.sum(), x)
    close(gg.numpy(), 6 * x0)  # d2/dx2 x^3, elementwise
    assert x.grad is None  # grad() does not accumulate into .grad


def test_grad_with_grad_outputs_is_a_vector_jacobian_product():
    x0, v = rng.normal(size=4), rng.normal(size=4)
    x = t(x0, requires_grad=True)
    (g,) = descent.grad(descent.tanh(x), x, grad_outputs=[t(v)])
    close(g.numpy(), v * (1 - np.tanh(x0) ** 2))


def test_grad_allow_unused_gives_none():
    x, y = t([1.0, 2.0], requires_grad=True), t([3.0, 4.0], requires_grad=True)
    with pytest.raises(ValueError, match="allow_unused"):
        descent.grad((x**2).sum(), [x, y])
    gx, gy = descent.grad((x**2).sum(), [x, y], allow_unused=True)
    close(gx.numpy(), [2.0, 4.0])
    assert gy is None


def test_grad_of_non_scalar_without_grad_outputs_raises():
    x = t([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="grad_outputs"):
        descent.grad(x * x, x)


def test_backward_twice_without_retain_graph_raises():
    x = t([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(ValueError, match="retain_graph"):
        loss.backward()


# --- hvp, hessian, jacobian ------------------------------------------------------------------

def logistic_problem(n=30, d=4, seed=3):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, d))
    y = (r.uniform(size=n) < 0.5).astype(np.float64)
    f = lambda w: descent.binary_cross_entropy_with_logits(t(x) @ w, t(y))  # noqa: E731
    return f, x, y


def logistic_hessian(x, w):
    p = 1 / (1 + np.exp(-(x @ w)))
    return x.T @ ((p * (1 - p))[:, None] * x) / len(x)


def test_hvp_of_logistic_loss():
    f, x, _ = logistic_problem()
    w0, v = rng.normal(size=4), rng.normal(size=4)
    hv = descent.hvp(f, t(w0), t(v)).numpy()
    close(hv, logistic_hessian(x, w0) @ v)


def test_hessian_of_logistic_loss():
    f, x, _ = logistic_problem()
    w0 = rng.normal(size=4)
    h = descent.hessian(f, t(w0)).numpy()
    assert h.shape == (4, 4)
    close(h, logistic_hessian(x, w0))


def test_jacobian_of_a_vector_function():
    a = rng.normal(size=(3, 5))
    x0 = rng.normal(size=5)
    # f(x) = tanh(A x) * x[0]: J = diag(1 - tanh^2) A x0 + tanh(A x0) e_0^T
    jac = descent.jacobian(lambda x: descent.tanh(t(a) @ x) * x[0], t(x0)).numpy()
    assert jac.shape == (3, 5)
    th = np.tanh(a @ x0)
    expected = (1 - th**2)[:, None] * a * x0[0]
    expected[:, 0] += th
    close(jac, expected)


# --- gradcheck -------------------------------------------------------------------------------

def smooth(a, b):
    return (descent.tanh(a) * descent.exp(b) + a * b * b).sum()


def test_gradcheck_and_gradgradcheck_pass_on_a_smooth_function():
    a = t(rng.normal(size=3), requires_grad=True)
    b = t(rng.normal(size=3) * 0.5, requires_grad=True)
    for check in (descent.gradcheck, descent.gradgradcheck):
        r = check(smooth, [a, b])
        assert r["ok"] is True, r["message"]
        assert r["message"] == ""
        assert 0.0 < r["max_abs_error"] < 1e-7  # central differences did run
        assert 0.0 <= r["max_rel_error"] < 1e-6


def test_gradcheck_detects_a_wrong_gradient():
    # a.detach() * a has autodiff gradient a where the true derivative of a^2 is 2a.
    a = t([0.5, 1.0, -2.0], requires_grad=True)
    r = descent.gradcheck(lambda x: (x.detach() * x).sum(), [a])
    assert r["ok"] is False
    assert r["max_abs_error"] == pytest.approx(2.0, rel=1e-6)  # |a - 2a| at a = -2
    assert r["max_rel_error"] == pytest.approx(0.5, rel=1e-6)
    assert "analytic" in r["message"] and "numeric" in r["message"]
    # Same for second derivatives: x.detach() * x * x differentiates to 2 a x, not 3 x^2.
    r2 = descent.gradgradcheck(lambda x: (x.detach() * x * x).sum(), [a])
    assert r2["ok"] is False and r2["message"]


def test_gradcheck_refuses_a_check_with_nothing_to_check():
    # As torch: an input that should require grad but does not would otherwise pass.
    a = t([0.5, 1.0])
    for check in (descent.gradcheck, descent.gradgradcheck):
        with pytest.raises(ValueError, match="requires grad"):
            check(lambda x: (x.detach() * x).sum(), [a])


def test_gradcheck_refuses_f32():
    a = descent.tensor([1.0, 2.0], dtype="f32", requires_grad=True)
    with pytest.raises(ValueError, match="f64"):
        descent.gradcheck(lambda x: x.sum(), [a])


# --- grad mode -------------------------------------------------------------------------------

def test_no_grad_context_manager_and_nested_enable_grad():
    x = t([1.0, 2.0], requires_grad=True)
    assert descent.is_grad_enabled()
    with descent.no_grad():
        assert not descent.is_grad_enabled()
        y = x * 2
        assert not y.requires_grad
        with descent.enable_grad():
            assert descent.is_grad_enabled()
            assert (x * 2).requires_grad
        assert not descent.is_grad_enabled()
    assert descent.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_as_decorator_and_restored_after_an_exception():
    x = t([1.0, 2.0], requires_grad=True)

    @descent.no_grad()
    def double(v):
        assert not descent.is_grad_enabled()
        return v * 2

    y = double(x)
    assert not y.requires_grad
    close(y.numpy(), [2.0, 4.0])
    assert descent.is_grad_enabled()

    with pytest.raises(RuntimeError, match="boom"):
        with descent.no_grad():
            raise RuntimeError("boom")
    assert descent.is_grad_enabled()


# --- torch.autograd itself (skipped without torch) -------------------------------------------

def test_tanh_mlp_gradient_and_hessian_match_torch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(11)
    xs, ys = r.normal(size=(6, 3)), r.normal(size=6)
    sizes = [(3, 4), (4,), (4, 1), (1,)]  # W1, b1, W2, b2
    theta0 = r.normal(size=sum(int(np.prod(s)) for s in sizes)) * 0.7

    def unpack(theta):  # the parameters as slices of one vector (a descent or torch one)
        out, i = [], 0
        for s in sizes:
            k = int(np.prod(s))
            out.append(theta[i:i + k].reshape(s))
            i += k
        return out

    def dloss(theta):
        w1, b1, w2, b2 = unpack(theta)
        hidden = descent.tanh(t(xs) @ w1 + b1)
        return descent.mse_loss((hidden @ w2 + b2).reshape([6]), t(ys))

    def tloss(theta):
        w1, b1, w2, b2 = unpack(theta)
        hidden = torch.tanh(torch.tensor(xs) @ w1 + b1)
        return torch.nn.functional.mse_loss((hidden @ w2 + b2).reshape(6), torch.tensor(ys))

    th = torch.tensor(theta0, requires_grad=True)
    tl = tloss(th)
    tl.backward()
    value, g = grad_of(dloss, theta0)
    close(value, tl.item())
    close(g, th.grad.numpy())

    h = descent.hessian(dloss, t(theta0)).numpy()
    th_h = torch.autograd.functional.hessian(tloss, torch.tensor(theta0)).numpy()
    close(h, th_h, atol=1e-13)  # entries O(1); sums of ~20 products in other orders
    v = r.normal(size=theta0.size)
    close(descent.hvp(dloss, t(theta0), t(v)).numpy(), th_h @ v, atol=1e-13)
