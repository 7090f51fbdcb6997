// Internal: escaping and cutting of outside text in error messages (see text.hpp).
// Verified by tests/test_output_files.cpp ("one clean line") and tests/cli/bad_input.sh.
#include "text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>

namespace descent::detail {

std::string escape_control(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[32];
    // Whole numbers as integers ("20", not "2e+01": iteration counts, history sizes).
    if (v == std::floor(v) && std::abs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

std::string shown_field(std::string_view field) {
    if (field.size() <= kShownFieldBytes) return escape_control(field);
    std::size_t cut = kShownFieldBytes;
    // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
    while (cut > 0 && (static_cast<unsigned char>(field[cut]) & 0xC0) == 0x80) --cut;
    return escape_control(field.substr(0, cut)) + "...";
}

std::pair<std::string, std::string> shown_difference(std::string_view a, std::string_view b) {
    if (a.size() <= kShownFieldBytes && b.size() <= kShownFieldBytes)
        return {escape_control(a), escape_control(b)};
    std::size_t first = 0;
    while (first < a.size() && first < b.size() && a[first] == b[first]) ++first;
    // Start a little before the difference, on a UTF-8 character boundary.
    std::size_t start = first > kShownFieldBytes / 3 ? first - kShownFieldBytes / 3 : 0;
    const auto window = [&](std::string_view s) {
        std::size_t from = std::min(start, s.size());
        while (from > 0 && from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80)
            --from;
        const std::string_view rest = s.substr(from);
        std::string shown = shown_field(rest);
        return (from > 0 ? "..." : "") + shown;
    };
    return {window(a), window(b)};
}

}  // namespace descent::detail
