// Training on the device against the CPU: full train_linear runs for each of the blog's
// configurations and Newton on a synthetic problem, Adam over many parameter tensors (several
// fused launches), the caching allocator during training (no cudaMalloc in the steady state,
// bytes_in_use back to where it was), CUDA graphs (TrainOptions::cuda_graph: bitwise the
// uncaptured run, fewer launches), host data streamed through the device (StreamedHost:
// against the CPU and the in-memory run, bitwise repeatable, two chunks on the device, no
// cudaMalloc after the first epochs), out-of-memory errors and an implicit intercept (the
// autodiff step on the device). The per-element optimizer
// updates (every optimizer x preset x dtype) are covered by tests/test_cuda_optim.cpp.
// Needs a CUDA device (else the executable exits 77: skipped).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cuda_compare.hpp"
#include "descent/descent.hpp"

using namespace descent;

namespace {

using cuda_compare::max_error;
using cuda_compare::Metric;
using cuda_compare::tolerance;

// The device under test.
const Device kDevice = Device::cuda(0);

std::string describe(const optim::OptimizerConfig& c) {
    std::ostringstream os;
    os << c.name << " (" << optim::preset_name(c.preset) << ")";
    for (const auto& [key, value] : optim::effective_hyperparameters(c))
        os << " " << key << "=" << value;
    return os.str();
}

// Trains the same configuration from the same weights on the CPU data and on the device
// data and checks losses, the whole trajectory and the final weights.
void check_training(const std::string& what, const Dataset& host, const Dataset& dev,
                    const std::vector<double>& init, const optim::OptimizerConfig& config,
                    DType dt, std::int64_t epochs) {
    INFO(what << " " << dtype_name(dt) << ": " << describe(config) << ", " << epochs << " epochs");
    const auto d = static_cast<std::int64_t>(init.size());
    Tensor wc = from_vector(init, {d}, dt).requires_grad_();
    Tensor wd = from_vector(init, {d}, dt, kDevice).requires_grad_();
    auto oc = optim::make_optimizer(config, {wc});
    auto od = optim::make_optimizer(config, {wd});

    TrainOptions options;
    options.epochs = epochs;
    options.record_weights = true;  // the whole trajectory
    std::vector<std::int64_t> seen;  // on_epoch on the device: every epoch, in order
    std::vector<double> seen_losses;
    TrainOptions dev_options = options;
    dev_options.on_epoch = [&](std::int64_t epoch, double loss) {
        seen.push_back(epoch);
        seen_losses.push_back(loss);
    };
    const TrainResult rc = train_linear(host.X, host.y, *oc, options);
    const TrainResult rd = train_linear(dev.X, dev.y, *od, dev_options);

    const double tol = tolerance(dt);
    REQUIRE(rc.losses.size() == static_cast<std::size_t>(epochs));
    REQUIRE(rd.losses.size() == static_cast<std::size_t>(epochs));
    REQUIRE(rc.weights.size() == static_cast<std::size_t>(epochs + 1));
    REQUIRE(rd.weights.size() == static_cast<std::size_t>(epochs + 1));
    {
        const double err = max_error(rd.losses, rc.losses);
        INFO("losses: max relative error " << err);
        CHECK(err <= tol);
    }
    double worst = 0.0;
    std::size_t worst_epoch = 0;
    for (std::size_t e = 0; e < rc.weights.size(); ++e) {
        const double err = max_error(rd.weights[e], rc.weights[e]);
        if (!(err <= worst)) {
            worst = err;
            worst_epoch = e;
        }
    }
    INFO("weights: max relative error " << worst << " at epoch " << worst_epoch);
    CHECK(worst <= tol);
    CHECK(max_error(rd.final_weights, rc.final_weights) <= tol);
    CHECK(rd.final_weights == rd.weights.back());
    CHECK(wd.device() == kDevice);
    CHECK(wd.to_vector<double>() == rd.final_weights);
    CHECK(od->step_count() == epochs);

    // The device reads losses back every 32 epochs; on_epoch still sees every epoch, in
    // order, with the values train_linear returns.
    REQUIRE(seen.size() == static_cast<std::size_t>(epochs));
    for (std::int64_t e = 0; e < epochs; ++e) CHECK(seen[static_cast<std::size_t>(e)] == e);
    CHECK(seen_losses == rd.losses);

    // When the host reads back changes nothing that is computed: reading every epoch gives
    // bitwise the same run.
    Tensor w1 = from_vector(init, {d}, dt, kDevice).requires_grad_();
    auto o1 = optim::make_optimizer(config, {w1});
    TrainOptions every_epoch = options;
    every_epoch.sync_every = 1;
    const TrainResult r1 = train_linear(dev.X, dev.y, *o1, every_epoch);
    CHECK(r1.losses == rd.losses);
    CHECK(r1.weights == rd.weights);
}

}  // namespace

TEST_CASE("train_linear on the device matches the CPU for each of the blog's runs",
          "[cuda][train]") {
    for (DType dt : {DType::f64, DType::f32}) {
        const BlogProblem host = blog_problem(dt);
        const BlogProblem dev = blog_problem(dt, kDevice);
        REQUIRE(dev.data.X.device() == kDevice);
        CHECK(dev.data.X.to_vector<double>() == host.data.X.to_vector<double>());
        CHECK(dev.data.y.to_vector<double>() == host.data.y.to_vector<double>());
        CHECK(dev.initial_weights == host.initial_weights);
        // 100 epochs: the device's read-back points fall at 32, 64, 96 and 100.
        for (const optim::OptimizerConfig& config : optim::blog_configs())
            check_training("blog problem", host.data, dev.data, host.initial_weights, config, dt,
                           100);
    }
}

