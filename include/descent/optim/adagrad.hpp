// AdaGrad: per-coordinate steps scaled by the root of the summed squared gradients.
// blog preset: sum += g²; w -= lr g / sqrt(sum). torch preset: torch.optim.Adagrad.
#pragma once

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct AdagradOptions {
    double lr = 0.01;
    double lr_decay = 0.0;
    double weight_decay = 0.0;
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
    bool blog_formula = false;  // the blog's evaluation order
    static AdagradOptions preset(Preset preset);  // blog: eps 0, lr 0.5 (the post's value)
    void validate() const;
};

class Adagrad final : public Optimizer {
public:
    Adagrad(std::vector<Tensor> params, AdagradOptions options);
    using Optimizer::step;  // step(closure) too
    void step() override;
    std::vector<std::string> buffer_names() const override { return {"sum"}; }
    bool capturable() const override { return true; }
    // Steps scaled per coordinate by the gradients' history: no bound from lambda_max.
    std::string divergence_advice(double) const override { return "try a smaller learning rate"; }
    bool has_lr() const override { return true; }
    double lr() const override { return m_options.lr; }
    void set_lr(double lr) override;
    const AdagradOptions& options() const { return m_options; }

private:
    AdagradOptions m_options;
};

}  // namespace descent::optim
