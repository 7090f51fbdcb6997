"""scikit-learn-style estimators trained by descent: LinearRegression, LogisticRegression and
MLPRegressor, with fit(X, y), predict(X), score(X, y), get_params / set_params and the fitted
attributes scikit-learn users expect (coef_, intercept_, n_features_in_, ...).

They build on scikit-learn's BaseEstimator and mixins (scikit-learn must be installed:
pip install scikit-learn) and pass its check_estimator. X and y are validated as scikit-learn
validates them; a C-contiguous float32/float64 X reaches descent without a copy (descent
shares its memory), so fitting a large array costs no conversion. Training runs with the GIL
released.
"""

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("descent's estimators build on scikit-learn; install it "
                      "(pip install scikit-learn) to use LinearRegression, LogisticRegression "
                      "and MLPRegressor") from exc

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # older: the estimator's own method
    _sk_validate_data = None

from . import _descent

__all__ = ["LinearRegression", "LogisticRegression", "MLPRegressor"]

_FLOATS = [np.float64, np.float32]


_NO_Y = "no_validation"


def _validate(estimator, X, y=_NO_Y, reset=True, **kwargs):
    # y=None from fit(X, None) reaches scikit-learn, which says that y is required.
    kwargs.setdefault("dtype", _FLOATS)
    kwargs.setdefault("order", "C")
    kwargs["y"] = y
    if _sk_validate_data is not None:
        return _sk_validate_data(estimator, X, reset=reset, **kwargs)
    return estimator._validate_data(X, reset=reset, **kwargs)


def _dtype_of(estimator_dtype, X):
    """The numpy dtype training uses: the estimator's dtype, or X's float type (None)."""
    if estimator_dtype is None:
        return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)
    table = {"f32": np.float32, "float32": np.float32, "float": np.float32,
             "f64": np.float64, "float64": np.float64, "double": np.float64}
    if estimator_dtype not in table:
        raise ValueError(f"dtype must be 'f32', 'f64' or None, got {estimator_dtype!r}")
    return np.dtype(table[estimator_dtype])


def _shared(array, dtype, device):
    """A descent Tensor over `array` (no copy when it is C-contiguous, writable and of
    `dtype`), on `device`."""
    array = np.asarray(array)
    if array.dtype != dtype or not array.flags.c_contiguous or not array.flags.writeable:
        array = np.array(array, dtype=dtype, order="C")  # descent writes nothing into it
    t = _descent.from_numpy(array)
    if device not in (None, "cpu"):
        t = t.to(device=device)
    return t


def _default_epochs(optimizer):
    # Newton on a quadratic is exact after one step (the second refines the rounding);
    # L-BFGS and Newton-CG take many iterations per step; first-order methods need many steps.
    return {"newton": 2, "lbfgs": 10, "newton-cg": 50}.get(optimizer, 1000)


def _make_optimizer(name, params, lr, options):
    opts = dict(options or {})
    if lr is not None:
        opts["lr"] = float(lr)
    if name == "lbfgs":
        # Stop on the gradient (max |g| <= 1e-9), not on a small change of the loss, which
        # ends a flat logistic optimum early (torch's 1e-9 on the loss left |g| ~ 5e-6).
        opts.setdefault("line_search", "strong-wolfe")
        opts.setdefault("max_iter", 100)
        opts.setdefault("tolerance_grad", 1e-9)
        opts.setdefault("tolerance_change", 0.0)
    return _descent.make_optimizer(name, params, "torch", **opts)


def _fit_model(model, loss, X, y, params, optimizer, lr, options, epochs, batch_size, shuffle,
               seed):
    opt = _make_optimizer(optimizer, params, lr, options)
    # Shuffling orders mini-batches; a full batch is one pass whatever the order (asking for
    # a shuffled full batch would gather a permuted copy of X every epoch).
    batch = int(batch_size or 0)
    result = _descent.train(model, loss, X, y, opt, epochs=int(epochs), batch_size=batch,
                            shuffle=bool(shuffle) and 0 < batch < X.shape[0],
                            shuffle_seed=int(seed))
    return result


