// Cholesky-Banachiewicz factorisation a = L Lᵀ, then forward and back substitution.
// Verified in tests/test_optim_api.cpp against the blog's numpy inverse and exact systems.
#include "cpu/cholesky.hpp"

#include <cmath>

namespace descent::optim::detail {

std::int64_t cholesky_solve(std::vector<double> a, std::vector<double>& b, std::int64_t d) {
    // Relative threshold: a pivot that rounding alone could have produced counts as zero.
    double scale = 0.0;
    for (std::int64_t i = 0; i < d; ++i) scale = std::max(scale, std::abs(a[i * d + i]));
    const double tiny = scale * 1e-14;
    for (std::int64_t i = 0; i < d; ++i) {
        for (std::int64_t j = 0; j <= i; ++j) {
            double s = a[i * d + j];
            for (std::int64_t k = 0; k < j; ++k) s -= a[i * d + k] * a[j * d + k];
            if (i == j) {
                if (!(s > tiny)) return i;  // also catches NaN
                a[i * d + i] = std::sqrt(s);
            } else {
                a[i * d + j] = s / a[j * d + j];
            }
        }
    }
    for (std::int64_t i = 0; i < d; ++i) {  // L z = b
        double s = b[i];
        for (std::int64_t k = 0; k < i; ++k) s -= a[i * d + k] * b[k];
        b[i] = s / a[i * d + i];
    }
    for (std::int64_t i = d; i-- > 0;) {  // Lᵀ x = z
        double s = b[i];
        for (std::int64_t k = i + 1; k < d; ++k) s -= a[k * d + i] * b[k];
        b[i] = s / a[i * d + i];
    }
    return -1;
}

}  // namespace descent::optim::detail
