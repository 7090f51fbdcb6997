// The nets of descent/nn.hpp:
// - torch 1.13's trajectories (tests/reference/torch_mlp.py): three nets (1 and 2 hidden
//   layers, tanh and relu, regression and softmax classification), 100 full-batch steps of
//   Adam and of SGD with momentum from torch's initial weights, and 5 of L-BFGS (the net's
//   parameters one flat vector), every loss and the final parameters to 1e-9 in f64;
// - mlp(): torch.nn.Linear's init bounds, seeded (the same weights for a seed, others for
//   another), torch's parameter names and order, the model's name;
// - a run stopped, checkpointed and resumed ends bitwise as the whole run (mini-batches);
// - bad layers and inputs fail with one clear message.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "fixture_file.hpp"

using namespace descent;

namespace {

struct NamedTensor {
    std::string name;
    Shape shape;
    std::vector<double> values;
};

NamedTensor tensor_of(const fixture::Record& r) {  // tag case NAME rank dims... values...
    NamedTensor t;
    t.name = r[2];
    const int rank = std::stoi(r[3]);
    for (int i = 0; i < rank; ++i) t.shape.push_back(std::stoll(r[4 + static_cast<std::size_t>(i)]));
    t.values = fixture::numbers(r, 4 + static_cast<std::size_t>(rank));
    return t;
}

struct TorchNet {
    std::string name, optimizer, loss, activation;
    std::int64_t steps = 0, n = 0, d = 0, outputs = 0;
    std::vector<double> X, y, losses;
    std::vector<NamedTensor> init, final;
};

std::vector<TorchNet> load_nets() {
    std::map<std::string, TorchNet> by_name;
    std::vector<std::string> order;
    for (const fixture::Record& r : fixture::read("torch_mlp.txt")) {
        TorchNet& c = by_name[r.at(1)];
        if (r[0] == "case") {
            c.name = r[1];
            c.optimizer = r[3];
            c.steps = std::stoll(r[4]);
            c.n = std::stoll(r[5]);
            c.d = std::stoll(r[6]);
            c.outputs = std::stoll(r[7]);
            c.loss = r[8];
            c.activation = r[9];
            order.push_back(c.name);
        } else if (r[0] == "X") {
            c.X = fixture::numbers(r, 2);
        } else if (r[0] == "y") {
            c.y = fixture::numbers(r, 2);
        } else if (r[0] == "init") {
            c.init.push_back(tensor_of(r));
        } else if (r[0] == "final") {
            c.final.push_back(tensor_of(r));
        } else if (r[0] == "loss") {
            c.losses.push_back(fixture::number(r.at(3)));
        }
    }
    std::vector<TorchNet> nets;
    for (const std::string& name : order) nets.push_back(by_name[name]);
    return nets;
}

// The Sequential torch built: Linear layers from `params` (weight, bias, ...), the
// activation between them.
nn::Sequential sequential_of(const std::vector<NamedTensor>& params, nn::Activation act,
                             Device device = Device::cpu()) {
    std::vector<nn::Layer> layers;
    for (std::size_t i = 0; i + 1 < params.size(); i += 2) {
        if (i > 0) layers.push_back(nn::Layer::of(act));
        nn::Linear l;
        l.weight = from_vector(params[i].values, params[i].shape, DType::f64, device).requires_grad_();
        l.bias = from_vector(params[i + 1].values, params[i + 1].shape, DType::f64, device)
                     .requires_grad_();
        layers.push_back(nn::Layer::of(l));
    }
    return nn::Sequential(layers);
}

optim::OptimizerConfig config_of(const TorchNet& c) {
    optim::OptimizerConfig config;
    config.name = c.optimizer;
    config.lr = c.optimizer == "adam" ? 0.01 : c.optimizer == "lbfgs" ? 1.0 : 0.05;
    if (c.optimizer == "momentum") config.momentum = 0.9;
    if (c.optimizer == "lbfgs") config.max_iter = 10;
    return config;
}

}  // namespace

