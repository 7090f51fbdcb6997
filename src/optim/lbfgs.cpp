// L-BFGS, a port of torch 1.13's torch/optim/lbfgs.py (LBFGS.step, _strong_wolfe,
// _cubic_interpolate) on descent tensors: vectors stay on the parameter's device, the scalars
// that steer the control flow are read back (lbfgs.hpp counts them). Each block names the
// part of torch's code it follows.
#include "descent/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "optim/elementwise_step.hpp"
#include "optim/vector_ops.hpp"
#include "text.hpp"

namespace descent::optim {

LineSearch parse_line_search(const std::string& text) {
    if (text == "none") return LineSearch::none;
    if (text == "strong-wolfe" || text == "strong_wolfe") return LineSearch::strong_wolfe;
    throw Error("unknown line search '" + descent::detail::shown_field(text) +
                "' (expected none or strong-wolfe)");
}

const char* line_search_name(LineSearch line_search) {
    return line_search == LineSearch::none ? "none" : "strong-wolfe";
}

void LbfgsOptions::validate() const {
    detail::require(lr > 0, "lbfgs", "lr", "> 0", lr);
    detail::require(max_iter >= 1, "lbfgs", "max_iter", ">= 1", double(max_iter));
    detail::require(effective_max_eval() >= 1, "lbfgs", "max_eval", ">= 1",
                    double(effective_max_eval()));
    detail::require(tolerance_grad >= 0, "lbfgs", "tolerance_grad", ">= 0", tolerance_grad);
    detail::require(tolerance_change >= 0, "lbfgs", "tolerance_change", ">= 0", tolerance_change);
    detail::require(history_size >= 1, "lbfgs", "history_size", ">= 1", double(history_size));
}

namespace {

using detail::abs_max;
using detail::dot;

// torch's _cubic_interpolate: the minimiser of the cubic through (x1, f1, g1), (x2, f2, g2),
// clamped to the bounds (default: the interval), or the bounds' midpoint without a real one.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         const std::pair<double, double>* bounds = nullptr) {
    double xmin_bound, xmax_bound;
    if (bounds != nullptr) {
        xmin_bound = bounds->first;
        xmax_bound = bounds->second;
    } else if (x1 <= x2) {
        xmin_bound = x1;
        xmax_bound = x2;
    } else {
        xmin_bound = x2;
        xmax_bound = x1;
    }
    const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    const double d2_square = d1 * d1 - g1 * g2;
    if (d2_square >= 0) {
        const double d2 = std::sqrt(d2_square);
        double min_pos;
        if (x1 <= x2) {
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
        } else {
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        }
        return std::min(std::max(min_pos, xmin_bound), xmax_bound);
    }
    return (xmin_bound + xmax_bound) / 2.;
}

// The loss and the flat gradient at x + t d (the parameter is put back to x afterwards).
struct Evaluation {
    double loss;
    Tensor grad;
};
using DirectionalEvaluate = std::function<Evaluation(double t)>;

struct LineSearchResult {
    double loss;
    Tensor grad;
    double t;
    std::int64_t func_evals;
};

// torch's _strong_wolfe (c1 1e-4, c2 0.9, max_ls 25).
LineSearchResult strong_wolfe(const DirectionalEvaluate& obj_func, double t, const Tensor& d,
                              double f, const Tensor& g, double gtd, double tolerance_change) {
    constexpr double c1 = 1e-4, c2 = 0.9;
    constexpr std::int64_t max_ls = 25;
    const double d_norm = abs_max(d);
    Evaluation e = obj_func(t);
    double f_new = e.loss;
    Tensor g_new = e.grad;
    std::int64_t ls_func_evals = 1;
    double gtd_new = dot(g_new, d);

    // Bracket an interval containing a point satisfying the Wolfe criteria.
    double t_prev = 0, f_prev = f, gtd_prev = gtd;
    Tensor g_prev = g;
    bool done = false;
    std::int64_t ls_iter = 0;
    std::vector<double> bracket, bracket_f, bracket_gtd;
    std::vector<Tensor> bracket_g;
    while (ls_iter < max_ls) {
        if (f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev)) {
            bracket = {t_prev, t};
            bracket_f = {f_prev, f_new};
            bracket_g = {g_prev, g_new};
            bracket_gtd = {gtd_prev, gtd_new};
            break;
        }
        if (std::abs(gtd_new) <= -c2 * gtd) {
            bracket = {t};
            bracket_f = {f_new};
            bracket_g = {g_new};
            done = true;
            break;
        }
        if (gtd_new >= 0) {
            bracket = {t_prev, t};
            bracket_f = {f_prev, f_new};
            bracket_g = {g_prev, g_new};
            bracket_gtd = {gtd_prev, gtd_new};
            break;
        }
        // interpolate
        const double min_step = t + 0.01 * (t - t_prev);
        const double max_step = t * 10;
        const double tmp = t;
        const std::pair<double, double> bounds{min_step, max_step};
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, &bounds);
        // next step
        t_prev = tmp;
        f_prev = f_new;
        g_prev = g_new;
        gtd_prev = gtd_new;
        e = obj_func(t);
        f_new = e.loss;
        g_new = e.grad;
        ls_func_evals += 1;
        gtd_new = dot(g_new, d);
        ls_iter += 1;
    }
    // reached max number of iterations?
    if (ls_iter == max_ls) {
        bracket = {0, t};
        bracket_f = {f, f_new};
        bracket_g = {g, g_new};
    }

    // Zoom: refine the bracket until a point satisfies the criteria.
    bool insuf_progress = false;
    std::size_t low_pos = 0, high_pos = 1;
    if (!(bracket_f[0] <= bracket_f.back())) std::swap(low_pos, high_pos);
    while (!done && ls_iter < max_ls) {
        // line-search bracket is so small
        if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
        // compute new trial value
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                              bracket_gtd[1]);
        // Sufficient progress: a t within 10% of the bracket's length of one end is moved
        // there when the last step also made too little progress or t is at or past an end.
        const double b_max = std::max(bracket[0], bracket[1]);
        const double b_min = std::min(bracket[0], bracket[1]);
        const double eps = 0.1 * (b_max - b_min);
        if (std::min(b_max - t, t - b_min) < eps) {
            if (insuf_progress || t >= b_max || t <= b_min) {
                if (std::abs(t - b_max) < std::abs(t - b_min)) {
                    t = b_max - eps;
                } else {
                    t = b_min + eps;
                }
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }
        // Evaluate new point
        e = obj_func(t);
        f_new = e.loss;
        g_new = e.grad;
        ls_func_evals += 1;
        gtd_new = dot(g_new, d);
        ls_iter += 1;

        if (f_new > (f + c1 * t * gtd) || f_new >= bracket_f[low_pos]) {
            // Armijo condition not satisfied or not lower than lowest point
            bracket[high_pos] = t;
            bracket_f[high_pos] = f_new;
            bracket_g[high_pos] = g_new;
            bracket_gtd[high_pos] = gtd_new;
            if (bracket_f[0] <= bracket_f[1]) {
                low_pos = 0;
                high_pos = 1;
            } else {
                low_pos = 1;
                high_pos = 0;
            }
        } else {
            if (std::abs(gtd_new) <= -c2 * gtd) {
                done = true;  // Wolfe conditions satisfied
            } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
                // old high becomes new low
                bracket[high_pos] = bracket[low_pos];
                bracket_f[high_pos] = bracket_f[low_pos];
                bracket_g[high_pos] = bracket_g[low_pos];
                bracket_gtd[high_pos] = bracket_gtd[low_pos];
            }
            // new point becomes new low
            bracket[low_pos] = t;
            bracket_f[low_pos] = f_new;
            bracket_g[low_pos] = g_new;
            bracket_gtd[low_pos] = gtd_new;
        }
    }
    // A one-point bracket (done in the first phase) has low_pos 0.
    if (bracket.size() == 1) low_pos = 0;
    return {bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals};
}

}  // namespace

