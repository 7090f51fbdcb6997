// Newton-CG, a port of scipy 1.10.1's _minimize_newtoncg (scipy/optimize/_optimize.py) and of
// the line search it calls (_line_search_wolfe12 -> line_search_wolfe1 -> scalar_search_wolfe1
// -> MINPACK dcsrch, optim/dcsrch.cpp), one outer iteration per step(). The float operations
// follow scipy's expressions in order.
#include "descent/optim/newton_cg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "optim/dcsrch.hpp"
#include "optim/elementwise_step.hpp"
#include "optim/vector_ops.hpp"
#include "optim/wolfe2.hpp"

namespace descent::optim {

void NewtonCgOptions::validate() const {
    detail::require(xtol > 0, "newton-cg", "xtol", "> 0", xtol);
    detail::require(cg_tol > 0 && cg_tol < 1, "newton-cg", "cg_tol", "in (0, 1)", cg_tol);
    if (cg_max_iter)
        detail::require(*cg_max_iter >= 1, "newton-cg", "cg_max_iter", ">= 1", double(*cg_max_iter));
}

const char* newton_cg_status_text(NewtonCgStatus status) {
    switch (status) {
        case NewtonCgStatus::running: return "running";
        case NewtonCgStatus::converged: return "converged (the update's L1 norm is at most d * xtol)";
        case NewtonCgStatus::cg_not_converged:
            return "CG did not converge in cg_max_iter iterations (the Hessian is not positive definite)";
        case NewtonCgStatus::line_search_failed:
            return "the line search found no step (precision loss)";
    }
    return "unknown";
}

namespace {

enum Info { kHasPrev, kPrevLoss, kStatus, kCgIterations, kInfo };

}  // namespace

NewtonCG::NewtonCG(std::vector<Tensor> params, NewtonCgOptions options, HvpFn hvp)
    : Optimizer("newton-cg", std::move(params)), m_options(options), m_hvp(std::move(hvp)) {
    m_options.validate();
    if (m_params.size() != 1)
        throw Error("newton-cg: needs exactly one parameter tensor; got " +
                    std::to_string(m_params.size()));
}

void NewtonCG::step() {
    throw Error("newton-cg: evaluates the loss at trial points, so it needs step(closure): a "
                "function that recomputes the loss and the gradient at the current parameters");
}

std::vector<std::string> NewtonCG::buffer_names() const { return {"info"}; }

NewtonCgStatus NewtonCG::status() const {
    const auto found = m_state[0].buffers.find("info");
    if (found == m_state[0].buffers.end()) return NewtonCgStatus::running;
    return static_cast<NewtonCgStatus>(int(found->second.to_vector<double>()[kStatus]));
}

Tensor NewtonCG::step(const Closure& closure) {
    if (!closure) throw Error("newton-cg: step(closure) needs a closure");
    if (!m_hvp)
        throw Error("newton-cg: no Hessian-vector product; pass one to the constructor or "
                    "set_hvp() (descent::hvp of the loss, or linear_mse_hvp for linear MSE)");
    Tensor& p = m_params[0];
    const std::int64_t n = p.numel();
    const Tensor x = detail::flat(p).clone();  // xk, also the restore point
    std::vector<double> info(kInfo, 0.0);
    if (m_state[0].buffers.count("info")) info = m_state[0].buffers.at("info").to_vector<double>();
    NewtonCgStatus status = static_cast<NewtonCgStatus>(int(info[kStatus]));

    // The closure at the current parameters: the loss tensor and a copy of the flat gradient.
    const auto evaluate = [&]() {
        const detail::ClosureValue v = detail::evaluate_closure("newton-cg", closure, p);
        return std::make_pair(v.loss, v.grad);
    };

    try {
        // f and g at xk: kept from the last line search while the parameter is still there.
        Tensor loss_k, gfk;
        if (m_cached_x.defined() && detail::abs_max(x - m_cached_x) == 0.0) {
            loss_k = m_cached_loss;
            gfk = m_cached_grad;
        } else {
            std::tie(loss_k, gfk) = evaluate();
        }
        m_start_grad = gfk;
        if (status != NewtonCgStatus::running) return loss_k;
        const double old_fval = loss_k.item();

        // CG on H p = -g from p = 0.
        const Tensor b = neg(gfk);
        const double maggrad = detail::abs_sum(b);
        const double eta = std::min(m_options.cg_tol, std::sqrt(maggrad));
        const double termcond = eta * maggrad;
        Tensor xsupi = zeros({n}, p.dtype(), p.device());
        Tensor ri = neg(b);
        Tensor psupi = neg(ri);
        std::int64_t i = 0;
        double dri0 = detail::dot(ri, ri);
        const std::int64_t cg_maxiter = m_options.cg_max_iter ? *m_options.cg_max_iter : 20 * n;
        const double float64eps = std::numeric_limits<double>::epsilon();
        std::string exit;
        for (std::int64_t k2 = 0; k2 < cg_maxiter && exit.empty(); ++k2) {
            if (detail::abs_sum(ri) <= termcond) {
                exit = "residual";
                break;
            }
            Tensor Ap;
            {
                NoGrad no_grad;
                Ap = detail::flat(m_hvp(reshape(psupi, p.shape())));
            }
            if (Ap.numel() != n || Ap.dtype() != p.dtype() || Ap.device() != p.device())
                throw Error("newton-cg: the Hessian-vector product returned " +
                            descent::detail::describe(Ap) + " for the parameter " +
                            descent::detail::describe(p));
            const double curv = detail::dot(psupi, Ap);
            if (0 <= curv && curv <= 3 * float64eps) {
                exit = "zerocurv";
                break;
            }
            if (curv < 0) {
                if (i > 0) {
                    exit = "negcurv";
                } else {
                    xsupi = b * (dri0 / (-curv));  // fall back to steepest descent
                    exit = "negcurv_first";
                }
                break;
            }
            const double alphai = dri0 / curv;
            xsupi = xsupi + psupi * alphai;
            ri = ri + Ap * alphai;
            const double dri1 = detail::dot(ri, ri);
            const double betai = dri1 / dri0;
            psupi = neg(ri) + psupi * betai;
            i = i + 1;
            dri0 = dri1;
        }
        m_last_cg_iterations = i;
        m_start_grad = gfk;
        // The iteration limit: scipy's (20 d) ends the run (its status 3); a limit the caller
        // set truncates CG, whose partial solution is a descent direction (truncated Newton).
        if (exit.empty() && m_options.cg_max_iter && i > 0) exit = "truncated";
        m_last_cg_exit = exit.empty() ? "maxiter" : exit;
        info[kCgIterations] = double(i);
        if (exit.empty()) {
            status = NewtonCgStatus::cg_not_converged;
        } else {
            // The line search (scipy's line_search_wolfe1): phi(s) = f(xk + s pk).
            const Tensor pk = xsupi;
            const double derphi0 = detail::dot(gfk, pk);
            double alpha1 = 1.0;
            if (info[kHasPrev] != 0 && derphi0 != 0) {
                alpha1 = std::min(1.0, 1.01 * 2 * (old_fval - info[kPrevLoss]) / derphi0);
                if (alpha1 < 0) alpha1 = 1.0;
            }
            detail::Dcsrch search(1e-4, 0.9, 1e-14, 1e-8, 50);
            detail::Dcsrch::Task task = search.start(alpha1, old_fval, derphi0);
            Tensor loss_new, g_new;
            bool found = false;
            for (int it = 1; it < 100 && task == detail::Dcsrch::Task::evaluate; ++it) {
                detail::set_along(p, x, search.step(), pk);
                std::tie(loss_new, g_new) = evaluate();
                task = search.next(loss_new.item(), detail::dot(g_new, pk));
                found = task == detail::Dcsrch::Task::converged;
            }
            double alpha = search.step();
            bool gradient_known = true;
            if (!found) {
                // scipy's fallback, line_search_wolfe2, from the same start. phi and derphi
                // at one alpha share one closure call (it asks for phi first).
                double evaluated_at = NAN;
                const auto at = [&](double a) {
                    if (!(a == evaluated_at)) {
                        detail::set_along(p, x, a, pk);
                        std::tie(loss_new, g_new) = evaluate();
                        evaluated_at = a;
                    }
                };
                const auto result = detail::scalar_search_wolfe2(
                    [&](double a) {
                        at(a);
                        return loss_new.item();
                    },
                    [&](double a) {
                        at(a);
                        return detail::dot(g_new, pk);
                    },
                    old_fval,
                    info[kHasPrev] != 0 ? std::optional<double>(info[kPrevLoss]) : std::nullopt,
                    derphi0);
                if (result) {
                    found = true;
                    alpha = result->alpha;
                    // The closure gave the gradient with every loss, also where scipy's search
                    // ran out of iterations without asking for it (it would evaluate it next).
                    at(alpha);  // the kept loss is phi(alpha) (scipy's phi_star)
                    gradient_known = evaluated_at == alpha;
                }
            }
            if (!found) {
                descent::detail::copy_op(detail::flat(p), x);
                status = NewtonCgStatus::line_search_failed;
            } else {
                const Tensor update = pk * alpha;
                {
                    NoGrad no_grad;
                    descent::detail::copy_op(detail::flat(p), x + update);
                }
                if (gradient_known) {
                    m_cached_x = detail::flat(p).clone();
                    m_cached_loss = loss_new;
                    m_cached_grad = g_new;
                } else {
                    forget_evaluations();  // the next step evaluates the new point itself
                }
                info[kHasPrev] = 1;
                info[kPrevLoss] = old_fval;
                if (detail::abs_sum(update) <= double(n) * m_options.xtol)
                    status = NewtonCgStatus::converged;
            }
        }
        info[kStatus] = double(int(status));
        ParamState next{m_state[0].step + 1, {}};
        next.buffers["info"] = from_vector(info, {kInfo}, DType::f64, p.device());
        m_state[0] = std::move(next);
        return loss_k;
    } catch (...) {
        descent::detail::copy_op(detail::flat(p), x);
        throw;
    }
}

void NewtonCG::check_buffer(const std::string& name, const Tensor& buffer, std::size_t) const {
    if (name == "info" && (!buffer.defined() || buffer.shape() != Shape{kInfo}))
        throw Error("load_state: newton-cg buffer 'info' is " + descent::detail::describe(buffer) +
                    ", expected (4): has_prev, prev_loss, status, cg_iterations");
    if (name == "info") {
        const std::vector<double> v = buffer.to_vector<double>();
        if (!(v[kStatus] >= 0 && v[kStatus] <= 3 && v[kStatus] == std::floor(v[kStatus])))
            throw Error("load_state: newton-cg status " + std::to_string(v[kStatus]) + " is not one of 0..3");
    }
}

Tensor NewtonCG::adopt_buffer(const std::string&, const Tensor& buffer, std::size_t) const {
    return buffer.to(m_params[0].device()).to(DType::f64).detach().clone();
}

void NewtonCG::load_state(const OptimizerState& state) {
    Optimizer::load_state(state);
    forget_evaluations();  // recomputed by the next step's closure call
}

std::string NewtonCG::stopped_early() const {
    const NewtonCgStatus s = status();
    if (s == NewtonCgStatus::cg_not_converged || s == NewtonCgStatus::line_search_failed)
        return newton_cg_status_text(s);
    return std::string();
}

std::string NewtonCG::divergence_advice(double) const {
    return "Newton-CG's line search keeps every step a descent step, so a runaway loss points "
           "at the data (non-finite values, or columns of wildly different scale)";
}

void NewtonCG::forget_evaluations() {
    m_cached_x = Tensor();
    m_cached_grad = Tensor();
    m_cached_loss = Tensor();
}

}  // namespace descent::optim
