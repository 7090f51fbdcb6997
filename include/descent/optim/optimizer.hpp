// Optimizer base class: a list of parameter tensors, step(), zero_grad(), and a state that can
// be read and restored (step counts and named buffers, with torch.optim's names).
// Verified by tests/test_optim_blog.cpp and tests/test_optim_torch.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "descent/tensor.hpp"

namespace descent::optim {

// Which formulas and defaults: the blog post's (no eps, no bias correction) or torch.optim's.
enum class Preset { blog, torch };
Preset parse_preset(const std::string& text);  // "blog" | "torch"
const char* preset_name(Preset preset);

// The state of one parameter: how many steps it has taken and its buffers by name
// (momentum_buffer, sum, square_avg, grad_avg, exp_avg, exp_avg_sq, max_exp_avg_sq).
struct ParamState {
    std::int64_t step = 0;
    std::map<std::string, Tensor> buffers;
};

struct OptimizerState {
    std::string optimizer;  // name() of the optimizer that produced it
    std::vector<ParamState> params;  // one per parameter, in construction order
};

// Recomputes the loss at the current parameters: fills their grad() and returns the loss,
// a one-element tensor on the parameters' device (torch.optim's closure). The curvature
// methods (LBFGS, NewtonCG) call it several times per step, at trial points.
using Closure = std::function<Tensor()>;

// H(current parameters) v, for v of the parameter's numel (flat) or shape.
using HvpFn = std::function<Tensor(const Tensor& v)>;

class Optimizer {
public:
    // Parameters must be defined leaf tensors that require grad.
    Optimizer(std::string name, std::vector<Tensor> params);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Updates every parameter that has a gradient, in place, and advances its step count.
    // A step that throws leaves parameters, gradients and state() as they were.
    virtual void step() = 0;
    // torch.optim's step(closure): calls the closure (grad mode on) for the loss and gradient
    // at the current parameters, steps, and returns that loss. The curvature methods
    // (needs_closure()) also evaluate it at trial points; the others call it once.
    virtual Tensor step(const Closure& closure);
    // True when step() needs the closure form (LBFGS, NewtonCG): plain step() throws.
    virtual bool needs_closure() const { return false; }
    // Zeroes every parameter's gradient in place (buffers are kept, nothing is allocated).
    void zero_grad();

    const std::string& name() const { return m_name; }
    const std::vector<Tensor>& params() const { return m_params; }
    // Steps taken by the first parameter (all parameters step together in normal use).
    std::int64_t step_count() const;
    // --- capabilities: what a training loop asks of an optimizer (it never casts) ----------
    // step() needs a Hessian (Newton): set_hessian() before each step (else its callback).
    virtual bool needs_hessian() const { return false; }
    virtual void set_hessian(const Tensor& hessian);  // throws unless needs_hessian()
    // step() uses Hessian-vector products (Newton-CG); has_hvp(): one is set. A loop that
    // sets its own (the fused linear_mse_hvp) clears it with set_hvp({}) when it is done.
    virtual bool uses_hvp() const { return false; }
    virtual bool has_hvp() const { return false; }
    virtual void set_hvp(HvpFn hvp);  // throws unless uses_hvp()
    // Forgets what the last step evaluated that stays valid only for the same loss (Newton-CG
    // reuses the loss and gradient of the point its line search accepted); a loop calls it
    // before stepping on what may be other data.
    virtual void forget_evaluations() {}
    // step() only queues device work (one fused update from constants computed on the host,
    // no read-back), so a CUDA graph may capture it: the first-order optimizers.
    virtual bool capturable() const { return false; }
    // The flat gradient the last step stepped on, where the loop cannot know it (Newton-CG's
    // first closure call may be a line-search trial); undefined otherwise.
    virtual Tensor step_gradient() const { return Tensor(); }
    // The learning rate, for schedules (lr_schedule.hpp; torch's param_group['lr']): false
    // for an optimizer without one (Newton-CG, scipy's, has none); lr() and set_lr() then
    // throw. set_lr takes effect from the next step and requires a finite rate >= 0 (a
    // schedule may anneal to 0, as torch allows).
    virtual bool has_lr() const { return false; }
    virtual double lr() const;
    virtual void set_lr(double lr);
    // Why the optimizer stopped changing the parameters before the run's end (Newton-CG: CG or
    // both line searches failed); empty when it did not.
    virtual std::string stopped_early() const { return std::string(); }
    // The advice that ends a divergence report, fitting this optimizer: lambda_max is the
    // largest eigenvalue of the loss's Hessian (NaN or <= 0 when unknown).
    virtual std::string divergence_advice(double lambda_max) const;
    // The state buffers each parameter keeps with these options (torch.optim's names).
    virtual std::vector<std::string> buffer_names() const { return {}; }

    // A deep copy of the state; load_state() checks names and shapes and copies it back (a
    // state that does not fit is refused with the current state unchanged).
    // (Virtual for optimizers whose state is not one buffer per parameter: LBFGS.)
    virtual OptimizerState state() const;
    virtual void load_state(const OptimizerState& state);

protected:
    // load_state()'s check of one buffer (throws descent::Error when it does not fit) and its
    // conversion onto the parameter: by default the parameter's shape, device and dtype.
    // Optimizers with other buffers (LBFGS's history) override both.
    virtual void check_buffer(const std::string& name, const Tensor& buffer, std::size_t param) const;
    virtual Tensor adopt_buffer(const std::string& name, const Tensor& buffer, std::size_t param) const;

    std::string m_name;
    std::vector<Tensor> m_params;
    std::vector<ParamState> m_state;
};

}  // namespace descent::optim
