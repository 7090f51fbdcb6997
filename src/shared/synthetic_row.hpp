// One row of the synthetic data set, the same function for the whole-data generator
// (src/data/synthetic.cpp), the CPU chunk generator and the CUDA kernel (kernels/synthetic.cu)
// of streamed training: X[i][j] = feature value (seed, i, j), a ones column last with
// intercept, and y[i] = Σ_j X[i][j] w_j (+ b) + noise e_i, summed in double in index order,
// so every producer writes bitwise the same row.
// Verified by tests/test_streaming.cpp (chunks equal the in-memory data bit for bit).
#pragma once

#include <cmath>
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

// One row of a synthetic classification data set: the features as synthetic_row's, the logits
// z = Σ_j X[i][j] W[j][c] (+ W[d][c]) in double, and a label drawn with the row's own
// uniform u (stream kStreamLabel): k == 1, logistic: 1 when u < σ(z), else 0; k >= 2,
// softmax: the first class c whose cumulative softmax probability exceeds u. truth is
// (d (+1), k) row-major. The same function on any device gives bitwise the same labels.
template <class T>
DESCENT_HD void synthetic_class_row(std::uint64_t seed, std::int64_t d, std::int64_t k,
                                    bool intercept, const double* truth, std::int64_t i,
                                    T* row_out, T* label_out) {
    const std::int64_t cols = intercept ? d + 1 : d;
    for (std::int64_t j = 0; j < d; ++j)
        row_out[j] = static_cast<T>(
            synthetic_value(seed, kStreamFeature, std::uint64_t(i), std::uint32_t(j)));
    if (intercept) row_out[d] = T(1);
    const double u = synthetic_value(seed, kStreamLabel, std::uint64_t(i), 0);
    const std::int64_t classes = k < 2 ? 1 : k;
    // The logits from the values as stored (T), so the labels follow the data a model sees.
    const auto logit = [&](std::int64_t c) {
        double z = 0.0;
        for (std::int64_t j = 0; j < cols; ++j) z += double(row_out[j]) * truth[j * classes + c];
        return z;
    };
    if (classes == 1) {
        const double z = logit(0);
        const double p = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
        *label_out = u < p ? T(1) : T(0);
        return;
    }
    double m = logit(0);
    for (std::int64_t c = 1; c < classes; ++c) m = std::fmax(m, logit(c));
    double total = 0.0;
    for (std::int64_t c = 0; c < classes; ++c) total += std::exp(logit(c) - m);
    const double target = u * total;
    double cumulative = 0.0;
    std::int64_t label = classes - 1;
    for (std::int64_t c = 0; c < classes; ++c) {
        cumulative += std::exp(logit(c) - m);
        if (target < cumulative) {
            label = c;
            break;
        }
    }
    *label_out = static_cast<T>(label);
}

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
