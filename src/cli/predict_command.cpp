// `descent predict`: a saved model (descent train --save-model) applied to a table of
// features, one prediction per row; with the target in the table, the model's metrics.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/metrics_output.hpp"
#include "cli/output.hpp"
#include "data/output_path.hpp"
#include "descent/data.hpp"
#include "descent/error.hpp"
#include "descent/metrics.hpp"
#include "descent/model_file.hpp"
#include "descent/ops.hpp"
#include "descent/version.hpp"
#include "text.hpp"

namespace descent::cli {

namespace {

std::vector<FlagSpec> predict_flags() {
    return {
        {"model", true, "FILE", "the model, written by descent train --save-model FILE (required)"},
        {"data", true, "FILE", "FILE.csv | FILE.npy: the features, one row per prediction, in the model's columns; a last column more is the target (required)"},
        {"out", true, "FILE", "FILE.csv | FILE.npy: write the predictions there, atomically (default: CSV on stdout, unless --metrics)"},
        {"metrics", false, "", "report the model's metrics on --data, whose last column must be the target: MSE, RMSE, MAE, R² (regression); accuracy, log-loss and per-class counts (classifiers)"},
        {"device", true, "DEV", "auto | cpu | cuda | cuda:N (default auto)"},
        {"json", false, "", "print the metrics as one JSON object (with --metrics)"},
        {"help", false, "", "show this help"},
    };
}

bool ends_with(const std::string& s, const char* suffix) {
    const std::string x(suffix);
    if (s.size() < x.size()) return false;
    std::string tail = s.substr(s.size() - x.size());
    for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return tail == x;
}

// The predictions as a table: regression one column, classifiers the class then one
// probability per class.
Tensor prediction_table(const SavedModel& model, const Tensor& X, std::vector<std::string>& names) {
    const Tensor predicted = predict(model, X);
    if (!model.classifier()) {
        names = {model.target_name.empty() ? "prediction" : model.target_name};
        return predicted.reshape({predicted.shape()[0], 1});
    }
    const Tensor proba = predict_proba(model, X);
    names = {"class"};
    for (std::int64_t c = 0; c < model.classes; ++c) names.push_back("p_" + std::to_string(c));
    return concat({predicted.reshape({predicted.shape()[0], 1}).to(proba.dtype()), proba}, 1);
}

std::string table_csv(const Tensor& table, const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t j = 0; j < names.size(); ++j) out += (j ? "," : "") + names[j];
    out += "\n";
    const std::vector<double> v = table.to_vector<double>();
    const std::size_t cols = names.size();
    for (std::size_t i = 0; i < v.size(); i += cols) {
        for (std::size_t j = 0; j < cols; ++j) out += (j ? "," : "") + format_number(v[i + j]);
        out += "\n";
    }
    return out;
}

}  // namespace

int run_predict(const std::vector<std::string>& argv, Stdout& out) {
    const std::vector<FlagSpec> specs = predict_flags();
    const Args args("predict", argv, specs);
    if (args.has("help")) {
        out.printf("usage: descent predict --model FILE --data FILE [--out FILE] [--metrics]\n\n"
                   "Applies a model saved by descent train --save-model to the rows of a table: "
                   "one prediction per row (a classifier's class, then its probabilities).\n\n%s",
                   describe_flags(specs).c_str());
        return 0;
    }
    for (const char* flag : {"model", "data"})
        if (!args.has(flag))
            throw UsageError(std::string("--") + flag + " is required (see descent predict --help)");
    const std::string model_path = args.text("model", ""), data_path = args.text("data", "");
    const bool metrics = args.has("metrics"), json = args.has("json");
    if (json && !metrics) throw UsageError("--json reports the metrics: add --metrics");
    if (!ends_with(data_path, ".csv") && !ends_with(data_path, ".tsv") && !ends_with(data_path, ".npy"))
        throw UsageError("--data must be a .csv, .tsv or .npy file, got '" +
                         detail::shown_path(data_path) + "'");
    std::string out_path;
    if (args.has("out")) {
        out_path = args.text("out", "");
        if (!ends_with(out_path, ".csv") && !ends_with(out_path, ".npy"))
            throw UsageError("--out must end in .csv or .npy, got '" +
                             detail::shown_path(out_path) + "'");
        detail::check_output_file("--out", out_path);
        const detail::FileIdentity written = detail::identify_file(out_path);
        for (const auto& [flag, path] : {std::pair<const char*, std::string>{"--model", model_path},
                                         {"--data", data_path}})
            if (detail::same_file(written, detail::identify_file(path)))
                throw UsageError("--out " + detail::shown_path(out_path) + " is the same file as " +
                                 flag + " " + detail::shown_path(path) +
                                 "; writing it would destroy the input; choose another path");
    }
    const Device device = resolve_device(args.text("device", "auto")).device;

    const SavedModel model = [&] {
        try {
            return load_model(model_path);
        } catch (const OutOfMemory&) {
            throw;
        } catch (const Error& e) {
            throw Error(std::string("--model ") + e.what());
        }
    }();
    Dataset table = [&] {
        try {
            return load_features(data_path, model.dtype(), device);
        } catch (const OutOfMemory&) {
            throw;
        } catch (const Error& e) {
            throw Error(std::string("--data ") + e.what());
        }
    }();
    // The model's columns, then possibly the target.
    const std::int64_t columns = table.X.shape()[1];
    const bool has_target = columns == model.features + 1;
    if (columns != model.features && !has_target)
        throw Error("--data " + detail::shown_path(data_path) + " has " + std::to_string(columns) +
                    " column(s); the model takes " + std::to_string(model.features) +
                    " feature(s) (or " + std::to_string(model.features + 1) +
                    " with the target last)");
    if (!table.column_names.empty() && !model.feature_names.empty())
        for (std::int64_t j = 0; j < model.features; ++j)
            if (table.column_names[j] != model.feature_names[j])
                throw Error("--data " + detail::shown_path(data_path) + ": column " +
                            std::to_string(j + 1) + " is '" +
                            detail::shown_field(table.column_names[j]) +
                            "', the model's feature " + std::to_string(j + 1) + " is '" +
                            detail::shown_field(model.feature_names[j]) +
                            "' (the columns must be the model's, in its order)");
    if (metrics && !has_target)
        throw Error("--metrics: --data " + detail::shown_path(data_path) + " has no target "
                    "column (" + std::to_string(columns) + " columns, the model's features); "
                    "give a table with the target last");
    const Tensor X = has_target ? table.X.narrow(1, 0, model.features).contiguous() : table.X;
    const Tensor y = has_target ? table.X.select(1, model.features).contiguous() : Tensor();

    std::vector<std::string> names;
    const Tensor predictions = prediction_table(model, X, names);
    if (!out_path.empty()) {
        if (ends_with(out_path, ".npy")) {
            save_npy(out_path, predictions);
        } else {
            write_file_atomically(out_path, table_csv(predictions, names));
        }
    } else if (!metrics) {
        out.printf("%s", table_csv(predictions, names).c_str());
    }
    if (!metrics) return 0;
    const Tensor raw = decision_function(model, X);
    if (model.classifier()) {
        const std::string bad = "--metrics: --data " + detail::shown_path(data_path) + ": the target ";
        ClassificationMetrics m;
        try {
            m = classification_metrics(raw, y, model.classes);
        } catch (const Error& e) {
            throw Error(bad + "column: " + e.what());
        }
        print_metrics(out, json, model_path, data_path, m);
    } else {
        print_metrics(out, json, model_path, data_path, regression_metrics(raw, y));
    }
    return 0;
}

}  // namespace descent::cli
