// Trains a synthetic regression problem on the GPU through the library API and prints the
// time per epoch. Run: build/examples/gpu_training [rows] [features]
// Without a CUDA device it says so and exits 77 (ctest reports it as skipped).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "descent/descent.hpp"

using namespace descent;

int main(int argc, char** argv) {
    if (!cuda_available()) {
        std::printf("gpu_training: no CUDA device (built with CUDA: %s); nothing to do\n",
                    built_with_cuda() ? "yes" : "no");
        return 77;
    }
    SyntheticSpec spec;
    spec.n = argc > 1 ? std::atoll(argv[1]) : 10000000;
    spec.d = argc > 2 ? std::atoll(argv[2]) : 15;
    spec.noise = 0.1;
    spec.seed = 7;
    const Device gpu = Device::cuda(0);
    const Dataset data = synthetic_dataset(spec, true, DType::f32, gpu);
    std::printf("%s on %s: X is %lld x %lld f32 (%.2f GB)\n", data.source.c_str(),
                gpu.str().c_str(), static_cast<long long>(data.X.shape()[0]),
                static_cast<long long>(data.X.shape()[1]),
                double(data.X.numel()) * 4 / 1e9);

    Tensor w = zeros({data.X.shape()[1]}, DType::f32, gpu).requires_grad_();
    optim::AdamOptions options;
    options.lr = 0.05;
    optim::Adam adam({w}, options);
    TrainOptions train;
    train.epochs = 200;
    train.record_weights = false;

    synchronize(gpu);
    const auto t0 = std::chrono::steady_clock::now();
    const TrainResult r = train_linear(data.X, data.y, adam, train);
    synchronize(gpu);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    double worst = 0.0;
    for (std::size_t j = 0; j < r.final_weights.size(); ++j)
        worst = std::max(worst, std::abs(r.final_weights[j] - data.true_weights[j]));
    std::printf("%lld epochs: %.3f ms per epoch; loss %.6g -> %.6g; max |w - w_true| = %.3g\n",
                static_cast<long long>(train.epochs), 1e3 * seconds / double(train.epochs),
                r.losses.front(), r.losses.back(), worst);
    std::printf("cudaMalloc calls so far: %llu\n",
                static_cast<unsigned long long>(cuda_memory_stats(0).device_allocations));
    return worst < 0.01 ? 0 : 1;
}
