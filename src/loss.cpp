// mse_loss and the classification losses (general, differentiable), the fused one-pass
// linear MSE value-and-grad, and the fused classification passes (logistic, softmax) with
// their label checks.
#include "descent/loss.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"
#include "tensor_impl.hpp"

namespace descent {

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
    detail::check_same_kind("mse_loss", pred, target);
    if (pred.shape() != target.shape())
        throw Error("mse_loss: pred " + shape_str(pred.shape()) + " and target " +
                    shape_str(target.shape()) + " must have the same shape");
    if (pred.numel() == 0)
        throw Error("mse_loss: pred and target " + shape_str(pred.shape()) + " are empty");
    Tensor out = detail::mse_op(pred, target);
    if (!detail::recording(pred, target)) return out;
    const double scale = 2.0 / double(pred.numel());
    // One node for the whole loss: d/dpred = 2/n (pred - target) g, d/dtarget = its negative.
    return detail::record("mse_loss", out, {pred, target}, [pred, target, scale](const Tensor& g) {
        const Tensor diff = (pred - target) * (g * scale);  // differentiable: create_graph
        std::vector<Tensor> grads(2);
        if (pred.requires_grad()) grads[0] = diff;
        if (target.requires_grad()) grads[1] = neg(diff);
        return grads;
    });
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target) {
    const char* name = "binary_cross_entropy_with_logits";
    detail::check_same_kind(name, logits, target);
    if (logits.shape() != target.shape())
        throw Error(std::string(name) + ": logits " + shape_str(logits.shape()) + " and target " +
                    shape_str(target.shape()) + " must have the same shape");
    if (logits.numel() == 0)
        throw Error(std::string(name) + ": logits and target " + shape_str(logits.shape()) +
                    " are empty");
    Tensor out;
    {
        // The value from ops, outside the graph: the node below carries torch's gradient,
        // which the composite would get wrong at x = 0 (relu' and abs' are 0 there, the true
        // derivative sigmoid(0) - y is not).
        NoGrad no_grad;
        const Tensor& x = logits;
        out = mean(relu(x) - x * target + log1p(exp(neg(abs(x)))));
    }
    const double scale = 1.0 / double(logits.numel());
    return detail::record(name, out, {logits, target}, [logits, target, scale](const Tensor& g) {
        const Tensor gs = g * scale;
        std::vector<Tensor> grads(2);
        if (logits.requires_grad()) grads[0] = (sigmoid(logits) - target) * gs;
        if (target.requires_grad()) grads[1] = neg(logits) * gs;
        return grads;
    });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
    const char* name = "cross_entropy";
    detail::check_same_kind(name, logits, target);
    if (logits.dim() != 2 || target.dim() != 1 || target.shape()[0] != logits.shape()[0])
        throw Error(std::string(name) + ": expects logits (n, k) and target (n); got logits " +
                    shape_str(logits.shape()) + " and target " + shape_str(target.shape()));
    const std::int64_t n = logits.shape()[0], k = logits.shape()[1];
    if (n == 0 || k == 0)
        throw Error(std::string(name) + ": logits " + shape_str(logits.shape()) + " are empty");
    detail::class_labels(name, target, k, "target of row");
    // Row i's log-probability of its class, picked by a one-hot mask with where() (a product
    // with the mask would turn a -inf log-probability of another class into NaN).
    const Tensor one_hot = eq(reshape(target.detach(), {n, 1}), arange(0.0, double(k), 1.0,
                                                                       logits.dtype(), logits.device()));
    const Tensor picked = where(one_hot, log_softmax(logits, 1),
                                zeros({}, logits.dtype(), logits.device()));
    return neg(mean(sum(picked, 1)));
}

