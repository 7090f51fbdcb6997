// One row of the synthetic data set, the same function for the whole-data generator
// (src/data/synthetic.cpp), the CPU chunk generator and the CUDA kernel (kernels/synthetic.cu)
// of streamed training: X[i][j] = feature value (seed, i, j), a ones column last with
// intercept, and y[i] = Σ_j X[i][j] w_j (+ b) + noise e_i, summed in double in index order,
// so every producer writes bitwise the same row.
// Verified by tests/test_streaming.cpp (chunks equal the in-memory data bit for bit).
#pragma once

#include <cstdint>

#include "shared/hd.hpp"
#include "shared/philox.hpp"

namespace descent::detail {

// Streamed synthetic data: which data set, and its true weights (features (+1) doubles on
// the device that generates the rows).
struct SyntheticRows {
    std::uint64_t seed = 0;
    double noise = 0.0;
    std::int64_t features = 0;  // d, without the intercept column
    bool intercept = true;
    const double* truth = nullptr;
};

// truth holds the d true weights and, with intercept, b last. row_out has d (+1) entries.
template <class T>
DESCENT_HD void synthetic_row(std::uint64_t seed, double noise, std::int64_t d, bool intercept,
                              const double* truth, std::int64_t i, T* row_out, T* y_out) {
    double sum = 0.0;
    for (std::int64_t j = 0; j < d; ++j) {
        const double x = synthetic_value(seed, kStreamFeature, std::uint64_t(i), std::uint32_t(j));
        row_out[j] = static_cast<T>(x);
        sum += x * truth[j];
    }
    if (intercept) {
        row_out[d] = T(1);
        sum += truth[d];
    }
    sum += noise * synthetic_value(seed, kStreamNoise, std::uint64_t(i), 0);
    *y_out = static_cast<T>(sum);
}

}  // namespace descent::detail
