// Model quality as scikit-learn's metric functions measure it: mean_squared_error, its root,
// mean_absolute_error and r2_score for regression; accuracy_score, log_loss and per-class
// counts for classifiers. Every sum is taken in f64 over fixed blocks of kShardBlockRows rows,
// the blocks combined in order, so the figures are bitwise the same for any thread count and,
// with a Communicator over the processes of a distributed run (each holding its shard of
// whole blocks, shard.hpp), for any number of processes. Verified against scikit-learn by
// tests/test_metrics.cpp (fixtures from tests/fixtures/make_metrics_fixtures.py).
#pragma once

#include <cstdint>
#include <vector>

#include "descent/communicator.hpp"
#include "descent/model.hpp"
#include "descent/tensor.hpp"

namespace descent {

struct RegressionMetrics {
    std::int64_t rows = 0;
    double mse = 0, rmse = 0, mae = 0;
    // 1 - SS_res / SS_tot; with constant targets (SS_tot 0) 1 for a perfect fit, else 0
    // (r2_score's force_finite).
    double r2 = 0;
};

struct ClassificationMetrics {
    std::int64_t rows = 0;
    double accuracy = 0;
    double log_loss = 0;  // mean negative log-likelihood of the true class, from the logits
    // Per class c: rows labelled c, rows predicted c, rows labelled and predicted c.
    std::vector<std::int64_t> support, predicted, correct;
};

// pred and y (n), any dtype and device. With `comm`, this process's rows of the whole
// data set (a shard starting on a block boundary); the result is the whole set's.
RegressionMetrics regression_metrics(const Tensor& pred, const Tensor& y,
                                     Communicator* comm = nullptr);

// logits (n) of a binary model (class 1 where the logit is > 0, as predict) or (n, k) of a
// k-class one (the first largest logit's class), y (n) labels 0..classes-1 (classes >= 2).
// Throws descent::Error for a label outside them.
ClassificationMetrics classification_metrics(const Tensor& logits, const Tensor& y,
                                             std::int64_t classes, Communicator* comm = nullptr);

// The same of a model's outputs for the rows of X, evaluated a chunk of rows at a time (memory:
// one chunk's outputs, never all n). A LinearModel's outputs are computed in f64 row by row,
// x_0 w_0 + x_1 w_1 + ... in index order and an implicit intercept last, so a ones column
// stored in X and an implicit intercept give the same bits, in f32 as in f64.
RegressionMetrics regression_metrics(const Model& model, const Tensor& X, const Tensor& y,
                                     Communicator* comm = nullptr);
ClassificationMetrics classification_metrics(const Model& model, const Tensor& X,
                                             const Tensor& y, std::int64_t classes,
                                             Communicator* comm = nullptr);

}  // namespace descent