namespace {

LinearMseResult linear_mse(const char* name, const Tensor& X, const Tensor& y, const Tensor& w,
                           bool with_hessian) {
    detail::check_same_kind(name, X, y);
    detail::check_same_kind(name, X, w);
    if (X.dim() != 2 || y.dim() != 1 || w.dim() != 1 || y.shape()[0] != X.shape()[0] ||
        w.shape()[0] != X.shape()[1])
        throw Error(std::string(name) + ": expects X (n, d), y (n), w (d); got X " +
                    shape_str(X.shape()) + ", y " + shape_str(y.shape()) + ", w " +
                    shape_str(w.shape()));
    const std::int64_t n = X.shape()[0], d = X.shape()[1];
    if (n == 0 || d == 0)
        throw Error(std::string(name) + ": X " + shape_str(X.shape()) + " is empty");
    LinearMseResult r;
    r.loss = detail::make_tensor({}, X.dtype(), X.device());
    r.grad = detail::make_tensor({d}, X.dtype(), X.device());
    if (with_hessian) r.hessian = detail::make_tensor({d, d}, X.dtype(), X.device());
    detail::linear_mse_into(X, y, w, r.loss, r.grad, r.hessian);
    return r;
}

}  // namespace

Tensor linear_mse_hvp(const Tensor& X, const Tensor& v) {
    const char* name = "linear_mse_hvp";
    detail::check_same_kind(name, X, v);
    if (X.dim() != 2 || v.dim() != 1 || v.shape()[0] != X.shape()[1])
        throw Error(std::string(name) + ": expects X (n, d) and v (d); got X " +
                    shape_str(X.shape()) + ", v " + shape_str(v.shape()));
    const std::int64_t n = X.shape()[0], d = X.shape()[1];
    if (n == 0 || d == 0) throw Error(std::string(name) + ": X " + shape_str(X.shape()) + " is empty");
    const Tensor loss = detail::make_tensor({}, X.dtype(), X.device());  // by-product, unused
    Tensor out = detail::make_tensor({d}, X.dtype(), X.device());
    detail::linear_mse_into(X, Tensor(), v, loss, out);  // no target: the HVP form
    return out;
}

LinearMseResult linear_mse_value_and_grad(const Tensor& X, const Tensor& y, const Tensor& w) {
    return linear_mse("linear_mse_value_and_grad", X, y, w, false);
}

LinearMseResult linear_mse_value_grad_hessian(const Tensor& X, const Tensor& y, const Tensor& w) {
    return linear_mse("linear_mse_value_grad_hessian", X, y, w, true);
}

namespace {

std::string label_text(double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
}

// Throws naming the first label value for which ok(value) is false. The labels are read on
// the host: in place for a contiguous cpu tensor, else through a host copy. The scan runs in
// fixed chunks, with OpenMP threads, each chunk's values tested without a branch (random
// labels made the short-circuit test mispredict on every other row: 5x slower); only a chunk
// that holds a bad value is searched again for the first one.
// Whether ok(v) holds for the `count` values at p: no branch, so it vectorises.
template <class T, class Ok>
bool all_labels_ok(const T* p, std::int64_t count, Ok ok) {
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < count; ++i) bad += ok(double(p[i])) ? 0 : 1;
    return bad == 0;
}

template <class Ok>
void check_labels(const char* op, const Tensor& labels, Ok ok, const std::string& rule) {
    if (labels.dim() != 1)
        throw Error(std::string(op) + ": the labels must be (n), got " + shape_str(labels.shape()));
    const Tensor host = labels.device().is_cpu() && labels.is_contiguous()
                            ? labels
                            : contiguous(labels.detach()).to(Device::cpu());
    const std::int64_t n = host.numel();
    constexpr std::int64_t kChunk = 1 << 14;
    const std::int64_t chunks = (n + kChunk - 1) / kChunk;
    const auto scan = [&](const auto* p) {
        std::int64_t first_bad_chunk = chunks;
#pragma omp parallel for schedule(static) reduction(min : first_bad_chunk) if (chunks > 4)
        for (std::int64_t c = 0; c < chunks; ++c) {
            const std::int64_t lo = c * kChunk;
            if (!all_labels_ok(p + lo, std::min(n - lo, kChunk), ok))
                first_bad_chunk = std::min(first_bad_chunk, c);
        }
        if (first_bad_chunk == chunks) return;
        for (std::int64_t i = first_bad_chunk * kChunk; i < n; ++i) {
            if (ok(double(p[i]))) continue;
            throw Error(std::string(op) + ": the label of row " + std::to_string(i) + " is " +
                        label_text(double(p[i])) + "; " + rule);
        }
    };
    if (host.dtype() == DType::f32)
        scan(host.data<float>());
    else
        scan(host.data<double>());
}

