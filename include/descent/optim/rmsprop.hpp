// RMSProp: steps scaled by the root of a running average of squared gradients.
// blog preset: s = (1-alpha) g² + alpha s; w -= lr g / sqrt(s) (the post's "decay rate" is
// alpha). torch preset: torch.optim.RMSprop with eps outside the root, centered, momentum.
#pragma once

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct RmsPropOptions {
    double lr = 0.01;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
    bool blog_formula = false;
    static RmsPropOptions preset(Preset preset);  // blog: lr 0.1, alpha 0.99, eps 0
    void validate() const;
};

class RmsProp final : public Optimizer {
public:
    RmsProp(std::vector<Tensor> params, RmsPropOptions options);
    using Optimizer::step;  // step(closure) too
    void step() override;
    std::vector<std::string> buffer_names() const override;
    bool capturable() const override { return true; }
    // Steps scaled per coordinate by the gradients' history: no bound from lambda_max.
    std::string divergence_advice(double) const override { return "try a smaller learning rate"; }
    bool has_lr() const override { return true; }
    double lr() const override { return m_options.lr; }
    void set_lr(double lr) override;
    const RmsPropOptions& options() const { return m_options; }

private:
    RmsPropOptions m_options;
};

}  // namespace descent::optim
