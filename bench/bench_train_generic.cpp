// The generic autodiff step inside the one training loop (descent::train on a model without a
// fused pass) against the hand-written loop a user wrote before it existed (zero_grad,
// forward, loss, backward, step), on the same small model and data, alternating runs in one
// process. Issue 13 asks that the loop's generic step be no slower.
//   bench_train_generic [--n 256] [--d 8] [--hidden 16] [--epochs 2000] [--reps 7]
// The model: a one-hidden-layer tanh MLP (four parameter tensors), MSE loss, Adam, f64.
// Prints one JSON object: median ms per epoch of each, and train / manual.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "descent/descent.hpp"

using namespace descent;

namespace {

class Mlp final : public Model {
public:
    Mlp(Tensor W1, Tensor b1, Tensor W2, Tensor b2)
        : m_W1(std::move(W1)), m_b1(std::move(b1)), m_W2(std::move(W2)), m_b2(std::move(b2)) {}
    std::vector<Tensor> parameters() const override { return {m_W1, m_b1, m_W2, m_b2}; }
    Tensor forward(const Tensor& X) const override {
        return reshape(matmul(tanh(matmul(X, m_W1) + m_b1), m_W2) + m_b2, {X.shape()[0]});
    }
    std::string name() const override { return "mlp"; }

private:
    Tensor m_W1, m_b1, m_W2, m_b2;
};

Tensor normal(const Shape& shape, double scale, std::mt19937_64& rng) {
    std::normal_distribution<double> dist(0.0, scale);
    std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
    for (double& x : v) x = dist(rng);
    return from_vector(v, shape, DType::f64);
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t n = 256, d = 8, hidden = 16, epochs = 2000, reps = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const std::int64_t v = std::stoll(argv[i + 1]);
        if (a == "--n") n = v;
        else if (a == "--d") d = v;
        else if (a == "--hidden") hidden = v;
        else if (a == "--epochs") epochs = v;
        else if (a == "--reps") reps = v;
        else {
            std::fprintf(stderr, "bench_train_generic: unknown flag %s\n", a.c_str());
            return 2;
        }
    }
    std::mt19937_64 rng(1);
    const Tensor X = normal({n, d}, 1.0, rng), y = normal({n}, 1.0, rng);
    const Tensor W1 = normal({d, hidden}, 0.3, rng), b1 = normal({hidden}, 0.1, rng);
    const Tensor W2 = normal({hidden, 1}, 0.3, rng), b2 = normal({1}, 0.1, rng);
    const auto fresh = [&] {
        return std::vector<Tensor>{W1.clone().requires_grad_(), b1.clone().requires_grad_(),
                                   W2.clone().requires_grad_(), b2.clone().requires_grad_()};
    };
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.01;

    std::vector<double> loop_ms, manual_ms;
    double loop_loss = 0.0, manual_loss = 0.0;
    for (std::int64_t r = 0; r < reps; ++r) {
        {
            const std::vector<Tensor> p = fresh();
            const Mlp model(p[0], p[1], p[2], p[3]);
            auto opt = optim::make_optimizer(config, p);
            TrainOptions options;
            options.epochs = epochs;
            const auto t0 = bench::Clock::now();
            const TrainResult result = train(model, Loss::mse, X, y, *opt, options);
            loop_ms.push_back(1e3 * bench::seconds_since(t0) / double(epochs));
            loop_loss = result.losses.back();
        }
        {
            const std::vector<Tensor> p = fresh();
            const Mlp model(p[0], p[1], p[2], p[3]);
            auto opt = optim::make_optimizer(config, p);
            const auto t0 = bench::Clock::now();
            double last = 0.0;
            for (std::int64_t e = 0; e < epochs; ++e) {
                opt->zero_grad();
                const Tensor loss = mse_loss(model.forward(X), y);
                loss.backward();
                opt->step();
                last = loss.item();  // the loop reads each loss back too (sync_every 1 on cpu)
            }
            manual_ms.push_back(1e3 * bench::seconds_since(t0) / double(epochs));
            manual_loss = last;
        }
    }
    const double loop = bench::median(loop_ms), manual = bench::median(manual_ms);
    std::printf("{\"bench\": \"train_generic\", \"n\": %lld, \"d\": %lld, \"hidden\": %lld, "
                "\"epochs\": %lld, \"threads\": %d, \"train_ms_per_epoch\": %.6g, "
                "\"manual_ms_per_epoch\": %.6g, \"train_over_manual\": %.4f, "
                "\"same_last_loss\": %s}\n",
                static_cast<long long>(n), static_cast<long long>(d),
                static_cast<long long>(hidden), static_cast<long long>(epochs), bench::threads(),
                loop, manual, loop / manual, loop_loss == manual_loss ? "true" : "false");
    return 0;
}
