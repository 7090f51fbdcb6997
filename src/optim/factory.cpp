// Optimizer factory: names and presets to concrete optimizers with validated options.
#include "descent/optim/factory.hpp"

#include <algorithm>

#include "descent/error.hpp"
#include "text.hpp"
#include "descent/optim/adagrad.hpp"
#include "descent/optim/adam.hpp"
#include "descent/optim/lbfgs.hpp"
#include "descent/optim/newton.hpp"
#include "descent/optim/newton_cg.hpp"
#include "descent/optim/rmsprop.hpp"
#include "descent/optim/sgd.hpp"

namespace descent::optim {

const std::vector<std::string>& optimizer_names() {
    static const std::vector<std::string> names{"gd",   "newton", "momentum",  "adagrad", "rmsprop",
                                                "adam", "adamw",  "newton-cg", "lbfgs"};
    return names;
}

namespace {

// Which options each optimizer understands.
struct Allowed {
    bool momentum = false, dampening = false, alpha = false, betas = false, eps = false,
         weight_decay = false, damping = false, lr_decay = false, initial_accumulator = false,
         nesterov = false, centered = false, amsgrad = false, newton_cg = false, lbfgs = false;
};

Allowed allowed_for(const std::string& name) {
    Allowed a;
    if (name == "gd") a.weight_decay = true;
    if (name == "newton") a.damping = true;
    if (name == "momentum") a.momentum = a.dampening = a.nesterov = a.weight_decay = true;
    if (name == "adagrad") a.eps = a.weight_decay = a.lr_decay = a.initial_accumulator = true;
    if (name == "rmsprop") a.momentum = a.alpha = a.eps = a.weight_decay = a.centered = true;
    if (name == "adam" || name == "adamw") a.betas = a.eps = a.weight_decay = a.amsgrad = true;
    if (name == "newton-cg") a.newton_cg = true;
    if (name == "lbfgs") a.lbfgs = true;
    return a;
}

void check_applies(const OptimizerConfig& c) {
    const auto& names = optimizer_names();
    if (std::find(names.begin(), names.end(), c.name) == names.end())
        throw Error("unknown optimizer '" + descent::detail::shown_field(c.name) +
                    "' (expected gd, newton, momentum, adagrad, rmsprop, adam, adamw, newton-cg "
                    "or lbfgs)");
    const Allowed a = allowed_for(c.name);
    auto reject = [&](bool given, bool ok, const char* option) {
        if (given && !ok)
            throw Error(std::string("option ") + option + " does not apply to the " + c.name +
                        " optimizer");
    };
    reject(c.momentum.has_value(), a.momentum, "momentum");
    reject(c.dampening.has_value(), a.dampening, "dampening");
    reject(c.alpha.has_value(), a.alpha, "alpha");
    reject(c.beta1.has_value(), a.betas, "beta1");
    reject(c.beta2.has_value(), a.betas, "beta2");
    reject(c.eps.has_value(), a.eps, "eps");
    reject(c.weight_decay.has_value(), a.weight_decay, "weight_decay");
    reject(c.damping.has_value(), a.damping, "damping");
    reject(c.lr_decay.has_value(), a.lr_decay, "lr_decay");
    reject(c.initial_accumulator_value.has_value(), a.initial_accumulator,
           "initial_accumulator_value");
    reject(c.nesterov.value_or(false), a.nesterov, "nesterov");
    reject(c.centered.value_or(false), a.centered, "centered");
    reject(c.amsgrad.value_or(false), a.amsgrad, "amsgrad");
    reject(c.cg_max_iter.has_value(), a.newton_cg, "cg_max_iter");
    reject(c.cg_tol.has_value(), a.newton_cg, "cg_tol");
    reject(c.xtol.has_value(), a.newton_cg, "xtol");
    reject(c.max_iter.has_value(), a.lbfgs, "max_iter");
    reject(c.max_eval.has_value(), a.lbfgs, "max_eval");
    reject(c.history_size.has_value(), a.lbfgs, "history_size");
    reject(c.line_search.has_value(), a.lbfgs, "line_search");
    reject(c.tolerance_grad.has_value(), a.lbfgs, "tolerance_grad");
    reject(c.tolerance_change.has_value(), a.lbfgs, "tolerance_change");
    if (c.name == "newton-cg" && c.lr.has_value())
        throw Error("option lr does not apply to the newton-cg optimizer (its line search "
                    "chooses each step)");
}

NewtonCgOptions newton_cg_options(const OptimizerConfig& c) {
    NewtonCgOptions o;
    o.cg_max_iter = c.cg_max_iter;
    o.cg_tol = c.cg_tol.value_or(o.cg_tol);
    o.xtol = c.xtol.value_or(o.xtol);
    return o;
}

LbfgsOptions lbfgs_options(const OptimizerConfig& c) {
    LbfgsOptions o;
    o.lr = c.lr.value_or(o.lr);
    o.max_iter = c.max_iter.value_or(o.max_iter);
    o.max_eval = c.max_eval;
    o.history_size = c.history_size.value_or(o.history_size);
    if (c.line_search) o.line_search = parse_line_search(*c.line_search);
    o.tolerance_grad = c.tolerance_grad.value_or(o.tolerance_grad);
    o.tolerance_change = c.tolerance_change.value_or(o.tolerance_change);
    return o;
}

SgdOptions sgd_options(const OptimizerConfig& c) {
    const bool blog = c.preset == Preset::blog;
    SgdOptions o;
    o.lr = c.lr.value_or(0.01);
    if (c.name == "momentum") o.momentum = c.momentum.value_or(blog ? 0.5 : 0.9);
    o.dampening = c.dampening.value_or(0.0);
    o.weight_decay = c.weight_decay.value_or(0.0);
    o.nesterov = c.nesterov.value_or(false);
    return o;
}

NewtonOptions newton_options(const OptimizerConfig& c) {
    NewtonOptions o;
    o.lr = c.lr.value_or(c.preset == Preset::blog ? 0.1 : 1.0);
    o.damping = c.damping.value_or(0.0);
    return o;
}

AdagradOptions adagrad_options(const OptimizerConfig& c) {
    AdagradOptions o = AdagradOptions::preset(c.preset);
    o.lr = c.lr.value_or(o.lr);
    o.eps = c.eps.value_or(o.eps);
    o.weight_decay = c.weight_decay.value_or(o.weight_decay);
    o.lr_decay = c.lr_decay.value_or(o.lr_decay);
    o.initial_accumulator_value = c.initial_accumulator_value.value_or(o.initial_accumulator_value);
    return o;
}

RmsPropOptions rmsprop_options(const OptimizerConfig& c) {
    RmsPropOptions o = RmsPropOptions::preset(c.preset);
    o.lr = c.lr.value_or(o.lr);
    o.alpha = c.alpha.value_or(o.alpha);
    o.eps = c.eps.value_or(o.eps);
    o.weight_decay = c.weight_decay.value_or(o.weight_decay);
    o.momentum = c.momentum.value_or(o.momentum);
    o.centered = c.centered.value_or(o.centered);
    return o;
}

AdamOptions adam_options(const OptimizerConfig& c) {
    AdamOptions o = AdamOptions::preset(c.preset);
    o.decoupled_weight_decay = c.name == "adamw";
    if (o.decoupled_weight_decay) o.weight_decay = 0.01;  // torch.optim.AdamW's default
    o.lr = c.lr.value_or(o.lr);
    o.beta1 = c.beta1.value_or(o.beta1);
    o.beta2 = c.beta2.value_or(o.beta2);
    o.eps = c.eps.value_or(o.eps);
    o.weight_decay = c.weight_decay.value_or(o.weight_decay);
    o.amsgrad = c.amsgrad.value_or(o.amsgrad);
    return o;
}

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c, std::vector<Tensor> params) {
    check_applies(c);
    if (c.name == "gd" || c.name == "momentum")
        return std::make_unique<Sgd>(std::move(params), sgd_options(c));
    if (c.name == "newton") return std::make_unique<Newton>(std::move(params), newton_options(c));
    if (c.name == "adagrad") return std::make_unique<Adagrad>(std::move(params), adagrad_options(c));
    if (c.name == "rmsprop") return std::make_unique<RmsProp>(std::move(params), rmsprop_options(c));
    // Its Hessian-vector products come later: set_hvp(), or the trainer's linear_mse_hvp.
    if (c.name == "newton-cg")
        return std::make_unique<NewtonCG>(std::move(params), newton_cg_options(c), NewtonCG::HvpFn{});
    if (c.name == "lbfgs") return std::make_unique<Lbfgs>(std::move(params), lbfgs_options(c));
    return std::make_unique<Adam>(std::move(params), adam_options(c));
}

std::vector<std::pair<std::string, double>> effective_hyperparameters(const OptimizerConfig& c) {
    check_applies(c);
    std::vector<std::pair<std::string, double>> h;
    if (c.name == "gd" || c.name == "momentum") {
        const SgdOptions o = sgd_options(c);
        h = {{"lr", o.lr}};
        if (c.name == "momentum")
            h.insert(h.end(), {{"momentum", o.momentum}, {"dampening", o.dampening},
                               {"nesterov", o.nesterov ? 1.0 : 0.0}});
        h.emplace_back("weight_decay", o.weight_decay);
    } else if (c.name == "newton") {
        const NewtonOptions o = newton_options(c);
        h = {{"lr", o.lr}, {"damping", o.damping}};
    } else if (c.name == "adagrad") {
        const AdagradOptions o = adagrad_options(c);
        h = {{"lr", o.lr},
             {"lr_decay", o.lr_decay},
             {"eps", o.eps},
             {"weight_decay", o.weight_decay},
             {"initial_accumulator_value", o.initial_accumulator_value}};
    } else if (c.name == "rmsprop") {
        const RmsPropOptions o = rmsprop_options(c);
        h = {{"lr", o.lr},           {"alpha", o.alpha},
             {"eps", o.eps},         {"weight_decay", o.weight_decay},
             {"momentum", o.momentum}, {"centered", o.centered ? 1.0 : 0.0}};
    } else if (c.name == "newton-cg") {
        const NewtonCgOptions o = newton_cg_options(c);
        o.validate();
        h = {{"cg_max_iter", o.cg_max_iter ? double(*o.cg_max_iter) : 0.0},  // 0: 20 d
             {"cg_tol", o.cg_tol},
             {"xtol", o.xtol}};
    } else if (c.name == "lbfgs") {
        const LbfgsOptions o = lbfgs_options(c);
        o.validate();
        h = {{"lr", o.lr},
             {"max_iter", double(o.max_iter)},
             {"max_eval", double(o.effective_max_eval())},
             {"tolerance_grad", o.tolerance_grad},
             {"tolerance_change", o.tolerance_change},
             {"history_size", double(o.history_size)},
             {"line_search", o.line_search == LineSearch::strong_wolfe ? 1.0 : 0.0}};
    } else {
        const AdamOptions o = adam_options(c);
        h = {{"lr", o.lr},
             {"beta1", o.beta1},
             {"beta2", o.beta2},
             {"eps", o.eps},
             {"weight_decay", o.weight_decay},
             {"amsgrad", o.amsgrad ? 1.0 : 0.0},
             {"bias_correction", o.bias_correction ? 1.0 : 0.0}};
    }
    return h;
}

std::vector<OptimizerConfig> blog_configs() {
    std::vector<OptimizerConfig> configs;
    auto add = [&](const std::string& name, double lr) {
        OptimizerConfig c;
        c.name = name;
        c.preset = Preset::blog;
        c.lr = lr;
        configs.push_back(c);
        return &configs.back();
    };
    add("gd", 0.01);
    add("newton", 0.1);
    add("newton", 1.0);
    add("momentum", 0.01)->momentum = 0.5;
    add("adagrad", 0.5);
    add("rmsprop", 0.1)->alpha = 0.99;
    OptimizerConfig* adam = add("adam", 0.1);
    adam->beta1 = 0.9;
    adam->beta2 = 0.99;
    return configs;
}

std::vector<OptimizerConfig> blog_extra_configs() {
    OptimizerConfig newton_cg;
    newton_cg.name = "newton-cg";
    OptimizerConfig lbfgs;
    lbfgs.name = "lbfgs";
    lbfgs.line_search = "strong-wolfe";
    return {newton_cg, lbfgs};
}

}  // namespace descent::optim
