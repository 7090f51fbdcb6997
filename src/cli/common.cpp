// Shared CLI pieces: device choice, optimizer flags, initial weights, progress.
#include "cli/common.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "descent/error.hpp"
#include "descent/random.hpp"
#include "cli/output.hpp"
#include "text.hpp"

namespace descent::cli {

DeviceChoice resolve_device(const std::string& text) {
    if (text == "auto") {
        if (cuda_available()) return {Device::cuda(0), ""};
        return {Device::cpu(), "descent: " + cuda_unavailable_reason() + "; trained on the cpu"};
    }
    Device d;
    try {
        d = parse_device(text);
    } catch (const Error& e) {
        throw UsageError(std::string("--device: ") + e.what());  // a bad value: usage
    }
    if (d.is_cuda()) {
        if (!built_with_cuda())
            throw Error("--device " + text +
                        ": this build of descent has no CUDA support (rebuild with "
                        "-DDESCENT_CUDA=ON, or use --device cpu)");
        const int count = device_count();
        if (count == 0)  // no device, or why the CUDA backend could not be used
            throw Error("--device " + text + ": " + cuda_unavailable_reason() +
                        "; use --device cpu or auto");
        if (d.index >= count)
            throw Error("--device " + text + ": " + std::to_string(count) +
                        " CUDA device(s) found; use --device cpu or auto");
    }
    return {d, ""};
}

std::vector<FlagSpec> optimizer_flags() {
    return {
        {"optimizer", true, "NAME", "gd | newton | momentum | adagrad | rmsprop | adam | adamw | newton-cg | lbfgs (default gd)"},
        {"preset", true, "NAME", "blog (the post's formulas: no eps, no bias correction) | torch (default)"},
        {"lr", true, "F", "learning rate (default: the preset's value for the optimizer)"},
        {"momentum", true, "F", "momentum: decay of the gradient sum (blog 0.5, torch 0.9); rmsprop: momentum (0)"},
        {"dampening", true, "F", "momentum: dampening (0)"},
        {"nesterov", false, "", "momentum: Nesterov momentum"},
        {"alpha", true, "F", "rmsprop: smoothing constant, the blog's decay rate (0.99)"},
        {"centered", false, "", "rmsprop: centered variant"},
        {"beta1", true, "F", "adam/adamw: first-moment decay (0.9)"},
        {"beta2", true, "F", "adam/adamw: second-moment decay (blog 0.99, torch 0.999)"},
        {"amsgrad", false, "", "adam/adamw: AMSGrad variant"},
        {"eps", true, "F", "adagrad/rmsprop/adam: denominator epsilon (blog 0; torch 1e-10 adagrad, 1e-8 others)"},
        {"weight-decay", true, "F", "L2 penalty (adamw: decoupled; default 0, adamw 0.01)"},
        {"lr-decay", true, "F", "adagrad: learning-rate decay (0)"},
        {"initial-accumulator", true, "F", "adagrad: initial accumulator value (0)"},
        {"damping", true, "F", "newton: solve (H + damping I) (0)"},
        {"cg-max-iter", true, "N", "newton-cg: CG iterations per step (20 d)"},
        {"cg-tol", true, "F", "newton-cg: CG stops at |r|_1 <= min(cg-tol, sqrt|g|_1) |g|_1 (0.5)"},
        {"xtol", true, "F", "newton-cg: converged when the update's L1 norm <= d * xtol (1e-5)"},
        {"max-iter", true, "N", "lbfgs: iterations per step, torch's max_iter (20)"},
        {"max-eval", true, "N", "lbfgs: loss evaluations per step (max-iter * 5/4)"},
        {"history-size", true, "N", "lbfgs: curvature pairs kept (100)"},
        {"line-search", true, "NAME", "lbfgs: none | strong-wolfe (none)"},
        {"tolerance-grad", true, "F", "lbfgs: stop a step when max |g| <= this (1e-7)"},
        {"tolerance-change", true, "F", "lbfgs: stop a step when the loss or step changes less (1e-9)"},
    };
}

optim::OptimizerConfig optimizer_config(const Args& args, const std::string& default_name) {
    optim::OptimizerConfig c;
    c.name = args.text("optimizer", default_name);
    c.preset = optim::parse_preset(args.text("preset", "torch"));
    c.lr = args.number("lr");
    c.momentum = args.number("momentum");
    c.dampening = args.number("dampening");
    c.alpha = args.number("alpha");
    c.beta1 = args.number("beta1");
    c.beta2 = args.number("beta2");
    c.eps = args.number("eps");
    c.weight_decay = args.number("weight-decay");
    c.lr_decay = args.number("lr-decay");
    c.initial_accumulator_value = args.number("initial-accumulator");
    c.damping = args.number("damping");
    if (args.has("nesterov")) c.nesterov = true;
    if (args.has("centered")) c.centered = true;
    if (args.has("amsgrad")) c.amsgrad = true;
    if (const auto v = args.integer("cg-max-iter")) c.cg_max_iter = *v;
    c.cg_tol = args.number("cg-tol");
    c.xtol = args.number("xtol");
    if (const auto v = args.integer("max-iter")) c.max_iter = *v;
    if (const auto v = args.integer("max-eval")) c.max_eval = *v;
    if (const auto v = args.integer("history-size")) c.history_size = *v;
    if (args.has("line-search")) c.line_search = args.text("line-search", "none");
    c.tolerance_grad = args.number("tolerance-grad");
    c.tolerance_change = args.number("tolerance-change");
    return c;
}

std::vector<double> initial_weights(const std::string& spec, std::int64_t d, const Dataset& data,
                                    std::uint32_t seed) {
    if (spec == "zeros") return std::vector<double>(static_cast<std::size_t>(d), 0.0);
    if (spec == "random") return RandomState(seed).random_sample(static_cast<std::size_t>(d));
    if (spec == "blog") {
        if (data.source != "blog")
            throw Error("--init blog: the blog's initial weights belong to --data blog; use "
                        "zeros, random or explicit values for " + detail::shown_path(data.source));
        return blog_problem().initial_weights;
    }
    std::vector<double> values;
    std::stringstream in(spec);
    for (std::string item; std::getline(in, item, ',');) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !std::isfinite(v))
            throw Error("--init: '" + detail::shown_field(item) + "' is not a finite number (expected blog, zeros, "
                        "random or v1,v2,...)");
        values.push_back(v);
    }
    if (static_cast<std::int64_t>(values.size()) != d)
        throw Error("--init: " + std::to_string(values.size()) + " values given, the model has " +
                    std::to_string(d) + " weights" +
                    (data.intercept ? " (the last one is the intercept)" : ""));
    return values;
}

