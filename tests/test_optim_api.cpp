// The optimizer API around the formulas: option validation, the factory's presets, state
// save/restore, Newton's solve and its errors, and that TrainOptions::cuda_graph changes
// nothing on the cpu. Expected values are exact arithmetic or come
// from the blog's numpy fixture.
#include <catch2/catch.hpp>

#include <cstring>

#include "descent/descent.hpp"
#include "error_of.hpp"
#include "fixture_file.hpp"

using namespace descent;
using namespace descent::optim;
using Catch::Matchers::Contains;

namespace {

Tensor param(std::vector<double> v) { return from_vector(v).requires_grad_(); }


}  // namespace

TEST_CASE("options are validated with a message naming the option", "[optim][api]") {
    CHECK_THAT(error_of([] { Sgd({param({1})}, SgdOptions{0.0}); }), Contains("lr") && Contains("> 0"));
    AdamOptions adam;
    adam.beta1 = 1.0;
    CHECK_THAT(error_of([&] { Adam({param({1})}, adam); }), Contains("beta1") && Contains("[0, 1)"));
    adam = AdamOptions{};
    adam.beta2 = -0.5;
    CHECK_THAT(error_of([&] { Adam({param({1})}, adam); }), Contains("beta2"));
    RmsPropOptions rms;
    rms.alpha = 1.0;
    CHECK_THAT(error_of([&] { RmsProp({param({1})}, rms); }), Contains("alpha"));
    SgdOptions sgd;
    sgd.momentum = 1.5;
    CHECK_THAT(error_of([&] { Sgd({param({1})}, sgd); }), Contains("momentum"));
    sgd = SgdOptions{};
    sgd.nesterov = true;
    CHECK_THAT(error_of([&] { Sgd({param({1})}, sgd); }), Contains("nesterov"));
    NewtonOptions newton;
    newton.damping = -1;
    CHECK_THAT(error_of([&] { Newton({param({1})}, newton); }), Contains("damping"));
}

TEST_CASE("parameters must be leaves that require grad", "[optim][api]") {
    CHECK_THAT(error_of([] { Sgd({from_vector(std::vector<double>{1})}, SgdOptions{}); }),
               Contains("requires_grad"));
    Tensor leaf = param({1, 2});
    CHECK_THAT(error_of([&] { Sgd({leaf * 2.0}, SgdOptions{}); }), Contains("not a leaf"));
    CHECK_THAT(error_of([] { Sgd({}, SgdOptions{}); }), Contains("at least one"));
}

TEST_CASE("the factory applies presets and rejects options that do not apply", "[optim][api]") {
    OptimizerConfig c;
    c.name = "adam";
    c.preset = Preset::blog;
    const auto blog = effective_hyperparameters(c);
    auto get = [](const std::vector<std::pair<std::string, double>>& h, const std::string& k) {
        for (const auto& [key, v] : h)
            if (key == k) return v;
        return -1.0;
    };
    CHECK(get(blog, "eps") == 0.0);
    CHECK(get(blog, "bias_correction") == 0.0);
    CHECK(get(blog, "beta2") == 0.99);
    c.preset = Preset::torch;
    const auto torch = effective_hyperparameters(c);
    CHECK(get(torch, "eps") == 1e-8);
    CHECK(get(torch, "beta2") == 0.999);
    CHECK(get(torch, "lr") == 0.001);
    c.name = "adamw";
    CHECK(get(effective_hyperparameters(c), "weight_decay") == 0.01);

    OptimizerConfig gd;
    gd.beta1 = 0.9;
    CHECK_THAT(error_of([&] { make_optimizer(gd, {param({1})}); }),
               Contains("beta1") && Contains("gd"));
    OptimizerConfig unknown;
    unknown.name = "bfgs";
    CHECK_THAT(error_of([&] { make_optimizer(unknown, {param({1})}); }),
               Contains("bfgs") && Contains("newton-cg or lbfgs"));
    CHECK_THAT(error_of([] { parse_preset("keras"); }), Contains("keras"));
}

