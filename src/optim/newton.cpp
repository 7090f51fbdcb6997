// Newton's method: w -= lr (H + damping I)^-1 g via Cholesky (solve_spd), on the weights'
// device: in double on the CPU, with cuSOLVER (in the weights' dtype) on a GPU.
#include "descent/optim/newton.hpp"

#include <cmath>

#include <sstream>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "descent/solve.hpp"
#include "dispatch.hpp"
#include "optim/elementwise_step.hpp"

namespace descent::optim {

void NewtonOptions::validate() const {
    detail::require(lr > 0, "newton", "lr", "> 0", lr);
    detail::require(damping >= 0, "newton", "damping", ">= 0", damping);
}

Newton::Newton(std::vector<Tensor> params, NewtonOptions options, HessianFn hessian)
    : Optimizer("newton", std::move(params)), m_options(options), m_hessian_fn(std::move(hessian)) {
    m_options.validate();
    if (m_params.size() != 1 || m_params[0].dim() != 1)
        throw Error("newton: needs exactly one parameter, a vector of d weights; got " +
                    std::to_string(m_params.size()) + " parameter(s), the first " +
                    descent::detail::describe(m_params[0]));
}

void Newton::set_hessian(const Tensor& hessian) { m_hessian = hessian; }

void Newton::step() {
    // Everything that can fail (the Hessian, its shape, the solve, the new weights) comes
    // before the one in-place write, so a step that throws leaves the weights, the step count
    // and the Hessian given by set_hessian() as they were (strong guarantee).
    Tensor& w = m_params[0];
    const Tensor g = w.grad();
    if (!g.defined()) return;
    if (g.shape() != w.shape() || g.dtype() != w.dtype() || g.device() != w.device())
        throw Error("newton: the gradient is " + descent::detail::describe(g) +
                    ", the weights are " + descent::detail::describe(w));
    const std::int64_t d = w.numel();
    const Tensor H = m_hessian.defined() ? m_hessian : (m_hessian_fn ? m_hessian_fn() : Tensor());
    if (!H.defined())
        throw Error("newton: no Hessian for this step; pass one with set_hessian() or a callback");
    if (H.shape() != Shape{d, d})
        throw Error("newton: Hessian " + descent::detail::describe(H) + " does not match " +
                    std::to_string(d) + " weights (expected (" + std::to_string(d) + ", " +
                    std::to_string(d) + "))");

    const Tensor x = solve_spd(H, g, m_options.damping, "newton");
    NoGrad no_grad;
    const Tensor updated = w - x * m_options.lr;  // the blog: w -= lr * (H^-1 g)
    w.copy_(updated);
    m_hessian = Tensor();
    ++m_state[0].step;
}

std::string Newton::divergence_advice(double) const {
    // Newton's error on a quadratic loss is multiplied by 1 - lr every step (by
    // 1 - lr λ/(λ + damping) along each eigenvector with damping).
    std::ostringstream os;
    os << "Newton's step on this quadratic loss is stable for lr in (0, 2) (lr is " << m_options.lr
       << "); add damping (solve (H + damping I) instead of H, damping is " << m_options.damping
       << "), which also steadies a nearly singular Hessian";
    return os.str();
}

void Newton::set_lr(double lr) {
    // 0 is a rate a schedule may reach (cosine annealing to eta_min 0), as torch allows.
    detail::require(lr >= 0 && lr < INFINITY, name().c_str(), "lr", ">= 0 and finite", lr);
    m_options.lr = lr;
}

}  // namespace descent::optim
