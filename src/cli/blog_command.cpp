// `descent blog` (also `descent` with no arguments): the blog post's experiment — all six
// optimizers on its data with its settings — as a table, and with --plot DIR its figures.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "cli/plot_script.hpp"
#include "data/output_path.hpp"
#include "data/write_file.hpp"
#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/solve.hpp"
#include "descent/version.hpp"

namespace descent::cli {

namespace {

struct Run {
    optim::OptimizerConfig config;
    TrainResult result;
    double final_loss = 0.0;
};

std::string label(const optim::OptimizerConfig& c) {
    std::string s = c.name;
    if (c.name == "newton") s += " lr=" + format_number(c.lr.value_or(0.0));
    return s;
}

std::string hyper_text(const optim::OptimizerConfig& c) {
    std::string s;
    for (const auto& [k, v] : optim::effective_hyperparameters(c)) {
        if (k == "weight_decay" || k == "amsgrad" || k == "bias_correction" || k == "nesterov" ||
            k == "dampening" || k == "centered" || k == "lr_decay" || k == "damping" ||
            k == "initial_accumulator_value" || (k == "momentum" && c.name == "rmsprop") ||
            k == "max_eval" || k == "tolerance_grad" || k == "tolerance_change" ||
            k == "history_size" || k == "cg_max_iter")
            continue;  // at their neutral (or torch's default) values in these runs
        s += (s.empty() ? "" : " ") + k + "=" + hyperparameter_text(k, v);
    }
    return s;
}

void plot(const std::string& dir, const std::vector<Run>& runs, const Dataset& data) {
    detail::make_output_directory("--plot", dir);
    std::ostringstream t;
    t << "optimizer,epoch,w0,w1,loss\n";
    for (const Run& r : runs)
        for (std::size_t e = 0; e < r.result.weights.size(); ++e)
            t << label(r.config) << "," << e << "," << format_number(r.result.weights[e][0]) << ","
              << format_number(r.result.weights[e][1]) << ","
              << format_number(e < r.result.losses.size() ? r.result.losses[e] : r.final_loss)
              << "\n";
    std::ostringstream p;
    p << "x,y\n";
    const auto X = data.X.to_vector<double>(), y = data.y.to_vector<double>();
    for (std::size_t i = 0; i < y.size(); ++i)
        p << format_number(X[2 * i]) << "," << format_number(y[i]) << "\n";
    detail::ScratchDirectory scratch("--plot", dir, ".descent-plot-");
    const std::string traj = scratch.write("trajectories.csv", t.str());
    const std::string points = scratch.write("data.csv", p.str());
    run_plot_script("plot_blog.py", {"--trajectories", traj, "--data", points, "--out", dir});
}

}  // namespace

int run_blog(const std::vector<std::string>& argv, Stdout& out) {
    const std::vector<FlagSpec> specs{
        {"plot", true, "DIR", "write loss.png and trajectories.png into DIR (needs matplotlib)"},
        {"epochs", true, "N", "epochs per optimizer (default 50, as in the post)"},
        {"device", true, "DEV", "auto | cpu | cuda | cuda:N (default cpu: 100 points)"},
        {"dtype", true, "T", "f32 | f64 (default f64)"},
        {"json", false, "", "print one JSON object on stdout (the data, the optimum and each run's hyperparameters, losses, final weights and loss) and nothing else"},
        {"help", false, "", "show this help"},
    };
    const Args args("blog", argv, specs);
    if (args.has("help")) {
        out.printf("usage: descent blog [flags]\n\nThe blog post's experiment: gradient descent, "
                    "Newton (lr 0.1 and 1), Momentum, AdaGrad,\nRMSProp and Adam on its 100 "
                    "points, with its settings and formulas (blog preset), then Newton-CG and L-BFGS\n(not in "
                    "the post, marked *).\n\n%s",
                    describe_flags(specs).c_str());
        return 0;
    }
    const long long epochs = args.integer("epochs").value_or(50);
    if (epochs < 1) throw UsageError("--epochs must be >= 1, got " + std::to_string(epochs));
    // Found before the runs, not after them.
    if (args.has("plot"))
        detail::check_output_directory("--plot", args.text("plot", ""),
                                       {"loss.png", "trajectories.png"});
    const DType dtype = usage_on_error("--dtype: ", [&] { return parse_dtype(args.text("dtype", "f64")); });
    const DeviceChoice choice = resolve_device(args.text("device", "cpu"));
    const Device device = choice.device;
    const BlogProblem blog = blog_problem(dtype, device);
    const std::vector<double> optimum = linear_least_squares(blog.data.X, blog.data.y).to_vector<double>();

    const auto train = [&](const optim::OptimizerConfig& config) {
        Tensor w = from_vector(blog.initial_weights, {2}, dtype, device).requires_grad_();
        auto optimizer = optim::make_optimizer(config, {w});
        TrainOptions options;
        options.epochs = epochs;
        options.record_weights = true;  // the trajectories are plotted
        Run run{config, train_linear(blog.data.X, blog.data.y, *optimizer, options), 0.0};
        run.final_loss = linear_mse_value_and_grad(blog.data.X, blog.data.y, w.detach()).loss.item();
        return run;
    };
    std::vector<Run> runs, extra_runs;
    for (const optim::OptimizerConfig& config : optim::blog_configs()) runs.push_back(train(config));
    // The curvature methods, not in the post (torch's defaults): rows after the post's.
    for (const optim::OptimizerConfig& config : optim::blog_extra_configs())
        extra_runs.push_back(train(config));
    if (args.has("plot")) plot(args.text("plot", ""), runs, blog.data);

    if (!choice.notice.empty() && args.has("device"))
        std::fprintf(stderr, "%s\n", choice.notice.c_str());
    const double optimum_loss =
        linear_mse_value_and_grad(blog.data.X, blog.data.y, from_vector(optimum, {2}, dtype, device))
            .loss.item();
    if (args.has("json")) {
        JsonWriter j;
        j.begin_object();
        j.key("descent_version").value(DESCENT_VERSION_STRING);
        j.key("experiment").value("blog");
        j.key("device").value(device.str());
        j.key("dtype").value(dtype_name(dtype));
        j.key("epochs").value(epochs);
        j.key("initial_weights").value(blog.initial_weights);
        j.key("optimum").value(optimum);
        j.key("optimum_loss").value(optimum_loss);
        j.key("runs").begin_array();
        for (const auto* group : {&runs, &extra_runs})
            for (const Run& r : *group) {
                j.begin_object();
                j.key("optimizer").value(r.config.name);
                j.key("label").value(label(r.config));
                j.key("in_post").value(group == &runs);
                j.key("preset").value(optim::preset_name(r.config.preset));
                j.key("hyperparameters").hyperparameters(optim::effective_hyperparameters(r.config));
                j.key("losses").value(r.result.losses);
                j.key("final_weights").value(r.result.final_weights);
                j.key("final_loss").value(r.final_loss);
                j.key("distance_to_optimum").value(distance(r.result.final_weights, optimum));
                j.end_object();
            }
        j.end_array();
        j.end_object();
        out.printf("%s\n", j.str().c_str());
        return 0;
    }
    out.printf("The blog's experiment: y = 5x + 2 + noise on 100 points, %lld epochs, blog preset\n",
                epochs);
    out.printf("initial weights %s, least-squares optimum %s (loss %s)\n\n",
                format_vector(blog.initial_weights, 8).c_str(), format_vector(optimum, 9).c_str(),
                format_significant(optimum_loss, 9).c_str());
    // Columns sized to their contents.
    std::vector<std::vector<std::string>> rows{
        {"optimizer", "hyperparameters", "final weights", "final loss", "distance to optimum"}};
    for (const Run& r : runs)
        rows.push_back({label(r.config), hyper_text(r.config),
                        format_vector(r.result.final_weights, 9), format_significant(r.final_loss, 9),
                        format_significant(distance(r.result.final_weights, optimum), 3)});
    for (const Run& r : extra_runs)
        rows.push_back({label(r.config) + " *", hyper_text(r.config),
                        format_vector(r.result.final_weights, 9), format_significant(r.final_loss, 9),
                        format_significant(distance(r.result.final_weights, optimum), 3)});
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c)
            line += row[c] + std::string(c + 1 < row.size() ? width[c] - row[c].size() + 2 : 0, ' ');
        out.printf("%s\n", line.c_str());
    }
    out.printf("* not in the post: the curvature methods, with torch's defaults (one step per epoch)\n");
    if (args.has("plot"))
        out.printf("\nfigures: %s/loss.png, %s/trajectories.png\n", args.text("plot", "").c_str(),
                    args.text("plot", "").c_str());
    return 0;
}

}  // namespace descent::cli