TEST_CASE("Newton on a synthetic problem: device vs CPU", "[cuda][train]") {
    const std::string spec = "synthetic:n=5000,d=8,seed=3";
    for (DType dt : {DType::f64, DType::f32}) {
        const Dataset host = load_dataset(spec, true, dt, Device::cpu());
        const Dataset dev = load_dataset(spec, true, dt, kDevice);
        REQUIRE(dev.X.device() == kDevice);
        REQUIRE(dev.X.shape() == Shape{5000, 9});
        CHECK(dev.X.to_vector<double>() == host.X.to_vector<double>());
        CHECK(dev.y.to_vector<double>() == host.y.to_vector<double>());
        const std::vector<double> init(9, 0.0);
        // (lr, damping)
        const std::vector<std::pair<double, double>> runs = {{1.0, 0.0}, {0.5, 1e-3}};
        for (const auto& [lr, damping] : runs) {
            optim::OptimizerConfig config;
            config.name = "newton";
            config.preset = optim::Preset::torch;
            config.lr = lr;
            config.damping = damping;
            check_training(spec, host, dev, init, config, dt, 6);
        }
    }
}

TEST_CASE("Newton-CG and L-BFGS on a synthetic problem: device vs CPU", "[cuda][train][curvature]") {
    // One step per epoch; the device runs the CG iterations, the two-loop recursion and the
    // line searches on device vectors (linear_mse_hvp for Newton-CG's products). f64 only: the
    // line searches branch on comparisons of losses, and in f32 the devices' different
    // summation orders may take another branch (a different, equally valid step).
    const std::string spec = "synthetic:n=5000,d=8,seed=3";
    for (DType dt : {DType::f64}) {
        const Dataset host = load_dataset(spec, true, dt, Device::cpu());
        const Dataset dev = load_dataset(spec, true, dt, kDevice);
        const std::vector<double> init(9, 0.0);
        optim::OptimizerConfig newton_cg;
        newton_cg.name = "newton-cg";
        check_training(spec, host, dev, init, newton_cg, dt, 6);
        for (const char* line_search : {"none", "strong-wolfe"}) {
            optim::OptimizerConfig lbfgs;
            lbfgs.name = "lbfgs";
            lbfgs.line_search = line_search;
            lbfgs.history_size = 5;
            check_training(spec, host, dev, init, lbfgs, dt, 4);
        }
    }
}

TEST_CASE("mini-batches, in order and shuffled, on the device match the CPU", "[cuda][train][minibatch]") {
    // 10007 rows: batches of 1000 leave a short last batch; the shuffled gather is a copy, so
    // the device sees exactly the CPU's rows and only the sums' rounding differs.
    const std::string spec = "synthetic:n=10007,d=5,seed=8";
    for (DType dt : {DType::f64, DType::f32}) {
        const Dataset host = load_dataset(spec, true, dt, Device::cpu());
        const Dataset dev = load_dataset(spec, true, dt, kDevice);
        for (const std::string name : {"momentum", "adam"}) {
            for (bool shuffle : {false, true}) {
                INFO(name << (shuffle ? " shuffled" : " in order") << " " << dtype_name(dt));
                optim::OptimizerConfig config;
                config.name = name;
                config.lr = 0.01;
                Tensor wc = zeros({6}, dt).requires_grad_();
                Tensor wd = zeros({6}, dt, kDevice).requires_grad_();
                auto oc = optim::make_optimizer(config, {wc});
                auto od = optim::make_optimizer(config, {wd});
                TrainOptions t;
                t.epochs = 4;
                t.batch_size = 1000;
                t.shuffle = shuffle;
                t.shuffle_seed = 17;
                const TrainResult rc = train_linear(host.X, host.y, *oc, t);
                const TrainResult rd = train_linear(dev.X, dev.y, *od, t);
                CHECK(max_error(rd.losses, rc.losses) <= tolerance(dt));
                CHECK(max_error(rd.final_weights, rc.final_weights, Metric::scaled) <= tolerance(dt));
                CHECK(od->step_count() == 44);
                // The device is deterministic: a second run is bitwise the first.
                Tensor w2 = zeros({6}, dt, kDevice).requires_grad_();
                auto o2 = optim::make_optimizer(config, {w2});
                CHECK(train_linear(dev.X, dev.y, *o2, t).final_weights == rd.final_weights);
            }
        }
    }
}

TEST_CASE("a checkpointed device run resumes bitwise", "[cuda][train][checkpoint]") {
    const Dataset dev = load_dataset("synthetic:n=4000,d=3,seed=2", true, DType::f32, kDevice);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.01;
    auto fresh = [&](Tensor& w) {
        w = zeros({4}, DType::f32, kDevice).requires_grad_();
        return optim::make_optimizer(config, {w});
    };
    TrainOptions t;
    t.epochs = 9;
    t.batch_size = 512;
    t.shuffle = true;
    Tensor w_whole, w_first, w_second;
    auto whole = fresh(w_whole);
    const TrainResult expected = train_linear(dev.X, dev.y, *whole, t);

    auto first = fresh(w_first);
    TrainOptions part = t;
    part.epochs = 4;
    Checkpoint saved;
    part.on_checkpoint = [&](const TrainResult& so_far) {
        saved = parse_checkpoint(serialize_checkpoint(make_checkpoint(*first, 4, so_far.losses)), "memory");
    };
    train_linear(dev.X, dev.y, *first, part);
    auto second = fresh(w_second);
    restore_checkpoint(saved, *second);
    TrainResult before;
    before.losses = saved.losses;
    TrainOptions rest = t;
    rest.resume = &before;
    const TrainResult resumed = train_linear(dev.X, dev.y, *second, rest);
    CHECK(resumed.losses == expected.losses);
    CHECK(resumed.final_weights == expected.final_weights);
}

