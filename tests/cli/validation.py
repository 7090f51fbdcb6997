#!/usr/bin/env python3
# descent train --val-fraction / --val-data / --early-stopping (issue 16 item 4), against
# numpy and a Python port of Lightning's EarlyStopping rule: the validation loss of every
# trace row equals numpy's MSE of that row's weights on the validation file (1e-12); the run
# stops where the rule says and ends at the best epoch's weights; a held-out fraction is
# seeded (same rows twice, other rows with another seed); a run checkpointed mid-way resumes
# bitwise, and a checkpoint of a stopped run resumes to the same end; the validation metrics
# equal descent predict's on the same rows; misuse exits 2.
#   /usr/bin/python3 tests/cli/validation.py /path/to/descent
# Skips (77) without numpy.
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import main_of  # noqa: E402

try:
    import numpy as np
except ImportError:
    print("skipped: no numpy")
    sys.exit(77)


def lightning(val_losses, patience, min_delta):
    """EarlyStopping(monitor, mode='min', patience, min_delta): (stop epoch or None, best epoch)."""
    best, best_epoch, wait = np.inf, None, 0
    for e, v in enumerate(val_losses):
        if not np.isfinite(v):
            return e, best_epoch
        if v + min_delta < best:
            best, best_epoch, wait = v, e, 0
        else:
            wait += 1
            if wait >= patience:
                return e, best_epoch
    return None, best_epoch


