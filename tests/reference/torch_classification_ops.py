#!/usr/bin/python3
"""Independent reference: the classification ops of include/descent/ops.hpp and loss.hpp.

Produces tests/reference/fixtures/torch_classification_ops.txt.  For each case it runs one
torch 1.13 op (abs, log1p, clamp, maximum, minimum, where, the comparisons, max/min over
everything and along a dim, argmax/argmin, index_select, logsumexp, softmax, log_softmax,
binary_cross_entropy_with_logits, cross_entropy) on seeded random inputs and records the
inputs, the output, and for
differentiable ops an upstream gradient v (of the output's shape) with the gradient of
sum(out * v) with respect to each differentiable input.  For the smooth ops (logsumexp,
softmax, log_softmax and the two losses) it also records a direction w (of input 0's shape)
and the second-order product d/d input0 of sum(grad_0 * w), from torch.autograd.grad with
create_graph.  tests/test_classification_ops.cpp rebuilds every case with descent's ops.

Cases marked f32 (the softmax family and the losses, also at extreme logits) are for descent
to compute in float32: their inputs, v and w are float32 values, and the recorded results are
torch's float64 results for those inputs, i.e. the exact answer to about 1e-16, which descent's
float32 must match to float32 accuracy.  (torch's own float32 is not the reference: its
logsumexp backward, exp(x - logsumexp(x)), loses about 1e-3 relative at |x| = 1e4, where
ulp(1e4) is 2^-10 in float32.)  For the same reason logsumexp's gradients are recorded as
softmax(x) * v (the identity d logsumexp = softmax, with torch.softmax, which subtracts the
max) and its second-order product through that: torch's float64 autograd of logsumexp is off
by up to |x| * 2^-52 = 2e-12 at |x| = 1e4; the script checks it agrees to 1e-10.

Inputs include what the C++ side must get right beyond the smooth case:
  - logits at +-1e4 (float64 and float32), where exp overflows and a naive softmax,
    logsumexp or BCE gives inf or NaN; the script checks torch's results are finite there;
  - ties: equal operands of maximum/minimum (torch splits the gradient in half), several
    equal maxima for max() (torch shares the gradient evenly) and for max(dim)/argmax (torch
    picks the first index; the script checks that against numpy's argmax);
  - values exactly at clamp's bounds (the gradient passes there), min > max, x = 0 for abs
    (gradient 0) and for BCE (gradient sigmoid(0) - y), an inf on where's unchosen side;
  - repeated entries in index_select's index (their gradients add up).

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/torch_classification_ops.py [OUTPUT_PATH]
Deterministic: seeded torch.Generator per case, one thread.
"""

import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)

F64, F32 = torch.float64, torch.float32
DTYPE_NAME = {F64: "f64", F32: "f32"}


def hx(v):
    return float(v).hex()


def tensor_line(tag, t, prefix=()):
    """'tag prefix... rank dims... values...' with the values as float.hex, row-major."""
    t = t.detach()
    fields = [tag, *map(str, prefix), str(t.dim()), *map(str, t.shape)]
    fields += [hx(v) for v in t.reshape(-1).tolist()]
    return " ".join(fields)


