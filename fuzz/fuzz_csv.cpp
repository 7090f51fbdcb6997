// libFuzzer harness for the CSV reader (descent::parse_csv, which load_csv wraps). Bad input
// must give descent::Error starting with the origin; an accepted file must give X (n, d[+1])
// and y (n), finite in the requested dtype, whose values are what strtod reads from the
// file's last n lines (an independent reading of the same fields).
// Run: scripts/fuzz.sh (libFuzzer), or the fuzz_replay_csv ctest (corpus + regressions).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "descent/data.hpp"
#include "fuzz_common.hpp"

namespace {

const std::string kOrigin = "fuzz.csv";

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r") == std::string::npos; }

std::string trimmed(const std::string& s) {
    const std::size_t a = s.find_first_not_of(" \t\r");
    if (a == std::string::npos) return "";
    return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

// Lines as the format defines them: after an optional UTF-8 BOM, split at '\n', blank trailing
// lines dropped.
std::vector<std::string> lines_of(const std::string& bytes) {
    std::string text = bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? bytes.substr(3) : bytes;
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
        const std::size_t nl = text.find('\n', start);
        lines.push_back(
            text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    while (!lines.empty() && blank(lines.back())) lines.pop_back();
    return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = line.find(',', start);
        fields.push_back(trimmed(
            line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (comma == std::string::npos) return fields;
        start = comma + 1;
    }
}

// strtod over the whole field (the C locale: this process never calls setlocale).
bool reference_value(const std::string& field, double& out) {
    if (field.empty() || field.find('\0') != std::string::npos) return false;
    char* end = nullptr;
    out = std::strtod(field.c_str(), &end);
    return end == field.c_str() + field.size();
}

void check_accepted(const std::string& bytes, const descent::Dataset& data, bool intercept,
                    descent::DType dtype) {
    using descent::DType;
    FUZZ_CHECK(data.source == kOrigin, data.source);
    FUZZ_CHECK(data.intercept == intercept, "");
    FUZZ_CHECK(data.X.dim() == 2 && data.y.dim() == 1, "");
    FUZZ_CHECK(data.X.dtype() == dtype && data.y.dtype() == dtype, "");
    const std::int64_t n = data.X.size(0), x_cols = data.X.size(1);
    const std::int64_t d = intercept ? x_cols - 1 : x_cols;
    FUZZ_CHECK(n >= 1 && d >= 1, "shape " + descent::shape_str(data.X.shape()));
    FUZZ_CHECK(data.y.size(0) == n, "");

    const std::vector<std::string> lines = lines_of(bytes);
    FUZZ_CHECK(std::int64_t(lines.size()) == n || std::int64_t(lines.size()) == n + 1,
               "rows " + std::to_string(n) + " of " + std::to_string(lines.size()) + " lines");
    const std::size_t first_row = lines.size() - std::size_t(n);
    const std::vector<double> X = fuzz::values(data.X), y = fuzz::values(data.y);
    for (std::int64_t i = 0; i < n; ++i) {
        const std::vector<std::string> fields = fields_of(lines[first_row + std::size_t(i)]);
        FUZZ_CHECK(std::int64_t(fields.size()) == d + 1, "fields on row " + std::to_string(i));
        for (std::int64_t j = 0; j <= d; ++j) {
            const double got = j < d ? X[std::size_t(i * x_cols + j)] : y[std::size_t(i)];
            FUZZ_CHECK(std::isfinite(got), "non-finite value accepted on row " + std::to_string(i));
            double want = 0;
            const std::string& field = fields[std::size_t(j)];
            FUZZ_CHECK(reference_value(field, want), "accepted '" + field + "', strtod does not");
            if (dtype == DType::f32) want = double(static_cast<float>(want));
            FUZZ_CHECK(fuzz::same_bits(got, want), "'" + field + "' read as " + fuzz::text(got) +
                                                       ", strtod reads " + fuzz::text(want));
        }
        if (intercept) FUZZ_CHECK(X[std::size_t(i * x_cols + d)] == 1.0, "intercept column");
    }
}

// A value refused as not finite must be one strtod reads as NaN or Inf.
void check_rejected(const std::string& bytes, const std::string& error) {
    FUZZ_CHECK(error.compare(0, kOrigin.size() + 2, kOrigin + ": ") == 0, error);
    unsigned long line = 0, column = 0;
    if (std::sscanf(error.c_str() + kOrigin.size(), ": line %lu, column %lu", &line, &column) != 2)
        return;
    const std::vector<std::string> lines = lines_of(bytes);
    FUZZ_CHECK(line >= 1 && line <= lines.size(), error);
    const std::vector<std::string> fields = fields_of(lines[line - 1]);
    if (column < 1 || column > fields.size()) return;  // a ragged row: the column after the last
    const std::string& field = fields[column - 1];
    if (error != kOrigin + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                     ": '" + field + "' is not finite (NaN and Inf are not allowed)")
        return;
    double v = 0;
    FUZZ_CHECK(reference_value(field, v) && !std::isfinite(v),
               error + " (strtod reads " + fuzz::text(v) + ")");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes = fuzz::bytes_of(data, size);
    fuzz::parse_both_layouts(
        "parse_csv", bytes,
        [](const std::string& b, bool intercept, descent::DType dtype) {
            return descent::parse_csv(b, kOrigin, intercept, dtype, descent::Device::cpu());
        },
        [&](const descent::Dataset& parsed, bool intercept, descent::DType dtype) {
            check_accepted(bytes, parsed, intercept, dtype);
        },
        [&](const std::string& error) { check_rejected(bytes, error); });
    return 0;
}
