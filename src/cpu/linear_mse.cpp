// CPU backend: the fused linear-MSE pass (twin of kernels/linear_mse.cu) and the choice of
// its block kernels' instruction set. It reads each row of X once. Rows are cut into fixed
// blocks of kRowBlock; OpenMP threads compute the blocks' partial sums independently (each
// block sequentially, with the per-row body shared with CUDA in
// src/shared/linear_mse_row.hpp) and the partials are then added in block order. The
// blocks do not depend on the thread count, so results are bitwise identical for any number
// of threads (tests/test_cpu_threads.cpp). Small d gets compile-time specialisations so the
// row loops unroll and vectorise.
#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/linear_mse_isa.hpp"
#include "cpu/row_blocks.hpp"
#include "descent/error.hpp"

#define DESCENT_CPU_ISA baseline
#include "cpu/linear_mse_block.hpp"

namespace descent::detail {

namespace {

// The blocks a distributed pass shares (shared/block_tree.hpp).
constexpr std::int64_t kRowBlock = kBlockRows;

}  // namespace

const char* cpu_isa_name(CpuIsa isa) {
    switch (isa) {
        case CpuIsa::baseline: return "baseline";
        case CpuIsa::avx2: return "avx2";
        case CpuIsa::avx512: return "avx512";
    }
    return "unknown";
}

std::vector<CpuIsa> available_cpu_isas() {
    std::vector<CpuIsa> out{CpuIsa::baseline};
#if defined(DESCENT_HAVE_AVX2_KERNELS)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.push_back(CpuIsa::avx2);
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        out.push_back(CpuIsa::avx512);
#endif
    return out;
}

CpuIsa best_cpu_isa() {
    static const CpuIsa best = available_cpu_isas().back();
    return best;
}

void require_cpu_isa(CpuIsa isa, const char* op) {
    // Once: every fused pass asks (a mini-batch step would pay a vector and cpuid queries).
    static const std::vector<CpuIsa> isas = available_cpu_isas();
    if (std::find(isas.begin(), isas.end(), isa) == isas.end())
        throw Error(std::string(op) + ": the " + cpu_isa_name(isa) +
                    " kernels are not built or this processor lacks the instructions");
}

template <class T>
BlockFn<T> block_fn_for(CpuIsa isa, std::int64_t d, bool ones) {
    require_cpu_isa(isa, "linear_mse");
    constexpr bool f32 = std::is_same_v<T, float>;
    switch (isa) {
#if defined(DESCENT_HAVE_AVX2_KERNELS)
        case CpuIsa::avx2:
            if constexpr (f32) return avx2_block_fn_f32(d, ones); else return avx2_block_fn_f64(d, ones);
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
        case CpuIsa::avx512:
            if constexpr (f32) return avx512_block_fn_f32(d, ones); else return avx512_block_fn_f64(d, ones);
#endif
        default: return baseline::block_fn<T>(d, ones);
    }
}

template BlockFn<float> block_fn_for<float>(CpuIsa, std::int64_t, bool);
template BlockFn<double> block_fn_for<double>(CpuIsa, std::int64_t, bool);

void CpuBackend::linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d,
                            bool intercept, Array loss, Array grad, const Array* hessian,
                            const BlockShard* shard) {
    visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(X.data);   // (n, d), or (n, d - 1) with intercept
        const T* yv = static_cast<const T*>(y.data);  // (n)
        const T* wv = static_cast<const T*>(w.data);  // (d)
        const bool want_h = hessian != nullptr;
        const std::int64_t entries = 1 + d + (want_h ? d * d : 0);
        // With the intercept implicit, the specialised widths read X's rows and their ones
        // themselves; other widths get each block copied with its ones (BlockRows).
        const BlockFn<T> reads_ones = intercept ? block_fn_for<T>(best_cpu_isa(), d, true) : nullptr;
        const BlockFn<T> block = reads_ones ? reads_ones : block_fn_for<T>(best_cpu_isa(), d);
        BlockRows<T> xr(x, n, kRowBlock, d, intercept, reads_ones != nullptr);
        const std::vector<double> total =
            sum_row_blocks(n, kRowBlock, entries, [&](std::int64_t start, std::int64_t rows, double* out) {
                block(xr.rows(start, rows), targets_from(yv, start), wv, rows, d, want_h, out);
            }, shard);
        const double inv_n = 1.0 / double(shard ? shard->total_rows : n);
        write_loss_grad_hessian(total, d, inv_n, 2.0 * inv_n, static_cast<T*>(loss.data),
                                static_cast<T*>(grad.data),
                                want_h ? static_cast<T*>(hessian->data) : nullptr);
    });
}

}  // namespace descent::detail
