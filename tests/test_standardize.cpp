// Feature scaling (issue 16 item 3): fit_standardization's moments against a plain two-pass
// loop in long double, bitwise the same for any number of processes; standardize_ in place
// (a stored ones column untouched); unstandardize_weights maps a standardised linear model's
// weights to the original units exactly (its predictions on raw X equal the standardised
// model's on standardised X). numpy's side: tests/cli/standardize.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "descent/descent.hpp"
#include "distributed_runs.hpp"
#include "error_of.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {

// n rows: features of scales 1, 100, 0.01 around offsets, then a constant, then ones.
std::vector<double> table(std::int64_t n, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::vector<double> v;
    for (std::int64_t i = 0; i < n; ++i)
        v.insert(v.end(), {0.5 + normal(rng), -20 + 100 * normal(rng), 0.003 + 0.01 * normal(rng),
                           7.0, 1.0});
    return v;
}

}  // namespace

TEST_CASE("fit_standardization: the mean and std of a two-pass loop", "[standardize]") {
    const std::int64_t n = 3 * kShardBlockRows + 77;
    const std::vector<double> v = table(n, 1);
    const Tensor X = from_vector(v, {n, 5});
    const Standardization s = fit_standardization(X, 4);
    REQUIRE(s.mean.size() == 4);
    for (int j = 0; j < 4; ++j) {
        long double m = 0, q = 0;
        for (std::int64_t i = 0; i < n; ++i) m += v[i * 5 + j];
        m /= n;
        for (std::int64_t i = 0; i < n; ++i) q += (v[i * 5 + j] - m) * (v[i * 5 + j] - m);
        const double sd = double(std::sqrt(q / n));
        CHECK(std::abs(s.mean[j] - double(m)) <= 1e-13 * std::max(1.0, std::abs(double(m))));
        if (j < 3) CHECK(std::abs(s.scale[j] - sd) <= 1e-13 * sd);
    }
    CHECK(s.constant == std::vector<std::int64_t>{3});
    CHECK(s.scale[3] == 1.0);
    CHECK(s.mean[3] == 7.0);
    const Standardization rms = fit_standardization(X, 3, /*center=*/false);
    CHECK(rms.mean == std::vector<double>(3, 0.0));
    long double q = 0;
    for (std::int64_t i = 0; i < n; ++i) q += v[i * 5 + 1] * v[i * 5 + 1];
    CHECK(std::abs(rms.scale[1] - double(std::sqrt(q / n))) <= 1e-13 * rms.scale[1]);
    CHECK_THAT(error_of([&] { fit_standardization(X, 6); }), Contains("6 features of X"));
    CHECK_THAT(error_of([&] { fit_standardization(empty({0, 2}), 2); }), Contains("no rows"));
}

TEST_CASE("fit_standardization is bitwise the same for any number of processes", "[standardize]") {
    const std::int64_t n = 4 * kShardBlockRows + 5;
    const Tensor X = from_vector(table(n, 2), {n, 5});
    const Standardization whole = fit_standardization(X, 4);
    for (int K : {1, 2, 3, 5}) {
        INFO(K << " processes");
        std::vector<Standardization> got(static_cast<std::size_t>(K));
        test::on_threads(K, [&](int rank, Communicator& comm) {
            const RowShard r = shard_rows(n, rank, K);
            got[static_cast<std::size_t>(rank)] =
                fit_standardization(X.narrow(0, r.begin, r.rows()).contiguous(), 4, true, &comm);
        });
        for (const Standardization& s : got) {
            CHECK(test::same_bits(s.mean, whole.mean));
            CHECK(test::same_bits(s.scale, whole.scale));
        }
    }
}

TEST_CASE("standardize_ in place; weights back in the original units", "[standardize]") {
    const std::int64_t n = 500;
    const std::vector<double> v = table(n, 3);
    for (DType dtype : {DType::f64, DType::f32}) {
        INFO(dtype_name(dtype));
        const Tensor X = from_vector(v, {n, 5}, dtype);
        const Standardization s = fit_standardization(X, 4);
        const Tensor Xs = X.clone();
        standardize_(Xs, s);
        const std::vector<double> xs = Xs.to_vector<double>(), x = X.to_vector<double>();
        const double tol = dtype == DType::f64 ? 1e-14 : 1e-6;
        for (std::int64_t i = 0; i < n; ++i) {
            for (int j = 0; j < 4; ++j) {
                const double want = (x[i * 5 + j] - s.mean[j]) / s.scale[j];
                CHECK(std::abs(xs[i * 5 + j] - want) <= tol * std::max(1.0, std::abs(want)));
            }
            CHECK(xs[i * 5 + 4] == 1.0);  // the ones column is not a feature
        }
        // A model of the standardised features (last row the intercept) and its weights in
        // the original units predict the same.
        const std::vector<double> w = {0.3, -1.2, 2.5, 0.7, 4.0};
        const std::vector<double> back = unstandardize_weights(w, 1, true, s);
        for (std::int64_t i = 0; i < n; i += 37) {
            double scaled = w[4], raw = back[4];
            for (int j = 0; j < 4; ++j) {
                scaled += xs[i * 5 + j] * w[j];
                raw += x[i * 5 + j] * back[j];
            }
            CHECK(std::abs(scaled - raw) <= tol * 100 * std::max(1.0, std::abs(raw)));
        }
    }
    CHECK_THAT(error_of([] { unstandardize_weights({1, 2}, 1, true, Standardization{{0, 0}, {1, 1}, {}}); }),
               Contains("2 weights for 2 features and an intercept"));
}
