// The one-pass logistic-regression step on the device (twin of src/cpu/logistic.cpp): loss
// 1/n Σ loss_i, gradient 1/n Σ (σ(z_i) - y_i) x_i and, for Newton (IRLS), the Hessian
// 1/n Σ σ(z_i)(1 - σ(z_i)) x_i x_iᵀ, z_i = x_i·w, with the per-row terms of
// shared/logistic_row.hpp (logistic_row_terms: its exp and log1p; the CPU computes e and the
// loss's log1p parts its own faster way, so the two agree to ~1e-15). Built like
// kernels/linear_mse.cu, and deterministic the same way: fixed grids, fixed row-to-thread
// assignment, per-block partials combined by fixed trees, no floating-point atomics; the
// structure depends only on (n, d).
//
// Rows kernel (gradient only, d in {1, 2, 3, 4, 8, 16, 32}): one thread per row over a fixed
// grid-stride, the row loaded straight from global memory, the loss and gradient sums in
// registers, reduced over the block by the fixed tree.
// Tiled kernel (the Hessian for d <= 64, or other widths): tiles of rows staged in shared
// memory; each row's terms computed once into shared memory; then each thread adds the
// tile's contribution to the output entries it owns (loss, gradient, packed upper triangle).
// Wide path (X too wide for a tile, or the Hessian for d > 64): z = X w by cuBLAS, the terms
// by a row kernel (r over z in place, h beside it, the loss by fixed chunks), then Xᵀ r and
// (diag(h) X)ᵀ X by cuBLAS.
// Verified by the CUDA parity suite against the CPU backend (tests/test_cuda_parity.cpp).
#include <cstdint>
#include <string>

#include "descent/error.hpp"
#include "kernels.hpp"
#include "block_partials.cuh"
#include "reduce.cuh"
#include "shared/logistic_row.hpp"

