// Adam and AdamW. blog preset: m = (1-b1) g + b1 m; v = (1-b2) g² + b2 v; w -= lr m / sqrt(v)
// (no eps, no bias correction). torch preset: torch.optim.Adam / AdamW, with bias correction,
// eps outside the root, optional amsgrad; AdamW decays weights by (1 - lr wd) first.
#pragma once

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct AdamOptions {
    double lr = 0.001;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool decoupled_weight_decay = false;  // true: AdamW
    bool amsgrad = false;
    bool bias_correction = true;
    bool blog_formula = false;
    static AdamOptions preset(Preset preset);  // blog: lr 0.1, betas 0.9/0.99, eps 0, no correction
    void validate() const;
};

class Adam final : public Optimizer {
public:
    Adam(std::vector<Tensor> params, AdamOptions options);
    using Optimizer::step;  // step(closure) too
    void step() override;
    std::vector<std::string> buffer_names() const override;
    bool capturable() const override { return true; }
    // Steps scaled per coordinate by the gradients' history: no bound from lambda_max.
    std::string divergence_advice(double) const override { return "try a smaller learning rate"; }
    bool has_lr() const override { return true; }
    double lr() const override { return m_options.lr; }
    void set_lr(double lr) override;
    const AdamOptions& options() const { return m_options; }

private:
    AdamOptions m_options;
};

}  // namespace descent::optim
