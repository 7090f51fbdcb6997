// Model files and predictions (include/descent/model_file.hpp).
#include "descent/model_file.hpp"

#include <cmath>
#include <optional>

#include "checkpoint/container.hpp"
#include "data/write_file.hpp"
#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/nn.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "descent/version.hpp"
#include "text.hpp"

namespace descent {

namespace {

constexpr detail::ContainerFormat kFormat{{'D', 'S', 'C', 'N', 'T', 'M', 'D', 'L'},
                                          kModelFileVersion, "model file", 0};

// The keys of meta that hold SavedModel's own fields in the file.
constexpr const char* kFieldKeys[] = {"kind", "loss", "intercept", "features", "classes", "target"};

struct NetShape {
    std::vector<std::int64_t> hidden;
    nn::Activation activation = nn::Activation::relu;
};

// "mlp:H1[,H2...]:ACT" parsed; nullopt for anything else.
std::optional<NetShape> parse_net_kind(const std::string& kind) {
    if (kind.rfind("mlp:", 0) != 0) return std::nullopt;
    const std::string rest = kind.substr(4);
    const std::size_t colon = rest.find(':');
    if (colon == std::string::npos) return std::nullopt;
    NetShape net;
    const std::string act = rest.substr(colon + 1);
    if (act != "tanh" && act != "relu" && act != "sigmoid") return std::nullopt;
    net.activation = nn::parse_activation(act);
    const std::string widths = rest.substr(0, colon);
    std::size_t at = 0;
    for (;;) {
        const std::size_t comma = widths.find(',', at);
        const std::string field = widths.substr(at, comma - at);
        if (field.empty() || field.size() > 9 ||
            field.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        const std::int64_t w = std::stoll(field);
        if (w < 1) return std::nullopt;
        net.hidden.push_back(w);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return net;
}

const char* loss_key(Loss loss) { return loss_name(loss); }

std::optional<Loss> parse_loss_key(const std::string& s) {
    for (Loss l : {Loss::mse, Loss::bce_with_logits, Loss::cross_entropy})
        if (s == loss_name(l)) return l;
    return std::nullopt;
}

// Everything a model must be to predict; the first problem, as a phrase, or empty.
std::string model_problem(const SavedModel& m) {
    const bool ce = m.loss == Loss::cross_entropy;
    if (m.features < 1) return "features " + std::to_string(m.features) + " (must be >= 1)";
    if (m.loss == Loss::mse && m.classes != 0) return "a regression model with classes";
    if (m.loss == Loss::bce_with_logits && m.classes != 2)
        return "a logistic model needs classes 2, has " + std::to_string(m.classes);
    if (ce && m.classes < 2)
        return "a cross-entropy model needs classes >= 2, has " + std::to_string(m.classes);
    const std::int64_t outputs = ce ? m.classes : 1;
    std::vector<Shape> shapes;  // what the kind needs
    if (m.kind == "linear" || m.kind == "logistic" || m.kind == "softmax") {
        const Loss own = m.kind == "linear"     ? Loss::mse
                         : m.kind == "logistic" ? Loss::bce_with_logits
                                                : Loss::cross_entropy;
        if (m.loss != own)
            return "kind " + m.kind + " with loss " + loss_name(m.loss);
        const std::int64_t rows = m.features + (m.intercept ? 1 : 0);
        shapes.push_back(ce ? Shape{rows, outputs} : Shape{rows});
    } else if (const auto net = parse_net_kind(m.kind)) {
        if (m.intercept) return "a net with an intercept flag (its layers have biases)";
        std::int64_t in = m.features;
        std::vector<std::int64_t> outs = net->hidden;
        outs.push_back(outputs);
        for (std::int64_t out : outs) {
            shapes.push_back(Shape{out, in});
            shapes.push_back(Shape{out});
            in = out;
        }
    } else {
        return "unknown kind '" + detail::shown_field(m.kind) +
               "' (linear, logistic, softmax or mlp:H1[,H2...]:tanh|relu|sigmoid)";
    }
    if (m.params.size() != shapes.size())
        return "kind " + m.kind + " has " + std::to_string(shapes.size()) + " parameters, the "
               "model holds " + std::to_string(m.params.size());
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const Tensor& p = m.params[i];
        if (!p.defined()) return "parameter " + std::to_string(i) + " is undefined";
        if (p.shape() != shapes[i])
            return "parameter " + std::to_string(i) + " is " + shape_str(p.shape()) + ", kind " +
                   m.kind + " with " + std::to_string(m.features) + " features needs " +
                   shape_str(shapes[i]);
        if (p.dtype() != m.params.front().dtype())
            return "parameters of different dtypes";
        for (double v : p.to_vector<double>())
            if (!std::isfinite(v)) return "parameter " + std::to_string(i) + " is not finite";
    }
    const auto count = [&](std::size_t n, const char* what) -> std::string {
        if (n != 0 && n != static_cast<std::size_t>(m.features))
            return std::to_string(n) + " " + what + " for " + std::to_string(m.features) +
                   " features";
        return "";
    };
    if (auto p = count(m.feature_names.size(), "feature names"); !p.empty()) return p;
    if (auto p = count(m.feature_mean.size(), "feature means"); !p.empty()) return p;
    if (auto p = count(m.feature_scale.size(), "feature scales"); !p.empty()) return p;
    if (m.feature_mean.size() != m.feature_scale.size())
        return "feature means without scales (or scales without means)";
    for (std::size_t j = 0; j < m.feature_mean.size(); ++j)
        if (!std::isfinite(m.feature_mean[j]) || !std::isfinite(m.feature_scale[j]) ||
            !(m.feature_scale[j] > 0.0))
            return "feature " + std::to_string(j) + "'s standardisation (mean " +
                   detail::format_number(m.feature_mean[j]) + ", scale " +
                   detail::format_number(m.feature_scale[j]) + ") is not finite with a positive scale";
    return "";
}

std::int64_t parse_count(detail::ByteReader& in, const std::map<std::string, std::string>& meta,
                         const char* key) {
    const auto it = meta.find(key);
    if (it == meta.end()) in.fail(std::string("no '") + key + "' entry");
    const std::string& s = it->second;
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos)
        in.fail(std::string("'") + key + "' is '" + detail::shown_field(s) + "', not a count");
    return std::stoll(s);
}

}  // namespace

SavedModel saved_model_of(const Model& model, Loss loss, bool ones_column_in_x) {
    SavedModel s;
    s.loss = loss;
    const bool ce = loss == Loss::cross_entropy;
    if (const auto* linear = dynamic_cast<const LinearModel*>(&model)) {
        const Tensor& w = linear->weight();
        s.kind = loss == Loss::mse ? "linear" : loss == Loss::bce_with_logits ? "logistic" : "softmax";
        if (ones_column_in_x && linear->fit_intercept())
            throw Error("saved_model_of: a model with fit_intercept has no ones column in X");
        s.intercept = linear->fit_intercept() || ones_column_in_x;
        s.features = w.shape()[0] - (s.intercept ? 1 : 0);
        s.classes = ce ? (w.dim() == 2 ? w.shape()[1] : 0) : loss == Loss::bce_with_logits ? 2 : 0;
    } else if (const auto* net = dynamic_cast<const nn::Sequential*>(&model)) {
        if (ones_column_in_x)
            throw Error("saved_model_of: a net's layers have biases; it takes no ones column");
        s.kind = net->name();
        s.features = net->inputs();
        s.classes = ce ? net->outputs() : loss == Loss::bce_with_logits ? 2 : 0;
    } else {
        throw Error("saved_model_of: model '" + model.name() + "' is neither a LinearModel nor "
                    "an nn::mlp");
    }
    for (const Tensor& p : model.parameters()) s.params.push_back(p.detach().to(Device::cpu()).clone());
    if (const std::string why = model_problem(s); !why.empty())
        throw Error("saved_model_of: " + why);
    return s;
}

std::string serialize_model(const SavedModel& m) {
    if (const std::string why = model_problem(m); !why.empty())
        throw Error("save_model: " + why);
    std::map<std::string, std::string> meta = m.meta;
    for (const char* key : kFieldKeys) meta.erase(key);
    meta["kind"] = m.kind;
    meta["loss"] = loss_key(m.loss);
    meta["intercept"] = m.intercept ? "1" : "0";
    meta["features"] = std::to_string(m.features);
    meta["classes"] = std::to_string(m.classes);
    meta["target"] = m.target_name;
    meta.emplace("descent_version", DESCENT_VERSION_STRING);
    meta["dtype"] = dtype_name(m.dtype());
    detail::ByteWriter out;
    out.u64(meta.size());
    for (const auto& [key, value] : meta) {
        out.text(key);
        out.text(value);
    }
    out.u64(m.feature_names.size());
    for (const std::string& name : m.feature_names) out.text(name);
    for (const auto* v : {&m.feature_mean, &m.feature_scale}) {
        out.u64(v->size());
        for (double x : *v) out.f64(x);
    }
    out.u64(m.params.size());
    for (const Tensor& p : m.params) detail::write_tensor(out, p);
    return detail::frame_container(kFormat, out.str());
}

SavedModel parse_model(const std::string& bytes, const std::string& origin) {
    const std::string_view payload = detail::unframe_container(kFormat, bytes, origin);
    detail::ByteReader in(payload.data(), payload.size(), origin, "model file");
    SavedModel m;
    const std::uint64_t n_meta = in.count("meta entry count", 16);
    for (std::uint64_t i = 0; i < n_meta; ++i) {
        std::string key = in.text("meta key");
        if (m.meta.count(key)) in.fail("meta key '" + detail::shown_field(key) + "' appears twice");
        m.meta[key] = in.text("meta value");
    }
    const auto kind = m.meta.find("kind");
    if (kind == m.meta.end()) in.fail("no 'kind' entry");
    m.kind = kind->second;
    const auto loss = m.meta.count("loss") ? parse_loss_key(m.meta.at("loss")) : std::nullopt;
    if (!loss) in.fail("no valid 'loss' entry");
    m.loss = *loss;
    const auto intercept = m.meta.find("intercept");
    if (intercept == m.meta.end() || (intercept->second != "0" && intercept->second != "1"))
        in.fail("no valid 'intercept' entry");
    m.intercept = intercept->second == "1";
    m.features = parse_count(in, m.meta, "features");
    m.classes = parse_count(in, m.meta, "classes");
    if (m.meta.count("target")) m.target_name = m.meta.at("target");
    for (const char* key : kFieldKeys) m.meta.erase(key);
    const std::uint64_t n_names = in.count("feature name count", 8);
    for (std::uint64_t i = 0; i < n_names; ++i) m.feature_names.push_back(in.text("feature name"));
    m.feature_mean = in.doubles("feature mean count");
    m.feature_scale = in.doubles("feature scale count");
    const std::uint64_t n_params = in.count("parameter count", 2);
    for (std::uint64_t i = 0; i < n_params; ++i) m.params.push_back(detail::read_tensor(in));
    if (in.left() != 0) in.fail(std::to_string(in.left()) + " unexpected bytes after the parameters");
    if (const std::string why = model_problem(m); !why.empty())
        throw Error(origin + ": corrupt model file: " + why);
    if (m.meta.count("dtype") && m.meta.at("dtype") != dtype_name(m.dtype()))
        throw Error(origin + ": corrupt model file: dtype " + detail::shown_field(m.meta.at("dtype")) +
                    " but parameters in " + dtype_name(m.dtype()));
    return m;
}

void save_model(const std::string& path, const SavedModel& model) {
    detail::write_file_atomically(path, serialize_model(model));
}

SavedModel load_model(const std::string& path) {
    std::string origin;
    const std::string bytes = detail::read_container_file(kFormat, path, origin);
    return parse_model(bytes, origin);
}

std::shared_ptr<Model> make_model(const SavedModel& saved, Device device) {
    if (const std::string why = model_problem(saved); !why.empty())
        throw Error("make_model: " + why);
    std::vector<Tensor> params;
    for (const Tensor& p : saved.params) params.push_back(p.detach().to(device).clone());
    if (const auto net = parse_net_kind(saved.kind)) {
        std::vector<nn::Layer> layers;
        for (std::size_t i = 0; i < params.size(); i += 2) {
            if (i > 0) layers.push_back(nn::Layer::of(net->activation));
            layers.push_back(nn::Layer::of(nn::Linear{params[i], params[i + 1]}));
        }
        return std::make_shared<nn::Sequential>(std::move(layers));
    }
    return std::make_shared<LinearModel>(params.front(), saved.intercept);
}

Tensor decision_function(const SavedModel& saved, const Tensor& X) {
    detail::check_defined("predict", X);
    if (X.dim() != 2 || X.shape()[1] != saved.features)
        throw Error("predict: the model takes X (n, " + std::to_string(saved.features) +
                    "), got " + detail::describe(X));
    NoGrad no_grad;
    Tensor x = X.detach().to(saved.dtype());
    if (!saved.feature_mean.empty()) {
        const Shape row{saved.features};
        x = div(sub(x, from_vector(saved.feature_mean, row, saved.dtype(), x.device())),
                from_vector(saved.feature_scale, row, saved.dtype(), x.device()));
    }
    return make_model(saved, x.device())->forward(x);
}

Tensor predict(const SavedModel& saved, const Tensor& X) {
    const Tensor out = decision_function(saved, X);
    NoGrad no_grad;
    if (saved.loss == Loss::bce_with_logits) return gt(out, 0.0);
    if (saved.loss == Loss::cross_entropy) return argmax(out, 1);
    return out;
}

Tensor predict_proba(const SavedModel& saved, const Tensor& X) {
    if (!saved.classifier())
        throw Error("predict_proba: the model is a regression (" + saved.kind + "), not a classifier");
    const Tensor out = decision_function(saved, X);
    NoGrad no_grad;
    if (saved.loss == Loss::cross_entropy) return softmax(out, 1);
    const Tensor p = sigmoid(out);
    return stack({1.0 - p, p}, 1);
}

}  // namespace descent
