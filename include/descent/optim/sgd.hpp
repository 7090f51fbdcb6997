// Gradient descent, with optional momentum (heavy ball or Nesterov), as torch.optim.SGD.
// The blog's "Momentum" is momentum = its decay rate, dampening 0: the two are identical.
#pragma once

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct SgdOptions {
    double lr = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
    void validate() const;  // throws descent::Error naming the bad option
};

class Sgd final : public Optimizer {
public:
    Sgd(std::vector<Tensor> params, SgdOptions options);
    using Optimizer::step;  // step(closure) too
    void step() override;
    std::vector<std::string> buffer_names() const override;
    bool capturable() const override { return true; }
    std::string divergence_advice(double lambda_max) const override;
    bool has_lr() const override { return true; }
    double lr() const override { return m_options.lr; }
    void set_lr(double lr) override;
    const SgdOptions& options() const { return m_options; }

private:
    SgdOptions m_options;
};

}  // namespace descent::optim