TEST_CASE("streamed synthetic data on the device matches the in-memory run", "[cuda][train][streaming]") {
    // Chunks generated by the device kernel are the CPU generator's rows bit for bit, so the
    // streamed pass differs from the in-memory device pass only by the chunk grouping.
    StreamedSynthetic s;
    s.spec.n = 30011;
    s.spec.d = 7;
    s.spec.noise = 0.2;
    s.spec.seed = 4;
    s.chunk_rows = 4000;
    for (DType dt : {DType::f64, DType::f32}) {
        INFO(dtype_name(dt));
        const Dataset dev = synthetic_dataset(s.spec, true, dt, kDevice);
        const Tensor w = full({8}, 0.25, dt, kDevice);
        const LinearMseResult ref = linear_mse_value_grad_hessian(dev.X, dev.y, w);
        const LinearMseResult r = linear_mse_streamed(s, w, true);
        CHECK(max_error(r.loss.to_vector<double>(), ref.loss.to_vector<double>()) <= tolerance(dt));
        CHECK(max_error(r.grad.to_vector<double>(), ref.grad.to_vector<double>(), Metric::scaled) <= tolerance(dt));
        CHECK(max_error(r.hessian.to_vector<double>(), ref.hessian.to_vector<double>(), Metric::scaled) <= tolerance(dt));
        Tensor w1 = zeros({8}, dt, kDevice).requires_grad_();
        Tensor w2 = zeros({8}, dt, kDevice).requires_grad_();
        optim::OptimizerConfig config;
        config.name = "adam";
        config.lr = 0.02;
        auto o1 = optim::make_optimizer(config, {w1});
        auto o2 = optim::make_optimizer(config, {w2});
        TrainOptions t;
        t.epochs = 10;
        const TrainResult a = train_linear(dev.X, dev.y, *o1, t);
        const TrainResult b = train_linear_streamed(s, *o2, t);
        // Ten epochs: each step starts from weights that already differ by the previous
        // passes' rounding, so the allowance is one pass's tolerance per epoch.
        CHECK(max_error(b.losses, a.losses) <= 10 * tolerance(dt));
        CHECK(max_error(b.final_weights, a.final_weights, Metric::scaled) <= 10 * tolerance(dt));
    }
}

TEST_CASE("Adam over 40 parameter tensors (several fused launches) matches the CPU",
          "[cuda][optim]") {
    // kernels/optim.cu packs at most 16 tensors per launch: 40 tensors take three launches.
    // Some tensors have no gradient on some steps (skipped, as in torch), so the packed lists
    // have gaps and the step counts differ between tensors.
    const std::int64_t kSizes[] = {1, 255, 257, 1 << 16};
    const int kTensors = 40, kSteps = 12;
    for (DType dt : {DType::f64, DType::f32}) {
        INFO(dtype_name(dt));
        std::mt19937_64 rng(2024);
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        auto draw = [&](std::int64_t n) {
            std::vector<double> v(static_cast<std::size_t>(n));
            for (auto& x : v) x = u(rng);
            return v;
        };
        std::vector<Tensor> cpu_params, dev_params;
        for (int k = 0; k < kTensors; ++k) {
            const std::int64_t n = kSizes[k % 4];
            const auto init = draw(n);
            cpu_params.push_back(from_vector(init, {n}, dt).requires_grad_());
            dev_params.push_back(from_vector(init, {n}, dt, kDevice).requires_grad_());
        }
        optim::AdamOptions options = optim::AdamOptions::preset(optim::Preset::torch);
        options.lr = 0.01;
        options.weight_decay = 0.01;
        options.amsgrad = true;  // all three state buffers
        optim::Adam cpu_opt(cpu_params, options), dev_opt(dev_params, options);
        for (int step = 0; step < kSteps; ++step) {
            for (int k = 0; k < kTensors; ++k) {
                if (step % 3 == 1 && k % 5 == 2) {
                    cpu_params[k].set_grad(Tensor());
                    dev_params[k].set_grad(Tensor());
                    continue;
                }
                const std::int64_t n = kSizes[k % 4];
                const auto g = draw(n);
                cpu_params[k].set_grad(from_vector(g, {n}, dt));
                dev_params[k].set_grad(from_vector(g, {n}, dt, kDevice));
            }
            cpu_opt.step();
            dev_opt.step();
        }

        // Compared relative to the largest |value| of the same buffer over all 40 tensors:
        // updates such as exp_avg = beta1 exp_avg + (1 - beta1) g can cancel, and nvcc
        // contracts a*b + c into one fma (--fmad=true) where the host rounds the product
        // first, so an entry that cancels to near zero keeps the rounding error of its O(1)
        // terms. Relative to the buffer's scale, the two agree to 1e-12 (f64) / 1e-5 (f32).
        auto check_buffers = [&](const std::string& what, const std::vector<Tensor>& got,
                                 const std::vector<Tensor>& ref) {
            double scale = 0.0;
            for (const Tensor& r : ref)
                for (double x : r.to_vector<double>()) scale = std::max(scale, std::abs(x));
            double worst = 0.0;
            int worst_k = -1;
            for (std::size_t k = 0; k < ref.size(); ++k) {
                REQUIRE(got[k].device() == kDevice);
                const double err = max_error(got[k].to_vector<double>(), ref[k].to_vector<double>(),
                                             Metric::scaled, scale);
                if (!(err <= worst)) {
                    worst = err;
                    worst_k = static_cast<int>(k);
                }
            }
            INFO(what << ": max scaled error " << worst << " in tensor " << worst_k << " (scale "
                      << scale << ")");
            CHECK(worst <= tolerance(dt));
        };
        check_buffers("parameters", dev_params, cpu_params);
        const optim::OptimizerState cs = cpu_opt.state(), ds = dev_opt.state();
        REQUIRE(cs.params.size() == static_cast<std::size_t>(kTensors));
        REQUIRE(ds.params.size() == static_cast<std::size_t>(kTensors));
        for (int k = 0; k < kTensors; ++k) {
            INFO("tensor " << k);
            CHECK(ds.params[k].step == cs.params[k].step);
            CHECK(ds.params[k].step == (k % 5 == 2 ? kSteps - kSteps / 3 : kSteps));
            CHECK(ds.params[k].buffers.size() == 3);
        }
        for (const char* key : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
            std::vector<Tensor> got, ref;
            for (int k = 0; k < kTensors; ++k) {
                REQUIRE(ds.params[k].buffers.count(key) == 1);
                REQUIRE(cs.params[k].buffers.count(key) == 1);
                got.push_back(ds.params[k].buffers.at(key));
                ref.push_back(cs.params[k].buffers.at(key));
            }
            check_buffers(key, got, ref);
        }
    }
}

