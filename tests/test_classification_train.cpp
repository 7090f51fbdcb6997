// Logistic and softmax regression through the one training loop (descent::train with a
// LinearModel and Loss::bce_with_logits / Loss::cross_entropy) against independent
// references (tests/reference/classification_reference.py, see tests/reference/README.md):
//  - through the fused passes and through the generic autodiff step alike,
//    50-step trajectories of torch.optim SGD (gd, momentum, Nesterov), Adam (amsgrad, weight
//    decay) and Newton (torch.autograd.functional.hessian + solve) on logistic data, and
//    Adam / SGD on softmax data, from zeros and from a random init: every w_k, the loss at w_k
//    and the last gradient, to 1e-9 (relative, floored at 1) in f64;
//  - long runs reach scikit-learn's LogisticRegression(penalty=None) optimum to 1e-6;
//  - the loss and gradient at extreme logits (|z| up to 3e4) are finite and torch's.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "fixture_file.hpp"

using namespace descent;

namespace {

struct DataSet {
    std::string kind;  // logistic | softmax
    std::int64_t n = 0, d = 0, k = 1;
    std::vector<double> X, y;  // y: 0/1 targets or class indices
};

struct Case {
    std::string record, name, data, optimizer, init;
    std::int64_t steps = 0;
    std::map<std::string, double> options;
    std::vector<double> w0;
    std::map<int, std::vector<double>> w, grad;
    std::map<int, double> loss;
    std::vector<double> final_w, final_grad;
    double final_loss = NAN;
    std::vector<double> point_w, point_grad;
    double point_loss = NAN;
};

struct Fixture {
    std::map<std::string, DataSet> data;
    std::vector<Case> cases;
    std::map<std::string, std::vector<double>> sklearn;  // "<data> <solver> coef|distance", "<data> optimum"
};

void read_into(Fixture& f, const std::string& file) {
    std::string current_data;
    Case c;
    for (const auto& r : fixture::read(file)) {
        const std::string& tag = r[0];
        if (tag == "data") {
            DataSet ds;
            ds.kind = r[2];
            ds.n = std::stoll(r[3]);
            ds.d = std::stoll(r[4]);
            ds.k = std::stoll(r[5]);
            current_data = r[1];
            f.data[current_data] = ds;
        } else if (tag == "X") {
            f.data[current_data].X = fixture::numbers(r, 1);
        } else if (tag == "y") {
            f.data[current_data].y = fixture::numbers(r, 1);
        } else if (tag == "labels") {
            for (std::size_t i = 1; i < r.size(); ++i)
                f.data[current_data].y.push_back(std::stod(r[i]));
        } else if (tag == "case" || tag == "long") {
            c = Case{};
            c.record = tag;
            c.name = r[1];
            c.data = r[2];
            c.optimizer = r[3];
            c.init = r[4];
            c.steps = std::stoll(r[5]);
        } else if (tag == "point") {
            c = Case{};
            c.record = tag;
            c.name = r[1];
            c.data = r[2];
        } else if (tag == "option") {
            c.options[r[1]] = fixture::number(r[2]);
        } else if (tag == "w0") {
            c.w0 = fixture::numbers(r, 1);
        } else if (tag == "iter") {
            const int k = std::stoi(r[1]);
            if (r[2] == "w") c.w[k] = fixture::numbers(r, 3);
            if (r[2] == "grad") c.grad[k] = fixture::numbers(r, 3);
            if (r[2] == "loss") c.loss[k] = fixture::number(r[3]);
        } else if (tag == "final") {
            if (r[1] == "w") c.final_w = fixture::numbers(r, 2);
            if (r[1] == "grad") c.final_grad = fixture::numbers(r, 2);
            if (r[1] == "loss") c.final_loss = fixture::number(r[2]);
        } else if (tag == "w" && c.record == "point") {
            c.point_w = fixture::numbers(r, 1);
        } else if (tag == "loss" && c.record == "point") {
            c.point_loss = fixture::number(r[1]);
        } else if (tag == "grad" && c.record == "point") {
            c.point_grad = fixture::numbers(r, 1);
        } else if (tag == "sklearn") {
            if (r[2] == "coef" || r[2] == "distance")
                f.sklearn[current_data + " " + r[1] + " " + r[2]] = fixture::numbers(r, 3);
        } else if (tag == "optimum" && r[1] == "w") {
            f.sklearn[current_data + " optimum"] = fixture::numbers(r, 2);
        } else if (tag == "end" && !c.record.empty()) {
            f.cases.push_back(c);
            c = Case{};
        }
    }
}

const Fixture& fixtures() {
    static const Fixture f = [] {
        Fixture out;
        read_into(out, "torch_logistic.txt");
        read_into(out, "torch_softmax.txt");
        read_into(out, "sklearn_logistic.txt");
        return out;
    }();
    return f;
}

// max |a - b| / max(1, |b|), elementwise.
double err(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return INFINITY;
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
    return worst;
}

optim::OptimizerConfig config_of(const Case& c) {
    optim::OptimizerConfig config;
    config.name = c.optimizer;
    config.preset = optim::Preset::torch;
    for (const auto& [key, value] : c.options) {
        if (key == "lr") config.lr = value;
        else if (key == "momentum") config.momentum = value;
        else if (key == "nesterov") config.nesterov = value != 0.0;
        else if (key == "beta1") config.beta1 = value;
        else if (key == "beta2") config.beta2 = value;
        else if (key == "eps") config.eps = value;
        else if (key == "weight_decay") config.weight_decay = value;
        else if (key == "amsgrad") config.amsgrad = value != 0.0;
        else if (key == "damping") config.damping = value;
        else FAIL("unknown option " << key);
    }
    return config;
}

Loss loss_of(const DataSet& ds) {
    return ds.kind == "softmax" ? Loss::cross_entropy : Loss::bce_with_logits;
}

Shape weight_shape(const DataSet& ds) {
    return ds.kind == "softmax" ? Shape{ds.d, ds.k} : Shape{ds.d};
}

// LinearModel's generic twin: the same forward, no fused pass, so train() takes the autodiff
// step (and Newton the Hessian by double backward through with_parameters).
class Unfused final : public Model {
public:
    explicit Unfused(Tensor W) : m_W(std::move(W)) {}
    std::vector<Tensor> parameters() const override { return {m_W}; }
    Tensor forward(const Tensor& X) const override { return LinearModel(m_W).forward(X); }
    std::string name() const override { return "unfused-linear"; }
    std::shared_ptr<const Model> with_parameters(const std::vector<Tensor>& p) const override {
        return std::make_shared<Unfused>(p.at(0));
    }

private:
    Tensor m_W;
};

TrainResult run(const Case& c, std::int64_t epochs, bool generic = false) {
    const DataSet& ds = fixtures().data.at(c.data);
    const Tensor X = from_vector(ds.X, {ds.n, ds.d}, DType::f64);
    const Tensor y = from_vector(ds.y, {ds.n}, DType::f64);
    Tensor W = from_vector(c.w0, weight_shape(ds), DType::f64).requires_grad_();
    const LinearModel fused(W);
    const Unfused unfused(W);
    const Model& model = generic ? static_cast<const Model&>(unfused) : fused;
    REQUIRE(model.has_fused(loss_of(ds)) == !generic);
    auto optimizer = optim::make_optimizer(config_of(c), model.parameters());
    TrainOptions options;
    options.epochs = epochs;
    options.record_weights = true;
    return train(model, loss_of(ds), X, y, *optimizer, options);
}

}  // namespace

