"""The training loop, data, checkpoints, metrics and model files from Python. References:
numpy's least squares, scikit-learn's metrics, the descent CLI's own output for the blog
experiment (the same library reached two ways must agree bit for bit), and an uninterrupted
run for a resumed one."""

import json
import subprocess
import threading

import numpy as np
import pytest

import descent
from conftest import python_progress_during


def linear_data(rng, n=500, d=4, noise=0.01):
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    y = X @ w + 0.7 + noise * rng.normal(size=n)
    return X, y


def test_train_linear_model_reaches_lstsq(rng):
    X, y = linear_data(rng)
    w = descent.zeros(X.shape[1] + 1, dtype="f64", requires_grad=True)
    model = descent.LinearModel(w, fit_intercept=True)
    result = descent.train(model, "mse", descent.from_numpy(X), descent.from_numpy(y),
                           descent.optim.Newton([w]), epochs=2)
    A = np.column_stack([X, np.ones(len(X))])
    expected = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    assert len(result.losses) == 2 and result.losses[1] < result.losses[0]
    np.testing.assert_allclose(result.final_weights, expected, rtol=1e-10, atol=1e-12)


def test_on_epoch_and_mini_batches(rng):
    X, y = linear_data(rng, n=256)
    w = descent.zeros(X.shape[1] + 1, dtype="f64", requires_grad=True)
    seen = []
    result = descent.train(descent.LinearModel(w, True), "mse", descent.from_numpy(X),
                           descent.from_numpy(y), descent.optim.Adam([w], lr=0.05), epochs=30,
                           batch_size=32, shuffle=True, shuffle_seed=3,
                           on_epoch=lambda e, loss: seen.append((e, loss)))
    assert [e for e, _ in seen] == list(range(30))
    assert [l for _, l in seen] == result.losses
    assert result.losses[-1] < 0.05 * result.losses[0]


def test_an_mlp_trains_with_autodiff_steps(rng):
    X = rng.uniform(-2, 2, size=(400, 2))
    y = np.sin(X[:, 0]) * X[:, 1]
    net = descent.mlp([2, 16, 1], "tanh", seed=1)
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                            "2.bias"]
    result = descent.train(net, "mse", descent.from_numpy(X), descent.from_numpy(y),
                           descent.optim.Adam(net.parameters(), lr=0.02), epochs=300)
    assert result.losses[-1] < 0.1 * result.losses[0]
    pred = net(descent.from_numpy(X)).detach().numpy()
    assert np.mean((pred - y) ** 2) < 0.1 * np.var(y)


def test_checkpoint_resume_is_bitwise_the_uninterrupted_run(rng, tmp_path):
    X, y = linear_data(rng, n=200)
    Xt, yt = descent.from_numpy(X), descent.from_numpy(y)

    def run(epochs, path=None, resume=False):
        w = descent.zeros(X.shape[1] + 1, dtype="f64", requires_grad=True)
        opt = descent.optim.Adam([w], lr=0.1)
        result = descent.train(descent.LinearModel(w, True), "mse", Xt, yt, opt, epochs=epochs,
                               checkpoint=str(path) if path else None, checkpoint_every=5,
                               resume=resume)
        return w.detach().numpy().copy(), result

    whole_w, whole = run(40)
    path = tmp_path / "run.ckpt"
    run(17, path)                                    # stopped after 17 epochs
    assert descent.load_checkpoint(str(path)).epoch == 17
    resumed_w, resumed = run(40, path, resume=True)  # continues at epoch 17
    assert resumed.losses == whole.losses
    assert np.array_equal(resumed_w, whole_w)


