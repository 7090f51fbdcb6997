// The scalar test problems of the curvature-method fixtures (torch_lbfgs.txt,
// scipy_newton_cg.txt), rebuilt from descent ops in f64 on the CPU: linear MSE
// mean((X w - y)^2), logistic loss mean(log(1 + exp(-y (X w)))) and Rosenbrock
// sum_{i<p-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 (its parts taken by selection matrices,
// descent having no slicing yet).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "descent/descent.hpp"

namespace reference_problems {

inline std::function<descent::Tensor(const descent::Tensor&)> objective(
    const std::string& function, std::int64_t p, std::int64_t n, std::int64_t d,
    const std::vector<double>& X_values, const std::vector<double>& y_values) {
    using namespace descent;
    if (function == "linear_mse" || function == "logistic") {
        const Tensor X = from_vector(X_values, {n, d}, DType::f64);
        const Tensor y = from_vector(y_values, {n}, DType::f64);
        if (function == "linear_mse")
            return [X, y](const Tensor& w) { return mean(square(matmul(X, w) - y)); };
        return [X, y](const Tensor& w) { return mean(log(1.0 + exp(neg(y * matmul(X, w))))); };
    }
    if (function != "rosenbrock") throw std::runtime_error("unknown problem " + function);
    std::vector<double> lo(static_cast<std::size_t>((p - 1) * p), 0.0), hi(lo.size(), 0.0);
    for (std::int64_t i = 0; i + 1 < p; ++i) {
        lo[static_cast<std::size_t>(i * p + i)] = 1.0;
        hi[static_cast<std::size_t>(i * p + i + 1)] = 1.0;
    }
    const Tensor L = from_vector(lo, {p - 1, p}, DType::f64);
    const Tensor H = from_vector(hi, {p - 1, p}, DType::f64);
    return [L, H](const Tensor& x) {
        const Tensor a = matmul(L, x), b = matmul(H, x);
        return sum(100.0 * square(b - square(a)) + square(1.0 - a));
    };
}

// max |got - ref| / max |ref| (absolute when ref is all zero); infinite on a size mismatch.
inline double scaled_error(const std::vector<double>& got, const std::vector<double>& ref) {
    if (got.size() != ref.size()) return INFINITY;
    double scale = 0.0, err = 0.0;
    for (double r : ref) scale = std::max(scale, std::abs(r));
    for (std::size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::abs(got[i] - ref[i]));
    return scale > 0 ? err / scale : err;
}

}  // namespace reference_problems
