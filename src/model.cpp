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

LinearModel::LinearModel(Tensor weight) : m_weight(std::move(weight)) {
    detail::check_defined("LinearModel", m_weight);
    if (m_weight.dim() != 1 && m_weight.dim() != 2)
        throw Error("LinearModel: the weight must be a vector (d) or a matrix (d, k), got " +
                    detail::describe(m_weight));
}

std::shared_ptr<const Model> LinearModel::with_parameters(const std::vector<Tensor>& params) const {
    if (params.size() != 1 || params[0].shape() != m_weight.shape())
        throw Error("LinearModel::with_parameters: expects one weight of shape " +
                    shape_str(m_weight.shape()));
    return std::make_shared<LinearModel>(params[0]);
}

Tensor LinearModel::forward(const Tensor& X) const { return matmul(X, m_weight); }

bool LinearModel::fused_pass(Loss loss, const Tensor& X, const Tensor& y, const Tensor& loss_out,
                             const Tensor& hessian) const {
    if (!has_fused(loss)) return false;
    if (!m_grad.defined()) m_grad = empty(m_weight.shape(), m_weight.dtype(), m_weight.device());
    switch (loss) {
        case Loss::mse: detail::linear_mse_into(X, y, m_weight, loss_out, m_grad, hessian); break;
        case Loss::bce_with_logits:
            detail::logistic_into(X, y, m_weight, loss_out, m_grad, hessian);
            break;
        case Loss::cross_entropy:
            if (hessian.defined())
                throw Error("LinearModel: softmax regression has no fused Hessian (its weights "
                            "are a matrix); use newton-cg, lbfgs or a first-order optimizer");
            detail::softmax_cross_entropy_into(X, y, m_weight, loss_out, m_grad);
            break;
    }
    Tensor w = m_weight;
    w.set_grad(m_grad);
    return true;
}

Tensor LinearModel::fused_hvp(Loss loss, const Tensor& X, const Tensor& v) const {
    return loss == Loss::mse && has_fused(loss) ? linear_mse_hvp(X, v) : Tensor();
}

}  // namespace descent