def test_the_blog_experiment_equals_the_cli(cli):
    data, initial = descent.blog_problem()
    cli_runs = json.loads(subprocess.run([cli, "blog", "--json"], check=True, capture_output=True,
                                         text=True).stdout)["runs"]
    configs = descent.optim.blog_configs() + descent.optim.blog_extra_configs()
    assert len(configs) == len(cli_runs)
    for config, expected in zip(configs, cli_runs):
        w = descent.tensor(initial, dtype="f64", requires_grad=True)
        opt = config.make([w])
        result = descent.train(descent.LinearModel(w), "mse", data.X, data.y, opt, epochs=50)
        assert config.name == expected["optimizer"]
        assert result.losses == expected["losses"], config.name
        assert w.detach().numpy().tolist() == expected["final_weights"], config.name


def test_divergence_is_a_runtime_error(rng):
    X, y = linear_data(rng, n=100)
    w = descent.zeros(X.shape[1] + 1, dtype="f64", requires_grad=True)
    with pytest.raises(RuntimeError, match="training diverged at epoch"):
        descent.train(descent.LinearModel(w, True), "mse", descent.from_numpy(X),
                      descent.from_numpy(y), descent.optim.SGD([w], lr=50.0), epochs=200)


def test_bad_arguments_are_value_errors_and_files_os_errors(tmp_path):
    w = descent.zeros(3, dtype="f64", requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        descent.optim.SGD([w], lr=-1.0)
    with pytest.raises(ValueError, match="loss"):
        descent.train(descent.LinearModel(w), "hinge", descent.zeros(4, 3, dtype="f64"),
                      descent.zeros(4, dtype="f64"), descent.optim.SGD([w]))
    with pytest.raises(FileNotFoundError, match="no such file"):
        descent.load_dataset(str(tmp_path / "missing.csv"))
    with pytest.raises(FileNotFoundError):
        descent.load_checkpoint(str(tmp_path / "missing.ckpt"))
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,oops\n")
    with pytest.raises(ValueError, match="line 2"):
        descent.load_dataset(str(bad))


def test_load_dataset_reads_files_like_the_cli(tmp_path, rng):
    table = rng.normal(size=(20, 3))
    path = tmp_path / "data.npy"
    np.save(path, table)
    data = descent.load_dataset(str(path))
    np.testing.assert_array_equal(data.X.numpy()[:, :2], table[:, :2])
    np.testing.assert_array_equal(data.X.numpy()[:, 2], np.ones(20))   # the ones column, stored last
    np.testing.assert_array_equal(data.y.numpy(), table[:, 2])
    synth = descent.load_dataset("synthetic:n=50,d=3,noise=0,seed=4")
    assert synth.X.shape == (50, 4) and len(synth.true_weights) == 4
    np.testing.assert_allclose(synth.X.numpy() @ np.array(synth.true_weights), synth.y.numpy(),
                               rtol=1e-12, atol=1e-12)


def test_metrics_equal_scikit_learn(rng):
    metrics = pytest.importorskip("sklearn.metrics")
    y = rng.normal(size=300)
    pred = y + 0.3 * rng.normal(size=300)
    m = descent.regression_metrics(descent.from_numpy(pred), descent.from_numpy(y))
    assert m["rows"] == 300
    np.testing.assert_allclose(m["mse"], metrics.mean_squared_error(y, pred), rtol=1e-12)
    np.testing.assert_allclose(m["mae"], metrics.mean_absolute_error(y, pred), rtol=1e-12)
    np.testing.assert_allclose(m["r2"], metrics.r2_score(y, pred), rtol=1e-12)
    logits = rng.normal(size=(300, 3))
    labels = rng.integers(0, 3, size=300).astype(np.float64)
    c = descent.classification_metrics(descent.from_numpy(logits), descent.from_numpy(labels), 3)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(c["accuracy"], metrics.accuracy_score(labels, logits.argmax(1)),
                               rtol=1e-15)
    np.testing.assert_allclose(c["log_loss"], metrics.log_loss(labels, p), rtol=1e-12)


def test_model_files_from_the_cli_predict_in_python(cli, tmp_path, rng):
    X, y = linear_data(rng, n=100, d=2)
    np.save(tmp_path / "train.npy", np.column_stack([X, y]))
    model_path = tmp_path / "model.dsm"
    subprocess.run([cli, "train", "--data", str(tmp_path / "train.npy"), "--optimizer", "newton",
                    "--epochs", "2", "--save-model", str(model_path)], check=True,
                   capture_output=True)
    saved = descent.load_model(str(model_path))
    assert saved.kind == "linear" and saved.features == 2
    pred = saved.predict(descent.from_numpy(X)).numpy()
    expected = np.linalg.lstsq(np.column_stack([X, np.ones(100)]), y, rcond=None)[0]
    np.testing.assert_allclose(pred, X @ expected[:2] + expected[2], rtol=1e-9, atol=1e-9)


def test_training_releases_the_gil(rng):
    X, y = linear_data(rng, n=20000, d=8)
    w = descent.zeros(9, dtype="f64", requires_grad=True)
    progress = python_progress_during(
        lambda: descent.train(descent.LinearModel(w, True), "mse", descent.from_numpy(X),
                              descent.from_numpy(y), descent.optim.Adam([w], lr=0.01),
                              epochs=300))
    assert progress > 100


def test_a_callbacks_exception_reaches_the_caller(rng):
    X, y = linear_data(rng, n=50, d=2)
    w = descent.zeros(3, dtype="f64", requires_grad=True)

    class Stop(Exception):
        pass

    def on_epoch(epoch, loss):
        if epoch == 3:
            raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        descent.train(descent.LinearModel(w, True), "mse", descent.from_numpy(X),
                      descent.from_numpy(y), descent.optim.Adam([w]), epochs=10,
                      on_epoch=on_epoch)
    lbfgs = descent.optim.LBFGS([w])

    def closure():
        raise KeyError("from the closure")

    with pytest.raises(KeyError, match="from the closure"):
        lbfgs.step(closure)


def test_diverging_with_warn_is_a_runtime_warning(rng):
    X, y = linear_data(rng, n=100)
    w = descent.zeros(X.shape[1] + 1, dtype="f64", requires_grad=True)
    with pytest.warns(RuntimeWarning, match="diverged"):
        result = descent.train(descent.LinearModel(w, True), "mse", descent.from_numpy(X),
                               descent.from_numpy(y), descent.optim.SGD([w], lr=50.0),
                               epochs=100, on_divergence="warn")
    assert "diverged" in result.divergence


def test_file_errors_keep_errno_and_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        descent.load_dataset(str(tmp_path / "missing.csv"))
    assert info.value.errno == 2 and str(info.value).endswith("no such file")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        descent.load_dataset(str(tmp_path / "d.csv"))


def test_closures_may_return_a_number_and_options_take_torchs_names():
    w = descent.tensor([3.0, -1.0], requires_grad=True)
    opt = descent.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss.item()

    assert opt.step(closure).item() == 10.0
    assert w.detach().numpy().tolist() == [1.5, -0.5]
    adam = descent.optim.make_optimizer("adam", [w], "torch", betas=(0.8, 0.9))
    assert isinstance(adam, descent.optim.Adam)
    lbfgs = descent.optim.make_optimizer("lbfgs", [w], "torch", line_search_fn="strong_wolfe")
    assert isinstance(lbfgs, descent.optim.LBFGS)
    with pytest.raises(TypeError, match="closure must return"):
        opt.step(lambda: "loss")


def test_ctrl_c_interrupts_training(rng):
    import _thread
    import time

    X, y = linear_data(rng, n=2000, d=4)
    w = descent.zeros(5, dtype="f64", requires_grad=True)
    timer = threading.Timer(0.2, _thread.interrupt_main)   # as Ctrl-C would
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        descent.train(descent.LinearModel(w, True), "mse", descent.from_numpy(X),
                      descent.from_numpy(y), descent.optim.Adam([w], lr=1e-3), epochs=10**8)
    timer.join()
    assert time.monotonic() - start < 30
