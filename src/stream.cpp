// Streamed synthetic data: each pass generates the rows chunk by chunk into one reusable
// buffer, runs the fused linear-MSE pass on the chunk into its own row of a (chunks, 1 + d
// [+ d*d]) table of chunk means, and combines the table with one (1 x chunks) product
// weighted by the chunk sizes: a fixed order, so a pass is deterministic.
#include "descent/stream.hpp"

#include <memory>
#include <vector>

#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "dispatch.hpp"
#include "train_source.hpp"

namespace descent {

namespace {

detail::Array slice(const Tensor& t, std::int64_t offset, std::int64_t count) {
    detail::Array a = detail::array_of(t);
    a.data = static_cast<char*>(a.data) + offset * static_cast<std::int64_t>(dtype_size(t.dtype()));
    a.numel = count;
    return a;
}

// The buffers of one data set on one device, allocated once and reused by every pass.
class StreamedPass {
public:
    StreamedPass(const StreamedSynthetic& data, DType dtype, Device device, bool hessian)
        : m_data(data), m_hessian(hessian) {
        const SyntheticSpec& s = data.spec;
        if (data.chunk_rows < 1)
            throw Error("streamed " + synthetic_spec_str(s) + ": chunk_rows must be >= 1, got " +
                        std::to_string(data.chunk_rows));
        const std::vector<double> truth = synthetic_true_weights(s, data.intercept, dtype);
        m_n = s.n;
        m_d = static_cast<std::int64_t>(truth.size());
        m_chunk = std::min(data.chunk_rows, m_n);
        m_chunks = (m_n + m_chunk - 1) / m_chunk;
        m_entries = 1 + m_d + (hessian ? m_d * m_d : 0);
        m_truth = from_vector(truth, {m_d}, DType::f64, device);
        m_X = empty({m_chunk, m_d}, dtype, device);
        m_y = empty({m_chunk}, dtype, device);
        m_table = empty({m_chunks, m_entries}, dtype, device);
        std::vector<double> rows(static_cast<std::size_t>(m_chunks), double(m_chunk));
        rows.back() = double(m_n - (m_chunks - 1) * m_chunk);
        m_rows = from_vector(rows, {1, m_chunks}, dtype, device);
        m_out = empty({m_entries}, dtype, device);
    }

    std::int64_t n() const { return m_n; }
    std::int64_t d() const { return m_d; }

    void run(const Tensor& w, detail::Array loss, detail::Array grad, const detail::Array* hessian) {
        if (hessian && !m_hessian) throw Error("streamed pass: built without the Hessian");
        detail::Backend& backend = detail::backend_of(w);
        detail::SyntheticRows rows;
        rows.seed = m_data.spec.seed;
        rows.noise = m_data.spec.noise;
        rows.features = m_data.spec.d;
        rows.intercept = m_data.intercept;
        rows.truth = static_cast<const double*>(m_truth.data_ptr());
        for (std::int64_t c = 0; c < m_chunks; ++c) {
            const std::int64_t begin = c * m_chunk, count = std::min(m_chunk, m_n - begin);
            backend.synthetic_rows(rows, begin, count, slice(m_X, 0, count * m_d), slice(m_y, 0, count));
            const std::int64_t row = c * m_entries;
            detail::Array h = slice(m_table, row + 1 + m_d, m_d * m_d);
            backend.linear_mse(slice(m_X, 0, count * m_d), slice(m_y, 0, count), detail::array_of(w),
                               count, m_d, slice(m_table, row, 1), slice(m_table, row + 1, m_d),
                               hessian ? &h : nullptr);
        }
        // out (1, entries) = (1/n) rows (1, chunks) @ table (chunks, entries)
        backend.gemm(false, false, 1, m_entries, m_chunks, 1.0 / double(m_n),
                     detail::array_of(m_rows), detail::array_of(m_table), detail::array_of(m_out));
        const std::size_t elem = dtype_size(w.dtype());
        const int device = w.device().index;
        const char* out = static_cast<const char*>(m_out.data_ptr());
        backend.copy(loss.data, out, elem, device);
        backend.copy(grad.data, out + elem, elem * static_cast<std::size_t>(m_d), device);
        if (hessian)
            backend.copy(hessian->data, out + elem * static_cast<std::size_t>(1 + m_d),
                         elem * static_cast<std::size_t>(m_d * m_d), device);
    }

private:
    StreamedSynthetic m_data;
    bool m_hessian;
    std::int64_t m_n = 0, m_d = 0, m_chunk = 0, m_chunks = 0, m_entries = 0;
    Tensor m_truth, m_X, m_y, m_table, m_rows, m_out;
};

void check_weights(const char* op, const StreamedSynthetic& data, const Tensor& w) {
    detail::check_defined(op, w);
    const std::int64_t d = data.spec.d + (data.intercept ? 1 : 0);
    if (w.dim() != 1 || w.shape()[0] != d)
        throw Error(std::string(op) + ": " + synthetic_spec_str(data.spec) + " has " +
                    std::to_string(d) + " columns" + (data.intercept ? " (with the intercept)" : "") +
                    "; the weights are " + detail::describe(w));
}

}  // namespace

LinearMseResult linear_mse_streamed(const StreamedSynthetic& data, const Tensor& w, bool hessian) {
    check_weights("linear_mse_streamed", data, w);
    StreamedPass pass(data, w.dtype(), w.device(), hessian);
    LinearMseResult r;
    r.loss = empty({}, w.dtype(), w.device());
    r.grad = empty({pass.d()}, w.dtype(), w.device());
    detail::Array h;
    if (hessian) {
        r.hessian = empty({pass.d(), pass.d()}, w.dtype(), w.device());
        h = detail::array_of(r.hessian);
    }
    pass.run(w.detach(), detail::array_of(r.loss), detail::array_of(r.grad), hessian ? &h : nullptr);
    return r;
}

TrainResult train_linear_streamed(const StreamedSynthetic& data, optim::Optimizer& optimizer,
                                  const TrainOptions& options) {
    if (optimizer.params().size() != 1)
        throw Error("train_linear_streamed: the optimizer must hold exactly one parameter (the "
                    "weights), it holds " + std::to_string(optimizer.params().size()));
    const Tensor w = optimizer.params()[0];
    check_weights("train_linear_streamed", data, w);
    auto pass = std::make_shared<StreamedPass>(data, w.dtype(), w.device(), optimizer.needs_hessian());
    detail::TrainSource source;
    source.n = pass->n();
    source.d = pass->d();
    source.full_pass = [pass](const Tensor& weights, detail::Array loss, detail::Array grad,
                              const detail::Array* hessian) { pass->run(weights, loss, grad, hessian); };
    source.lambda_max = [data, w] {
        const Tensor zero = zeros(w.shape(), w.dtype(), w.device());
        const LinearMseResult r = linear_mse_streamed(data, zero, true);
        return symmetric_max_eigenvalue(r.hessian.to_vector<double>(), w.numel());
    };
    return detail::train_linear(source, optimizer, options);
}

}  // namespace descent
