// Internal: how text from outside (paths, CSV fields, flag values, header bytes) appears in
// an error message, so that every error stays one clean line on a terminal: control bytes,
// newlines and NULs are escaped, and a field is cut to a readable length.
// Verified by tests/test_output_files.cpp ("one clean line") and tests/cli/bad_input.sh.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace descent::detail {

// Shortest text that reads back as the same double ("%.17g" trimmed; whole numbers below
// 1e15 as integers); "nan"/"inf" as is.
std::string format_number(double v);

// Fields longer than this many bytes are cut, with "..." appended.
constexpr std::size_t kShownFieldBytes = 60;

// `s` with every control byte escaped: "\n", "\r", "\t", "\\x00" .. "\\x1f", "\\x7f"; a
// backslash stays as it is (paths may hold one). Printable and UTF-8 bytes are kept.
std::string escape_control(std::string_view s);

// A path for an error message: escaped, never cut (the user needs all of it to find the file).
inline std::string shown_path(std::string_view path) { return escape_control(path); }

// A field of untrusted text (a CSV field, a flag's value, a header): its first
// kShownFieldBytes bytes (never splitting a UTF-8 sequence), escaped, then "..." when cut.
std::string shown_field(std::string_view field);

// Two long texts that differ (a setting then and now), each cut to a window of
// kShownFieldBytes around their first difference ("..." marking what is left out), so the
// difference is what shows; short ones are shown whole. Escaped like shown_field.
std::pair<std::string, std::string> shown_difference(std::string_view a, std::string_view b);

}  // namespace descent::detail
