// Truncated Newton (Newton-CG, Hessian-free): each step() is one outer iteration of scipy
// 1.10's minimize(method='Newton-CG'): conjugate gradient on H p = -g from p = 0 with
// Hessian-vector products only, stopped when the residual's L1 norm is at most
// min(cg_tol = 0.5, sqrt(|g|_1)) |g|_1, after cg_max_iter (default 20 d) iterations, or at
// non-positive curvature (on the first CG iteration it falls back to the steepest-descent step
// (g·g / -curv) (-g), as scipy does); then the Wolfe line search scipy uses
// (line_search_wolfe1: MINPACK's Moré-Thuente dcsrch, c1 1e-4, c2 0.9, first trial step
// min(1, 2.02 (f_k - f_{k-1}) / g·p) once there is a previous f). Where the issue asked for an
// Armijo backtracking search, descent follows scipy, whose iterates it is checked against.
// The run has converged once an update's L1 norm is at most d * xtol (scipy's rule); later
// steps then change nothing (status() says why).
//
// The Hessian-vector product comes from the caller: descent::hvp of any scalar loss (the
// autodiff), or linear_mse_hvp(X, v) for linear MSE (one read of X, independent of w). The
// loss and gradient come from the closure (torch's convention). The gradient and loss at the
// point the line search accepted are kept for the next step, so an iteration with k CG steps
// costs k HVPs and the line search's evaluations (one when the first trial is accepted).
//
// One parameter tensor (any shape, flattened). On CUDA the vectors stay on the device; per CG
// iteration 3 scalars come back (|r|_1, p·Hp, r·r); per outer iteration 7 (the state's info
// vector, max|x - kept point|, the loss, |g|_1, g·g, g·p, |update|_1) plus the loss and g·p of
// each line-search trial.
//
// Where the MINPACK search fails, scipy's fallback line_search_wolfe2 runs from the same start
// (optim/wolfe2.hpp, checked against scipy's scalar_search_wolfe2 on analytic functions); when
// both fail the run ends (status line_search_failed), as scipy's does (its status 2).
//
// Verified against scipy 1.10.1 (tests/reference/fixtures/scipy_newton_cg.txt: linear MSE,
// logistic loss, Rosenbrock; iterates to 1e-8, CG counts and exits, line-search steps) in
// tests/test_newton_cg.cpp; CPU vs CUDA in the cuda-labelled suite.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct NewtonCgOptions {
    double xtol = 1e-5;                     // converged when sum |update| <= d * xtol
    // unset: 20 d, and reaching it ends the run as in scipy (status cg_not_converged); set: CG
    // is truncated there and the step goes on with its partial solution (truncated Newton).
    std::optional<std::int64_t> cg_max_iter;
    double cg_tol = 0.5;                     // forcing-term cap: |r|_1 <= min(cg_tol, sqrt|g|_1) |g|_1
    void validate() const;
};

enum class NewtonCgStatus {
    running,
    converged,           // the last update was below d * xtol
    cg_not_converged,    // cg_max_iter CG iterations without meeting the residual test
    line_search_failed,  // no step satisfied the Wolfe conditions (precision loss)
};
const char* newton_cg_status_text(NewtonCgStatus status);

class NewtonCG final : public Optimizer {
public:
    using HvpFn = optim::HvpFn;
    // hvp may be empty until set_hvp() (a step without one throws).
    NewtonCG(std::vector<Tensor> params, NewtonCgOptions options, HvpFn hvp);
    bool uses_hvp() const override { return true; }
    void set_hvp(HvpFn hvp) override { m_hvp = std::move(hvp); }
    bool has_hvp() const override { return static_cast<bool>(m_hvp); }
    void step() override;  // throws: needs step(closure)
    Tensor step(const Closure& closure) override;
    bool needs_closure() const override { return true; }
    // "info", 4 f64 values: whether a previous loss exists, that loss (f before the last
    // update, for the first trial step), the status, and the last step's CG iterations.
    std::vector<std::string> buffer_names() const override;
    void load_state(const OptimizerState& state) override;
    const NewtonCgOptions& options() const { return m_options; }
    NewtonCgStatus status() const;
    // CG iterations of the last step (scipy's i), and how CG stopped.
    std::int64_t last_cg_iterations() const { return m_last_cg_iterations; }
    const std::string& last_cg_exit() const { return m_last_cg_exit; }
    // The flat gradient at the point the last step started from (what it stepped on).
    Tensor step_gradient() const override { return m_start_grad; }
    // The loss and gradient kept from the last line search are reused while the parameter
    // stays where it left it; call this when the loss itself changes (other data).
    void forget_evaluations() override;
    std::string stopped_early() const override;
    std::string divergence_advice(double lambda_max) const override;

protected:
    void check_buffer(const std::string& name, const Tensor& buffer, std::size_t param) const override;
    Tensor adopt_buffer(const std::string& name, const Tensor& buffer, std::size_t param) const override;

private:
    NewtonCgOptions m_options;
    HvpFn m_hvp;
    // The loss and flat gradient at m_cached_x (the point the last line search accepted):
    // reused by the next step when the parameter is still there. Not part of the state: a
    // resumed run recomputes them with one closure call, to the same values.
    Tensor m_cached_x, m_cached_grad, m_cached_loss, m_start_grad;
    std::int64_t m_last_cg_iterations = 0;
    std::string m_last_cg_exit;
};

}  // namespace descent::optim
