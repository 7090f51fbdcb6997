// The fused families on Tensors (see fused_ops.hpp): shape checks, then one backend call.
#include "fused_ops.hpp"

#include <optional>
#include <string>

#include "backend_call.hpp"
#include "descent/error.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent::detail {

namespace {

void check_numel(const char* op, const char* what, const Tensor& t, std::int64_t numel) {
    check_defined(op, t);
    if (t.numel() != numel)
        throw Error(std::string(op) + ": " + what + " must have " + std::to_string(numel) +
                    " elements, got " + describe(t));
}

// `t` when contiguous (no new handle: the mini-batch loops call these per batch), else a
// dense copy kept here.
class Dense {
public:
    explicit Dense(const Tensor& t) : m_ref(t.is_contiguous() ? &t : nullptr) {
        if (!m_ref) m_copy = contiguous_op(t);
    }
    const Tensor& get() const { return m_ref ? *m_ref : m_copy; }

private:
    const Tensor* m_ref;
    Tensor m_copy;
};

// The weights' row count of a pass over X (n, c): c, or c + 1 with an implicit intercept.
std::int64_t pass_rows(const char* op, const Tensor& X, bool intercept) {
    if (X.dim() != 2) throw Error(std::string(op) + ": X must be (n, d), got " + describe(X));
    if (intercept && !X.device().is_cpu())
        throw Error(std::string(op) + ": an implicit intercept (X without its ones column) is " +
                    "computed on the CPU; on " + X.device().str() +
                    " X must hold the ones column, got X " + describe(X));
    return X.shape()[1] + (intercept ? 1 : 0);
}

void check_shard(const char* op, const Tensor& X, const BlockShard* shard) {
    if (shard && (!shard->combine || shard->total_rows < X.shape()[0]))
        throw Error(std::string(op) + ": a shard of " + std::to_string(X.shape()[0]) +
                    " rows in a distributed pass over " + std::to_string(shard->total_rows));
}

}  // namespace

Tensor mse_op(const Tensor& pred_in, const Tensor& target_in) {
    check_same_kind("mse_loss", pred_in, target_in);
    const Tensor pred = contiguous_op(pred_in), target = contiguous_op(target_in);
    Tensor out = make_tensor({}, pred.dtype(), pred.device());
    backend_of(pred).mse(array_of(pred), array_of(target), array_of(out));
    return out;
}

void linear_mse_into(const Tensor& X_in, const Tensor& y_in, const Tensor& w_in,
                     const Tensor& loss, const Tensor& grad, const Tensor& hessian,
                     bool intercept, const BlockShard* shard) {
    const char* op = "linear_mse";
    check_same_kind(op, X_in, w_in);
    const std::int64_t d = pass_rows(op, X_in, intercept), n = X_in.shape()[0];
    check_shard(op, X_in, shard);
    const Dense X_dense(X_in), w_dense(w_in);
    const Tensor& X = X_dense.get();
    const Tensor& w = w_dense.get();
    check_numel(op, "w", w, d);
    check_numel(op, "the loss", loss, 1);
    check_numel(op, "the gradient", grad, d);
    Array target{nullptr, X.dtype(), 0, X.device().index};
    std::optional<Dense> y_dense;
    if (y_in.defined()) {
        check_same_kind(op, X_in, y_in);
        y_dense.emplace(y_in);
        check_numel(op, "y", y_dense->get(), n);
        target = array_of(y_dense->get());
    }
    Array h;
    if (hessian.defined()) {
        check_numel(op, "the Hessian", hessian, d * d);
        h = array_of(hessian);
    }
    backend_of(X).linear_mse(array_of(X), target, array_of(w), n, d, intercept, array_of(loss),
                             array_of(grad), hessian.defined() ? &h : nullptr, shard);
}