Lbfgs::Lbfgs(std::vector<Tensor> params, LbfgsOptions options)
    : Optimizer("lbfgs", std::move(params)), m_options(options) {
    m_options.validate();
    // Several parameters are one flat vector (torch's LBFGS), its state kept with the first.
    if (m_params.empty()) throw Error("lbfgs: needs at least one parameter tensor");
    for (const Tensor& p : m_params)
        if (p.dtype() != m_params[0].dtype() || p.device() != m_params[0].device())
            throw Error("lbfgs: the parameters must share one dtype and device (they are one "
                        "flat vector); got " + descent::detail::describe(m_params[0]) + " and " +
                        descent::detail::describe(p));
}

void Lbfgs::step() {
    throw Error("lbfgs: evaluates the loss at trial points, so it needs step(closure): a "
                "function that recomputes the loss and the gradient at the current parameters");
}

std::vector<std::string> Lbfgs::buffer_names() const {
    return {"d", "prev_flat_grad", "old_dirs", "old_stps", "ro", "scalars"};
}

namespace {

// The scalars buffer: t, H_diag, prev_loss, func_evals, n_iter (f64, so a resumed run has the
// same values whatever the parameter's dtype).
enum Scalar { kT, kHDiag, kPrevLoss, kFuncEvals, kNIter, kScalars };

}  // namespace

