// The one-pass linear-MSE step on the device: loss 1/n Σ r_i², gradient 2/n Σ r_i x_i and,
// for Newton, the Hessian 2/n Σ x_i x_iᵀ, with r_i = x_i·w - y_i.
//
// Tiled path (the common one, d small enough for a tile of 32+ rows in 40 KiB of shared
// memory): a fixed grid of at most kReduceBlocks blocks walks row tiles in a fixed order
// (tile t goes to block t mod grid); each tile is loaded from X once, coalesced, into shared
// memory; residuals come from the shared per-row body (shared/linear_mse_row.hpp);
// then each thread adds the tile's contribution to the output entries it owns, in registers.
// Per-block partials are combined by one block per entry with a fixed tree. The structure
// depends only on (n, d), never on the GPU or on timing, so results are bitwise reproducible.
// Hessian entries are accumulated in the pass for d <= 64; wider Hessians use cuBLAS syrk.
//
// Wide path (very large d): r = X w with cuBLAS gemv, then the loss by a block reduction and
// the gradient with a second gemv (X is read twice; there is an n-sized residual buffer).
// Verified by the CUDA parity suite against the CPU backend (tests/test_cuda_*.cpp).
#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

#include "shared/linear_mse_row.hpp"
#include "descent/error.hpp"
#include "kernels.hpp"
#include "block_partials.cuh"
#include "reduce.cuh"