void logistic_into(const Tensor& X_in, const Tensor& y_in, const Tensor& w_in, const Tensor& loss,
                   const Tensor& grad, const Tensor& hessian, bool intercept,
                   const BlockShard* shard) {
    const char* op = "logistic";
    check_same_kind(op, X_in, w_in);
    check_same_kind(op, X_in, y_in);
    const std::int64_t d = pass_rows(op, X_in, intercept), n = X_in.shape()[0];
    check_shard(op, X_in, shard);
    const Dense X_dense(X_in), y_dense(y_in), w_dense(w_in);
    const Tensor &X = X_dense.get(), &y = y_dense.get(), &w = w_dense.get();
    check_numel(op, "y", y, n);
    check_numel(op, "w", w, d);
    check_numel(op, "the loss", loss, 1);
    check_numel(op, "the gradient", grad, d);
    Array h;
    if (hessian.defined()) {
        check_numel(op, "the Hessian", hessian, d * d);
        h = array_of(hessian);
    }
    backend_of(X).logistic(array_of(X), array_of(y), array_of(w), n, d, intercept, array_of(loss),
                           array_of(grad), hessian.defined() ? &h : nullptr, shard);
}

void softmax_cross_entropy_into(const Tensor& X_in, const Tensor& labels_in, const Tensor& W_in,
                                const Tensor& loss, const Tensor& grad, bool intercept,
                                const BlockShard* shard) {
    const char* op = "softmax_cross_entropy";
    check_same_kind(op, X_in, W_in);
    check_same_kind(op, X_in, labels_in);
    const std::int64_t d = pass_rows(op, X_in, intercept);
    check_shard(op, X_in, shard);
    if (W_in.dim() != 2 || W_in.shape()[0] != d)
        throw Error(std::string(op) + ": X must be (n, d) and W (d, k)" +
                    (intercept ? " (X without its ones column: W has d + 1 rows)" : "") +
                    ", got X " + describe(X_in) + " and W " + describe(W_in));
    const std::int64_t n = X_in.shape()[0], k = W_in.shape()[1];
    const Tensor X = contiguous_op(X_in), labels = contiguous_op(labels_in),
                 W = contiguous_op(W_in);
    check_numel(op, "the labels", labels, n);
    check_numel(op, "the loss", loss, 1);
    check_numel(op, "the gradient", grad, d * k);
    backend_of(X).softmax_cross_entropy(array_of(X), array_of(labels), array_of(W), n, d, k,
                                        intercept, array_of(loss), array_of(grad), shard);
}

void gather_rows_into(const Tensor& X_in, const Tensor& y_in, const RowPermutation& perm,
                      std::int64_t begin, const Tensor& Xb, const Tensor& yb) {
    const char* op = "gather_rows";
    check_same_kind(op, X_in, y_in);
    check_same_kind(op, X_in, Xb);
    check_same_kind(op, y_in, yb);
    const Tensor X = contiguous_op(X_in), y = contiguous_op(y_in);
    const std::int64_t count = Xb.dim() == 2 ? Xb.shape()[0] : -1;
    if (X.dim() != 2 || Xb.dim() != 2 || Xb.shape()[1] != X.shape()[1] || X.shape()[0] != perm.n ||
        begin < 0 || begin + count > perm.n)
        throw Error(std::string(op) + ": rows [" + std::to_string(begin) + ", " +
                    std::to_string(begin + count) + ") of a permutation of " +
                    std::to_string(perm.n) + " from X " + describe(X) + " into " + describe(Xb));
    check_numel(op, "y", y, perm.n);
    check_numel(op, "yb", yb, count);
    backend_of(X).gather_rows(array_of(X), array_of(y), X.shape()[1], perm, begin, count,
                              array_of(Xb), array_of(yb));
}

void synthetic_rows_into(const SyntheticRows& spec, std::int64_t begin, const Tensor& X,
                         const Tensor& y) {
    check_same_kind("synthetic_rows", X, y);
    const std::int64_t columns = spec.features + (spec.intercept ? 1 : 0);
    if (X.dim() != 2 || X.shape()[1] != columns)
        throw Error("synthetic_rows: X must be (count, " + std::to_string(columns) + "), got " +
                    describe(X));
    check_numel("synthetic_rows", "y", y, X.shape()[0]);
    backend_of(X).synthetic_rows(spec, begin, X.shape()[0], array_of(X), array_of(y));
}