Tensor Lbfgs::step(const Closure& closure) {
    if (!closure) throw Error("lbfgs: step(closure) needs a closure");
    const LbfgsOptions& o = m_options;
    const std::int64_t max_eval = o.effective_max_eval();
    const Device device = m_params[0].device();

    // The state, as locals: committed only when the step succeeds (strong guarantee; the
    // parameter is restored when the closure throws).
    ParamState& ps = m_state[0];
    std::vector<double> scalars(kScalars, 0.0);
    if (ps.buffers.count("scalars")) scalars = ps.buffers.at("scalars").to_vector<double>();
    Tensor d = ps.buffers.count("d") ? ps.buffers.at("d") : Tensor();
    Tensor prev_flat_grad = ps.buffers.count("prev_flat_grad") ? ps.buffers.at("prev_flat_grad") : Tensor();
    std::vector<Tensor> old_dirs, old_stps;
    std::vector<double> ro;
    if (ps.buffers.count("old_dirs")) {
        old_dirs = detail::unstack_rows(ps.buffers.at("old_dirs"));
        old_stps = detail::unstack_rows(ps.buffers.at("old_stps"));
        ro = ps.buffers.at("ro").to_vector<double>();
    }
    double t = scalars[kT], H_diag = scalars[kHDiag], prev_loss = scalars[kPrevLoss];
    std::int64_t func_evals = std::int64_t(scalars[kFuncEvals]);
    std::int64_t state_n_iter = std::int64_t(scalars[kNIter]);

    const Tensor p_before = detail::gather_flat(m_params);
    Tensor orig_loss;
    // The closure, with grad mode on: the loss (read back) and a copy of the flat gradient.
    const auto evaluate = [&]() -> Evaluation {
        const detail::ClosureValue v = detail::evaluate_closure("lbfgs", closure, m_params);
        if (!orig_loss.defined()) orig_loss = v.loss;
        return {v.loss.item(), v.grad};
    };
    try {
        // evaluate initial f(x) and df/dx
        Evaluation first = evaluate();
        double loss = first.loss;
        Tensor flat_grad = first.grad;
        std::int64_t current_evals = 1;
        func_evals += 1;
        bool opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
        if (!opt_cond) {
            std::int64_t n_iter = 0;
            while (n_iter < o.max_iter) {
                n_iter += 1;
                state_n_iter += 1;

                // compute gradient descent direction
                if (state_n_iter == 1) {
                    d = neg(flat_grad);
                    old_dirs.clear();
                    old_stps.clear();
                    ro.clear();
                    H_diag = 1;
                } else {
                    // do lbfgs update (update memory)
                    const Tensor y = flat_grad - prev_flat_grad;
                    const Tensor s = d * t;
                    const double ys = dot(y, s);
                    if (ys > 1e-10) {
                        if (std::int64_t(old_dirs.size()) == o.history_size) {
                            old_dirs.erase(old_dirs.begin());
                            old_stps.erase(old_stps.begin());
                            ro.erase(ro.begin());
                        }
                        old_dirs.push_back(y);
                        old_stps.push_back(s);
                        ro.push_back(1. / ys);
                        H_diag = ys / dot(y, y);
                    }
                    // The two-loop recursion, al_i kept on the device (no read-back).
                    const std::size_t num_old = old_dirs.size();
                    std::vector<Tensor> al(num_old);
                    Tensor q = neg(flat_grad);
                    for (std::size_t k = num_old; k-- > 0;) {
                        al[k] = sum(old_stps[k] * q) * ro[k];
                        q = q - old_dirs[k] * al[k];
                    }
                    Tensor r = q * H_diag;
                    for (std::size_t k = 0; k < num_old; ++k) {
                        const Tensor be_k = sum(old_dirs[k] * r) * ro[k];
                        r = r + old_stps[k] * (al[k] - be_k);
                    }
                    d = r;
                }
                prev_flat_grad = flat_grad;
                prev_loss = loss;

                // compute step length
                if (state_n_iter == 1) {
                    t = std::min(1., 1. / detail::abs_sum(flat_grad)) * o.lr;
                } else {
                    t = o.lr;
                }
                // directional derivative
                const double gtd = dot(flat_grad, d);
                if (gtd > -o.tolerance_change) break;

                std::int64_t ls_func_evals = 0;
                if (o.line_search == LineSearch::strong_wolfe) {
                    const Tensor x_init = detail::gather_flat(m_params);
                    const DirectionalEvaluate obj_func = [&](double step) {
                        detail::set_along(m_params, x_init, step, d);
                        Evaluation e = evaluate();
                        detail::scatter_flat(m_params, x_init);  // back to x (_set_param)
                        return e;
                    };
                    // torch calls _strong_wolfe with its default tolerance_change (1e-9),
                    // not the optimizer's.
                    LineSearchResult ls = strong_wolfe(obj_func, t, d, loss, flat_grad, gtd, 1e-9);
                    loss = ls.loss;
                    flat_grad = ls.grad;
                    t = ls.t;
                    ls_func_evals = ls.func_evals;
                    detail::set_along(m_params, x_init, t, d);
                    opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
                } else {
                    // no line search, simply move with fixed-step
                    detail::set_along(m_params, detail::gather_flat(m_params), t, d);
                    if (n_iter != o.max_iter) {
                        // re-evaluate function only if not in last iteration
                        const Evaluation e = evaluate();
                        loss = e.loss;
                        flat_grad = e.grad;
                        opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
                        ls_func_evals = 1;
                    }
                }
                current_evals += ls_func_evals;
                func_evals += ls_func_evals;

                // check conditions
                if (n_iter == o.max_iter) break;
                if (current_evals >= max_eval) break;
                if (opt_cond) break;
                if (abs_max(d * t) <= o.tolerance_change) break;  // lack of progress
                if (std::abs(loss - prev_loss) < o.tolerance_change) break;
            }
        }
    } catch (...) {
        detail::scatter_flat(m_params, p_before);
        throw;
    }

    // Commit the state.
    ParamState next{ps.step + 1, {}};
    next.buffers = ps.buffers;
    if (d.defined()) next.buffers["d"] = d;
    if (prev_flat_grad.defined()) next.buffers["prev_flat_grad"] = prev_flat_grad;
    if (!old_dirs.empty()) {
        next.buffers["old_dirs"] = detail::stack_rows(old_dirs);
        next.buffers["old_stps"] = detail::stack_rows(old_stps);
        next.buffers["ro"] = from_vector(ro, {std::int64_t(ro.size())}, DType::f64, device);
    } else {
        next.buffers.erase("old_dirs");
        next.buffers.erase("old_stps");
        next.buffers.erase("ro");
    }
    next.buffers["scalars"] = from_vector(
        std::vector<double>{t, H_diag, prev_loss, double(func_evals), double(state_n_iter)},
        {kScalars}, DType::f64, device);
    m_state[0] = std::move(next);
    return orig_loss;
}

