// Models and losses for the one training loop (descent::train, train.hpp), after
// tiny-cuda-nn's split of model, loss and trainer. A model maps X (n, d) to predictions
// through its parameters; a loss compares predictions with targets (mean over rows). The loop
// asks the model for a fused one-pass step for its loss (fused_pass) and otherwise runs the
// generic autodiff step: forward, loss, backward. Verified by tests/test_train_generic.cpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "descent/tensor.hpp"

namespace descent {

namespace detail {
struct BlockShard;  // a distributed pass's exchange (internal: src/shared/block_tree.hpp)
}

// mse: mean((pred - y)^2), pred and y (n): linear regression.
// bce_with_logits: binary_cross_entropy_with_logits(pred, y), y in {0, 1}: logistic regression.
// cross_entropy: cross_entropy(pred (n, k), labels (n) of class indices): softmax regression.
enum class Loss { mse, bce_with_logits, cross_entropy };

const char* loss_name(Loss loss);  // "mse", "bce_with_logits", "cross_entropy"
// The loss of predictions `pred` against targets `target`, differentiable.
Tensor compute_loss(Loss loss, const Tensor& pred, const Tensor& target);

class Model {
public:
    virtual ~Model() = default;
    // What the optimizer updates, in a fixed order (the trajectory and checkpoints flatten
    // them in this order).
    virtual std::vector<Tensor> parameters() const = 0;
    // Predictions for the rows of X, differentiable in the parameters.
    virtual Tensor forward(const Tensor& X) const = 0;
    virtual std::string name() const = 0;
    // The same model over other parameter tensors (same shapes), sharing them; null when the
    // model cannot be rebuilt (the loop then does without: e.g. the divergence rule's loss at
    // all-zero parameters).
    virtual std::shared_ptr<const Model> with_parameters(const std::vector<Tensor>& params) const {
        (void)params;
        return nullptr;
    }

    // Whether fused_pass serves `loss`; has_fused_for, for data X in particular (its device: a
    // model may have its fused pass on one device only). The loop asks has_fused_for.
    virtual bool has_fused(Loss loss) const {
        (void)loss;
        return false;
    }
    virtual bool has_fused_for(Loss loss, const Tensor& X) const {
        (void)X;
        return has_fused(loss);
    }
    // The fused one-pass step of this model and `loss`, when it has one: writes the loss of
    // (X, y) at the current parameters into `loss_out` (one element), sets every parameter's
    // grad() and, when `hessian` is defined (Newton; one parameter of P entries, (P, P)),
    // writes the Hessian. Must only queue device work (no allocation after its first call, no
    // read-back), so the loop may capture it in a CUDA graph. Returns false, touching
    // nothing, when there is none; the loop then runs forward, loss and backward.
    // `shard` (distributed training, TrainOptions::communicator): X and y are this process's
    // rows, and the pass must give the loss and gradient over every process's rows by handing
    // `shard` to the fused ops (src/fused_ops.hpp); a model that cannot returns false for a
    // non-null shard (the loop then refuses to train it distributed).
    virtual bool fused_pass(Loss loss, const Tensor& X, const Tensor& y, const Tensor& loss_out,
                            const Tensor& hessian, const detail::BlockShard* shard = nullptr) const {
        (void)loss, (void)X, (void)y, (void)loss_out, (void)hessian, (void)shard;
        return false;
    }
    // The fused Hessian-vector product of the loss over X in direction v, when the model has
    // one (undefined otherwise: the loop then differentiates the gradient again); over every
    // process's rows with `shard`, as fused_pass.
    virtual Tensor fused_hvp(Loss loss, const Tensor& X, const Tensor& v,
                             const detail::BlockShard* shard = nullptr) const {
        (void)loss, (void)X, (void)v, (void)shard;
        return Tensor();
    }
};

// pred = X W: with W (d) one output per row (linear regression with Loss::mse, logistic
// regression with Loss::bce_with_logits), with W (d, k) k outputs (softmax regression with
// Loss::cross_entropy). Each pairing has a fused one-pass CPU/CUDA kernel (loss.hpp: linear
// MSE and logistic with their Hessians, softmax); the fused HVP is linear_mse_hvp for mse (the
// others differentiate the gradient again).
// An intercept is either a column of ones stored in X, or, with fit_intercept, implicit: X
// holds the d features, W has d + 1 rows and its last row is the intercept (pred = X W[:d] +
// W[d], scikit-learn's fit_intercept with the intercept kept in the one parameter). The two
// give bitwise the same fused passes, so a model trains the same either way while X needs
// no ones column (a loaded file's X is the file's size). The implicit form's fused passes run
// on the CPU; on a CUDA device it takes the autodiff step (store the column there to keep
// the fused kernels).
class LinearModel final : public Model {
public:
    // weight (d) or (d, k), or (d + 1) / (d + 1, k) with fit_intercept; the caller's tensor,
    // updated in place.
    explicit LinearModel(Tensor weight, bool fit_intercept = false);
    std::vector<Tensor> parameters() const override { return {m_weight}; }
    Tensor forward(const Tensor& X) const override;
    std::string name() const override { return "linear"; }
    std::shared_ptr<const Model> with_parameters(const std::vector<Tensor>& params) const override;
    // mse and bce_with_logits with w (d): the one-pass linear MSE and logistic passes (with
    // their Hessians); cross_entropy with W (d, k): the one-pass softmax pass.
    bool has_fused(Loss loss) const override {
        return m_weight.dim() == (loss == Loss::cross_entropy ? 2 : 1);
    }
    bool has_fused_for(Loss loss, const Tensor& X) const override {
        return has_fused(loss) && fused_takes(X);
    }
    bool fused_pass(Loss loss, const Tensor& X, const Tensor& y, const Tensor& loss_out,
                    const Tensor& hessian,
                    const detail::BlockShard* shard = nullptr) const override;
    Tensor fused_hvp(Loss loss, const Tensor& X, const Tensor& v,
                     const detail::BlockShard* shard = nullptr) const override;
    const Tensor& weight() const { return m_weight; }
    bool fit_intercept() const { return m_fit_intercept; }

private:
    // Whether the fused kernels take X as it is (CPU, or the ones column stored).
    bool fused_takes(const Tensor& X) const { return !m_fit_intercept || X.device().is_cpu(); }

    Tensor m_weight;
    bool m_fit_intercept;
    mutable Tensor m_grad;  // the gradient buffer the fused pass reuses, made on first use
};

}  // namespace descent
