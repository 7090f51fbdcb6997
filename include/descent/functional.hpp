// Derivatives as functions: grad() (torch.autograd.grad), hvp(), hessian() and jacobian()
// (torch.autograd.functional). All of them run the reverse-mode engine of autograd.hpp on the
// device that holds the tensors (CPU or CUDA, f32 or f64); second derivatives come from
// differentiating the backward pass itself (create_graph), as in PyTorch: reverse over reverse.
//
// Verified by tests/test_functional.cpp (semantics, errors, freeing of graphs, third order),
// tests/test_gradgradcheck.cpp (finite differences of the autodiff gradient on every op of
// ops.hpp and loss.hpp), tests/test_hessian_torch.cpp (torch.autograd.functional.hessian and
// hvp fixtures: linear MSE, logistic loss, a tanh MLP, Rosenbrock) and, on CUDA, the
// cuda-labelled parity suite.
//
// Where descent differs from torch.autograd:
//  - an unused input with allow_unused = true gives an undefined Tensor (torch: None);
//  - hvp() returns H·v only (torch.autograd.functional.hvp returns (f(x), H·v));
//  - hessian() and jacobian() take one tensor x and return a 2-D matrix over its flattened
//    elements: (numel(x), numel(x)) and (numel(f(x)), numel(x)); torch keeps x's shape;
//  - Tensor::backward(g, retain_graph, create_graph = true) always keeps the graph (torch lets
//    retain_graph = False free it): the gradient's own graph runs through it.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "descent/tensor.hpp"

namespace descent {

// The gradients of sum_k <outputs[k], grad_outputs[k]> with respect to each of `inputs`, one
// tensor per input (of its shape, dtype and device). grad_outputs may be empty (or hold
// undefined tensors) for outputs of one element: a gradient of one is implied. Leaves' grad()
// are not touched. With create_graph the backward rules record their own graph, so the results
// can be differentiated again; retain_graph keeps the outputs' graph for another pass (unset:
// the value of create_graph, as torch's default). An input that no output depends on is an
// error naming its position unless allow_unused, which gives an undefined Tensor for it.
// Inputs may be leaves or intermediate tensors of the graph.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         std::optional<bool> retain_graph = std::nullopt,
                         bool allow_unused = false);

using ScalarFunction = std::function<Tensor(const Tensor&)>;
using TensorFunction = std::function<Tensor(const Tensor&)>;

// H(x)·v for a scalar f (a one-element result), where H is the Hessian of f at x; x of any
// shape, v of x's shape, dtype and device. Reverse over reverse: one gradient pass with
// create_graph, one backward pass through it. x itself is not modified and its grad() is not
// touched; the result does not require grad.
Tensor hvp(const ScalarFunction& f, const Tensor& x, const Tensor& v);

// The Hessian of a scalar f at x: (numel(x), numel(x)), entry (i, j) = d²f / dx_i dx_j over
// x's elements in row-major order. One gradient pass with create_graph, then one backward
// pass per row; the rows are assembled on x's device.
Tensor hessian(const ScalarFunction& f, const Tensor& x);

// The Jacobian of f at x: (numel(f(x)), numel(x)), entry (o, i) = d f(x)_o / d x_i. One
// backward pass per output element, assembled on x's device.
Tensor jacobian(const TensorFunction& f, const Tensor& x);

}  // namespace descent
