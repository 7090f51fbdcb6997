// parse_model_spec (model_spec.hpp).
#include "cli/model_spec.hpp"

#include "cli/args.hpp"
#include "text.hpp"

namespace descent::cli {

namespace {

std::int64_t width(const std::string& field, const std::string& model) {
    std::size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(field, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (field.empty() || used != field.size() || v < 1 || v > 1000000)
        throw UsageError("--model " + detail::shown_field(model) + ": a hidden width must be an "
                         "integer in [1, 10^6], got '" + detail::shown_field(field) + "'");
    return v;
}

}  // namespace

ModelSpec parse_model_spec(const std::string& model, const std::string& loss) {
    ModelSpec spec;
    spec.text = model;
    if (model == "linear" || model == "logistic" || model == "softmax") {
        if (!loss.empty())
            throw UsageError("--loss applies to --model mlp:...; --model " + model + " has its "
                             "own (mse, bce with logits, cross-entropy)");
        spec.loss = model == "logistic" ? Loss::bce_with_logits
                    : model == "softmax" ? Loss::cross_entropy
                                         : Loss::mse;
        return spec;
    }
    if (model.rfind("mlp:", 0) != 0)
        throw UsageError("--model must be linear, logistic, softmax or mlp:H1[,H2...][:ACT], got '" +
                         detail::shown_field(model) + "'");
    spec.net = true;
    std::string rest = model.substr(4);
    const std::size_t colon = rest.find(':');
    if (colon != std::string::npos) {
        const std::string act = rest.substr(colon + 1);
        if (act != "tanh" && act != "relu" && act != "sigmoid")
            throw UsageError("--model " + detail::shown_field(model) + ": the activation must be "
                             "tanh, relu or sigmoid, got '" + detail::shown_field(act) + "'");
        spec.activation = nn::parse_activation(act);
        rest = rest.substr(0, colon);
    }
    std::size_t at = 0;
    for (;;) {
        const std::size_t comma = rest.find(',', at);
        spec.hidden.push_back(width(rest.substr(at, comma - at), model));
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    if (spec.hidden.size() > 16)
        throw UsageError("--model " + detail::shown_field(model) + ": at most 16 hidden layers");
    if (loss.empty() || loss == "mse") spec.loss = Loss::mse;
    else if (loss == "bce") spec.loss = Loss::bce_with_logits;
    else if (loss == "ce") spec.loss = Loss::cross_entropy;
    else
        throw UsageError("--loss must be mse, bce or ce, got '" + detail::shown_field(loss) + "'");
    // The name as the model reports it: mlp:H1,H2:act.
    spec.text = "mlp:";
    for (std::size_t i = 0; i < spec.hidden.size(); ++i)
        spec.text += (i ? "," : "") + std::to_string(spec.hidden[i]);
    spec.text += std::string(":") + nn::activation_name(spec.activation);
    return spec;
}

}  // namespace descent::cli
