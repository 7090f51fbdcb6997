// Trained models that outlive the run: save_model / load_model and predictions from them, as
// scikit-learn's fitted estimators (predict, predict_proba) and XGBoost's model files.
//
// File format, version 1: the frame of checkpoints (checkpoint.hpp: little-endian, u64
// payload size, CRC-32C of everything before it) under the magic "DSCNTMDL"; the payload:
//   u64 n_meta, then n_meta x (text key, text value)     text = u64 length + bytes
//       kind, loss, intercept, features, classes, dtype, descent_version, target, and the
//       run's provenance (optimizer, data, epochs, ...)
//   u64 n_names, then n_names x text                     feature names (0 or `features`)
//   u64 n, n x f64   (feature means)                     standardisation (0 or `features`
//   u64 n, n x f64   (feature scales)                    each)
//   u64 n_params, then n_params x tensor                 as a checkpoint's parameters
// Written atomically (a temporary file renamed over the path); a truncated, corrupted,
// foreign or other-version file is refused with one line naming it, and a file whose contents
// do not make a model (shapes that disagree with its kind, a non-finite weight, a zero scale)
// is refused as corrupt. Verified by tests/test_model_file.cpp (round trips against numpy,
// every corruption refused) and tests/cli/predict.sh.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "descent/model.hpp"
#include "descent/tensor.hpp"

namespace descent {

constexpr std::uint32_t kModelFileVersion = 1;

struct SavedModel {
    // "linear", "logistic", "softmax" (a LinearModel's weight) or "mlp:H1[,H2...]:ACT" (an
    // nn::mlp's Linear weights and biases, torch's order).
    std::string kind = "linear";
    Loss loss = Loss::mse;
    // Linear kinds: the weight's last row is the intercept, added to X w[:features].
    bool intercept = false;
    std::int64_t features = 0;  // the columns of a prediction's input
    std::int64_t classes = 0;   // 0: regression; 2: logistic (one logit); k: softmax
    std::vector<std::string> feature_names;  // one per feature, or none
    std::string target_name;                 // may be empty
    // Standardisation the model was trained in (empty: none): a prediction's input is taken
    // to (x - mean) / scale before the model sees it.
    std::vector<double> feature_mean, feature_scale;
    // On the cpu, in the dtype the model was trained in.
    std::vector<Tensor> params;
    // Free-form provenance (optimizer, data, epochs, ...); "descent_version" is set on save.
    std::map<std::string, std::string> meta;

    DType dtype() const { return params.empty() ? DType::f64 : params.front().dtype(); }
    bool classifier() const { return classes >= 2; }
};

// A SavedModel of a trained `model` (copies of its parameters on the cpu): a LinearModel
// ("linear" for mse, "logistic", "softmax" by its loss) or an nn::Sequential from nn::mlp.
// `features` and `classes` are read off the parameters. `ones_column_in_x`: the linear model
// was trained on an X whose last column is ones (a Dataset with a stored intercept): that
// weight row is saved as the intercept, and predictions take the other columns only.
SavedModel saved_model_of(const Model& model, Loss loss, bool ones_column_in_x = false);

// Checks that the model is whole (kind, shapes, names, standardisation, finite weights), then
// writes it atomically (save_checkpoint's way). Throws descent::Error naming the path.
void save_model(const std::string& path, const SavedModel& model);
// Reads, verifies and checks a model file; throws descent::Error naming the file and the
// problem.
SavedModel load_model(const std::string& path);
std::string serialize_model(const SavedModel& model);
SavedModel parse_model(const std::string& bytes, const std::string& origin);

// The model itself, over copies of the saved parameters on `device`, to run forward (the
// decision function: values, logits) or train further.
std::shared_ptr<Model> make_model(const SavedModel& saved, Device device = Device::cpu());

// The model's raw outputs for X (n, features) of any dtype and device (converted to the
// model's dtype, standardised when the model is): regression values (n), a logistic model's
// logits (n), a softmax model's logits (n, k). Throws descent::Error when X is not (n,
// features).
Tensor decision_function(const SavedModel& saved, const Tensor& X);
// scikit-learn's predict: regression values (n); a classifier's predicted class (n), as
// numbers 0..k-1 in the model's dtype (logistic: 1 where the logit is > 0).
Tensor predict(const SavedModel& saved, const Tensor& X);
// scikit-learn's predict_proba for classifiers: (n, k) probabilities, k = 2 for logistic
// (1 - p, p). Throws for a regression model.
Tensor predict_proba(const SavedModel& saved, const Tensor& X);

}  // namespace descent
