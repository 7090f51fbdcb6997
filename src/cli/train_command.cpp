// `descent train`: one optimizer on one dataset, with a summary, --json and --trace.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/output.hpp"
#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/solve.hpp"

namespace descent::cli {

namespace {

std::vector<FlagSpec> train_flags() {
    std::vector<FlagSpec> flags{
        {"data", true, "SPEC", "blog | synthetic:n=N,d=D[,noise=S][,seed=K] | FILE.csv | FILE.npy (default blog)"},
        {"epochs", true, "N", "full passes over the data (default 50)"},
        {"init", true, "SPEC", "blog | zeros | random | v1,v2,... (default: blog for --data blog, else zeros)"},
        {"seed", true, "K", "seed for --init random (default 0)"},
        {"device", true, "DEV", "auto | cpu | cuda | cuda:N (default auto)"},
        {"dtype", true, "T", "f32 | f64 (default f64)"},
        {"no-intercept", false, "", "do not append the ones column (weights read [slope..., intercept] otherwise)"},
        {"trace", true, "FILE.csv", "write epoch, loss and weights of every epoch"},
        {"json", false, "", "print one JSON object on stdout and nothing else"},
        {"quiet", false, "", "no progress on stderr"},
        {"help", false, "", "show this help"},
    };
    const auto opt = optimizer_flags();
    flags.insert(flags.begin() + 1, opt.begin(), opt.end());
    return flags;
}

std::string trace_csv(const TrainResult& r, double final_loss) {
    std::ostringstream os;
    os << "epoch,loss";
    for (std::size_t j = 0; j < r.final_weights.size(); ++j) os << ",w" << j;
    os << "\n";
    for (std::size_t e = 0; e < r.weights.size(); ++e) {
        os << e << "," << format_number(e < r.losses.size() ? r.losses[e] : final_loss);
        for (double v : r.weights[e]) os << "," << format_number(v);
        os << "\n";
    }
    return os.str();
}

}  // namespace

int run_train(const std::vector<std::string>& argv) {
    const std::vector<FlagSpec> specs = train_flags();
    const Args args("train", argv, specs);
    if (args.has("help")) {
        std::printf("usage: descent train [flags]\n\nTrains a linear model y = X w (+ intercept) "
                    "with MSE loss, full batch.\n\n%s",
                    describe_flags(specs).c_str());
        return 0;
    }
    const optim::OptimizerConfig config = optimizer_config(args, "gd");
    const auto hyper = optim::effective_hyperparameters(config);  // validates names and flags
    const long long epochs = args.integer("epochs").value_or(50);
    if (epochs < 1) throw UsageError("--epochs must be >= 1, got " + std::to_string(epochs));
    const long long seed = args.integer("seed").value_or(0);
    if (seed < 0 || seed > 4294967295LL)
        throw UsageError("--seed must be in [0, 2^32 - 1], got " + std::to_string(seed));
    const DType dtype = parse_dtype(args.text("dtype", "f64"));
    const std::string data_spec = args.text("data", "blog");
    const bool json = args.has("json");
    const DeviceChoice choice = resolve_device(args.text("device", "auto"));
    const Device device = choice.device;

    const Dataset data = load_dataset(data_spec, !args.has("no-intercept"), dtype, device);
    const std::int64_t d = data.X.shape()[1];
    const std::vector<double> init = initial_weights(
        args.text("init", data.source == "blog" ? "blog" : "zeros"), d, data,
        static_cast<std::uint32_t>(seed));

    Tensor w = from_vector(init, {d}, dtype, device).requires_grad_();
    auto optimizer = optim::make_optimizer(config, {w});
    Progress progress(config.name, epochs, !args.has("quiet"));
    TrainOptions options;
    options.epochs = epochs;
    options.record_weights = args.has("trace");
    options.on_epoch = [&](std::int64_t e, double loss) { progress.update(e, loss); };
    const TrainResult result = train_linear(data.X, data.y, *optimizer, options);
    progress.finish();

    const double final_loss = linear_mse_value_and_grad(data.X, data.y, w.detach()).loss.item();
    if (!std::isfinite(final_loss))
        throw Error("training diverged after the last epoch (" + config.name +
                    "): the final loss is " + format_number(final_loss) +
                    "; try a smaller learning rate");
    if (args.has("trace")) write_file_atomically(args.text("trace", ""), trace_csv(result, final_loss));

    // Only now, so that a failed run prints its error line alone.
    if (!choice.notice.empty() && !args.has("quiet")) std::fprintf(stderr, "%s\n", choice.notice.c_str());
    const auto n = data.X.shape()[0];
    if (json) {
        JsonWriter j;
        j.begin_object();
        j.key("optimizer").value(config.name);
        j.key("preset").value(optim::preset_name(config.preset));
        j.key("device").value(device.str());
        j.key("dtype").value(dtype_name(dtype));
        j.key("data").value(data.source);
        j.key("rows").value(static_cast<long long>(n));
        j.key("epochs").value(epochs);
        j.key("hyperparameters").object(hyper);
        j.key("initial_weights").value(init);
        j.key("final_weights").value(result.final_weights);
        j.key("final_loss").value(final_loss);
        j.key("losses").value(result.losses);
        if (!data.true_weights.empty()) {
            j.key("true_weights").value(data.true_weights);
            j.key("distance_to_true_weights").value(distance(result.final_weights, data.true_weights));
        }
        j.end_object();
        std::printf("%s\n", j.str().c_str());
        return 0;
    }
    std::printf("descent train: %s (%s preset) on %s, %lld x %lld, %s, %s, %lld epochs\n",
                config.name.c_str(), optim::preset_name(config.preset), data.source.c_str(),
                static_cast<long long>(n), static_cast<long long>(d), dtype_name(dtype),
                device.str().c_str(), epochs);
    std::printf("  hyperparameters:  ");
    for (const auto& [k, v] : hyper) std::printf("%s=%s ", k.c_str(), format_number(v).c_str());
    std::printf("\n  initial weights:  %s\n", format_vector(init).c_str());
    std::printf("  final weights:    %s\n", format_vector(result.final_weights).c_str());
    std::printf("  final loss:       %.9g\n", final_loss);
    if (!data.true_weights.empty())
        std::printf("  true weights:     %s (distance %.3g)\n",
                    format_vector(data.true_weights).c_str(),
                    distance(result.final_weights, data.true_weights));
    return 0;
}

}  // namespace descent::cli
