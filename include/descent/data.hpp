// Datasets for regression: the blog post's 100 points (bit for bit), synthetic data of any
// size from counter-based Philox, and CSV / NPY files (target in the last column).
// Verified by tests/test_data.cpp (loaders, errors, synthetic), tests/test_random.cpp (blog)
// and tests/test_data_shard.cpp (sharded loads against whole ones).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "descent/device.hpp"
#include "descent/dtype.hpp"
#include "descent/shard.hpp"
#include "descent/tensor.hpp"

namespace descent {

// How a loaded table's intercept reaches X: as a ones column stored LAST in X, or implicit:
// X holds the file's features only and the model's weights have one more row, the intercept
// (LinearModel's fit_intercept; its fused CPU passes equal the stored column's bitwise, each
// block's rows copied with their 1 on the way, which costs time: epochs 1.4-2x those over a
// stored column, bench/RESULTS.md; and, during a pass, a 4096-row block per thread, which for
// very wide X can exceed the column it saves). The implicit form keeps X the size of the file's
// features: a narrow file (2 columns) would otherwise be held at 1.5x its size. automatic:
// stored unless the column costs more than kStoredOnesLimit bytes + 8% of X and y, which is
// where storing it would break the loaders' promise (an NPY in its own dtype peaks within 1.1x
// its size + 50 MB; the process itself takes ~15 MB). The fused CUDA kernels read a stored
// column: loaded to a CUDA device, automatic holds the host table implicit and appends the
// column on the device. A Dataset holds the form chosen (stored or implicit).
enum class OnesColumn { stored, implicit, automatic };
constexpr std::int64_t kStoredOnesLimit = std::int64_t(32) << 20;

// Which columns of a file are the target and the features (descent train --target,
// --features, --drop), by header name or by index from 0. Empty: the last column is the
// target and every other column a feature, in order.
struct ColumnChoice {
    std::string target;                 // empty: the last column
    std::vector<std::string> features;  // in this order; empty: every column but the target and `drop`
    std::vector<std::string> drop;      // left out
};

struct Dataset {
    Tensor X;            // (n, d) features; with intercept, a ones column LAST unless implicit
    Tensor y;            // (n)
    std::string source;  // "blog", "synthetic:n=..,d=..,noise=..,seed=..", or the file path
    bool intercept = true;
    // Known for synthetic data and the blog ({5, 2}); empty otherwise. Same layout as the
    // fitted weights: [w..., b] with intercept, [w...] without; for a softmax data set
    // (d (+1), k) row-major.
    std::vector<double> true_weights;
    // 0: y holds regression targets. >= 2: y holds class labels 0..classes-1 (as numbers of
    // the data's dtype): 2 for logistic data (labels 0/1), k for softmax data.
    std::int64_t classes = 0;
    OnesColumn ones_column = OnesColumn::stored;  // with intercept: where its ones are
    // The rows of the whole data set that X and y hold: {0, n, n} for a whole load, a
    // process's shard for load_dataset_shard. Row numbers in errors about this data (e.g.
    // check_class_labels) count from rows.begin, so they read the same sharded or not.
    // (`= {}` lets an aggregate initialization that stops before it pass -Wextra.)
    RowShard rows = {};
    // A CSV file's header names of X's feature columns, in X's order, then the target's
    // (when there is one); empty when the file has none (an NPY file, generated data).
    std::vector<std::string> column_names = {};
};

// Whether the data's intercept is implicit (X without its ones column), and the number of
// weight rows a linear model of the data has (X's columns, plus one when implicit).
inline bool implicit_intercept(const Dataset& data) {
    return data.intercept && data.ones_column == OnesColumn::implicit;
}
inline std::int64_t weight_rows(const Dataset& data) {
    return data.X.shape()[1] + (implicit_intercept(data) ? 1 : 0);
}

struct BlogProblem {
    Dataset data;
    std::vector<double> initial_weights;  // np.random.rand(2), drawn after the noise
};

// The blog post's problem, bit for bit: x = linspace(-10, 10, 100); seed 5;
// noise = normal(0, 3, 100); y = 5*x + 2 + noise (in double, left to right, as numpy);
// X = [x, 1]; then initial_weights = rand(2) from the same stream. Converted to `dtype`.
BlogProblem blog_problem(DType dtype = DType::f64, Device device = Device::cpu());

struct SyntheticSpec {
    std::int64_t n = 0, d = 0;  // rows and features (without the intercept column)
    double noise = 0.1;         // standard deviation of the (uniform, unit-variance) noise
    std::uint64_t seed = 0;
};

// Parses "synthetic:n=N,d=D[,noise=S][,seed=K]" (n, d >= 1; noise finite and >= 0; seed a
// non-negative integer). Throws descent::Error naming the bad key or value.
SyntheticSpec parse_synthetic_spec(const std::string& spec);

// The canonical text of a spec, "synthetic:n=..,d=..,noise=..,seed=.."; parses back to it.
std::string synthetic_spec_str(const SyntheticSpec& spec);

// X[i][j] = synthetic_value(seed, 0, i, j) (uniform in [-1, 1));
// y[i] = sum_j X[i][j]*w_j + b + noise*e_i, summed in double in index order, where w_j, b are
// the true weights (stream 2, rows 0..d-1 and d; uniform in [-2, 2)) and e_i the unit-variance
// noise (stream 1). Without intercept there is no b and no ones column. A noise above a
// quarter of the dtype's largest value (y could overflow to Inf) throws descent::Error.
Dataset synthetic_dataset(const SyntheticSpec& spec, bool intercept, DType dtype, Device device);

// The true weights of the spec's data ([w..., b] with intercept), after the checks
// synthetic_dataset makes (a bad spec, or a noise too large for dtype, throws).
std::vector<double> synthetic_true_weights(const SyntheticSpec& spec, bool intercept, DType dtype);

// Synthetic classification data from the same counter-based generator (features as
// synthetic_dataset's; labels drawn from a true model with weights uniform in [-2, 2), one
// uniform per row, src/shared/synthetic_row.hpp): "synthetic-logistic:n=N,d=D[,seed=K]"
// (labels 0/1 from σ(X w + b)) and "synthetic-softmax:n=N,d=D,k=K[,seed=S]" (k >= 2 classes
// from softmax(X W + b)). Throws descent::Error naming the bad key or value.
struct SyntheticClassesSpec {
    std::int64_t n = 0, d = 0;
    std::int64_t k = 1;  // 1: logistic (two classes, one logit); >= 2: softmax with k classes
    std::uint64_t seed = 0;
};
SyntheticClassesSpec parse_synthetic_classes_spec(const std::string& spec);
std::string synthetic_classes_spec_str(const SyntheticClassesSpec& spec);
Dataset synthetic_classes_dataset(const SyntheticClassesSpec& spec, bool intercept, DType dtype,
                                  Device device);

// Checks that y holds class labels: integers in 0..classes-1 (classes >= 2; 0 takes the
// largest label + 1, at least 2). Throws descent::Error naming `origin`, the first bad row
// (counted from 1 in the whole data set: data.rows.begin + its index in y + 1) and its value.
// Returns the number of classes; sets data.classes. With classes == 0 a shard's choice comes
// from its own labels only.
std::int64_t check_class_labels(Dataset& data, std::int64_t classes, const std::string& origin);

// CSV: numeric fields, comma-separated, the last column the target; an optional header row
// (a first row with any non-numeric field); spaces around fields and blank trailing lines are
// allowed. Numbers are read as strtod reads them (too small for a double: 0; too large: an
// error, like NaN and Inf); loaded as f32, a value beyond f32's range is an error too.
// Errors start with the path, then "line L, column C: ..." (C counts fields from 1); a field
// quoted in an error is cut to 60 bytes and its control bytes escaped. The file must be a
// regular file (a FIFO or a device is refused before it is read); it is read twice, in chunks,
// straight into X and y, so memory is the tensors plus a line buffer.
// `ones` (here and for the NPY and load_dataset forms below): how the intercept is held
// (a Dataset's ones_column is then stored or implicit, the choice made for automatic).
Dataset load_csv(const std::string& path, bool intercept, DType dtype, Device device,
                 OnesColumn ones = OnesColumn::stored);
// The same from a CSV file's bytes already in memory: `origin` takes the path's place in
// errors and in Dataset::source. load_csv and parse_csv run the same parser.
Dataset parse_csv(const std::string& bytes, const std::string& origin, bool intercept, DType dtype,
                  Device device, OnesColumn ones = OnesColumn::stored);

// NPY (format 1.0, 2.0, 3.0): a 2-D C-order array of little-endian f4 or f8, the last column
// the target. NaN, Inf and (loaded as f32) values beyond f32's range are refused. Errors name
// the path and what is wrong. The file must be a regular file, and its size must be what the
// header's shape and dtype say, checked before anything is allocated; the data is then read in
// chunks straight into X and y (memory: the tensors plus one chunk).
Dataset load_npy(const std::string& path, bool intercept, DType dtype, Device device,
                 OnesColumn ones = OnesColumn::stored);
// The same from an NPY file's bytes in memory, `origin` naming them in errors and the source
// (the same parser as load_npy).
Dataset parse_npy(const std::string& bytes, const std::string& origin, bool intercept, DType dtype,
                  Device device, OnesColumn ones = OnesColumn::stored);

// How load_dataset reads a spec; everything has a default, so load_dataset(spec) reads a
// file as it stands: f64 on the cpu, the target last, the ones column stored last in X.
struct LoadOptions {
    bool intercept = true;
    DType dtype = DType::f64;
    Device device = Device::cpu();
    OnesColumn ones = OnesColumn::stored;
    char delimiter = ',';   // CSV's field separator: ',' or '\t' (TSV), ';', ...
    ColumnChoice columns;   // files only: which columns are the target and the features
};
// "-": a CSV read from standard input (to its end) takes the spec's place.
Dataset load_dataset(const std::string& spec, const LoadOptions& options = {});

// "blog" | "synthetic:..." | "synthetic-logistic:..." | "synthetic-softmax:..." | *.csv |
// *.npy (extension case-insensitive). `ones` applies to the files; the generated data sets
// always store their ones column.
Dataset load_dataset(const std::string& spec, bool intercept, DType dtype, Device device,
                     OnesColumn ones = OnesColumn::stored);

// A table of features only, the input of predictions: every column of a CSV (.tsv: tabs) or
// NPY file (as
// load_csv / load_npy read them, with their checks; one column is enough) goes to X (n, c);
// y is undefined, there is no intercept, column_names holds a CSV header's names.
Dataset load_features(const std::string& path, DType dtype, Device device);

// Rows held out for validation (descent train --val-fraction): round(fraction * n) of them
// (at least 1, leaving at least 1 to train on), chosen by a seeded permutation that depends
// on (n, seed) only, so a resumed run holds out the same rows; each part keeps the rows'
// order and everything else of `data` (source, intercept, ones form, classes, names). The
// rows are copied (memory: the data once more). fraction in (0, 1); a shard is refused.
struct ValidationSplit {
    Dataset train, validation;
};
ValidationSplit split_validation(const Dataset& data, double fraction, std::uint64_t seed);

// Writes a vector or matrix (f32 or f64, any device) as an NPY 1.0 file numpy.load reads
// back exactly, atomically (a temporary file renamed over `path`). Throws descent::Error.
void save_npy(const std::string& path, const Tensor& t);

// Process `rank` of `ranks`' part of load_dataset(spec, ...): X and y hold only the rows
// shard_rows(total, rank, ranks) (descent/shard.hpp; possibly none: X (0, columns), y (0)),
// data.rows says which; source, intercept, true_weights, classes and ones_column are
// load_dataset's, and ranks == 1 gives load_dataset's result. Only those rows are read or
// generated: an NPY file's header and size are checked whole (a truncated file fails on every
// rank), then this rank's rows are read (memory: the shard plus one chunk) and checked, a
// NaN / Inf / f32-range error naming the row as load_npy does (a bad value in another rank's
// rows is that rank's error only); synthetic rows come from the same
// counter-based generator (bitwise the whole set's rows); the blog's 100 rows are one block,
// one rank's. OnesColumn::automatic decides from the whole data set's size, so every rank
// makes the same choice. A CSV file cannot be split without reading it all: ranks > 1 throws
// descent::Error naming the path and the number of processes. Bad rank / ranks throw too.
Dataset load_dataset_shard(const std::string& spec, int rank, int ranks, bool intercept,
                           DType dtype, Device device, OnesColumn ones = OnesColumn::stored);
// The same with every LoadOptions (delimiter, columns; "-" as load_dataset).
Dataset load_dataset_shard(const std::string& spec, int rank, int ranks,
                           const LoadOptions& options);

}  // namespace descent
