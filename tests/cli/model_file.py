#!/usr/bin/env python3
# descent train --save-model and descent predict (issue 16 items 1 and 2), checked from
# outside: the model file is parsed here by this script's own reader of the documented format
# (include/descent/model_file.hpp; CRC-32C from crc32c.py), the predictions are computed with
# numpy from the weights read, and must equal descent predict's to 1e-12 (f64); the metrics of
# train --json and predict --metrics must equal numpy's formulas on those predictions. Bad
# model files (truncated, a flipped byte, another magic, a checkpoint) and mismatched data are
# refused with one line and exit 1; misuse exits 2.
#   /usr/bin/python3 tests/cli/model_file.py /path/to/descent
# Skips (77) without numpy.
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import main_of  # noqa: E402
from crc32c import crc32c  # noqa: E402

try:
    import numpy as np
except ImportError:
    print("skipped: no numpy")
    sys.exit(77)


def read_model(path):
    """The model file, by the format in model_file.hpp."""
    b = open(path, "rb").read()
    assert b[:8] == b"DSCNTMDL", b[:8]
    version, reserved, size = struct.unpack_from("<IIQ", b, 8)
    assert version == 1 and reserved == 0 and len(b) == 24 + size + 4
    assert struct.unpack_from("<I", b, 24 + size)[0] == crc32c(b[:24 + size])
    at = 24

    def u64():
        nonlocal at
        v = struct.unpack_from("<Q", b, at)[0]
        at += 8
        return v

    def text():
        nonlocal at
        n = u64()
        s = b[at:at + n].decode()
        at += n
        return s

    meta = {}
    for _ in range(u64()):
        k = text()
        meta[k] = text()
    names = [text() for _ in range(u64())]
    std = []
    for _ in range(2):
        n = u64()
        std.append(np.frombuffer(b, "<f8", n, at))
        at += 8 * n
    params = []
    for _ in range(u64()):
        code, rank = b[at], b[at + 1]
        at += 2
        shape = struct.unpack_from("<%dq" % rank, b, at)
        at += 8 * rank
        dt = "<f4" if code == 0 else "<f8"
        n = int(np.prod(shape)) if rank else 1
        params.append(np.frombuffer(b, dt, n, at).reshape(shape).astype(np.float64))
        at += n * (4 if code == 0 else 8)
    assert at == 24 + size
    return meta, names, std, params


def numpy_outputs(meta, std, params, X):
    """Raw outputs (values or logits) from the weights read, in float64."""
    mean, scale = std
    if len(mean):
        X = (X - mean) / scale
    kind = meta["kind"]
    if kind in ("linear", "logistic", "softmax"):
        (W,) = params
        if meta["intercept"] == "1":
            return X @ W[:-1] + W[-1]
        return X @ W
    act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0),
           "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}[kind.rsplit(":", 1)[1]]
    h = X
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]
        if i + 2 < len(params):
            h = act(h)
    return h[:, 0] if h.shape[1] == 1 and meta["loss"] != "cross_entropy" else h


def numpy_prediction_table(meta, std, params, X):
    z = numpy_outputs(meta, std, params, X)
    loss = meta["loss"]
    if loss == "mse":
        return z[:, None]
    if loss == "bce_with_logits":
        p = 1.0 / (1.0 + np.exp(-z))
        return np.c_[(z > 0).astype(float), 1.0 - p, p]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.c_[z.argmax(axis=1).astype(float), e / e.sum(axis=1, keepdims=True)]


def numpy_metrics(meta, std, params, X, y):
    z = numpy_outputs(meta, std, params, X)
    loss = meta["loss"]
    if loss == "mse":
        e = y - z
        ss_tot = ((y - y.mean()) ** 2).sum()
        return {"mse": (e ** 2).mean(), "rmse": np.sqrt((e ** 2).mean()),
                "mae": np.abs(e).mean(), "r2": 1 - (e ** 2).sum() / ss_tot}
    if loss == "bce_with_logits":
        nll = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        guess = (z > 0).astype(float)
        k = 2
    else:
        m = z.max(axis=1)
        nll = m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - z[np.arange(len(y)), y.astype(int)]
        guess = z.argmax(axis=1).astype(float)
        k = z.shape[1]
    return {"accuracy": (guess == y).mean(), "log_loss": nll.mean(),
            "support": [float((y == c).sum()) for c in range(k)],
            "predicted": [float((guess == c).sum()) for c in range(k)],
            "correct": [float(((y == c) & (guess == c)).sum()) for c in range(k)]}


def close(a, b, tol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b)))


