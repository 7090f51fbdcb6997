// Streamed data: each pass produces the rows chunk by chunk (synthetic rows generated into
// one reusable buffer; host rows read in place on the cpu or copied to a CUDA device through
// detail::HostChunkStream, two buffers used in turn), runs the fused linear-MSE pass on each
// chunk into its own row of a (chunks, 1 + d [+ d*d]) table of chunk means, and combines the
// table with one (1 x chunks) product weighted by the chunk sizes: a fixed chunking and a
// fixed order, so a pass is deterministic. No CUDA here: the device side of host streaming
// is the backend's (src/cuda/host_chunks.cpp).
#include "descent/stream.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"
#include "train_source.hpp"

namespace descent {

namespace {

// Streamed synthetic data: the divergence report's Hessian pass is made up to this many
// columns (8 MiB of f64 on the device; a pass of n d^2 work).
constexpr std::int64_t kStreamedHessianLimit = 1024;

// The per-chunk results of a pass over n rows of d columns in chunks of `chunk` rows, and
// their combination; allocated once, on the weights' device, reused by every pass.
class ChunkTable {
public:
    // intercept: the chunks' X hold d - 1 columns, the ones column implicit (CPU).
    ChunkTable(std::int64_t n, std::int64_t d, std::int64_t chunk, bool hessian, DType dtype,
               Device device, bool intercept)
        : m_n(n), m_d(d), m_chunk(chunk), m_hessian(hessian), m_intercept(intercept) {
        m_chunks = (n + chunk - 1) / chunk;
        m_entries = 1 + d + (hessian ? d * d : 0);
        m_table = empty({m_chunks, m_entries}, dtype, device);
        std::vector<double> rows(static_cast<std::size_t>(m_chunks), double(chunk));
        rows.back() = double(n - (m_chunks - 1) * chunk);
        // The combination runs in f64 whatever the dtype, as the in-memory pass adds its block
        // partials in double: an f32 product on a GPU (cuBLAS) would add thousands of chunk
        // means in f32 and drift from the in-memory result by more than its rounding.
        m_rows = from_vector(rows, {1, m_chunks}, DType::f64, device);
        m_out = empty({m_entries}, dtype, device);
        if (dtype != DType::f64) {
            m_table64 = empty({m_chunks, m_entries}, DType::f64, device);
            m_out64 = empty({m_entries}, DType::f64, device);
        }
    }

    std::int64_t chunks() const { return m_chunks; }
    // This process's chunks [first, last) of a distributed pass (all chunks without comm).
    std::int64_t first_chunk(Communicator* comm) const { return split(comm, comm ? comm->rank() : 0); }
    std::int64_t last_chunk(Communicator* comm) const {
        return split(comm, comm ? comm->rank() + 1 : 1);
    }

    // Every process's table rows to every process: rows [first_chunk, last_chunk) of each,
    // bytes as they are (so the combination below sees the one-process table). Table on the cpu.
    void exchange(Communicator& comm) {
        const std::size_t row_bytes = dtype_size(m_table.dtype()) * static_cast<std::size_t>(m_entries);
        auto* table = static_cast<char*>(m_table.data_ptr());
        const std::int64_t mine = first_chunk(&comm);
        const std::string rows(table + mine * static_cast<std::int64_t>(row_bytes),
                               static_cast<std::size_t>(last_chunk(&comm) - mine) * row_bytes);
        const std::vector<std::string> all = comm.allgather(rows);
        for (int r = 0; r < comm.size(); ++r) {
            const std::int64_t first = split(&comm, r), count = split(&comm, r + 1) - first;
            const std::string& part = all[static_cast<std::size_t>(r)];
            if (part.size() != static_cast<std::size_t>(count) * row_bytes)
                throw Error("streamed pass: process " + std::to_string(r) + " sent " +
                            std::to_string(part.size()) + " bytes for " + std::to_string(count) +
                            " chunks (the processes stream different data)");
            std::memcpy(table + first * static_cast<std::int64_t>(row_bytes), part.data(),
                        part.size());
        }
    }
    std::int64_t chunk() const { return m_chunk; }
    std::int64_t first_row(std::int64_t c) const { return c * m_chunk; }
    std::int64_t rows_of(std::int64_t c) const { return std::min(m_chunk, m_n - c * m_chunk); }

    void check(bool hessian) const {
        if (hessian && !m_hessian) throw Error("streamed pass: built without the Hessian");
    }

    // Row c of the table = the fused pass over chunk c: X (rows_of(c), d), y (rows_of(c)).
    void pass(std::int64_t c, const Tensor& X, const Tensor& y, const Tensor& w, bool hessian) {
        const Tensor row = m_table.select(0, c);  // loss, gradient (d), Hessian (d * d)
        // The row has room for the Hessian only in a table built with it.
        detail::linear_mse_into(X, y, w, row.narrow(0, 0, 1), row.narrow(0, 1, m_d),
                                hessian ? row.narrow(0, 1 + m_d, m_d * m_d) : Tensor(),
                                m_intercept);
    }

