// The divergence rule (descent/train.hpp, loss_diverged) and its report: a finite runaway loss
// is caught (the blog at lr 0.05, wide synthetic data at the CLI's default lr), reported as
// non-finite divergence is (stop throws, warn warns once), with the rule that fired and advice
// fitting the optimizer (2/lambda_max, the heavy-ball bound, damping, feature scaling); and no
// false alarm on the blog's seven runs or Adam's early rise. Run: ctest -R test_divergence.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "error_of.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {

struct Run {
    Tensor w;
    std::unique_ptr<optim::Optimizer> opt;
};

Run make(const std::vector<double>& init, DType dtype, const optim::OptimizerConfig& config) {
    Run r;
    r.w = from_vector(init, {static_cast<std::int64_t>(init.size())}, dtype).requires_grad_();
    r.opt = optim::make_optimizer(config, {r.w});
    return r;
}

optim::OptimizerConfig config(const std::string& name, double lr) {
    optim::OptimizerConfig c;
    c.name = name;
    c.lr = lr;
    return c;
}

std::string str(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

}  // namespace

TEST_CASE("loss_diverged: the three rules and their edges", "[divergence]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (DType dt : {DType::f32, DType::f64}) {
        // 1. Not finite, whatever the first loss.
        CHECK(loss_diverged(nan, 1.0, dt));
        CHECK(loss_diverged(inf, 1.0, dt));
        CHECK(loss_diverged(-inf, 1.0, dt));
        CHECK(loss_diverged(nan, nan, dt));
        // 2. Over 1e6 times a positive first loss (strictly).
        CHECK_FALSE(loss_diverged(1e6 * 28.4, 28.4, dt));
        CHECK(loss_diverged(1e6 * 28.4 * (1 + 1e-12), 28.4, dt));
        CHECK_FALSE(loss_diverged(5.0, 28.4, dt));
        CHECK_FALSE(loss_diverged(28.4, 28.4, dt));
        // L0 = 0 (a perfect start) or negative: rule 2 does not apply.
        CHECK_FALSE(loss_diverged(1e10, 0.0, dt));
        CHECK_FALSE(loss_diverged(1e10, -1.0, dt));
        CHECK(loss_diverged(nan, 0.0, dt));
    }
    // 3. At or above sqrt(largest) and above L0: f32 and f64 thresholds differ.
    const double s32 = std::sqrt(double(std::numeric_limits<float>::max()));
    const double s64 = std::sqrt(std::numeric_limits<double>::max());
    CHECK(loss_diverged(s32, 0.0, DType::f32));
    CHECK_FALSE(loss_diverged(s32 * 0.999, 0.0, DType::f32));
    CHECK_FALSE(loss_diverged(s32, 0.0, DType::f64));  // far below f64's threshold
    CHECK(loss_diverged(s64, 0.0, DType::f64));
    CHECK_FALSE(loss_diverged(s64 * 0.999, 0.0, DType::f64));
    // ... only when above L0: a run that starts that high and decreases is fine.
    CHECK_FALSE(loss_diverged(s32 * 2, s32 * 4, DType::f32));
    CHECK(loss_diverged(s32 * 4 * 1.5, s32 * 4, DType::f32));
    CHECK_FALSE(loss_diverged(s64 * 2, s64 * 4, DType::f64));
    // ... and a NaN first loss (already reported at epoch 0) never fires rules 2 and 3.
    CHECK_FALSE(loss_diverged(1e300, nan, DType::f64));
    // The words of each rule.
    CHECK(loss_divergence_rule(5.0, 28.4, DType::f64).empty());
    CHECK(loss_divergence_rule(inf, 28.4, DType::f64) == "not finite");
    CHECK(loss_divergence_rule(3e7, 28.4, DType::f64) ==
          "over 1e6 times the first epoch's loss 28.4");
    CHECK_THAT(loss_divergence_rule(s32, 0.0, DType::f32),
               Contains("at or above sqrt(largest f32) = " + str(s32)));
    CHECK_THAT(loss_divergence_rule(s64, 0.0, DType::f64),
               Contains("at or above sqrt(largest f64) = " + str(s64)));
}