namespace descent::kernels {

namespace {

constexpr int kReduceBlocks = 1024;       // fixed: the reduction tree must not depend on the GPU
constexpr int kMaxEntriesPerThread = 9;   // 9 * 256 = 2304 >= 1 + 64 + 64*65/2
constexpr std::int64_t kTileBytes = 40 * 1024;
constexpr std::int64_t kMaxFusedHessianD = 64;
constexpr std::int64_t kWideChunk = kThreads * 64;

// Packed upper-triangle index p -> (j, k), k >= j, rows of length d, d-1, ...
__host__ __device__ inline void triangle_entry(std::int64_t p, std::int64_t d, std::int64_t& j,
                                               std::int64_t& k) {
    j = 0;
    while (p >= d - j) {
        p -= d - j;
        ++j;
    }
    k = j + p;
}

// Writes entry e's output from its total: the loss, a gradient entry, or (both triangles of)
// a Hessian entry, each the total over n.
template <class T>
__device__ void write_entry(std::int64_t e, double total, std::int64_t n, std::int64_t d, T* loss,
                            T* grad, T* hess) {
    const double v = total * (1.0 / double(n));
    if (e == 0) {
        *loss = static_cast<T>(v);
    } else if (e <= d) {
        grad[e - 1] = static_cast<T>(v);
    } else {
        std::int64_t j, k;
        triangle_entry(e - 1 - d, d, j, k);
        hess[j * d + k] = static_cast<T>(v);
        hess[k * d + j] = static_cast<T>(v);
    }
}

// As linear_mse_tile_kernel: work items (entry e, row group g), thread t owns items t,
// t + kThreads, ...; each item sums rows g, g + groups, ... of every tile; the groups of each
// entry are added in group order at the end. Per tile, thread r < rows computes row r's
// terms (shared/logistic_row.hpp) into shared memory first.
template <class T>
__global__ void logistic_tile_kernel(const T* X, const T* y, const T* w, std::int64_t n,
                                     std::int64_t d, int rows_per_tile, int groups,
                                     std::int64_t entries, double* partials, bool finalize,
                                     T* loss, T* grad, T* hess, int tiles_per_block) {
    extern __shared__ double smem[];
    double* loss_r = smem;                                   // (rows_per_tile)
    double* r_r = loss_r + rows_per_tile;                    // (rows_per_tile) σ - y
    double* h_r = r_r + rows_per_tile;                       // (rows_per_tile) σ (1 - σ)
    T* w_s = reinterpret_cast<T*>(h_r + rows_per_tile);      // (d)
    T* tile = w_s + d + (d & 1);                             // (rows_per_tile, d + 1), padded
    const int stride = static_cast<int>(d) + 1;              // breaks shared-memory bank conflicts
    const int di = static_cast<int>(d);

    for (std::int64_t j = threadIdx.x; j < d; j += kThreads) w_s[j] = w[j];

    const std::int64_t items = entries * groups;
    int eg[kMaxEntriesPerThread], ej[kMaxEntriesPerThread], ek[kMaxEntriesPerThread];
    double acc[kMaxEntriesPerThread];
    for (int m = 0; m < kMaxEntriesPerThread; ++m) {
        const std::int64_t q = threadIdx.x + std::int64_t(m) * kThreads;
        acc[m] = 0.0;
        ej[m] = -2;  // unused
        eg[m] = 0;
        ek[m] = -1;
        if (q >= items) continue;
        const std::int64_t e = q % entries;
        eg[m] = static_cast<int>(q / entries);
        if (e == 0) {
            ej[m] = -1;  // the loss
        } else if (e <= d) {
            ej[m] = static_cast<int>(e - 1);  // a gradient entry (ek = -1)
        } else {
            std::int64_t j, k;
            triangle_entry(e - 1 - d, d, j, k);
            ej[m] = static_cast<int>(j);
            ek[m] = static_cast<int>(k);
        }
    }

    const std::int64_t n_tiles = (n + rows_per_tile - 1) / rows_per_tile;
    const TileRange tiles = tiles_of_block(n_tiles, tiles_per_block);
    for (std::int64_t t = tiles.first; t < tiles.end; t += tiles.step) {
        const std::int64_t start = t * rows_per_tile;
        const int rows = static_cast<int>(min(std::int64_t(rows_per_tile), n - start));
        const T* src = X + start * d;
        __syncthreads();  // the previous tile is no longer read
        const int count = rows * di;  // <= 40 KiB of elements: 32-bit index math
        for (int i = threadIdx.x; i < count; i += kThreads) {
            const int r = i / di;
            tile[r * stride + (i - r * di)] = src[i];  // coalesced read of the tile
        }
        __syncthreads();
        for (int r = threadIdx.x; r < rows; r += kThreads) {
            const double z = detail::logistic_row_logit(tile + r * stride, w_s, d);
            const detail::LogisticTerms terms = detail::logistic_row_terms(z, double(y[start + r]));
            loss_r[r] = terms.loss;
            r_r[r] = terms.r;
            h_r[r] = terms.h;
        }
        __syncthreads();
        for (int m = 0; m < kMaxEntriesPerThread; ++m) {
            if (ej[m] == -2) continue;
            double a = 0.0;
            if (ej[m] == -1) {
                for (int r = eg[m]; r < rows; r += groups) a += loss_r[r];
            } else if (ek[m] == -1) {
                for (int r = eg[m]; r < rows; r += groups)
                    a += r_r[r] * double(tile[r * stride + ej[m]]);
            } else {
                for (int r = eg[m]; r < rows; r += groups)
                    a += (h_r[r] * double(tile[r * stride + ej[m]])) * double(tile[r * stride + ek[m]]);
            }
            acc[m] += a;
        }
    }

    // Add each entry's groups in group order (the tile memory is free again).
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
            write_entry(e, total, n, d, loss, grad, hess);
        else
            partials[blockIdx.x * entries + e] = total;
    }
}

// Gradient-only pass for a compile-time d: one thread per row (row i to thread i mod
// (grid x kThreads)), 16-byte loads where rows are 16-byte aligned, the loss and gradient
// sums in registers, each reduced over the block by the fixed tree.
template <class T, int D, bool vector_loads>
__global__ void logistic_rows_kernel(const T* X, const T* y, const T* w, std::int64_t n,
                                     double* partials, bool finalize, T* loss, T* grad) {
    __shared__ double shared[kThreads];
    __shared__ double w_s[D];
    for (int j = threadIdx.x; j < D; j += kThreads) w_s[j] = double(w[j]);
    __syncthreads();
    double loss_sum = 0.0, grad_sum[D];
#pragma unroll
    for (int j = 0; j < D; ++j) grad_sum[j] = 0.0;
    const std::int64_t step = std::int64_t(gridDim.x) * kThreads;
    for (std::int64_t i = blockIdx.x * std::int64_t(kThreads) + threadIdx.x; i < n; i += step) {
        T row[D];
        if constexpr (vector_loads) {
            const uint4* src = reinterpret_cast<const uint4*>(X + i * D);
#pragma unroll
            for (int v = 0; v < int(D * sizeof(T) / 16); ++v) {
                const uint4 chunk = src[v];
                memcpy(reinterpret_cast<char*>(row) + 16 * v, &chunk, 16);
            }
        } else {
#pragma unroll
            for (int j = 0; j < D; ++j) row[j] = X[i * D + j];
        }
        double xd[D];
#pragma unroll
        for (int j = 0; j < D; ++j) xd[j] = double(row[j]);
        const double z = detail::logistic_row_logit(xd, w_s, D);
        const detail::LogisticTerms terms = detail::logistic_row_terms(z, double(y[i]));
        loss_sum += terms.loss;
#pragma unroll
        for (int j = 0; j < D; ++j) grad_sum[j] += terms.r * xd[j];
    }
    for (int e = 0; e <= D; ++e) {
        const double total = block_tree_sum(e == 0 ? loss_sum : grad_sum[e - 1], shared);
        if (threadIdx.x != 0) continue;
        if (finalize)
            write_entry<T>(e, total, n, D, loss, grad, nullptr);
        else
            partials[blockIdx.x * std::int64_t(1 + D) + e] = total;
    }
}

template <class T, int D>
void launch_rows_kernel(const LogisticPlan& plan, const T* X, const T* y, const T* w,
                        std::int64_t n, double* partials, T* loss, T* grad, cudaStream_t stream) {
    const bool finalize = plan.grid == 1;
    const bool aligned = (D * sizeof(T)) % 16 == 0 && reinterpret_cast<std::uintptr_t>(X) % 16 == 0;
    if constexpr ((D * sizeof(T)) % 16 == 0) {
        if (aligned) {
            logistic_rows_kernel<T, D, true><<<plan.grid, kThreads, 0, stream>>>(
                X, y, w, n, partials, finalize, loss, grad);
            return;
        }
    }
    logistic_rows_kernel<T, D, false><<<plan.grid, kThreads, 0, stream>>>(X, y, w, n, partials,
                                                                         finalize, loss, grad);
}

template <class T>
void launch_rows_kernel(const LogisticPlan& plan, const T* X, const T* y, const T* w,
                        std::int64_t n, std::int64_t d, double* partials, T* loss, T* grad,
                        cudaStream_t stream) {
    switch (d) {
        case 1: return launch_rows_kernel<T, 1>(plan, X, y, w, n, partials, loss, grad, stream);
        case 2: return launch_rows_kernel<T, 2>(plan, X, y, w, n, partials, loss, grad, stream);
        case 3: return launch_rows_kernel<T, 3>(plan, X, y, w, n, partials, loss, grad, stream);
        case 4: return launch_rows_kernel<T, 4>(plan, X, y, w, n, partials, loss, grad, stream);
        case 8: return launch_rows_kernel<T, 8>(plan, X, y, w, n, partials, loss, grad, stream);
        case 16: return launch_rows_kernel<T, 16>(plan, X, y, w, n, partials, loss, grad, stream);
        case 32: return launch_rows_kernel<T, 32>(plan, X, y, w, n, partials, loss, grad, stream);
        default: throw Error("logistic on cuda: no row kernel for d = " + std::to_string(d));
    }
}

bool has_rows_kernel(std::int64_t d) {
    return d == 1 || d == 2 || d == 3 || d == 4 || d == 8 || d == 16 || d == 32;
}

// One block per entry: sums its column of the partials with a fixed tree and writes it.
template <class T>
__global__ void logistic_final_kernel(const double* partials, int n_blocks, std::int64_t entries,
                                      std::int64_t n, std::int64_t d, T* loss, T* grad, T* hess) {
    __shared__ double shared[kThreads];
    const std::int64_t e = blockIdx.x;
    double acc = 0.0;
    for (int b = threadIdx.x; b < n_blocks; b += kThreads) acc += partials[b * entries + e];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) write_entry(e, total, n, d, loss, grad, hess);
}