namespace {

// Bitwise equality of two runs' numbers, NaN included (a run may diverge under warn).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

DeviceLaunchStats launches_since(const DeviceLaunchStats& before) {
    const DeviceLaunchStats now = cuda_launch_stats(0);
    DeviceLaunchStats d;
    d.kernel_launches = now.kernel_launches - before.kernel_launches;
    d.graph_launches = now.graph_launches - before.graph_launches;
    d.graph_kernel_nodes = now.graph_kernel_nodes - before.graph_kernel_nodes;
    return d;
}

}  // namespace

TEST_CASE("CUDA graphs train bitwise as the uncaptured run, with fewer launches",
          "[cuda][train][graph]") {
    // Every first-order optimizer x preset x dtype, on the blog's data and a synthetic
    // problem (tiled pass: two kernels an epoch), reading back every 1, 7 and 32 epochs; 45
    // epochs, so with 7 and 32 the last block is shorter (a new graph topology: the executable
    // graph is instantiated again instead of updated).
    const std::int64_t epochs = 45;
    for (const DType dt : {DType::f32, DType::f64}) {
        const BlogProblem blog = blog_problem(dt, kDevice);
        const Dataset synthetic = load_dataset("synthetic:n=3000,d=5,seed=3", true, dt, kDevice);
        struct Problem {
            const char* name;
            const Dataset* data;
            std::vector<double> init;
        };
        const std::vector<Problem> problems{
            {"blog", &blog.data, blog.initial_weights},
            {"synthetic", &synthetic, std::vector<double>(6, 0.0)}};
        for (const Problem& problem : problems) {
            for (const std::string& name : optim::optimizer_names()) {
                // not captured: Newton, and the curvature methods (closures, read-backs)
                if (name == "newton" || name == "newton-cg" || name == "lbfgs") continue;
                for (const optim::Preset preset : {optim::Preset::blog, optim::Preset::torch}) {
                    for (const std::int64_t sync_every : {1, 7, 32}) {
                        optim::OptimizerConfig config;
                        config.name = name;
                        config.preset = preset;
                        INFO(problem.name << " " << dtype_name(dt) << ": " << describe(config)
                                          << ", sync_every " << sync_every);
                        DeviceLaunchStats launches;
                        std::vector<std::uint64_t> mallocs;  // cudaMalloc calls at each epoch
                        std::int64_t steps = 0;
                        const auto run = [&](bool graph) {
                            const auto d = static_cast<std::int64_t>(problem.init.size());
                            Tensor w = from_vector(problem.init, {d}, dt, kDevice).requires_grad_();
                            auto opt = optim::make_optimizer(config, {w});
                            TrainOptions t;
                            t.epochs = epochs;
                            t.sync_every = sync_every;
                            t.record_weights = true;
                            t.cuda_graph = graph;
                            t.on_divergence = OnDivergence::warn;
                            t.on_warning = [](const std::string&) {};
                            mallocs.clear();
                            t.on_epoch = [&](std::int64_t, double) {
                                mallocs.push_back(cuda_memory_stats(0).device_allocations);
                            };
                            const DeviceLaunchStats before = cuda_launch_stats(0);
                            TrainResult r = train_linear(problem.data->X, problem.data->y, *opt, t);
                            launches = launches_since(before);
                            steps = opt->step_count();
                            return r;
                        };
                        const TrainResult plain = run(false);
                        const DeviceLaunchStats plain_launches = launches;
                        const TrainResult graph = run(true);
                        const DeviceLaunchStats graph_launches = launches;

                        CHECK(same_bits(graph.losses, plain.losses));
                        REQUIRE(graph.weights.size() == plain.weights.size());
                        for (std::size_t e = 0; e < plain.weights.size(); ++e) {
                            INFO("weights of epoch " << e);
                            CHECK(same_bits(graph.weights[e], plain.weights[e]));
                        }
                        CHECK(same_bits(graph.final_weights, plain.final_weights));
                        CHECK(same_bits(graph.final_grad, plain.final_grad));
                        CHECK(graph.divergence == plain.divergence);
                        CHECK(steps == epochs);

                        // One graph per block after the first epoch (blocks end where
                        // (epoch + 1) % sync_every == 0 and at the last epoch).
                        std::uint64_t blocks = 0;
                        for (std::int64_t e = 1; e < epochs; ++e)
                            if ((e + 1) % sync_every == 0 || e + 1 == epochs) ++blocks;
                        CHECK(plain_launches.graph_launches == 0);
                        CHECK(graph_launches.graph_launches == blocks);
                        // The same kernels ran, most of them inside graphs.
                        CHECK(graph_launches.kernel_launches + graph_launches.graph_kernel_nodes ==
                              plain_launches.kernel_launches);
                        CHECK(graph_launches.graph_kernel_nodes >= std::uint64_t(2 * (epochs - 1)));
                        CHECK(graph_launches.kernel_launches < plain_launches.kernel_launches);
                        // No cudaMalloc after the first block's read-back (with sync_every 1:
                        // after the first epoch); a capture could not call it anyway.
                        REQUIRE(mallocs.size() == static_cast<std::size_t>(epochs));
                        CHECK(mallocs.back() == mallocs.front());
                    }
                }
            }
        }
    }
}

