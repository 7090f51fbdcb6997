// The cases of tests/reference/fixtures/torch_optim.txt (torch.optim on seeded regression
// problems with parameters w (d) and b (1); see tests/reference/README.md) and the descent
// optimizer each case names, with torch's defaults for the options it does not set. Shared by
// tests/test_optim_torch.cpp (the optimizers) and tests/test_train_generic.cpp (the loop).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "fixture_file.hpp"

namespace torch_optim_cases {

using namespace descent;
using namespace descent::optim;

struct TorchCase {
    std::string name, optimizer;
    DType dtype = DType::f64;
    std::int64_t n = 0, d = 0, steps = 0;
    std::map<std::string, double> options;
    std::vector<double> X, y, w0, b0;
    std::map<int, std::vector<double>> w, b, gw, gb;
    std::map<int, double> loss;
    std::map<std::string, std::vector<double>> state;  // "w exp_avg" -> values
};

inline std::vector<TorchCase> load_cases() {
    std::vector<TorchCase> cases;
    TorchCase c;
    for (const auto& r : fixture::read("torch_optim.txt")) {
        const std::string& tag = r[0];
        if (tag == "case") {
            c = TorchCase{};
            c.name = r[1];
            c.optimizer = r[2];
            c.dtype = r[3] == "f32" ? DType::f32 : DType::f64;
            c.n = std::stoll(r[4]);
            c.d = std::stoll(r[5]);
            c.steps = std::stoll(r[6]);
        } else if (tag == "option") {
            c.options[r[1]] = fixture::number(r[2]);
        } else if (tag == "X") {
            c.X = fixture::numbers(r, 1);
        } else if (tag == "y") {
            c.y = fixture::numbers(r, 1);
        } else if (tag == "w0") {
            c.w0 = fixture::numbers(r, 1);
        } else if (tag == "b0") {
            c.b0 = fixture::numbers(r, 1);
        } else if (tag == "step") {
            const int k = std::stoi(r[1]);
            if (r[2] == "w") c.w[k] = fixture::numbers(r, 3);
            if (r[2] == "b") c.b[k] = fixture::numbers(r, 3);
            if (r[2] == "gw") c.gw[k] = fixture::numbers(r, 3);
            if (r[2] == "gb") c.gb[k] = fixture::numbers(r, 3);
            if (r[2] == "loss") c.loss[k] = fixture::number(r[3]);
        } else if (tag == "state") {
            c.state[r[1] + " " + r[2]] = fixture::numbers(r, 3);
        } else if (tag == "end") {
            cases.push_back(c);
        }
    }
    return cases;
}

inline double opt(const TorchCase& c, const char* key, double fallback) {
    const auto it = c.options.find(key);
    return it == c.options.end() ? fallback : it->second;
}

// The torch optimizer of the case, from its options and torch's defaults for the rest.
inline std::unique_ptr<Optimizer> make(const TorchCase& c, std::vector<Tensor> params) {
    if (c.optimizer == "sgd") {
        SgdOptions o;
        o.lr = opt(c, "lr", 0.0);
        o.momentum = opt(c, "momentum", 0.0);
        o.dampening = opt(c, "dampening", 0.0);
        o.weight_decay = opt(c, "weight_decay", 0.0);
        o.nesterov = opt(c, "nesterov", 0.0) != 0.0;
        return std::make_unique<Sgd>(std::move(params), o);
    }
    if (c.optimizer == "adagrad") {
        AdagradOptions o = AdagradOptions::preset(Preset::torch);
        o.lr = opt(c, "lr", o.lr);
        o.lr_decay = opt(c, "lr_decay", o.lr_decay);
        o.weight_decay = opt(c, "weight_decay", o.weight_decay);
        o.initial_accumulator_value = opt(c, "initial_accumulator_value", 0.0);
        o.eps = opt(c, "eps", o.eps);
        return std::make_unique<Adagrad>(std::move(params), o);
    }
    if (c.optimizer == "rmsprop") {
        RmsPropOptions o = RmsPropOptions::preset(Preset::torch);
        o.lr = opt(c, "lr", o.lr);
        o.alpha = opt(c, "alpha", o.alpha);
        o.eps = opt(c, "eps", o.eps);
        o.weight_decay = opt(c, "weight_decay", o.weight_decay);
        o.momentum = opt(c, "momentum", o.momentum);
        o.centered = opt(c, "centered", 0.0) != 0.0;
        return std::make_unique<RmsProp>(std::move(params), o);
    }
    AdamOptions o = AdamOptions::preset(Preset::torch);
    o.decoupled_weight_decay = c.optimizer == "adamw";
    if (o.decoupled_weight_decay) o.weight_decay = 0.01;
    o.lr = opt(c, "lr", o.lr);
    o.beta1 = opt(c, "beta1", o.beta1);
    o.beta2 = opt(c, "beta2", o.beta2);
    o.eps = opt(c, "eps", o.eps);
    o.weight_decay = opt(c, "weight_decay", o.weight_decay);
    o.amsgrad = opt(c, "amsgrad", 0.0) != 0.0;
    return std::make_unique<Adam>(std::move(params), o);
}

}  // namespace torch_optim_cases
