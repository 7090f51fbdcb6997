// Costs of the second-order machinery (issue 12 item 7), each against a reference measured in
// the same process. Prints one JSON object per measurement.
//   --mlp [--batch B --hidden H]: the Hessian-vector product of a 2-layer tanh MLP's MSE loss
//       through the autodiff (hvp: one gradient pass with create_graph, one backward pass
//       through it) against the gradient alone (forward + backward), f32, all parameters
//       flattened into one vector. The bound: at most 4x.
//   --newton-cg-step [--n N --d D]: one Newton-CG outer iteration on linear MSE (k CG steps
//       with linear_mse_hvp, then the line search) against one streaming read of X; the
//       issue's bound: at most (k + 1) x 1.2 reads.
//   --solve [--n N --d D | --data FILE.npy] [--max-seconds S]: time to a loss within 1e-6
//       (relative) of the least-squares optimum for newton, newton-cg, lbfgs (strong Wolfe)
//       and adam (lr 0.01), full batch, from zero weights. bench/second_order.sh runs this on
//       an NPY file and torch.optim.LBFGS on the same file in the same run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "descent/descent.hpp"

using namespace descent;
using namespace bench;

namespace {

struct Config {
    std::string mode;
    std::int64_t n = 10000000, d = 16, batch = 1024, hidden = 256;
    int reps = 10;
    double max_seconds = 60;
    double spread = 1;  // column j scaled by spread^(j / (d - 2)) (intercept column kept): CG needs more steps
    std::string data;
};

// One streaming read of X (the floor of a pass that reads X once).
double read_seconds(const Tensor& X) {
    static volatile double sink = 0.0;
    const auto t0 = Clock::now();
    sink = sink + stream_read(X.data<float>(), X.numel());
    return seconds_since(t0);
}

void run_mlp(const Config& c) {
    const std::int64_t in = 16, h = c.hidden, b = c.batch;
    const std::int64_t p = h * in + h + h + 1;  // W1, b1, W2, b2
    RandomState rng(7);
    const Tensor X = from_vector(rng.standard_normal(std::size_t(b * in)), {b, in}, DType::f32);
    const Tensor y = from_vector(rng.standard_normal(std::size_t(b)), {b}, DType::f32);
    std::vector<double> theta0 = rng.standard_normal(std::size_t(p));
    for (double& v : theta0) v *= 0.1;
    // The four parameter tensors, differentiated together: grad() with create_graph, then
    // grad() of <g, v>, the two passes hvp() makes for one flat tensor (descent has no
    // slicing yet to flatten an MLP's parameters into one without O(p^2) selection products).
    Tensor W1 = from_vector(std::vector<double>(theta0.begin(), theta0.begin() + h * in), {h, in}, DType::f32);
    Tensor b1 = from_vector(std::vector<double>(std::size_t(h), 0.0), {h}, DType::f32);
    Tensor W2 = from_vector(std::vector<double>(theta0.begin() + h * in + h, theta0.begin() + h * in + 2 * h), {h}, DType::f32);
    Tensor b2 = zeros({1}, DType::f32);
    for (Tensor* t : {&W1, &b1, &W2, &b2}) t->requires_grad_();
    const auto loss = [&] {
        const Tensor hidden = tanh(matmul(X, transpose(W1)) + b1);
        return mse_loss(matmul(hidden, W2) + b2, y);
    };
    const std::vector<Tensor> params{W1, b1, W2, b2};
    std::vector<Tensor> v;
    for (const Tensor& t : params) v.push_back(full(t.shape(), 0.01, DType::f32));
    std::vector<double> grad_times, hvp_times;
    for (int r = 0; r < c.reps + 2; ++r) {
        auto t0 = Clock::now();
        {
            const std::vector<Tensor> g = grad({loss()}, params);
        }
        const double tg = seconds_since(t0);
        t0 = Clock::now();
        {
            const std::vector<Tensor> g = grad({loss()}, params, {}, true);
            const std::vector<Tensor> hv = grad(g, params, v);
        }
        const double th = seconds_since(t0);
        if (r >= 2) {
            grad_times.push_back(tg);
            hvp_times.push_back(th);
        }
    }
    std::printf("{\"bench\": \"mlp_hvp\", \"batch\": %lld, \"in\": %lld, \"hidden\": %lld, \"params\": %lld, "
                "\"dtype\": \"f32\", \"threads\": %d, \"grad_ms\": %.6g, \"hvp_ms\": %.6g, "
                "\"hvp_over_grad\": %.4g}\n",
                (long long)b, (long long)in, (long long)h, (long long)p, threads(),
                1e3 * median(grad_times), 1e3 * median(hvp_times),
                median(hvp_times) / median(grad_times));
}

Dataset make_data(const Config& c) {
    if (!c.data.empty()) return load_dataset(c.data, true, DType::f32, Device::cpu());
    SyntheticSpec spec;
    spec.n = c.n;
    spec.d = c.d - 1;
    spec.noise = 0.1;
    spec.seed = 1;
    Dataset data = synthetic_dataset(spec, true, DType::f32, Device::cpu());
    if (c.spread != 1) {
        std::vector<double> scale(static_cast<std::size_t>(c.d), 1.0);
        for (std::int64_t j = 0; j + 1 < c.d; ++j)
            scale[std::size_t(j)] = std::pow(c.spread, double(j) / double(std::max<std::int64_t>(1, c.d - 2)));
        NoGrad no_grad;
        data.X = data.X * from_vector(scale, {c.d}, DType::f32);
    }
    return data;
}

void run_newton_cg_step(const Config& c) {
    // Each repetition starts a fresh optimizer at w = 0, takes its first step untimed (it
    // also evaluates x0) and times the second: k CG steps with linear_mse_hvp and the line
    // search, reusing the first step's accepted point. Read floors alternate with the steps.
    const Dataset data = make_data(c);
    const std::int64_t d = data.X.shape()[1];
    std::vector<double> step_times, read_times;
    std::vector<std::int64_t> ks, evaluations;
    for (int r = 0; r < c.reps + 1; ++r) {
        Tensor w = zeros({d}, DType::f32).requires_grad_();
        optim::NewtonCG opt({w}, optim::NewtonCgOptions{},
                            [&](const Tensor& v) { return linear_mse_hvp(data.X, v); });
        std::int64_t calls = 0;
        const optim::Closure closure = [&] {
            ++calls;
            LinearMseResult res = linear_mse_value_and_grad(data.X, data.y, w.detach());
            w.set_grad(res.grad);
            return res.loss;
        };
        opt.step(closure);
        calls = 0;
        const auto t0 = Clock::now();
        opt.step(closure);
        const double t = seconds_since(t0);
        const double f = read_seconds(data.X);
        if (r == 0) continue;  // warm-up
        step_times.push_back(t);
        read_times.push_back(f);
        ks.push_back(opt.last_cg_iterations());
        evaluations.push_back(calls);
    }
    const double step = median(step_times), read = median(read_times);
    const std::int64_t k = ks[ks.size() / 2];
    // The step's two kinds of pass alone, in the same process: what (k + 1) reads can cost.
    std::vector<double> hvp_times, grad_times;
    const Tensor v = full({d}, 0.5, DType::f32), w0 = zeros({d}, DType::f32);
    for (int r = 0; r < c.reps; ++r) {
        auto t0 = Clock::now();
        linear_mse_hvp(data.X, v);
        hvp_times.push_back(seconds_since(t0));
        t0 = Clock::now();
        linear_mse_value_and_grad(data.X, data.y, w0);
        grad_times.push_back(seconds_since(t0));
    }
    std::printf("{\"bench\": \"newton_cg_step\", \"n\": %lld, \"d\": %lld, \"dtype\": \"f32\", "
                "\"threads\": %d, \"cg_steps\": %lld, \"evaluations\": %lld, \"step_ms\": %.6g, "
                "\"read_X_ms\": %.6g, \"reads\": %.4g, \"bound_reads\": %.4g, \"hvp_pass_reads\": %.4g, "
                "\"grad_pass_reads\": %.4g}\n",
                (long long)data.X.shape()[0], (long long)d, threads(), (long long)k,
                (long long)evaluations[evaluations.size() / 2], 1e3 * step, 1e3 * read, step / read,
                1.2 * double(k + 1), median(hvp_times) / read, median(grad_times) / read);
}

void run_solve(const Config& c) {
    const Dataset data = make_data(c);
    const std::int64_t n = data.X.shape()[0], d = data.X.shape()[1];
    // The optimum in f64 (normal equations by Cholesky on the f64 copy).
    double optimum_loss;
    {
        const Tensor X64 = data.X.to(DType::f64), y64 = data.y.to(DType::f64);
        const Tensor w_star = linear_least_squares(X64, y64);
        optimum_loss = linear_mse_value_and_grad(X64, y64, w_star).loss.item();
    }
    struct Method {
        const char* name;
        optim::OptimizerConfig config;
    };
    std::vector<Method> methods;
    optim::OptimizerConfig newton, newton_cg, lbfgs, adam;
    newton.name = "newton";
    newton_cg.name = "newton-cg";
    lbfgs.name = "lbfgs";
    lbfgs.line_search = "strong-wolfe";
    adam.name = "adam";
    adam.lr = 0.01;
    methods = {{"newton", newton}, {"newton-cg", newton_cg}, {"lbfgs", lbfgs}, {"adam", adam}};
    for (const Method& m : methods) {
        Tensor w = zeros({d}, DType::f32).requires_grad_();
        auto opt = optim::make_optimizer(m.config, {w});
        TrainOptions t;
        t.epochs = 1;
        std::int64_t epochs = 0;
        double reached = -1;
        const auto t0 = Clock::now();
        TrainResult so_far;
        // One epoch at a time (resume keeps the optimizer's state), checking the loss.
        double loss = 0;
        while (seconds_since(t0) < c.max_seconds) {
            t.epochs = epochs + 1;
            t.resume = epochs > 0 ? &so_far : nullptr;
            so_far = train_linear(data.X, data.y, *opt, t);
            ++epochs;
            loss = linear_mse_value_and_grad(data.X, data.y, w.detach()).loss.item();
            if ((loss - optimum_loss) <= 1e-6 * optimum_loss) {
                reached = seconds_since(t0);
                break;
            }
        }
        std::printf("{\"bench\": \"time_to_solution\", \"n\": %lld, \"d\": %lld, \"dtype\": \"f32\", "
                    "\"threads\": %d, \"optimizer\": \"%s\", \"epochs\": %lld, \"seconds\": %.6g, "
                    "\"reached\": %s, \"loss\": %.10g, \"optimum_loss\": %.10g}\n",
                    (long long)n, (long long)d, threads(), m.name, (long long)epochs,
                    reached >= 0 ? reached : seconds_since(t0), reached >= 0 ? "true" : "false",
                    loss, optimum_loss);
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Config c;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            const auto next = [&]() -> std::string {
                if (i + 1 >= argc) throw Error("bench_second_order: " + a + " needs a value");
                return argv[++i];
            };
            if (a == "--mlp" || a == "--newton-cg-step" || a == "--solve") c.mode = a;
            else if (a == "--n") c.n = std::stoll(next());
            else if (a == "--d") c.d = std::stoll(next());
            else if (a == "--batch") c.batch = std::stoll(next());
            else if (a == "--hidden") c.hidden = std::stoll(next());
            else if (a == "--reps") c.reps = std::stoi(next());
            else if (a == "--max-seconds") c.max_seconds = std::stod(next());
            else if (a == "--data") c.data = next();
            else if (a == "--spread") c.spread = std::stod(next());
            else throw Error("bench_second_order: unknown argument " + a);
        }
        if (c.mode == "--mlp") run_mlp(c);
        else if (c.mode == "--newton-cg-step") run_newton_cg_step(c);
        else if (c.mode == "--solve") run_solve(c);
        else throw Error("bench_second_order: give --mlp, --newton-cg-step or --solve");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_second_order: error: %s\n", e.what());
        return 1;
    }
}