TEST_CASE("state can be saved and restored to continue bit for bit", "[optim][api]") {
    const Tensor X = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
    const Tensor y = from_vector(std::vector<double>{1, 0, -1, 2});
    for (const std::string name : {"momentum", "adagrad", "rmsprop", "adam", "adamw"}) {
        INFO(name);
        OptimizerConfig c;
        c.name = name;
        c.lr = 0.01;
        auto run_steps = [&](Tensor w, Optimizer& opt, int steps) {
            for (int k = 0; k < steps; ++k) {
                w.set_grad(linear_mse_value_and_grad(X, y, w.detach()).grad);
                opt.step();
            }
        };
        Tensor w = param({0.5, -0.5});
        auto opt = make_optimizer(c, {w});
        run_steps(w, *opt, 5);
        const OptimizerState saved = opt->state();
        const std::vector<double> w_saved = w.to_vector<double>();
        run_steps(w, *opt, 5);

        Tensor w2 = param(w_saved);
        auto opt2 = make_optimizer(c, {w2});
        opt2->load_state(saved);
        CHECK(opt2->step_count() == 5);
        run_steps(w2, *opt2, 5);
        CHECK(w2.to_vector<double>() == w.to_vector<double>());
        // The saved state is a copy: the later steps did not change it.
        CHECK(saved.params[0].step == 5);
    }
}

TEST_CASE("load_state refuses a state that does not fit", "[optim][api]") {
    Tensor w = param({1, 2});
    Adam adam({w}, AdamOptions{});
    w.set_grad(from_vector(std::vector<double>{1, 1}));
    adam.step();
    OptimizerState s = adam.state();
    Tensor other = param({1, 2, 3});
    Adam wrong_shape({other}, AdamOptions{});
    CHECK_THAT(error_of([&] { wrong_shape.load_state(s); }), Contains("exp_avg") && Contains("(3,)"));
    Sgd sgd({param({1, 2})}, SgdOptions{});
    CHECK_THAT(error_of([&] { sgd.load_state(s); }), Contains("adam") && Contains("gd"));
    Tensor w2 = param({1, 2});
    Adam fresh({w2}, AdamOptions{});
    OptimizerState bogus = s;
    bogus.params[0].buffers["bogus"] = zeros({2}, DType::f64);
    CHECK_THAT(error_of([&] { fresh.load_state(bogus); }), Contains("bogus"));
    OptimizerState missing = s;
    missing.params[0].buffers.erase("exp_avg");
    CHECK_THAT(error_of([&] { fresh.load_state(missing); }), Contains("exp_avg") && Contains("missing"));
    CHECK(fresh.step_count() == 0);  // nothing was loaded from either
}

TEST_CASE("zero_grad zeroes in place and parameters without grad are skipped", "[optim][api]") {
    Tensor a = param({1, 2}), b = param({3});
    SgdOptions o;
    o.lr = 0.5;
    Sgd sgd({a, b}, o);
    a.set_grad(from_vector(std::vector<double>{2, 4}));
    sgd.step();  // b has no gradient: untouched
    CHECK(a.to_vector<double>() == std::vector<double>{0, 0});
    CHECK(b.to_vector<double>() == std::vector<double>{3});
    const void* buffer = a.grad().data_ptr();
    sgd.zero_grad();
    CHECK(a.grad().data_ptr() == buffer);
    CHECK(a.grad().to_vector<double>() == std::vector<double>{0, 0});
}

TEST_CASE("solve_spd solves exactly and refuses indefinite matrices", "[solve]") {
    // [[4, 2], [2, 3]] x = [2, 1] has x = [0.5, 0].
    const Tensor A = from_vector(std::vector<double>{4, 2, 2, 3}, {2, 2});
    const auto x = solve_spd(A, from_vector(std::vector<double>{2, 1})).to_vector<double>();
    CHECK(x[0] == Approx(0.5).epsilon(1e-15));
    CHECK(std::abs(x[1]) < 1e-15);
    const Tensor singular = from_vector(std::vector<double>{1, 1, 1, 1}, {2, 2});
    CHECK_THAT(error_of([&] { solve_spd(singular, from_vector(std::vector<double>{1, 1})); }),
               Contains("not positive definite") && Contains("damping"));
    // Damping makes it definite: (I + 11ᵀ) x = 1 gives x = [1/3, 1/3].
    const auto damped =
        solve_spd(singular, from_vector(std::vector<double>{1, 1}), 1.0).to_vector<double>();
    CHECK(damped[0] == Approx(1.0 / 3).epsilon(1e-15));
    const Tensor negative = from_vector(std::vector<double>{-1, 0, 0, 1}, {2, 2});
    CHECK_THROWS_AS(solve_spd(negative, from_vector(std::vector<double>{1, 1})), Error);
}

