// The MLP training step of issue 15: a 2-layer tanh net 16 -> h -> 1 (nn::mlp), MSE, Adam,
// one step = forward, loss, backward, update over a batch of b rows, run through the one
// training loop (each epoch one full-batch step). Prints one JSON line: the median µs per step
// over --reps timed blocks of --steps steps, after --warmup steps.
//   bench_mlp --batch 1024 --hidden 256 [--dtype f32] [--device cpu|cuda] [--steps N]
//             [--reps R] [--warmup W]
// bench/mlp_compare.py runs it beside PyTorch eager on the same shapes in the same session.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "descent/descent.hpp"

using namespace descent;

int main(int argc, char** argv) {
    std::int64_t batch = 1024, hidden = 256, steps = 0, reps = 5, warmup = 3, features = 16;
    std::string dtype_text = "f32", device_text = "cpu";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const char* v = argv[i + 1];
        if (flag == "--batch") batch = std::atoll(v);
        else if (flag == "--hidden") hidden = std::atoll(v);
        else if (flag == "--features") features = std::atoll(v);
        else if (flag == "--steps") steps = std::atoll(v);
        else if (flag == "--reps") reps = std::atoll(v);
        else if (flag == "--warmup") warmup = std::atoll(v);
        else if (flag == "--dtype") dtype_text = v;
        else if (flag == "--device") device_text = v;
        else {
            std::fprintf(stderr, "bench_mlp: unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    // About 0.2 s of work per timed block unless --steps says otherwise.
    if (steps <= 0) steps = std::max<std::int64_t>(3, 20000000 / std::max<std::int64_t>(1, batch * hidden));
    const DType dtype = parse_dtype(dtype_text);
    const Device device = parse_device(device_text);
    RandomState rng(1);
    const std::vector<double> x = rng.standard_normal(static_cast<std::size_t>(batch * features));
    std::vector<double> yv(static_cast<std::size_t>(batch));
    for (std::int64_t i = 0; i < batch; ++i) yv[i] = std::sin(x[i * features]) + 0.1 * x[i * features + 1];
    const Tensor X = from_vector(x, {batch, features}, dtype, device);
    const Tensor y = from_vector(yv, {batch}, dtype, device);
    const nn::Sequential net = nn::mlp({features, hidden, 1}, nn::Activation::tanh, 0, dtype, device);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 1e-3;
    auto adam = optim::make_optimizer(config, net.parameters());
    // What the steps add to the process's peak: its resident set before the first step
    // against its peak after the last (data and model already made).
    const double rss_before = bench::current_rss_mb();
    TrainOptions options;
    options.epochs = warmup;
    train(net, Loss::mse, X, y, *adam, options);
    std::vector<double> per_step;
    options.epochs = steps;
    for (std::int64_t r = 0; r < reps; ++r) {
        synchronize(device);
        const auto t0 = bench::Clock::now();
        train(net, Loss::mse, X, y, *adam, options);
        synchronize(device);
        per_step.push_back(bench::seconds_since(t0) / double(steps) * 1e6);
    }
    std::printf("{\"bench\": \"mlp_step\", \"device\": \"%s\", \"dtype\": \"%s\", \"threads\": %d, "
                "\"batch\": %lld, \"features\": %lld, \"hidden\": %lld, \"steps\": %lld, "
                "\"us_per_step_median\": %.2f, \"us_per_step_min\": %.2f, \"peak_rss_mb\": %.1f, "
                "\"rss_before_steps_mb\": %.1f, \"steps_peak_increase_mb\": %.1f}\n",
                device.str().c_str(), dtype_name(dtype), bench::threads(),
                static_cast<long long>(batch), static_cast<long long>(features),
                static_cast<long long>(hidden), static_cast<long long>(steps),
                bench::median(per_step), *std::min_element(per_step.begin(), per_step.end()),
                bench::peak_rss_mb(), rss_before, bench::peak_rss_mb() - rss_before);
    return 0;
}
