// Trains a small net (descent/nn.hpp) on a nonlinear regression problem, y = sin(2a) + a b,
// through the one training loop: on the GPU when there is one, else on the CPU. It checks
// that the net reached a mean squared error no linear model can (numpy's least-squares fit
// with an intercept leaves 2.06 here), and exits non-zero otherwise; ctest runs it.
// Run: build/examples/mlp_regression
#include <cmath>
#include <cstdio>
#include <vector>

#include "descent/descent.hpp"

using namespace descent;

int main() {
    const Device device = cuda_available() ? Device::cuda(0) : Device::cpu();
    // 2,000 points on [-2, 2]^2 from a seeded generator (numpy's RandomState).
    RandomState rng(5);
    const std::int64_t n = 2000;
    std::vector<double> xs, ys;
    for (std::int64_t i = 0; i < n; ++i) {
        const double a = 4.0 * rng.random_sample() - 2.0, b = 4.0 * rng.random_sample() - 2.0;
        xs.push_back(a);
        xs.push_back(b);
        ys.push_back(std::sin(2.0 * a) + a * b);
    }
    const Tensor X = from_vector(xs, {n, 2}, DType::f32, device);
    const Tensor y = from_vector(ys, {n}, DType::f32, device);

    // 2 -> 32 -> 32 -> 1 with tanh, torch.nn's init from seed 0; Adam in mini-batches.
    const nn::Sequential net = nn::mlp({2, 32, 32, 1}, nn::Activation::tanh, 0, DType::f32, device);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.01;
    auto adam = optim::make_optimizer(config, net.parameters());
    TrainOptions options;
    options.epochs = 300;
    options.batch_size = 250;
    options.shuffle = true;
    const TrainResult r = train(net, Loss::mse, X, y, *adam, options);

    const double mse = model_loss(net, Loss::mse, X, y);
    std::printf("%s on %s: %zu parameters, loss %.4f after the first epoch, %.5f after %lld\n",
                net.name().c_str(), device.str().c_str(), r.final_weights.size(), r.losses.front(),
                mse, static_cast<long long>(options.epochs));
    if (!(mse < 0.05)) {
        std::printf("mlp_regression: the net did not fit (mse %.5f >= 0.05)\n", mse);
        return 1;
    }
    return 0;
}