TEST_CASE("Newton with lr 1 lands on the blog's least-squares optimum", "[optim][newton]") {
    // The blog's numpy Newton (np.linalg.inv) after one step of lr 1 is the optimum.
    std::vector<double> final_ref;
    for (const auto& r : fixture::read("blog_trajectories.txt"))
        if (r[0] == "w" && r[1] == "newton_lr1" && r[2] == "50") final_ref = fixture::numbers(r, 3);
    REQUIRE(final_ref.size() == 2);
    const BlogProblem blog = blog_problem();
    const auto ls = linear_least_squares(blog.data.X, blog.data.y).to_vector<double>();
    CHECK(fixture::max_rel_err(ls, final_ref) <= 1e-12);

    Tensor w = from_vector(blog.initial_weights).requires_grad_();
    // The Hessian from a callback instead of the trainer.
    Newton newton({w}, NewtonOptions{}, [&] { return linear_mse_hessian(blog.data.X); });
    w.set_grad(linear_mse_value_and_grad(blog.data.X, blog.data.y, w.detach()).grad);
    newton.step();
    CHECK(fixture::max_rel_err(w.to_vector<double>(), final_ref) <= 1e-12);
    CHECK(newton.step_count() == 1);
}

TEST_CASE("Newton refuses a singular Hessian unless damped", "[optim][newton]") {
    // Two identical columns: XᵀX is singular.
    const Tensor X = from_vector(std::vector<double>{1, 1, 2, 2, 3, 3}, {3, 2});
    const Tensor y = from_vector(std::vector<double>{1, 2, 3});
    Tensor w = param({0, 0});
    OptimizerConfig c;
    c.name = "newton";
    auto newton = make_optimizer(c, {w});
    CHECK_THAT(error_of([&] { train_linear(X, y, *newton); }),
               Contains("not positive definite") && Contains("damping"));
    CHECK(w.to_vector<double>() == std::vector<double>{0, 0});  // nothing was changed
    c.damping = 1e-3;
    Tensor w2 = param({0, 0});
    auto damped = make_optimizer(c, {w2});
    TrainOptions o;
    o.epochs = 20;
    const TrainResult r = train_linear(X, y, *damped, o);
    CHECK(r.losses.back() < 1e-6);  // y = 0.5 x1 + 0.5 x2 fits exactly
    CHECK_THAT(error_of([] { Newton({param({1, 2}), param({3})}, NewtonOptions{}); }),
               Contains("exactly one parameter"));
}

TEST_CASE("training stops with the epoch when the loss turns non-finite", "[optim][train]") {
    const BlogProblem blog = blog_problem();
    Tensor w = from_vector(blog.initial_weights).requires_grad_();
    SgdOptions o;
    o.lr = 10.0;  // far beyond 2 / lambda_max of the blog's Hessian
    Sgd gd({w}, o);
    TrainOptions t;
    t.epochs = 1000;
    const std::string message = error_of([&] { train_linear(blog.data.X, blog.data.y, gd, t); });
    CHECK_THAT(message, Contains("diverged at epoch") && Contains("smaller learning rate"));
}