    // loss, grad (and hessian) = the chunk means weighted by the chunk sizes, over n.
    void combine(const Tensor& loss, const Tensor& grad, const Tensor& hessian) {
        // out (1, entries) = (1/n) rows (1, chunks) @ table (chunks, entries), in f64
        const bool wide = m_table64.defined();
        if (wide) detail::copy_op(m_table64, m_table);
        detail::matmul_into(wide ? m_out64 : m_out, m_rows, wide ? m_table64 : m_table,
                            1.0 / double(m_n));
        if (wide) detail::copy_op(m_out, m_out64);
        detail::copy_op(loss, m_out.narrow(0, 0, 1).reshape(loss.shape()));
        detail::copy_op(grad, m_out.narrow(0, 1, m_d).reshape(grad.shape()));
        if (hessian.defined())
            detail::copy_op(hessian, m_out.narrow(0, 1 + m_d, m_d * m_d).reshape(hessian.shape()));
    }

private:
    // ceil(r C / K): the first chunk of process r of K (r = K: the end).
    std::int64_t split(Communicator* comm, std::int64_t r) const {
        if (!comm) return r == 0 ? 0 : m_chunks;
        const std::int64_t k = comm->size();
        return (m_chunks / k) * r + (r * (m_chunks % k) + k - 1) / k;
    }

    std::int64_t m_n, m_d, m_chunk, m_chunks = 0, m_entries = 0;
    bool m_hessian, m_intercept;
    Tensor m_table, m_rows, m_out;
    Tensor m_table64, m_out64;  // the table and result in f64, for an f32 table
};

// A streamed data set's pass, as the trainer's full_pass wants it: each source fills the chunk
// table its own way (fill_table), the combination is the same for all.
class StreamedPass {
public:
    virtual ~StreamedPass() = default;
    std::int64_t n() const { return m_n; }
    std::int64_t d() const { return m_d; }

    void run(const Tensor& w, const Tensor& loss, const Tensor& grad, const Tensor& hessian) {
        m_table->check(hessian.defined());
        fill_table(w, hessian.defined());
        if (m_comm) m_table->exchange(*m_comm);
        m_table->combine(loss, grad, hessian);
    }

protected:
    // n rows of d columns, in chunks of chunk_rows (at most n), on `device`.
    void init(std::int64_t n, std::int64_t d, std::int64_t chunk_rows, bool hessian, DType dtype,
              Device device, bool intercept = false) {
        m_n = n;
        m_d = d;
        m_table = std::make_unique<ChunkTable>(n, d, std::min(chunk_rows, n), hessian, dtype,
                                               device, intercept);
    }
    // Row c of the table for every chunk c (ChunkTable::pass).
    virtual void fill_table(const Tensor& w, bool hessian) = 0;

    std::int64_t m_n = 0, m_d = 0;
    std::unique_ptr<ChunkTable> m_table;
    Communicator* m_comm = nullptr;  // a distributed pass: fill_table fills this process's chunks
};

// Synthetic rows, generated chunk by chunk on the weights' device into one buffer.
class SyntheticPass final : public StreamedPass {
public:
    SyntheticPass(const StreamedSynthetic& data, DType dtype, Device device, bool hessian,
                  Communicator* comm = nullptr)
        : m_data(data) {
        m_comm = comm;
        if (comm && !device.is_cpu())
            throw Error("streamed " + synthetic_spec_str(data.spec) + ": a distributed pass runs "
                        "on the cpu; the weights are on " + device.str());
        const SyntheticSpec& s = data.spec;
        if (data.chunk_rows < 1)
            throw Error("streamed " + synthetic_spec_str(s) + ": chunk_rows must be >= 1, got " +
                        std::to_string(data.chunk_rows));
        const std::vector<double> truth = synthetic_true_weights(s, data.intercept, dtype);
        init(s.n, static_cast<std::int64_t>(truth.size()), data.chunk_rows, hessian, dtype, device);
        m_truth = from_vector(truth, {m_d}, DType::f64, device);
        m_X = empty({m_table->chunk(), m_d}, dtype, device);
        m_y = empty({m_table->chunk()}, dtype, device);
    }

private:
    void fill_table(const Tensor& w, bool hessian) override {
        detail::SyntheticRows rows;
        rows.seed = m_data.spec.seed;
        rows.noise = m_data.spec.noise;
        rows.features = m_data.spec.d;
        rows.intercept = m_data.intercept;
        rows.truth = static_cast<const double*>(m_truth.data_ptr());
        const std::int64_t last = m_table->last_chunk(m_comm);
        for (std::int64_t c = m_table->first_chunk(m_comm); c < last; ++c) {
            const std::int64_t count = m_table->rows_of(c);
            const Tensor X = m_X.narrow(0, 0, count), y = m_y.narrow(0, 0, count);
            detail::synthetic_rows_into(rows, m_table->first_row(c), X, y);
            m_table->pass(c, X, y, w, hessian);
        }
    }

