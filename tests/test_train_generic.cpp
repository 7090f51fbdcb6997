// The one training loop (descent::train, train.hpp) on models without a fused pass: the
// generic autodiff step (forward, loss, backward) inside the same epoch loop.
//  - A two-parameter model (w, b) trained by train() reproduces torch.optim's trajectories
//    (tests/reference/fixtures/torch_optim.txt, independent of descent) to 1e-9 in f64.
//  - The generic step gives what the fused linear-MSE step gives (to rounding), for full
//    batch, shuffled mini-batches, L-BFGS and Newton-CG (whose H v is then the gradient
//    differentiated again), and a resumed generic run equals the uninterrupted one bitwise.
//  - Misuse fails with one clear message.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "fixture_file.hpp"
#include "torch_optim_cases.hpp"

using namespace descent;

namespace {

// pred = X w + b: two parameters, no fused pass.
class Affine final : public Model {
public:
    Affine(Tensor w, Tensor b) : m_w(std::move(w)), m_b(std::move(b)) {}
    std::vector<Tensor> parameters() const override { return {m_w, m_b}; }
    Tensor forward(const Tensor& X) const override { return matmul(X, m_w) + m_b; }
    std::string name() const override { return "affine"; }

private:
    Tensor m_w, m_b;
};

// pred = X w with no fused pass: the generic twin of LinearModel.
class PlainLinear final : public Model {
public:
    explicit PlainLinear(Tensor w) : m_w(std::move(w)) {}
    std::vector<Tensor> parameters() const override { return {m_w}; }
    Tensor forward(const Tensor& X) const override { return matmul(X, m_w); }
    std::string name() const override { return "plain-linear"; }

private:
    Tensor m_w;
};

struct Problem {
    Tensor X, y;
};

Problem regression(std::int64_t n, std::int64_t d, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> X(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n));
    for (double& v : X) v = normal(rng);
    for (std::int64_t i = 0; i < n; ++i) {
        double s = 0.5;
        for (std::int64_t j = 0; j < d; ++j) s += X[i * d + j] * double(j + 1) / double(d);
        y[i] = s + 0.1 * normal(rng);
    }
    return {from_vector(X, {n, d}, DType::f64), from_vector(y, {n}, DType::f64)};
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
    return worst;
}

}  // namespace

TEST_CASE("train() on a two-parameter model reproduces torch.optim's trajectories",
          "[train][generic][torch]") {
    using namespace torch_optim_cases;
    int checked = 0;
    for (const TorchCase& c : load_cases()) {
        if (c.dtype != DType::f64) continue;
        INFO(c.name);
        const Tensor X = from_vector(c.X, {c.n, c.d}, c.dtype);
        const Tensor y = from_vector(c.y, {c.n}, c.dtype);
        Tensor w = from_vector(c.w0, {c.d}, c.dtype).requires_grad_();
        Tensor b = from_vector(c.b0, {1}, c.dtype).requires_grad_();
        const Affine model(w, b);
        auto optimizer = make(c, model.parameters());
        TrainOptions options;
        options.epochs = c.steps;
        options.record_weights = true;
        const TrainResult r = train(model, Loss::mse, X, y, *optimizer, options);
        REQUIRE(static_cast<std::int64_t>(r.losses.size()) == c.steps);
        for (int k = 1; k <= c.steps; ++k) {
            INFO("step " << k);
            CHECK(fixture::max_rel_err({r.losses[k - 1]}, {c.loss.at(k)}) <= 1e-9);
            std::vector<double> want = c.w.at(k);
            want.insert(want.end(), c.b.at(k).begin(), c.b.at(k).end());
            CHECK(fixture::max_rel_err(r.weights[static_cast<std::size_t>(k)], want) <= 1e-9);
        }
        // final_grad flattens both parameters' gradients of the last step.
        std::vector<double> grad = c.gw.at(c.steps);
        grad.insert(grad.end(), c.gb.at(c.steps).begin(), c.gb.at(c.steps).end());
        CHECK(fixture::max_rel_err(r.final_grad, grad) <= 1e-9);
        ++checked;
    }
    CHECK(checked >= 16);
}