namespace descent::kernels {

namespace {

constexpr int kReduceBlocks = 1024;       // fixed: the reduction tree must not depend on the GPU
constexpr int kMaxEntriesPerThread = 9;   // 9 * 256 = 2304 >= 1 + 64 + 64*65/2
constexpr std::int64_t kTileBytes = 40 * 1024;
constexpr std::int64_t kMaxFusedHessianD = 64;

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

// Writes the scaled output of entry e from its total: the loss, a gradient entry, or (both
// triangles of) a Hessian entry.
template <class T>
__device__ void write_entry(std::int64_t e, double total, std::int64_t n, std::int64_t d, T* loss,
                            T* grad, T* hess) {
    const double inv_n = 1.0 / double(n);
    if (e == 0) {
        *loss = static_cast<T>(total * inv_n);
    } else if (e <= d) {
        grad[e - 1] = static_cast<T>(2.0 * inv_n * total);
    } else {
        std::int64_t j, k;
        triangle_entry(e - 1 - d, d, j, k);
        const T v = static_cast<T>(2.0 * inv_n * total);
        hess[j * d + k] = v;
        hess[k * d + j] = v;
    }
}

// Work items: (entry e, row group g) for g < groups; item q = g * entries + e, and thread t
// owns items t, t + kThreads, ... Each item sums rows g, g + groups, ... of every tile, so all
// threads work on every tile (one item per output entry left 239 of 256 threads idle for a
// gradient of 17 entries, and the sum over a tile's rows ran serially). At the end the
// groups of each entry are added in group order through shared memory: a fixed order.
// partials is (gridDim.x, entries): entry 0 the loss sum, 1..d the gradient sums, then the
// packed upper-triangle Hessian sums when hessian is set. With finalize (one block) the
// block writes the scaled outputs itself and no final kernel is needed.
template <class T>
__global__ void linear_mse_tile_kernel(const T* X, const T* y, const T* w, std::int64_t n,
                                       std::int64_t d, int rows_per_tile, int groups,
                                       std::int64_t entries, double* partials, bool finalize,
                                       T* loss, T* grad, T* hess, int tiles_per_block) {
    // X is (n, d) row-major, y is (n), w is (d).
    extern __shared__ double smem[];
    double* residual = smem;                                 // (rows_per_tile)
    T* w_s = reinterpret_cast<T*>(residual + rows_per_tile);  // (d)
    T* tile = w_s + d + (d & 1);                             // (rows_per_tile, d + 1), padded
    const int stride = static_cast<int>(d) + 1;              // breaks shared-memory bank conflicts
    const int di = static_cast<int>(d);

    for (std::int64_t j = threadIdx.x; j < d; j += kThreads) w_s[j] = w[j];

    // The items this thread owns, decoded once.
    const std::int64_t items = entries * groups;
    int eg[kMaxEntriesPerThread], ej[kMaxEntriesPerThread], ek[kMaxEntriesPerThread];
    double acc[kMaxEntriesPerThread];
    for (int m = 0; m < kMaxEntriesPerThread; ++m) {
        const std::int64_t q = threadIdx.x + std::int64_t(m) * kThreads;
        acc[m] = 0.0;
        ej[m] = -2;  // unused
        eg[m] = 0;
        if (q >= items) continue;
        const std::int64_t e = q % entries;
        eg[m] = static_cast<int>(q / entries);
        if (e == 0) {
            ej[m] = -1;  // the loss
        } else if (e <= d) {
            ej[m] = static_cast<int>(e - 1);
            ek[m] = -1;  // a gradient entry
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
        for (int r = threadIdx.x; r < rows; r += kThreads)
            residual[r] = detail::linear_row_residual(tile + r * stride, w_s, detail::target_at(y, start + r), d);
        __syncthreads();
        for (int m = 0; m < kMaxEntriesPerThread; ++m) {
            if (ej[m] == -2) continue;
            double a = 0.0;
            if (ej[m] == -1) {
                for (int r = eg[m]; r < rows; r += groups) a += residual[r] * residual[r];
            } else if (ek[m] == -1) {
                for (int r = eg[m]; r < rows; r += groups)
                    a += residual[r] * double(tile[r * stride + ej[m]]);
            } else {
                for (int r = eg[m]; r < rows; r += groups)
                    a += double(tile[r * stride + ej[m]]) * double(tile[r * stride + ek[m]]);
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

// Gradient-only pass for a compile-time d (1, 2, 3, 4, 8, 16, 32): one thread per row, rows
// assigned by a fixed grid-stride (row i to thread i mod (grid x kThreads)), the row loaded
// straight from global memory (16-byte vector loads when rows are 16-byte aligned), its
// residual from the shared per-row body, and the loss and gradient sums kept in registers.
// No shared-memory tile and no barrier per tile, so every thread keeps loads in flight; at
// the end each of the 1 + D sums is reduced over the block by the fixed tree. The per-tile
// kernel above spent its time in barriers and reached about a fifth of the copy bandwidth.
template <class T, int D, bool vector_loads>
__global__ void linear_mse_rows_kernel(const T* X, const T* y, const T* w, std::int64_t n,
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
        const double r = detail::linear_row_residual(xd, w_s, double(detail::target_at(y, i)), D);
        loss_sum += r * r;
#pragma unroll
        for (int j = 0; j < D; ++j) grad_sum[j] += r * xd[j];
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
void launch_rows_kernel(const LinearMsePlan& plan, const T* X, const T* y, const T* w,
                        std::int64_t n, double* partials, T* loss, T* grad, cudaStream_t stream) {
    const bool finalize = plan.grid == 1;
    const bool aligned = (D * sizeof(T)) % 16 == 0 && reinterpret_cast<std::uintptr_t>(X) % 16 == 0;
    if constexpr ((D * sizeof(T)) % 16 == 0) {
        if (aligned) {
            linear_mse_rows_kernel<T, D, true><<<plan.grid, kThreads, 0, stream>>>(
                X, y, w, n, partials, finalize, loss, grad);
            return;
        }
    }
    linear_mse_rows_kernel<T, D, false><<<plan.grid, kThreads, 0, stream>>>(X, y, w, n, partials,
                                                                           finalize, loss, grad);
}

template <class T>
void launch_rows_kernel(const LinearMsePlan& plan, const T* X, const T* y, const T* w,
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
        default: throw Error("linear_mse on cuda: no row kernel for d = " + std::to_string(d));
    }
}

bool has_rows_kernel(std::int64_t d) {
    return d == 1 || d == 2 || d == 3 || d == 4 || d == 8 || d == 16 || d == 32;
}

// One block per entry: sums its column of the partials with a fixed tree and writes the
// scaled loss, gradient entry or (both triangles of) the Hessian entry.
template <class T>
__global__ void linear_mse_final_kernel(const double* partials, int n_blocks, std::int64_t entries,
                                        std::int64_t n, std::int64_t d, T* loss, T* grad, T* hess) {
    __shared__ double shared[kThreads];
    const std::int64_t e = blockIdx.x;
    double acc = 0.0;
    for (int b = threadIdx.x; b < n_blocks; b += kThreads) acc += partials[b * entries + e];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) write_entry(e, total, n, d, loss, grad, hess);
}

// Wide path: r = r - y in place (y null: no target), per-block partial sums of r² (fixed chunks).
template <class T>
__global__ void residual_loss_kernel(T* r, const T* y, std::int64_t n, std::int64_t chunk,
                                     double* partials) {
    __shared__ double shared[kThreads];
    const std::int64_t start = blockIdx.x * chunk;
    const std::int64_t stop = min(n, start + chunk);
    double acc = 0.0;
    for (std::int64_t i = start + threadIdx.x; i < stop; i += kThreads) {
        const T v = r[i] - detail::target_at(y, i);
        r[i] = v;
        acc += double(v) * double(v);
    }
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
__global__ void loss_final_kernel(const double* partials, int n_partials, std::int64_t n, T* loss) {
    __shared__ double shared[kThreads];
    double acc = 0.0;
    for (int b = threadIdx.x; b < n_partials; b += kThreads) acc += partials[b];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) *loss = static_cast<T>(total / double(n));
}

// syrk fills one triangle; copy it to the other.
template <class T>
__global__ void mirror_upper_to_lower_kernel(T* h, std::int64_t d) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < d * d;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t j = i / d, k = i % d;
        if (k < j) h[i] = h[k * d + j];
    }
}

constexpr std::int64_t kWideChunk = kThreads * 64;

int as_int(std::int64_t v, const char* what) {
    if (v > INT_MAX)
        throw Error(std::string("linear_mse on cuda: ") + what + " = " + std::to_string(v) +
                    " exceeds cuBLAS's 32-bit limit on this path");
    return static_cast<int>(v);
}

// Row-major h (d, d) = alpha XᵀX: X row-major (n, d) is column-major A = Xᵀ (d, n), and
// XᵀX = A Aᵀ, which is syrk without transposition. The column-major upper triangle it fills
// is the row-major lower one.
void syrk_hessian(cublasHandle_t handle, Array X, std::int64_t n, std::int64_t d, double alpha,
                  Array h, cudaStream_t stream) {
    const int di = as_int(d, "d"), ni = as_int(n, "n");
    if (X.dtype == DType::f32) {
        const float a = static_cast<float>(alpha), beta = 0.0f;
        DESCENT_CUBLAS_CHECK(cublasSsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, di, ni, &a,
                                         static_cast<const float*>(X.data), di, &beta,
                                         static_cast<float*>(h.data), di));
    } else {
        const double beta = 0.0;
        DESCENT_CUBLAS_CHECK(cublasDsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, di, ni, &alpha,
                                         static_cast<const double*>(X.data), di, &beta,
                                         static_cast<double*>(h.data), di));
    }
    // Column-major lower = row-major upper: fill the row-major lower triangle from it.
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        mirror_upper_to_lower_kernel<T><<<grid_for(d * d), kThreads, 0, stream>>>(
            static_cast<T*>(h.data), d);
    });
    DESCENT_CUDA_CHECK_LAUNCH("mirror_upper_to_lower_kernel");
}

}  // namespace