TEST_CASE("runs that are not captured ignore cuda_graph", "[cuda][train][graph]") {
    // Newton, the curvature methods and mini-batches run uncaptured: no graph, the same results.
    const Dataset data = load_dataset("synthetic:n=2000,d=3,seed=2", true, DType::f64, kDevice);
    for (const char* name : {"newton", "newton-cg", "lbfgs", "adam"}) {
        const bool minibatch = std::string(name) == "adam";
        INFO((minibatch ? "adam, mini-batches" : name));
        const auto run = [&](bool graph) {
            Tensor w = zeros({4}, DType::f64, kDevice).requires_grad_();
            optim::OptimizerConfig config;
            config.name = name;
            auto opt = optim::make_optimizer(config, {w});
            TrainOptions t;
            t.epochs = 5;
            t.batch_size = minibatch ? 300 : 0;
            t.cuda_graph = graph;
            return train_linear(data.X, data.y, *opt, t);
        };
        const TrainResult plain = run(false);
        const DeviceLaunchStats before = cuda_launch_stats(0);
        const TrainResult graph = run(true);
        CHECK(launches_since(before).graph_launches == 0);
        CHECK(same_bits(graph.losses, plain.losses));
        CHECK(same_bits(graph.final_weights, plain.final_weights));
    }
}

TEST_CASE("training stops calling cudaMalloc after its first step", "[cuda][memory]") {
    // The caching allocator keeps freed blocks, so a training loop allocates during its first
    // step(s) and then only reuses. train_linear also allocates per call buffers sized by the
    // number of epochs (losses, trajectory), and an epoch holds the previous gradient (the
    // optimizer's grad) while the next one is computed. So: a first 1-epoch call, then a
    // 100-epoch call that must not call cudaMalloc after its own first epoch, then the same
    // 100-epoch call again, which must not call cudaMalloc at all.
    const DType dt = DType::f64;
    const std::size_t in_use_before = cuda_memory_stats(0).bytes_in_use;
    {
        const Dataset data = load_dataset("synthetic:n=20000,d=8,seed=5", true, dt, kDevice);
        Tensor w = zeros({data.X.size(1)}, dt, kDevice).requires_grad_();
        optim::Adam adam({w}, optim::AdamOptions::preset(optim::Preset::torch));

        TrainOptions first;
        first.epochs = 1;
        first.record_weights = true;  // the trajectory buffer too
        train_linear(data.X, data.y, adam, first);
        const DeviceMemoryStats after_first = cuda_memory_stats(0);
        CHECK(after_first.device_allocations > 0);
        CHECK(after_first.bytes_in_use > in_use_before);

        TrainOptions more = first;
        more.epochs = 100;
        more.sync_every = 1;  // on_epoch after every step
        std::vector<std::uint64_t> mallocs;
        more.on_epoch = [&](std::int64_t, double) {
            mallocs.push_back(cuda_memory_stats(0).device_allocations);
        };
        train_linear(data.X, data.y, adam, more);
        REQUIRE(mallocs.size() == 100);
        INFO("cudaMalloc calls: " << after_first.device_allocations << " after the first call, "
                                  << mallocs.front() << " after the next call's first epoch, "
                                  << mallocs.back() << " after its last");
        CHECK(mallocs.back() == mallocs.front());

        const std::uint64_t before_again = cuda_memory_stats(0).device_allocations;
        mallocs.clear();
        train_linear(data.X, data.y, adam, more);
        CHECK(cuda_memory_stats(0).device_allocations == before_again);
        CHECK(adam.step_count() == 201);
        CHECK(cuda_memory_stats(0).requests > after_first.requests);
    }
    // Every tensor of the block is released: its blocks are cached, none is in use.
    CHECK(cuda_memory_stats(0).bytes_in_use == in_use_before);
}

namespace {

// Host data for the host-streaming tests: the synthetic generator's rows, on the cpu.
Dataset host_rows(std::int64_t n, std::int64_t features, DType dt, std::uint64_t seed = 9) {
    SyntheticSpec spec;
    spec.n = n;
    spec.d = features;
    spec.noise = 0.4;
    spec.seed = seed;
    return synthetic_dataset(spec, true, dt, Device::cpu());
}

StreamedHost streamed_host(const Dataset& host, std::int64_t chunk, bool pin_in_place = true) {
    StreamedHost h;
    h.X = host.X;
    h.y = host.y;
    h.chunk_rows = chunk;
    h.pin_in_place = pin_in_place;
    return h;
}

}  // namespace

TEST_CASE("host data streamed to the device matches the CPU and the in-memory device pass",
          "[cuda][streaming][host]") {
    // Chunks copied from host memory through two device buffers, page-locked in place or
    // through the staging buffers: the same chunking gives the same bits either way, and the
    // results equal the in-memory passes (CPU and device) to rounding.
    constexpr std::int64_t n = 30011;
    for (DType dt : {DType::f64, DType::f32}) {
        const Dataset host = host_rows(n, 7, dt);
        const Dataset dev{host.X.to(kDevice), host.y.to(kDevice), host.source, host.intercept,
                          host.true_weights};
        std::vector<double> wv;
        for (int j = 0; j < 8; ++j) wv.push_back(0.3 * j - 0.9);
        const Tensor wc = from_vector(wv, {8}, dt);
        const Tensor wd = from_vector(wv, {8}, dt, kDevice);
        const LinearMseResult cpu = linear_mse_value_grad_hessian(host.X, host.y, wc);
        const LinearMseResult mem = linear_mse_value_grad_hessian(dev.X, dev.y, wd);
        const auto check_close = [&](const LinearMseResult& r, const LinearMseResult& ref) {
            CHECK(max_error(r.loss.to_vector<double>(), ref.loss.to_vector<double>()) <= tolerance(dt));
            CHECK(max_error(r.grad.to_vector<double>(), ref.grad.to_vector<double>(), Metric::scaled) <= tolerance(dt));
            CHECK(max_error(r.hessian.to_vector<double>(), ref.hessian.to_vector<double>(), Metric::scaled) <= tolerance(dt));
        };
        // 4096: a short last chunk (1339 rows); n - 1: a last chunk of one row; 61: 492
        // chunks, so each buffer is refilled hundreds of times; n and n + 5: one chunk.
        for (std::int64_t chunk : {std::int64_t(4096), n - 1, std::int64_t(61), n, n + 5}) {
            LinearMseResult first;
            for (bool pin : {true, false}) {
                INFO(dtype_name(dt) << " chunk " << chunk << (pin ? " pinned in place" : " staged"));
                const StreamedHost h = streamed_host(host, chunk, pin);
                const LinearMseResult r = linear_mse_streamed(h, wd, true);
                CHECK(r.loss.device() == kDevice);
                CHECK(r.hessian.device() == kDevice);
                check_close(r, cpu);
                check_close(r, mem);
                if (!first.loss.defined()) first = r;
                // The same chunking: bitwise the same, run after run and pinned or staged.
                CHECK(same_bits(r.loss.to_vector<double>(), first.loss.to_vector<double>()));
                CHECK(same_bits(r.grad.to_vector<double>(), first.grad.to_vector<double>()));
                CHECK(same_bits(r.hessian.to_vector<double>(), first.hessian.to_vector<double>()));
                const LinearMseResult again = linear_mse_streamed(h, wd, true);
                CHECK(same_bits(again.grad.to_vector<double>(), r.grad.to_vector<double>()));
                CHECK(same_bits(again.hessian.to_vector<double>(), r.hessian.to_vector<double>()));
                // The registration ends with the pass.
                CHECK(cuda_memory_stats(0).host_bytes_pinned == 0);
            }
        }
    }
    // Data already on a device is not host data.
    const Dataset host = host_rows(100, 2, DType::f64);
    StreamedHost on_device = streamed_host(host, 10);
    on_device.X = host.X.to(kDevice);
    bool refused = false;
    try {
        linear_mse_streamed(on_device, zeros({3}, DType::f64, kDevice));
    } catch (const Error& e) {
        refused = std::string(e.what()).find("host memory") != std::string::npos;
    }
    CHECK(refused);
}

