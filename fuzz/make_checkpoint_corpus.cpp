// Writes the checkpoint fuzzer's seed corpus (fuzz/corpus/checkpoint/) with descent's own
// save API: real optimizers (each kind of state buffer, f32 and f64, ranks 0 to 3) after a
// few steps, meta entries, losses and trajectories, plus near-valid files (truncated, one
// flipped byte, a future version, the older version 1) that exercise the header checks.
// Usage: fuzz_make_checkpoint_corpus OUT_DIR   (then commit what it wrote)
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "descent/checkpoint.hpp"
#include "descent/optim/factory.hpp"
#include "descent/tensor.hpp"

namespace {

using descent::DType;
using descent::Tensor;

// A parameter that requires grad, with a gradient set, so that step() builds state.
Tensor parameter(const std::vector<double>& values, const descent::Shape& shape, DType dtype) {
    Tensor p = descent::from_vector(values, shape, dtype);
    p.requires_grad_();
    std::vector<double> grad(values.size());
    for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = 0.25 * double(i + 1) - 0.5;
    p.set_grad(descent::from_vector(grad, shape, dtype));
    return p;
}

descent::Checkpoint trained(const std::string& name, const std::vector<Tensor>& params, int steps,
                            std::vector<double> losses, std::vector<std::vector<double>> weights,
                            std::map<std::string, std::string> meta,
                            void (*configure)(descent::optim::OptimizerConfig&) = nullptr) {
    descent::optim::OptimizerConfig config;
    config.name = name;
    if (configure) configure(config);
    auto optimizer = descent::optim::make_optimizer(config, params);
    for (int i = 0; i < steps; ++i) optimizer->step();
    return descent::make_checkpoint(*optimizer, steps, std::move(losses), std::move(weights),
                                    std::move(meta));
}

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
    const std::string path = dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
        std::fclose(f) != 0) {
        std::perror(path.c_str());
        std::exit(1);
    }
    std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    using descent::serialize_checkpoint;

    // Gradient descent: no buffers; the blog's two weights; a full trajectory.
    write(dir, "gd_f64.ckpt",
          serialize_checkpoint(trained("gd", {parameter({0.5, 0.25}, {2}, DType::f64)}, 3,
                                       {9.5, 4.25, 2.125}, {{0.5, 0.25}, {0.75, 0.5}, {1.0, 0.75}},
                                       {{"data", "blog"}, {"shuffle_seed", "0"}})));
    // Momentum: momentum_buffer, f32, a matrix and a scalar parameter, no trajectory.
    write(dir, "momentum_f32.ckpt",
          serialize_checkpoint(trained(
              "momentum",
              {parameter({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f32), parameter({0.5}, {}, DType::f32)},
              2, {1.5, 0.75}, {}, {{"data", "synthetic:n=10,d=3"}})));
    // Adam with amsgrad: exp_avg, exp_avg_sq, max_exp_avg_sq.
    write(dir, "adam_amsgrad.ckpt",
          serialize_checkpoint(
              trained("adam", {parameter({0.1, -0.2, 0.3}, {3}, DType::f64)}, 4, {3, 2, 1, 0.5},
                      {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}}, {},
                      [](descent::optim::OptimizerConfig& c) { c.amsgrad = true; })));
    // RMSProp centered with momentum: square_avg, grad_avg, momentum_buffer; rank 3.
    write(dir, "rmsprop_centered.ckpt",
          serialize_checkpoint(trained(
              "rmsprop", {parameter({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}, DType::f32)}, 1, {2.5}, {},
              {{"a", ""}, {"", "empty key"}}, [](descent::optim::OptimizerConfig& c) {
                  c.centered = true;
                  c.momentum = 0.5;
              })));
    // AdaGrad: sum.
    write(dir, "adagrad.ckpt",
          serialize_checkpoint(trained("adagrad", {parameter({2, -2}, {2}, DType::f64)}, 2, {}, {},
                                       {{"data", "points.csv sha=0123456789abcdef"}})));
    // Before any step: no losses, epoch 0.
    const std::string fresh =
        serialize_checkpoint(trained("gd", {parameter({0, 0}, {2}, DType::f64)}, 0, {}, {}, {}));
    write(dir, "fresh.ckpt", fresh);
    // Written by hand: no parameters at all, and an empty trajectory row.
    descent::Checkpoint bare;
    bare.optimizer.optimizer = "gd";
    bare.weights = {{}, {}};
    write(dir, "bare.ckpt", serialize_checkpoint(bare));

    // Near-valid: each fails one header check.
    write(dir, "truncated.ckpt", fresh.substr(0, fresh.size() - 9));
    std::string flipped = fresh;
    flipped[flipped.size() / 2] ^= 0x10;
    write(dir, "bad_checksum.ckpt", flipped);
    std::string future = fresh;
    future[8] = static_cast<char>(descent::kCheckpointVersion + 1);
    write(dir, "version_next.ckpt", future);
    std::string older = fresh;
    older[8] = 1;  // version 1, refused by name
    write(dir, "version1.ckpt", older);
    return 0;
}
