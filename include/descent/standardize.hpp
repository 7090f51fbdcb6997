// Feature scaling, scikit-learn's StandardScaler: each feature's mean and (population)
// standard deviation from the data, on the device that holds it, and X taken to
// (x - mean) / std in place; a linear model trained on the standardised features maps back to
// the original units exactly (to rounding). A constant feature (std 0) is kept, centred and
// not scaled (scale 1), as StandardScaler does. Verified by tests/test_standardize.cpp (numpy's
// mean / std, lstsq on badly scaled data) and tests/cli/standardize.sh.
#pragma once

#include <cstdint>
#include <vector>

#include "descent/communicator.hpp"
#include "descent/tensor.hpp"

namespace descent {

struct Standardization {
    std::vector<double> mean;   // per feature; all 0 when not centred
    std::vector<double> scale;  // per feature: its standard deviation, 1 for a constant one
    std::vector<std::int64_t> constant;  // the features of standard deviation 0, in order
};

// The first `features` columns of X (n, >= features; a ones column after them is left out),
// any dtype and device. Sums are taken in f64 per block of kShardBlockRows rows on X's device,
// the blocks summed in order, in two passes (the mean, then the squared deviations from it,
// as numpy's std): bitwise the same for any thread count and, with `comm` over the processes
// of a distributed run (each holding its shard of whole blocks), any number of processes.
// `center` false: the mean is taken as 0 and the scale is the root mean square
// (StandardScaler(with_mean=False)), for models without an intercept to absorb a mean.
// Throws descent::Error for no rows or features out of range.
Standardization fit_standardization(const Tensor& X, std::int64_t features, bool center = true,
                                    Communicator* comm = nullptr);

// X's first s.mean.size() columns to (x - mean) / scale, in place, in X's dtype, a chunk of
// rows at a time (memory: one chunk).
void standardize_(const Tensor& X, const Standardization& s);

// The weight of a linear model trained on standardised features, in the original units:
// w_j / scale_j for the features, and, when `intercept` (the weight's last row), b -
// sum_j w_j mean_j / scale_j. W is (features [+ 1]) or (features [+ 1], k) row-major, flattened.
std::vector<double> unstandardize_weights(const std::vector<double>& w, std::int64_t outputs,
                                          bool intercept, const Standardization& s);

}  // namespace descent
