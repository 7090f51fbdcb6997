// mse_loss (general, differentiable) and the fused one-pass linear MSE value-and-grad.
#include "descent/loss.hpp"

#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"
#include "tensor_impl.hpp"

namespace descent {

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
    detail::check_same_kind("mse_loss", pred, target);
    if (pred.shape() != target.shape())
        throw Error("mse_loss: pred " + shape_str(pred.shape()) + " and target " +
                    shape_str(target.shape()) + " must have the same shape");
    if (pred.numel() == 0)
        throw Error("mse_loss: pred and target " + shape_str(pred.shape()) + " are empty");
    Tensor out = detail::mse_op(pred, target);
    const double scale = 2.0 / double(pred.numel());
    // One node for the whole loss: d/dpred = 2/n (pred - target) g, d/dtarget = its negative.
    return detail::record("mse_loss", out, {pred, target}, [pred, target, scale](const Tensor& g) {
        const Tensor diff = (pred - target) * (g * scale);  // differentiable: create_graph
        std::vector<Tensor> grads(2);
        if (pred.requires_grad()) grads[0] = diff;
        if (target.requires_grad()) grads[1] = neg(diff);
        return grads;
    });
}

namespace {

LinearMseResult linear_mse(const char* name, const Tensor& X, const Tensor& y, const Tensor& w,
                           bool with_hessian) {
    detail::check_same_kind(name, X, y);
    detail::check_same_kind(name, X, w);
    if (X.dim() != 2 || y.dim() != 1 || w.dim() != 1 || y.shape()[0] != X.shape()[0] ||
        w.shape()[0] != X.shape()[1])
        throw Error(std::string(name) + ": expects X (n, d), y (n), w (d); got X " +
                    shape_str(X.shape()) + ", y " + shape_str(y.shape()) + ", w " +
                    shape_str(w.shape()));
    const std::int64_t n = X.shape()[0], d = X.shape()[1];
    if (n == 0 || d == 0)
        throw Error(std::string(name) + ": X " + shape_str(X.shape()) + " is empty");
    LinearMseResult r;
    r.loss = detail::make_tensor({}, X.dtype(), X.device());
    r.grad = detail::make_tensor({d}, X.dtype(), X.device());
    if (with_hessian) r.hessian = detail::make_tensor({d, d}, X.dtype(), X.device());
    detail::linear_mse_into(X, y, w, r.loss, r.grad, r.hessian);
    return r;
}

}  // namespace

Tensor linear_mse_hvp(const Tensor& X, const Tensor& v) {
    const char* name = "linear_mse_hvp";
    detail::check_same_kind(name, X, v);
    if (X.dim() != 2 || v.dim() != 1 || v.shape()[0] != X.shape()[1])
        throw Error(std::string(name) + ": expects X (n, d) and v (d); got X " +
                    shape_str(X.shape()) + ", v " + shape_str(v.shape()));
    const std::int64_t n = X.shape()[0], d = X.shape()[1];
    if (n == 0 || d == 0) throw Error(std::string(name) + ": X " + shape_str(X.shape()) + " is empty");
    const Tensor loss = detail::make_tensor({}, X.dtype(), X.device());  // by-product, unused
    Tensor out = detail::make_tensor({d}, X.dtype(), X.device());
    detail::linear_mse_into(X, Tensor(), v, loss, out);  // no target: the HVP form
    return out;
}

LinearMseResult linear_mse_value_and_grad(const Tensor& X, const Tensor& y, const Tensor& w) {
    return linear_mse("linear_mse_value_and_grad", X, y, w, false);
}

LinearMseResult linear_mse_value_grad_hessian(const Tensor& X, const Tensor& y, const Tensor& w) {
    return linear_mse("linear_mse_value_grad_hessian", X, y, w, true);
}

}  // namespace descent
