// The metrics (descent/metrics.hpp) as descent train and descent predict show them: one line
// of text, or a JSON object of the same names (scikit-learn's: mse, rmse, mae, r2; accuracy,
// log_loss, and per class support, predicted, correct).
#pragma once

#include <string>

#include "cli/output.hpp"
#include "descent/metrics.hpp"

namespace descent::cli {

std::string metrics_text(const RegressionMetrics& m);
std::string metrics_text(const ClassificationMetrics& m);
void metrics_json(JsonWriter& j, const RegressionMetrics& m);  // writes one object
void metrics_json(JsonWriter& j, const ClassificationMetrics& m);

// descent predict --metrics: the summary, or (json) one object naming the model and data.
template <class Metrics>
void print_metrics(Stdout& out, bool json, const std::string& model, const std::string& data,
                   const Metrics& m) {
    if (json) {
        JsonWriter j;
        j.begin_object();
        j.key("model").value(model);
        j.key("data").value(data);
        j.key("rows").value(static_cast<long long>(m.rows));
        j.key("metrics");
        metrics_json(j, m);
        j.end_object();
        out.printf("%s\n", j.str().c_str());
        return;
    }
    out.printf("descent predict: %s on %s, %lld rows\n  metrics:  %s\n", model.c_str(),
               data.c_str(), static_cast<long long>(m.rows), metrics_text(m).c_str());
}

}  // namespace descent::cli
