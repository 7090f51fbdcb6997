// Regression and classification metrics (include/descent/metrics.hpp).
#include "descent/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "block_sums.hpp"
#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/nn.hpp"
#include "descent/shard.hpp"
#include "dispatch.hpp"
#include "text.hpp"

namespace descent {

namespace {

using detail::BlockSums;

// Rows [begin, begin + rows)'s outputs on the host in f64, row-major (rows x outputs).
using Outputs = std::function<std::vector<double>(std::int64_t begin, std::int64_t rows)>;

// Rows per chunk: about 2^20 values of X or of the outputs at a time.
std::int64_t chunk_rows(std::int64_t width) {
    return std::max<std::int64_t>(1, (std::int64_t(1) << 20) / std::max<std::int64_t>(1, width));
}

std::vector<double> host_rows(const Tensor& t, std::int64_t begin, std::int64_t rows) {
    return t.narrow(0, begin, rows).detach().to_vector<double>();
}

RegressionMetrics regression_of(const Outputs& outputs, std::int64_t chunk, const Tensor& y,
                                Communicator* comm) {
    const std::int64_t n = y.shape()[0];
    // Pass 1, over the targets: their count and mean.
    BlockSums first(2);
    for (std::int64_t r = 0; r < n; r += chunk) {
        for (double t : host_rows(y, r, std::min(chunk, n - r))) {
            double* acc = first.next_row();
            acc[0] += 1.0;
            acc[1] += t;
        }
    }
    const std::vector<double> count_sum = first.total(comm);
    RegressionMetrics m;
    m.rows = static_cast<std::int64_t>(count_sum[0]);
    if (m.rows == 0) throw Error("regression_metrics: no rows");
    const double rows = count_sum[0], mean = count_sum[1] / rows;
    // Pass 2, over the predictions: squared and absolute errors, the targets' spread.
    BlockSums second(3);
    for (std::int64_t r = 0; r < n; r += chunk) {
        const std::int64_t k = std::min(chunk, n - r);
        const std::vector<double> p = outputs(r, k), t = host_rows(y, r, k);
        for (std::int64_t i = 0; i < k; ++i) {
            double* acc = second.next_row();
            const double e = t[i] - p[i], c = t[i] - mean;
            acc[0] += e * e;
            acc[1] += std::fabs(e);
            acc[2] += c * c;
        }
    }
    const std::vector<double> s = second.total(comm);
    m.mse = s[0] / rows;
    m.rmse = std::sqrt(m.mse);
    m.mae = s[1] / rows;
    m.r2 = s[2] > 0.0 ? 1.0 - s[0] / s[2] : s[0] == 0.0 ? 1.0 : 0.0;
    return m;
}

ClassificationMetrics classification_of(const Outputs& outputs, std::int64_t chunk, bool binary,
                                        const Tensor& y, std::int64_t classes,
                                        Communicator* comm) {
    const std::int64_t n = y.shape()[0];
    const std::size_t k = static_cast<std::size_t>(classes);
    // Terms: rows, negative log-likelihood, right predictions, then support, predicted and
    // correct counts per class.
    BlockSums sums(3 + 3 * k);
    for (std::int64_t r = 0; r < n; r += chunk) {
        const std::int64_t rows = std::min(chunk, n - r);
        const std::vector<double> z = outputs(r, rows), t = host_rows(y, r, rows);
        for (std::int64_t i = 0; i < rows; ++i) {
            if (!(t[i] >= 0.0 && t[i] < double(classes) && t[i] == std::floor(t[i])))
                throw Error("classification_metrics: label " + detail::format_number(t[i]) +
                            " at row " + std::to_string(r + i + 1) + " is not a class 0.." +
                            std::to_string(classes - 1));
            const auto label = static_cast<std::size_t>(t[i]);
            std::size_t guess;
            double nll;
            if (binary) {
                // -log σ(z) for 1, -log(1 - σ(z)) for 0, without overflow.
                const double v = z[i];
                guess = v > 0.0 ? 1 : 0;
                nll = std::max(v, 0.0) - v * double(label) + std::log1p(std::exp(-std::fabs(v)));
            } else {
                const double* row = z.data() + static_cast<std::size_t>(i) * k;
                guess = static_cast<std::size_t>(std::max_element(row, row + k) - row);
                const double top = row[guess];
                double sum = 0.0;
                for (std::size_t c = 0; c < k; ++c) sum += std::exp(row[c] - top);
                nll = top + std::log(sum) - row[label];
            }
            double* acc = sums.next_row();
            acc[0] += 1.0;
            acc[1] += nll;
            acc[2] += guess == label ? 1.0 : 0.0;
            acc[3 + label] += 1.0;
            acc[3 + k + guess] += 1.0;
            if (guess == label) acc[3 + 2 * k + label] += 1.0;
        }
    }
    const std::vector<double> s = sums.total(comm);
    ClassificationMetrics m;
    m.rows = static_cast<std::int64_t>(s[0]);
    if (m.rows == 0) throw Error("classification_metrics: no rows");
    m.log_loss = s[1] / s[0];
    m.accuracy = s[2] / s[0];
    for (std::size_t c = 0; c < k; ++c) {
        m.support.push_back(static_cast<std::int64_t>(s[3 + c]));
        m.predicted.push_back(static_cast<std::int64_t>(s[3 + k + c]));
        m.correct.push_back(static_cast<std::int64_t>(s[3 + 2 * k + c]));
    }
    return m;
}

void check_labels_shape(const char* op, const Tensor& y, std::int64_t n) {
    detail::check_defined(op, y);
    if (y.dim() != 1 || y.shape()[0] != n)
        throw Error(std::string(op) + ": targets (" + std::to_string(n) + ") for " +
                    std::to_string(n) + " rows, got " + detail::describe(y));
}

// A model's outputs for rows of X: a LinearModel's in f64 row by row (metrics.hpp), any
// other model's by its forward pass on the chunk. `width`: outputs per row.
Outputs model_outputs(const Model& model, const Tensor& X, std::int64_t& width) {
    const auto* linear = dynamic_cast<const LinearModel*>(&model);
    if (!linear) {
        width = 0;  // known after the first chunk
        return [&model, &X](std::int64_t begin, std::int64_t rows) {
            NoGrad off;
            return model.forward(X.narrow(0, begin, rows)).detach().to_vector<double>();
        };
    }
    const Tensor& W = linear->weight();
    const std::int64_t d = X.shape()[1], k = W.dim() == 2 ? W.shape()[1] : 1;
    const bool implicit = linear->fit_intercept();
    if (W.shape()[0] != d + (implicit ? 1 : 0))
        throw Error("metrics: the model's weight " + detail::describe(W) + " does not fit X " +
                    detail::describe(X));
    width = k;
    const std::vector<double> w = W.detach().to_vector<double>();
    return [&X, w, d, k, implicit](std::int64_t begin, std::int64_t rows) {
        const std::vector<double> x = host_rows(X, begin, rows);
        std::vector<double> out(static_cast<std::size_t>(rows * k));
        for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t c = 0; c < k; ++c) {
                double v = 0.0;
                for (std::int64_t j = 0; j < d; ++j) v += x[i * d + j] * w[j * k + c];
                if (implicit) v += w[d * k + c];
                out[i * k + c] = v;
            }
        return out;
    };
}

}  // namespace

