// RMSProp (blog formula or torch.optim.RMSprop with centered / momentum).
#include "descent/optim/rmsprop.hpp"

#include <cmath>

#include "optim/elementwise_step.hpp"

namespace descent::optim {

RmsPropOptions RmsPropOptions::preset(Preset preset) {
    RmsPropOptions o;
    if (preset == Preset::blog) {
        o.lr = 0.1;
        o.alpha = 0.99;
        o.eps = 0.0;
        o.blog_formula = true;
    }
    return o;
}

void RmsPropOptions::validate() const {
    detail::require(lr > 0, "rmsprop", "lr", "> 0", lr);
    detail::require(alpha >= 0 && alpha < 1, "rmsprop", "alpha (decay)", "in [0, 1)", alpha);
    detail::require(eps >= 0, "rmsprop", "eps", ">= 0", eps);
    detail::require(weight_decay >= 0, "rmsprop", "weight_decay", ">= 0", weight_decay);
    detail::require(momentum >= 0 && momentum < 1, "rmsprop", "momentum", "in [0, 1)", momentum);
}

RmsProp::RmsProp(std::vector<Tensor> params, RmsPropOptions options)
    : Optimizer("rmsprop", std::move(params)), m_options(options) {
    m_options.validate();
}

std::vector<std::string> RmsProp::buffer_names() const {
    std::vector<std::string> names{"square_avg"};
    if (m_options.momentum > 0) names.push_back("momentum_buffer");
    if (m_options.centered) names.push_back("grad_avg");
    return names;
}

void RmsProp::step() {
    const detail::BufferSpec square{"square_avg"};
    const detail::BufferSpec buf{m_options.momentum > 0 ? "momentum_buffer" : nullptr};
    const detail::BufferSpec grad_avg{m_options.centered ? "grad_avg" : nullptr};
    detail::elementwise_step(m_name, m_params, m_state, {square, buf, grad_avg},
                             [&](std::int64_t) {
        UpdateStep s;
        s.kind = UpdateKind::rmsprop;
        s.blog = m_options.blog_formula;
        s.lr = m_options.lr;
        s.alpha = m_options.alpha;
        s.eps = m_options.eps;
        s.weight_decay = m_options.weight_decay;
        s.momentum = m_options.momentum;
        s.centered = m_options.centered;
        return s;
    });
}

void RmsProp::set_lr(double lr) {
    // 0 is a rate a schedule may reach (cosine annealing to eta_min 0), as torch allows.
    detail::require(lr >= 0 && lr < INFINITY, name().c_str(), "lr", ">= 0 and finite", lr);
    m_options.lr = lr;
}

}  // namespace descent::optim
