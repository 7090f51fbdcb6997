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

void set_along(const Tensor& p, const Tensor& x, double t, const Tensor& d) {
    NoGrad no_grad;
    const Tensor moved = x + d * t;  // torch: p.add_(d, alpha=t) from p = x
    dd::copy_op(p, dd::make_view(moved, p.shape()));
}

Tensor stack_rows(const std::vector<Tensor>& rows) {
    if (rows.empty()) throw Error("stack_rows: no rows");
    const std::int64_t n = rows[0].numel();
    Tensor out = dd::make_tensor({std::int64_t(rows.size()), n}, rows[0].dtype(), rows[0].device());
    const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(out.dtype());
    for (std::size_t r = 0; r < rows.size(); ++r)
        dd::backend_of(out).copy(static_cast<char*>(out.data_ptr()) + r * bytes, rows[r].data_ptr(),
                                 bytes, out.device().index);
    return out;
}

std::vector<Tensor> unstack_rows(const Tensor& matrix) {
    const std::int64_t m = matrix.shape()[0], n = matrix.shape()[1];
    const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(matrix.dtype());
    std::vector<Tensor> rows;
    for (std::int64_t r = 0; r < m; ++r) {
        Tensor row = dd::make_tensor({n}, matrix.dtype(), matrix.device());
        dd::backend_of(matrix).copy(row.data_ptr(),
                                    static_cast<const char*>(matrix.data_ptr()) + r * bytes, bytes,
                                    matrix.device().index);
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace descent::optim::detail
