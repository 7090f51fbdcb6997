// Synthetic classification data ("synthetic-logistic:...", "synthetic-softmax:...") from the
// counter-based generator, and the class-label check shared with files.
// Verified by tests/test_data.cpp (labels, determinism, errors), tests/test_data_shard.cpp
// (shards, a shard's label errors) and, through training, by tests/test_classification_train.cpp.
#include <charconv>
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include "descent/data.hpp"
#include "descent/error.hpp"
#include "shard_loaders.hpp"
#include "shared/dtype_visit.hpp"
#include "shared/philox.hpp"
#include "shared/synthetic_row.hpp"
#include "text.hpp"

namespace descent {

namespace {

constexpr const char* kLogistic = "synthetic-logistic:";
constexpr const char* kSoftmax = "synthetic-softmax:";
constexpr const char* kForms =
    "synthetic-logistic:n=N,d=D[,seed=K] or synthetic-softmax:n=N,d=D,k=K[,seed=S]";

[[noreturn]] void fail(const std::string& spec, const std::string& what) {
    throw Error("synthetic spec '" + detail::shown_field(spec) + "': " + what + " (expected " +
                kForms + ")");
}

template <class T>
T parse_number(const std::string& spec, const std::string& key, const std::string& value) {
    T out{};
    const char* first = value.data();
    const char* last = first + value.size();
    const auto [ptr, ec] = std::from_chars(first, last, out);
    if (ec == std::errc::result_out_of_range) fail(spec, key + "=" + value + " is out of range");
    if (ec != std::errc() || value.empty() || ptr != last)
        fail(spec, key + "=" + value + " is not a non-negative integer");
    return out;
}

std::string shortest(double v) {
    char text[32];
    const auto res = std::to_chars(text, text + sizeof text, v);
    return std::string(text, res.ptr);
}

bool starts_with(const std::string& s, const char* prefix) {
    return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

void validate(const std::string& spec, const SyntheticClassesSpec& s) {
    if (s.n < 1) fail(spec, "n must be >= 1, got " + std::to_string(s.n));
    if (s.d < 1) fail(spec, "d must be >= 1, got " + std::to_string(s.d));
    if (s.k < 1) fail(spec, "k must be >= 2, got " + std::to_string(s.k));  // 1: logistic
    // Columns and classes are 32-bit words of the Philox counter; X and the weights must fit.
    if (s.d > std::int64_t(std::numeric_limits<std::uint32_t>::max()) - 1 ||
        s.k > std::int64_t(std::numeric_limits<std::uint32_t>::max()))
        fail(spec, "d or k exceeds 2^32 - 2");
    const std::int64_t max_elems = std::numeric_limits<std::int64_t>::max() / 8;
    if (s.n > max_elems / (s.d + 1) || (s.d + 1) > max_elems / s.k)
        fail(spec, "the data would not fit in 64-bit sizes: n = " + std::to_string(s.n) +
                       ", d = " + std::to_string(s.d) + ", k = " + std::to_string(s.k));
}

}  // namespace

SyntheticClassesSpec parse_synthetic_classes_spec(const std::string& spec) {
    const bool softmax = starts_with(spec, kSoftmax);
    if (!softmax && !starts_with(spec, kLogistic)) fail(spec, "unknown prefix");
    SyntheticClassesSpec out;
    bool seen_n = false, seen_d = false, seen_k = false, seen_seed = false;
    std::size_t start = std::char_traits<char>::length(softmax ? kSoftmax : kLogistic);
    for (std::size_t item_no = 1;; ++item_no) {
        const std::size_t comma = spec.find(',', start);
        const std::string item =
            spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (item.empty()) fail(spec, "item " + std::to_string(item_no) + " is empty (a stray comma?)");
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos) fail(spec, "'" + item + "' is not key=value");
        const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        bool* seen = key == "n" ? &seen_n : key == "d" ? &seen_d : key == "seed" ? &seen_seed
                   : key == "k" && softmax ? &seen_k : nullptr;
        if (!seen)
            fail(spec, "unknown key '" + key + "' (accepted keys: n, d, " +
                           std::string(softmax ? "k, " : "") + "seed)");
        if (*seen) fail(spec, "duplicate key '" + key + "'");
        *seen = true;
        if (key == "seed") {
            out.seed = parse_number<std::uint64_t>(spec, key, value);
        } else {
            const auto v = parse_number<std::int64_t>(spec, key, value);
            (key == "n" ? out.n : key == "d" ? out.d : out.k) = v;
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (!seen_n) fail(spec, "missing n");
    if (!seen_d) fail(spec, "missing d");
    if (softmax && !seen_k) fail(spec, "missing k");
    if (softmax && out.k < 2) fail(spec, "k must be >= 2, got " + std::to_string(out.k));
    validate(spec, out);
    return out;
}

std::string synthetic_classes_spec_str(const SyntheticClassesSpec& spec) {
    if (spec.k == 1)
        return std::string(kLogistic) + "n=" + std::to_string(spec.n) + ",d=" +
               std::to_string(spec.d) + ",seed=" + std::to_string(spec.seed);
    return std::string(kSoftmax) + "n=" + std::to_string(spec.n) + ",d=" + std::to_string(spec.d) +
           ",k=" + std::to_string(spec.k) + ",seed=" + std::to_string(spec.seed);
}

Dataset synthetic_classes_dataset(const SyntheticClassesSpec& spec, bool intercept, DType dtype,
                                  Device device) {
    return detail::synthetic_classes_dataset_rows(spec, RowShard{0, spec.n, spec.n}, intercept,
                                                  dtype, device);
}

Dataset detail::synthetic_classes_dataset_rows(const SyntheticClassesSpec& spec, RowShard rows,
                                               bool intercept, DType dtype, Device device) {
    const std::string text = synthetic_classes_spec_str(spec);
    validate(text, spec);
    if (rows.total != spec.n || rows.begin < 0 || rows.begin > rows.end || rows.end > spec.n)
        throw Error("internal error: rows [" + std::to_string(rows.begin) + ", " +
                    std::to_string(rows.end) + ") of " + text);
    const std::int64_t n = rows.rows(), d = spec.d, k = spec.k, first = rows.begin;
    const std::int64_t cols = intercept ? d + 1 : d;
    // True weights (cols, k): W[j][c] = stream 2 at (row j, col c); the intercept is row d.
    std::vector<double> truth(static_cast<std::size_t>(cols * k));
    for (std::int64_t j = 0; j < cols; ++j)
        for (std::int64_t c = 0; c < k; ++c)
            truth[static_cast<std::size_t>(j * k + c)] = detail::synthetic_value(
                spec.seed, detail::kStreamWeight, std::uint64_t(j), std::uint32_t(c));
    Tensor X_host, y_host;
    try {
        X_host = empty({n, cols}, dtype);
        y_host = empty({n}, dtype);
    } catch (const std::exception& e) {
        throw Error(text + ": cannot allocate the data: " + e.what());
    }
    detail::visit_dtype(dtype, [&](auto zero) {
        using T = decltype(zero);
        T* Xp = X_host.data<T>();
        T* yp = y_host.data<T>();
#pragma omp parallel for schedule(static) if (n > 4096)
        // Row i of the whole set from counter i, wherever (in whichever shard) it is made.
        for (std::int64_t i = 0; i < n; ++i)
            detail::synthetic_class_row(spec.seed, d, k, intercept, truth.data(), first + i,
                                        Xp + i * cols, yp + i);
    });
    Dataset data;
    data.X = X_host.to(device);
    data.y = y_host.to(device);
    data.source = text;
    data.intercept = intercept;
    data.true_weights = std::move(truth);
    data.classes = k == 1 ? 2 : k;
    data.rows = rows;
    return data;
}

std::int64_t check_class_labels(Dataset& data, std::int64_t classes, const std::string& origin) {
    if (classes == 1 || classes < 0)
        throw Error(origin + ": the number of classes must be >= 2, got " + std::to_string(classes));
    const std::vector<double> y = data.y.to_vector<double>();
    double largest = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double v = y[i];
        const bool index = std::isfinite(v) && v >= 0.0 && v == std::floor(v);
        if (!index || (classes > 0 && v >= double(classes))) {
            // The row in the whole data set, so that a shard's error reads as the whole's.
            const std::int64_t row = data.rows.begin + std::int64_t(i) + 1;
            throw Error(origin + ": row " + std::to_string(row) + ": label " + shortest(v) +
                        " is not a class index in 0.." +
                        (classes > 0 ? std::to_string(classes - 1) : std::string("k-1")) +
                        (classes == 2 ? " (logistic regression needs labels 0 and 1)" : ""));
        }
        largest = std::fmax(largest, v);
    }
    const std::int64_t k = classes > 0 ? classes : std::max<std::int64_t>(2, std::int64_t(largest) + 1);
    data.classes = k;
    return k;
}

}  // namespace descent
