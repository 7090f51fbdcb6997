// Losses and the linear model of model.hpp.
#include "descent/model.hpp"

#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"

namespace descent {

const char* loss_name(Loss loss) {
    switch (loss) {
        case Loss::mse: return "mse";
        case Loss::bce_with_logits: return "bce_with_logits";
        case Loss::cross_entropy: return "cross_entropy";
    }
    return "unknown";
}

Tensor compute_loss(Loss loss, const Tensor& pred, const Tensor& target) {
    switch (loss) {
        case Loss::mse: return mse_loss(pred, target);
        case Loss::bce_with_logits: return binary_cross_entropy_with_logits(pred, target);
        case Loss::cross_entropy: return cross_entropy(pred, target);
    }
    throw Error("compute_loss: unknown loss");
}

LinearModel::LinearModel(Tensor weight, bool fit_intercept)
    : m_weight(std::move(weight)), m_fit_intercept(fit_intercept) {
    detail::check_defined("LinearModel", m_weight);
    if (m_weight.dim() != 1 && m_weight.dim() != 2)
        throw Error("LinearModel: the weight must be a vector (d) or a matrix (d, k), got " +
                    detail::describe(m_weight));
    if (fit_intercept && m_weight.shape()[0] < 1)
        throw Error("LinearModel: with fit_intercept the weight needs a row for the intercept, "
                    "got " + detail::describe(m_weight));
}

std::shared_ptr<const Model> LinearModel::with_parameters(const std::vector<Tensor>& params) const {
    if (params.size() != 1 || params[0].shape() != m_weight.shape())
        throw Error("LinearModel::with_parameters: expects one weight of shape " +
                    shape_str(m_weight.shape()));
    return std::make_shared<LinearModel>(params[0], m_fit_intercept);
}

Tensor LinearModel::forward(const Tensor& X) const {
    if (!m_fit_intercept) return matmul(X, m_weight);
    const std::int64_t d = m_weight.shape()[0] - 1;
    if (X.dim() != 2 || X.shape()[1] != d)
        throw Error("LinearModel: with fit_intercept X must be (n, " + std::to_string(d) +
                    ") for the weight " + detail::describe(m_weight) + ", got X " +
                    detail::describe(X));
    return add(matmul(X, m_weight.narrow(0, 0, d)), m_weight.select(0, d));
}

bool LinearModel::fused_pass(Loss loss, const Tensor& X, const Tensor& y, const Tensor& loss_out,
                             const Tensor& hessian, const detail::BlockShard* shard) const {
    if (!has_fused(loss) || !fused_takes(X)) return false;
    const bool implicit = m_fit_intercept;
    if (!m_grad.defined()) m_grad = empty(m_weight.shape(), m_weight.dtype(), m_weight.device());
    switch (loss) {
        case Loss::mse:
            detail::linear_mse_into(X, y, m_weight, loss_out, m_grad, hessian, implicit, shard);
            break;
        case Loss::bce_with_logits:
            detail::logistic_into(X, y, m_weight, loss_out, m_grad, hessian, implicit, shard);
            break;
        case Loss::cross_entropy:
            if (hessian.defined())
                throw Error("LinearModel: softmax regression has no fused Hessian (its weights "
                            "are a matrix); use newton-cg, lbfgs or a first-order optimizer");
            detail::softmax_cross_entropy_into(X, y, m_weight, loss_out, m_grad, implicit, shard);
            break;
    }
    Tensor w = m_weight;
    w.set_grad(m_grad);
    return true;
}

Tensor LinearModel::fused_hvp(Loss loss, const Tensor& X, const Tensor& v,
                              const detail::BlockShard* shard) const {
    if (loss != Loss::mse || !has_fused(loss) || !fused_takes(X)) return Tensor();
    if (!m_fit_intercept && !shard) return linear_mse_hvp(X, v);
    if (X.dim() != 2 || (X.shape()[0] == 0 && !shard))
        throw Error("LinearModel::fused_hvp: X must be (n, d) with n >= 1 rows, got " +
                    detail::describe(X));
    // linear_mse_hvp's pass (no target, w = v) with the ones column implicit, or over the
    // rows of every process.
    const Tensor by_product = empty({}, v.dtype(), v.device());
    Tensor out = empty(v.shape(), v.dtype(), v.device());
    detail::linear_mse_into(X, Tensor(), v, by_product, out, Tensor(), m_fit_intercept, shard);
    return out;
}

}  // namespace descent
