// Adam / AdamW (blog formula or torch.optim's). Bias corrections are computed here, on the
// host, once per step, exactly as torch does: 1 - beta^step with C's pow.
#include "descent/optim/adam.hpp"

#include <cmath>

#include "optim/elementwise_step.hpp"

namespace descent::optim {

AdamOptions AdamOptions::preset(Preset preset) {
    AdamOptions o;
    if (preset == Preset::blog) {
        o.lr = 0.1;
        o.beta1 = 0.9;
        o.beta2 = 0.99;
        o.eps = 0.0;
        o.bias_correction = false;
        o.blog_formula = true;
    }
    return o;
}

void AdamOptions::validate() const {
    const char* name = decoupled_weight_decay ? "adamw" : "adam";
    detail::require(lr > 0, name, "lr", "> 0", lr);
    detail::require(beta1 >= 0 && beta1 < 1, name, "beta1", "in [0, 1)", beta1);
    detail::require(beta2 >= 0 && beta2 < 1, name, "beta2", "in [0, 1)", beta2);
    detail::require(eps >= 0, name, "eps", ">= 0", eps);
    detail::require(weight_decay >= 0, name, "weight_decay", ">= 0", weight_decay);
}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Optimizer(options.decoupled_weight_decay ? "adamw" : "adam", std::move(params)),
      m_options(options) {
    m_options.validate();
}

std::vector<std::string> Adam::buffer_names() const {
    std::vector<std::string> names{"exp_avg", "exp_avg_sq"};
    if (m_options.amsgrad) names.push_back("max_exp_avg_sq");
    return names;
}

void Adam::step() {
    const detail::BufferSpec max_sq{m_options.amsgrad ? "max_exp_avg_sq" : nullptr};
    detail::elementwise_step(
        m_name, m_params, m_state,
        {detail::BufferSpec{"exp_avg"}, detail::BufferSpec{"exp_avg_sq"}, max_sq},
        [&](std::int64_t step_count) {
            const AdamOptions& o = m_options;
            UpdateStep s;
            s.kind = UpdateKind::adam;
            s.blog = o.blog_formula;
            s.beta1 = o.beta1;
            s.beta2 = o.beta2;
            s.eps = o.eps;
            s.amsgrad = o.amsgrad;
            if (o.decoupled_weight_decay) {
                s.decay_factor = 1.0 - o.lr * o.weight_decay;
            } else {
                s.weight_decay = o.weight_decay;
            }
            s.lr = o.lr;
            if (o.bias_correction) {
                const double step = double(step_count);
                s.lr = o.lr / (1.0 - std::pow(o.beta1, step));
                s.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(o.beta2, step));
            }
            return s;
        });
}

void Adam::set_lr(double lr) {
    // 0 is a rate a schedule may reach (cosine annealing to eta_min 0), as torch allows.
    detail::require(lr >= 0 && lr < INFINITY, name().c_str(), "lr", ">= 0 and finite", lr);
    m_options.lr = lr;
}

}  // namespace descent::optim
