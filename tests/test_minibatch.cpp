// Mini-batch training: the seeded row permutation (a bijection, different per seed and epoch,
// uniform within chance), and train_linear with batch_size/shuffle against an independent
// loop that builds each batch on the host and differentiates mse_loss(X_b w, y_b) through the
// autodiff graph.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>

#include "descent/descent.hpp"
#include "error_of.hpp"
#include "shared/row_permutation.hpp"

using namespace descent;
using descent::detail::RowPermutation;
using Catch::Matchers::Contains;

namespace {

std::vector<std::int64_t> order(std::int64_t n, bool shuffle, std::uint64_t seed, std::int64_t epoch) {
    const auto p = RowPermutation::make(n, shuffle, seed, epoch);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) rows[i] = p.row(i);
    return rows;
}


// Pearson's chi-square of observed counts against equal expected counts.
double chi_square(const std::vector<double>& counts) {
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    const double expected = total / double(counts.size());
    double chi = 0.0;
    for (double c : counts) chi += (c - expected) * (c - expected) / expected;
    return chi;
}

// A small regression problem with a non-trivial spread of rows.
Dataset problem(std::int64_t n, std::int64_t d) {
    SyntheticSpec spec;
    spec.n = n;
    spec.d = d;
    spec.noise = 0.3;
    spec.seed = 11;
    return synthetic_dataset(spec, true, DType::f64, Device::cpu());
}

struct Reference {
    std::vector<double> losses, weights;
};

// The mini-batch loop written out: rows of the epoch's order, batches of `batch` rows (the
// last one smaller), loss through the autodiff graph, one optimizer step per batch; the epoch
// loss is the row-weighted mean of the batch losses.
Reference reference_loop(const Dataset& data, const optim::OptimizerConfig& config,
                         std::int64_t epochs, std::int64_t batch, bool shuffle,
                         std::uint64_t seed) {
    const std::int64_t n = data.X.shape()[0], d = data.X.shape()[1];
    const std::vector<double> X = data.X.to_vector<double>(), y = data.y.to_vector<double>();
    Tensor w = zeros({d}, DType::f64).requires_grad_();
    auto opt = optim::make_optimizer(config, {w});
    Reference ref;
    for (std::int64_t e = 0; e < epochs; ++e) {
        const std::vector<std::int64_t> rows = order(n, shuffle, seed, e);
        double epoch_loss = 0.0;
        for (std::int64_t begin = 0; begin < n; begin += batch) {
            const std::int64_t count = std::min(batch, n - begin);
            std::vector<double> xb, yb;
            for (std::int64_t k = 0; k < count; ++k) {
                const std::int64_t r = rows[begin + k];
                xb.insert(xb.end(), X.begin() + r * d, X.begin() + (r + 1) * d);
                yb.push_back(y[r]);
            }
            opt->zero_grad();
            const Tensor pred = reshape(matmul(from_vector(xb, {count, d}), reshape(w, {d, 1})), {count});
            const Tensor loss = mse_loss(pred, from_vector(yb, {count}));
            loss.backward();
            epoch_loss += loss.item() * double(count);
            opt->step();
        }
        ref.losses.push_back(epoch_loss / double(n));
    }
    ref.weights = w.to_vector<double>();
    return ref;
}

TrainResult train(const Dataset& data, const optim::OptimizerConfig& config, std::int64_t epochs,
                  std::int64_t batch, bool shuffle, std::uint64_t seed) {
    Tensor w = zeros({data.X.shape()[1]}, DType::f64).requires_grad_();
    auto opt = optim::make_optimizer(config, {w});
    TrainOptions options;
    options.epochs = epochs;
    options.batch_size = batch;
    options.shuffle = shuffle;
    options.shuffle_seed = seed;
    return train_linear(data.X, data.y, *opt, options);
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(1e-300, std::fabs(b[i])));
    return worst;
}

}  // namespace

TEST_CASE("the row permutation is a bijection of [0, n) for every n", "[minibatch][permutation]") {
    for (std::int64_t n : {1, 2, 3, 5, 8, 100, 4095, 4097, 65535, 65536, 65537, 200003}) {
        for (std::uint64_t seed : {0ull, 7ull, 0xFFFFFFFFull}) {
            for (std::int64_t epoch : {0, 1, 1000}) {
                std::vector<std::int64_t> rows = order(n, true, seed, epoch);
                std::sort(rows.begin(), rows.end());
                std::vector<std::int64_t> expected(static_cast<std::size_t>(n));
                std::iota(expected.begin(), expected.end(), 0);
                INFO("n " << n << " seed " << seed << " epoch " << epoch);
                CHECK(rows == expected);
            }
        }
        std::vector<std::int64_t> identity(static_cast<std::size_t>(n));
        std::iota(identity.begin(), identity.end(), 0);
        CHECK(order(n, false, 3, 4) == identity);
    }
}