TEST_CASE("nets train as torch.nn + torch.optim do, step for step", "[nn][torch]") {
    const std::vector<TorchNet> nets = load_nets();
    REQUIRE(nets.size() == 7);
    for (const TorchNet& c : nets) {
        INFO(c.name);
        const nn::Sequential net = sequential_of(c.init, nn::parse_activation(c.activation));
        std::vector<std::string> names;
        for (const auto& [name, t] : net.named_parameters()) names.push_back(name);
        std::vector<std::string> torch_names;
        for (const NamedTensor& t : c.init) torch_names.push_back(t.name);
        REQUIRE(names == torch_names);
        const Tensor X = from_vector(c.X, {c.n, c.d}, DType::f64);
        const Tensor y = from_vector(c.y, {c.n}, DType::f64);
        auto optimizer = optim::make_optimizer(config_of(c), net.parameters());
        TrainOptions options;
        options.epochs = c.steps;
        const Loss loss = c.loss == "mse" ? Loss::mse : Loss::cross_entropy;
        const TrainResult r = train(net, loss, X, y, *optimizer, options);
        REQUIRE(r.losses.size() == c.losses.size());
        for (std::size_t k = 0; k < c.losses.size(); ++k) {
            INFO("step " << k + 1);
            CHECK(fixture::max_rel_err({r.losses[k]}, {c.losses[k]}) <= 1e-9);
        }
        const std::vector<Tensor> params = net.parameters();
        REQUIRE(params.size() == c.final.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            INFO(c.final[i].name);
            CHECK(fixture::max_rel_err(params[i].to_vector<double>(), c.final[i].values) <= 1e-9);
        }
    }
}

TEST_CASE("mlp(): torch.nn.Linear's init, seeded, with torch's names", "[nn]") {
    const nn::Sequential a = nn::mlp({6, 16, 8, 1}, nn::Activation::relu, 3);
    REQUIRE(a.name() == "mlp:16,8:relu");
    REQUIRE(a.inputs() == 6);
    REQUIRE(a.outputs() == 1);
    const auto named = a.named_parameters();
    REQUIRE(named.size() == 6);
    const std::vector<std::string> names = {"0.weight", "0.bias", "2.weight",
                                            "2.bias",   "4.weight", "4.bias"};
    const std::vector<Shape> shapes = {{16, 6}, {16}, {8, 16}, {8}, {1, 8}, {1}};
    for (std::size_t i = 0; i < named.size(); ++i) {
        INFO(names[i]);
        REQUIRE(named[i].first == names[i]);
        REQUIRE(named[i].second.shape() == shapes[i]);
        REQUIRE(named[i].second.requires_grad());
        // U(-1/sqrt(in), 1/sqrt(in)): inside the bound, and spread over it.
        const double bound = 1.0 / std::sqrt(double(i < 2 ? 6 : i < 4 ? 16 : 8));
        const std::vector<double> v = named[i].second.to_vector<double>();
        double lo = 1.0, hi = -1.0;
        for (double x : v) {
            REQUIRE(std::abs(x) < bound);
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        }
        if (v.size() >= 16) CHECK(hi - lo > bound);
    }
    // The same seed, the same weights; another seed, others.
    const nn::Sequential same = nn::mlp({6, 16, 8, 1}, nn::Activation::relu, 3);
    const nn::Sequential other = nn::mlp({6, 16, 8, 1}, nn::Activation::relu, 4);
    CHECK(same.parameters()[0].to_vector<double>() == a.parameters()[0].to_vector<double>());
    CHECK(other.parameters()[0].to_vector<double>() != a.parameters()[0].to_vector<double>());
    // f32: the f64 draws rounded.
    const nn::Sequential f32 = nn::mlp({6, 16, 8, 1}, nn::Activation::relu, 3, DType::f32);
    CHECK(f32.parameters()[2].dtype() == DType::f32);
    const std::vector<double> w64 = a.parameters()[2].to_vector<double>();
    const std::vector<double> w32 = f32.parameters()[2].to_vector<double>();
    for (std::size_t i = 0; i < w64.size(); ++i) CHECK(w32[i] == double(float(w64[i])));
    // Predictions: (n) for one output, (n, k) for k.
    const Tensor X = from_vector(std::vector<double>(12, 0.5), {2, 6}, DType::f64);
    CHECK(a.forward(X).shape() == Shape{2});
    CHECK(nn::mlp({6, 4, 3}, nn::Activation::tanh, 1).forward(X).shape() == Shape{2, 3});
    CHECK(nn::mlp({6, 4, 3}, nn::Activation::tanh, 1).name() == "mlp:4:tanh");
}

