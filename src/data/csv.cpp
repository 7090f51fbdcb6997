// CSV loader: numeric fields, comma-separated, last column the target, optional header row.
// Verified by tests/test_data.cpp (happy paths and one case per error, with line and column).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "descent/data.hpp"
#include "descent/error.hpp"
#include "read_file.hpp"
#include "table.hpp"

namespace descent {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string trim(const std::string& s) {
    std::size_t a = 0, b = s.size();
    while (a < b && is_space(s[a])) ++a;
    while (b > a && is_space(s[b - 1])) --b;
    return s.substr(a, b - a);
}

bool is_blank(const std::string& line) { return trim(line).empty(); }

std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = line.find(',', start);
        fields.push_back(trim(
            line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (comma == std::string::npos) return fields;
        start = comma + 1;
    }
}

// True when the decimal text (already accepted by from_chars as out of range) has a magnitude
// above 1, i.e. it overflowed rather than underflowed: the first significant digit's decimal
// exponent is >= 0. E.g. "1e999" and "-123e400" overflow; "1e-400" and "0.0001e-330" do not.
bool overflows(const char* first, const char* last) {
    if (first != last && (*first == '-' || *first == '+')) ++first;
    std::int64_t digits_before_point = 0, zeros_after_point = 0;
    bool seen_point = false, seen_nonzero = false;
    for (; first != last && *first != 'e' && *first != 'E'; ++first) {
        if (*first == '.') {
            seen_point = true;
        } else if (!seen_nonzero && *first == '0') {
            if (seen_point) ++zeros_after_point;
        } else {
            if (!seen_point) ++digits_before_point;
            seen_nonzero = true;
        }
    }
    std::int64_t exponent = 0;
    if (first != last) {  // the exponent, saturated (from_chars took it, so it is well-formed)
        ++first;
        const bool negative = first != last && *first == '-';
        if (first != last && (*first == '-' || *first == '+')) ++first;
        for (; first != last; ++first)
            if (exponent < 100000000000000) exponent = exponent * 10 + (*first - '0');
        if (negative) exponent = -exponent;
    }
    const std::int64_t first_digit_exponent =
        digits_before_point > 0 ? digits_before_point - 1 : -(zeros_after_point + 1);
    return exponent + first_digit_exponent >= 0;
}

// Parses all of `field` as a double: from_chars (locale-independent), one leading '+' allowed.
bool parse_double(const std::string& field, double& out) {
    const char* first = field.data();
    const char* last = first + field.size();
    if (first != last && *first == '+' && last - first > 1 && first[1] != '-') ++first;
    const auto [ptr, ec] = std::from_chars(first, last, out);
    if (ec == std::errc::result_out_of_range && ptr == last) {
        // Out-of-range values (1e999) are reported as not finite, like an explicit inf; values
        // too small for a double (1e-400) are zero, as strtod and numpy read them.
        if (overflows(first, last)) {
            out = HUGE_VAL;
        } else {
            out = *first == '-' ? -0.0 : 0.0;
        }
        return true;
    }
    return ec == std::errc() && ptr == last && first != last;
}

}  // namespace

Dataset parse_csv(const std::string& text, const std::string& origin, bool intercept, DType dtype,
                  Device device) {
    const std::string& path = origin;  // errors start with it
    std::vector<std::string> lines;
    const std::size_t bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // UTF-8 BOM (Excel)
    for (std::size_t start = bom; start <= text.size();) {
        const std::size_t nl = text.find('\n', start);
        lines.push_back(
            text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    while (!lines.empty() && is_blank(lines.back())) lines.pop_back();  // blank trailing lines
    if (lines.empty()) throw Error(path + ": empty file (no header and no data rows)");
    if (is_blank(lines[0]))
        throw Error(path +
                    ": line 1: blank line (blank lines are allowed only at the end of the file)");

    auto at = [&path](std::size_t line, std::size_t column) {
        return path + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
               ": ";
    };

    // Header: a first row in which no field is a number and some field is not empty. A row
    // mixing numbers and text is a data row with a typo, reported below with its column,
    // rather than silently dropped as a header.
    const std::vector<std::string> first = split_fields(lines[0]);
    bool any_number = false, any_text = false;
    for (const auto& f : first) {
        double v;
        if (f.empty()) continue;
        if (parse_double(f, v)) {
            any_number = true;
        } else {
            any_text = true;
        }
    }
    const bool has_header = any_text && !any_number;
    const std::size_t n_cols = first.size();
    if (n_cols < 2)
        throw Error(path + ": line 1: found 1 column; need at least 2 (features, then the target)");

    std::vector<double> table;
    std::size_t n_rows = 0;
    for (std::size_t l = has_header ? 1 : 0; l < lines.size(); ++l) {
        const std::size_t line_no = l + 1;
        if (is_blank(lines[l]))
            throw Error(path + ": line " + std::to_string(line_no) +
                        ": blank line (blank lines are allowed only at the end of the file)");
        const std::vector<std::string> fields = split_fields(lines[l]);
        if (fields.size() != n_cols)
            throw Error(at(line_no, std::min(fields.size(), n_cols) + 1) + "expected " +
                        std::to_string(n_cols) + " fields (as on line 1), found " +
                        std::to_string(fields.size()));
        for (std::size_t c = 0; c < n_cols; ++c) {
            double v;
            if (fields[c].empty()) throw Error(at(line_no, c + 1) + "empty field");
            if (!parse_double(fields[c], v))
                throw Error(at(line_no, c + 1) + "'" + fields[c] + "' is not a number");
            if (!std::isfinite(v))
                throw Error(at(line_no, c + 1) + "'" + fields[c] +
                            "' is not finite (NaN and Inf are not allowed)");
            // Finite in f64 but not in f32 (1e39): refused rather than loaded as Inf.
            if (dtype == DType::f32 && std::isinf(static_cast<float>(v)))
                throw Error(at(line_no, c + 1) + "'" + fields[c] +
                            "' is out of range for f32 (largest magnitude 3.4e38); load it as f64");
            table.push_back(v);
        }
        ++n_rows;
    }
    if (n_rows == 0) throw Error(path + ": no data rows (only a header on line 1)");

    return detail::dataset_from_table(table, std::int64_t(n_rows), std::int64_t(n_cols), intercept,
                                      dtype, device, path);
}

Dataset load_csv(const std::string& path, bool intercept, DType dtype, Device device) {
    return parse_csv(detail::read_file_bytes(path), path, intercept, dtype, device);
}

}  // namespace descent