TEST_CASE("training on host-streamed data on the device matches the CPU and the in-memory run",
          "[cuda][train][streaming][host]") {
    constexpr std::int64_t n = 8011;
    constexpr std::int64_t epochs = 10;
    for (DType dt : {DType::f64, DType::f32}) {
        const Dataset host = host_rows(n, 5, dt, 12);
        const Dataset dev{host.X.to(kDevice), host.y.to(kDevice), host.source, host.intercept,
                          host.true_weights};
        for (const std::string name : {"adam", "momentum", "newton"}) {
            optim::OptimizerConfig config;
            config.name = name;
            config.lr = name == "newton" ? 0.5 : 0.02;
            const std::int64_t e = name == "newton" ? 3 : epochs;
            enum class Where { cpu_memory, device_memory, host_streamed };
            const auto run = [&](Where where, std::int64_t chunk, bool pin, bool graph) {
                const Device device = where == Where::cpu_memory ? Device::cpu() : kDevice;
                Tensor w = zeros({6}, dt, device).requires_grad_();
                auto opt = optim::make_optimizer(config, {w});
                TrainOptions t;
                t.epochs = e;
                t.record_weights = true;
                t.cuda_graph = graph;  // streamed data is never captured: a no-op
                if (where == Where::cpu_memory) return train_linear(host.X, host.y, *opt, t);
                if (where == Where::device_memory) return train_linear(dev.X, dev.y, *opt, t);
                return train_linear_streamed(streamed_host(host, chunk, pin), *opt, t);
            };
            const TrainResult cpu = run(Where::cpu_memory, 0, true, false);
            const TrainResult mem = run(Where::device_memory, 0, true, false);
            for (std::int64_t chunk : {std::int64_t(1000), n}) {  // 1000: a short last chunk
                INFO(dtype_name(dt) << " " << name << " chunk " << chunk);
                const TrainResult a = run(Where::host_streamed, chunk, true, false);
                // Each step starts from weights that already differ by the previous passes'
                // rounding, so the allowance is one pass's tolerance per epoch.
                const double tol = double(e) * tolerance(dt);
                for (const TrainResult* ref : {&cpu, &mem}) {
                    CHECK(max_error(a.losses, ref->losses) <= tol);
                    CHECK(max_error(a.final_weights, ref->final_weights, Metric::scaled) <= tol);
                }
                // Deterministic: again, staged instead of pinned, and with cuda_graph asked
                // for (not captured): bitwise the same run.
                const DeviceLaunchStats before = cuda_launch_stats(0);
                const TrainResult b = run(Where::host_streamed, chunk, true, true);
                CHECK(launches_since(before).graph_launches == 0);
                const TrainResult c = run(Where::host_streamed, chunk, false, false);
                for (const TrainResult* other : {&b, &c}) {
                    CHECK(same_bits(other->losses, a.losses));
                    CHECK(same_bits(other->final_weights, a.final_weights));
                    REQUIRE(other->weights.size() == a.weights.size());
                    for (std::size_t k = 0; k < a.weights.size(); ++k)
                        CHECK(same_bits(other->weights[k], a.weights[k]));
                }
            }
        }
    }
}