TEST_CASE("a finite runaway loss on the blog is divergence, with 2/lambda_max", "[divergence]") {
    // `descent train --lr 0.05 --epochs 380` on the blog: the loss ends near 7.5e291, finite.
    const BlogProblem blog = blog_problem();
    const double lambda_max = linear_mse_hessian_max_eigenvalue(blog.data.X);
    TrainOptions t;
    t.epochs = 380;
    Run stopped = make(blog.initial_weights, DType::f64, config("gd", 0.05));
    const std::string message =
        error_of([&] { train_linear(blog.data.X, blog.data.y, *stopped.opt, t); });
    INFO(message);
    CHECK_THAT(message, Contains("training diverged at epoch") && Contains("(gd): the loss is") &&
                            Contains("after a loss of") &&
                            Contains("over 1e6 times the loss of all-zero weights") &&
                            Contains("use a smaller learning rate, below 2/lambda_max = " +
                                     str(2.0 / lambda_max)));
    CHECK_THAT(message, !Contains("standardise"));  // x's and the ones' scales are 5.8 apart

    // warn: reported once, exactly as stop words it, and every epoch runs; the losses stay
    // finite to the end, so only the finite rule could have caught this run.
    Run warned = make(blog.initial_weights, DType::f64, config("gd", 0.05));
    std::vector<std::string> warnings;
    t.on_divergence = OnDivergence::warn;
    t.on_warning = [&](const std::string& m) { warnings.push_back(m); };
    const TrainResult r = train_linear(blog.data.X, blog.data.y, *warned.opt, t);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == message);
    CHECK(r.divergence == message);
    REQUIRE(r.losses.size() == 380);
    CHECK(std::isfinite(r.losses.back()));
    CHECK(r.losses.back() > 1e250);
    // The epoch named is the first whose loss passed 1e6 times the larger of the first loss
    // and the loss of all-zero weights (mean(y^2), computed here independently).
    const std::vector<double> y = blog.data.y.to_vector<double>();
    double zero = 0.0;
    for (double v : y) zero += v * v;
    zero /= double(y.size());
    const double reference = std::max(r.losses[0], zero);
    std::int64_t first_over = -1;
    for (std::size_t e = 0; e < r.losses.size() && first_over < 0; ++e)
        if (r.losses[e] > 1e6 * reference) first_over = static_cast<std::int64_t>(e);
    CHECK_THAT(message, Contains("at epoch " + std::to_string(first_over) + " (gd)"));
    CHECK_THAT(message, Contains("first epoch's was " + str(r.losses[0])));
    CHECK_THAT(message, Contains("all-zero weights " + str(zero)));
}

TEST_CASE("a run started at the optimum is no runaway when Adam's first step moves it",
          "[divergence]") {
    // y = 2x + 1 exactly; weights a hair from the solution: L0 ~ 1e-12, and Adam's first step
    // (~lr per weight whatever the gradient) lifts the loss a million-fold before it converges.
    // Against L0 alone that is "over 1e6 times"; against the loss of all-zero weights it is not.
    std::vector<double> rows, targets;
    for (int i = 0; i < 100; ++i) {
        rows.insert(rows.end(), {i / 100.0, 1.0});
        targets.push_back(2.0 * i / 100.0 + 1.0);
    }
    const Tensor X = from_vector(rows, {100, 2});
    const Tensor y = from_vector(targets);
    for (const double lr : {0.01, 0.1, 0.5}) {
        Run adam = make({2.000001, 1.000001}, DType::f64, config("adam", lr));
        TrainOptions t;
        t.epochs = 300;
        const TrainResult r = train_linear(X, y, *adam.opt, t);  // stop mode: would throw
        INFO("lr " << lr);
        REQUIRE(r.losses.size() == 300);
        CHECK(r.losses[0] < 1e-10);
        double highest = 0.0;
        for (double l : r.losses) highest = std::max(highest, l);
        CHECK(highest > 1e6 * r.losses[0]);  // the rise that used to alarm
        CHECK(r.divergence.empty());
    }
    // The rule with Lz: the same losses, judged against both references.
    CHECK(loss_diverged(1e-5, 2e-12, DType::f64));
    CHECK_FALSE(loss_diverged(1e-5, 2e-12, DType::f64, 5.0));
    CHECK(loss_diverged(6e6, 2e-12, DType::f64, 5.0));
    CHECK(loss_divergence_rule(6e6, 2e-12, DType::f64, 5.0) ==
          "over 1e6 times the loss of all-zero weights 5 (the first epoch's was 2e-12)");
    CHECK(loss_divergence_rule(6e9, 5000.0, DType::f64, 5.0) ==
          "over 1e6 times the first epoch's loss 5000");
}

