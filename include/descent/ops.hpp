// Differentiable ops, with PyTorch's names and semantics. Each runs on the device holding its
// inputs (all inputs of one op must share device and dtype) and records a backward rule
// written with these same ops, so second derivatives (create_graph) work through every one.
// Verified by tests/test_gradcheck.cpp and tests/test_gradgradcheck.cpp (finite differences,
// f64), tests/test_classification_ops.cpp (values and gradients against torch 1.13, also at
// logits of +-1e4), tests/test_cpu_backend.cpp and, on a GPU, tests/test_cuda_parity.cpp.
//
// Broadcasting follows numpy: shapes are aligned from the right and a dimension of 1 (or a
// missing one) stretches. So a (d) vector adds to every row of an (n, d) matrix, and an
// (n, 1) column adds to every column.
//
// There is no integer or bool dtype. Masks (comparisons, where's condition) are tensors of
// the operands' dtype holding 1 and 0; indices (argmax, index_select's index, cross_entropy's
// targets in loss.hpp) are tensors of the data's dtype holding integer values, exact up to
// 2^24 in f32 and 2^53 in f64 (an axis too long for its dtype's indices is refused).
//
// Where a function has a kink, the gradient there is torch's: abs'(0) = 0; clamp passes the
// gradient where min <= a <= max, bounds included; maximum and minimum split it in half
// between equal operands; max(a) and min(a) share it evenly between all the elements equal to
// the result (as torch's max() and amax); max(a, dim) and min(a, dim) give it all to the first
// position holding the result along dim (the index argmax returns, as torch's max(dim)). NaN
// propagates through maximum, minimum, clamp and the max/min reductions (a NaN is the max and
// the min, at its first position).
#pragma once

#include <cstdint>
#include <vector>
#include <optional>

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
Tensor abs(const Tensor& a);
Tensor log1p(const Tensor& a);  // log(1 + a), accurate for small a
// Limits a to [min, max]; either bound may be absent, not both. As torch, min > max gives max.
Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max);
Tensor clamp_min(const Tensor& a, double min);
Tensor clamp_max(const Tensor& a, double max);

// --- selection (broadcasting) -------------------------------------------------------------
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor max(const Tensor& a, const Tensor& b);  // maximum (torch.max(a, other))
Tensor min(const Tensor& a, const Tensor& b);  // minimum
// a where cond is nonzero, else b; cond is a mask of a's dtype (e.g. a comparison's result).
// Differentiable in a and b (each gets the gradient where it was chosen), not in cond. The
// unchosen side is never multiplied, so an inf or NaN there does not leak into the result.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// --- comparisons: 1 where true, else 0, in a's dtype; never recorded (no gradient) --------
// Tensor-tensor broadcast; the scalar is converted to a's dtype first (as torch).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);

// --- linear algebra and shape -------------------------------------------------------------
// (m,k)@(k,n) -> (m,n); (m,k)@(k) -> (m); (k)@(k,n) -> (n); (k)@(k) -> () (dot product).
Tensor matmul(const Tensor& a, const Tensor& b);
// x Wᵀ + b (torch.nn.functional.linear): x (n, in) or (in), weight (out, in), bias (out) or an
// undefined Tensor for none. One op (no copy of Wᵀ, the bias added in place), differentiable
// twice like matmul.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
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
// Joins tensors of equal shape but along `dim` (torch.cat); one dtype and device; a new tensor.
Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// Stacks tensors of one shape along a new dimension `dim` (torch.stack).
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);

// Repeats `a` along broadcast dimensions to reach `shape` (numpy broadcast rules).
Tensor broadcast_to(const Tensor& a, const Shape& shape);
// Sums `a` down to `shape`, the adjoint of broadcast_to.
Tensor sum_to(const Tensor& a, const Shape& shape);

// --- reductions ---------------------------------------------------------------------------
Tensor sum(const Tensor& a);  // all elements -> scalar
Tensor sum(const Tensor& a, std::int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& a);  // throws on an empty tensor
Tensor mean(const Tensor& a, std::int64_t axis, bool keepdim = false);
// The largest (smallest) element -> (); throws on an empty tensor.
Tensor max(const Tensor& a);
Tensor min(const Tensor& a);
// Along one axis (shaped as sum(a, axis, keepdim)); throws when the axis is empty.
Tensor max(const Tensor& a, std::int64_t axis, bool keepdim = false);
Tensor min(const Tensor& a, std::int64_t axis, bool keepdim = false);
// The position of the first largest (smallest) element, as a number of a's dtype: along the
// axis, or in the row-major flattening of a. Not differentiable, never recorded.
Tensor argmax(const Tensor& a);
Tensor argmax(const Tensor& a, std::int64_t axis, bool keepdim = false);
Tensor argmin(const Tensor& a);
Tensor argmin(const Tensor& a, std::int64_t axis, bool keepdim = false);
// log(sum(exp(a), axis)), computed as m + log(sum(exp(a - m))) with m the max along the axis
// (0 where that max is infinite), so no exp overflows: accurate at |a| = 1e4.
Tensor logsumexp(const Tensor& a, std::int64_t axis, bool keepdim = false);

// --- softmax ------------------------------------------------------------------------------
// Along `axis`, from a - max(a, axis): no overflow for any finite input.
Tensor softmax(const Tensor& a, std::int64_t axis);
Tensor log_softmax(const Tensor& a, std::int64_t axis);

// --- indexing -----------------------------------------------------------------------------
// The slices a[..., index[j], ...] along `axis`, j = 0 .. count - 1: the axis gets count
// entries. index is a (count) tensor of a's dtype and device holding integers in
// [0, a.size(axis)) (read to the host and checked; the error names the first bad position);
// repeats are allowed. The backward adds each slice's gradient back into its source slice
// (torch's index_add) in a fixed order, bitwise reproducible on every device.
Tensor index_select(const Tensor& a, std::int64_t axis, const Tensor& index);

// --- dropout ------------------------------------------------------------------------------
// torch.nn.functional.dropout in training: each element of a kept with probability 1 - p and
// scaled by 1 / (1 - p), or zeroed; p in [0, 1] (0 returns a itself, 1 zeroes everything).
// The mask is a pure function of (seed, offset + flat index) (counter-based Philox,
// src/shared/dropout.hpp): the same on the CPU and a GPU, for any thread count, and a run
// that passes a new offset (or seed) per step draws a new mask per step. Differentiable to
// any order (the mask is a constant: a * mask).
Tensor dropout(const Tensor& a, double p, std::uint64_t seed, std::uint64_t offset = 0);
// The mask alone (a's shape, dtype and device): 1 / (1 - p) where kept, 0 where dropped.
Tensor dropout_mask(const Tensor& a, double p, std::uint64_t seed, std::uint64_t offset = 0);

}  // namespace descent
