// The one-pass softmax-regression step on the device (twin of src/cpu/softmax.cpp): the mean
// cross-entropy of Z = X W against class-index labels and its gradient Xᵀ(softmax(Z) -
// onehot)/n, with the per-row body of shared/softmax_row.hpp (the CPU's formula). Deterministic
// like kernels/linear_mse.cu: fixed grids and row assignment, per-block partials combined by
// fixed trees, no floating-point atomics; the structure depends only on (n, d, k).
//
// Tiled kernel (the common case: 1 + d k entries within 2304 and a tile of 32+ rows, the
// weights and the rows' k residuals in 40 KiB of shared memory): tiles of rows staged in
// shared memory; thread r computes row r's logits, loss and residuals p - onehot into shared
// memory; then each thread adds the tile's contribution to the output entries it owns.
// Wide path (larger d k): Z = X W by cuBLAS into an (n, k) buffer, a row kernel turns each
// row into its residuals in place and sums the loss per fixed chunk, then Xᵀ R / n by cuBLAS.
// Verified by the CUDA parity suite against the CPU backend (tests/test_cuda_parity.cpp).
#include <cstdint>

#include "kernels.hpp"
#include "block_partials.cuh"
#include "reduce.cuh"
#include "shared/softmax_row.hpp"

namespace descent::kernels {

namespace {

constexpr int kReduceBlocks = 1024;
constexpr int kMaxEntriesPerThread = 9;
constexpr std::int64_t kTileBytes = 40 * 1024;
constexpr std::int64_t kWideChunk = kThreads * 16;

template <class T>
__device__ void write_entry(std::int64_t e, double total, std::int64_t n, T* loss, T* grad) {
    const double v = total * (1.0 / double(n));
    if (e == 0)
        *loss = static_cast<T>(v);
    else
        grad[e - 1] = static_cast<T>(v);
}

// Entries: 0 the loss, 1 + j k + c the gradient entry (j, c). Work items (entry, row group)
// as in kernels/linear_mse.cu's tile kernel.
template <class T>
__global__ void softmax_tile_kernel(const T* X, const T* labels, const T* W, std::int64_t n,
                                    std::int64_t d, std::int64_t k, int rows_per_tile, int groups,
                                    std::int64_t entries, double* partials, bool finalize,
                                    T* loss, T* grad, int tiles_per_block) {
    extern __shared__ double smem[];
    double* loss_r = smem;                                // (rows_per_tile)
    double* resid = loss_r + rows_per_tile;               // (rows_per_tile, k)
    T* W_s = reinterpret_cast<T*>(resid + rows_per_tile * k);  // (d, k)
    T* tile = W_s + d * k + ((d * k) & 1);                // (rows_per_tile, d + 1), padded
    const int stride = static_cast<int>(d) + 1;
    const int di = static_cast<int>(d);

    for (std::int64_t i = threadIdx.x; i < d * k; i += kThreads) W_s[i] = W[i];

    const std::int64_t items = entries * groups;
    int eg[kMaxEntriesPerThread], ej[kMaxEntriesPerThread], ec[kMaxEntriesPerThread];
    double acc[kMaxEntriesPerThread];
    for (int m = 0; m < kMaxEntriesPerThread; ++m) {
        const std::int64_t q = threadIdx.x + std::int64_t(m) * kThreads;
        acc[m] = 0.0;
        ej[m] = -2;  // unused
        eg[m] = 0;
        ec[m] = 0;
        if (q >= items) continue;
        const std::int64_t e = q % entries;
        eg[m] = static_cast<int>(q / entries);
        if (e == 0) {
            ej[m] = -1;  // the loss
        } else {
            ej[m] = static_cast<int>((e - 1) / k);
            ec[m] = static_cast<int>((e - 1) % k);
        }
    }

    const std::int64_t n_tiles = (n + rows_per_tile - 1) / rows_per_tile;
    const TileRange tiles = tiles_of_block(n_tiles, tiles_per_block);
    for (std::int64_t t = tiles.first; t < tiles.end; t += tiles.step) {
        const std::int64_t start = t * rows_per_tile;
        const int rows = static_cast<int>(min(std::int64_t(rows_per_tile), n - start));
        const T* src = X + start * d;
        __syncthreads();  // the previous tile is no longer read
        const int count = rows * di;
        for (int i = threadIdx.x; i < count; i += kThreads) {
            const int r = i / di;
            tile[r * stride + (i - r * di)] = src[i];
        }
        __syncthreads();
        for (int r = threadIdx.x; r < rows; r += kThreads) {
            double* z = resid + std::int64_t(r) * k;
            detail::softmax_row_logits(tile + r * stride, W_s, d, k, z);
            loss_r[r] = detail::softmax_row_residuals(z, k, detail::softmax_label(labels[start + r]));
        }
        __syncthreads();
        for (int m = 0; m < kMaxEntriesPerThread; ++m) {
            if (ej[m] == -2) continue;
            double a = 0.0;
            if (ej[m] == -1) {
                for (int r = eg[m]; r < rows; r += groups) a += loss_r[r];
            } else {
                for (int r = eg[m]; r < rows; r += groups)
                    a += double(tile[r * stride + ej[m]]) * resid[std::int64_t(r) * k + ec[m]];
            }
            acc[m] += a;
        }
    }

    __syncthreads();
    for (int m = 0; m < kMaxEntriesPerThread; ++m) {
        const std::int64_t q = threadIdx.x + std::int64_t(m) * kThreads;
        if (q < items) smem[q] = acc[m];
    }
    __syncthreads();
    for (std::int64_t e = threadIdx.x; e < entries; e += kThreads) {
        double total = 0.0;
        for (int g = 0; g < groups; ++g) total += smem[g * entries + e];
        if (finalize)
            write_entry(e, total, n, loss, grad);
        else
            partials[blockIdx.x * entries + e] = total;
    }
}

template <class T>
__global__ void softmax_final_kernel(const double* partials, int n_blocks, std::int64_t entries,
                                     std::int64_t n, T* loss, T* grad) {
    __shared__ double shared[kThreads];
    const std::int64_t e = blockIdx.x;
    double acc = 0.0;
    for (int b = threadIdx.x; b < n_blocks; b += kThreads) acc += partials[b * entries + e];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) write_entry(e, total, n, loss, grad);
}

// Wide path: Z (n, k) holds the logits on entry and the residuals on exit, row by row with
// softmax_row_residuals's arithmetic (the max, then the exps and their sum, then the
// residuals; the exps are formed again rather than kept); the loss per fixed chunk of rows.
template <class T>
__global__ void softmax_wide_rows_kernel(T* Z, const T* labels, std::int64_t n, std::int64_t k,
                                         std::int64_t chunk, double* partials) {
    __shared__ double shared[kThreads];
    const std::int64_t start = blockIdx.x * chunk;
    const std::int64_t stop = min(n, start + chunk);
    double acc = 0.0;
    for (std::int64_t i = start + threadIdx.x; i < stop; i += kThreads) {
        T* row = Z + i * k;
        const std::int64_t label = detail::softmax_label(labels[i]);
        double m = double(row[0]);
        for (std::int64_t c = 1; c < k; ++c) m = double(row[c]) > m ? double(row[c]) : m;
        const double margin = m - double(row[label]);
        double s = 0.0;
        for (std::int64_t c = 0; c < k; ++c) s += detail::exp_nonpositive(double(row[c]) - m);
        const double inv_s = 1.0 / s;
        for (std::int64_t c = 0; c < k; ++c)
            row[c] = static_cast<T>(detail::exp_nonpositive(double(row[c]) - m) * inv_s -
                                    (c == label ? 1.0 : 0.0));
        acc += margin + log(s);
    }
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
__global__ void softmax_loss_final_kernel(const double* partials, int n_partials, std::int64_t n,
                                          T* loss) {
    __shared__ double shared[kThreads];
    double acc = 0.0;
    for (int b = threadIdx.x; b < n_partials; b += kThreads) acc += partials[b];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) *loss = static_cast<T>(total / double(n));
}

}  // namespace