def main(checks):
    check, run = checks.check, checks.run
    rng = np.random.default_rng(7)
    n = 300
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5]
    y_reg = X @ [1.5, -2.0, 0.5] + 3.0 + 0.1 * rng.normal(size=n)
    y_bin = (X @ [1.0, -0.5, 2.0] + 0.3 + rng.logistic(size=n) > 0).astype(float)
    y_cls = np.argmax(X @ rng.normal(size=(3, 3)) + rng.gumbel(size=(n, 3)), axis=1).astype(float)
    np.savetxt("x.csv", X, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    np.save("x.npy", X)
    for name, y in (("reg", y_reg), ("bin", y_bin), ("cls", y_cls)):
        np.savetxt(name + ".csv", np.c_[X, y], delimiter=",", header="a,b,c,target",
                   comments="", fmt="%.17g")
        np.save(name + ".npy", np.c_[X, y])

    cases = [
        ("linear", ["--data", "reg.csv", "--optimizer", "adam", "--lr", "0.1"], "reg"),
        ("linear_no_intercept", ["--data", "reg.npy", "--no-intercept"], "reg"),
        ("linear_implicit", ["--data", "reg.csv", "--ones-column", "implicit",
                             "--optimizer", "newton", "--lr", "1"], "reg"),
        ("logistic", ["--data", "bin.csv", "--model", "logistic", "--optimizer", "newton",
                      "--lr", "1"], "bin"),
        ("softmax", ["--data", "cls.npy", "--model", "softmax", "--optimizer", "adam",
                     "--lr", "0.1"], "cls"),
        ("mlp_mse", ["--data", "reg.csv", "--model", "mlp:8:tanh", "--optimizer", "adam",
                     "--lr", "0.01"], "reg"),
        ("mlp_ce", ["--data", "cls.csv", "--model", "mlp:5,4:relu", "--loss", "ce",
                    "--optimizer", "adam", "--lr", "0.01"], "cls"),
    ]
    ys = {"reg": y_reg, "bin": y_bin, "cls": y_cls}
    for name, flags, data in cases:
        model = name + ".dsm"
        rc, out, err = run("train", "--quiet", "--json", "--epochs", "40", "--save-model", model, *flags)
        if rc != 0:
            check(name + "_train", False, err)
            continue
        meta, names, std, params = read_model(model)
        ok = meta.get("descent_version") and meta.get("dtype") == "f64"
        if "csv" in flags[1]:
            ok = ok and names == ["a", "b", "c"] and meta.get("target") == "target"
        check(name + "_file", bool(ok), (meta, names))
        # The run's own metrics (train --json) against numpy on the saved weights.
        reported = json.loads(out)["metrics"]["train"]
        expected = numpy_metrics(meta, std, params, X, ys[data])
        check(name + "_train_metrics", all(close(reported[k], v, 1e-10) for k, v in expected.items()),
              (reported, expected))
        for xfile in ("x.csv", "x.npy"):
            rc, out, err = run("predict", "--model", model, "--data", xfile, "--out", "p.npy")
            table = np.load("p.npy") if rc == 0 else None
            want = numpy_prediction_table(meta, std, params, X)
            check(name + "_predict_" + xfile, rc == 0 and close(table, want), err or (table, want))
        rc, out, err = run("predict", "--model", model, "--data", data + ".csv")
        lines = out.splitlines()
        csv_table = np.loadtxt(lines[1:], delimiter=",", ndmin=2) if rc == 0 else None
        check(name + "_predict_csv_stdout",
              rc == 0 and close(csv_table, numpy_prediction_table(meta, std, params, X)), err)
        rc, out, err = run("predict", "--model", model, "--data", data + ".npy", "--metrics", "--json")
        got = json.loads(out)["metrics"] if rc == 0 else {}
        check(name + "_predict_metrics", rc == 0 and all(close(got[k], v) for k, v in expected.items()),
              err or (got, expected))

    # Refused: one line naming the problem, exit 1; nothing written.
    good = open("linear.dsm", "rb").read()
    bad = {
        "truncated": good[:-5],
        "flipped_byte": good[:40] + bytes([good[40] ^ 0x10]) + good[41:],
        "other_magic": b"DSCNTCKP" + good[8:],
        "empty": b"",
    }
    for name, contents in bad.items():
        open("bad.dsm", "wb").write(contents)
        rc, out, err = run("predict", "--model", "bad.dsm", "--data", "x.csv", "--out", "q.csv")
        check("refused_" + name, rc == 1 and len(err.splitlines()) == 1 and "bad.dsm" in err and
              not os.path.exists("q.csv"), (rc, err))
    rc, out, err = run("train", "--quiet", "--data", "reg.csv", "--epochs", "2", "--checkpoint", "c.ckpt")
    rc, out, err = run("predict", "--model", "c.ckpt", "--data", "x.csv")
    check("refused_checkpoint", rc == 1 and "not a descent model file" in err, err)
    # Data that is not the model's: other column names, another column count, no target.
    np.savetxt("renamed.csv", X, delimiter=",", header="a,c,b", comments="")
    rc, out, err = run("predict", "--model", "linear.dsm", "--data", "renamed.csv")
    check("refused_feature_names", rc == 1 and "column 2 is 'c'" in err, err)
    np.save("wide.npy", np.c_[X, X])
    rc, out, err = run("predict", "--model", "linear.dsm", "--data", "wide.npy")
    check("refused_columns", rc == 1 and "6 column(s)" in err, err)
    rc, out, err = run("predict", "--model", "linear.dsm", "--data", "x.npy", "--metrics")
    check("refused_metrics_without_target", rc == 1 and "no target" in err, err)
    # Usage: exit 2, and no input overwritten.
    before = open("x.csv", "rb").read()
    rc, out, err = run("predict", "--model", "linear.dsm", "--data", "x.csv", "--out", "x.csv")
    check("refused_out_is_data", rc == 2 and open("x.csv", "rb").read() == before, err)
    rc, out, err = run("predict", "--data", "x.csv")
    check("refused_no_model", rc == 2 and "--model is required" in err, err)
    rc, out, err = run("train", "--quiet", "--data", "reg.csv", "--save-model", "reg.csv")
    check("refused_save_model_is_data", rc == 2 and "same file" in err, err)


if __name__ == "__main__":
    main_of(main)