TEST_CASE("the generic step equals the fused linear-MSE step inside the loop",
          "[train][generic]") {
    const Problem p = regression(300, 5, 7);
    struct Run {
        const char* what;
        optim::OptimizerConfig config;
        std::int64_t batch;
        bool shuffle;
        std::int64_t epochs;
    };
    const auto config = [](const char* name, double lr) {
        optim::OptimizerConfig c;
        c.name = name;
        if (lr > 0) c.lr = lr;
        return c;
    };
    const std::vector<Run> runs = {
        {"gd, full batch", config("gd", 0.1), 0, false, 30},
        {"adam, shuffled batches of 64", config("adam", 0.05), 64, true, 8},
        {"momentum, batches of 50 in order", config("momentum", 0.05), 50, false, 8},
        {"lbfgs (closure)", config("lbfgs", 1.0), 0, false, 4},
        {"newton-cg (H v by double backward)", config("newton-cg", 0.0), 0, false, 4},
    };
    for (const Run& run : runs) {
        INFO(run.what);
        TrainOptions options;
        options.epochs = run.epochs;
        options.batch_size = run.batch;
        options.shuffle = run.shuffle;
        options.shuffle_seed = 11;
        options.record_weights = true;

        Tensor w_fused = zeros({5}, DType::f64).requires_grad_();
        auto opt_fused = optim::make_optimizer(run.config, {w_fused});
        const TrainResult fused = train(LinearModel(w_fused), Loss::mse, p.X, p.y, *opt_fused, options);

        Tensor w_generic = zeros({5}, DType::f64).requires_grad_();
        auto opt_generic = optim::make_optimizer(run.config, {w_generic});
        const TrainResult generic =
            train(PlainLinear(w_generic), Loss::mse, p.X, p.y, *opt_generic, options);

        REQUIRE(generic.losses.size() == fused.losses.size());
        CHECK(max_rel(generic.losses, fused.losses) <= 1e-10);
        CHECK(max_rel(generic.final_weights, fused.final_weights) <= 1e-10);
        CHECK(max_rel(generic.final_grad, fused.final_grad) <= 1e-9);
        for (std::size_t e = 0; e < fused.weights.size(); ++e)
            CHECK(max_rel(generic.weights[e], fused.weights[e]) <= 1e-10);
        CHECK(fused.losses.back() < fused.losses.front());  // it trained
    }
}

TEST_CASE("a generic run resumed from its checkpoint equals the uninterrupted run bitwise",
          "[train][generic][resume]") {
    const Problem p = regression(200, 3, 9);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.05;
    TrainOptions options;
    options.epochs = 12;
    options.batch_size = 32;
    options.shuffle = true;
    options.record_weights = true;

    Tensor w = zeros({3}, DType::f64).requires_grad_();
    Tensor b = zeros({1}, DType::f64).requires_grad_();
    auto optimizer = optim::make_optimizer(config, {w, b});
    const TrainResult whole = train(Affine(w, b), Loss::mse, p.X, p.y, *optimizer, options);

    // The first 5 epochs, stopped there with their checkpoint, then the rest.
    Tensor w2 = zeros({3}, DType::f64).requires_grad_();
    Tensor b2 = zeros({1}, DType::f64).requires_grad_();
    auto first_opt = optim::make_optimizer(config, {w2, b2});
    TrainResult at5;
    optim::OptimizerState state5;
    std::vector<double> w5, b5;
    TrainOptions first = options;
    int polls = 0;  // once per epoch, after it is queued
    first.stop_requested = [&] { return ++polls >= 5; };
    first.on_checkpoint = [&](const TrainResult& so_far) {
        at5 = so_far;
        state5 = first_opt->state();
    };
    const TrainResult part = train(Affine(w2, b2), Loss::mse, p.X, p.y, *first_opt, first);
    REQUIRE(part.stopped);
    REQUIRE(at5.losses.size() == 5);
    w5 = w2.to_vector<double>();
    b5 = b2.to_vector<double>();

    Tensor w3 = from_vector(w5, {3}, DType::f64).requires_grad_();
    Tensor b3 = from_vector(b5, {1}, DType::f64).requires_grad_();
    auto resumed_opt = optim::make_optimizer(config, {w3, b3});
    resumed_opt->load_state(state5);
    TrainOptions rest = options;
    rest.resume = &at5;
    const TrainResult resumed = train(Affine(w3, b3), Loss::mse, p.X, p.y, *resumed_opt, rest);
    CHECK(resumed.losses == whole.losses);
    CHECK(resumed.final_weights == whole.final_weights);
    CHECK(resumed.weights == whole.weights);
}

TEST_CASE("train() misuse fails with one clear message", "[train][generic][errors]") {
    const Problem p = regression(20, 2, 3);
    Tensor w = zeros({2}, DType::f64).requires_grad_();
    Tensor other = zeros({2}, DType::f64).requires_grad_();
    optim::OptimizerConfig gd;
    gd.lr = 0.1;
    auto wrong = optim::make_optimizer(gd, {other});
    CHECK_THROWS_WITH(train(PlainLinear(w), Loss::mse, p.X, p.y, *wrong),
                      Catch::Contains("not the model's"));
    optim::OptimizerConfig newton;
    newton.name = "newton";
    auto newton_opt = optim::make_optimizer(newton, {w});
    CHECK_THROWS_WITH(train(PlainLinear(w), Loss::mse, p.X, p.y, *newton_opt),
                      Catch::Contains("Model::with_parameters") && Catch::Contains("newton-cg"));
    auto ok = optim::make_optimizer(gd, {w});
    CHECK_THROWS_WITH(train(PlainLinear(w), Loss::mse, p.X, p.y.narrow(0, 0, 10), *ok),
                      Catch::Contains("train: expects X (n, d)"));
}
