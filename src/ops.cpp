// Differentiable ops: a dispatch call for the forward value plus a backward rule written with
// these same ops, so gradients are computed on whichever device holds the tensors, and a
// backward pass with create_graph records the gradient's own graph (second derivatives).
// Rules use the saved inputs themselves, never detached copies: under a first-order pass grad
// mode is off and nothing is recorded; under create_graph the graph reaches the inputs.
#include "descent/ops.hpp"

#include <limits>
#include <memory>
#include <utility>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent {

using detail::BinaryOp;
using detail::record;
using detail::UnaryOp;
using Grads = std::vector<Tensor>;

namespace {

// (The rule a template argument: made into a BackwardFn only when a node records it.)
template <class Rule>
Tensor unary(const char* name, UnaryOp op, const Tensor& a, double alpha, Rule&& rule) {
    detail::check_defined(name, a);
    Tensor out = detail::unary_op(op, alpha, a);
    if (!detail::recording(a)) return out;
    return record(name, out, {a}, detail::Node::BackwardFn(std::forward<Rule>(rule)));
}

Tensor binary(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
    Tensor out = detail::binary_op(name, op, a, b);
    if (!detail::recording(a, b)) return out;
    const Shape sa = a.shape(), sb = b.shape();
    // Each rule sums the broadcast gradient back down to its input's shape.
    switch (op) {
        case BinaryOp::add:
            return record(name, out, {a, b}, [sa, sb](const Tensor& g) {
                return Grads{sum_to(g, sa), sum_to(g, sb)};
            });
        case BinaryOp::sub:
            return record(name, out, {a, b}, [sa, sb](const Tensor& g) {
                return Grads{sum_to(g, sa), sum_to(neg(g), sb)};
            });
        case BinaryOp::mul:
            return record(name, out, {a, b}, [a, b, sa, sb](const Tensor& g) {
                return Grads{sum_to(g * b, sa), sum_to(g * a, sb)};
            });
        case BinaryOp::div:
            return record(name, out, {a, b}, [a, b, sa, sb](const Tensor& g) {
                const Tensor ga = g / b;
                return Grads{sum_to(ga, sa), sum_to(neg(ga * a / b), sb)};
            });
        default:
            throw Error(std::string(name) + ": not an arithmetic op");
    }
}

// An activation's first-order backward in one pass (shared/elementwise.hpp's *_grad ops),
// written over g itself when no one else holds it (a net's backward then needs no second
// buffer of the layer's size), else into a new tensor. The same bits either way.
Tensor activation_grad(const char* name, BinaryOp op, const Tensor& g, const Tensor& saved) {
    if (detail::sole_owner(g) && g.shape() == saved.shape()) {
        detail::binary_inplace(name, op, g, saved);
        return g;
    }
    return detail::binary_op(name, op, g, saved);
}

Tensor scalar_op(const char* name, UnaryOp op, const Tensor& a, double s) {
    switch (op) {
        case UnaryOp::add_scalar:
            return unary(name, op, a, s, [](const Tensor& g) { return Grads{g}; });
        case UnaryOp::mul_scalar:
            return unary(name, op, a, s, [s](const Tensor& g) { return Grads{g * s}; });
        case UnaryOp::div_scalar:
            return unary(name, op, a, s, [s](const Tensor& g) { return Grads{g / s}; });
        case UnaryOp::rsub_scalar:
            return unary(name, op, a, s, [](const Tensor& g) { return Grads{neg(g)}; });
        case UnaryOp::rdiv_scalar:  // d(s/a) = -s/a^2
            return unary(name, op, a, s,
                         [a, s](const Tensor& g) { return Grads{g * (-s) / square(a)}; });
        default:
            throw Error(std::string(name) + ": not a scalar op");
    }
}

}  // namespace

// --- tensor-tensor -------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) { return binary("add", BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary("sub", BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary("mul", BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary("div", BinaryOp::div, a, b); }