TEST_CASE("the order depends on the seed and the epoch, and only on them", "[minibatch][permutation]") {
    const auto base = order(1000, true, 1, 0);
    CHECK(order(1000, true, 1, 0) == base);
    CHECK(order(1000, true, 2, 0) != base);
    CHECK(order(1000, true, 1, 1) != base);
    std::vector<std::int64_t> identity(1000);
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(base != identity);
    // Roughly half of the adjacent pairs are in increasing order in a random order.
    int rising = 0;
    for (std::size_t i = 1; i < base.size(); ++i) rising += base[i] > base[i - 1];
    CHECK(rising > 430);
    CHECK(rising < 570);
}

TEST_CASE("every order of a small set is equally likely", "[minibatch][permutation]") {
    // Chi-square thresholds at p = 0.001 (23 and 119 degrees of freedom): a fair shuffle
    // fails one in a thousand seeds; the fixed seed makes the test deterministic.
    for (const auto& [n, threshold] : std::vector<std::pair<std::int64_t, double>>{{4, 49.73}, {5, 158.95}}) {
        std::int64_t factorial = 1;
        for (std::int64_t k = 2; k <= n; ++k) factorial *= k;
        std::map<std::vector<std::int64_t>, double> seen;
        const std::int64_t trials = 200 * factorial;
        for (std::int64_t e = 0; e < trials; ++e) seen[order(n, true, 12345, e)] += 1.0;
        INFO("n " << n);
        REQUIRE(static_cast<std::int64_t>(seen.size()) == factorial);
        std::vector<double> counts;
        for (const auto& entry : seen) counts.push_back(entry.second);
        CHECK(chi_square(counts) < threshold);
    }
}

TEST_CASE("mini-batch training equals the reference loop for every optimizer", "[minibatch][train]") {
    const Dataset data = problem(517, 3);  // 517 = 4 x 128 + 5: a short last batch
    for (const std::string name : {"gd", "momentum", "adagrad", "rmsprop", "adam", "adamw"}) {
        for (bool shuffle : {false, true}) {
            optim::OptimizerConfig config;
            config.name = name;
            config.lr = 0.05;
            const TrainResult r = train(data, config, 6, 128, shuffle, 42);
            const Reference ref = reference_loop(data, config, 6, 128, shuffle, 42);
            INFO(name << (shuffle ? " shuffled" : " in order"));
            CHECK(max_rel(r.losses, ref.losses) < 1e-12);
            CHECK(max_rel(r.final_weights, ref.weights) < 1e-12);
        }
    }
}

TEST_CASE("shuffling changes the batches; the same seed repeats them bitwise", "[minibatch][train]") {
    const Dataset data = problem(300, 2);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.05;
    const TrainResult a = train(data, config, 5, 32, true, 1);
    const TrainResult b = train(data, config, 5, 32, true, 1);
    const TrainResult c = train(data, config, 5, 32, true, 2);
    const TrainResult in_order = train(data, config, 5, 32, false, 1);
    CHECK(a.final_weights == b.final_weights);
    CHECK(a.losses == b.losses);
    CHECK(a.final_weights != c.final_weights);
    CHECK(a.final_weights != in_order.final_weights);
}

TEST_CASE("a batch of all rows is the full-batch run", "[minibatch][train]") {
    const Dataset data = problem(200, 2);
    optim::OptimizerConfig config;
    config.name = "momentum";
    config.lr = 0.05;
    const TrainResult full = train(data, config, 8, 0, false, 0);
    CHECK(train(data, config, 8, 200, false, 0).final_weights == full.final_weights);
    CHECK(train(data, config, 8, 5000, true, 0).losses == full.losses);
    // One step per batch: 4 batches of 50 take 4x the steps of the full batch.
    Tensor w = zeros({3}, DType::f64).requires_grad_();
    auto opt = optim::make_optimizer(config, {w});
    TrainOptions options;
    options.epochs = 3;
    options.batch_size = 50;
    train_linear(data.X, data.y, *opt, options);
    CHECK(opt->step_count() == 12);
}

TEST_CASE("mini-batch misuse is refused", "[minibatch][errors]") {
    const Dataset data = problem(100, 2);
    Tensor w = zeros({3}, DType::f64).requires_grad_();
    optim::OptimizerConfig config;
    config.name = "newton";
    auto newton = optim::make_optimizer(config, {w});
    TrainOptions options;
    options.batch_size = 10;
    CHECK_THAT(error_of([&] { train_linear(data.X, data.y, *newton, options); }),
               Contains("newton") && Contains("full-batch"));
    config.name = "gd";
    auto gd = optim::make_optimizer(config, {w});
    options.batch_size = -1;
    CHECK_THAT(error_of([&] { train_linear(data.X, data.y, *gd, options); }), Contains("batch_size"));
    CHECK(gd->step_count() == 0);
}