Progress::Progress(std::string label, std::int64_t epochs, std::int64_t rows, bool enabled)
    : m_label(std::move(label)), m_epochs(epochs), m_rows(rows), m_enabled(enabled && epochs > 0),
      m_tty(::isatty(STDERR_FILENO) == 1), m_every(std::max<std::int64_t>(1, epochs / 10)) {}

namespace {

// "0.8s", "42s", "3m05s", "2h07m".
std::string duration(double seconds) {
    char buf[32];
    if (!(seconds >= 0) || seconds > 1e9) return "?";
    if (seconds < 10) std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    else if (seconds < 60) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
    else if (seconds < 3600)
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(seconds) / 60, int(seconds) % 60);
    else std::snprintf(buf, sizeof buf, "%dh%02dm", int(seconds) / 3600, int(seconds) / 60 % 60);
    return buf;
}

// "950 rows/s", "1.2M rows/s".
std::string rate(double per_second) {
    char buf[32];
    if (per_second >= 1e9) std::snprintf(buf, sizeof buf, "%.3gG", per_second / 1e9);
    else if (per_second >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", per_second / 1e6);
    else if (per_second >= 1e4) std::snprintf(buf, sizeof buf, "%.3gk", per_second / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", per_second);
    return std::string(buf) + " rows/s";
}

}  // namespace

std::string Progress::timing(std::int64_t done) const {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const std::int64_t ran = done - m_first;  // epochs this run has done
    std::string text = "elapsed " + duration(elapsed);
    if (ran > 0 && elapsed > 0) {
        if (m_rows > 0) text += ", " + rate(double(ran) * double(m_rows) / elapsed);
        if (done < m_epochs) text += ", ETA " + duration(elapsed / double(ran) * double(m_epochs - done));
    }
    return text;
}

void Progress::update(std::int64_t epoch, double loss) {
    if (!m_enabled) return;
    if (m_first < 0) m_first = epoch;
    const std::int64_t done = epoch + 1;
    if (m_tty) {
        m_bar_open = true;
        const int width = 30;
        const int filled = static_cast<int>(width * done / m_epochs);
        std::fprintf(stderr, "\r%s [%s%s] %lld/%lld loss %s  %s   ", m_label.c_str(),
                     std::string(filled, '=').c_str(), std::string(width - filled, ' ').c_str(),
                     static_cast<long long>(done), static_cast<long long>(m_epochs),
                     format_significant(loss, 6).c_str(), timing(done).c_str());
    } else if (done % m_every == 0 || done == m_epochs) {
        std::fprintf(stderr, "%s epoch %lld/%lld loss %s (before its update)  %s\n",
                     m_label.c_str(), static_cast<long long>(done),
                     static_cast<long long>(m_epochs), format_significant(loss, 9).c_str(),
                     timing(done).c_str());
    }
}

void Progress::finish() {
    if (m_bar_open) std::fprintf(stderr, "\n");
    m_bar_open = false;
}

Progress::~Progress() { finish(); }

double distance(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size() || a.empty()) return NAN;
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return std::sqrt(s);
}

}  // namespace descent::cli
