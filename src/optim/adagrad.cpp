// AdaGrad (blog formula or torch.optim.Adagrad).
#include "descent/optim/adagrad.hpp"

#include <cmath>

#include "optim/elementwise_step.hpp"

namespace descent::optim {

AdagradOptions AdagradOptions::preset(Preset preset) {
    AdagradOptions o;
    if (preset == Preset::blog) {
        o.lr = 0.5;
        o.eps = 0.0;
        o.blog_formula = true;
    }
    return o;
}

void AdagradOptions::validate() const {
    detail::require(lr > 0, "adagrad", "lr", "> 0", lr);
    detail::require(lr_decay >= 0, "adagrad", "lr_decay", ">= 0", lr_decay);
    detail::require(weight_decay >= 0, "adagrad", "weight_decay", ">= 0", weight_decay);
    detail::require(initial_accumulator_value >= 0, "adagrad", "initial_accumulator_value", ">= 0",
                    initial_accumulator_value);
    detail::require(eps >= 0, "adagrad", "eps", ">= 0", eps);
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Optimizer("adagrad", std::move(params)), m_options(options) {
    m_options.validate();
}

void Adagrad::step() {
    detail::elementwise_step(
        m_name, m_params, m_state,
        {detail::BufferSpec{"sum", m_options.initial_accumulator_value}, {}, {}},
        [&](std::int64_t step) {
            UpdateStep s;
            s.kind = UpdateKind::adagrad;
            s.blog = m_options.blog_formula;
            s.lr = m_options.lr / (1.0 + double(step - 1) * m_options.lr_decay);
            s.weight_decay = m_options.weight_decay;
            s.eps = m_options.eps;
            return s;
        });
}

void Adagrad::set_lr(double lr) {
    // 0 is a rate a schedule may reach (cosine annealing to eta_min 0), as torch allows.
    detail::require(lr >= 0 && lr < INFINITY, name().c_str(), "lr", ">= 0 and finite", lr);
    m_options.lr = lr;
}

}  // namespace descent::optim