void Lbfgs::check_buffer(const std::string& name, const Tensor& buffer, std::size_t) const {
    std::int64_t n = 0;  // the flat vector's length
    for (const Tensor& p : m_params) n += p.numel();
    const auto refuse = [&](const std::string& expected) {
        throw Error("load_state: lbfgs buffer '" + name + "' is " +
                    descent::detail::describe(buffer) + ", expected " + expected);
    };
    if (!buffer.defined()) refuse("a tensor");
    if (name == "d" || name == "prev_flat_grad") {
        if (buffer.shape() != Shape{n}) refuse("(" + std::to_string(n) + ")");
    } else if (name == "old_dirs" || name == "old_stps") {
        if (buffer.dim() != 2 || buffer.shape()[1] != n || buffer.shape()[0] < 1 ||
            buffer.shape()[0] > m_options.history_size)
            refuse("(m, " + std::to_string(n) + ") with 1 <= m <= history_size " +
                   std::to_string(m_options.history_size));
    } else if (name == "ro") {
        if (buffer.dim() != 1 || buffer.shape()[0] < 1 || buffer.shape()[0] > m_options.history_size)
            refuse("(m) with 1 <= m <= history_size");
    } else if (name == "scalars") {
        if (buffer.shape() != Shape{kScalars}) refuse("(5): t, H_diag, prev_loss, func_evals, n_iter");
    }
}