SoftmaxPlan plan_softmax(DType dtype, std::int64_t n, std::int64_t d, std::int64_t k) {
    SoftmaxPlan plan;
    const std::int64_t elem = static_cast<std::int64_t>(dtype_size(dtype));
    const std::int64_t fixed = elem * (d * k + 1);  // the weights, padded
    std::int64_t rows = fixed >= kTileBytes ? 0 : (kTileBytes - fixed) / ((d + 1) * elem + 8 * (k + 1));
    rows = std::min<std::int64_t>(kThreads, rows / 32 * 32);
    const std::int64_t entries = 1 + d * k;
    if (rows >= 32 && entries <= std::int64_t(kThreads) * kMaxEntriesPerThread) {
        plan.tiled = true;
        plan.entries = entries;
        plan.rows_per_tile = static_cast<int>(rows);
        const std::int64_t n_tiles = (n + rows - 1) / rows;
        plan.grid = static_cast<int>(std::min<std::int64_t>(kReduceBlocks, n_tiles));
        plan.groups = static_cast<int>(std::max<std::int64_t>(
            1, std::min<std::int64_t>(std::int64_t(kThreads) * kMaxEntriesPerThread / entries,
                                      rows / 8)));
        const std::size_t tile_bytes = static_cast<std::size_t>(
            8 * rows * (k + 1) + elem * (d * k + ((d * k) & 1)) + elem * rows * (d + 1));
        const std::size_t group_bytes = static_cast<std::size_t>(8 * entries * plan.groups);
        plan.shared_bytes = std::max(tile_bytes, group_bytes);
        plan.scratch_doubles = plan.grid == 1 ? 0 : std::int64_t(plan.grid) * entries;
    } else {
        plan.tiled = false;
        plan.grid = static_cast<int>((n + kWideChunk - 1) / kWideChunk);
        plan.scratch_doubles = plan.grid;  // the loss partials
        plan.logits_bytes = static_cast<std::size_t>(n * k * elem);
    }
    return plan;
}

