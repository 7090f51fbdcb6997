// CPU backend: the fused logistic-regression pass (twin of kernels/logistic.cu): loss,
// gradient and, for Newton (IRLS), the Hessian Xᵀ diag(σ(1-σ)) X / n in one read of X. Built
// like the linear-MSE pass (src/cpu/linear_mse.cpp): rows cut into fixed blocks of kRowBlock,
// OpenMP threads compute the blocks' partial sums in double independently (the block kernel,
// cpu/logistic_block.hpp, over the shared per-row body shared/logistic_row.hpp), and the
// partials are added in block order. The blocks do not depend on the thread count, so the
// results are bitwise identical for any number of threads; the block kernel is built for the
// baseline instruction set here and for AVX2 / AVX-512 in logistic_avx2.cpp /
// logistic_avx512.cpp, all bitwise alike, and the widest the processor runs is used.
// Verified by tests/test_fused_classification.cpp.
#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/linear_mse_isa.hpp"
#include "cpu/logistic_isa.hpp"
#include "cpu/row_blocks.hpp"
#include "descent/error.hpp"
#include "shared/dtype_visit.hpp"

#define DESCENT_CPU_ISA baseline
#include "cpu/logistic_block.hpp"

namespace descent::detail {

namespace {

// The blocks a distributed pass shares (shared/block_tree.hpp).
constexpr std::int64_t kRowBlock = kBlockRows;
static_assert(kRowBlock <= 1023 * baseline::kLogisticLanes,
              "the block's loss products (cpu/logistic_block.hpp) must stay finite");

}  // namespace

template <class T>
LogisticBlockFn<T> logistic_block_fn_for(CpuIsa isa, std::int64_t d, bool ones) {
    require_cpu_isa(isa, "logistic");
    constexpr bool f32 = std::is_same_v<T, float>;
    switch (isa) {
#if defined(DESCENT_HAVE_AVX2_KERNELS)
        case CpuIsa::avx2:
            if constexpr (f32) return avx2_logistic_block_fn_f32(d, ones); else return avx2_logistic_block_fn_f64(d, ones);
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
        case CpuIsa::avx512:
            if constexpr (f32) return avx512_logistic_block_fn_f32(d, ones); else return avx512_logistic_block_fn_f64(d, ones);
#endif
        default: return baseline::logistic_block_fn<T>(d, ones);
    }
}

template LogisticBlockFn<float> logistic_block_fn_for<float>(CpuIsa, std::int64_t, bool);
template LogisticBlockFn<double> logistic_block_fn_for<double>(CpuIsa, std::int64_t, bool);

void CpuBackend::logistic(Array X, Array y, Array w, std::int64_t n, std::int64_t d,
                          bool intercept, Array loss, Array grad, const Array* hessian,
                          const BlockShard* shard) {
    visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(X.data);   // (n, d), or (n, d - 1) with intercept
        const T* yv = static_cast<const T*>(y.data);  // (n), 0/1
        const T* wv = static_cast<const T*>(w.data);  // (d)
        const bool want_h = hessian != nullptr;
        const std::int64_t entries = 1 + d + (want_h ? d * d : 0);
        // As the linear pass: the specialised widths read an implicit intercept's ones themselves.
        const LogisticBlockFn<T> reads_ones =
            intercept ? logistic_block_fn_for<T>(best_cpu_isa(), d, true) : nullptr;
        const LogisticBlockFn<T> block = reads_ones ? reads_ones : logistic_block_fn_for<T>(best_cpu_isa(), d);
        BlockRows<T> xr(x, n, kRowBlock, d, intercept, reads_ones != nullptr);
        const std::vector<double> total =
            sum_row_blocks(n, kRowBlock, entries, [&](std::int64_t start, std::int64_t rows, double* out) {
                block(xr.rows(start, rows), yv + start, wv, rows, d, want_h, out);
            }, shard);
        const double inv_n = 1.0 / double(shard ? shard->total_rows : n);
        write_loss_grad_hessian(total, d, inv_n, inv_n, static_cast<T*>(loss.data),
                                static_cast<T*>(grad.data),
                                want_h ? static_cast<T*>(hessian->data) : nullptr);
    });
}

}  // namespace descent::detail
