// CPU backend: the fused losses. linear_mse reads each row of X once (per-row body in
// descent/detail/linear_mse_row.hpp, shared with CUDA) and reduces fixed blocks of rows into
// partial sums that are combined in block order — the same structure the parallel and CUDA
// versions use, so the result is deterministic.
#include <algorithm>
#include <vector>

#include "backend/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "descent/detail/linear_mse_row.hpp"

namespace descent::detail {

namespace {
constexpr std::int64_t kRowBlock = 4096;
}

void CpuBackend::mse(Array pred, Array target, Array out) {
    visit_dtype(pred.dtype, [&](auto t) {
        using T = decltype(t);
        const T* p = static_cast<const T*>(pred.data);
        const T* y = static_cast<const T*>(target.data);
        double total = 0.0;
        for (std::int64_t i = 0; i < pred.numel; ++i) {
            const double r = double(p[i]) - double(y[i]);
            total += r * r;
        }
        *static_cast<T*>(out.data) = static_cast<T>(total / double(pred.numel));
    });
}

void CpuBackend::linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d,
                            Array loss, Array grad, const Array* hessian) {
    visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(X.data);  // (n, d)
        const T* yv = static_cast<const T*>(y.data);  // (n)
        const T* wv = static_cast<const T*>(w.data);  // (d)
        const bool want_h = hessian != nullptr;
        const auto dd = static_cast<std::size_t>(d);

        double loss_total = 0.0;
        std::vector<double> grad_total(dd, 0.0), hess_total(want_h ? dd * dd : 0, 0.0);
        std::vector<double> grad_block(dd), hess_block(want_h ? dd * dd : 0);
        for (std::int64_t start = 0; start < n; start += kRowBlock) {
            const std::int64_t stop = std::min(n, start + kRowBlock);
            double loss_block = 0.0;
            std::fill(grad_block.begin(), grad_block.end(), 0.0);
            std::fill(hess_block.begin(), hess_block.end(), 0.0);
            for (std::int64_t i = start; i < stop; ++i) {
                const T* row = x + i * d;
                const double r = linear_row_residual(row, wv, yv[i], d);
                loss_block += linear_row_accumulate_grad(row, r, d, grad_block.data());
                if (want_h) linear_row_accumulate_hessian(row, d, hess_block.data());
            }
            loss_total += loss_block;
            for (std::size_t j = 0; j < dd; ++j) grad_total[j] += grad_block[j];
            for (std::size_t j = 0; j < hess_block.size(); ++j) hess_total[j] += hess_block[j];
        }

        const double inv_n = 1.0 / double(n);
        *static_cast<T*>(loss.data) = static_cast<T>(loss_total * inv_n);
        T* g = static_cast<T*>(grad.data);
        for (std::size_t j = 0; j < dd; ++j) g[j] = static_cast<T>(2.0 * inv_n * grad_total[j]);
        if (want_h) {
            T* h = static_cast<T*>(hessian->data);
            for (std::int64_t j = 0; j < d; ++j)
                for (std::int64_t k = j; k < d; ++k) {
                    const T v = static_cast<T>(2.0 * inv_n * hess_total[j * d + k]);
                    h[j * d + k] = v;
                    h[k * d + j] = v;
                }
        }
    });
}

}  // namespace descent::detail
