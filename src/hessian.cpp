// linear_mse_hessian: 2/n XᵀX as one transposed matrix product (no copy of X).
#include "descent/hessian.hpp"

#include "descent/error.hpp"
#include "dispatch.hpp"

namespace descent {

Tensor linear_mse_hessian(const Tensor& X) {
    detail::check_defined("linear_mse_hessian", X);
    if (X.dim() != 2)
        throw Error("linear_mse_hessian: expects X (n, d), got shape " + shape_str(X.shape()));
    if (X.shape()[0] == 0)
        throw Error("linear_mse_hessian: X " + shape_str(X.shape()) + " has no rows");
    return detail::gemm_op("linear_mse_hessian", X, X, true, false, 2.0 / double(X.shape()[0]));
}

}  // namespace descent