TEST_CASE("a net's run resumed from its checkpoint equals the whole run bitwise", "[nn][resume]") {
    std::vector<double> xs, ys;
    for (int i = 0; i < 300; ++i) {
        const double a = std::sin(0.37 * i), b = std::cos(0.11 * i);
        xs.push_back(a);
        xs.push_back(b);
        ys.push_back(a * b + 0.5 * a);
    }
    const Tensor X = from_vector(xs, {300, 2}, DType::f64);
    const Tensor y = from_vector(ys, {300}, DType::f64);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.02;
    TrainOptions options;
    options.epochs = 10;
    options.batch_size = 64;
    options.shuffle = true;
    options.record_weights = true;

    const nn::Sequential whole_net = nn::mlp({2, 8, 8, 1}, nn::Activation::tanh, 11);
    auto whole_opt = optim::make_optimizer(config, whole_net.parameters());
    const TrainResult whole = train(whole_net, Loss::mse, X, y, *whole_opt, options);

    const nn::Sequential first_net = nn::mlp({2, 8, 8, 1}, nn::Activation::tanh, 11);
    auto first_opt = optim::make_optimizer(config, first_net.parameters());
    TrainResult at4;
    optim::OptimizerState state4;
    TrainOptions first = options;
    int polls = 0;
    first.stop_requested = [&] { return ++polls >= 4; };
    first.on_checkpoint = [&](const TrainResult& so_far) {
        at4 = so_far;
        state4 = first_opt->state();
    };
    REQUIRE(train(first_net, Loss::mse, X, y, *first_opt, first).stopped);
    REQUIRE(at4.losses.size() == 4);

    // A fresh net (other initial weights) loaded from the checkpoint's parameters.
    const nn::Sequential resumed_net = nn::mlp({2, 8, 8, 1}, nn::Activation::tanh, 99);
    std::vector<Tensor> params;
    for (const Tensor& p : first_net.parameters())
        params.push_back(p.detach().clone().requires_grad_());
    const auto loaded = resumed_net.with_parameters(params);
    auto resumed_opt = optim::make_optimizer(config, loaded->parameters());
    resumed_opt->load_state(state4);
    TrainOptions rest = options;
    rest.resume = &at4;
    const TrainResult resumed = train(*loaded, Loss::mse, X, y, *resumed_opt, rest);
    CHECK(resumed.losses == whole.losses);
    CHECK(resumed.final_weights == whole.final_weights);
    CHECK(resumed.weights == whole.weights);
}

TEST_CASE("bad nets and inputs fail with one clear message", "[nn][errors]") {
    CHECK_THROWS_WITH(nn::mlp({4}, nn::Activation::tanh, 0), Catch::Contains("at least an input"));
    CHECK_THROWS_WITH(nn::mlp({4, 0, 1}, nn::Activation::tanh, 0),
                      Catch::Contains("in and out must be >= 1"));
    CHECK_THROWS_WITH(nn::parse_activation("gelu"), Catch::Contains("tanh, relu or sigmoid"));
    RandomState rng(1);
    std::vector<nn::Layer> layers = {nn::Layer::of(nn::Linear::init(3, 4, rng, DType::f64)),
                                     nn::Layer::of(nn::Linear::init(5, 1, rng, DType::f64))};
    CHECK_THROWS_WITH(nn::Sequential(layers), Catch::Contains("takes 5 inputs, the layer before gives 4"));
    CHECK_THROWS_WITH(nn::Sequential({nn::Layer::of(nn::Activation::relu)}),
                      Catch::Contains("at least one Linear"));
    const nn::Sequential net = nn::mlp({3, 4, 1}, nn::Activation::sigmoid, 0);
    CHECK_THROWS_WITH(net.forward(zeros({5, 2}, DType::f64)), Catch::Contains("expects X (n, 3)"));
    CHECK_THROWS_WITH(net.with_parameters({}), Catch::Contains("expects 4 tensors"));
}

