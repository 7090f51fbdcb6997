// CPU backend: matrix product, transpose and axis sums. Sums accumulate in double in index
// order, so results do not depend on anything but the inputs.
#include <cmath>
#include <algorithm>
#include <type_traits>
#include <vector>

#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/row_blocks.hpp"

#define DESCENT_CPU_ISA baseline
#include "cpu/gemm_rows.hpp"
#include "cpu/tanh_f32.hpp"

namespace descent::detail {

template <class T>
GemmRowsFn<T> gemm_rows_for(CpuIsa isa) {
    require_cpu_isa(isa, "matmul");
    constexpr bool f32 = std::is_same_v<T, float>;
    switch (isa) {
#if defined(DESCENT_HAVE_AVX2_KERNELS)
        case CpuIsa::avx2:
            if constexpr (f32) return avx2_gemm_rows_f32(); else return avx2_gemm_rows_f64();
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
        case CpuIsa::avx512:
            if constexpr (f32) return avx512_gemm_rows_f32(); else return avx512_gemm_rows_f64();
#endif
        default:
            (void)f32;
            return baseline::gemm_rows<T>;
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

template GemmRowsFn<float> gemm_rows_for<float>(CpuIsa);
template GemmRowsFn<double> gemm_rows_for<double>(CpuIsa);

namespace {

// Rows of C per task: a block's accumulators (kGemmRows x n doubles) stay in cache.
constexpr std::int64_t kGemmRows = 16;
// Below this many multiply-adds one thread does it all (a team costs more than the work).
constexpr std::int64_t kGemmParallelWork = std::int64_t(1) << 17;

}  // namespace

void CpuBackend::gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, double alpha, Array a, Array b, Array c) {
    visit_dtype(c.dtype, [&](auto t) {
        using T = decltype(t);
        const T* A = static_cast<const T*>(a.data);  // (m, k), or (k, m) when trans_a
        const T* B = static_cast<const T*>(b.data);  // (k, n), or (n, k) when trans_b
        T* C = static_cast<T*>(c.data);              // (m, n)
        // Bᵀ stored (n, k): the kernel reads B (k, n) along rows, so it is transposed once.
        std::vector<T> b_rows;
        if (trans_b && n > 1) {
            b_rows.resize(static_cast<std::size_t>(k * n));
            for (std::int64_t j = 0; j < n; ++j)
                for (std::int64_t p = 0; p < k; ++p) b_rows[p * n + j] = B[j * k + p];
            B = b_rows.data();
        }  // (n = 1: Bᵀ (1, k) is already B (k, 1))
        const GemmRowsFn<T> rows = gemm_rows_for<T>(best_cpu_isa());
        const std::int64_t blocks = (m + kGemmRows - 1) / kGemmRows;
        const bool parallel = m * n * k >= kGemmParallelWork && blocks > 1;
        // One accumulator block per thread, made before the parallel region.
        std::vector<std::vector<double>> acc(static_cast<std::size_t>(parallel ? pass_max_threads() : 1),
                                             std::vector<double>(static_cast<std::size_t>(kGemmRows * n)));
        const auto block = [&](std::int64_t blk) {
            const std::int64_t i0 = blk * kGemmRows, i1 = std::min(m, i0 + kGemmRows);
            double* sums = acc[static_cast<std::size_t>(parallel ? pass_thread_index() : 0)].data();
            rows(trans_a, m, n, k, A, B, i0, i1, sums);
            for (std::int64_t i = i0; i < i1; ++i)
                for (std::int64_t j = 0; j < n; ++j)
                    C[i * n + j] = static_cast<T>(alpha * sums[(i - i0) * n + j]);
        };
        if (parallel) {
#pragma omp parallel for schedule(static)
            for (std::int64_t blk = 0; blk < blocks; ++blk) block(blk);
        } else {
            for (std::int64_t blk = 0; blk < blocks; ++blk) block(blk);
        }
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
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        std::vector<double> acc(static_cast<std::size_t>(inner));
        for (std::int64_t p = 0; p < outer; ++p) {
            std::fill(acc.begin(), acc.end(), 0.0);
            const T* block = x + p * len * inner;
            for (std::int64_t l = 0; l < len; ++l)
                for (std::int64_t i = 0; i < inner; ++i) acc[i] += double(block[l * inner + i]);
            for (std::int64_t i = 0; i < inner; ++i) o[p * inner + i] = static_cast<T>(scale * acc[i]);
        }
    });
}

}  // namespace descent::detail
