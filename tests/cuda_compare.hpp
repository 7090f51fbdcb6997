// Comparing CUDA results with CPU results in the CUDA test suites: the two error metrics
// (elementwise relative, or relative to the tensor's largest entry) and the default
// tolerances. NaN or Inf anywhere is an infinite error, so it can never pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "descent/dtype.hpp"

namespace cuda_compare {

using descent::DType;

enum class Metric {
    relative,  // max_i |got_i - ref_i| / max(|ref_i|, tiny)
    scaled,    // max_i |got_i - ref_i| / max_i |ref_i|
};

inline double max_error(const std::vector<double>& got, const std::vector<double>& ref,
                        Metric metric = Metric::relative, double scale = 0.0) {
    if (got.size() != ref.size()) return std::numeric_limits<double>::infinity();
    const double tiny = std::numeric_limits<double>::min();
    scale = std::max(scale, tiny);
    if (metric == Metric::scaled)
        for (double r : ref) scale = std::max(scale, std::abs(r));
    double worst = 0.0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(got[i]) || !std::isfinite(ref[i]))
            return std::numeric_limits<double>::infinity();
        const double denom = metric == Metric::relative ? std::max(std::abs(ref[i]), tiny) : scale;
        worst = std::max(worst, std::abs(got[i] - ref[i]) / denom);
    }
    return worst;
}

inline double tolerance(DType dt) { return dt == DType::f64 ? 1e-12 : 1e-5; }

}  // namespace cuda_compare