TEST_CASE("logistic and softmax regression follow torch's 50-step trajectories",
          "[classification][torch]") {
    int logistic = 0, softmax = 0;
    for (const Case& c : fixtures().cases) {
      if (c.record != "case") continue;
      for (const bool generic : {false, true}) {  // the fused passes, then the autodiff step
        INFO(c.name << " on " << c.data << " (" << c.optimizer << ", "
                    << (generic ? "generic autodiff step" : "fused pass") << ")");
        const TrainResult r = run(c, c.steps, generic);
        REQUIRE(static_cast<std::int64_t>(r.losses.size()) == c.steps);
        for (int k = 0; k <= c.steps; ++k) {
            INFO("w_" << k);
            CHECK(err(r.weights[static_cast<std::size_t>(k)], c.w.at(k)) <= 1e-9);
            if (k < c.steps) CHECK(err({r.losses[static_cast<std::size_t>(k)]}, {c.loss.at(k)}) <= 1e-9);
        }
        // The gradient the last update used (at w_{steps-1}).
        CHECK(err(r.final_grad, c.grad.at(static_cast<int>(c.steps) - 1)) <= 1e-9);
        if (!generic) (fixtures().data.at(c.data).kind == "softmax" ? softmax : logistic)++;
      }
    }
    CHECK(logistic >= 14);  // gd, momentum, nesterov, adam (3 variants), newton (4), d = 9 runs
    CHECK(softmax >= 3);
}