TEST_CASE("wide synthetic data at the CLI's default lr is divergence", "[divergence]") {
    // The CLI's synthetic:n=10,d=1000000, scaled down: lambda_max ~ 2/n * d/3 makes gd's
    // default lr 0.01 far too large; the loss grows ~4000x per epoch and stays finite.
    SyntheticSpec spec;
    spec.n = 10;
    spec.d = 100000;
    const Dataset data = synthetic_dataset(spec, true, DType::f64, Device::cpu());
    const double lambda_max = linear_mse_hessian_max_eigenvalue(data.X);
    CHECK(2.0 / lambda_max < 0.01);
    TrainOptions t;
    t.epochs = 50;  // the CLI's default
    Run gd = make(std::vector<double>(spec.d + 1, 0.0), DType::f64, config("gd", 0.01));
    const std::string message = error_of([&] { train_linear(data.X, data.y, *gd.opt, t); });
    CHECK_THAT(message, Contains("diverged at epoch") && Contains("over 1e6 times") &&
                            Contains("2/lambda_max = " + str(2.0 / lambda_max)));
    CHECK_THAT(message, !Contains("standardise"));
}

TEST_CASE("the advised bounds are the stability limits of gd and heavy-ball momentum",
          "[divergence]") {
    // Just below the advised bound a long run stays quiet; just above it diverges. This checks
    // the bound itself, 2/lambda_max for gd and 2(1 + mu)/lambda_max for torch's momentum.
    const BlogProblem blog = blog_problem();
    const double lambda_max = linear_mse_hessian_max_eigenvalue(blog.data.X);
    for (const double mu : {0.0, 0.5, 0.9}) {
        INFO("momentum " << mu);
        const double bound = 2.0 * (1.0 + mu) / lambda_max;
        auto with_lr = [&](double lr) {
            optim::OptimizerConfig c = config(mu > 0 ? "momentum" : "gd", lr);
            if (mu > 0) c.momentum = mu;
            return make(blog.initial_weights, DType::f64, c);
        };
        TrainOptions t;
        t.epochs = 3000;
        Run below = with_lr(0.98 * bound);
        CHECK(error_of([&] { train_linear(blog.data.X, blog.data.y, *below.opt, t); }) ==
              "<no error>");
        Run above = with_lr(1.02 * bound);
        const std::string message =
            error_of([&] { train_linear(blog.data.X, blog.data.y, *above.opt, t); });
        INFO(message);
        if (mu == 0.0)
            CHECK_THAT(message, Contains("below 2/lambda_max = " + str(bound)));
        else
            CHECK_THAT(message, Contains("below 2(1 + momentum)/lambda_max = " + str(bound) +
                                         " (momentum " + str(mu) + ")"));
    }
    // Nesterov or dampening: no bound is claimed, gd's is given for reference.
    optim::OptimizerConfig c = config("momentum", 1.0);
    c.nesterov = true;
    Run nesterov = make(blog.initial_weights, DType::f64, c);
    TrainOptions t;
    t.epochs = 500;
    CHECK_THAT(error_of([&] { train_linear(blog.data.X, blog.data.y, *nesterov.opt, t); }),
               Contains("try a smaller learning rate (for reference, plain gradient descent is "
                        "stable below 2/lambda_max = " + str(2.0 / lambda_max) + ")"));
}