class _LinearBase(BaseEstimator):
    """What the linear estimators share: validation, the one parameter, training."""

    def _train_linear(self, X, y, loss, outputs):
        dtype = _dtype_of(self.dtype, X)
        d = X.shape[1]
        epochs = self.epochs if self.epochs is not None else _default_epochs(self.optimizer)
        seed = _seed_of(self.random_state)

        def run(X, y, fit_intercept, options):
            rows = d + 1 if fit_intercept else d
            shape = [rows] if outputs == 1 else [rows, outputs]
            w = _descent._zeros(shape, "f32" if dtype == np.float32 else "f64", self.device, True)
            model = _descent.LinearModel(w, fit_intercept)
            result = _fit_model(model, loss, _shared(X, dtype, self.device),
                                _shared(y, dtype, self.device), [w], self.optimizer, self.lr,
                                options, epochs, self.batch_size, self.shuffle, seed)
            W = w.detach().cpu().numpy().astype(dtype)
            return (W[:d], W[d]) if fit_intercept else (W, None), result

        try:
            (coef, intercept), result = run(X, y, self.fit_intercept, self.optimizer_options)
        except ValueError as exc:
            # A singular Hessian (fewer rows than weights, collinear columns): a vanishing
            # ridge gives the least-norm solution, as lstsq does. For least squares with an
            # intercept, scikit-learn's answer is the least-norm solution of the centred
            # problem (the intercept then absorbs the means): the same here, on centred
            # copies of X and y.
            if self.optimizer != "newton" or "not positive definite" not in str(exc):
                raise
            scale = float(np.max(np.mean(np.square(X, dtype=np.float64), axis=0), initial=1.0))
            options = dict(self.optimizer_options or {})
            options["damping"] = 1e-10 * 2.0 * max(scale, 1.0)
            if loss == "mse" and self.fit_intercept:
                x_mean, y_mean = X.mean(axis=0), y.mean()
                (coef, _), result = run(X - x_mean, y - y_mean, False, options)
                intercept = (y_mean - x_mean @ coef).astype(dtype)
            else:
                (coef, intercept), result = run(X, y, self.fit_intercept, options)
        self.loss_curve_ = list(result.losses)
        self.n_iter_ = len(result.losses)
        if intercept is None:
            intercept = np.zeros(coef.shape[1:], dtype=coef.dtype) if coef.ndim == 2 else 0.0
        return coef, intercept


def _seed_of(random_state):
    """A seed from scikit-learn's random_state: None (0: descent is deterministic), an int, or
    a numpy RandomState / Generator (one draw)."""
    if random_state is None:
        return 0
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int, a RandomState or a Generator, got "
                     f"{random_state!r}")


class LinearRegression(RegressorMixin, _LinearBase):
    """Least squares, y ~ X coef_ + intercept_, trained by descent.

    optimizer: 'newton' (default: exact, scikit-learn's answer), 'lbfgs', 'newton-cg', 'gd',
    'momentum', 'adagrad', 'rmsprop', 'adam', 'adamw'; lr and optimizer_options (a dict of
    the optimizer's options, torch's names) override torch.optim's defaults. epochs: passes
    over the data (None: 2 for newton, 10 for lbfgs, 50 for newton-cg, 1000 otherwise);
    batch_size: mini-batches (None: full batch), visited in a shuffled order when shuffle.
    dtype: 'f32', 'f64' or None (X's float type); device: 'cpu' or 'cuda:N'.
    """

    def __init__(self, optimizer="newton", lr=None, epochs=None, batch_size=None, shuffle=True,
                 fit_intercept=True, dtype=None, device="cpu", random_state=None,
                 optimizer_options=None):
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.fit_intercept = fit_intercept
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.optimizer_options = optimizer_options

    def fit(self, X, y):
        X, y = _validate(self, X, y, y_numeric=True)
        y = np.asarray(y, dtype=X.dtype)
        self.coef_, self.intercept_ = self._train_linear(X, y, "mse", 1)
        if self.fit_intercept:
            self.intercept_ = float(self.intercept_)
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        X = _validate(self, X, reset=False)
        return X.astype(self.coef_.dtype, copy=False) @ self.coef_ + self.intercept_