void check_logistic_shapes(const char* name, const Tensor& X, const Tensor& y, const Tensor& w) {
    detail::check_same_kind(name, X, y);
    detail::check_same_kind(name, X, w);
    if (X.dim() != 2 || y.dim() != 1 || w.dim() != 1 || y.shape()[0] != X.shape()[0] ||
        w.shape()[0] != X.shape()[1])
        throw Error(std::string(name) + ": expects X (n, d), y (n), w (d); got X " +
                    shape_str(X.shape()) + ", y " + shape_str(y.shape()) + ", w " +
                    shape_str(w.shape()));
    if (X.shape()[0] == 0 || X.shape()[1] == 0)
        throw Error(std::string(name) + ": X " + shape_str(X.shape()) + " is empty");
}

LogisticResult logistic(const char* name, const Tensor& X, const Tensor& y, const Tensor& w,
                        bool with_hessian) {
    check_logistic_shapes(name, X, y, w);
    check_binary_labels(name, y);
    const std::int64_t d = X.shape()[1];
    LogisticResult r;
    r.loss = detail::make_tensor({}, X.dtype(), X.device());
    r.grad = detail::make_tensor({d}, X.dtype(), X.device());
    if (with_hessian) r.hessian = detail::make_tensor({d, d}, X.dtype(), X.device());
    detail::logistic_into(X, y, w, r.loss, r.grad, r.hessian);
    return r;
}

}  // namespace

void check_binary_labels(const char* op, const Tensor& y) {
    check_labels(op, y, [](double v) { return (v == 0.0) | (v == 1.0); }, "labels must be 0 or 1");
}

void check_class_labels(const char* op, const Tensor& labels, std::int64_t k) {
    const double top = double(k) - 1.0;
    check_labels(op, labels,
                 [top](double v) {
                     const bool in_range = (v >= 0.0) & (v <= top);  // false for NaN
                     return in_range & (v == std::floor(in_range ? v : 0.0));
                 },
                 "labels must be class indices, integers in 0.." + std::to_string(k - 1) +
                     " (W has k = " + std::to_string(k) + " columns)");
}

LogisticResult logistic_value_and_grad(const Tensor& X, const Tensor& y, const Tensor& w) {
    return logistic("logistic_value_and_grad", X, y, w, false);
}

LogisticResult logistic_value_grad_hessian(const Tensor& X, const Tensor& y, const Tensor& w) {
    return logistic("logistic_value_grad_hessian", X, y, w, true);
}

SoftmaxCrossEntropyResult softmax_cross_entropy_value_and_grad(const Tensor& X,
                                                               const Tensor& labels,
                                                               const Tensor& W) {
    const char* name = "softmax_cross_entropy_value_and_grad";
    detail::check_same_kind(name, X, labels);
    detail::check_same_kind(name, X, W);
    if (X.dim() != 2 || labels.dim() != 1 || W.dim() != 2 || labels.shape()[0] != X.shape()[0] ||
        W.shape()[0] != X.shape()[1])
        throw Error(std::string(name) + ": expects X (n, d), labels (n), W (d, k); got X " +
                    shape_str(X.shape()) + ", labels " + shape_str(labels.shape()) + ", W " +
                    shape_str(W.shape()));
    const std::int64_t d = X.shape()[1], k = W.shape()[1];
    if (X.shape()[0] == 0 || d == 0)
        throw Error(std::string(name) + ": X " + shape_str(X.shape()) + " is empty");
    if (k == 0) throw Error(std::string(name) + ": W " + shape_str(W.shape()) + " has no classes");
    check_class_labels(name, labels, k);
    SoftmaxCrossEntropyResult r;
    r.loss = detail::make_tensor({}, X.dtype(), X.device());
    r.grad = detail::make_tensor({d, k}, X.dtype(), X.device());
    detail::softmax_cross_entropy_into(X, labels, W, r.loss, r.grad);
    return r;
}

}  // namespace descent
