// hvp, hessian and jacobian (functional.hpp) on top of the engine's grad(): reverse over
// reverse for second derivatives; one backward pass per row for the matrices, the rows copied
// into the result on its device (nothing goes through the host but the one-hot seeds).
#include "descent/functional.hpp"

#include <string>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "dispatch.hpp"

namespace descent {

namespace {

// x as a fresh leaf on x's storage, so that f's graph starts at it (x itself, and its
// grad(), are left alone).
Tensor differentiable_copy(const Tensor& x) {
    Tensor leaf = x.detach();
    leaf.requires_grad_();
    return leaf;
}

// The one-hot tensor e_k of `like`'s shape, dtype and device.
Tensor one_hot(const Tensor& like, std::int64_t k) {
    std::vector<double> values(static_cast<std::size_t>(like.numel()), 0.0);
    values[static_cast<std::size_t>(k)] = 1.0;
    return from_vector(values, like.shape(), like.dtype(), like.device());
}

// Row `row` of the matrix m (rows, cols) = the elements of `values` (cols of them), copied on
// m's device.
void set_row(const Tensor& m, std::int64_t row, const Tensor& values) {
    detail::copy_range_into(m, row * values.numel(), values);
}

Tensor scalar_output(const char* op, const ScalarFunction& f, const Tensor& x) {
    const Tensor y = f(x);
    if (!y.defined()) throw Error(std::string(op) + ": f returned an undefined tensor");
    if (y.numel() != 1)
        throw Error(std::string(op) + ": f must return a scalar (one element), got shape " +
                    shape_str(y.shape()));
    if (y.dtype() != x.dtype() || y.device() != x.device())
        throw Error(std::string(op) + ": f returned " + detail::describe(y) + " for x " +
                    detail::describe(x) + "; it must stay on x's device and dtype");
    return y;
}

// The gradient of the scalar y with respect to x, with its graph; undefined when y does not
// depend on x or when the gradient does not depend on x (then every second derivative is 0).
Tensor gradient_with_graph(const Tensor& y, const Tensor& x) {
    if (!y.requires_grad()) return Tensor();
    Tensor g = grad({y}, {x}, {}, /*create_graph=*/true, /*retain_graph=*/true,
                    /*allow_unused=*/true)[0];
    return g.defined() && g.requires_grad() ? g : Tensor();
}

}  // namespace

Tensor hvp(const ScalarFunction& f, const Tensor& x, const Tensor& v) {
    detail::check_defined("hvp", x);
    detail::check_defined("hvp", v);
    if (v.shape() != x.shape() || v.dtype() != x.dtype() || v.device() != x.device())
        throw Error("hvp: v " + detail::describe(v) + " must have x's shape, dtype and device " +
                    detail::describe(x));
    EnableGrad enable;
    const Tensor leaf = differentiable_copy(x);
    const Tensor g = gradient_with_graph(scalar_output("hvp", f, leaf), leaf);
    if (!g.defined()) return zeros(x.shape(), x.dtype(), x.device());
    // <g, v> differentiated once more: H v (H is symmetric, so vᵀH = (Hv)ᵀ).
    const Tensor hv = grad({g}, {leaf}, {v}, /*create_graph=*/false, /*retain_graph=*/false,
                           /*allow_unused=*/true)[0];
    return hv.defined() ? hv : zeros(x.shape(), x.dtype(), x.device());
}

Tensor hessian(const ScalarFunction& f, const Tensor& x) {
    detail::check_defined("hessian", x);
    EnableGrad enable;
    const std::int64_t n = x.numel();
    const Tensor leaf = differentiable_copy(x);
    const Tensor g = gradient_with_graph(scalar_output("hessian", f, leaf), leaf);
    Tensor h = zeros({n, n}, x.dtype(), x.device());
    if (!g.defined()) return h;
    for (std::int64_t i = 0; i < n; ++i) {
        // Row i = e_iᵀ H = d g_i / dx; the graph of g is kept until the last row.
        const Tensor row = grad({g}, {leaf}, {one_hot(g, i)}, /*create_graph=*/false,
                                /*retain_graph=*/i + 1 < n, /*allow_unused=*/true)[0];
        if (row.defined()) set_row(h, i, row);
    }
    return h;
}

Tensor jacobian(const TensorFunction& f, const Tensor& x) {
    detail::check_defined("jacobian", x);
    EnableGrad enable;
    const Tensor leaf = differentiable_copy(x);
    const Tensor y = f(leaf);
    if (!y.defined()) throw Error("jacobian: f returned an undefined tensor");
    if (y.dtype() != x.dtype() || y.device() != x.device())
        throw Error("jacobian: f returned " + detail::describe(y) + " for x " +
                    detail::describe(x) + "; it must stay on x's device and dtype");
    const std::int64_t m = y.numel(), n = x.numel();
    Tensor j = zeros({m, n}, x.dtype(), x.device());
    if (!y.requires_grad()) return j;
    for (std::int64_t o = 0; o < m; ++o) {
        const Tensor row = grad({y}, {leaf}, {one_hot(y, o)}, /*create_graph=*/false,
                                /*retain_graph=*/o + 1 < m, /*allow_unused=*/true)[0];
        if (row.defined()) set_row(j, o, row);
    }
    return j;
}

}  // namespace descent
