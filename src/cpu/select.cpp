// CPU backend: where, max/min/argmax along an axis, and the index gather with its adjoint.
// Every output element is computed by one thread from its own inputs in a fixed order (a
// selection is exact; index_add sums each run in increasing position), so threads only split
// the outputs and results are bitwise identical for any thread count
// (tests/test_cpu_threads.cpp). The CUDA kernels (kernels/select.cu) follow the same rules.
#include <algorithm>
#include <cstring>
#include <vector>

#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"

namespace descent::detail {

namespace {

// Below this many elements touched, a parallel region costs more than the loop.
constexpr std::int64_t kParallelWork = std::int64_t(1) << 16;

}  // namespace

void CpuBackend::where(Array cond, Array a, Array b, Array out, const SelectIndex& ix) {
    if (out.numel == 0) return;
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        const T* c = static_cast<const T*>(cond.data);
        const T* x = static_cast<const T*>(a.data);
        const T* y = static_cast<const T*>(b.data);
        T* o = static_cast<T*>(out.data);
        // Rows along the last dimension; each row finds its operands' bases from its index, so
        // rows are independent and can be split between threads.
        const int last = ix.rank - 1;
        const std::int64_t inner = ix.rank == 0 ? 1 : ix.shape[last];
        const std::int64_t rows = out.numel / inner;
        const std::int64_t sc = ix.rank == 0 ? 0 : ix.strides[0][last];
        const std::int64_t sa = ix.rank == 0 ? 0 : ix.strides[1][last];
        const std::int64_t sb = ix.rank == 0 ? 0 : ix.strides[2][last];
#pragma omp parallel for schedule(static) if (out.numel > kParallelWork)
        for (std::int64_t r = 0; r < rows; ++r) {
            std::int64_t base[3] = {0, 0, 0};
            std::int64_t rest = r;
            for (int dim = last - 1; dim >= 0; --dim) {
                const std::int64_t coord = rest % ix.shape[dim];
                rest /= ix.shape[dim];
                for (int k = 0; k < 3; ++k) base[k] += coord * ix.strides[k][dim];
            }
            T* row = o + r * inner;
            for (std::int64_t j = 0; j < inner; ++j)
                row[j] = c[base[0] + j * sc] != T(0) ? x[base[1] + j * sa] : y[base[2] + j * sb];
        }
    });
}

void CpuBackend::extremum_axis(bool largest, Array in, Array values, Array indices,
                               std::int64_t outer, std::int64_t len, std::int64_t inner) {
    if (outer * inner == 0) return;
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* val = static_cast<T*>(values.data);
        T* idx = static_cast<T*>(indices.data);
#pragma omp parallel if (outer * len * inner > kParallelWork)
        {
            std::vector<std::int64_t> pos(static_cast<std::size_t>(inner));
#pragma omp for schedule(static)
            for (std::int64_t p = 0; p < outer; ++p) {
                // Row by row through the block, so the inner elements stream through memory.
                const T* block = x + p * len * inner;
                T* best = val + p * inner;
                for (std::int64_t i = 0; i < inner; ++i) {
                    best[i] = block[i];
                    pos[i] = 0;
                }
                for (std::int64_t l = 1; l < len; ++l) {
                    const T* row = block + l * inner;
                    for (std::int64_t i = 0; i < inner; ++i) {
                        if (extremum_wins(largest, row[i], l, best[i], pos[i])) {
                            best[i] = row[i];
                            pos[i] = l;
                        }
                    }
                }
                if (idx != nullptr)
                    for (std::int64_t i = 0; i < inner; ++i) idx[p * inner + i] = static_cast<T>(pos[i]);
            }
        }
    });
}

void CpuBackend::index_select(Array in, Array out, std::int64_t outer, std::int64_t len,
                              std::int64_t inner, const std::int64_t* index, std::int64_t count) {
    if (out.numel == 0) return;
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        const std::size_t row_bytes = sizeof(T) * static_cast<std::size_t>(inner);
#pragma omp parallel for schedule(static) if (out.numel > kParallelWork)
        for (std::int64_t r = 0; r < outer * count; ++r) {
            const std::int64_t p = r / count, j = r % count;
            std::memcpy(o + r * inner, x + (p * len + index[j]) * inner, row_bytes);
        }
    });
}

void CpuBackend::index_add(Array in, Array out, std::int64_t outer, std::int64_t len,
                           std::int64_t inner, const std::int64_t* order,
                           const std::int64_t* offsets, std::int64_t count) {
    if (out.numel == 0) return;
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
#pragma omp parallel if (out.numel + in.numel > kParallelWork)
        {
            std::vector<double> acc(static_cast<std::size_t>(inner));
#pragma omp for schedule(static)
            for (std::int64_t r = 0; r < outer * len; ++r) {
                const std::int64_t p = r / len, l = r % len;
                std::fill(acc.begin(), acc.end(), 0.0);
                for (std::int64_t k = offsets[l]; k < offsets[l + 1]; ++k) {
                    const T* row = x + (p * count + order[k]) * inner;
                    for (std::int64_t i = 0; i < inner; ++i) acc[i] += double(row[i]);
                }
                for (std::int64_t i = 0; i < inner; ++i) o[r * inner + i] = static_cast<T>(acc[i]);
            }
        }
    });
}

}  // namespace descent::detail
