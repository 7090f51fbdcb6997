// What the curvature methods (LBFGS, NewtonCG) do with flat parameter vectors besides the
// differentiable ops: dot products and norms read back as one scalar each (on CUDA the only
// host traffic of their iterations), moving the parameter along a direction, and packing a
// history of vectors into one (m, n) matrix for state() (copies on the vectors' device).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "descent/tensor.hpp"

namespace descent::optim::detail {

double dot(const Tensor& a, const Tensor& b);  // Σ a_i b_i (one scalar read back)
double abs_max(const Tensor& a);               // max |a_i|; NaN if any a_i is NaN
double abs_sum(const Tensor& a);               // Σ |a_i|
Tensor flat(const Tensor& t);                  // t as a vector sharing its storage

// The parameter p (any shape) set to x + t d, x and d flat (p's numel), in place, no graph.
void set_along(const Tensor& p, const Tensor& x, double t, const Tensor& d);

// Calls a closure (grad mode on) for the parameter p: the loss it returns (a one-element
// tensor, else an error naming `optimizer`) and a copy of p's gradient, flat (zeros when the
// closure left none).
struct ClosureValue {
    Tensor loss;
    Tensor grad;
};
ClosureValue evaluate_closure(const char* optimizer, const std::function<Tensor()>& closure,
                              const Tensor& p);

// Several parameters as one flat vector (torch's LBFGS: _gather_flat_grad, _add_grad): their
// entries in order, a copy; scatter_flat writes such a vector back into them; the overloads
// of set_along and evaluate_closure take the parameters together. One parameter gives the
// same bits as the single-tensor functions above.
Tensor gather_flat(const std::vector<Tensor>& params);
void scatter_flat(const std::vector<Tensor>& params, const Tensor& x);
void set_along(const std::vector<Tensor>& params, const Tensor& x, double t, const Tensor& d);
ClosureValue evaluate_closure(const char* optimizer, const std::function<Tensor()>& closure,
                              const std::vector<Tensor>& params);

// rows (each of n elements) as an (m, n) matrix, and back.
Tensor stack_rows(const std::vector<Tensor>& rows);
std::vector<Tensor> unstack_rows(const Tensor& matrix);

}  // namespace descent::optim::detail
