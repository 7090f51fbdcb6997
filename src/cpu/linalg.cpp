// CPU backend: matrix product, transpose and axis sums. Sums accumulate in double in index
// order, so results do not depend on anything but the inputs.
#include <cmath>
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/loops_isa.hpp"
#include "cpu/row_blocks.hpp"

#define DESCENT_CPU_ISA baseline
#include "cpu/gemm_rows.hpp"
#include "cpu/tanh_f32.hpp"

namespace descent::detail {

template <class T>
GemmKernels<T> gemm_kernels_for(CpuIsa isa) {
    require_cpu_isa(isa, "matmul");
    constexpr bool f32 = std::is_same_v<T, float>;
    switch (isa) {
#if defined(DESCENT_HAVE_AVX2_KERNELS)
        case CpuIsa::avx2:
            if constexpr (f32) return avx2_gemm_kernels_f32(); else return avx2_gemm_kernels_f64();
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
        case CpuIsa::avx512:
            if constexpr (f32) return avx512_gemm_kernels_f32(); else return avx512_gemm_kernels_f64();
#endif
        default:
            (void)f32;
            return {baseline::gemm_rows<T>, baseline::gemm_packed<T>, baseline::gemm_pack_b<T>, baseline::gemm_one_row<T>};
    }
}

TanhF32Fn tanh_f32_fn_for(CpuIsa isa) {
    require_cpu_isa(isa, "tanh");
    switch (isa) {
#if defined(DESCENT_HAVE_AVX2_KERNELS)
        case CpuIsa::avx2: return avx2_tanh_f32_fn();
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
        case CpuIsa::avx512: return avx512_tanh_f32_fn();
#endif
        default: return baseline::tanh_f32;
    }
}

template GemmKernels<float> gemm_kernels_for<float>(CpuIsa);
template GemmKernels<double> gemm_kernels_for<double>(CpuIsa);

namespace {

// Rows of C per task: a block's accumulators (kGemmRows x n doubles) stay in cache.
constexpr std::int64_t kGemmRows = 16;
// Below this many multiply-adds one thread does it all (a team costs more than the work).
constexpr std::int64_t kGemmParallelWork = std::int64_t(1) << 17;
// A matrix times a vector (n = 1) from this many rows: A's rows packed this many at a time.
constexpr std::int64_t kGemvMinRows = 8;
constexpr std::int64_t kGemvRows = 64;
static_assert(kGemvRows % 16 == 0, "whole packed tiles");
// A one-row product's columns per task (a whole number of the kernel's register blocks).
constexpr std::int64_t kOneRowColumns = 64;
// B is converted to doubles once and read by the packed kernel when that copy is small: up to
// this many doubles (512 KiB: weights, a small batch), or half as many values as A has (the
// copy then adds little to what the product holds anyway; the buffer comes from the allocator,
// inside a loop its cache). Otherwise, and below 8 columns (a tile would be mostly padding),
// the kernel converts B as it reads.
constexpr std::int64_t kGemmPackedB = std::int64_t(1) << 16;

// block(0), ..., block(count - 1): over the threads when split (each block's work is its own,
// so the results do not depend on the split), else in order on the calling thread.
template <class F>
void for_blocks(std::int64_t count, bool split, const F& block) {
    if (split) {
#pragma omp parallel for schedule(static)
        for (std::int64_t b = 0; b < count; ++b) block(b);
    } else {
        for (std::int64_t b = 0; b < count; ++b) block(b);
    }
}

// Scratch doubles for a product (packed operands, per-thread tiles): on the stack up to
// kOnStack (a small net's products need no allocator call), else from the backend's allocator
// (inside a training loop, its cache), given back when the scope ends.
class ScratchDoubles {
public:
    static constexpr std::size_t kOnStack = 4608;  // 36 KiB
    ScratchDoubles(CpuBackend& backend, std::size_t count)
        : m_owner(backend), m_heap(count > kOnStack ? backend.allocate(count * sizeof(double), 0) : nullptr) {}
    ~ScratchDoubles() {
        if (m_heap != nullptr) m_owner.deallocate(m_heap, 0);
    }
    ScratchDoubles(const ScratchDoubles&) = delete;
    ScratchDoubles& operator=(const ScratchDoubles&) = delete;
    double* data() { return m_heap != nullptr ? static_cast<double*>(m_heap) : m_local; }

private:
    CpuBackend& m_owner;
    void* m_heap;
    alignas(64) double m_local[kOnStack];
};

}  // namespace

void CpuBackend::gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, double alpha, Array a, Array b, Array c) {
    gemm_into(trans_a, trans_b, m, n, k, alpha, a, b, nullptr, c);
}