// --- tensor-scalar -------------------------------------------------------------------------
Tensor add(const Tensor& a, double s) { return scalar_op("add", UnaryOp::add_scalar, a, s); }
Tensor sub(const Tensor& a, double s) { return scalar_op("sub", UnaryOp::add_scalar, a, -s); }
Tensor rsub(double s, const Tensor& a) { return scalar_op("rsub", UnaryOp::rsub_scalar, a, s); }
Tensor mul(const Tensor& a, double s) { return scalar_op("mul", UnaryOp::mul_scalar, a, s); }
Tensor div(const Tensor& a, double s) { return scalar_op("div", UnaryOp::div_scalar, a, s); }
Tensor rdiv(double s, const Tensor& a) { return scalar_op("rdiv", UnaryOp::rdiv_scalar, a, s); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return div(a, s); }
Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }
Tensor operator-(const Tensor& a) { return neg(a); }

// --- unary ---------------------------------------------------------------------------------
Tensor neg(const Tensor& a) {
    return unary("neg", UnaryOp::neg, a, 0.0, [](const Tensor& g) { return Grads{neg(g)}; });
}

Tensor square(const Tensor& a) {
    return unary("square", UnaryOp::square, a, 0.0,
                 [a](const Tensor& g) { return Grads{g * a * 2.0}; });
}

Tensor pow(const Tensor& a, double p) {
    return unary("pow", UnaryOp::pow, a, p, [a, p](const Tensor& g) {
        // x^0 is constant; p * x^(p-1) would give 0 * inf = NaN at x = 0.
        if (p == 0.0) return Grads{g * 0.0};
        return Grads{g * pow(a, p - 1.0) * p};
    });
}

Tensor sqrt(const Tensor& a) {
    detail::check_defined("sqrt", a);
    return detail::record_with_output("sqrt", detail::unary_op(UnaryOp::sqrt, 0.0, a), {a},
                                      [](const Tensor& g, const Tensor& r) { return Grads{g * 0.5 / r}; });
}

Tensor exp(const Tensor& a) {
    detail::check_defined("exp", a);
    return detail::record_with_output("exp", detail::unary_op(UnaryOp::exp, 0.0, a), {a},
                                      [](const Tensor& g, const Tensor& e) { return Grads{g * e}; });
}

Tensor log(const Tensor& a) {
    return unary("log", UnaryOp::log, a, 0.0,
                 [a](const Tensor& g) { return Grads{g / a}; });
}

Tensor tanh(const Tensor& a) {
    detail::check_defined("tanh", a);
    return detail::record_with_output(
        "tanh", detail::unary_op(UnaryOp::tanh, 0.0, a), {a},
        [](const Tensor& g, const Tensor& t) {
            // First order: one pass for the same bits; create_graph: the differentiable rule.
            if (!grad_enabled()) return Grads{activation_grad("tanh", BinaryOp::tanh_grad, g, t)};
            return Grads{g * (1.0 - square(t))};
        });
}

Tensor sigmoid(const Tensor& a) {
    detail::check_defined("sigmoid", a);
    return detail::record_with_output(
        "sigmoid", detail::unary_op(UnaryOp::sigmoid, 0.0, a), {a},
        [](const Tensor& g, const Tensor& s) {
            if (!grad_enabled()) return Grads{activation_grad("sigmoid", BinaryOp::sigmoid_grad, g, s)};
            return Grads{g * s * (1.0 - s)};
        });
}

Tensor relu(const Tensor& a) {
    // relu' is the step mask, a constant: its own derivative is 0 (almost everywhere), so it
    // is computed outside the graph and only g * mask is differentiable.
    return unary("relu", UnaryOp::relu, a, 0.0, [a](const Tensor& g) {
        if (!grad_enabled()) return Grads{activation_grad("relu", BinaryOp::relu_grad, g, a)};
        return Grads{g * detail::unary_op(UnaryOp::step, 0.0, a)};
    });
}

