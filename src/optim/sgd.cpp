// Gradient descent with optional momentum / Nesterov (torch.optim.SGD's formulas).
#include "descent/optim/sgd.hpp"

#include <cmath>
#include <sstream>

#include "descent/error.hpp"
#include "optim/elementwise_step.hpp"

namespace descent::optim {

void SgdOptions::validate() const {
    const char* name = momentum > 0 ? "momentum" : "gd";
    detail::require(lr > 0, name, "lr", "> 0", lr);
    detail::require(momentum >= 0 && momentum < 1, name, "momentum", "in [0, 1)", momentum);
    detail::require(dampening >= 0 && dampening <= 1, name, "dampening", "in [0, 1]", dampening);
    detail::require(weight_decay >= 0, name, "weight_decay", ">= 0", weight_decay);
    if (nesterov && (momentum <= 0 || dampening != 0))
        throw Error(std::string(name) + ": nesterov needs momentum > 0 and dampening 0 (got momentum " +
                    std::to_string(momentum) + ", dampening " + std::to_string(dampening) + ")");
}

Sgd::Sgd(std::vector<Tensor> params, SgdOptions options)
    : Optimizer(options.momentum > 0 ? "momentum" : "gd", std::move(params)), m_options(options) {
    m_options.validate();
}

std::vector<std::string> Sgd::buffer_names() const {
    if (m_options.momentum != 0.0) return {"momentum_buffer"};
    return {};
}

void Sgd::step() {
    const bool momentum = m_options.momentum != 0.0;
    detail::elementwise_step(
        m_name, m_params, m_state,
        {detail::BufferSpec{momentum ? "momentum_buffer" : nullptr}, {}, {}},
        [&](std::int64_t step) {
            UpdateStep s;
            s.kind = UpdateKind::sgd;
            s.lr = m_options.lr;
            s.weight_decay = m_options.weight_decay;
            s.momentum = m_options.momentum;
            s.dampening = m_options.dampening;
            s.nesterov = m_options.nesterov;
            s.first_step = step == 1;
            return s;
        });
}

std::string Sgd::divergence_advice(double lambda_max) const {
    // Weight decay adds weight_decay to every eigenvalue of the step's Hessian.
    const SgdOptions& o = m_options;
    const bool known = lambda_max > 0.0 && std::isfinite(lambda_max);
    const double curv = lambda_max + o.weight_decay;
    const std::string of = o.weight_decay > 0 ? "(lambda_max + weight_decay)" : "lambda_max";
    std::ostringstream os;
    if (!known) {
        os << "try a smaller learning rate";
    } else if (o.momentum == 0.0) {
        os << "use a smaller learning rate, below 2/" << of << " = " << 2.0 / curv;
    } else if (o.dampening == 0.0 && !o.nesterov) {
        // torch's heavy ball, v = mu v + g, w -= lr v, is w' = w - lr H w + mu (w - w_prev):
        // along an eigenvalue λ, z^2 - (1 + mu - lr λ) z + mu = 0, whose roots lie inside the
        // unit circle iff 0 < lr λ < 2 (1 + mu).
        os << "use a smaller learning rate, below 2(1 + momentum)/" << of << " = "
           << 2.0 * (1.0 + o.momentum) / curv << " (momentum " << o.momentum << ")";
    } else {
        os << "try a smaller learning rate (for reference, plain gradient descent is stable "
           << "below 2/" << of << " = " << 2.0 / curv << ")";
    }
    return os.str();
}

void Sgd::set_lr(double lr) {
    // 0 is a rate a schedule may reach (cosine annealing to eta_min 0), as torch allows.
    detail::require(lr >= 0 && lr < INFINITY, name().c_str(), "lr", ">= 0 and finite", lr);
    m_options.lr = lr;
}

}  // namespace descent::optim