LinearMsePlan plan_linear_mse(DType dtype, std::int64_t n, std::int64_t d, bool hessian) {
    LinearMsePlan plan;
    const std::int64_t elem = static_cast<std::int64_t>(dtype_size(dtype));
    std::int64_t rows = (kTileBytes - d * elem) / ((d + 1) * elem + 8);
    rows = std::min<std::int64_t>(kThreads, rows / 32 * 32);
    plan.hessian_in_pass = hessian && d <= kMaxFusedHessianD;
    plan.syrk_hessian = hessian && !plan.hessian_in_pass;
    plan.entries = 1 + d + (plan.hessian_in_pass ? d * (d + 1) / 2 : 0);
    plan.tiled = rows >= 32 && plan.entries <= std::int64_t(kThreads) * kMaxEntriesPerThread;
    if (!hessian && has_rows_kernel(d)) {
        plan.rows_kernel = true;
        plan.grid = static_cast<int>(std::min<std::int64_t>(kReduceBlocks, (n + kThreads - 1) / kThreads));
        plan.scratch_doubles = plan.grid == 1 ? 0 : std::int64_t(plan.grid) * plan.entries;
    } else if (plan.tiled) {
        plan.rows_per_tile = static_cast<int>(rows);
        const std::int64_t n_tiles = (n + rows - 1) / rows;
        plan.grid = static_cast<int>(std::min<std::int64_t>(kReduceBlocks, n_tiles));
        // Row groups: as many as the thread slots allow, but each summing >= 8 rows a tile.
        plan.groups = static_cast<int>(std::max<std::int64_t>(
            1, std::min<std::int64_t>(std::int64_t(kThreads) * kMaxEntriesPerThread / plan.entries,
                                      rows / 8)));
        const std::size_t tile_bytes = static_cast<std::size_t>(
            8 * rows + elem * (d + (d & 1)) + elem * rows * (d + 1));
        const std::size_t group_bytes = static_cast<std::size_t>(8 * plan.entries * plan.groups);
        plan.shared_bytes = std::max(tile_bytes, group_bytes);
        plan.scratch_doubles = plan.grid == 1 ? 0 : std::int64_t(plan.grid) * plan.entries;
    } else {
        plan.hessian_in_pass = false;
        plan.syrk_hessian = hessian;
        plan.grid = static_cast<int>((n + kWideChunk - 1) / kWideChunk);
        plan.scratch_doubles = plan.grid;
        plan.residual_bytes = static_cast<std::size_t>(n * elem);
    }
    return plan;
}