void softmax_cross_entropy(cublasHandle_t handle, const SoftmaxPlan& plan, Array X, Array labels,
                           Array W, std::int64_t n, std::int64_t d, std::int64_t k, Array loss,
                           Array grad, double* scratch, void* logits, cudaStream_t stream) {
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* Xp = static_cast<const T*>(X.data);
        const T* lp = static_cast<const T*>(labels.data);
        T* loss_p = static_cast<T*>(loss.data);
        T* grad_p = static_cast<T*>(grad.data);
        if (plan.tiled) {
            const bool finalize = plan.grid == 1;
            softmax_tile_kernel<T><<<plan.grid, kThreads, plan.shared_bytes, stream>>>(
                Xp, lp, static_cast<const T*>(W.data), n, d, k, plan.rows_per_tile, plan.groups,
                plan.entries, scratch, finalize, loss_p, grad_p, 0);
            DESCENT_CUDA_CHECK_LAUNCH("softmax_tile_kernel");
            if (finalize) return;
            softmax_final_kernel<T><<<static_cast<unsigned>(plan.entries), kThreads, 0, stream>>>(
                scratch, plan.grid, plan.entries, n, loss_p, grad_p);
            DESCENT_CUDA_CHECK_LAUNCH("softmax_final_kernel");
            return;
        }
        T* Z = static_cast<T*>(logits);
        const Array Z_arr{Z, X.dtype, n * k, X.device_index};
        gemm(handle, false, false, n, k, d, 1.0, X, W, Z_arr);  // Z = X W
        softmax_wide_rows_kernel<T><<<plan.grid, kThreads, 0, stream>>>(
            Z, lp, n, k, kWideChunk, scratch);
        DESCENT_CUDA_CHECK_LAUNCH("softmax_wide_rows_kernel");
        softmax_loss_final_kernel<T><<<1, kThreads, 0, stream>>>(scratch, plan.grid, n, loss_p);
        DESCENT_CUDA_CHECK_LAUNCH("softmax_loss_final_kernel");
        gemm(handle, true, false, d, k, n, 1.0 / double(n), X, Z_arr, grad);  // Xᵀ R / n
    });
}

BlockPartialsPlan plan_softmax_blocks(DType dtype, std::int64_t n, std::int64_t d, std::int64_t k,
                                      std::int64_t block_rows) {
    const std::int64_t elem = static_cast<std::int64_t>(dtype_size(dtype));
    const std::int64_t fixed = elem * (d * k + 1);
    std::int64_t rows = fixed >= kTileBytes ? 0 : (kTileBytes - fixed) / ((d + 1) * elem + 8 * (k + 1));
    rows = std::min<std::int64_t>(kThreads, rows / 32 * 32);
    return plan_block_partials(n, block_rows, rows, 1 + d * k, kMaxEntriesPerThread, true,
                               [&](std::int64_t r) {
                                   return static_cast<std::size_t>(
                                       8 * r * (k + 1) + elem * (d * k + ((d * k) & 1)) +
                                       elem * r * (d + 1));
                               });
}

void softmax_blocks(const BlockPartialsPlan& plan, Array X, Array labels, Array W, std::int64_t n,
                    std::int64_t d, std::int64_t k, double* partials, cudaStream_t stream) {
    if (plan.blocks == 0) return;
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        softmax_tile_kernel<T><<<plan.blocks, kThreads, plan.shared_bytes, stream>>>(
            static_cast<const T*>(X.data), static_cast<const T*>(labels.data),
            static_cast<const T*>(W.data), n, d, k, plan.rows_per_tile, plan.groups, plan.entries,
            partials, false, nullptr, nullptr, plan.tiles_per_block);
        DESCENT_CUDA_CHECK_LAUNCH("softmax_tile_kernel (block partials)");
    });
}

void softmax_finish(const double* root, std::int64_t entries, std::int64_t n_total, Array loss,
                    Array grad, cudaStream_t stream) {
    detail::visit_dtype(loss.dtype, [&](auto t) {
        using T = decltype(t);
        softmax_final_kernel<T><<<static_cast<unsigned>(entries), kThreads, 0, stream>>>(
            root, 1, entries, n_total, static_cast<T*>(loss.data), static_cast<T*>(grad.data));
        DESCENT_CUDA_CHECK_LAUNCH("softmax_final_kernel (distributed)");
    });
}

}  // namespace descent::kernels