// Wide path: z (n) holds x_i·w on entry and σ(z_i) - y_i on exit; h (n), when not null,
// gets σ(z_i)(1 - σ(z_i)); the loss terms are summed per fixed chunk of rows (one block each).
template <class T>
__global__ void logistic_wide_terms_kernel(T* z, const T* y, T* h, std::int64_t n,
                                           std::int64_t chunk, double* partials) {
    __shared__ double shared[kThreads];
    const std::int64_t start = blockIdx.x * chunk;
    const std::int64_t stop = min(n, start + chunk);
    double acc = 0.0;
    for (std::int64_t i = start + threadIdx.x; i < stop; i += kThreads) {
        const detail::LogisticTerms terms = detail::logistic_row_terms(double(z[i]), double(y[i]));
        z[i] = static_cast<T>(terms.r);
        if (h != nullptr) h[i] = static_cast<T>(terms.h);
        acc += terms.loss;
    }
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
__global__ void logistic_loss_final_kernel(const double* partials, int n_partials, std::int64_t n,
                                           T* loss) {
    __shared__ double shared[kThreads];
    double acc = 0.0;
    for (int b = threadIdx.x; b < n_partials; b += kThreads) acc += partials[b];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) *loss = static_cast<T>(total / double(n));
}

// xh (n, d) = diag(h) X.
template <class T>
__global__ void scale_rows_kernel(const T* X, const T* h, std::int64_t n, std::int64_t d, T* xh) {
    const std::int64_t total = n * d;
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
         i += std::int64_t(gridDim.x) * blockDim.x)
        xh[i] = h[i / d] * X[i];
}