TEST_CASE("Newton past lr 2 is advised damping and lr in (0, 2)", "[divergence]") {
    // On a quadratic loss Newton's error is multiplied by (1 - lr) per step: lr 3 doubles it.
    const BlogProblem blog = blog_problem();
    Run newton = make(blog.initial_weights, DType::f64, config("newton", 3.0));
    TrainOptions t;
    t.epochs = 200;
    const std::string message =
        error_of([&] { train_linear(blog.data.X, blog.data.y, *newton.opt, t); });
    CHECK_THAT(message, Contains("diverged at epoch") && Contains("(newton)") &&
                            Contains("over 1e6 times the") &&
                            Contains("add damping (solve (H + damping I)") &&
                            Contains("stable for lr in (0, 2) (lr is 3)"));
    CHECK_THAT(message, !Contains("lambda_max"));
}

TEST_CASE("adaptive methods are advised a smaller learning rate, no lambda_max bound",
          "[divergence]") {
    const BlogProblem blog = blog_problem();
    for (const std::string name : {"adagrad", "rmsprop", "adam"}) {
        INFO(name);
        Run run = make(blog.initial_weights, DType::f64, config(name, 1e6));
        TrainOptions t;
        t.epochs = 100;
        const std::string message =
            error_of([&] { train_linear(blog.data.X, blog.data.y, *run.opt, t); });
        CHECK_THAT(message, Contains("diverged at epoch") && Contains("(" + name + ")") &&
                                Contains("; try a smaller learning rate"));
        CHECK_THAT(message, !Contains("lambda_max"));
    }
}

TEST_CASE("columns of very different scale are advised standardising", "[divergence]") {
    // The blog's x column times 1e5: RMS 5.8e5 against the ones column's 1.
    const BlogProblem blog = blog_problem();
    std::vector<double> rows = blog.data.X.to_vector<double>();
    for (std::size_t i = 0; i < rows.size(); i += 2) rows[i] *= 1e5;
    const Tensor X = from_vector(rows, {100, 2});
    double sxx = 0.0;
    for (std::size_t i = 0; i < rows.size(); i += 2) sxx += rows[i] * rows[i];
    const double rms = std::sqrt(sxx / 100);
    const LinearMseCurvature curvature = linear_mse_curvature(X);
    REQUIRE(curvature.column_rms.size() == 2);
    CHECK(curvature.column_rms[0] == Approx(rms).epsilon(1e-12));
    CHECK(curvature.column_rms[1] == Approx(1.0).epsilon(1e-12));
    for (const std::string name : {"gd", "adam", "newton"}) {
        INFO(name);
        Run run = make(blog.initial_weights, DType::f64,
                       config(name, name == "gd" ? 0.01 : name == "adam" ? 1e9 : 5.0));
        TrainOptions t;
        t.epochs = 100;
        const std::string message =
            error_of([&] { train_linear(X, blog.data.y, *run.opt, t); });
        CHECK_THAT(message, Contains("diverged at epoch") &&
                                Contains("; the feature columns differ in scale by a factor of " +
                                         str(rms) + " (column 0 vs column 1") &&
                                Contains("standardise them"));
    }
    // Streamed from host memory: the same advice, from the same curvature.
    StreamedHost host;
    host.X = X;
    host.y = blog.data.y;
    host.chunk_rows = 32;
    Run streamed = make(blog.initial_weights, DType::f64, config("gd", 0.01));
    TrainOptions t;
    t.epochs = 100;
    CHECK_THAT(error_of([&] { train_linear_streamed(host, *streamed.opt, t); }),
               Contains("differ in scale by a factor of " + str(rms)));
}