    StreamedSynthetic m_data;
    Tensor m_truth, m_X, m_y;
};

// Rows held in host memory: read in place on the cpu; on another device, copied chunk by
// chunk through a detail::HostChunkStream (two device buffers, the next chunk's copy
// overlapping this chunk's work).
class HostPass final : public StreamedPass {
public:
    HostPass(const StreamedHost& data, Device device, bool hessian) : m_data(data) {
        init(data.X.shape()[0], data.X.shape()[1] + (data.fit_intercept ? 1 : 0), data.chunk_rows,
             hessian, data.X.dtype(), device, data.fit_intercept);
        const std::int64_t chunk = m_table->chunk();
        if (!device.is_cpu())
            m_chunks = std::make_unique<detail::HostChunkStream>(data.X, data.y, chunk,
                                                                 data.pin_in_place, device);
    }

private:
    void fill_table(const Tensor& w, bool hessian) override {
        const std::int64_t chunks = m_table->chunks();
        if (!m_chunks) {
            for (std::int64_t c = 0; c < chunks; ++c) {
                const std::int64_t begin = m_table->first_row(c), count = m_table->rows_of(c);
                m_table->pass(c, m_data.X.narrow(0, begin, count),
                              m_data.y.narrow(0, begin, count), w, hessian);
            }
        } else {
            // An exception in the middle leaves copies in flight: abandon() lets them finish
            // (and marks the buffers free after the work queued so far) before it propagates.
            struct Abandon {
                detail::HostChunkStream& chunks;
                bool armed = true;
                ~Abandon() {
                    if (armed) chunks.abandon();
                }
            } guard{*m_chunks};
            m_chunks->fetch(0);
            for (std::int64_t c = 0; c < chunks; ++c) {
                const auto [X, y] = m_chunks->acquire(c);
                m_table->pass(c, X, y, w, hessian);
                m_chunks->release(c);
                if (c + 1 < chunks) m_chunks->fetch(c + 1);  // overlaps the work on chunk c
            }
            guard.armed = false;
        }
    }

