// Reverse-mode autodiff: backward(), the NoGrad guard and gradcheck().
// The engine (src/autograd.cpp) is one topological sort and one reverse walk, as in micrograd.
// Verified by tests/test_autograd.cpp and, for every op, tests/test_gradcheck.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "descent/tensor.hpp"

namespace descent {

// Same as root.backward(grad, retain_graph, create_graph).
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false,
              bool create_graph = false);

// True unless a NoGrad guard is alive on this thread. Ops record the graph only when it is on.
bool grad_enabled();

// While alive, ops on this thread build no graph (results do not require grad).
class NoGrad {
public:
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

private:
    bool m_previous;
};

// While alive, ops on this thread build the graph again, also inside a NoGrad (as
// torch.enable_grad): for code that differentiates inside a function evaluated without grad.
class EnableGrad {
public:
    EnableGrad();
    ~EnableGrad();
    EnableGrad(const EnableGrad&) = delete;
    EnableGrad& operator=(const EnableGrad&) = delete;

private:
    bool m_previous;
};

struct GradcheckOptions {
    double eps = 1e-6;   // central-difference step, scaled by max(1, |x|)
    double rtol = 1e-6;  // |analytic - numeric| <= atol + rtol * |numeric|
    double atol = 1e-9;  // absolute floor for entries whose true derivative is ~0
};

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0.0;
    double max_rel_error = 0.0;  // max |a - n| / max(|n|, tiny) over entries with |n| > atol
    std::string message;         // where the worst mismatch is, when !ok
};

// Compares the autodiff Jacobian of f at `inputs` with central finite differences.
// All inputs must be f64 (any device); f may return a tensor of any shape. Inputs whose
// requires_grad() is false are held constant. Throws descent::Error on non-f64 inputs.
// The inputs' grad() are as before afterwards, also when f throws.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// Checks second derivatives: gradcheck of the autodiff gradient. For fixed upstream
// gradients v (seeded, of f's output shape), each input i that requires grad gives
// G_i(inputs) = grad(f(inputs), inputs[i], v, create_graph = true), whose Jacobian (the
// autodiff differentiating its own backward rules) is compared with central differences of
// G_i, as gradcheck does for f. Same input rules as gradcheck; an input that G_i does not
// depend on counts as a zero second derivative.
GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                              const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace descent
