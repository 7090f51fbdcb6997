// The smallest useful descent program: fit y = X w to a synthetic problem with Adam and
// print the fitted weights next to the true ones. Run: build/examples/linear_regression
#include <cstdio>

#include "descent/descent.hpp"

int main() {
    using namespace descent;
    // 10,000 rows, 3 features plus an intercept column; the true weights are known.
    const Dataset data = load_dataset("synthetic:n=10000,d=3,noise=0.1,seed=1", true, DType::f64,
                                      Device::cpu());
    Tensor w = zeros({data.X.shape()[1]}, DType::f64).requires_grad_();
    optim::AdamOptions options;
    options.lr = 0.05;
    optim::Adam adam({w}, options);

    TrainOptions train;
    train.epochs = 300;
    const TrainResult result = train_linear(data.X, data.y, adam, train);

    std::printf("loss %.6g -> %.6g after %lld epochs\n", result.losses.front(),
                result.losses.back(), static_cast<long long>(train.epochs));
    for (std::size_t j = 0; j < result.final_weights.size(); ++j)
        std::printf("w[%zu] = % .5f   (true % .5f)\n", j, result.final_weights[j],
                    data.true_weights[j]);
    double worst = 0;
    for (std::size_t j = 0; j < result.final_weights.size(); ++j)
        worst = std::max(worst, std::abs(result.final_weights[j] - data.true_weights[j]));
    return worst < 0.01 ? 0 : 1;  // the noise is small: the fit must land near the truth
}
