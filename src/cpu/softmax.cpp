// CPU backend: the fused softmax-regression pass (twin of kernels/softmax.cu): the mean
// cross-entropy of X W against class-index labels and its gradient Xᵀ(softmax(X W) - onehot)/n
// in one read of X, with no (n, k) temporaries. Built like the linear-MSE and logistic passes:
// fixed blocks of kRowBlock rows, OpenMP over blocks, each block's partial sums in double over
// the shared per-row body (shared/softmax_row.hpp), combined in block order, so the results
// are bitwise identical for any thread count.
// Verified by tests/test_fused_classification.cpp.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/row_blocks.hpp"
#include "shared/dtype_visit.hpp"
#include "shared/softmax_row.hpp"

namespace descent::detail {

namespace {

// The blocks a distributed pass shares (shared/block_tree.hpp).
constexpr std::int64_t kRowBlock = kBlockRows;

// Partial sums of rows [0, rows) into out = [loss, grad (d, k)], zeroed by the caller.
// z is scratch for k doubles.
template <class T>
void softmax_block(const T* x, const T* labels, const T* W, std::int64_t rows, std::int64_t d,
                   std::int64_t k, double* z, double* out) {
    double* grad = out + 1;
    double loss = 0.0;
    for (std::int64_t i = 0; i < rows; ++i) {
        const T* row = x + i * d;
        softmax_row_logits(row, W, d, k, z);
        loss += softmax_row_residuals(z, k, softmax_label(labels[i]));
        for (std::int64_t j = 0; j < d; ++j) {
            const double xj = double(row[j]);
            double* gj = grad + j * k;
            for (std::int64_t c = 0; c < k; ++c) gj[c] += xj * z[c];
        }
    }
    out[0] = loss;
}

}  // namespace

void CpuBackend::softmax_cross_entropy(Array X, Array labels, Array W, std::int64_t n,
                                       std::int64_t d, std::int64_t k, bool intercept, Array loss,
                                       Array grad, const BlockShard* shard) {
    visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(X.data);  // (n, d), or (n, d - 1) with intercept
        const T* lab = static_cast<const T*>(labels.data);  // (n)
        const T* Wv = static_cast<const T*>(W.data);        // (d, k)
        const std::int64_t entries = 1 + d * k;
        BlockRows<T> xr(x, n, kRowBlock, d, intercept);
        // k logits per thread, made before the parallel region.
        std::vector<std::vector<double>> logits(static_cast<std::size_t>(pass_max_threads()),
                                                std::vector<double>(static_cast<std::size_t>(k)));
        const std::vector<double> total =
            sum_row_blocks(n, kRowBlock, entries, [&](std::int64_t start, std::int64_t rows, double* out) {
                double* z = logits[static_cast<std::size_t>(pass_thread_index())].data();
                softmax_block(xr.rows(start, rows), lab + start, Wv, rows, d, k, z, out);
            }, shard);
        const double inv_n = 1.0 / double(shard ? shard->total_rows : n);
        *static_cast<T*>(loss.data) = static_cast<T>(total[0] * inv_n);
        T* g = static_cast<T*>(grad.data);
        for (std::int64_t e = 0; e < d * k; ++e) g[e] = static_cast<T>(total[1 + e] * inv_n);
    });
}

}  // namespace descent::detail