TEST_CASE("host data bigger than the chunk buffers: two chunks on the device, no cudaMalloc "
          "after the first epoch", "[cuda][memory][streaming][host]") {
    // 160000 x 16 f64 (20 MB of X) through chunks of 2048 rows (0.26 MB each): the device
    // holds two chunks, the (79 x 17) table and the O(d) rest, never X. (The caching
    // allocator may serve a request with a cached block of up to twice its size: hence the
    // margin below.)
    const DType dt = DType::f64;
    const Dataset host = host_rows(160000, 15, dt, 3);
    const std::size_t data_bytes = (host.X.numel() + host.y.numel()) * sizeof(double);
    const std::size_t in_use_before = cuda_memory_stats(0).bytes_in_use;
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.05;
    const auto train = [&](bool pin, std::int64_t epochs, std::vector<DeviceMemoryStats>* seen) {
        Tensor w = zeros({16}, dt, kDevice).requires_grad_();
        auto opt = optim::make_optimizer(config, {w});
        TrainOptions t;
        t.epochs = epochs;
        t.sync_every = 1;
        if (seen)
            t.on_epoch = [seen](std::int64_t, double) { seen->push_back(cuda_memory_stats(0)); };
        return train_linear_streamed(streamed_host(host, 2048, pin), *opt, t);
    };
    for (bool pin : {true, false}) {
        INFO((pin ? "pinned in place" : "staged"));
        std::vector<DeviceMemoryStats> seen;
        const TrainResult r = train(pin, 8, &seen);
        REQUIRE(seen.size() == 8);
        CHECK(r.losses.back() < r.losses.front());
        std::size_t peak = 0;
        for (const DeviceMemoryStats& s : seen) {
            peak = std::max(peak, s.bytes_in_use - in_use_before);
            // Page-locked in place for the run (X and y), or not at all (staging).
            CHECK(s.host_bytes_pinned == (pin ? data_bytes : 0));
        }
        INFO("device bytes in use during training: " << peak << ", data: " << data_bytes);
        CHECK(peak < data_bytes / 4);
        // No cudaMalloc once the first epochs have run (an epoch holds the previous
        // gradient while the next is computed: see the test above), ...
        CHECK(seen.back().device_allocations == seen[2].device_allocations);
        // ... and none at all in a second run: every buffer comes from the cache.
        const std::uint64_t before = cuda_memory_stats(0).device_allocations;
        const TrainResult again = train(pin, 8, nullptr);
        CHECK(cuda_memory_stats(0).device_allocations == before);
        CHECK(same_bits(again.losses, r.losses));
        CHECK(cuda_memory_stats(0).host_bytes_pinned == 0);
    }
    CHECK(cuda_memory_stats(0).bytes_in_use == in_use_before);
}

TEST_CASE("an exception in a host-streamed run leaves the device usable", "[cuda][streaming][host]") {
    // A callback throwing mid-run unwinds the pass (its copies are waited for, the host
    // memory unregistered, the buffers returned); the next run is bitwise a fresh one.
    const Dataset host = host_rows(50000, 7, DType::f32, 5);
    optim::OptimizerConfig config;
    config.name = "adam";
    const auto train = [&](bool throw_at_3) {
        Tensor w = zeros({8}, DType::f32, kDevice).requires_grad_();
        auto opt = optim::make_optimizer(config, {w});
        TrainOptions t;
        t.epochs = 8;
        t.sync_every = 1;
        if (throw_at_3)
            t.on_epoch = [](std::int64_t e, double) {
                if (e == 3) throw Error("stop here");
            };
        return train_linear_streamed(streamed_host(host, 6000), *opt, t);
    };
    const TrainResult fresh = train(false);
    bool thrown = false;
    try {
        train(true);
    } catch (const Error& e) {
        thrown = std::string(e.what()).find("stop here") != std::string::npos;
    }
    CHECK(thrown);
    CHECK(cuda_memory_stats(0).host_bytes_pinned == 0);
    const TrainResult after = train(false);
    CHECK(same_bits(after.losses, fresh.losses));
    CHECK(same_bits(after.final_weights, fresh.final_weights));
}

TEST_CASE("out of device memory is a CudaError naming the bytes asked for and free",
          "[cuda][memory][errors]") {
    // Last in this file: after a failed cudaMalloc the caching allocator empties its cache.
    const std::uint64_t bytes = 4ULL << 40;  // 2^40 f32 elements: 4 TiB
    bool thrown = false;
    std::string message;
    try {
        (void)empty({1LL << 40}, DType::f32, kDevice);
    } catch (const CudaError& e) {
        thrown = true;
        message = e.what();
    }
    INFO("message: " << message);
    REQUIRE(thrown);
    CHECK(message.find("out of memory") != std::string::npos);
    CHECK(message.find(std::to_string(bytes)) != std::string::npos);
    CHECK(message.find("free") != std::string::npos);
    // The device is still usable.
    CHECK(ones({3}, DType::f32, kDevice).sum().item() == 3.0);
}

// An implicit intercept (LinearModel's fit_intercept) on the device: the fused kernels read a
// stored ones column, so the loop takes the autodiff step (X W[:d] + W[d]), which must follow
// the CPU's fused implicit pass to rounding; asked directly, the fused pass declines it.
TEST_CASE("an implicit intercept trains on the device through the autodiff step",
          "[cuda][train][intercept]") {
    const std::int64_t n = 500, d = 3;
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> x(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n));
    for (double& v : x) v = normal(rng);
    for (std::int64_t i = 0; i < n; ++i)
        y[i] = 0.7 - x[i * d] + 2.0 * x[i * d + 2] + 0.1 * normal(rng);
    for (DType dt : {DType::f64, DType::f32}) {
        INFO(dtype_name(dt));
        const Tensor Xc = from_vector(x, {n, d}, DType::f64).to(dt);
        const Tensor yc = from_vector(y, {n}, DType::f64).to(dt);
        const Tensor Xd = Xc.to(kDevice), yd = yc.to(kDevice);
        optim::OptimizerConfig config;
        config.name = "adam";
        config.lr = 0.05;
        TrainOptions options;
        options.epochs = 30;
        Tensor wc = zeros({d + 1}, dt).requires_grad_();
        Tensor wd = zeros({d + 1}, dt, kDevice).requires_grad_();
        auto oc = optim::make_optimizer(config, {wc});
        auto od = optim::make_optimizer(config, {wd});
        const LinearModel mc(wc, true), md(wd, true);
        CHECK(mc.has_fused_for(Loss::mse, Xc));
        CHECK_FALSE(md.has_fused_for(Loss::mse, Xd));
        const TrainResult rc = train(mc, Loss::mse, Xc, yc, *oc, options);
        const TrainResult rd = train(md, Loss::mse, Xd, yd, *od, options);
        // The autodiff step rounds otherwise than the fused pass: a few ulps a step.
        const double tol = dt == DType::f64 ? 1e-10 : 1e-4;
        CHECK(max_error(rd.losses, rc.losses) <= tol);
        CHECK(max_error(rd.final_weights, rc.final_weights) <= tol);
        const Tensor l = empty({1}, dt, kDevice);
        CHECK_FALSE(md.fused_pass(Loss::mse, Xd, yd, l, Tensor()));
    }
}