class LogisticRegression(ClassifierMixin, _LinearBase):
    """Logistic (two classes) or softmax (more) regression without a penalty (scikit-learn's
    penalty=None), trained by descent: binary cross-entropy with logits, or cross-entropy.

    optimizer: 'lbfgs' (default, with torch's strong-Wolfe line search), 'newton' (binary:
    IRLS), 'newton-cg', or a first-order method; the other parameters as LinearRegression's.
    classes_ holds the labels (any type np.unique sorts).
    """

    def __init__(self, optimizer="lbfgs", lr=None, epochs=None, batch_size=None, shuffle=True,
                 fit_intercept=True, dtype=None, device="cpu", random_state=None,
                 optimizer_options=None):
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.fit_intercept = fit_intercept
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.optimizer_options = optimizer_options

    def fit(self, X, y):
        X, y = _validate(self, X, y)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise ValueError("LogisticRegression needs samples of at least 2 classes in the "
                             f"data, but the data contains only one class: {self.classes_[0]!r}")
        labels = labels.astype(X.dtype)
        if k == 2:
            coef, intercept = self._train_linear(X, labels, "bce_with_logits", 1)
            self.coef_ = coef.reshape(1, -1)
            self.intercept_ = np.asarray(intercept, dtype=coef.dtype).reshape(1)
        else:
            W, b = self._train_linear(X, labels, "cross_entropy", k)
            self.coef_ = np.ascontiguousarray(W.T)  # (k, d), scikit-learn's layout
            self.intercept_ = np.asarray(b, dtype=W.dtype).reshape(k)
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        X = _validate(self, X, reset=False)
        scores = X.astype(self.coef_.dtype, copy=False) @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        scores = self.decision_function(X).astype(np.float64)
        if scores.ndim == 1:
            p = 0.5 * (1.0 + np.tanh(0.5 * scores))  # sigmoid without overflow
            return np.column_stack([1.0 - p, p])
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]


class MLPRegressor(RegressorMixin, BaseEstimator):
    """A multi-layer perceptron for regression (descent.mlp: torch.nn.Linear layers and
    their initialisation), trained on the mean squared error.

    hidden_layer_sizes and activation ('relu', 'tanh', 'sigmoid') as scikit-learn's;
    optimizer 'adam' (default) or any other of descent's, lr (default 1e-3, scikit-learn's
    learning_rate_init), epochs (scikit-learn's max_iter), batch_size ('auto': min(200, n)),
    shuffle, random_state (the initial weights and the shuffle), dtype, device.
    coefs_ and intercepts_ are scikit-learn's layout ((in, out) matrices).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", lr=1e-3,
                 epochs=200, batch_size="auto", shuffle=True, dtype=None, device="cpu",
                 random_state=None, optimizer_options=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.optimizer_options = optimizer_options

    def _sizes(self, d):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if np.isscalar(hidden) else list(hidden)
        return [d] + [int(h) for h in hidden] + [1]

    def fit(self, X, y):
        X, y = _validate(self, X, y, y_numeric=True)
        dtype = _dtype_of(self.dtype, X)
        Xt = _shared(X, dtype, self.device)
        yt = _shared(np.asarray(y, dtype=dtype), dtype, self.device)
        seed = _seed_of(self.random_state)
        name = "f32" if dtype == np.float32 else "f64"
        net = _descent.mlp(self._sizes(X.shape[1]), self.activation, seed, name, self.device)
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else int(self.batch_size)
        result = _fit_model(net, "mse", Xt, yt, net.parameters(), self.optimizer, self.lr,
                            self.optimizer_options, self.epochs, batch if batch < n else 0,
                            self.shuffle, seed)
        params = [p.detach().cpu().numpy().copy() for p in net.parameters()]
        self.coefs_ = [params[i].T.copy() for i in range(0, len(params), 2)]
        self.intercepts_ = [params[i] for i in range(1, len(params), 2)]
        self.loss_curve_ = list(result.losses)
        self.n_iter_ = len(result.losses)
        return self

    def predict(self, X):
        check_is_fitted(self, "coefs_")
        X = _validate(self, X, reset=False)
        dtype = self.coefs_[0].dtype
        net = _descent.mlp(self._sizes(X.shape[1]), self.activation, 0,
                           "f32" if dtype == np.float32 else "f64", self.device)
        with _descent_no_grad():
            for p, value in zip(net.parameters(), self._torch_layout()):
                p.copy_(_descent.from_numpy(value))
            out = net(_shared(X, dtype, self.device))
        return out.detach().cpu().numpy().astype(np.float64, copy=True).reshape(-1)

    def _torch_layout(self):
        for W, b in zip(self.coefs_, self.intercepts_):
            yield np.ascontiguousarray(W.T)
            yield np.ascontiguousarray(b)


def _descent_no_grad():
    from . import no_grad
    return no_grad()