    StreamedHost m_data;  // holds X and y (their storage) for as long as the pass lives
    // Declared after m_data, so destroyed first: its copies in flight read X and y.
    std::unique_ptr<detail::HostChunkStream> m_chunks;  // null on the cpu
};

void check_weights(const char* op, const StreamedSynthetic& data, const Tensor& w) {
    detail::check_defined(op, w);
    const std::int64_t d = data.spec.d + (data.intercept ? 1 : 0);
    if (w.dim() != 1 || w.shape()[0] != d)
        throw Error(std::string(op) + ": " + synthetic_spec_str(data.spec) + " has " +
                    std::to_string(d) + " columns" + (data.intercept ? " (with the intercept)" : "") +
                    "; the weights are " + detail::describe(w));
}

void check_weights(const char* op, const StreamedHost& data, const Tensor& w) {
    detail::check_defined(op, w);
    const std::string where = std::string(op) + ": streamed host data: ";
    if (!data.X.defined() || !data.y.defined())
        throw Error(where + "X and y must be defined; got X " + detail::describe(data.X) +
                    ", y " + detail::describe(data.y));
    if (!data.X.device().is_cpu() || !data.y.device().is_cpu())
        throw Error(where + "X and y must be in host memory (on the cpu); got X " +
                    detail::describe(data.X) + ", y " + detail::describe(data.y));
    if (data.X.dim() != 2 || data.y.dim() != 1 || data.y.shape()[0] != data.X.shape()[0] ||
        data.X.numel() == 0)
        throw Error(where + "expects X (n, d) and y (n) with n, d >= 1; got X " +
                    shape_str(data.X.shape()) + ", y " + shape_str(data.y.shape()));
    if (data.X.dtype() != w.dtype() || data.y.dtype() != w.dtype())
        throw Error(where + "the data must be of the weights' dtype; X is " +
                    dtype_name(data.X.dtype()) + ", y is " + dtype_name(data.y.dtype()) +
                    ", the weights are " + dtype_name(w.dtype()));
    const std::int64_t d = data.X.shape()[1] + (data.fit_intercept ? 1 : 0);
    if (w.dim() != 1 || w.shape()[0] != d)
        throw Error(where + "X " + shape_str(data.X.shape()) + " has " +
                    std::to_string(data.X.shape()[1]) + " columns" +
                    (data.fit_intercept ? " and fit_intercept (one more weight)" : "") +
                    "; the weights are " + detail::describe(w));
    if (data.fit_intercept && !w.device().is_cpu())
        throw Error(where + "fit_intercept (the ones column implicit) streams on the cpu only; "
                    "the weights are " + detail::describe(w) +
                    "; store the ones column in X for another device");
    if (data.chunk_rows < 1)
        throw Error(where + "chunk_rows must be >= 1, got " + std::to_string(data.chunk_rows));
}

LinearMseResult run_once(StreamedPass& pass, const Tensor& w, bool hessian) {
    LinearMseResult r;
    r.loss = empty({}, w.dtype(), w.device());
    r.grad = empty({pass.d()}, w.dtype(), w.device());
    if (hessian) r.hessian = empty({pass.d(), pass.d()}, w.dtype(), w.device());
    pass.run(w.detach(), r.loss, r.grad, r.hessian);
    return r;
}

const Tensor& only_param(const optim::Optimizer& optimizer) {
    if (optimizer.params().size() != 1)
        throw Error("train_linear_streamed: the optimizer must hold exactly one parameter (the "
                    "weights), it holds " + std::to_string(optimizer.params().size()));
    return optimizer.params()[0];
}

TrainResult train_on(std::shared_ptr<StreamedPass> pass, std::function<LinearMseCurvature()> curvature,
                     optim::Optimizer& optimizer, const TrainOptions& options) {
    Tensor w = only_param(optimizer);
    const Tensor grad = empty(w.shape(), w.dtype(), w.device());  // reused by every pass
    detail::TrainSource source;
    source.n = pass->n();
    source.params = {w};
    source.capturable = false;  // chunks: a streamed pass is never captured
    source.collective = options.parallel.communicator != nullptr;
    source.full_pass = [pass, w, grad](const Tensor& loss, const Tensor& hessian) mutable {
        pass->run(w, loss, grad, hessian);
        w.set_grad(grad);
    };
    source.zero_loss = [pass, w]() {
        const Tensor l = empty({1}, w.dtype(), w.device());
        const Tensor g = empty(w.shape(), w.dtype(), w.device());
        pass->run(zeros(w.shape(), w.dtype(), w.device()), l, g, Tensor());
        return l.to_vector<double>()[0];
    };
    source.curvature = std::move(curvature);
    return detail::train_loop(source, optimizer, options);
}

}  // namespace

LinearMseResult linear_mse_streamed(const StreamedSynthetic& data, const Tensor& w, bool hessian,
                                    Communicator* comm) {
    check_weights("linear_mse_streamed", data, w);
    SyntheticPass pass(data, w.dtype(), w.device(), hessian, comm);
    return run_once(pass, w, hessian);
}

TrainResult train_linear_streamed(const StreamedSynthetic& data, optim::Optimizer& optimizer,
                                  const TrainOptions& options) {
    const Tensor w = only_param(optimizer);
    check_weights("train_linear_streamed", data, w);
    Communicator* comm = options.parallel.communicator;
    auto pass = std::make_shared<SyntheticPass>(data, w.dtype(), w.device(),
                                                optimizer.needs_hessian(), comm);
    return train_on(pass, [data, w, comm] {
        // The Hessian pass costs n d^2 and d^2 memory: beyond kStreamedHessianLimit columns
        // the report goes without λmax and the column scales.
        if (w.numel() > kStreamedHessianLimit) return LinearMseCurvature{};
        const Tensor zero = zeros(w.shape(), w.dtype(), w.device());
        const LinearMseResult r = linear_mse_streamed(data, zero, true, comm);
        return linear_mse_curvature_of_hessian(r.hessian.to_vector<double>(), w.numel());
    }, optimizer, options);
}

LinearMseResult linear_mse_streamed(const StreamedHost& data, const Tensor& w, bool hessian) {
    check_weights("linear_mse_streamed", data, w);
    HostPass pass(data, w.device(), hessian);
    return run_once(pass, w, hessian);
}

TrainResult train_linear_streamed(const StreamedHost& data, optim::Optimizer& optimizer,
                                  const TrainOptions& options) {
    const Tensor w = only_param(optimizer);
    check_weights("train_linear_streamed", data, w);
    if (options.parallel.communicator)
        throw Error("train_linear_streamed: host data is not streamed across processes (a "
                    "process's rows are whole blocks, not whole chunks); train the rows in "
                    "memory (train_linear with options.parallel) or stream synthetic data");
    auto pass = std::make_shared<HostPass>(data, w.device(), optimizer.needs_hessian());
    // From the host data on the cpu: no second set of device buffers, no second registration.
    const Tensor X = data.X;
    const bool fit_intercept = data.fit_intercept;
    return train_on(pass, [X, fit_intercept] { return linear_mse_curvature(X, fit_intercept); },
                    optimizer, options);
}

}  // namespace descent