// Loaded to the device with OnesColumn::automatic, a file's host table stays implicit (the
// host holds the file's size) and the device stores the ones column: the same X as a stored
// load, so the fused kernels run.
TEST_CASE("a file loaded to the device stores its ones column there", "[cuda][data][intercept]") {
    const std::string csv = "x1,x2,y\n1.5,-2,3\n0.25,4,-1\n-3,0.5,2\n";
    const Dataset stored = parse_csv(csv, "t.csv", true, DType::f64, Device::cpu(), OnesColumn::stored);
    const Dataset dev = parse_csv(csv, "t.csv", true, DType::f64, kDevice, OnesColumn::automatic);
    CHECK(dev.ones_column == OnesColumn::stored);
    CHECK(dev.X.device() == kDevice);
    CHECK(dev.X.shape() == stored.X.shape());
    CHECK(dev.X.to_vector<double>() == stored.X.to_vector<double>());
    CHECK(dev.y.to_vector<double>() == stored.y.to_vector<double>());
}

TEST_CASE("a net (nn::mlp) trains on the GPU as on the CPU", "[cuda][training][nn]") {
    // 3 -> 16 -> 8 -> 1 (tanh, relu) regression and 3 -> 12 -> 4 softmax classification,
    // Adam and SGD with momentum in mini-batches, and L-BFGS full batch: the same initial
    // weights on both devices, the losses and final parameters to the dtype's tolerance.
    std::mt19937_64 rng(17);
    std::normal_distribution<double> normal(0.0, 1.0);
    const std::int64_t n = 700;
    std::vector<double> xs(static_cast<std::size_t>(n * 3)), ys, labels;
    for (double& v : xs) v = normal(rng);
    for (std::int64_t i = 0; i < n; ++i) {
        const double z = std::sin(xs[i * 3]) + xs[i * 3 + 1] * xs[i * 3 + 2];
        ys.push_back(z);
        labels.push_back(z > 0.7 ? 3.0 : z > 0.0 ? 2.0 : z > -0.7 ? 1.0 : 0.0);
    }
    struct Case {
        std::vector<std::int64_t> sizes;
        nn::Activation activation;
        Loss loss;
        const char* optimizer;
        std::int64_t batch;
    };
    const std::vector<Case> cases = {
        {{3, 16, 8, 1}, nn::Activation::tanh, Loss::mse, "adam", 128},
        {{3, 16, 8, 1}, nn::Activation::relu, Loss::mse, "momentum", 100},
        {{3, 12, 4}, nn::Activation::tanh, Loss::cross_entropy, "adam", 0},
        {{3, 12, 1}, nn::Activation::sigmoid, Loss::mse, "lbfgs", 0},
    };
    for (const DType dt : {DType::f64, DType::f32}) {
        for (const Case& c : cases) {
            INFO(dtype_name(dt) << " " << c.optimizer << " " << nn::activation_name(c.activation));
            std::vector<TrainResult> results;
            for (const Device device : {Device::cpu(), kDevice}) {
                const nn::Sequential net = nn::mlp(c.sizes, c.activation, 3, dt, device);
                const Tensor X = from_vector(xs, {n, 3}, dt, device);
                const Tensor y = from_vector(c.loss == Loss::mse ? ys : labels, {n}, dt, device);
                optim::OptimizerConfig config;
                config.name = c.optimizer;
                config.lr = std::string(c.optimizer) == "lbfgs" ? 0.5 : 0.02;
                if (std::string(c.optimizer) == "lbfgs") config.max_iter = 5;
                auto optimizer = optim::make_optimizer(config, net.parameters());
                TrainOptions options;
                options.epochs = std::string(c.optimizer) == "lbfgs" ? 4 : 8;
                options.batch_size = c.batch;
                options.shuffle = c.batch > 0;
                results.push_back(train(net, c.loss, X, y, *optimizer, options));
            }
            const double tol = dt == DType::f64 ? 1e-9 : 1e-3;
            CHECK(max_error(results[1].losses, results[0].losses, Metric::relative) <= tol);
            CHECK(max_error(results[1].final_weights, results[0].final_weights, Metric::scaled) <= tol);
        }
    }
}

TEST_CASE("a net's training step on the GPU calls cudaMalloc only in the first step (epoch)",
          "[cuda][memory][nn]") {
    // As on the CPU (test_nn): full batch, nothing after the first step; mini-batches, nothing
    // after the first epoch. The optimizer's state and the flat gradient come fresh from
    // cudaMalloc in the first step (AllocationBypass), so they take no block the next step's
    // temporaries will ask for.
    RandomState rng(8);
    const Tensor X = from_vector(rng.standard_normal(512 * 6), {512, 6}, DType::f32, kDevice);
    const Tensor y = from_vector(rng.standard_normal(512), {512}, DType::f32, kDevice);
    for (const std::int64_t batch : {std::int64_t(0), std::int64_t(100)}) {
        INFO("batch " << batch);
        const nn::Sequential net = nn::mlp({6, 32, 16, 1}, nn::Activation::tanh, 1, DType::f32, kDevice);
        optim::OptimizerConfig config;
        config.name = "adam";
        auto adam = optim::make_optimizer(config, net.parameters());
        TrainOptions options;
        options.epochs = 8;
        options.batch_size = batch;
        options.shuffle = batch > 0;
        std::vector<std::uint64_t> mallocs;
        options.on_epoch = [&](std::int64_t, double) {
            mallocs.push_back(cuda_memory_stats(0).device_allocations);
        };
        train(net, Loss::mse, X, y, *adam, options);
        REQUIRE(mallocs.size() == 8);
        for (std::size_t e = 1; e < mallocs.size(); ++e) {
            INFO("epoch " << e + 1);
            CHECK(mallocs[e] == mallocs[0]);
        }
    }
}