bool CpuBackend::gemm_bias(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                           std::int64_t k, double alpha, Array a, Array b, Array bias, Array c) {
    gemm_into(trans_a, trans_b, m, n, k, alpha, a, b, bias.data, c);
    return true;
}

void CpuBackend::gemm_into(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                           std::int64_t k, double alpha, Array a, Array b, const void* bias_data,
                           Array c) {
    visit_dtype(c.dtype, [&](auto t) {
        using T = decltype(t);
        const T* A = static_cast<const T*>(a.data);  // (m, k), or (k, m) when trans_a
        const T* B = static_cast<const T*>(b.data);  // (k, n), or (n, k) when trans_b
        T* C = static_cast<T*>(c.data);              // (m, n)
        const T* bias = static_cast<const T*>(bias_data);  // (n), or null
        const GemmKernels<T> kernels = gemm_kernels_for<T>(best_cpu_isa());
        const std::int64_t blocks = (m + kGemmRows - 1) / kGemmRows;
        const bool parallel = m * n * k >= kGemmParallelWork && blocks > 1;
        const std::size_t teams = static_cast<std::size_t>(parallel ? pass_max_threads() : 1);
        const auto run = [&](const auto& block) { for_blocks(blocks, parallel, block); };
        if (n == 1 && m >= kGemvMinRows) {
            // A matrix times a vector b: C (m, 1) is the row bᵀ Aᵀ (1, m), which the packed
            // kernel computes along vectors of entries, with A's rows (kGemvRows at a time,
            // converted to doubles) as the packed B's columns; each entry still the sum of
            // b_p a_ip for p = 0, 1, ... in that order (the operands of a product commute
            // exactly), so the bits are the row kernel's.
            const std::int64_t row_blocks = (m + kGemvRows - 1) / kGemvRows;
            const bool split = m * k >= kGemmParallelWork && row_blocks > 1;
            const std::int64_t per_team = k * kGemvRows + kGemmPackedRowsMax * k;  // packed rows, the kernel's scratch
            const std::int64_t gemv_teams = split ? pass_max_threads() : 1;
            ScratchDoubles work(*this, static_cast<std::size_t>(gemv_teams * per_team));
            const auto block = [&](std::int64_t blk) {
                const std::int64_t i0 = blk * kGemvRows, rows = std::min(kGemvRows, m - i0);
                double* bd = work.data() + (split ? pass_thread_index() : 0) * per_team;
                if (trans_a) {
                    kernels.pack(false, rows, k, A + i0, m, bd);  // Aᵀ stored (k, m)
                } else {
                    kernels.pack(true, rows, k, A + i0 * k, k, bd);  // A (m, k)
                }
                kernels.packed(false, 1, rows, k, B, bd, 0, 1, C + i0, alpha, nullptr, bd + k * kGemvRows);
                if (bias != nullptr)  // rounded to T first, then the bias added in T
                    for (std::int64_t i = i0; i < i0 + rows; ++i) C[i] = static_cast<T>(C[i] + bias[0]);
            };
            for_blocks(row_blocks, split, block);
            return;
        }
        if (m == 1 && !trans_b) {
            // One row of C (a weight gradient against one output unit, a vector times a
            // matrix): B read as stored, chunks of columns over threads when the work is large.
            const std::int64_t chunks = (n + kOneRowColumns - 1) / kOneRowColumns;
            const bool split = n * k >= kGemmParallelWork && chunks > 1;
            const auto chunk = [&](std::int64_t c) {
                kernels.one_row(n, k, A, B, c * kOneRowColumns, std::min(n, (c + 1) * kOneRowColumns), C,
                                alpha, bias);
            };
            for_blocks(chunks, split, chunk);
            return;
        }
        const std::int64_t n_pad = gemm_packed_width(n);
        if (n >= 8 && k * n_pad <= std::max(kGemmPackedB, m * k / 2)) {
            // B converted to doubles once for all rows (read in either layout), each thread a
            // tile of A; the kernel writes C.
            // One block: the packed B, then each thread's tile of A (no zeroing but the padding),
            // from the backend's own allocator: inside a training loop, its cache.
            ScratchDoubles work(*this, static_cast<std::size_t>(k * n_pad + std::int64_t(teams) * kGemmPackedRowsMax * k));
            double* bd = work.data();
            kernels.pack(trans_b, n, k, B, trans_b ? k : n, bd);
            run([&](std::int64_t blk) {
                const std::int64_t i0 = blk * kGemmRows, i1 = std::min(m, i0 + kGemmRows);
                const std::int64_t team = parallel ? pass_thread_index() : 0;
                double* scratch = bd + k * n_pad + team * kGemmPackedRowsMax * k;
                kernels.packed(trans_a, m, n, k, A, bd, i0, i1, C, alpha, bias, scratch);
            });
            return;
        }
        // Bᵀ stored (n, k): the kernel reads B (k, n) along rows, so it is transposed once.
        std::vector<T> b_rows;
        if (trans_b && n > 1) {
            b_rows.resize(static_cast<std::size_t>(k * n));
            for (std::int64_t j = 0; j < n; ++j)
                for (std::int64_t p = 0; p < k; ++p) b_rows[p * n + j] = B[j * k + p];
            B = b_rows.data();
        }  // (n = 1: Bᵀ (1, k) is already B (k, 1))
        // One accumulator block per thread: on its stack below 8 columns, else made before the
        // parallel region.
        constexpr std::int64_t kStackColumns = 8;
        std::vector<std::vector<double>> acc;
        if (n >= kStackColumns) acc.assign(teams, std::vector<double>(static_cast<std::size_t>(kGemmRows * n)));
        run([&](std::int64_t blk) {
            const std::int64_t i0 = blk * kGemmRows, i1 = std::min(m, i0 + kGemmRows);
            double on_stack[kGemmRows * kStackColumns];
            double* sums = n < kStackColumns ? on_stack
                                             : acc[static_cast<std::size_t>(parallel ? pass_thread_index() : 0)].data();
            kernels.rows(trans_a, m, n, k, A, B, i0, i1, sums);
            for (std::int64_t i = i0; i < i1; ++i) {
                if (bias != nullptr) {  // rounded to T first, then the bias added in T
                    for (std::int64_t j = 0; j < n; ++j)
                        C[i * n + j] = static_cast<T>(static_cast<T>(alpha * sums[(i - i0) * n + j]) + bias[j]);
                } else {
                    for (std::int64_t j = 0; j < n; ++j)
                        C[i * n + j] = static_cast<T>(alpha * sums[(i - i0) * n + j]);
                }
            }
        });
    });
}

void CpuBackend::transpose(Array in, Array out, std::int64_t rows, std::int64_t cols) {
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) o[c * rows + r] = x[r * cols + c];
    });
}

void CpuBackend::max_all(Array in, Array out) {
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T m = x[0];
        for (std::int64_t i = 0; i < in.numel; ++i) {
            if (std::isnan(x[i])) {
                m = x[i];
                break;
            }
            if (x[i] > m) m = x[i];
        }
        *static_cast<T*>(out.data) = m;
    });
}

void CpuBackend::sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len,
                          std::int64_t inner, double scale) {
    cpu_loops_for(best_cpu_isa()).sum_axis(in, out, outer, len, inner, scale);
}

}  // namespace descent::detail