// The upper triangle copied onto the lower one: exactly symmetric.
template <class T>
__global__ void mirror_upper_kernel(T* h, std::int64_t d) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < d * d;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t j = i / d, k = i % d;
        if (k < j) h[i] = h[k * d + j];
    }
}

}  // namespace

LogisticPlan plan_logistic(DType dtype, std::int64_t n, std::int64_t d, bool hessian) {
    LogisticPlan plan;
    const std::int64_t elem = static_cast<std::int64_t>(dtype_size(dtype));
    std::int64_t rows = (kTileBytes - (d + 1) * elem) / ((d + 1) * elem + 24);
    rows = std::min<std::int64_t>(kThreads, rows / 32 * 32);
    const std::int64_t entries = 1 + d + (hessian ? d * (d + 1) / 2 : 0);
    const bool tile_fits = rows >= 32 && entries <= std::int64_t(kThreads) * kMaxEntriesPerThread &&
                           (!hessian || d <= kMaxFusedHessianD);
    if (!hessian && has_rows_kernel(d)) {
        plan.path = LogisticPlan::Path::rows;
        plan.entries = 1 + d;
        plan.grid = static_cast<int>(std::min<std::int64_t>(kReduceBlocks, (n + kThreads - 1) / kThreads));
        plan.scratch_doubles = plan.grid == 1 ? 0 : std::int64_t(plan.grid) * plan.entries;
    } else if (tile_fits) {
        plan.path = LogisticPlan::Path::tiled;
        plan.entries = entries;
        plan.rows_per_tile = static_cast<int>(rows);
        const std::int64_t n_tiles = (n + rows - 1) / rows;
        plan.grid = static_cast<int>(std::min<std::int64_t>(kReduceBlocks, n_tiles));
        plan.groups = static_cast<int>(std::max<std::int64_t>(
            1, std::min<std::int64_t>(std::int64_t(kThreads) * kMaxEntriesPerThread / entries,
                                      rows / 8)));
        const std::size_t tile_bytes = static_cast<std::size_t>(
            24 * rows + elem * (d + (d & 1)) + elem * rows * (d + 1));
        const std::size_t group_bytes = static_cast<std::size_t>(8 * entries * plan.groups);
        plan.shared_bytes = std::max(tile_bytes, group_bytes);
        plan.scratch_doubles = plan.grid == 1 ? 0 : std::int64_t(plan.grid) * plan.entries;
    } else {
        plan.path = LogisticPlan::Path::wide;
        plan.grid = static_cast<int>((n + kWideChunk - 1) / kWideChunk);
        plan.scratch_doubles = plan.grid;
        plan.rows_bytes = static_cast<std::size_t>(n * elem * (hessian ? 2 : 1));
        plan.scaled_bytes = hessian ? static_cast<std::size_t>(n * d * elem) : 0;
    }
    return plan;
}