Tensor abs(const Tensor& a) {
    // sign(a) is a constant (0 at a = 0, as torch's abs'), so only g * sign is differentiable.
    return unary("abs", UnaryOp::abs, a, 0.0, [a](const Tensor& g) {
        return Grads{g * detail::unary_op(UnaryOp::sign, 0.0, a)};
    });
}

Tensor log1p(const Tensor& a) {
    return unary("log1p", UnaryOp::log1p, a, 0.0,
                 [a](const Tensor& g) { return Grads{g / (a + 1.0)}; });
}

namespace {

Tensor clamp_impl(const char* name, const Tensor& a, std::optional<double> lo,
                  std::optional<double> hi) {
    detail::check_defined(name, a);
    if (!lo && !hi) throw Error(std::string(name) + ": needs a min, a max or both; got neither");
    Tensor out = a;
    if (lo) out = detail::unary_op(UnaryOp::clamp_min, *lo, out);
    if (hi) out = detail::unary_op(UnaryOp::clamp_max, *hi, out);
    return record(name, out, {a}, [a, lo, hi](const Tensor& g) {
        // torch's rule: the gradient passes where lo <= a <= hi, both bounds included (so at
        // a bound the one-sided derivative of the unclamped side), and not at a NaN.
        Tensor mask;
        if (lo) mask = ge(a, *lo);
        if (hi) mask = mask.defined() ? mask * le(a, *hi) : le(a, *hi);
        return Grads{g * mask};
    });
}

}  // namespace

Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max) {
    return clamp_impl("clamp", a, min, max);
}
Tensor clamp_min(const Tensor& a, double min) { return clamp_impl("clamp_min", a, min, std::nullopt); }
Tensor clamp_max(const Tensor& a, double max) { return clamp_impl("clamp_max", a, std::nullopt, max); }