TEST_CASE("long logistic runs reach scikit-learn's optimum to 1e-6", "[classification][sklearn]") {
    int checked = 0;
    for (const Case& c : fixtures().cases) {
        if (c.record != "long") continue;
        INFO(c.name << " on " << c.data);
        const TrainResult r = run(c, c.steps);
        CHECK(err(r.final_weights, c.final_w) <= 1e-9);  // torch's own long run
        const auto& sk = fixtures().sklearn;
        const auto optimum = sk.find(c.data + " optimum");
        if (optimum == sk.end()) continue;
        CHECK(err(r.final_weights, optimum->second) <= 1e-6);
        CHECK(err(r.final_weights, sk.at(c.data + " newton-cholesky coef")) <= 1e-6);
        // lbfgs stops early (scikit-learn keeps scipy's ftol): within its recorded distance.
        CHECK(err(r.final_weights, sk.at(c.data + " lbfgs coef")) <=
              sk.at(c.data + " lbfgs distance")[0] + 1e-6);
        ++checked;
    }
    CHECK(checked >= 3);
}

// Newton-CG through the loop on logistic data: its H v from the fused Hessian (the path a
// distributed run takes too) reaches scikit-learn's optimum, and agrees with H v by
// differentiating the model twice (the generic step) to rounding.
TEST_CASE("newton-cg on logistic data reaches scikit-learn's optimum", "[classification][sklearn]") {
    int checked = 0;
    for (const auto& [name, ds] : fixtures().data) {
        if (ds.kind != "logistic") continue;
        const auto optimum = fixtures().sklearn.find(name + " optimum");
        if (optimum == fixtures().sklearn.end()) continue;
        INFO(name);
        const Tensor X = from_vector(ds.X, {ds.n, ds.d}, DType::f64);
        const Tensor y = from_vector(ds.y, {ds.n}, DType::f64);
        std::vector<double> finals[2];
        for (const bool generic : {false, true}) {
            Tensor w = zeros({ds.d}, DType::f64).requires_grad_();
            const LinearModel fused(w);
            const Unfused unfused(w);
            const Model& model = generic ? static_cast<const Model&>(unfused) : fused;
            optim::OptimizerConfig config;
            config.name = "newton-cg";
            auto optimizer = optim::make_optimizer(config, model.parameters());
            TrainOptions options;
            options.epochs = 40;
            finals[generic] = train(model, Loss::bce_with_logits, X, y, *optimizer, options).final_weights;
        }
        CHECK(err(finals[0], optimum->second) <= 1e-6);
        CHECK(err(finals[0], finals[1]) <= 1e-9);
        ++checked;
    }
    CHECK(checked >= 1);
}

TEST_CASE("losses and gradients at extreme logits are finite and torch's", "[classification][stability]") {
    int checked = 0;
    for (const Case& c : fixtures().cases) {
        if (c.record != "point") continue;
        INFO(c.name << " on " << c.data);
        const DataSet& ds = fixtures().data.at(c.data);
        const Tensor X = from_vector(ds.X, {ds.n, ds.d}, DType::f64);
        const Tensor y = from_vector(ds.y, {ds.n}, DType::f64);
        Tensor W = from_vector(c.point_w, weight_shape(ds), DType::f64).requires_grad_();
        const Tensor value = compute_loss(loss_of(ds), LinearModel(W).forward(X), y);
        value.backward();
        REQUIRE(std::isfinite(value.item()));
        CHECK(err({value.item()}, {c.point_loss}) <= 1e-12);
        CHECK(err(W.grad().to_vector<double>(), c.point_grad) <= 1e-12);
        ++checked;
    }
    CHECK(checked >= 4);
}
