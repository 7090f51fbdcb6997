#!/usr/bin/python3
"""torch.optim.LBFGS (strong Wolfe) on an NPY regression file, the reference for
bench_second_order --solve: time until the loss is within 1e-6 (relative) of the
least-squares optimum, one opt.step(closure) per epoch with torch's defaults otherwise, as
descent's lbfgs row. The file's last column is y; an intercept column of ones is appended
LAST to the features, as descent does. Prints one JSON line.
Usage: /usr/bin/python3 bench/torch_lbfgs_time.py FILE.npy [MAX_SECONDS]"""
import json, sys, time
import numpy as np
import torch

path = sys.argv[1]
max_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
torch.set_num_threads(2)
data = np.load(path, mmap_mode="r")
n = data.shape[0]
X = torch.from_numpy(np.ascontiguousarray(np.concatenate(
    [data[:, :-1], np.ones((n, 1), dtype=data.dtype)], axis=1)))
y = torch.from_numpy(np.ascontiguousarray(data[:, -1]))
X64, y64 = X.double(), y.double()
w_star = torch.linalg.lstsq(X64, y64.unsqueeze(1)).solution.squeeze(1)
optimum = float(((X64 @ w_star - y64) ** 2).mean())
del X64, y64
w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
opt = torch.optim.LBFGS([w], line_search_fn="strong_wolfe")

def closure():
    opt.zero_grad()
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()
    return loss

t0 = time.perf_counter()
epochs, reached, loss = 0, None, float("nan")
while time.perf_counter() - t0 < max_seconds:
    opt.step(closure)
    epochs += 1
    with torch.no_grad():
        loss = float(((X @ w - y) ** 2).mean())
    if loss - optimum <= 1e-6 * optimum:
        reached = time.perf_counter() - t0
        break
print(json.dumps({"bench": "time_to_solution", "n": n, "d": X.shape[1], "dtype": str(X.dtype),
                  "threads": torch.get_num_threads(), "optimizer": "torch.optim.LBFGS(strong_wolfe)",
                  "epochs": epochs, "seconds": reached if reached is not None else time.perf_counter() - t0,
                  "reached": reached is not None, "loss": loss, "optimum_loss": optimum}))
