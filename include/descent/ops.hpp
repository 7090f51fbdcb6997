// Differentiable ops. Each runs on the device holding its inputs (all inputs of one op must
// share device and dtype) and records a backward rule written with these same ops.
// Verified by tests/test_gradcheck.cpp (finite differences, f64), tests/test_cpu_backend.cpp
// and, on a GPU, tests/test_cuda_parity.cpp.
//
// Broadcasting follows numpy: shapes are aligned from the right and a dimension of 1 (or a
// missing one) stretches. So a (d) vector adds to every row of an (n, d) matrix, and an
// (n, 1) column adds to every column.
#pragma once

#include <cstdint>

#include "descent/tensor.hpp"

namespace descent {

// --- elementwise, tensor-tensor (broadcasting) and tensor-scalar --------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rdiv(double s, const Tensor& a);  // s / a

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(const Tensor& a, double s);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(const Tensor& a, double s);
Tensor operator/(double s, const Tensor& a);
Tensor operator-(const Tensor& a);

// --- elementwise, unary -------------------------------------------------------------------
Tensor neg(const Tensor& a);
Tensor square(const Tensor& a);
Tensor pow(const Tensor& a, double exponent);
Tensor sqrt(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor relu(const Tensor& a);

// --- linear algebra and shape -------------------------------------------------------------
// (m,k)@(k,n) -> (m,n); (m,k)@(k) -> (m); (k)@(k,n) -> (n); (k)@(k) -> () (dot product).
Tensor matmul(const Tensor& a, const Tensor& b);
// Swaps the two axes of a matrix; a tensor of rank 0 or 1 is returned as it is (like torch's t()).
Tensor transpose(const Tensor& a);
// Same elements, new shape (one entry may be -1). Shares storage with `a` when `a` is
// contiguous; copies otherwise (as torch.reshape).
Tensor reshape(const Tensor& a, const Shape& shape);

// --- views: share storage with `a`, differentiable; writes through a view reach `a` --------
// Elements [start, start + length) along `dim` (torch.narrow).
Tensor narrow(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t length);
// Index `index` along `dim`, which is removed (torch.select); negative indices count from the end.
Tensor select(const Tensor& a, std::int64_t dim, std::int64_t index);
// A new dimension of size 1 at `dim` (in [-rank-1, rank]).
Tensor unsqueeze(const Tensor& a, std::int64_t dim);
// Removes every dimension of size 1, or just `dim` when it has size 1 (else returns `a`'s view).
Tensor squeeze(const Tensor& a);
Tensor squeeze(const Tensor& a, std::int64_t dim);
// Reorders the dimensions: output dimension i is input dimension dims[i] (any rank).
Tensor permute(const Tensor& a, const std::vector<std::int64_t>& dims);
// `a` itself when contiguous, else a dense row-major copy (differentiable).
Tensor contiguous(const Tensor& a);

// Repeats `a` along broadcast dimensions to reach `shape` (numpy broadcast rules).
Tensor broadcast_to(const Tensor& a, const Shape& shape);
// Sums `a` down to `shape`, the adjoint of broadcast_to.
Tensor sum_to(const Tensor& a, const Shape& shape);

// --- reductions ---------------------------------------------------------------------------
Tensor sum(const Tensor& a);  // all elements -> scalar
Tensor sum(const Tensor& a, std::int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& a);  // throws on an empty tensor
Tensor mean(const Tensor& a, std::int64_t axis, bool keepdim = false);

}  // namespace descent