// --- selection -------------------------------------------------------------------------------
namespace {

// maximum (largest) or minimum, with torch's rule: the chosen operand gets the gradient, equal
// operands half each, and a NaN on either side passes it to both (the masks below are 1 - [the
// other operand won] - [a tie] / 2, each comparison false at a NaN).
Tensor select_binary(const char* name, bool largest, const Tensor& a, const Tensor& b) {
    Tensor out = detail::binary_op(name, largest ? BinaryOp::maximum : BinaryOp::minimum, a, b);
    const Shape sa = a.shape(), sb = b.shape();
    return record(name, out, {a, b}, [a, b, sa, sb, largest](const Tensor& g) {
        const Tensor half_tie = eq(a, b) * 0.5;
        const Tensor b_won = largest ? lt(a, b) : gt(a, b);
        const Tensor a_won = largest ? gt(a, b) : lt(a, b);
        Grads grads(2);
        if (a.requires_grad()) grads[0] = sum_to(g * (1.0 - b_won - half_tie), sa);
        if (b.requires_grad()) grads[1] = sum_to(g * (1.0 - a_won - half_tie), sb);
        return grads;
    });
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return select_binary("maximum", true, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return select_binary("minimum", false, a, b); }
Tensor max(const Tensor& a, const Tensor& b) { return select_binary("max", true, a, b); }
Tensor min(const Tensor& a, const Tensor& b) { return select_binary("min", false, a, b); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    Tensor out = detail::where_op("where", cond, a, b);
    const Shape sa = a.shape(), sb = b.shape();
    // Each side gets g where it was chosen (a where() of g and 0, itself differentiable).
    return record("where", out, {a, b}, [cond, sa, sb](const Tensor& g) {
        const Tensor zero = zeros({}, g.dtype(), g.device());
        Grads grads(2);
        grads[0] = sum_to(where(cond, g, zero), sa);
        grads[1] = sum_to(where(cond, zero, g), sb);
        return grads;
    });
}

// --- comparisons -------------------------------------------------------------------------------
namespace {

Tensor compare(const char* name, BinaryOp op, const Tensor& a, double s) {
    detail::check_defined(name, a);
    return detail::binary_op(name, op, a, full({}, s, a.dtype(), a.device()));
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return detail::binary_op("eq", BinaryOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return detail::binary_op("ne", BinaryOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return detail::binary_op("lt", BinaryOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return detail::binary_op("le", BinaryOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return detail::binary_op("gt", BinaryOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return detail::binary_op("ge", BinaryOp::ge, a, b); }
Tensor eq(const Tensor& a, double s) { return compare("eq", BinaryOp::eq, a, s); }
Tensor ne(const Tensor& a, double s) { return compare("ne", BinaryOp::ne, a, s); }
Tensor lt(const Tensor& a, double s) { return compare("lt", BinaryOp::lt, a, s); }
Tensor le(const Tensor& a, double s) { return compare("le", BinaryOp::le, a, s); }
Tensor gt(const Tensor& a, double s) { return compare("gt", BinaryOp::gt, a, s); }
Tensor ge(const Tensor& a, double s) { return compare("ge", BinaryOp::ge, a, s); }

// --- linear algebra and shape --------------------------------------------------------------
namespace {

// The matrix-matrix product every matmul reduces to: op(a) op(b), op = transpose where the
// flag says, so that the backward rules (products of the same kind) never materialise a
// transpose, and are themselves differentiable. With C = op(A) op(B):
// d op(A) = G op(B)ᵀ, so dA = mm(G, B, no, !tb), or its transpose op(B) Gᵀ = mm(B, G, tb, yes)
// when A is stored transposed; likewise dB = op(A)ᵀ G = mm(A, G, !ta, no), or Gᵀ op(A).
Tensor mm(const Tensor& a, const Tensor& b, bool ta, bool tb) {
    Tensor out = detail::gemm_op("matmul", a, b, ta, tb);
    if (!detail::recording(a, b)) return out;
    return record("matmul", out, {a, b}, [a, b, ta, tb](const Tensor& g) {
        Grads grads(2);
        if (a.requires_grad()) grads[0] = ta ? mm(b, g, tb, true) : mm(g, b, false, !tb);
        if (b.requires_grad()) grads[1] = tb ? mm(g, a, true, ta) : mm(a, g, !ta, false);
        return grads;
    });
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    detail::check_same_kind("linear", x, weight);
    if (weight.dim() != 2 || x.dim() < 1 || x.dim() > 2 || x.shape().back() != weight.shape()[1])
        throw Error("linear: expects x (n, in) or (in) and weight (out, in), got x " +
                    shape_str(x.shape()) + " and weight " + shape_str(weight.shape()));
    const std::int64_t outs = weight.shape()[0];
    if (bias.defined()) {
        detail::check_same_kind("linear", x, bias);
        if (bias.shape() != Shape{outs})
            throw Error("linear: bias " + shape_str(bias.shape()) + " does not match weight " +
                        shape_str(weight.shape()) + " (expects (" + std::to_string(outs) + ",))");
    }
    if (x.dim() == 1) return reshape(linear(reshape(x, {1, x.shape()[0]}), weight, bias), {outs});
    // x Wᵀ read through the product's transpose flag (no copy of W), the bias added in place:
    // one new tensor and one node where matmul(x, transpose(W)) + b made three of each.
    Tensor out = bias.defined() ? detail::gemm_bias_op("linear", x, weight, true, bias)
                                : detail::gemm_op("linear", x, weight, false, true);
    if (!detail::recording(x, weight, bias)) return out;
    const auto rule = [x, weight, bias, outs](const Tensor& g) {
        Grads grads(bias.defined() ? 3 : 2);
        if (x.requires_grad()) grads[0] = mm(g, weight, false, false);
        if (weight.requires_grad()) grads[1] = mm(g, x, true, false);
        if (bias.defined() && bias.requires_grad()) grads[2] = sum_to(g, {outs});
        return grads;
    };
    if (!bias.defined()) return record("linear", out, {x, weight}, rule);
    return record("linear", out, {x, weight, bias}, rule);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
    detail::check_same_kind("matmul", a, b);
    const auto ra = a.dim(), rb = b.dim();
    if (ra < 1 || ra > 2 || rb < 1 || rb > 2)
        throw Error("matmul: expects vectors or matrices, got shapes " + shape_str(a.shape()) +
                    " and " + shape_str(b.shape()));
    const std::int64_t ka = a.shape().back();
    const std::int64_t kb = b.shape()[0];
    if (ka != kb)
        throw Error("matmul: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                    " are not aligned (" + std::to_string(ka) + " vs " + std::to_string(kb) + ")");
    // Lift vectors to matrices, multiply, and drop the lifted dimensions again.
    const Tensor a2 = ra == 1 ? reshape(a, {1, ka}) : a;
    const Tensor b2 = rb == 1 ? reshape(b, {kb, 1}) : b;
    Tensor out = mm(a2, b2, false, false);
    if (ra == 2 && rb == 2) return out;
    Shape shape;
    if (ra == 2) shape.push_back(a.shape()[0]);
    if (rb == 2) shape.push_back(b.shape()[1]);
    return reshape(out, shape);
}

Tensor transpose(const Tensor& a) {
    detail::check_defined("transpose", a);
    if (a.dim() < 2) return a;
    return record("transpose", detail::transpose_op(a), {a},
                  [](const Tensor& g) { return Grads{transpose(g)}; });
}

Tensor reshape(const Tensor& a, const Shape& shape_in) {
    detail::check_defined("reshape", a);
    Shape shape = shape_in;
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1 && infer < 0) {
            infer = static_cast<std::int64_t>(i);
        } else if (shape[i] < 0) {
            throw Error("reshape: invalid target shape " + shape_str(shape_in));
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0 && known != 0 && a.numel() % known == 0) shape[infer] = a.numel() / known;
    if (shape_numel(shape) != a.numel() || (infer >= 0 && known == 0))
        throw Error("reshape: cannot view shape " + shape_str(a.shape()) + " (" +
                    std::to_string(a.numel()) + " elements) as " + shape_str(shape_in));
    if (static_cast<int>(shape.size()) > detail::kMaxRank)
        throw Error("reshape: rank of " + shape_str(shape) + " exceeds " +
                    std::to_string(detail::kMaxRank));
    const Tensor base = contiguous(a);  // a view of a view that cannot be flat copies first
    if (!detail::recording(base)) return detail::make_view(base, shape);
    const Shape from = a.shape();
    return record("reshape", detail::make_view(base, shape), {base},
                  [from](const Tensor& g) { return Grads{reshape(g, from)}; });
}

Tensor broadcast_to(const Tensor& a, const Shape& shape) {
    const Tensor out = detail::broadcast_op("broadcast_to", a, shape);
    if (!detail::recording(a)) return out;
    const Shape from = a.shape();
    return record("broadcast_to", out, {a},
                  [from](const Tensor& g) { return Grads{sum_to(g, from)}; });
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
    const Tensor out = detail::sum_to_op("sum_to", a, shape);
    if (out.impl() == a.impl() || !detail::recording(a)) return out;
    const Shape from = a.shape();
    return record("sum_to", out, {a},
                  [from](const Tensor& g) { return Grads{broadcast_to(g, from)}; });
}

// --- reductions ------------------------------------------------------------------------------
namespace {

Tensor reduce_all(const char* name, const Tensor& a, double scale) {
    Tensor out = detail::sum_all_op(a, scale);
    if (!detail::recording(a)) return out;
    const Shape from = a.shape();
    return record(name, out, {a}, [from, scale](const Tensor& g) {
        return Grads{broadcast_to(g * scale, from)};
    });
}

Tensor reduce_axis(const char* name, const Tensor& a, std::int64_t axis, bool keepdim,
                   bool average) {
    detail::check_defined(name, a);
    const std::int64_t ax = detail::normalize_axis(name, axis, a.shape());
    const std::int64_t len = a.shape()[ax];
    if (average && len == 0)
        throw Error(std::string(name) + ": axis " + std::to_string(axis) + " of shape " +
                    shape_str(a.shape()) + " is empty");
    const double scale = average ? 1.0 / double(len) : 1.0;
    Tensor out = detail::sum_axis_op(name, a, ax, keepdim, scale);
    if (!detail::recording(a)) return out;
    Shape kept = a.shape();
    kept[ax] = 1;
    const Shape from = a.shape();
    return record(name, out, {a},
                  [from, kept, scale](const Tensor& g) {
                      return Grads{broadcast_to(reshape(g, kept) * scale, from)};
                  });
}

}  // namespace

Tensor sum(const Tensor& a) {
    detail::check_defined("sum", a);
    return reduce_all("sum", a, 1.0);
}

Tensor mean(const Tensor& a) {
    detail::check_defined("mean", a);
    if (a.numel() == 0) throw Error("mean: the tensor of shape " + shape_str(a.shape()) + " is empty");
    return reduce_all("mean", a, 1.0 / double(a.numel()));
}

Tensor sum(const Tensor& a, std::int64_t axis, bool keepdim) {
    return reduce_axis("sum", a, axis, keepdim, false);
}

Tensor mean(const Tensor& a, std::int64_t axis, bool keepdim) {
    return reduce_axis("mean", a, axis, keepdim, true);
}

namespace {

Tensor extremum_all(const char* name, const Tensor& a, bool largest) {
    Tensor out = detail::extremum_all_op(name, a, largest, false).values;
    return detail::record_with_output(name, out, {a}, [a](const Tensor& g, const Tensor& m) {
        // As torch's max() and amax: every element equal to the result gets an equal share.
        // When the result is NaN, the NaNs share it (ne(m, m) is 1 only then).
        const Tensor mask = eq(a, m) + ne(a, a) * ne(m, m);
        return Grads{g * mask / sum(mask)};
    });
}

// The positions along `axis` as a tensor shaped to broadcast against a: (1, .., len, .., 1).
Tensor positions_along(const Tensor& a, std::int64_t ax) {
    Shape shape(a.shape().size(), 1);
    shape[ax] = a.shape()[ax];
    return reshape(arange(0.0, double(a.shape()[ax]), 1.0, a.dtype(), a.device()), shape);
}

Tensor extremum_axis(const char* name, const Tensor& a, std::int64_t axis, bool keepdim,
                     bool largest) {
    detail::Extremum r = detail::extremum_axis_op(name, a, axis, keepdim, largest, true);
    const std::int64_t ax = detail::normalize_axis(name, axis, a.shape());
    Shape kept = a.shape();
    kept[ax] = 1;
    const Tensor indices = r.indices;
    return record(name, r.values, {a}, [a, ax, kept, indices](const Tensor& g) {
        // All of g to the first position holding the result (torch's max(dim)): a one-hot
        // mask along the axis, a constant, so the rule is linear in g.
        const Tensor one_hot = eq(positions_along(a, ax), reshape(indices, kept));
        return Grads{reshape(g, kept) * one_hot};
    });
}

// The max along `axis` (keepdim), outside the graph, with infinities replaced by 0: what the
// softmax family subtracts so that exp never overflows. Any constant gives the same function,
// so no gradient flows through it. An infinite max would give inf - inf = NaN; with 0 instead,
// a row with +inf gives +inf and a row of -inf gives exp(-inf) = 0, as torch.
Tensor stable_shift(const char* name, const Tensor& a, std::int64_t axis) {
    const Tensor m = detail::extremum_axis_op(name, a, axis, true, true, false).values;
    const Tensor infinite = eq(abs(m), std::numeric_limits<double>::infinity());
    return detail::where_op(name, infinite, zeros({}, m.dtype(), m.device()), m);
}

}  // namespace

Tensor max(const Tensor& a) { return extremum_all("max", a, true); }
Tensor min(const Tensor& a) { return extremum_all("min", a, false); }
Tensor max(const Tensor& a, std::int64_t axis, bool keepdim) {
    return extremum_axis("max", a, axis, keepdim, true);
}
Tensor min(const Tensor& a, std::int64_t axis, bool keepdim) {
    return extremum_axis("min", a, axis, keepdim, false);
}

Tensor argmax(const Tensor& a) { return detail::extremum_all_op("argmax", a, true, true).indices; }
Tensor argmin(const Tensor& a) { return detail::extremum_all_op("argmin", a, false, true).indices; }
Tensor argmax(const Tensor& a, std::int64_t axis, bool keepdim) {
    return detail::extremum_axis_op("argmax", a, axis, keepdim, true, true).indices;
}
Tensor argmin(const Tensor& a, std::int64_t axis, bool keepdim) {
    return detail::extremum_axis_op("argmin", a, axis, keepdim, false, true).indices;
}

Tensor logsumexp(const Tensor& a, std::int64_t axis, bool keepdim) {
    detail::check_defined("logsumexp", a);
    const Tensor m = stable_shift("logsumexp", a, axis);
    const Tensor out = log(sum(exp(a - m), axis, true)) + m;
    if (keepdim) return out;
    Shape shape = a.shape();
    shape.erase(shape.begin() + detail::normalize_axis("logsumexp", axis, shape));
    return reshape(out, shape);
}

// --- softmax ---------------------------------------------------------------------------------
Tensor softmax(const Tensor& a, std::int64_t axis) {
    detail::check_defined("softmax", a);
    const Tensor e = exp(a - stable_shift("softmax", a, axis));
    return e / sum(e, axis, true);
}

Tensor log_softmax(const Tensor& a, std::int64_t axis) {
    detail::check_defined("log_softmax", a);
    const Tensor shifted = a - stable_shift("log_softmax", a, axis);
    return shifted - log(sum(exp(shifted), axis, true));
}

// --- indexing --------------------------------------------------------------------------------
namespace {

using IndexPtr = std::shared_ptr<const detail::IndexList>;

Tensor gather_slices(const Tensor& a, std::int64_t ax, const IndexPtr& index);

// index_select's adjoint, differentiable in its turn (its own adjoint is the gather).
Tensor scatter_add_slices(const Tensor& g, std::int64_t ax, const IndexPtr& index) {
    return record("index_select_backward", detail::index_add_op("index_select", g, ax, *index),
                  {g}, [ax, index](const Tensor& gg) { return Grads{gather_slices(gg, ax, index)}; });
}

Tensor gather_slices(const Tensor& a, std::int64_t ax, const IndexPtr& index) {
    return record("index_select", detail::index_select_op("index_select", a, ax, *index), {a},
                  [ax, index](const Tensor& g) { return Grads{scatter_add_slices(g, ax, index)}; });
}

}  // namespace

Tensor index_select(const Tensor& a, std::int64_t axis, const Tensor& index) {
    detail::check_same_kind("index_select", a, index);
    const std::int64_t ax = detail::normalize_axis("index_select", axis, a.shape());
    // Checked and read to the host once; the backward rules share it.
    const auto list = std::make_shared<const detail::IndexList>(
        detail::index_list("index_select", index, a.shape()[ax]));
    return gather_slices(a, ax, list);
}

Tensor dropout_mask(const Tensor& a, double p, std::uint64_t seed, std::uint64_t offset) {
    detail::check_defined("dropout", a);
    if (!(p >= 0.0 && p <= 1.0))
        throw Error("dropout: p must be in [0, 1], got " + std::to_string(p));
    return detail::dropout_mask_op(a, p, seed, offset);
}

Tensor dropout(const Tensor& a, double p, std::uint64_t seed, std::uint64_t offset) {
    detail::check_defined("dropout", a);
    if (p == 0.0) return a;  // (torch returns the input too)
    // The mask is a constant: mul's rules differentiate a * mask to any order.
    return a * dropout_mask(a, p, seed, offset);
}

}  // namespace descent
