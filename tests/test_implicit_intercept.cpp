// The implicit intercept (LinearModel's fit_intercept: X without its ones column, the last
// row of the weights the intercept) against the same data with the ones column stored in X,
// the form every other test and reference checks:
//  - every fused pass (linear MSE loss, gradient and Hessian, its Hessian-vector product,
//    logistic loss, gradient and Hessian, softmax loss and gradient) gives bitwise the same
//    values, f32 and f64, for d across the CPU block kernels' specialised widths and n across
//    the row block (4096), at 1, 2 and 3 threads;
//  - non-contiguous X and row ranges give the same values;
//  - training through the one loop gives bitwise the same trajectory, f64 and f32 (gd,
//    shuffled Adam mini-batches, Newton with the fused Hessian, Newton-CG with the fused HVP,
//    L-BFGS, and the classifiers); newton-cg on a classifier agrees to rounding (softmax's
//    H v differentiates the model twice);
//  - the autodiff forward X W[:d] + W[d] equals X₁ W to rounding and passes gradcheck;
//  - misuse fails with one message naming the shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "descent/descent.hpp"

using namespace descent;

namespace {

// X (n, d) normal, in dtype.
Tensor features(std::int64_t n, std::int64_t d, DType dtype, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> v(static_cast<std::size_t>(n * d));
    for (double& x : v) x = normal(rng);
    return from_vector(v, {n, d}, DType::f64).to(dtype);
}

Tensor with_ones(const Tensor& X) {
    return concat({X, ones({X.shape()[0], 1}, X.dtype())}, 1);
}

Tensor random_weights(const Shape& shape, DType dtype, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 0.5);
    std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
    for (double& x : v) x = normal(rng);
    return from_vector(v, shape, DType::f64).to(dtype);
}

// Targets for `loss`: y = X b + noise (mse), 0/1 labels (logistic), class indices in [0, k).
Tensor targets(Loss loss, const Tensor& X, std::int64_t k, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const std::int64_t n = X.shape()[0];
    const std::vector<double> x = X.to_vector<double>();
    const std::int64_t d = X.shape()[1];
    std::vector<double> y(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        double s = 0.3;
        for (std::int64_t j = 0; j < d; ++j) s += x[i * d + j] * double(j % 3 - 1);
        switch (loss) {
            case Loss::mse: y[i] = s + std::normal_distribution<double>(0.0, 0.1)(rng); break;
            case Loss::bce_with_logits: y[i] = s + std::normal_distribution<double>(0.0, 1.0)(rng) > 0; break;
            case Loss::cross_entropy: y[i] = double(std::uniform_int_distribution<std::int64_t>(0, k - 1)(rng)); break;
        }
    }
    return from_vector(y, {n}, DType::f64).to(X.dtype());
}

struct PassValues {
    std::vector<double> loss, grad, hessian, hvp;
};

// One fused pass of LinearModel(w, fit_intercept) over X, with the Hessian where the loss has
// one, and the linear MSE's fused HVP in a fixed direction.
PassValues fused_values(Loss loss, const Tensor& X, const Tensor& y, const Tensor& w0,
                        bool fit_intercept) {
    const Tensor w = w0.detach() * 1.0;  // a tensor of its own, for its grad()
    const LinearModel model(w, fit_intercept);
    REQUIRE(model.has_fused_for(loss, X));
    const std::int64_t P = w.numel();
    const Tensor l = empty({1}, w.dtype());
    const Tensor H = loss == Loss::cross_entropy ? Tensor() : empty({P, P}, w.dtype());
    REQUIRE(model.fused_pass(loss, X, y, l, H));
    PassValues out{l.to_vector<double>(), w.grad().to_vector<double>(),
                   H.defined() ? H.to_vector<double>() : std::vector<double>{}, {}};
    if (loss == Loss::mse) {
        const Tensor v = random_weights(w.shape(), w.dtype(), 99);
        out.hvp = model.fused_hvp(loss, X, v).to_vector<double>();
    }
    return out;
}

void check_bitwise(const PassValues& a, const PassValues& b) {
    CHECK(a.loss == b.loss);
    CHECK(a.grad == b.grad);
    CHECK(a.hessian == b.hessian);
    CHECK(a.hvp == b.hvp);
}

}  // namespace