void logistic(cublasHandle_t handle, const LogisticPlan& plan, Array X, Array y, Array w,
              std::int64_t n, std::int64_t d, Array loss, Array grad, const Array* hessian,
              double* scratch, void* rows_buffer, void* scaled_buffer, cudaStream_t stream) {
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* Xp = static_cast<const T*>(X.data);
        const T* yp = static_cast<const T*>(y.data);
        const T* wp = static_cast<const T*>(w.data);
        T* loss_p = static_cast<T*>(loss.data);
        T* grad_p = static_cast<T*>(grad.data);
        T* hess_p = hessian != nullptr ? static_cast<T*>(hessian->data) : nullptr;
        switch (plan.path) {
            case LogisticPlan::Path::rows: {
                launch_rows_kernel<T>(plan, Xp, yp, wp, n, d, scratch, loss_p, grad_p, stream);
                DESCENT_CUDA_CHECK_LAUNCH("logistic_rows_kernel");
                if (plan.grid == 1) return;
                logistic_final_kernel<T><<<static_cast<unsigned>(plan.entries), kThreads, 0, stream>>>(
                    scratch, plan.grid, plan.entries, n, d, loss_p, grad_p, nullptr);
                DESCENT_CUDA_CHECK_LAUNCH("logistic_final_kernel");
                return;
            }
            case LogisticPlan::Path::tiled: {
                const bool finalize = plan.grid == 1;
                logistic_tile_kernel<T><<<plan.grid, kThreads, plan.shared_bytes, stream>>>(
                    Xp, yp, wp, n, d, plan.rows_per_tile, plan.groups, plan.entries, scratch,
                    finalize, loss_p, grad_p, hess_p, 0);
                DESCENT_CUDA_CHECK_LAUNCH("logistic_tile_kernel");
                if (finalize) return;
                logistic_final_kernel<T><<<static_cast<unsigned>(plan.entries), kThreads, 0, stream>>>(
                    scratch, plan.grid, plan.entries, n, d, loss_p, grad_p, hess_p);
                DESCENT_CUDA_CHECK_LAUNCH("logistic_final_kernel");
                return;
            }
            case LogisticPlan::Path::wide: {
                T* z = static_cast<T*>(rows_buffer);
                T* h = hessian != nullptr ? z + n : nullptr;
                const Array z_arr{z, X.dtype, n, X.device_index};
                gemm(handle, false, false, n, 1, d, 1.0, X, w, z_arr);  // z = X w
                logistic_wide_terms_kernel<T><<<plan.grid, kThreads, 0, stream>>>(
                    z, yp, h, n, kWideChunk, scratch);
                DESCENT_CUDA_CHECK_LAUNCH("logistic_wide_terms_kernel");
                logistic_loss_final_kernel<T><<<1, kThreads, 0, stream>>>(scratch, plan.grid, n, loss_p);
                DESCENT_CUDA_CHECK_LAUNCH("logistic_loss_final_kernel");
                gemm(handle, true, false, d, 1, n, 1.0 / double(n), X, z_arr, grad);  // Xᵀ r / n
                if (hessian == nullptr) return;
                T* xh = static_cast<T*>(scaled_buffer);
                scale_rows_kernel<T><<<grid_for(n * d), kThreads, 0, stream>>>(Xp, h, n, d, xh);
                DESCENT_CUDA_CHECK_LAUNCH("scale_rows_kernel");
                const Array xh_arr{xh, X.dtype, n * d, X.device_index};
                gemm(handle, true, false, d, d, n, 1.0 / double(n), xh_arr, X, *hessian);
                mirror_upper_kernel<T><<<grid_for(d * d), kThreads, 0, stream>>>(hess_p, d);
                DESCENT_CUDA_CHECK_LAUNCH("mirror_upper_kernel");
                return;
            }
        }
    });
}