class Writer:
    def __init__(self):
        self.lines = []
        self.count = 0

    def comment(self, text):
        self.lines.append("# " + text)

    def case(self, name, op, inputs, params=None, dtype=F64, diff=None, v_seed=0,
             smooth=False, fn=None, check=None, grad_fn=None):
        """inputs: list of tensors (already dtype); diff: indices of differentiable inputs;
        params: dict written as 'param key value'; fn(inputs) -> output tensor; grad_fn(inputs,
        v) -> the gradients of sum(out * v) for the differentiable inputs, when torch's own
        autograd is not accurate enough (checked against it to 1e-10)."""
        params = params or {}
        diff = diff if diff is not None else []
        leaves = []
        for k, x in enumerate(inputs):
            x = x.detach().clone().to(dtype).to(F64)  # float32 values, computed in float64
            if k in diff:
                x.requires_grad_(True)
            leaves.append(x)
        out = fn(leaves)
        if check is not None:
            check(leaves, out)
        self.lines.append(f"case {name} {op} {DTYPE_NAME[dtype]}")
        for key, value in params.items():
            self.lines.append(f"param {key} {value}")
        for k, x in enumerate(leaves):
            self.lines.append(tensor_line("in", x, (k, int(k in diff))))
        self.lines.append(tensor_line("out", out))
        if diff:
            g = torch.Generator().manual_seed(1000 + v_seed)
            v = (torch.rand(out.shape, generator=g, dtype=F64) * 2 - 1).to(dtype).to(F64)
            self.lines.append(tensor_line("v", v))
            grads = torch.autograd.grad((out * v).sum(), [leaves[k] for k in diff],
                                        create_graph=smooth)
            if grad_fn is not None:
                better = grad_fn(leaves, v)
                for a, b in zip(grads, better):
                    scale = max(1.0, float(b.abs().max()))
                    assert float((a - b).abs().max()) <= 1e-10 * scale, (name, "grad_fn")
                grads = better
            for k, gr in zip(diff, grads):
                assert torch.isfinite(gr).all(), (name, "gradient not finite")
                self.lines.append(tensor_line("grad", gr, (k,)))
            if smooth:
                w = (torch.rand(leaves[diff[0]].shape, generator=g, dtype=F64) * 2 - 1).to(dtype).to(F64)
                gg = torch.autograd.grad((grads[0] * w).sum(), leaves[diff[0]])[0]
                assert torch.isfinite(gg).all(), (name, "second derivative not finite")
                self.lines.append(tensor_line("w", w))
                self.lines.append(tensor_line("gradgrad", gg, (diff[0],)))
        self.lines.append("end")
        self.count += 1


def rand(gen, shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=gen, dtype=F64) * (hi - lo) + lo


def with_extremes(gen, shape, scale=1e4):
    """Random logits with a quarter of the entries set to +-scale."""
    x = rand(gen, shape, -3.0, 3.0)
    mask = torch.rand(shape, generator=gen, dtype=F64) < 0.25
    signs = torch.where(torch.rand(shape, generator=gen, dtype=F64) < 0.5, -1.0, 1.0)
    return torch.where(mask, signs * scale, x).to(F64)


def logsumexp_grad(leaves, v, dim, keepdim):
    """The gradient of sum(logsumexp(x, dim, keepdim) * v): softmax(x, dim) * v, differentiable."""
    return [torch.softmax(leaves[0], dim) * (v if keepdim else v.unsqueeze(dim))]