TEST_CASE("a training step allocates no cpu memory after the first", "[nn][memory]") {
    // The loop keeps freed tensor memory for reuse while it runs (cpu_memory_stats); it gives
    // the cache back when it ends.
    RandomState rng(8);
    const Tensor X = from_vector(rng.standard_normal(512 * 6), {512, 6}, DType::f32);
    const Tensor y = from_vector(rng.standard_normal(512), {512}, DType::f32);
    for (const std::int64_t batch : {std::int64_t(0), std::int64_t(100)}) {
        INFO("batch " << batch);
        const nn::Sequential net = nn::mlp({6, 32, 16, 1}, nn::Activation::tanh, 1, DType::f32);
        optim::OptimizerConfig config;
        config.name = "adam";
        auto adam = optim::make_optimizer(config, net.parameters());
        TrainOptions options;
        options.epochs = 8;
        options.batch_size = batch;
        options.shuffle = batch > 0;
        std::vector<std::uint64_t> allocations;
        options.on_epoch = [&](std::int64_t, double) {
            allocations.push_back(cpu_memory_stats().system_allocations);
        };
        const CpuMemoryStats before = cpu_memory_stats();
        train(net, Loss::mse, X, y, *adam, options);
        REQUIRE(allocations.size() == 8);
        CHECK(allocations[0] > before.system_allocations);  // the first step's, from the system
        // Full batch, an epoch is one step: nothing after the first. Mini-batches: nothing
        // after the first epoch (its steps, the short last batch among them, fill the cache).
        for (std::size_t e = 1; e < allocations.size(); ++e) {
            INFO("epoch " << e + 1);
            CHECK(allocations[e] == allocations[0]);
        }
        CHECK(cpu_memory_stats().requests > before.requests);
        CHECK(cpu_memory_stats().bytes_cached == 0);  // given back at the end
    }
}

TEST_CASE("a net's step holds two layer-sized buffers at its peak, as few as the math needs",
          "[nn][memory]") {
    // 16 -> 256 -> 1 tanh over 1024 rows (f32): a hidden layer is 1 MiB. The step needs the
    // layer's output t (tanh's backward reads it, the next layer's too) and one gradient
    // buffer. Nodes point at their inputs' nodes, not their memory, so the pre-activation z
    // dies with the forward pass; the first-order tanh backward overwrites the incoming
    // gradient, which nothing else holds. Every block the step asked for is in the loop's
    // cache after it (cpu_memory_stats: in use + cached).
    RandomState rng(9);
    const std::int64_t n = 1024, hidden = 256;
    const Tensor X = from_vector(rng.standard_normal(n * 16), {n, 16}, DType::f32);
    const Tensor y = from_vector(rng.standard_normal(n), {n}, DType::f32);
    const nn::Sequential net = nn::mlp({16, hidden, 1}, nn::Activation::tanh, 2, DType::f32);
    optim::OptimizerConfig config;
    config.name = "adam";
    auto adam = optim::make_optimizer(config, net.parameters());
    TrainOptions options;
    options.epochs = 3;
    std::size_t held = 0;
    options.on_epoch = [&](std::int64_t, double) {
        const CpuMemoryStats s = cpu_memory_stats();
        held = std::max(held, s.bytes_in_use + s.bytes_cached);
    };
    train(net, Loss::mse, X, y, *adam, options);
    const std::size_t layer = std::size_t(n * hidden) * sizeof(float);
    INFO("held " << held << " bytes, a layer is " << layer);
    CHECK(held >= 2 * layer);
    CHECK(held < 2 * layer + layer / 2);
}
