"""descent: reverse-mode autodiff, the classic optimizers and a training loop, on the CPU and
CUDA, with numpy and DLPack arrays shared without copies.

    import numpy as np, descent
    X = descent.from_numpy(np.random.rand(100, 3))       # shares the array's memory
    w = descent.zeros(3, dtype="f64", requires_grad=True)
    loss = descent.mse_loss(X @ w, descent.from_numpy(np.random.rand(100)))
    loss.backward()                                       # w.grad

The estimators (LinearRegression, LogisticRegression, MLPRegressor) follow scikit-learn's API.
"""

from . import _descent
from ._descent import (  # noqa: F401  (the public names of the module)
    Tensor, from_numpy, from_dlpack, arange, linspace,
    cuda_available, device_count, built_with_cuda, cuda_unavailable_reason,
    set_num_threads, get_num_threads, synchronize,
    add, sub, mul, div, rsub, rdiv, maximum, minimum, eq, ne, lt, le, gt, ge,
    neg, square, pow, sqrt, exp, log, tanh, sigmoid, relu, abs, log1p, clamp, clamp_min,
    clamp_max, where, dropout_mask,
    matmul, linear, transpose, reshape, narrow, select, unsqueeze, squeeze, permute,
    contiguous, cat, concat, stack, broadcast_to, sum_to, sum, mean, max, min, argmax, argmin,
    logsumexp, softmax, log_softmax, index_select, dropout,
    mse_loss, binary_cross_entropy_with_logits, cross_entropy,
    backward, grad, hvp, hessian, jacobian, gradcheck, gradgradcheck, is_grad_enabled,
    Model, LinearModel, Sequential, mlp, TrainResult, train, model_loss,
    Checkpoint, save_checkpoint, load_checkpoint, restore_checkpoint,
    Dataset, load_dataset, blog_problem, save_npy, linear_least_squares,
    regression_metrics, classification_metrics,
    SavedModel, saved_model_of, save_model, load_model,
)
from . import optim  # noqa: F401

__version__ = _descent.__version__


def _size(size):
    if len(size) == 1 and not isinstance(size[0], int):
        return [int(s) for s in size[0]]
    return [int(s) for s in size]


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3)); dtype 'f32' (default) or 'f64'."""
    return _descent._zeros(_size(size), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: ones(2, 3) or ones((2, 3)); dtype 'f32' (default) or 'f64'."""
    return _descent._ones(_size(size), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor: empty(2, 3) or empty((2, 3))."""
    return _descent._empty(_size(size), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` filled with fill_value."""
    return _descent._full(_size((size,)), float(fill_value), dtype, device, requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (a number, nested lists, a numpy array), as
    torch.tensor. A float32 array keeps f32 unless dtype says otherwise; anything else is f64
    by default (numpy's float). For sharing an array's memory, use from_numpy."""
    import numpy as np

    if dtype is None:
        arr = np.asarray(data)
        target = np.float32 if arr.dtype == np.float32 else np.float64
    else:
        target = {"f32": np.float32, "float32": np.float32, "float": np.float32,
                  "f64": np.float64, "float64": np.float64, "double": np.float64}.get(dtype)
        if target is None:
            raise ValueError(f"descent: dtype is 'f32' or 'f64', got {dtype!r}")
    arr = np.array(data, dtype=target, order="C", copy=True)
    t = from_numpy(arr).clone()
    if device is not None:
        t = t.to(device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _GradMode:
    _guard_type = None

    def __init__(self):
        self._guards = []

    def __enter__(self):
        guard = self._guard_type()
        guard.enter()
        self._guards.append(guard)
        return self

    def __exit__(self, *exc):
        self._guards.pop().exit()
        return False

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator): ops inside record no graph, as torch.no_grad."""
    _guard_type = _descent._NoGradGuard


class enable_grad(_GradMode):
    """Context manager (and decorator): ops record the graph again inside a no_grad."""
    _guard_type = _descent._EnableGradGuard


_ESTIMATORS = ("LinearRegression", "LogisticRegression", "MLPRegressor")


def __getattr__(name):
    # The estimators import scikit-learn, so only when first asked for.
    if name in _ESTIMATORS:
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'descent' has no attribute {name!r}")
