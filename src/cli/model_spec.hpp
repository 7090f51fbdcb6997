// --model and --loss of `descent train`: a linear model (linear, logistic, softmax) or a net
// (mlp:H1[,H2...][:tanh|relu|sigmoid]) with its loss (mse, bce, ce).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "descent/model.hpp"
#include "descent/nn.hpp"

namespace descent::cli {

struct ModelSpec {
    std::string text;                   // as given: "linear", "mlp:16,8:relu", ...
    bool net = false;                   // an mlp
    std::vector<std::int64_t> hidden;   // the net's hidden widths
    nn::Activation activation = nn::Activation::relu;
    Loss loss = Loss::mse;
    bool classifier() const { return loss != Loss::mse; }
};

// From --model's and --loss's text ("" when not given); a bad one is a UsageError naming it.
ModelSpec parse_model_spec(const std::string& model, const std::string& loss);

}  // namespace descent::cli
