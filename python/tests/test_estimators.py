"""The scikit-learn-style estimators: scikit-learn's own check_estimator, and the fitted
models against scikit-learn's estimators on the same data (LinearRegression to 1e-8 in f64,
LogisticRegression with penalty=None to the optimum's tolerance)."""

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import linear_model  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import descent  # noqa: E402

ESTIMATORS = [descent.LinearRegression(), descent.LogisticRegression(), descent.MLPRegressor()]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    """Every check scikit-learn generates for a regressor/classifier runs; the only ones that
    may skip are scikit-learn's own skips (pandas input, when pandas is not installed)."""
    skipped = []
    for est, check in check_estimator(estimator, generate_only=True):
        name = getattr(check, "func", check).__name__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                check(est)
            except Exception as exc:
                if type(exc).__name__ == "SkipTest" and "pandas" in str(exc):
                    skipped.append(name)
                    continue
                raise AssertionError(f"{name} failed: {exc}") from exc
    assert set(skipped) <= {"check_regressor_data_not_an_array",
                            "check_classifier_data_not_an_array"}


def test_linear_regression_matches_scikit_learn(rng):
    X = rng.normal(size=(300, 6)) * np.array([1, 10, 0.1, 5, 1, 2])
    y = X @ rng.normal(size=6) + 3.0 + 0.1 * rng.normal(size=300)
    ours = descent.LinearRegression().fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.score(X, y), ref.score(X, y), rtol=1e-12)
    no_b = descent.LinearRegression(fit_intercept=False).fit(X, y)
    ref_no_b = linear_model.LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(no_b.coef_, ref_no_b.coef_, rtol=1e-8, atol=1e-10)


def test_linear_regression_rank_deficient_is_the_least_norm_solution(rng):
    X = rng.normal(size=(50, 3))
    X = np.column_stack([X, X[:, 0]])        # a repeated column
    y = X @ np.array([1.0, 2.0, 3.0, 0.0]) + 0.5
    ours = descent.LinearRegression().fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer,options", [("lbfgs", {}), ("adam", {"lr": 0.05})])
def test_linear_regression_other_optimizers(rng, optimizer, options):
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 1.0
    ours = descent.LinearRegression(optimizer=optimizer, epochs=2000 if optimizer == "adam" else 20,
                                    **options).fit(X, y)
    np.testing.assert_allclose(ours.coef_, [1.0, -2.0, 0.5], atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, 1.0, atol=1e-4)


def test_float32_data_trains_in_f32(rng):
    X = rng.normal(size=(100, 2)).astype(np.float32)
    y = (X @ np.array([1.0, 2.0], dtype=np.float32) + 1).astype(np.float32)
    m = descent.LinearRegression().fit(X, y)
    assert m.coef_.dtype == np.float32
    np.testing.assert_allclose(m.coef_, [1.0, 2.0], rtol=1e-4)


def test_logistic_regression_matches_scikit_learn(rng):
    X = rng.normal(size=(400, 3))
    logits = X @ np.array([1.5, -1.0, 0.5]) - 0.3
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-logits))).astype(int)
    ours = descent.LogisticRegression().fit(X, y)
    ref = linear_model.LogisticRegression(penalty=None, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    assert (ours.predict(X) == ref.predict(X)).mean() > 0.99


def test_softmax_regression_with_string_labels(rng):
    X = rng.normal(size=(600, 2))
    W = np.array([[2.0, -1.0, 0.0], [0.0, 1.5, -2.0]])
    labels = np.array(["cat", "dog", "emu"])
    y = labels[(X @ W + rng.gumbel(size=(600, 3))).argmax(axis=1)]
    ours = descent.LogisticRegression().fit(X, y)
    ref = linear_model.LogisticRegression(penalty=None, tol=1e-10, max_iter=2000).fit(X, y)
    assert list(ours.classes_) == ["cat", "dog", "emu"]
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert ours.coef_.shape == (3, 2) and ours.intercept_.shape == (3,)


def test_mlp_regressor_fits_a_nonlinear_function(rng):
    X = rng.uniform(-2, 2, size=(500, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    m = descent.MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", lr=0.01, epochs=300,
                             random_state=0).fit(X, y)
    assert m.score(X, y) > 0.95
    assert [c.shape for c in m.coefs_] == [(2, 32), (32, 1)]
    again = descent.MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", lr=0.01,
                                 epochs=300, random_state=0).fit(X, y)
    np.testing.assert_array_equal(m.predict(X), again.predict(X))   # deterministic


def test_params_clone_and_pickle(rng):
    est = descent.LinearRegression(optimizer="adam", lr=0.1, epochs=10, device="cpu")
    assert est.get_params()["optimizer"] == "adam"
    est.set_params(lr=0.2)
    assert clone(est).lr == 0.2
    X = rng.normal(size=(30, 2))
    y = X.sum(axis=1)
    fitted = descent.LinearRegression().fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_errors_are_scikit_learns(rng):
    with pytest.raises(sklearn.exceptions.NotFittedError):
        descent.LinearRegression().predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        descent.LinearRegression().fit(np.array([[np.nan], [1.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="class"):
        descent.LogisticRegression().fit(np.zeros((4, 1)), np.ones(4))
    with pytest.raises(ValueError, match="dtype"):
        descent.LinearRegression(dtype="f16").fit(np.zeros((4, 1)), np.zeros(4))


def test_columns_collinear_with_the_intercept_match_scikit_learn(rng):
    # One-hot dummies sum to the intercept's column: scikit-learn's least-norm answer is that
    # of the centred problem.
    labels = rng.integers(0, 3, size=60)
    X = np.eye(3)[labels]
    y = np.array([1.0, 2.0, 4.0])[labels] + 0.1 * rng.normal(size=60)
    ours = descent.LinearRegression().fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6)
    np.testing.assert_allclose(descent.LinearRegression().fit(np.ones((5, 3)), np.arange(5.0))
                               .coef_, np.zeros(3), atol=1e-8)


def test_random_state_may_be_a_generator(rng):
    X = rng.normal(size=(50, 2))
    y = X.sum(axis=1)
    m = descent.MLPRegressor(hidden_layer_sizes=(4,), epochs=3,
                             random_state=np.random.RandomState(0)).fit(X, y)
    assert m.n_iter_ == 3
