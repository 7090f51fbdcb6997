// Fits the blog's line y = 5x + 2 + noise by gradient descent through the library: the
// autodiff graph once, then the fused one-pass step, and prints both, which must agree.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "descent/descent.hpp"

using namespace descent;

int main() {
    const std::int64_t n = 100;
    const Tensor x = linspace(-10, 10, n, DType::f64);
    // Gaussian noise with sigma 3 (the blog's exact numpy stream comes with the optimizers).
    std::mt19937_64 rng(5);
    std::normal_distribution<double> noise(0.0, 3.0);
    std::vector<double> xs = x.to_vector<double>(), ys(n), rows;
    for (std::int64_t i = 0; i < n; ++i) {
        ys[i] = 5.0 * xs[i] + 2.0 + noise(rng);
        rows.push_back(xs[i]);
        rows.push_back(1.0);  // intercept column last, as in the blog
    }
    const Tensor X = from_vector(rows, {n, 2});
    const Tensor y = from_vector(ys);

    Tensor w = from_vector(std::vector<double>{0.58937388, 0.91473434}).requires_grad_();
    const double lr = 0.01;
    std::printf("epoch        loss       slope   intercept\n");
    for (int epoch = 0; epoch < 50; ++epoch) {
        const Tensor loss = mean(square(matmul(X, w) - y));  // autodiff graph
        loss.backward();
        const LinearMseResult fused = linear_mse_value_and_grad(X, y, w.detach());
        const double gap = std::abs(fused.loss.item() - loss.item());
        if (gap > 1e-9 * loss.item()) {
            std::fprintf(stderr, "fused and autodiff losses disagree by %g\n", gap);
            return 1;
        }
        {
            NoGrad no_grad;
            w.copy_(w - w.grad() * lr);
        }
        w.zero_grad();
        if (epoch % 10 == 0 || epoch == 49) {
            const auto wv = w.to_vector<double>();
            std::printf("%5d %11.6f %11.6f %11.6f\n", epoch, loss.item(), wv[0], wv[1]);
        }
    }
    std::cout << "final weights: " << w.detach() << "\n";
    return 0;
}
