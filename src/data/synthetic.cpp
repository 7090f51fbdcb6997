// Synthetic regression data from counter-based Philox (shared/philox.hpp): the
// "synthetic:n=..,d=..,noise=..,seed=.." spec parser and the data set it names.
// Verified by tests/test_data.cpp (determinism, y = X·w + b + noise, layout, parse errors) and
// tests/test_data_shard.cpp (a shard's rows are the whole set's).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>

#include "descent/data.hpp"
#include "shard_loaders.hpp"
#include "shared/synthetic_row.hpp"

#include "shared/dtype_visit.hpp"
#include "shared/philox.hpp"
#include "descent/error.hpp"
#include "text.hpp"

namespace descent {

namespace {

constexpr const char* kPrefix = "synthetic:";
constexpr const char* kForm = "synthetic:n=N,d=D[,noise=S][,seed=K]";

[[noreturn]] void fail(const std::string& spec, const std::string& what) {
    throw Error("synthetic spec '" + detail::shown_field(spec) + "': " + what + " (expected " + kForm + ")");
}

// Parses all of `value` as a T with from_chars (locale-independent, no leading spaces or '+').
template <class T>
T parse_number(const std::string& spec, const std::string& key, const std::string& value,
               const char* what) {
    T out{};
    const char* first = value.data();
    const char* last = first + value.size();
    const auto [ptr, ec] = std::from_chars(first, last, out);
    if (ec == std::errc::result_out_of_range) fail(spec, key + "=" + value + " is out of range");
    if (ec != std::errc() || value.empty()) fail(spec, key + "=" + value + " is not " + what);
    if (ptr != last)
        fail(spec, key + "=" + value + " is not " + what + " (trailing '" + std::string(ptr, last) +
                       "')");
    return out;
}

// The checks shared by the parser and synthetic_dataset (a spec may be built by hand).
void validate(const std::string& spec, const SyntheticSpec& s) {
    if (s.n < 1) fail(spec, "n must be >= 1, got " + std::to_string(s.n));
    if (s.d < 1) fail(spec, "d must be >= 1, got " + std::to_string(s.d));
    // Columns are the 32-bit `col` word of the Philox counter.
    if (s.d > std::int64_t(std::numeric_limits<std::uint32_t>::max()) - 1)
        fail(spec, "d = " + std::to_string(s.d) + " exceeds 2^32 - 2");
    if (!std::isfinite(s.noise) || s.noise < 0)
        fail(spec, "noise must be finite and >= 0, got " + std::to_string(s.noise));
    // X holds n * (d + 1) doubles while it is built; that count times 8 bytes must fit.
    const std::int64_t max_elems = std::numeric_limits<std::int64_t>::max() / 8;
    if (s.n > max_elems / (s.d + 1))
        fail(spec, "n*d overflows: n = " + std::to_string(s.n) + ", d = " + std::to_string(s.d));
}

}  // namespace

SyntheticSpec parse_synthetic_spec(const std::string& spec) {
    const std::string prefix = kPrefix;
    if (spec.compare(0, prefix.size(), prefix) != 0)
        fail(spec, "does not start with '" + prefix + "'");
    SyntheticSpec out;
    bool seen_n = false, seen_d = false, seen_noise = false, seen_seed = false;
    std::size_t start = prefix.size();
    std::size_t item_no = 0;
    while (true) {
        const std::size_t comma = spec.find(',', start);
        const std::string item =
            spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        ++item_no;
        if (item.empty())
            fail(spec, "item " + std::to_string(item_no) + " is empty (a stray comma?)");
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos) fail(spec, "'" + item + "' is not key=value");
        const std::string key = item.substr(0, eq);
        const std::string value = item.substr(eq + 1);
        bool* seen = key == "n"       ? &seen_n
                     : key == "d"     ? &seen_d
                     : key == "noise" ? &seen_noise
                     : key == "seed"  ? &seen_seed
                                      : nullptr;
        if (!seen) fail(spec, "unknown key '" + key + "' (accepted keys: n, d, noise, seed)");
        if (*seen) fail(spec, "duplicate key '" + key + "'");
        *seen = true;
        if (key == "n") out.n = parse_number<std::int64_t>(spec, key, value, "an integer");
        if (key == "d") out.d = parse_number<std::int64_t>(spec, key, value, "an integer");
        if (key == "noise") out.noise = parse_number<double>(spec, key, value, "a number");
        if (key == "seed")
            out.seed = parse_number<std::uint64_t>(spec, key, value, "a non-negative integer");
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (!seen_n) fail(spec, "missing n");
    if (!seen_d) fail(spec, "missing d");
    validate(spec, out);
    return out;
}

std::string synthetic_spec_str(const SyntheticSpec& spec) {
    char noise[32];
    // Shortest text that reads back to the same double.
    const auto res = std::to_chars(noise, noise + sizeof noise, spec.noise);
    return std::string(kPrefix) + "n=" + std::to_string(spec.n) + ",d=" + std::to_string(spec.d) +
           ",noise=" + std::string(noise, res.ptr) + ",seed=" + std::to_string(spec.seed);
}

std::vector<double> synthetic_true_weights(const SyntheticSpec& spec, bool intercept, DType dtype) {
    const std::string text = synthetic_spec_str(spec);
    validate(text, spec);
    // |y| <= 2 (d + 1) + noise sqrt(3) (|x| <= 1, |w| <= 2, |e| <= sqrt(3)); with noise at most
    // a quarter of the dtype's largest value, y stays finite whatever d is (d < 2^32).
    const double max_noise = (dtype == DType::f32 ? double(std::numeric_limits<float>::max())
                                                  : std::numeric_limits<double>::max()) / 4;
    if (spec.noise > max_noise) {
        char limit[32];
        std::snprintf(limit, sizeof limit, "%.2g", max_noise);
        throw Error(text + ": noise is too large for " + dtype_name(dtype) +
                    " data (y would overflow); at most " + limit);
    }
    // True weights w_j = stream 2 row j; the intercept b = stream 2 row d.
    const std::int64_t cols = intercept ? spec.d + 1 : spec.d;
    std::vector<double> truth(static_cast<std::size_t>(cols));
    for (std::int64_t j = 0; j < cols; ++j)
        truth[std::size_t(j)] =
            detail::synthetic_value(spec.seed, detail::kStreamWeight, std::uint64_t(j), 0);
    return truth;
}

Dataset synthetic_dataset(const SyntheticSpec& spec, bool intercept, DType dtype, Device device) {
    return detail::synthetic_dataset_rows(spec, RowShard{0, spec.n, spec.n}, intercept, dtype,
                                          device);
}

Dataset detail::synthetic_dataset_rows(const SyntheticSpec& spec, RowShard rows, bool intercept,
                                       DType dtype, Device device) {
    const std::string text = synthetic_spec_str(spec);
    std::vector<double> truth = synthetic_true_weights(spec, intercept, dtype);
    if (rows.total != spec.n || rows.begin < 0 || rows.begin > rows.end || rows.end > spec.n)
        throw Error("internal error: rows [" + std::to_string(rows.begin) + ", " +
                    std::to_string(rows.end) + ") of " + text);
    const std::int64_t n = rows.rows(), d = spec.d, first = rows.begin;
    const std::int64_t cols = intercept ? d + 1 : d;

    // Written straight into host tensors of the target dtype: the data plus O(d), no
    // double-precision staging copy of X (10^8 x 16 f32 is 6.4 GB; doubling it would not fit).
    Tensor X_host, y_host;
    try {
        X_host = empty({n, cols}, dtype);
        y_host = empty({n}, dtype);
    } catch (const std::exception& e) {
        const double bytes = double(n) * double(cols + 1) * double(dtype_size(dtype));
        throw Error(text + ": cannot allocate the data (" + std::to_string(bytes / 1e9) +
                    " GB): " + e.what());
    }
    detail::visit_dtype(dtype, [&](auto zero) {
        using T = decltype(zero);
        T* Xp = X_host.data<T>();
        T* yp = y_host.data<T>();
        // Rows are independent (counter-based RNG), so threads can split them freely. One
        // sum per row, in index order and in double (shared/synthetic_row.hpp), so a
        // GPU kernel or a chunked generator (or a shard) reproduces y bit for bit: row i of
        // the whole set comes from counter i wherever it is generated.
#pragma omp parallel for schedule(static) if (n > 4096)
        for (std::int64_t i = 0; i < n; ++i)
            detail::synthetic_row(spec.seed, spec.noise, d, intercept, truth.data(), first + i,
                                  Xp + i * cols, yp + i);
    });

    Dataset data;
    data.X = X_host.to(device);
    data.y = y_host.to(device);
    data.source = text;
    data.intercept = intercept;
    data.true_weights = std::move(truth);
    data.rows = rows;
    return data;
}

}  // namespace descent