Tensor Lbfgs::adopt_buffer(const std::string& name, const Tensor& buffer, std::size_t) const {
    const Tensor& p = m_params[0];
    const DType dtype = name == "scalars" || name == "ro" ? DType::f64 : p.dtype();
    return buffer.to(p.device()).to(dtype).detach().clone();
}

void Lbfgs::load_state(const OptimizerState& state) {
    if (state.optimizer != m_name)
        throw Error("load_state: state of '" + state.optimizer + "' given to '" + m_name + "'");
    if (state.params.size() != m_params.size())
        throw Error("load_state: lbfgs has " + std::to_string(m_params.size()) +
                    " parameter(s), the state has " + std::to_string(state.params.size()));
    for (std::size_t i = 1; i < state.params.size(); ++i)
        if (!state.params[i].buffers.empty())
            throw Error("load_state: lbfgs keeps its state with the first parameter; parameter " +
                        std::to_string(i) + " has buffers");
    const ParamState& ps = state.params[0];
    if (ps.step < 0) throw Error("load_state: negative step count");
    const std::vector<std::string> names = buffer_names();
    for (const auto& [name, buffer] : ps.buffers) {
        if (std::find(names.begin(), names.end(), name) == names.end())
            throw Error("load_state: lbfgs keeps no buffer '" + name + "'");
        check_buffer(name, buffer, 0);
    }
    if (ps.step > 0 && !ps.buffers.count("scalars"))
        throw Error("load_state: lbfgs has taken " + std::to_string(ps.step) +
                    " steps but its 'scalars' buffer is missing");
    {
        // The history buffers come together or not at all, with one row count.
        const auto& b = ps.buffers;
        const bool any = b.count("old_dirs") || b.count("old_stps") || b.count("ro");
        const bool all = b.count("old_dirs") && b.count("old_stps") && b.count("ro");
        if (any && !all)
            throw Error("load_state: lbfgs history is incomplete (old_dirs, old_stps and ro go together)");
        if (all && (b.at("old_dirs").dim() < 1 || b.at("old_stps").dim() < 1 || b.at("ro").dim() < 1 ||
                    b.at("old_dirs").shape()[0] != b.at("old_stps").shape()[0] ||
                    b.at("old_dirs").shape()[0] != b.at("ro").shape()[0]))
            throw Error("load_state: lbfgs history old_dirs, old_stps and ro differ in length");
    }
    ParamState loaded{ps.step, {}};
    for (const auto& [name, buffer] : ps.buffers) loaded.buffers[name] = adopt_buffer(name, buffer, 0);
    m_state[0] = std::move(loaded);
}

std::string Lbfgs::divergence_advice(double) const {
    std::ostringstream os;
    os << "L-BFGS with a fixed step (lr " << m_options.lr << ", line search "
       << line_search_name(m_options.line_search)
       << ") can overshoot: use --line-search strong-wolfe or a smaller lr";
    return os.str();
}

void Lbfgs::set_lr(double lr) {
    // 0 is a rate a schedule may reach (cosine annealing to eta_min 0), as torch allows.
    detail::require(lr >= 0 && lr < INFINITY, name().c_str(), "lr", ">= 0 and finite", lr);
    m_options.lr = lr;
}

}  // namespace descent::optim