void linear_mse(cublasHandle_t handle, const LinearMsePlan& plan, Array X, Array y, Array w,
                std::int64_t n, std::int64_t d, Array loss, Array grad, const Array* hessian,
                double* scratch, void* residual, cudaStream_t stream) {
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* Xp = static_cast<const T*>(X.data);
        const T* yp = static_cast<const T*>(y.data);
        if (plan.rows_kernel) {
            launch_rows_kernel<T>(plan, Xp, yp, static_cast<const T*>(w.data), n, d, scratch,
                                  static_cast<T*>(loss.data), static_cast<T*>(grad.data), stream);
            DESCENT_CUDA_CHECK_LAUNCH("linear_mse_rows_kernel");
            if (plan.grid == 1) return;
            linear_mse_final_kernel<T><<<static_cast<unsigned>(plan.entries), kThreads, 0, stream>>>(
                scratch, plan.grid, plan.entries, n, d, static_cast<T*>(loss.data),
                static_cast<T*>(grad.data), nullptr);
            DESCENT_CUDA_CHECK_LAUNCH("linear_mse_final_kernel");
        } else if (plan.tiled) {
            T* loss_p = static_cast<T*>(loss.data);
            T* grad_p = static_cast<T*>(grad.data);
            T* hess_p = plan.hessian_in_pass ? static_cast<T*>(hessian->data) : nullptr;
            const bool finalize = plan.grid == 1;  // small problems: one launch
            linear_mse_tile_kernel<T><<<plan.grid, kThreads, plan.shared_bytes, stream>>>(
                Xp, yp, static_cast<const T*>(w.data), n, d, plan.rows_per_tile, plan.groups,
                plan.entries, scratch, finalize, loss_p, grad_p, hess_p, 0);
            DESCENT_CUDA_CHECK_LAUNCH("linear_mse_tile_kernel");
            if (finalize) return;
            linear_mse_final_kernel<T><<<static_cast<unsigned>(plan.entries), kThreads, 0, stream>>>(
                scratch, plan.grid, plan.entries, n, d, static_cast<T*>(loss.data),
                static_cast<T*>(grad.data),
                plan.hessian_in_pass ? static_cast<T*>(hessian->data) : nullptr);
            DESCENT_CUDA_CHECK_LAUNCH("linear_mse_final_kernel");
        } else {
            // r = X w (row-major X is column-major Xᵀ: gemv with transposition).
            const int ni = as_int(n, "n"), di = as_int(d, "d");
            T* r = static_cast<T*>(residual);
            const T one = 1, zero = 0, two_over_n = static_cast<T>(2.0 / double(n));
            if constexpr (std::is_same_v<T, float>) {
                DESCENT_CUBLAS_CHECK(cublasSgemv(handle, CUBLAS_OP_T, di, ni, &one, Xp, di,
                                                 static_cast<const float*>(w.data), 1, &zero, r, 1));
            } else {
                DESCENT_CUBLAS_CHECK(cublasDgemv(handle, CUBLAS_OP_T, di, ni, &one, Xp, di,
                                                 static_cast<const double*>(w.data), 1, &zero, r, 1));
            }
            residual_loss_kernel<T><<<plan.grid, kThreads, 0, stream>>>(r, yp, n, kWideChunk, scratch);
            DESCENT_CUDA_CHECK_LAUNCH("residual_loss_kernel");
            loss_final_kernel<T><<<1, kThreads, 0, stream>>>(scratch, plan.grid, n,
                                                             static_cast<T*>(loss.data));
            DESCENT_CUDA_CHECK_LAUNCH("loss_final_kernel");
            // grad = 2/n Xᵀ r: gemv without transposition on the column-major view.
            if constexpr (std::is_same_v<T, float>) {
                DESCENT_CUBLAS_CHECK(cublasSgemv(handle, CUBLAS_OP_N, di, ni, &two_over_n, Xp, di, r,
                                                 1, &zero, static_cast<float*>(grad.data), 1));
            } else {
                DESCENT_CUBLAS_CHECK(cublasDgemv(handle, CUBLAS_OP_N, di, ni, &two_over_n, Xp, di, r,
                                                 1, &zero, static_cast<double*>(grad.data), 1));
            }
        }
    });
    if (plan.syrk_hessian) syrk_hessian(handle, X, n, d, 2.0 / double(n), *hessian, stream);
}

