#!/usr/bin/python3
"""Independent reference: torch.optim on small seeded linear-regression problems.

Produces tests/reference/fixtures/torch_optim.txt.  For each case (optimizer +
options, see CASES) and each dtype (float64 and float32, separate records) it
builds a random regression problem with a per-case seeded torch.Generator
(X ~ N(0,1) of shape (n, d), y = X @ w_true + 0.5 + 0.1*noise, generated in
float64 and then cast to the case dtype), two parameter tensors w (d,) and
b (1,) initialised from the same generator, and runs
    loss = ((X @ w + b - y)**2).mean(); opt.zero_grad(); loss.backward(); opt.step()
for STEPS steps with foreach=False (torch's single-tensor code path).  It
records the data, the initial parameters, the gradients torch used and the parameters
after every step, the loss before every step, and the final opt.state of each parameter.  Floats are
written with float.hex() (float32 values are converted to Python floats first,
which is exact) so the C++ tests can parse them exactly with strtod.

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/torch_reference.py
(optionally: ... torch_reference.py OUTPUT_PATH).  Output is deterministic
(torch runs single-threaded here).
"""

import inspect
import os
import sys

import numpy as np
import torch

STEPS = 15

# (name, optimizer, options).  Options are passed to the constructor exactly as
# listed (plus foreach=False) and recorded as `option` lines.
CASES = [
    ("sgd", "sgd", dict(lr=0.05)),
    ("sgd_wd", "sgd", dict(lr=0.05, weight_decay=0.1)),
    ("momentum", "sgd", dict(lr=0.05, momentum=0.9)),
    ("momentum_damp", "sgd", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("nesterov", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("adagrad", "adagrad", dict(lr=0.3)),
    ("adagrad_decay", "adagrad", dict(lr=0.3, lr_decay=0.05, initial_accumulator_value=0.1,
                                      weight_decay=0.01)),
    ("rmsprop", "rmsprop", dict(lr=0.01)),
    ("rmsprop_centered", "rmsprop", dict(lr=0.01, centered=True)),
    ("rmsprop_momentum", "rmsprop", dict(lr=0.01, momentum=0.8, weight_decay=0.02)),
    ("rmsprop_centered_momentum", "rmsprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5)),
    ("adam", "adam", dict(lr=0.05)),
    ("adam_wd", "adam", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.95))),
    ("amsgrad", "adam", dict(lr=0.05, amsgrad=True)),
    ("adamw", "adamw", dict(lr=0.05, weight_decay=0.1)),
    ("adamw_amsgrad", "adamw", dict(lr=0.05, weight_decay=0.05, amsgrad=True, eps=1e-6)),
]

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}

DIMS = [1, 3, 16]
DTYPES = [("f64", torch.float64), ("f32", torch.float32)]


def hx(v):
    return float(v).hex()


def vals(t):
    """Space-separated hex of every element of a tensor (row-major)."""
    return " ".join(hx(v) for v in t.detach().reshape(-1).tolist())


def problem(idx):
    """Case idx's data and initial parameters, in float64."""
    d = DIMS[idx % len(DIMS)]
    n = 32 + (idx * 13) % 33  # 32..64
    g = torch.Generator().manual_seed(20240 + idx)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    w_true = torch.randn(d, generator=g, dtype=torch.float64)
    noise = torch.randn(n, generator=g, dtype=torch.float64)
    y = X @ w_true + 0.5 + 0.1 * noise
    w0 = torch.randn(d, generator=g, dtype=torch.float64)
    b0 = torch.randn(1, generator=g, dtype=torch.float64)
    return n, d, X, y, w0, b0


def option_lines(opts):
    out = []
    for k, v in opts.items():
        if k == "betas":
            out.append("option beta1 %s" % hx(v[0]))
            out.append("option beta2 %s" % hx(v[1]))
        elif isinstance(v, bool):
            out.append("option %s %d" % (k, int(v)))
        else:
            out.append("option %s %s" % (k, hx(v)))
    return out


def run_case(idx, name, opt_name, opts, dname, dtype):
    n, d, X64, y64, w064, b064 = problem(idx)
    X = X64.to(dtype)
    y = y64.to(dtype)
    w = w064.to(dtype).clone().requires_grad_(True)
    b = b064.to(dtype).clone().requires_grad_(True)

    cls = OPTIMIZERS[opt_name]
    kwargs = dict(opts)
    if "foreach" in inspect.signature(cls.__init__).parameters:
        kwargs["foreach"] = False
    opt = cls([w, b], **kwargs)

    lines = ["case %s %s %s %d %d %d" % (name, opt_name, dname, n, d, STEPS)]
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    lines.append("# effective param_group: %s" % ", ".join("%s=%r" % kv for kv in sorted(group.items())))
    lines += option_lines(opts)
    lines.append("X " + vals(X))
    lines.append("y " + vals(y))
    lines.append("w0 " + vals(w))
    lines.append("b0 " + vals(b))

    for k in range(1, STEPS + 1):
        loss = ((X @ w + b - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        lines.append("step %d gw %s" % (k, vals(w.grad)))
        lines.append("step %d gb %s" % (k, vals(b.grad)))
        lines.append("step %d w %s" % (k, vals(w)))
        lines.append("step %d b %s" % (k, vals(b)))
        lines.append("step %d loss %s" % (k, hx(loss.item())))
        if not all(np.isfinite(v) for v in w.detach().tolist() + b.detach().tolist()):
            raise SystemExit("torch_reference.py: case %s %s diverged" % (name, dname))

    for pname, p in (("w", w), ("b", b)):
        for key, v in opt.state[p].items():
            if v is None:  # SGD without momentum stores momentum_buffer=None
                lines.append("# state %s %s None" % (pname, key))
                continue
            if key == "step":
                s = v.item() if torch.is_tensor(v) else v
                lines.append("state %s step %s" % (pname, hx(s)))
            else:
                assert v.dtype == dtype, (name, key, v.dtype)
                lines.append("state %s %s %s" % (pname, key, vals(v)))
    final_loss = ((X @ w + b - y) ** 2).mean().item()
    lines.append("# loss after step %d: %r" % (STEPS, final_loss))
    lines.append("end")
    return lines


def main():
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "fixtures", "torch_optim.txt")

    lines = [
        "# generated by tests/reference/torch_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/torch_reference.py",
        "# torch %s, numpy %s; foreach=False (single-tensor path); %d steps per case"
        % (torch.__version__, np.__version__, STEPS),
        "# loss = ((X @ w + b - y)**2).mean(); params [w (d,), b (1,)] in one param group",
        "# floats are float.hex(); parse with strtod.  f32 records hold exact float32 values.",
    ]
    for idx, (name, opt_name, opts) in enumerate(CASES):
        for dname, dtype in DTYPES:
            lines.append("")
            lines += run_case(idx, name, opt_name, opts, dname, dtype)

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out_path)
    print("wrote %s" % out_path)


if __name__ == "__main__":
    main()
