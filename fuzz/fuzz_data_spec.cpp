// libFuzzer harness for the data-spec parser of `descent train --data SPEC`:
// parse_synthetic_spec and load_dataset's dispatch. An accepted synthetic spec must be valid
// (n, d >= 1, noise finite and >= 0) and round-trip through synthetic_spec_str; when it is
// small (n * (d + 1) <= 4096) load_dataset must build exactly synthetic_dataset's data, or both
// refuse it, only for a noise that could overflow the dtype. A spec the parser refuses must
// make load_dataset refuse with the same message. Any other spec that is not a file name must
// be "blog" or refused. File specs (*.csv, *.npy) are not opened here. The classification
// specs (synthetic-logistic:, synthetic-softmax:) get the same round-trip and small-load checks.
// Run: scripts/fuzz.sh (libFuzzer), or the fuzz_replay_data_spec ctest.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "descent/data.hpp"
#include "fuzz_common.hpp"

namespace {

using descent::Device;
using descent::DType;

constexpr std::int64_t kMaxGeneratedElements = 4096;

bool ends_with_ci(const std::string& s, const std::string& suffix) {
    if (s.size() < suffix.size()) return false;
    for (std::size_t i = 0; i < suffix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i])
            return false;
    return true;
}

bool same_spec(const descent::SyntheticSpec& a, const descent::SyntheticSpec& b) {
    return a.n == b.n && a.d == b.d && fuzz::same_bits(a.noise, b.noise) && a.seed == b.seed;
}

void check_synthetic(const std::string& text, bool intercept, DType dtype) {
    descent::SyntheticSpec spec;
    std::string parse_error;
    const bool accepted = fuzz::run(
        "parse_synthetic_spec", [&] { spec = descent::parse_synthetic_spec(text); }, &parse_error);
    if (!accepted) {
        std::string load_error;
        FUZZ_CHECK(
            !fuzz::run(
                "load_dataset",
                [&] { descent::load_dataset(text, intercept, dtype, Device::cpu()); }, &load_error),
            "load_dataset accepts a spec parse_synthetic_spec refuses");
        FUZZ_CHECK(load_error == parse_error, load_error + " vs " + parse_error);
        return;
    }
    FUZZ_CHECK(spec.n >= 1 && spec.d >= 1, "n or d below 1 accepted");
    FUZZ_CHECK(std::isfinite(spec.noise) && spec.noise >= 0, "bad noise accepted");

    const std::string canonical = descent::synthetic_spec_str(spec);
    descent::SyntheticSpec again;
    std::string error;
    FUZZ_CHECK(fuzz::run(
                   "parse_synthetic_spec",
                   [&] { again = descent::parse_synthetic_spec(canonical); }, &error),
               "the canonical text '" + canonical + "' does not parse: " + error);
    FUZZ_CHECK(same_spec(spec, again), "'" + text + "' -> '" + canonical + "' parses differently");
    FUZZ_CHECK(descent::synthetic_spec_str(again) == canonical, canonical);

    // Only small data sets are generated: a hostile spec may name 10^12 rows, legitimately.
    if (spec.n > kMaxGeneratedElements / (spec.d + 1)) return;
    descent::Dataset direct, loaded;
    std::string load_error;
    const bool generated = fuzz::run(
        "synthetic_dataset",
        [&] { direct = descent::synthetic_dataset(spec, intercept, dtype, Device::cpu()); },
        &error);
    const bool loaded_ok = fuzz::run(
        "load_dataset",
        [&] { loaded = descent::load_dataset(text, intercept, dtype, Device::cpu()); },
        &load_error);
    FUZZ_CHECK(generated == loaded_ok && error == load_error, error + " vs " + load_error);
    // The one refusal allowed: a noise above a quarter of the dtype's largest value.
    const double max_noise = (dtype == DType::f32 ? double(std::numeric_limits<float>::max())
                                                  : std::numeric_limits<double>::max()) /
                             4;
    FUZZ_CHECK(generated == (spec.noise <= max_noise), canonical + ": " + (generated ? "" : error));
    if (!generated) return;
    const std::int64_t cols = intercept ? spec.d + 1 : spec.d;
    FUZZ_CHECK(loaded.X.shape() == (descent::Shape{spec.n, cols}),
               descent::shape_str(loaded.X.shape()));
    FUZZ_CHECK(loaded.y.shape() == (descent::Shape{spec.n}), descent::shape_str(loaded.y.shape()));
    FUZZ_CHECK(loaded.X.dtype() == dtype && loaded.y.dtype() == dtype, "dtype");
    FUZZ_CHECK(loaded.source == canonical, loaded.source);
    FUZZ_CHECK(loaded.true_weights.size() == std::size_t(cols), "true weights");
    const std::vector<double> X = fuzz::values(loaded.X), y = fuzz::values(loaded.y);
    FUZZ_CHECK(X == fuzz::values(direct.X) && y == fuzz::values(direct.y),
               "load_dataset and synthetic_dataset differ");
    for (double v : X) FUZZ_CHECK(std::isfinite(v) && v >= -1 && v <= 1, "X outside [-1, 1]");
    for (double v : y) FUZZ_CHECK(std::isfinite(v), "non-finite y");
    if (intercept)
        for (std::int64_t i = 0; i < spec.n; ++i)
            FUZZ_CHECK(X[std::size_t(i * cols + cols - 1)] == 1.0, "intercept column");
}