void matmul_into(const Tensor& out, const Tensor& a_in, const Tensor& b_in, double alpha) {
    check_same_kind("matmul_into", a_in, b_in);
    check_same_kind("matmul_into", a_in, out);
    if (a_in.dim() != 2 || b_in.dim() != 2 || a_in.shape()[1] != b_in.shape()[0] ||
        out.numel() != a_in.shape()[0] * b_in.shape()[1])
        throw Error("matmul_into: " + describe(a_in) + " @ " + describe(b_in) + " into " +
                    describe(out));
    const Tensor a = contiguous_op(a_in), b = contiguous_op(b_in);
    backend_of(a).gemm(false, false, a.shape()[0], b.shape()[1], a.shape()[1], alpha, array_of(a),
                       array_of(b), array_of(out));
}

std::int64_t spd_solve_into(const Tensor& A_in, const Tensor& b_in, double damping,
                            const Tensor& x) {
    check_same_kind("solve_spd", A_in, b_in);
    check_same_kind("solve_spd", b_in, x);
    const std::int64_t d = b_in.numel();
    check_numel("solve_spd", "A", A_in, d * d);
    check_numel("solve_spd", "x", x, d);
    const Tensor A = contiguous_op(A_in), b = contiguous_op(b_in);
    return backend_of(A).spd_solve(array_of(A), array_of(b), d, damping, array_of(x));
}

void optimizer_update(const std::vector<ParamUpdate>& updates) {
    if (updates.empty()) return;
    const Tensor& first = updates.front().param;
    // Reused by every update on this thread (its entries are plain pointers): a mini-batch
    // step would otherwise allocate it each time.
    thread_local std::vector<UpdateTensor> tensors;
    tensors.clear();
    std::vector<Tensor> dense_grads;  // copies of gradients that are views, kept alive
    tensors.reserve(updates.size());
    for (const ParamUpdate& u : updates) {
        check_same_kind("optimizer update", first, u.param);
        check_same_kind("optimizer update", u.param, u.grad);
        if (!u.param.is_contiguous())
            throw Error("optimizer update: the parameter " + describe(u.param) +
                        " is a non-contiguous view; optimize a contiguous tensor");
        if (!u.grad.is_contiguous()) dense_grads.push_back(contiguous_op(u.grad));
        UpdateTensor t;
        t.param = array_of(u.param).data;
        t.grad = array_of(u.grad.is_contiguous() ? u.grad : dense_grads.back()).data;
        for (int b = 0; b < 3; ++b)
            if (u.state[b].defined()) {
                check_same_kind("optimizer update", u.param, u.state[b]);
                t.state[b] = array_of(u.state[b]).data;
            }
        t.numel = u.param.numel();
        t.step = u.step;
        tensors.push_back(t);
    }
    backend_of(first).optimizer_update(first.dtype(), tensors.data(),
                                       static_cast<int>(tensors.size()), first.device().index);
}

struct HostChunkStream::Impl {
    std::unique_ptr<HostChunks> chunks;
    std::int64_t d = 0;
    DType dtype = DType::f32;
    Device device;
};

HostChunkStream::HostChunkStream(const Tensor& X, const Tensor& y, std::int64_t chunk_rows,
                                 bool pin_in_place, Device device)
    : m_impl(std::make_unique<Impl>()) {
    HostRows rows;
    rows.X = array_of(X).data;
    rows.y = array_of(y).data;
    rows.dtype = X.dtype();
    rows.n = X.shape()[0];
    rows.d = X.shape()[1];
    rows.chunk_rows = chunk_rows;
    rows.pin_in_place = pin_in_place;
    m_impl->chunks = backend_for(device).host_chunks(rows, device.index);
    m_impl->d = rows.d;
    m_impl->dtype = rows.dtype;
    m_impl->device = device;
}

HostChunkStream::~HostChunkStream() = default;

void HostChunkStream::fetch(std::int64_t chunk) { m_impl->chunks->fetch(chunk); }

std::pair<Tensor, Tensor> HostChunkStream::acquire(std::int64_t chunk) {
    Array X, y;
    m_impl->chunks->acquire(chunk, X, y);
    return {borrow_memory(X.data, {y.numel, m_impl->d}, m_impl->dtype, m_impl->device),
            borrow_memory(y.data, {y.numel}, m_impl->dtype, m_impl->device)};
}

void HostChunkStream::release(std::int64_t chunk) { m_impl->chunks->release(chunk); }

void HostChunkStream::abandon() noexcept { m_impl->chunks->abandon(); }

}  // namespace descent::detail
