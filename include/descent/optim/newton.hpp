// Newton's method: w -= lr (H + damping I)^-1 g, solved by Cholesky factorisation. The
// Hessian comes from set_hessian() (the trainer passes the one-pass linear_mse Hessian) or a
// callback. A matrix that is not positive definite is refused with a hint to add damping.
// Verified against the blog's numpy Newton (np.linalg.inv) in tests/test_optim_blog.cpp.
#pragma once

#include <functional>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct NewtonOptions {
    double lr = 1.0;
    double damping = 0.0;  // lambda in H + lambda I
    void validate() const;
};

class Newton final : public Optimizer {
public:
    using HessianFn = std::function<Tensor()>;
    // Exactly one parameter: a vector w of d entries; H is (d, d).
    Newton(std::vector<Tensor> params, NewtonOptions options, HessianFn hessian = {});
    // Uses the Hessian given by set_hessian() since the last step, else the callback. A step
    // that throws (no Hessian, a wrong shape, not positive definite) changes nothing: the
    // weights, the step count and a Hessian given by set_hessian() stay as they were.
    using Optimizer::step;  // step(closure) too
    void step() override;
    void set_hessian(const Tensor& hessian) override;
    bool needs_hessian() const override { return true; }
    std::string divergence_advice(double lambda_max) const override;
    bool has_lr() const override { return true; }
    double lr() const override { return m_options.lr; }
    void set_lr(double lr) override;
    const NewtonOptions& options() const { return m_options; }

private:
    NewtonOptions m_options;
    HessianFn m_hessian_fn;
    Tensor m_hessian;
};

}  // namespace descent::optim
