// Metrics (issue 16 item 2) against scikit-learn's metric functions (fixtures from
// tests/reference/metrics_reference.py): every figure to 1e-12 relative, counts exact; and the
// same bits for any number of processes (the blocks of kShardBlockRows rows).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "descent/descent.hpp"
#include "distributed_runs.hpp"
#include "error_of.hpp"
#include "fixture_file.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {

struct Case {
    std::string kind, name;
    std::int64_t n = 0, k = 0;
    std::vector<double> pred, y, expect, support, predicted, correct;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (const fixture::Record& r : fixture::read("sklearn_metrics.txt")) {
        if (r[0] == "reg" || r[0] == "cls") {
            Case c;
            c.kind = r[0];
            c.name = r[1];
            c.n = std::stoll(r[2]);
            c.k = r[0] == "cls" ? std::stoll(r[3]) : 0;
            out.push_back(c);
            continue;
        }
        Case& c = out.back();
        const std::vector<double> v = fixture::numbers(r, 1);
        if (r[0] == "pred" || r[0] == "logits") c.pred = v;
        else if (r[0] == "y") c.y = v;
        else if (r[0] == "expect") c.expect = v;
        else if (r[0] == "support") c.support = v;
        else if (r[0] == "predicted") c.predicted = v;
        else if (r[0] == "correct") c.correct = v;
    }
    return out;
}

Tensor outputs_of(const Case& c) {
    if (c.kind == "reg" || c.k == 2) return from_vector(c.pred, {c.n});
    return from_vector(c.pred, {c.n, c.k});
}

std::vector<double> as_doubles(const std::vector<std::int64_t>& v) {
    return std::vector<double>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("metrics equal scikit-learn's", "[metrics]") {
    const std::vector<Case> all = cases();
    REQUIRE(all.size() == 8);
    for (const Case& c : all) {
        INFO(c.name);
        const Tensor out = outputs_of(c), y = from_vector(c.y, {c.n});
        if (c.kind == "reg") {
            const RegressionMetrics m = regression_metrics(out, y);
            CHECK(m.rows == c.n);
            CHECK(fixture::max_rel_err({m.mse, m.rmse, m.mae, m.r2}, c.expect) <= 1e-12);
        } else {
            const ClassificationMetrics m = classification_metrics(out, y, c.k);
            CHECK(fixture::max_rel_err({m.accuracy, m.log_loss}, c.expect) <= 1e-12);
            CHECK(as_doubles(m.support) == c.support);
            CHECK(as_doubles(m.predicted) == c.predicted);
            CHECK(as_doubles(m.correct) == c.correct);
        }
    }
}

TEST_CASE("metrics are bitwise the same for any number of processes", "[metrics]") {
    // Five blocks, the last one short; seeded values of many magnitudes, so that any other
    // order of the sums would show in the last bits.
    const std::int64_t n = 4 * kShardBlockRows + 123, k = 3;
    std::mt19937_64 rng(77);
    std::normal_distribution<double> normal;
    std::vector<double> pred(n), y(n), logits(n * k), labels(n);
    for (std::int64_t i = 0; i < n; ++i) {
        y[i] = normal(rng) * std::exp(4 * normal(rng));
        pred[i] = y[i] + normal(rng);
        labels[i] = double(i % k);
    }
    for (double& z : logits) z = 3 * normal(rng);
    const Tensor P = from_vector(pred, {n}), Y = from_vector(y, {n}), Z = from_vector(logits, {n, k}),
                 L = from_vector(labels, {n});
    const auto flat = [&](const Tensor& p, const Tensor& t, const Tensor& z, const Tensor& l,
                          Communicator* comm) {
        const RegressionMetrics r = regression_metrics(p, t, comm);
        const ClassificationMetrics c = classification_metrics(z, l, k, comm);
        std::vector<double> v = {double(r.rows), r.mse, r.rmse, r.mae, r.r2, c.accuracy, c.log_loss};
        for (auto x : c.correct) v.push_back(double(x));
        return v;
    };
    const std::vector<double> whole = flat(P, Y, Z, L, nullptr);
    for (int K : {1, 2, 3, 4}) {
        INFO(K << " processes");
        std::vector<std::vector<double>> got(static_cast<std::size_t>(K));
        test::on_threads(K, [&](int rank, Communicator& comm) {
            const RowShard s = shard_rows(n, rank, K);
            const auto part = [&](const Tensor& t) { return t.narrow(0, s.begin, s.rows()).contiguous(); };
            got[static_cast<std::size_t>(rank)] = flat(part(P), part(Y), part(Z), part(L), &comm);
        });
        for (const auto& g : got) CHECK(test::same_bits(g, whole));
    }
}

TEST_CASE("metrics refuse what they cannot measure", "[metrics]") {
    const Tensor v = from_vector(std::vector<double>{0, 1, 2}, {3});
    CHECK_THAT(error_of([&] { regression_metrics(v, from_vector(std::vector<double>{1, 2}, {2})); }),
               Contains("vectors of one length"));
    CHECK_THAT(error_of([&] { classification_metrics(v, v, 2); }),
               Contains("label 2 at row 3 is not a class 0..1"));
    CHECK_THAT(error_of([&] {
                   classification_metrics(from_vector(std::vector<double>{0, 1, 2}, {1, 3}),
                                          from_vector(std::vector<double>{0.5}, {1}), 3);
               }),
               Contains("label 0.5 at row 1"));
    CHECK_THAT(error_of([&] { regression_metrics(empty({0}), empty({0})); }), Contains("no rows"));
}
