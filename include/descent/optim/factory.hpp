// Builds an optimizer from a name, a preset and optional per-option overrides, the way the CLI
// and the examples choose one. Preset defaults are the blog post's settings (blog) or
// torch.optim's defaults (torch). Verified by tests/test_optim_api.cpp and the CLI tests.
#pragma once

#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

struct OptimizerConfig {
    // gd | newton | momentum | adagrad | rmsprop | adam | adamw | newton-cg | lbfgs
    std::string name = "gd";
    Preset preset = Preset::torch;
    // Unset options take the preset's default; setting one that does not apply to `name`
    // is an error (so a typo'd experiment fails loudly instead of silently ignoring a flag).
    std::optional<double> lr, momentum, dampening, alpha, beta1, beta2, eps, weight_decay,
        damping, lr_decay, initial_accumulator_value;
    std::optional<bool> nesterov, centered, amsgrad;
    // newton-cg: CG's iteration limit (20 d), the cap on its forcing term (0.5, scipy's
    // constant: residual <= min(cg_tol, sqrt|g|_1) |g|_1) and the update tolerance xtol.
    std::optional<std::int64_t> cg_max_iter;
    std::optional<double> cg_tol, xtol;
    // lbfgs (torch.optim.LBFGS's names): iterations and closure calls per step, history,
    // line search, tolerances.
    std::optional<std::int64_t> max_iter, max_eval, history_size;
    std::optional<std::string> line_search;  // none | strong-wolfe
    std::optional<double> tolerance_grad, tolerance_change;
};

// The accepted names, in the blog's order, then the curvature methods (newton-cg, lbfgs).
const std::vector<std::string>& optimizer_names();

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, std::vector<Tensor> params);

// The effective hyperparameters of `config` (defaults filled in), in a stable order, for
// reports: e.g. {{"lr", 0.1}, {"beta1", 0.9}, {"beta2", 0.99}, {"eps", 0}}.
std::vector<std::pair<std::string, double>> effective_hyperparameters(const OptimizerConfig& config);

// The blog post's six runs (seven configs: Newton appears with lr 0.1 and 1.0), blog preset.
std::vector<OptimizerConfig> blog_configs();
// The extra rows `descent blog` adds, not in the post: newton-cg and lbfgs (strong Wolfe).
std::vector<OptimizerConfig> blog_extra_configs();

}  // namespace descent::optim