def finite_out(leaves, out):
    assert torch.isfinite(out).all(), "output not finite"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "fixtures", "torch_classification_ops.txt")
    w = Writer()
    w.comment("Generated by tests/reference/torch_classification_ops.py (torch "
              + torch.__version__ + "); do not edit.")
    w.comment("case <name> <op> <f64|f32>; param <key> <value>; in <k> <differentiable> <rank> "
              "<dims> <values>; out/v/w <rank> <dims> <values>; grad/gradgrad <k> <rank> <dims> "
              "<values>; end")
    seed = 0

    def gen():
        nonlocal seed
        seed += 1
        return torch.Generator().manual_seed(seed)

    # --- elementwise -------------------------------------------------------------------
    g = gen()
    x = rand(g, (4, 5))
    x[0, 0] = 0.0  # abs'(0) = 0 in torch
    x[1, 2] = -0.0
    w.case("abs", "abs", [x], diff=[0], v_seed=seed, fn=lambda v: torch.abs(v[0]))

    g = gen()
    x = rand(g, (3, 4), -0.9, 3.0)
    x[0, 0], x[0, 1], x[0, 2] = 1e-10, -1e-12, 0.0  # where log(1 + x) loses everything
    w.case("log1p", "log1p", [x], diff=[0], v_seed=seed, fn=lambda v: torch.log1p(v[0]))

    g = gen()
    x = rand(g, (4, 6))
    x[0, 0], x[0, 1] = -0.5, 0.75  # exactly at the bounds: the gradient passes
    w.case("clamp", "clamp", [x], {"min": hx(-0.5), "max": hx(0.75)}, diff=[0], v_seed=seed,
           fn=lambda v: torch.clamp(v[0], -0.5, 0.75))
    w.case("clamp_min", "clamp", [x], {"min": hx(-0.5)}, diff=[0], v_seed=seed,
           fn=lambda v: torch.clamp(v[0], min=-0.5))
    w.case("clamp_max", "clamp", [x], {"max": hx(0.75)}, diff=[0], v_seed=seed,
           fn=lambda v: torch.clamp(v[0], max=0.75))
    w.case("clamp_crossed", "clamp", [x], {"min": hx(1.0), "max": hx(-1.0)}, diff=[0],
           v_seed=seed, fn=lambda v: torch.clamp(v[0], 1.0, -1.0))

    for name, op, f in [("maximum", "maximum", torch.maximum), ("minimum", "minimum", torch.minimum)]:
        for sa, sb in [((4, 5), (4, 5)), ((4, 5), (5,)), ((4, 1), (1, 5)), ((), (3, 2))]:
            g = gen()
            a, b = rand(g, sa), rand(g, sb)
            if sa == sb:  # ties: half the gradient each
                a[0, 0] = b[0, 0]
                a[2, 3] = b[2, 3]
            tag = "x".join(map(str, sa)) + "_" + "x".join(map(str, sb))
            w.case(f"{name}_{tag}", op, [a, b], diff=[0, 1], v_seed=seed,
                   fn=lambda v, f=f: f(v[0], v[1]))

    for sc, sa, sb in [((4, 5), (4, 5), (4, 5)), ((4, 1), (4, 5), (5,)), ((5,), (3, 1), ())]:
        g = gen()
        cond = (torch.rand(sc, generator=g, dtype=F64) < 0.5).to(F64)
        a, b = rand(g, sa), rand(g, sb)
        tag = "_".join("x".join(map(str, s)) for s in (sc, sa, sb))
        w.case(f"where_{tag}", "where", [cond, a, b], diff=[1, 2], v_seed=seed,
               fn=lambda v: torch.where(v[0] != 0, v[1], v[2]))
    # An inf on the side not chosen does not reach the result or the gradients.
    cond = torch.tensor([1.0, 0.0, 1.0], dtype=F64)
    a = torch.tensor([1.5, float("inf"), -2.0], dtype=F64)
    b = torch.tensor([float("-inf"), 0.25, float("nan")], dtype=F64)
    w.case("where_unchosen_inf", "where", [cond, a, b], diff=[1, 2], v_seed=seed,
           fn=lambda v: torch.where(v[0] != 0, v[1], v[2]), check=finite_out)

    # --- comparisons (no gradient) ------------------------------------------------------
    g = gen()
    a = torch.round(rand(g, (4, 5)) * 2) / 2  # multiples of 0.5: many ties
    b = torch.round(rand(g, (5,)) * 2) / 2
    for op in ["eq", "ne", "lt", "le", "gt", "ge"]:
        f = getattr(torch, op)
        w.case(f"{op}_tensor", op, [a, b], fn=lambda v, f=f: f(v[0], v[1]).to(v[0].dtype))
        w.case(f"{op}_scalar", op, [a], {"scalar": hx(0.5)},
               fn=lambda v, f=f: f(v[0], 0.5).to(v[0].dtype))

    # --- max, min, argmax, argmin -------------------------------------------------------
    def first_index_check(largest, dim):
        def check(leaves, out):
            x = leaves[0].detach().numpy()
            ref = (np.argmax if largest else np.argmin)(x, axis=dim)
            got = (torch.argmax if largest else torch.argmin)(leaves[0], dim=dim).numpy()
            assert (ref == got).all(), "torch's index is not the first one"
        return check

    g = gen()
    x = torch.round(rand(g, (4, 6)) * 2) / 2  # ties within rows and columns
    x[1, 1] = x[1, 4] = x.max()  # several elements equal to the overall max
    x[2, 0] = x[3, 5] = x.min()
    w.case("max_all", "max", [x], diff=[0], v_seed=seed, fn=lambda v: torch.max(v[0]))
    w.case("min_all", "min", [x], diff=[0], v_seed=seed, fn=lambda v: torch.min(v[0]))
    w.case("argmax_all", "argmax", [x], fn=lambda v: torch.argmax(v[0]).to(v[0].dtype))
    w.case("argmin_all", "argmin", [x], fn=lambda v: torch.argmin(v[0]).to(v[0].dtype))
    for dim in [0, 1, -1]:
        for keepdim in [0, 1]:
            for op, largest in [("max", True), ("min", False)]:
                f = torch.max if largest else torch.min
                arg = torch.argmax if largest else torch.argmin
                w.case(f"{op}_dim{dim}_keep{keepdim}", op, [x], {"dim": dim, "keepdim": keepdim},
                       diff=[0], v_seed=seed,
                       fn=lambda v, f=f, dim=dim, keepdim=keepdim: f(v[0], dim, bool(keepdim)).values,
                       check=first_index_check(largest, dim))
                w.case(f"arg{op}_dim{dim}_keep{keepdim}", "arg" + op, [x],
                       {"dim": dim, "keepdim": keepdim},
                       fn=lambda v, arg=arg, dim=dim, keepdim=keepdim:
                           arg(v[0], dim, bool(keepdim)).to(v[0].dtype))
    g = gen()
    x3 = torch.round(rand(g, (3, 4, 5)) * 2) / 2
    for dim in [0, 1, 2]:
        w.case(f"max3_dim{dim}", "max", [x3], {"dim": dim, "keepdim": 0}, diff=[0], v_seed=seed,
               fn=lambda v, dim=dim: torch.max(v[0], dim).values,
               check=first_index_check(True, dim))

    # --- index_select -------------------------------------------------------------------
    g = gen()
    a = rand(g, (5, 3))
    for dim, idx in [(0, [4, 0, 0, 2, 4, 4]), (1, [2, 1]), (0, []), (1, [0, 0, 0, 0])]:
        index = torch.tensor(idx, dtype=F64)
        w.case(f"index_select_dim{dim}_n{len(idx)}", "index_select", [a, index], {"dim": dim},
               diff=[0], v_seed=seed,
               fn=lambda v, dim=dim: torch.index_select(v[0], dim, v[1].long()))
    g = gen()
    a3 = rand(g, (2, 4, 3))
    index = torch.tensor([3, 1, 3, 0, 3], dtype=F64)
    w.case("index_select3_dim1", "index_select", [a3, index], {"dim": 1}, diff=[0], v_seed=seed,
           fn=lambda v: torch.index_select(v[0], 1, v[1].long()))

    # --- logsumexp, softmax, log_softmax ------------------------------------------------
    for dtype in [F64, F32]:
        dn = DTYPE_NAME[dtype]
        g = gen()
        x = rand(g, (4, 6), -3.0, 3.0)
        xe = with_extremes(g, (5, 6))
        xe[0, :] = 1e4  # a row of equal huge logits
        xe[1, :] = -1e4
        xe[2, 0], xe[2, 1] = 1e4, -1e4
        for tag, data in [("", x), ("_extreme", xe)]:
            for dim in [0, 1, -1]:
                for keepdim in [0, 1]:
                    w.case(f"logsumexp{tag}_dim{dim}_keep{keepdim}_{dn}", "logsumexp", [data],
                           {"dim": dim, "keepdim": keepdim}, dtype=dtype, diff=[0], v_seed=seed,
                           smooth=True, check=finite_out,
                           fn=lambda v, dim=dim, keepdim=keepdim:
                               torch.logsumexp(v[0], dim, bool(keepdim)),
                           grad_fn=lambda x, v, dim=dim, keepdim=keepdim:
                               logsumexp_grad(x, v, dim, keepdim))
                w.case(f"softmax{tag}_dim{dim}_{dn}", "softmax", [data], {"dim": dim},
                       dtype=dtype, diff=[0], v_seed=seed, smooth=True, check=finite_out,
                       fn=lambda v, dim=dim: torch.softmax(v[0], dim))
                w.case(f"log_softmax{tag}_dim{dim}_{dn}", "log_softmax", [data], {"dim": dim},
                       dtype=dtype, diff=[0], v_seed=seed, smooth=True, check=finite_out,
                       fn=lambda v, dim=dim: torch.log_softmax(v[0], dim))
        g = gen()
        x3 = with_extremes(g, (2, 3, 4))
        w.case(f"softmax3_dim1_{dn}", "softmax", [x3], {"dim": 1}, dtype=dtype, diff=[0],
               v_seed=seed, smooth=True, check=finite_out,
               fn=lambda v: torch.softmax(v[0], 1))
        w.case(f"logsumexp3_dim2_{dn}", "logsumexp", [x3], {"dim": 2, "keepdim": 0}, dtype=dtype,
               diff=[0], v_seed=seed, smooth=True, check=finite_out,
               fn=lambda v: torch.logsumexp(v[0], 2),
               grad_fn=lambda x, v: logsumexp_grad(x, v, 2, 0))

    # --- losses ---------------------------------------------------------------------------
    for dtype in [F64, F32]:
        dn = DTYPE_NAME[dtype]
        g = gen()
        x = rand(g, (6, 3), -4.0, 4.0)
        y = torch.rand((6, 3), generator=g, dtype=F64)
        x[0, 0] = 0.0  # the gradient there is sigmoid(0) - y
        xe = with_extremes(g, (5, 4))
        ye = (torch.rand((5, 4), generator=g, dtype=F64) < 0.5).to(F64)
        xe[0, 0], ye[0, 0] = 1e4, 0.0  # confidently wrong: loss 1e4, not inf
        xe[0, 1], ye[0, 1] = -1e4, 1.0
        bce = lambda v: torch.nn.functional.binary_cross_entropy_with_logits(v[0], v[1])
        w.case(f"bce_{dn}", "binary_cross_entropy_with_logits", [x, y], dtype=dtype,
               diff=[0, 1], v_seed=seed, smooth=True, check=finite_out, fn=bce)
        w.case(f"bce_extreme_{dn}", "binary_cross_entropy_with_logits", [xe, ye], dtype=dtype,
               diff=[0, 1], v_seed=seed, smooth=True, check=finite_out, fn=bce)
        yv = torch.rand((4,), generator=g, dtype=F64)
        w.case(f"bce_vector_{dn}", "binary_cross_entropy_with_logits", [x[0, :].repeat(2)[:4], yv],
               dtype=dtype, diff=[0], v_seed=seed, smooth=True, check=finite_out, fn=bce)

        ce = lambda v: torch.nn.functional.cross_entropy(v[0], v[1].long())
        g = gen()
        x = rand(g, (7, 4), -3.0, 3.0)
        t = torch.randint(0, 4, (7,), generator=g).to(F64)
        w.case(f"cross_entropy_{dn}", "cross_entropy", [x, t], dtype=dtype, diff=[0],
               v_seed=seed, smooth=True, check=finite_out, fn=ce)
        xe = with_extremes(g, (6, 5))
        te = torch.randint(0, 5, (6,), generator=g).to(F64)
        xe[0, :] = -1e4
        xe[0, 2], te[0] = 1e4, 3.0  # confidently wrong: loss 2e4
        xe[1, :] = 1e4  # all equal: log(5)
        w.case(f"cross_entropy_extreme_{dn}", "cross_entropy", [xe, te], dtype=dtype, diff=[0],
               v_seed=seed, smooth=True, check=finite_out, fn=ce)
        w.case(f"cross_entropy_one_row_{dn}", "cross_entropy", [x[:1, :], t[:1]], dtype=dtype,
               diff=[0], v_seed=seed, smooth=True, check=finite_out, fn=ce)

    # The losses at +-1e4 are large but finite: check the ones named above.
    text = "\n".join(w.lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {w.count} cases to {path}")


if __name__ == "__main__":
    main()