BlockPartialsPlan plan_logistic_blocks(DType dtype, std::int64_t n, std::int64_t d, bool hessian,
                                       std::int64_t block_rows) {
    const std::int64_t elem = static_cast<std::int64_t>(dtype_size(dtype));
    std::int64_t rows = (kTileBytes - (d + 1) * elem) / ((d + 1) * elem + 24);
    rows = std::min<std::int64_t>(kThreads, rows / 32 * 32);
    const std::int64_t entries = 1 + d + (hessian ? d * (d + 1) / 2 : 0);
    return plan_block_partials(n, block_rows, rows, entries, kMaxEntriesPerThread,
                               !hessian || d <= kMaxFusedHessianD, [&](std::int64_t r) {
                                   return static_cast<std::size_t>(24 * r + elem * (d + (d & 1)) +
                                                                   elem * r * (d + 1));
                               });
}

void logistic_blocks(const BlockPartialsPlan& plan, Array X, Array y, Array w, std::int64_t n,
                     std::int64_t d, double* partials, cudaStream_t stream) {
    if (plan.blocks == 0) return;
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        logistic_tile_kernel<T><<<plan.blocks, kThreads, plan.shared_bytes, stream>>>(
            static_cast<const T*>(X.data), static_cast<const T*>(y.data),
            static_cast<const T*>(w.data), n, d, plan.rows_per_tile, plan.groups, plan.entries,
            partials, false, nullptr, nullptr, nullptr, plan.tiles_per_block);
        DESCENT_CUDA_CHECK_LAUNCH("logistic_tile_kernel (block partials)");
    });
}

void logistic_finish(const double* root, std::int64_t entries, std::int64_t n_total,
                     std::int64_t d, Array loss, Array grad, const Array* hessian,
                     cudaStream_t stream) {
    detail::visit_dtype(loss.dtype, [&](auto t) {
        using T = decltype(t);
        logistic_final_kernel<T><<<static_cast<unsigned>(entries), kThreads, 0, stream>>>(
            root, 1, entries, n_total, d, static_cast<T*>(loss.data), static_cast<T*>(grad.data),
            hessian != nullptr ? static_cast<T*>(hessian->data) : nullptr);
        DESCENT_CUDA_CHECK_LAUNCH("logistic_final_kernel (distributed)");
    });
}

}  // namespace descent::kernels
