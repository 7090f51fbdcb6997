// CPU backend: matrix product, transpose and axis sums. Sums accumulate in double in index
// order, so results do not depend on anything but the inputs.
#include <cmath>
#include <algorithm>
#include <vector>

#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"

namespace descent::detail {

void CpuBackend::gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, double alpha, Array a, Array b, Array c) {
    visit_dtype(c.dtype, [&](auto t) {
        using T = decltype(t);
        const T* A = static_cast<const T*>(a.data);  // (m, k), or (k, m) when trans_a
        const T* B = static_cast<const T*>(b.data);  // (k, n), or (n, k) when trans_b
        T* C = static_cast<T*>(c.data);              // (m, n)
        // i-p-j order with a double row accumulator: B and C are read along rows.
        std::vector<double> row(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < m; ++i) {
            std::fill(row.begin(), row.end(), 0.0);
            for (std::int64_t p = 0; p < k; ++p) {
                const double aip = double(trans_a ? A[p * m + i] : A[i * k + p]);
                if (trans_b) {
                    for (std::int64_t j = 0; j < n; ++j) row[j] += aip * double(B[j * k + p]);
                } else {
                    const T* brow = B + p * n;
                    for (std::int64_t j = 0; j < n; ++j) row[j] += aip * double(brow[j]);
                }
            }
            for (std::int64_t j = 0; j < n; ++j) C[i * n + j] = static_cast<T>(alpha * row[j]);
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
