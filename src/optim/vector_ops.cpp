// Dot products, norms, moves and history packing for the curvature methods (vector_ops.hpp).
#include "optim/vector_ops.hpp"

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent::optim::detail {

namespace dd = descent::detail;

double dot(const Tensor& a, const Tensor& b) {
    NoGrad no_grad;
    return sum(a * b).item();
}

double abs_max(const Tensor& a) {
    return dd::max_all_op(dd::unary_op(dd::UnaryOp::abs, 0.0, a)).item();
}

double abs_sum(const Tensor& a) {
    return dd::sum_all_op(dd::unary_op(dd::UnaryOp::abs, 0.0, a), 1.0).item();
}

Tensor flat(const Tensor& t) { return dd::make_view(t.detach(), {t.numel()}); }

ClosureValue evaluate_closure(const char* optimizer, const std::function<Tensor()>& closure,
                              const Tensor& p) {
    return evaluate_closure(optimizer, closure, std::vector<Tensor>{p});
}

void set_along(const Tensor& p, const Tensor& x, double t, const Tensor& d) {
    NoGrad no_grad;
    const Tensor moved = x + d * t;  // torch: p.add_(d, alpha=t) from p = x
    dd::copy_op(p, dd::make_view(moved, p.shape()));
}

Tensor gather_flat(const std::vector<Tensor>& params) {
    if (params.size() == 1) return flat(params[0]).clone();
    std::int64_t n = 0;
    for (const Tensor& p : params) n += p.numel();
    Tensor out = dd::make_tensor({n}, params[0].dtype(), params[0].device());
    std::int64_t at = 0;
    for (const Tensor& p : params) {
        dd::copy_range_into(out, at, flat(p));
        at += p.numel();
    }
    return out;
}

void scatter_flat(const std::vector<Tensor>& params, const Tensor& x) {
    NoGrad no_grad;
    std::int64_t at = 0;
    for (const Tensor& p : params) {
        dd::copy_op(flat(p), x.narrow(0, at, p.numel()));
        at += p.numel();
    }
}

void set_along(const std::vector<Tensor>& params, const Tensor& x, double t, const Tensor& d) {
    if (params.size() == 1) return set_along(params[0], x, t, d);
    NoGrad no_grad;
    scatter_flat(params, x + d * t);
}

ClosureValue evaluate_closure(const char* optimizer, const std::function<Tensor()>& closure,
                              const std::vector<Tensor>& params) {
    Tensor loss;
    {
        EnableGrad enable;
        loss = closure();
    }
    if (!loss.defined() || loss.numel() != 1)
        throw Error(std::string(optimizer) + ": the closure must return the loss, a one-element "
                    "tensor; got " + dd::describe(loss));
    // A copy of the gradients, flat (one parameter's: flat(g).clone()); zeros for a parameter
    // the closure left without one.
    std::vector<Tensor> grads;
    for (const Tensor& p : params)
        grads.push_back(p.grad().defined() ? p.grad() : zeros(p.shape(), p.dtype(), p.device()));
    return {loss, gather_flat(grads)};
}

Tensor stack_rows(const std::vector<Tensor>& rows) {
    if (rows.empty()) throw Error("stack_rows: no rows");
    const std::int64_t n = rows[0].numel();
    Tensor out = dd::make_tensor({std::int64_t(rows.size()), n}, rows[0].dtype(), rows[0].device());
    for (std::size_t r = 0; r < rows.size(); ++r) dd::copy_range_into(out, std::int64_t(r) * n, rows[r]);
    return out;
}

std::vector<Tensor> unstack_rows(const Tensor& matrix) {
    const std::int64_t m = matrix.shape()[0], n = matrix.shape()[1];
    std::vector<Tensor> rows;
    for (std::int64_t r = 0; r < m; ++r) rows.push_back(dd::copy_range(matrix, r * n, n));
    return rows;
}

}  // namespace descent::optim::detail