def main(checks):
    check, run = checks.check, checks.run
    rng = np.random.default_rng(4)
    X = rng.normal(size=(240, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.5 + 0.8 * rng.normal(size=240)
    np.savetxt("train.csv", np.c_[X[:160], y[:160]], delimiter=",", fmt="%.17g")
    np.savetxt("val.csv", np.c_[X[160:], y[160:]], delimiter=",", fmt="%.17g")
    Xv, yv = X[160:], y[160:]

    flags = ["train", "--quiet", "--json", "--data", "train.csv", "--val-data", "val.csv",
             "--optimizer", "adam", "--lr", "0.3", "--epochs", "300"]
    def read_trace(path):
        """The trace's columns by name, and its weights (w0, w1, w2, b) row by row."""
        names = open(path).readline().strip().split(",")
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        cols = {n: table[:, i] for i, n in enumerate(names)}
        return cols, np.column_stack([cols[n] for n in ("w0", "w1", "w2", "w3")])

    rc, out, err = run(*flags, "--trace", "t.csv")
    doc = json.loads(out) if rc == 0 else {}
    cols, weights = read_trace("t.csv") if rc == 0 else ({}, np.zeros((1, 4)))
    pred = Xv @ weights[:, :3].T + weights[:, 3]
    err_v = pred - yv[:, None]
    want = (err_v ** 2).mean(axis=0)
    r2 = 1 - (err_v ** 2).sum(axis=0) / ((yv - yv.mean()) ** 2).sum()
    check("val_loss_is_numpy_mse_of_each_row", rc == 0 and np.allclose(cols["val_loss"], want, rtol=1e-12, atol=0)
          and np.allclose(doc["val_losses"], want[1:], rtol=1e-12, atol=0), (rc, err))
    check("val_metrics_each_row_are_numpys", rc == 0 and
          np.allclose(cols["val_rmse"], np.sqrt(want), rtol=1e-12, atol=0) and
          np.allclose(cols["val_mae"], np.abs(err_v).mean(axis=0), rtol=1e-12, atol=0) and
          np.allclose(cols["val_r2"], r2, rtol=1e-10, atol=1e-12) and
          np.allclose(doc["val_metrics"]["r2"], r2[1:], rtol=1e-10, atol=1e-12), (rc, err))

    for patience, delta in ((5, 0.0), (3, 1e-3), (12, 0.0)):
        name = "early_stopping_%d_%g" % (patience, delta)
        rc, out, err = run(*flags, "--trace", "t.csv", "--early-stopping", str(patience),
                           "--min-delta", repr(delta))
        doc = json.loads(out) if rc == 0 else {}
        cols, weights = read_trace("t.csv") if rc == 0 else ({}, np.zeros((1, 4)))
        stop, best = lightning(doc.get("val_losses", []), patience, delta)
        es = doc.get("early_stopping", {})
        ok = rc == 0 and stop is not None and es["stopped"] and es["stopped_after_epoch"] == stop
        ok = ok and es["best_epoch"] == best and len(doc["losses"]) == stop + 1
        # The final weights are the best epoch's: the trace row after its update.
        ok = ok and doc["final_weights"] == list(weights[best + 1])
        ok = ok and abs(doc["validation"]["final_loss"] - doc["val_losses"][best]) == 0
        check(name, ok, (rc, err, es, stop, best))

    # Resume: halfway, then to the end, bitwise; and a stopped run's checkpoint ends there.
    es_flags = flags + ["--early-stopping", "4", "--checkpoint", "c.ckpt", "--checkpoint-every", "1"]
    rc, out, err = run(*es_flags)
    whole = json.loads(out) if rc == 0 else {}
    stop = whole.get("early_stopping", {}).get("stopped_after_epoch", 0)
    os.remove("c.ckpt")
    partial = list(es_flags)
    partial[partial.index("300")] = str(max(1, stop // 2))
    rc1, _, err1 = run(*partial)
    rc2, out2, err2 = run(*es_flags, "--resume", "c.ckpt")
    resumed = json.loads(out2) if rc2 == 0 else {}
    keys = ["final_weights", "losses", "val_losses", "val_metrics", "early_stopping", "validation"]
    check("resume_midway_bitwise", rc == rc1 == rc2 == 0 and stop > 2 and
          all(whole[k] == resumed[k] for k in keys), (rc1, rc2, err1, err2))
    rc3, out3, err3 = run(*es_flags, "--resume", "c.ckpt")
    again = json.loads(out3) if rc3 == 0 else {}
    check("resume_of_a_stopped_run_ends_there", rc3 == 0 and all(whole[k] == again[k] for k in keys),
          (rc3, err3))

    # A held-out fraction: seeded, the same rows twice, others with another seed.
    frac = ["train", "--quiet", "--json", "--data", "train.csv", "--val-fraction", "0.2", "--epochs", "5"]
    a, b, c = (run(*frac, *s) for s in ([], [], ["--seed", "9"]))
    da, db, dc = (json.loads(r[1]) for r in (a, b, c))
    check("val_fraction_seeded", da == db and da["validation"]["rows"] == 32 and da["rows"] == 128 and
          da["validation"]["initial_loss"] != dc["validation"]["initial_loss"], (da.get("validation"), dc.get("validation")))

    # The validation metrics are what descent predict measures on the same rows, with the
    # scaling of the training rows (--standardize) and a classifier too.
    yb = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=240) > 0).astype(float)
    np.savetxt("btrain.csv", np.c_[X[:160], yb[:160]], delimiter=",", fmt="%.17g")
    np.savetxt("bval.csv", np.c_[X[160:], yb[160:]], delimiter=",", fmt="%.17g")
    for name, extra in (("regression", ["--data", "train.csv", "--val-data", "val.csv", "--standardize"]),
                        ("logistic", ["--model", "logistic", "--data", "btrain.csv", "--val-data", "bval.csv"])):
        rc, out, err = run("train", "--quiet", "--json", "--epochs", "30", "--optimizer", "adam",
                           "--lr", "0.1", "--save-model", name + ".dsm", *extra)
        mine = json.loads(out)["metrics"]["validation"] if rc == 0 else {}
        val_file = extra[extra.index("--val-data") + 1]
        rc2, out2, err2 = run("predict", "--model", name + ".dsm", "--data", val_file, "--metrics", "--json")
        theirs = json.loads(out2)["metrics"] if rc2 == 0 else {}
        check("val_metrics_equal_predict_" + name, rc == rc2 == 0 and set(mine) == set(theirs) and
              all(np.allclose(mine[k], theirs[k], rtol=1e-10, atol=1e-12) for k in mine), (err, err2, mine, theirs))

    for args, what in ((["--early-stopping", "3"], "add --val-fraction F or --val-data FILE"),
                       (["--val-fraction", "0.2", "--val-data", "val.csv"], "give one"),
                       (["--val-fraction", "1.5"], "must be in (0, 1)"),
                       (["--val-fraction", "0.2", "--min-delta", "0.1"], "needs --early-stopping"),
                       (["--val-fraction", "0.2", "--early-stopping", "0"], "must be >= 1"),
                       (["--val-fraction", "0.2", "--stream-chunk", "10"], "drop --stream-chunk")):
        rc, out, err = run("train", "--quiet", "--data", "train.csv", "--epochs", "2", *args)
        check("usage: " + " ".join(args), rc == 2 and what in err and len(err.splitlines()) == 1, (rc, err))
    np.savetxt("wide.csv", np.c_[X[:10], X[:10], y[:10]], delimiter=",")
    rc, out, err = run("train", "--quiet", "--data", "train.csv", "--val-data", "wide.csv", "--epochs", "2")
    check("val_data_of_other_columns_refused", rc == 1 and "6 feature column(s), --data has 3" in err, (rc, err))


if __name__ == "__main__":
    main_of(main)
