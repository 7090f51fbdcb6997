// Losses. mse_loss is the general, differentiable loss; linear_mse_value_and_grad is the
// fused hot path for linear models: loss and gradient from one pass over X, with no
// n-sized temporaries. Verified against the composed graph mean(square(X·w - y)) to 1e-12
// in tests/test_loss_hessian.cpp.
#pragma once

#include <cstdint>

#include "descent/tensor.hpp"

namespace descent {

// mean((pred - target)^2) over all elements; pred and target must have the same shape.
// Differentiable in both arguments with its own fused backward 2/n (pred - target).
Tensor mse_loss(const Tensor& pred, const Tensor& target);

// Classification losses, mean over the examples, as torch's (default reduction 'mean').
// Verified against torch 1.13 (tests/test_classification_ops.cpp), also at logits of +-1e4.
//
// mean(max(x, 0) - x y + log1p(exp(-|x|))) over all elements: torch's stable form of
// -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], which never exponentiates a positive
// number. logits and target have the same shape (target usually in [0, 1]). One node with
// torch's gradients (sigmoid(x) - y) / n and -x / n, themselves differentiable.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target);
// -mean_i log_softmax(logits, 1)[i, target[i]] for logits (n, k), n >= 1, and target (n)
// holding class indices 0 .. k-1 as numbers of logits' dtype (there is no integer dtype); a
// label that is not such an integer is refused, the error naming its row. Differentiable in
// the logits (to every order, through log_softmax), not in target.
Tensor cross_entropy(const Tensor& logits, const Tensor& target);

struct LinearMseResult {
    Tensor loss;     // () scalar, 1/n sum_i (x_i·w - y_i)^2
    Tensor grad;     // (d), 2/n sum_i (x_i·w - y_i) x_i
    Tensor hessian;  // (d, d), 2/n XᵀX; defined only by linear_mse_value_grad_hessian
};

// X is (n, d), y is (n), w is (d); all of one dtype and device, n >= 1. Reads X once.
// Not recorded by autograd: this *is* the gradient.
LinearMseResult linear_mse_value_and_grad(const Tensor& X, const Tensor& y, const Tensor& w);
// As above, also accumulating the Hessian in the same pass (for Newton's method).
LinearMseResult linear_mse_value_grad_hessian(const Tensor& X, const Tensor& y, const Tensor& w);

// The linear MSE's Hessian-vector product H v = 2/n Xᵀ(X v) for X (n, d) and v (d), in one
// read of X (two on CUDA's wide path for large d, where cuBLAS forms X v, then Xᵀ r) and
// without y (H does not depend on y or w): the gradient pass for w = v against
// no target, with its fixed block order, so bitwise the same for any thread count and equal
// to linear_mse_value_and_grad(X, zeros(n), v).grad. Not differentiable (a fused pass).
// Verified by tests/test_loss_hessian.cpp (against the Hessian times v, and the autodiff's
// hvp) and the CUDA parity suite.
Tensor linear_mse_hvp(const Tensor& X, const Tensor& v);

// ---- classification: the fused passes of logistic and softmax regression ---------------
// Each reads X once and forms the loss, the gradient (and for logistic the Hessian) in one
// pass with no n-sized temporaries: a fixed block order in double on the cpu (bitwise the same
// for any thread count) and fixed-order block reductions on a GPU. Numerically stable at any
// logit (log-sum-exp; no overflow at |logit| = 1e4). Not recorded by autograd: this *is* the
// gradient. All tensors of one dtype and device, n >= 1, d >= 1. The labels are checked on
// the host before the pass (a read of n values): descent::Error naming the first bad row.
// Verified against the composed autodiff graphs to 1e-12 (f64) in
// tests/test_fused_classification.cpp.

struct LogisticResult {
    Tensor loss;     // () mean(max(z,0) - z y + log1p(exp(-|z|))), z = X w
    Tensor grad;     // (d) Xᵀ(σ(z) - y) / n
    Tensor hessian;  // (d, d) Xᵀ diag(σ(z)(1 - σ(z))) X / n; only logistic_value_grad_hessian
};

// Binary logistic regression (cross-entropy with logits): X (n, d), y (n) of labels 0 or 1,
// w (d).
LogisticResult logistic_value_and_grad(const Tensor& X, const Tensor& y, const Tensor& w);
// As above, also the Hessian in the same pass (Newton's method on it is IRLS).
LogisticResult logistic_value_grad_hessian(const Tensor& X, const Tensor& y, const Tensor& w);

struct SoftmaxCrossEntropyResult {
    Tensor loss;  // () mean_i logsumexp(Z_i) - Z_i[label_i], Z = X W
    Tensor grad;  // (d, k) Xᵀ(softmax(Z) - onehot(labels)) / n
};

// Softmax (multinomial logistic) regression: X (n, d), labels (n) holding class indices as
// values of X's dtype (integers in 0..k-1), W (d, k) row-major, k >= 1.
SoftmaxCrossEntropyResult softmax_cross_entropy_value_and_grad(const Tensor& X,
                                                               const Tensor& labels,
                                                               const Tensor& W);

// The label checks those functions run (exposed for callers that check a data set once):
// every y[i] is 0 or 1 / every labels[i] is an integer in [0, k). descent::Error naming `op`,
// the first bad row and its value otherwise. Reads the labels on the host.
void check_binary_labels(const char* op, const Tensor& y);
void check_class_labels(const char* op, const Tensor& labels, std::int64_t k);

}  // namespace descent
