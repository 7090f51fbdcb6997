// Optimizer base class: a list of parameter tensors, step(), zero_grad(), and a state that can
// be read and restored (step counts and named buffers, with torch.optim's names).
// Verified by tests/test_optim_blog.cpp and tests/test_optim_torch.cpp.
#pragma once

#include <cstdint>
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
    // Zeroes every parameter's gradient in place (buffers are kept, nothing is allocated).
    void zero_grad();

    const std::string& name() const { return m_name; }
    const std::vector<Tensor>& params() const { return m_params; }
    // Steps taken by the first parameter (all parameters step together in normal use).
    std::int64_t step_count() const;
    // True when step() needs a Hessian (Newton).
    virtual bool needs_hessian() const { return false; }
    // The state buffers each parameter keeps with these options (torch.optim's names).
    virtual std::vector<std::string> buffer_names() const { return {}; }

    // A deep copy of the state; load_state() checks names and shapes and copies it back (a
    // state that does not fit is refused with the current state unchanged).
    OptimizerState state() const;
    void load_state(const OptimizerState& state);

protected:
    std::string m_name;
    std::vector<Tensor> m_params;
    std::vector<ParamState> m_state;
};

}  // namespace descent::optim