BlockPartialsPlan plan_linear_mse_blocks(DType dtype, std::int64_t n, std::int64_t d, bool hessian,
                                         std::int64_t block_rows) {
    const std::int64_t elem = static_cast<std::int64_t>(dtype_size(dtype));
    std::int64_t rows = (kTileBytes - d * elem) / ((d + 1) * elem + 8);
    rows = std::min<std::int64_t>(kThreads, rows / 32 * 32);
    const std::int64_t entries = 1 + d + (hessian ? d * (d + 1) / 2 : 0);
    return plan_block_partials(n, block_rows, rows, entries, kMaxEntriesPerThread,
                               !hessian || d <= kMaxFusedHessianD, [&](std::int64_t r) {
                                   return static_cast<std::size_t>(8 * r + elem * (d + (d & 1)) +
                                                                   elem * r * (d + 1));
                               });
}

void linear_mse_blocks(const BlockPartialsPlan& plan, Array X, Array y, Array w, std::int64_t n,
                       std::int64_t d, double* partials, cudaStream_t stream) {
    if (plan.blocks == 0) return;
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        linear_mse_tile_kernel<T><<<plan.blocks, kThreads, plan.shared_bytes, stream>>>(
            static_cast<const T*>(X.data), static_cast<const T*>(y.data),
            static_cast<const T*>(w.data), n, d, plan.rows_per_tile, plan.groups, plan.entries,
            partials, false, nullptr, nullptr, nullptr, plan.tiles_per_block);
        DESCENT_CUDA_CHECK_LAUNCH("linear_mse_tile_kernel (block partials)");
    });
}

void linear_mse_finish(const double* root, std::int64_t entries, std::int64_t n_total,
                       std::int64_t d, Array loss, Array grad, const Array* hessian,
                       cudaStream_t stream) {
    detail::visit_dtype(loss.dtype, [&](auto t) {
        using T = decltype(t);
        // One "block" of partials: each entry's tree adds zeros to the root, which changes
        // nothing but a -0 into +0 (as the CPU's final 0 + does).
        linear_mse_final_kernel<T><<<static_cast<unsigned>(entries), kThreads, 0, stream>>>(
            root, 1, entries, n_total, d, static_cast<T*>(loss.data), static_cast<T*>(grad.data),
            hessian != nullptr ? static_cast<T*>(hessian->data) : nullptr);
        DESCENT_CUDA_CHECK_LAUNCH("linear_mse_final_kernel (distributed)");
    });
}

}  // namespace descent::kernels