TEST_CASE("reading losses back in blocks changes nothing but when they arrive", "[optim][train]") {
    const BlogProblem blog = blog_problem();
    auto run = [&](std::int64_t sync_every, std::vector<std::int64_t>& seen) {
        Tensor w = from_vector(blog.initial_weights).requires_grad_();
        AdamOptions o = AdamOptions::preset(Preset::blog);
        Adam adam({w}, o);
        TrainOptions t;
        t.epochs = 50;
        t.sync_every = sync_every;
        t.record_weights = true;
        t.on_epoch = [&](std::int64_t e, double) { seen.push_back(e); };
        return train_linear(blog.data.X, blog.data.y, adam, t);
    };
    std::vector<std::int64_t> seen1, seen7;
    const TrainResult every = run(1, seen1), blocks = run(7, seen7);
    CHECK(every.losses == blocks.losses);
    CHECK(every.weights == blocks.weights);
    CHECK(seen7 == seen1);
    REQUIRE(seen7.size() == 50);
    for (std::int64_t e = 0; e < 50; ++e) CHECK(seen7[e] == e);

    // Divergence is still reported at the first non-finite epoch.
    auto diverge = [&](std::int64_t sync_every) {
        Tensor w = from_vector(blog.initial_weights).requires_grad_();
        SgdOptions o;
        o.lr = 10.0;
        Sgd gd({w}, o);
        TrainOptions t;
        t.epochs = 1000;
        t.sync_every = sync_every;
        return error_of([&] { train_linear(blog.data.X, blog.data.y, gd, t); });
    };
    CHECK(diverge(1) == diverge(16));
}

namespace {
// Bitwise equality, NaN included.
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}
}  // namespace

TEST_CASE("cuda_graph is a no-op on the cpu", "[optim][train][graph]") {
    // TrainOptions::cuda_graph captures CUDA work only: on the cpu every optimizer trains
    // exactly as without it, whatever the read-back interval.
    for (const DType dt : {DType::f32, DType::f64}) {
        const BlogProblem blog = blog_problem(dt);
        for (const std::string& name : optimizer_names()) {
            for (const Preset preset : {Preset::blog, Preset::torch}) {
                for (const std::int64_t sync_every : {1, 7, 32}) {
                    INFO(name << " " << preset_name(preset) << " " << dtype_name(dt)
                              << " sync_every " << sync_every);
                    const auto run = [&](bool graph) {
                        Tensor w = from_vector(blog.initial_weights, {2}, dt).requires_grad_();
                        OptimizerConfig config;
                        config.name = name;
                        config.preset = preset;
                        auto opt = make_optimizer(config, {w});
                        TrainOptions t;
                        t.epochs = 45;
                        t.sync_every = sync_every;
                        t.record_weights = true;
                        t.cuda_graph = graph;
                        t.on_divergence = OnDivergence::warn;
                        return train_linear(blog.data.X, blog.data.y, *opt, t);
                    };
                    const TrainResult plain = run(false), graph = run(true);
                    CHECK(same_bits(graph.losses, plain.losses));
                    REQUIRE(graph.weights.size() == plain.weights.size());
                    for (std::size_t e = 0; e < plain.weights.size(); ++e)
                        CHECK(same_bits(graph.weights[e], plain.weights[e]));
                    CHECK(same_bits(graph.final_weights, plain.final_weights));
                    CHECK(same_bits(graph.final_grad, plain.final_grad));
                }
            }
        }
    }
}

TEST_CASE("optimizers declare what a training loop must give them", "[optim][api]") {
    // The loop asks these instead of casting (train.cpp has no dynamic_cast of an optimizer).
    Tensor w = from_vector(std::vector<double>{1, 2}).requires_grad_();
    for (const std::string& name : optimizer_names()) {
        INFO(name);
        OptimizerConfig c;
        c.name = name;
        const auto opt = make_optimizer(c, {w});
        const bool first_order = name != "newton" && name != "newton-cg" && name != "lbfgs";
        CHECK(opt->capturable() == first_order);
        CHECK(opt->needs_hessian() == (name == "newton"));
        CHECK(opt->needs_closure() == (name == "newton-cg" || name == "lbfgs"));
        CHECK(opt->uses_hvp() == (name == "newton-cg"));
        CHECK_FALSE(opt->has_hvp());
        if (!opt->needs_hessian())
            CHECK_THAT(error_of([&] { opt->set_hessian(Tensor()); }), Contains("does not use a Hessian"));
        if (!opt->uses_hvp())
            CHECK_THAT(error_of([&] { opt->set_hvp([](const Tensor& v) { return v; }); }),
                       Contains("does not use Hessian-vector products"));
        CHECK(opt->stopped_early().empty());
        CHECK_FALSE(opt->step_gradient().defined());
        CHECK_FALSE(opt->divergence_advice(4.0).empty());
    }
    OptimizerConfig gd;
    CHECK_THAT(make_optimizer(gd, {w})->divergence_advice(4.0), Contains("below 2/lambda_max = 0.5"));
}