// synthetic-logistic / synthetic-softmax: an accepted spec is valid and round-trips; a small one
// loads as synthetic_classes_dataset builds it, labels in 0..k-1; a refused one is refused by
// load_dataset with the same message.
void check_synthetic_classes(const std::string& text, bool intercept, DType dtype) {
    descent::SyntheticClassesSpec spec;
    std::string parse_error;
    const bool accepted = fuzz::run(
        "parse_synthetic_classes_spec",
        [&] { spec = descent::parse_synthetic_classes_spec(text); }, &parse_error);
    if (!accepted) {
        std::string load_error;
        FUZZ_CHECK(!fuzz::run(
                       "load_dataset",
                       [&] { descent::load_dataset(text, intercept, dtype, Device::cpu()); },
                       &load_error),
                   "load_dataset accepts a spec parse_synthetic_classes_spec refuses");
        FUZZ_CHECK(load_error == parse_error, load_error + " vs " + parse_error);
        return;
    }
    FUZZ_CHECK(spec.n >= 1 && spec.d >= 1 && spec.k >= 1, "n, d or k below 1 accepted");
    const std::string canonical = descent::synthetic_classes_spec_str(spec);
    descent::SyntheticClassesSpec again;
    std::string error;
    FUZZ_CHECK(fuzz::run(
                   "parse_synthetic_classes_spec",
                   [&] { again = descent::parse_synthetic_classes_spec(canonical); }, &error),
               "the canonical text '" + canonical + "' does not parse: " + error);
    FUZZ_CHECK(again.n == spec.n && again.d == spec.d && again.k == spec.k &&
                   again.seed == spec.seed,
               "'" + text + "' -> '" + canonical + "' parses differently");
    // Only small data sets are generated (X and the weights (d + 1) x k).
    if (spec.k > kMaxGeneratedElements || spec.n > kMaxGeneratedElements / (spec.d + 1) ||
        spec.d + 1 > kMaxGeneratedElements / spec.k)
        return;
    descent::Dataset direct, loaded;
    FUZZ_CHECK(fuzz::run("synthetic_classes_dataset", [&] {
                   direct = descent::synthetic_classes_dataset(spec, intercept, dtype, Device::cpu());
               }, &error), canonical + ": " + error);
    FUZZ_CHECK(fuzz::run("load_dataset", [&] {
                   loaded = descent::load_dataset(text, intercept, dtype, Device::cpu());
               }, &error), canonical + ": " + error);
    FUZZ_CHECK(fuzz::values(loaded.X) == fuzz::values(direct.X) &&
                   fuzz::values(loaded.y) == fuzz::values(direct.y),
               "load_dataset and synthetic_classes_dataset differ");
    const double classes = spec.k == 1 ? 2.0 : double(spec.k);
    for (double v : fuzz::values(loaded.y))
        FUZZ_CHECK(v >= 0 && v < classes && v == std::floor(v), "label outside 0..k-1");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::bytes_of(data, size);
    if (text == "synthetic" || text.compare(0, 10, "synthetic:") == 0) {
        check_synthetic(text, true, DType::f64);
        check_synthetic(text, false, DType::f32);
        return 0;
    }
    if (text.compare(0, 19, "synthetic-logistic:") == 0 ||
        text.compare(0, 18, "synthetic-softmax:") == 0) {
        check_synthetic_classes(text, true, DType::f64);
        check_synthetic_classes(text, false, DType::f32);
        return 0;
    }
    // The parser itself must refuse anything without the prefix.
    std::string error;
    FUZZ_CHECK(!fuzz::run(
                   "parse_synthetic_spec", [&] { descent::parse_synthetic_spec(text); }, &error),
               "a spec without 'synthetic:' accepted");
    if (ends_with_ci(text, ".csv") || ends_with_ci(text, ".npy")) return 0;  // a file name
    const bool accepted = fuzz::run(
        "load_dataset", [&] { descent::load_dataset(text, true, DType::f64, Device::cpu()); },
        &error);
    FUZZ_CHECK(accepted == (text == "blog"), "'" + text + "': " + (accepted ? "accepted" : error));
    return 0;
}