TEST_CASE("the fused passes with an implicit intercept equal those over a stored ones column, bitwise",
          "[intercept][fused]") {
    const int original = cpu_threads();
    for (DType dtype : {DType::f64, DType::f32}) {
        for (std::int64_t d : {1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 40}) {
            for (std::int64_t n : {1, 5, 4096, 9001}) {
                for (Loss loss : {Loss::mse, Loss::bce_with_logits, Loss::cross_entropy}) {
                    const std::int64_t k = 3;
                    INFO(dtype_name(dtype) << " d = " << d << " n = " << n << " " << loss_name(loss));
                    const auto seed = static_cast<std::uint64_t>(d * 1000 + n);
                    const Tensor X = features(n, d, dtype, seed);
                    const Tensor X1 = with_ones(X);
                    const Tensor y = targets(loss, X, k, seed + 1);
                    const Shape wshape = loss == Loss::cross_entropy ? Shape{d + 1, k} : Shape{d + 1};
                    const Tensor w = random_weights(wshape, dtype, seed + 2);
                    set_cpu_threads(1);
                    const PassValues stored = fused_values(loss, X1, y, w, false);
                    for (int threads : {1, 2, 3}) {
                        INFO(threads << " threads");
                        set_cpu_threads(threads);
                        check_bitwise(fused_values(loss, X, y, w, true), stored);
                    }
                }
            }
        }
    }
    set_cpu_threads(original);
}

TEST_CASE("the implicit passes read non-contiguous X and row ranges as the stored ones do",
          "[intercept][fused][views]") {
    // X (n, d) as the transpose of a (d, n) tensor, and rows [100, 5100) of a longer X: the
    // fused ops make them dense first; the values must not change.
    const std::int64_t n = 5000, d = 5;
    const Tensor Xt = features(d, n, DType::f64, 8).permute({1, 0});
    REQUIRE_FALSE(Xt.is_contiguous());
    const Tensor long_X = features(n + 300, d, DType::f64, 9);
    const Tensor X_rows = long_X.narrow(0, 100, n);
    for (const Tensor& X : {Xt, X_rows}) {
        const Tensor y = targets(Loss::mse, X.contiguous(), 1, 10);
        const Tensor w = random_weights({d + 1}, DType::f64, 11);
        check_bitwise(fused_values(Loss::mse, X, y, w, true),
                      fused_values(Loss::mse, with_ones(X.contiguous()), y, w, false));
    }
}

TEST_CASE("training with an implicit intercept follows the stored column's trajectory bitwise",
          "[intercept][train]") {
    struct Run {
        const char* what;
        Loss loss;
        const char* optimizer;
        double lr;
        std::int64_t batch;
    };
    const std::vector<Run> runs = {
        {"linear, gd, full batch", Loss::mse, "gd", 0.1, 0},
        {"linear, adam, shuffled batches of 64", Loss::mse, "adam", 0.05, 64},
        {"linear, newton (fused Hessian)", Loss::mse, "newton", 0.0, 0},
        {"linear, newton-cg (fused HVP)", Loss::mse, "newton-cg", 0.0, 0},
        {"linear, lbfgs", Loss::mse, "lbfgs", 1.0, 0},
        {"logistic, newton (IRLS)", Loss::bce_with_logits, "newton", 0.0, 0},
        {"logistic, momentum, batches of 50 in order", Loss::bce_with_logits, "momentum", 0.1, 50},
        {"softmax, adam", Loss::cross_entropy, "adam", 0.05, 0},
    };
    for (const DType dtype : {DType::f64, DType::f32})
    for (const Run& run : runs) {
        INFO(run.what << ", " << dtype_name(dtype));
        const std::int64_t n = 300, d = 4, k = 3;
        const Tensor X = features(n, d, dtype, 5);
        const Tensor y = targets(run.loss, X, k, 6);
        const Shape wshape = run.loss == Loss::cross_entropy ? Shape{d + 1, k} : Shape{d + 1};
        optim::OptimizerConfig config;
        config.name = run.optimizer;
        if (run.lr > 0) config.lr = run.lr;
        TrainOptions options;
        options.epochs = 6;
        options.batch_size = run.batch;
        options.shuffle = run.batch == 64;
        options.shuffle_seed = 3;
        options.record_weights = true;

        Tensor w_stored = zeros(wshape, dtype).requires_grad_();
        auto opt_stored = optim::make_optimizer(config, {w_stored});
        const TrainResult stored =
            train(LinearModel(w_stored), run.loss, with_ones(X), y, *opt_stored, options);

        Tensor w_implicit = zeros(wshape, dtype).requires_grad_();
        auto opt_implicit = optim::make_optimizer(config, {w_implicit});
        const TrainResult implicit =
            train(LinearModel(w_implicit, true), run.loss, X, y, *opt_implicit, options);

        CHECK(implicit.losses == stored.losses);
        CHECK(implicit.weights == stored.weights);
        CHECK(implicit.final_weights == stored.final_weights);
        CHECK(implicit.final_grad == stored.final_grad);
        CHECK(stored.losses.back() < stored.losses.front());  // it trained
    }
}

