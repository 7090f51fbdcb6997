// SPD solves on the device holding the operands (CPU: src/optim/cholesky.cpp, in double;
// CUDA: cuSOLVER potrf/potrs).
#include "descent/solve.hpp"

#include <sstream>

#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "descent/loss.hpp"
#include "descent/tensor.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"

namespace descent {

Tensor solve_spd(const Tensor& A, const Tensor& b, double damping, const char* op) {
    detail::check_same_kind(op, A, b);
    const std::int64_t d = b.numel();
    if (b.dim() != 1 || A.shape() != Shape{d, d})
        throw Error(std::string(op) + ": expects A (d, d) and b (d), got A " + shape_str(A.shape()) +
                    " and b " + shape_str(b.shape()));
    Tensor x = empty({d}, b.dtype(), b.device());
    const std::int64_t pivot = detail::spd_solve_into(A, b, damping, x);
    if (pivot >= 0) {
        std::ostringstream os;
        const bool newton = std::string(op) == "newton";
        os << op << ": the " << d << "x" << d << (newton ? " Hessian" : " matrix")
           << (damping > 0 ? " plus damping" : "")
           << " is not positive definite (Cholesky pivot " << pivot
           << " <= 0), so the system has no unique solution; add damping, e.g. --damping 1e-6"
           << (damping > 0 ? " or larger" : "");
        throw Error(os.str());
    }
    return x;
}

Tensor linear_least_squares(const Tensor& X, const Tensor& y) {
    detail::check_same_kind("linear_least_squares", X, y);
    if (X.dim() != 2)
        throw Error("linear_least_squares: expects X (n, d), got " + shape_str(X.shape()));
    // At w = 0 the MSE gradient is -2/n Xᵀy, so H w* = -g0.
    const LinearMseResult at_zero =
        linear_mse_value_grad_hessian(X, y, zeros({X.shape()[1]}, X.dtype(), X.device()));
    const std::vector<double> g = at_zero.grad.to_vector<double>();
    std::vector<double> rhs(g.size());
    for (std::size_t i = 0; i < g.size(); ++i) rhs[i] = -g[i];
    return solve_spd(at_zero.hessian, from_vector(rhs, {X.shape()[1]}, X.dtype(), X.device()), 0.0,
                     "linear_least_squares");
}

}  // namespace descent
