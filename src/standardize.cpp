// Feature scaling (include/descent/standardize.hpp).
#include "descent/standardize.hpp"

#include <algorithm>
#include <cmath>

#include "block_sums.hpp"
#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"

namespace descent {

namespace {

// Per block of kShardBlockRows rows of X's first `features` columns, in f64 on X's device:
// sum(term(block), 0), read back; summed over the blocks in order.
template <class Term>
std::vector<double> column_sums(const Tensor& X, std::int64_t features, Term&& term,
                                Communicator* comm) {
    const std::int64_t n = X.shape()[0];
    std::vector<double> blocks;
    blocks.reserve(static_cast<std::size_t>((n + kShardBlockRows - 1) / kShardBlockRows * features));
    for (std::int64_t r = 0; r < n; r += kShardBlockRows) {
        const Tensor block = X.narrow(0, r, std::min(kShardBlockRows, n - r))
                                 .narrow(1, 0, features)
                                 .to(DType::f64);
        const Tensor column_sum = sum(term(block), 0);
        const std::vector<double> s = column_sum.to_vector<double>();
        blocks.insert(blocks.end(), s.begin(), s.end());
    }
    return detail::sum_blocks_in_order(std::move(blocks), static_cast<std::size_t>(features), comm);
}

}  // namespace

Standardization fit_standardization(const Tensor& X, std::int64_t features, bool center,
                                    Communicator* comm) {
    detail::check_defined("fit_standardization", X);
    if (X.dim() != 2 || features < 1 || features > X.shape()[1])
        throw Error("fit_standardization: " + std::to_string(features) + " features of X " +
                    detail::describe(X));
    NoGrad no_grad;
    // Rows of every process: a count per block, summed like the rest.
    const std::int64_t local = X.shape()[0];
    std::vector<double> counts;
    for (std::int64_t r = 0; r < local; r += kShardBlockRows)
        counts.push_back(double(std::min(kShardBlockRows, local - r)));
    const double rows = detail::sum_blocks_in_order(std::move(counts), 1, comm)[0];
    if (rows == 0) throw Error("fit_standardization: no rows");
    Standardization s;
    const auto f = static_cast<std::size_t>(features);
    s.mean.assign(f, 0.0);
    if (center) {
        s.mean = column_sums(X, features, [](const Tensor& b) { return b; }, comm);
        for (double& m : s.mean) m /= rows;
    }
    const Tensor mean = from_vector(s.mean, {features}, DType::f64, X.device());
    const std::vector<double> squares = column_sums(
        X, features, [&](const Tensor& b) { return square(sub(b, mean)); }, comm);
    s.scale.resize(f);
    for (std::size_t j = 0; j < f; ++j) {
        const double sd = std::sqrt(squares[j] / rows);
        if (sd > 0.0) {
            s.scale[j] = sd;
        } else {
            s.scale[j] = 1.0;
            s.constant.push_back(static_cast<std::int64_t>(j));
        }
    }
    return s;
}

void standardize_(const Tensor& X, const Standardization& s) {
    detail::check_defined("standardize_", X);
    const auto features = static_cast<std::int64_t>(s.mean.size());
    if (X.dim() != 2 || features > X.shape()[1] || s.scale.size() != s.mean.size())
        throw Error("standardize_: a standardisation of " + std::to_string(features) +
                    " features for X " + detail::describe(X));
    NoGrad no_grad;
    const Tensor mean = from_vector(s.mean, {features}, DType::f64, X.device());
    const Tensor scale = from_vector(s.scale, {features}, DType::f64, X.device());
    const std::int64_t n = X.shape()[0];
    const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t(1) << 20) / features);
    for (std::int64_t r = 0; r < n; r += chunk) {
        Tensor part = X.narrow(0, r, std::min(chunk, n - r)).narrow(1, 0, features);
        part.copy_(div(sub(part.to(DType::f64), mean), scale).to(X.dtype()));
    }
}

std::vector<double> unstandardize_weights(const std::vector<double>& w, std::int64_t outputs,
                                          bool intercept, const Standardization& s) {
    const std::size_t k = static_cast<std::size_t>(outputs), f = s.mean.size();
    if (w.size() != (f + (intercept ? 1 : 0)) * k)
        throw Error("unstandardize_weights: " + std::to_string(w.size()) + " weights for " +
                    std::to_string(f) + " features" + (intercept ? " and an intercept" : "") +
                    " x " + std::to_string(k) + " outputs");
    std::vector<double> out = w;
    for (std::size_t c = 0; c < k; ++c) {
        double shift = 0.0;
        for (std::size_t j = 0; j < f; ++j) {
            out[j * k + c] = w[j * k + c] / s.scale[j];
            shift += out[j * k + c] * s.mean[j];
        }
        if (intercept) out[f * k + c] = w[f * k + c] - shift;
    }
    return out;
}

}  // namespace descent