// Newton-CG on a classifier: logistic regression's H v comes from its fused Hessian (the same
// bits either way), softmax's from differentiating the model twice, where X W[:d] + W[d]
// rounds otherwise than [X, 1] W, so the two forms agree to rounding only.
TEST_CASE("newton-cg on a classifier with an implicit intercept agrees to rounding",
          "[intercept][train]") {
    for (const Loss loss : {Loss::bce_with_logits, Loss::cross_entropy}) {
        INFO(loss_name(loss));
        const std::int64_t n = 300, d = 4, k = 3;
        const Tensor X = features(n, d, DType::f64, 5);
        const Tensor y = targets(loss, X, k, 6);
        const Shape wshape = loss == Loss::cross_entropy ? Shape{d + 1, k} : Shape{d + 1};
        optim::OptimizerConfig config;
        config.name = "newton-cg";
        TrainOptions options;
        options.epochs = 4;
        Tensor w_stored = zeros(wshape, DType::f64).requires_grad_();
        auto opt_stored = optim::make_optimizer(config, {w_stored});
        const TrainResult stored = train(LinearModel(w_stored), loss, with_ones(X), y, *opt_stored, options);
        Tensor w_implicit = zeros(wshape, DType::f64).requires_grad_();
        auto opt_implicit = optim::make_optimizer(config, {w_implicit});
        const TrainResult implicit = train(LinearModel(w_implicit, true), loss, X, y, *opt_implicit, options);
        REQUIRE(implicit.final_weights.size() == stored.final_weights.size());
        for (std::size_t i = 0; i < stored.final_weights.size(); ++i)
            CHECK(std::abs(implicit.final_weights[i] - stored.final_weights[i]) <=
                  1e-10 * (1.0 + std::abs(stored.final_weights[i])));
        CHECK(stored.losses.back() < stored.losses.front());
    }
}

TEST_CASE("the implicit intercept's autodiff forward: X W[:d] + W[d]", "[intercept][autodiff]") {
    const Tensor X = features(7, 3, DType::f64, 1);
    for (const Shape& wshape : {Shape{4}, Shape{4, 2}}) {
        const Tensor w = random_weights(wshape, DType::f64, 2);
        const std::vector<double> implicit = LinearModel(w, true).forward(X).to_vector<double>();
        const std::vector<double> stored = LinearModel(w).forward(with_ones(X)).to_vector<double>();
        REQUIRE(implicit.size() == stored.size());
        for (std::size_t i = 0; i < implicit.size(); ++i)
            CHECK(std::abs(implicit[i] - stored[i]) <= 1e-14 * (1.0 + std::abs(stored[i])));
        const GradcheckResult r = gradcheck(
            [&X](const std::vector<Tensor>& in) {
                return sum(LinearModel(in[0], true).forward(X) * LinearModel(in[0], true).forward(X));
            },
            {w.detach().requires_grad_()});
        CHECK(r.ok);
    }
}

TEST_CASE("implicit intercept misuse fails with one clear message", "[intercept][errors]") {
    const Tensor X = features(5, 3, DType::f64, 1);
    // The weight has a row for each feature and none for the intercept.
    CHECK_THROWS_WITH(LinearModel(zeros({3}, DType::f64), true).forward(X),
                      Catch::Contains("with fit_intercept X must be (n, 2)") &&
                          Catch::Contains("(5, 3)"));
    CHECK_THROWS_WITH(LinearModel(zeros({0}, DType::f64), true),
                      Catch::Contains("needs a row for the intercept"));
    const Tensor w = zeros({3}, DType::f64);
    const LinearModel model(w, true);
    const Tensor l = empty({1}, DType::f64);
    CHECK_THROWS_WITH(model.fused_pass(Loss::mse, X, targets(Loss::mse, X, 1, 2), l, Tensor()),
                      Catch::Contains("linear_mse") && Catch::Contains("w must have 4 elements"));
}
