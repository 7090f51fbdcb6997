// Metrics as text and JSON (metrics_output.hpp).
#include "cli/metrics_output.hpp"

namespace descent::cli {

namespace {

std::vector<double> as_doubles(const std::vector<std::int64_t>& v) {
    return std::vector<double>(v.begin(), v.end());
}

std::string counts_text(const std::vector<std::int64_t>& v) {
    std::string s;
    for (std::int64_t c : v) s += (s.empty() ? "" : ",") + std::to_string(c);
    return s;
}

}  // namespace

std::string metrics_text(const RegressionMetrics& m) {
    return "mse " + format_significant(m.mse, 9) + ", rmse " + format_significant(m.rmse, 9) +
           ", mae " + format_significant(m.mae, 9) + ", r2 " + format_significant(m.r2, 9);
}

std::string metrics_text(const ClassificationMetrics& m) {
    return "accuracy " + format_significant(m.accuracy, 6) + ", log_loss " +
           format_significant(m.log_loss, 9) + ", per class (0..k-1): support " +
           counts_text(m.support) + "; predicted " + counts_text(m.predicted) + "; correct " +
           counts_text(m.correct);
}

void metrics_json(JsonWriter& j, const RegressionMetrics& m) {
    j.object({{"mse", m.mse}, {"rmse", m.rmse}, {"mae", m.mae}, {"r2", m.r2}});
}

void metrics_json(JsonWriter& j, const ClassificationMetrics& m) {
    j.begin_object();
    j.key("accuracy").value(m.accuracy);
    j.key("log_loss").value(m.log_loss);
    j.key("support").value(as_doubles(m.support));
    j.key("predicted").value(as_doubles(m.predicted));
    j.key("correct").value(as_doubles(m.correct));
    j.end_object();
}

}  // namespace descent::cli