TEST_CASE("streamed synthetic data reports divergence with its own curvature", "[divergence]") {
    StreamedSynthetic s;
    s.spec.n = 500;
    s.spec.d = 3;
    s.spec.seed = 4;
    s.chunk_rows = 128;
    const Dataset in_memory = synthetic_dataset(s.spec, true, DType::f64, Device::cpu());
    const double lambda_max = linear_mse_hessian_max_eigenvalue(in_memory.X);
    Run run = make({0, 0, 0, 0}, DType::f64, config("gd", 2.5 / lambda_max));
    TrainOptions t;
    t.epochs = 300;
    const std::string message = error_of([&] { train_linear_streamed(s, *run.opt, t); });
    CHECK_THAT(message, Contains("over 1e6 times") && Contains("2/lambda_max = "));
    // Rounding differs (chunked sums): compare the bound to 5 digits.
    const auto at = message.find("2/lambda_max = ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(message.substr(at + 15)) == Approx(2.0 / lambda_max).epsilon(1e-5));
}

TEST_CASE("no false alarm: the blog's seven runs and Adam's early rise", "[divergence]") {
    const BlogProblem blog = blog_problem();
    for (DType dt : {DType::f32, DType::f64}) {
        const BlogProblem b = blog_problem(dt);
        for (const optim::OptimizerConfig& c : optim::blog_configs()) {
            INFO(c.name << " lr " << c.lr.value_or(-1) << " " << dtype_name(dt));
            Run run = make(blog.initial_weights, dt, c);
            TrainOptions t;
            t.epochs = 2000;
            TrainResult r;
            CHECK(error_of([&] { r = train_linear(b.data.X, b.data.y, *run.opt, t); }) ==
                  "<no error>");
            CHECK(r.divergence.empty());
        }
    }
    // Adam at lr 0.1 .. 1.0, both presets: the loss rises in the first epochs (the steps are
    // ~lr per coordinate whatever the gradient), then settles. Not divergence.
    bool rose = false;
    for (const optim::Preset preset : {optim::Preset::blog, optim::Preset::torch}) {
        for (int k = 1; k <= 10; ++k) {
            optim::OptimizerConfig c = config("adam", 0.1 * k);
            c.preset = preset;
            INFO("adam lr " << 0.1 * k << " " << optim::preset_name(preset));
            Run run = make(blog.initial_weights, DType::f64, c);
            TrainOptions t;
            t.epochs = 500;
            TrainResult r;
            CHECK(error_of([&] { r = train_linear(blog.data.X, blog.data.y, *run.opt, t); }) ==
                  "<no error>");
            for (std::size_t e = 1; e < 20 && e < r.losses.size(); ++e)
                rose = rose || r.losses[e] > r.losses[e - 1];
        }
    }
    CHECK(rose);  // the early rise really is exercised
}

TEST_CASE("linear_mse_curvature: wide and large X agree with the Hessian", "[divergence]") {
    // Wide (n < d): from the n x n Gram matrix; large (min(n, d) > 1024): by products with X.
    // Both against the eigenvalue of the d x d Hessian itself.
    for (const auto& [n, d] : {std::pair<std::int64_t, std::int64_t>{5, 300}, {1100, 1030}}) {
        INFO("n " << n << " d " << d);
        SyntheticSpec spec;
        spec.n = n;
        spec.d = d;
        spec.seed = 8;
        // Entries uniform in [0, 2): a mean direction well above the rest of the spectrum,
        // so that the reference's own power iteration converges.
        const Tensor X = add(synthetic_dataset(spec, false, DType::f64, Device::cpu()).X, 1.0);
        const LinearMseCurvature c = linear_mse_curvature(X);
        const std::vector<double> h = linear_mse_hessian(X).to_vector<double>();
        CHECK(c.lambda_max == Approx(symmetric_max_eigenvalue(h, d)).epsilon(1e-7));
        REQUIRE(c.column_rms.size() == static_cast<std::size_t>(d));
        for (std::int64_t j = 0; j < d; j += 97)
            CHECK(c.column_rms[j] == Approx(std::sqrt(h[j * d + j] / 2)).epsilon(1e-12));
    }
}

TEST_CASE("divergence_advice alone, for callers that detect divergence themselves",
          "[divergence]") {
    Tensor w = zeros({2}, DType::f64).requires_grad_();
    optim::SgdOptions o;
    o.lr = 0.1;
    optim::Sgd gd({w}, o);
    CHECK(divergence_advice(gd, {}) == "try a smaller learning rate");
    LinearMseCurvature c;
    c.lambda_max = 4.0;
    c.column_rms = {2e4, 1.0};
    CHECK(divergence_advice(gd, c) ==
          "use a smaller learning rate, below 2/lambda_max = 0.5; the feature columns differ in "
          "scale by a factor of 20000 (column 0 vs column 1, counted from 0, root mean squares "
          "20000 and 1); standardise them");
    c.column_rms = {0.0, 1e3, 1.0};  // an all-zero column is no scale; 1e3 is not over 1e3
    CHECK(divergence_advice(gd, c) == "use a smaller learning rate, below 2/lambda_max = 0.5");
}