RegressionMetrics regression_metrics(const Tensor& pred, const Tensor& y, Communicator* comm) {
    detail::check_defined("regression_metrics", pred);
    detail::check_defined("regression_metrics", y);
    if (pred.dim() != 1 || y.dim() != 1 || pred.shape() != y.shape())
        throw Error("regression_metrics: predictions and targets must be vectors of one length, "
                    "got " + detail::describe(pred) + " and " + detail::describe(y));
    return regression_of([&](std::int64_t b, std::int64_t r) { return host_rows(pred, b, r); },
                         chunk_rows(1), y, comm);
}

ClassificationMetrics classification_metrics(const Tensor& logits, const Tensor& y,
                                             std::int64_t classes, Communicator* comm) {
    detail::check_defined("classification_metrics", logits);
    detail::check_defined("classification_metrics", y);
    if (classes < 2) throw Error("classification_metrics: classes must be >= 2");
    const bool binary = logits.dim() == 1;
    if (y.dim() != 1 || (logits.dim() != 1 && logits.dim() != 2) ||
        logits.shape()[0] != y.shape()[0] || (binary && classes != 2) ||
        (!binary && logits.shape()[1] != classes))
        throw Error("classification_metrics: logits (n) for 2 classes or (n, " +
                    std::to_string(classes) + ") and labels (n), got " +
                    detail::describe(logits) + " and " + detail::describe(y));
    return classification_of(
        [&](std::int64_t b, std::int64_t r) { return host_rows(logits, b, r); },
        chunk_rows(binary ? 1 : classes), binary, y, classes, comm);
}

RegressionMetrics regression_metrics(const Model& model, const Tensor& X, const Tensor& y,
                                     Communicator* comm) {
    detail::check_defined("regression_metrics", X);
    if (X.dim() != 2) throw Error("regression_metrics: X must be (n, d), got " + detail::describe(X));
    check_labels_shape("regression_metrics", y, X.shape()[0]);
    std::int64_t width = 1;
    const Outputs outputs = model_outputs(model, X, width);
    const Outputs checked = [&](std::int64_t b, std::int64_t r) {
        std::vector<double> v = outputs(b, r);
        if (static_cast<std::int64_t>(v.size()) != r)
            throw Error("regression_metrics: the model gives " + std::to_string(v.size()) +
                        " outputs for " + std::to_string(r) + " rows; one each is a regression");
        return v;
    };
    return regression_of(checked, chunk_rows(X.shape()[1]), y, comm);
}

ClassificationMetrics classification_metrics(const Model& model, const Tensor& X,
                                             const Tensor& y, std::int64_t classes,
                                             Communicator* comm) {
    detail::check_defined("classification_metrics", X);
    if (X.dim() != 2)
        throw Error("classification_metrics: X must be (n, d), got " + detail::describe(X));
    if (classes < 2) throw Error("classification_metrics: classes must be >= 2");
    check_labels_shape("classification_metrics", y, X.shape()[0]);
    std::int64_t width = 1;
    const Outputs outputs = model_outputs(model, X, width);
    // One logit per row (binary) or one per class: a linear model's weight says, a net its
    // last layer, any other model its output for one row.
    if (const auto* net = dynamic_cast<const nn::Sequential*>(&model)) {
        width = net->outputs();
    } else if (width == 0 && X.shape()[0] > 0) {
        NoGrad off;
        const Tensor one = model.forward(X.narrow(0, 0, 1));
        width = one.dim() == 1 ? 1 : one.shape()[1];
    }
    const bool binary = classes == 2 && width == 1;
    const std::int64_t per_row = binary ? 1 : classes;
    const Outputs checked = [&](std::int64_t b, std::int64_t r) {
        std::vector<double> v = outputs(b, r);
        if (static_cast<std::int64_t>(v.size()) != r * per_row)
            throw Error("classification_metrics: the model gives " + std::to_string(v.size()) +
                        " outputs for " + std::to_string(r) + " rows of " +
                        std::to_string(classes) + " classes");
        return v;
    };
    return classification_of(checked, chunk_rows(std::max(X.shape()[1], per_row)), binary, y,
                             classes, comm);
}

}  // namespace descent
