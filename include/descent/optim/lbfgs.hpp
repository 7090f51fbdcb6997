// L-BFGS with torch.optim.LBFGS's options and semantics (torch 1.13): step(closure) runs up
// to max_iter iterations of the two-loop recursion over the last history_size curvature pairs,
// with a fixed step (lr, the first iteration min(1, 1/|g|_1) lr) or the strong-Wolfe line
// search (torch's _strong_wolfe with its cubic interpolation), and the same stopping tests in
// the same order (first-order optimality |g|_inf <= tolerance_grad, max_eval closure calls,
// tolerance_change on the step and on the loss). The state (the direction, the step, the
// history, the previous gradient and loss, func_evals and n_iter) carries over between
// step() calls and is saved and restored with state() / load_state(), so a resumed run is
// bitwise the uninterrupted one.
//
// One parameter tensor (of any shape, flattened; torch concatenates several). On CUDA every
// vector stays on the device; per iteration only scalars come back to the host: y·s (the
// curvature test), y·y (the scale H_diag), g·d, max|g|, max|t d| and the loss of the
// re-evaluation (6; on the optimizer's first iteration |g|_1 instead of y·s and y·y), and in
// the line search g·d and the loss for each trial. The two-loop recursion reads nothing back.
//
// Verified against torch.optim.LBFGS 1.13 (tests/reference/fixtures/torch_lbfgs.txt: linear
// MSE, logistic loss and Rosenbrock, f64, with and without the line search, to 1e-9) in
// tests/test_lbfgs.cpp; CPU vs CUDA in the cuda-labelled suite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

enum class LineSearch { none, strong_wolfe };
LineSearch parse_line_search(const std::string& text);  // "none" | "strong-wolfe" (or "strong_wolfe")
const char* line_search_name(LineSearch line_search);

struct LbfgsOptions {
    double lr = 1.0;
    std::int64_t max_iter = 20;
    std::optional<std::int64_t> max_eval;  // unset: max_iter * 5 / 4, as torch
    double tolerance_grad = 1e-7;
    double tolerance_change = 1e-9;
    std::int64_t history_size = 100;
    LineSearch line_search = LineSearch::none;
    std::int64_t effective_max_eval() const { return max_eval ? *max_eval : max_iter * 5 / 4; }
    void validate() const;
};

class Lbfgs final : public Optimizer {
public:
    // Exactly one parameter tensor.
    Lbfgs(std::vector<Tensor> params, LbfgsOptions options);
    // Throws: L-BFGS evaluates the loss at trial points, so it needs step(closure).
    void step() override;
    Tensor step(const Closure& closure) override;
    bool needs_closure() const override { return true; }
    // d, prev_flat_grad, the history old_dirs, old_stps (m, numel) and ro (m), and scalars
    // (t, H_diag, prev_loss, func_evals, n_iter); each present once it exists (the history
    // once a curvature pair was kept).
    std::vector<std::string> buffer_names() const override;
    void load_state(const OptimizerState& state) override;
    std::string divergence_advice(double lambda_max) const override;
    bool has_lr() const override { return true; }
    double lr() const override { return m_options.lr; }
    void set_lr(double lr) override;
    const LbfgsOptions& options() const { return m_options; }

protected:
    void check_buffer(const std::string& name, const Tensor& buffer, std::size_t param) const override;
    Tensor adopt_buffer(const std::string& name, const Tensor& buffer, std::size_t param) const override;

private:
    LbfgsOptions m_options;
};

}  // namespace descent::optim
