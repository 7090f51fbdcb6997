// CSV loader: numeric fields, comma-separated, last column the target, optional header row;
// two passes over the file, the second parsing straight into the final tensors. Verified by
// tests/test_data.cpp (one case per error with line and column, chunk boundaries, parse_csv
// against load_csv) and tests/cli/load_memory.py (peak RSS).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "descent/data.hpp"
#include "descent/error.hpp"
#include "read_file.hpp"
#include "shard_loaders.hpp"
#include "table.hpp"
#include "text.hpp"

namespace descent {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_blank(std::string_view line) { return trim(line).empty(); }

std::size_t count_commas(std::string_view line, char delimiter) {
    return std::size_t(std::count(line.begin(), line.end(), delimiter));
}

// The lines of a source, split at '\n' (a '\r' before it is trimmed with the fields), read in
// chunks. A line is a view into the buffer, valid until the next call; the buffer grows only
// for a line longer than a chunk, so memory is the chunk or the longest line.
class LineReader {
public:
    LineReader(const detail::ByteSource& src, std::uint64_t start)
        // A small source (parse_csv on a fuzzer's input) gets a small buffer.
        : m_src(src), m_offset(start),
          m_buf(std::size_t(std::min<std::uint64_t>(kChunkBytes, src.size() - start)) + 1) {}

    bool next(std::string_view& line) {
        while (true) {
            const char* begin = m_buf.data() + m_begin;
            const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', m_end - m_begin));
            if (nl) {
                line = std::string_view(begin, std::size_t(nl - begin));
                m_begin += line.size() + 1;
                return true;
            }
            if (m_offset == m_src.size()) {  // the last line, without a final newline
                if (m_begin == m_end) return false;
                line = std::string_view(begin, m_end - m_begin);
                m_begin = m_end;
                return true;
            }
            refill();
        }
    }

private:
    static constexpr std::size_t kChunkBytes = 1 << 20;

    void refill() {
        const std::size_t kept = m_end - m_begin;
        if (m_begin > 0 && kept > 0) std::memmove(m_buf.data(), m_buf.data() + m_begin, kept);
        m_begin = 0;
        m_end = kept;
        if (m_end == m_buf.size()) m_buf.resize(m_buf.size() * 2);  // a line longer than that
        const std::size_t n =
            std::size_t(std::min<std::uint64_t>(m_buf.size() - m_end, m_src.size() - m_offset));
        m_src.read(m_offset, m_buf.data() + m_end, n);
        m_offset += n;
        m_end += n;
    }

    const detail::ByteSource& m_src;
    std::uint64_t m_offset;  // the next byte of the source to read
    std::vector<char> m_buf;
    std::size_t m_begin = 0, m_end = 0;  // the bytes read but not yet returned
};

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
bool parse_double(std::string_view field, double& out) {
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

// Every CSV read, from a file or from memory, in two passes over the source. The first finds
// the header and the column count (line 1) and how many rows there are; the second parses each
// line straight into X and y, allocated once in between. The page cache makes the second pass
// cheap; memory is the tensors plus one chunk (or the longest line).
Dataset read_csv(const detail::ByteSource& src, const std::string& source, bool intercept,
                 DType dtype, Device device, OnesColumn ones,
                 const detail::TableOptions& options = {}) {
    const char delimiter = options.delimiter;
    const bool target = options.target;
    const std::string& path = src.name();  // errors start with it
    char lead[3] = {};
    const std::uint64_t lead_n = std::min<std::uint64_t>(src.size(), 3);
    src.read(0, lead, std::size_t(lead_n));
    const std::uint64_t bom = lead_n == 3 && std::memcmp(lead, "\xEF\xBB\xBF", 3) == 0
                                  ? 3
                                  : 0;  // UTF-8 BOM (Excel)

    // Pass 1. Lines after the last non-blank one are blank trailing lines, allowed and ignored.
    std::string first_line;
    std::size_t n_cols = 0;
    std::uint64_t last_line = 0;      // the last non-blank line (from 1); 0: none
    std::uint64_t first_ragged = 0;   // the first line after line 1 with another field count
    {
        LineReader lines(src, bom);
        std::string_view line;
        for (std::uint64_t line_no = 1; lines.next(line); ++line_no) {
            const std::size_t commas = count_commas(line, delimiter);
            if (line_no == 1) {
                first_line = std::string(line);
                n_cols = commas + 1;
            } else if (first_ragged == 0 && commas + 1 != n_cols) {
                first_ragged = line_no;
            }
            if (!is_blank(line)) last_line = line_no;
        }
    }
    if (last_line == 0) throw Error(path + ": empty file (no header and no data rows)");
    if (is_blank(first_line))
        throw Error(path +
                    ": line 1: blank line (blank lines are allowed only at the end of the file)");

    auto at = [&path](std::uint64_t line, std::size_t column) {
        return path + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
               ": ";
    };

    // Header: a first row in which no field is a number and some field is not empty. A row
    // mixing numbers and text is a data row with a typo, reported below with its column,
    // rather than silently dropped as a header.
    bool any_number = false, any_text = false;
    std::vector<std::string> names;
    for (std::size_t start = 0;;) {
        const std::size_t comma = first_line.find(delimiter, start);
        const std::string_view f = trim(std::string_view(first_line).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start));
        double v;
        if (!f.empty()) (parse_double(f, v) ? any_number : any_text) = true;
        // A name as spreadsheets quote it ("price") is the name without its quotes.
        names.emplace_back(f.size() >= 2 && f.front() == '"' && f.back() == '"'
                               ? f.substr(1, f.size() - 2)
                               : f);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    const bool has_header = any_text && !any_number;
    if (target && n_cols < 2)
        throw Error(path + ": line 1: found 1 column; need at least 2 (features, then the target)");
    const std::uint64_t first_row_line = has_header ? 2 : 1;
    if (last_line < first_row_line) throw Error(path + ": no data rows (only a header on line 1)");
    // Rows up to the first ragged line: pass 2 stops with an error there at the latest, so a
    // file of short broken lines never sizes the tensors by its long first line.
    const std::uint64_t last_row_line =
        first_ragged != 0 ? std::min(last_line, first_ragged - 1) : last_line;
    const std::uint64_t n_rows =
        last_row_line >= first_row_line ? last_row_line - first_row_line + 1 : 0;

    // Pass 2.
    // A CSV file is always loaded whole (load_dataset_shard refuses to split one).
    const std::int64_t rows = std::int64_t(n_rows);
    detail::TableBuilder table(
        RowShard{0, rows, rows},
        detail::plan_columns(std::int64_t(n_cols), has_header ? names : std::vector<std::string>{},
                             options.columns, target, path),
        intercept, ones, dtype, device);
    LineReader lines(src, bom);
    std::string_view line;
    for (std::uint64_t line_no = 1; line_no <= last_line; ++line_no) {
        if (!lines.next(line)) throw Error(path + ": changed while being read (fewer lines)");
        if (line_no < first_row_line) continue;
        if (is_blank(line))
            throw Error(path + ": line " + std::to_string(line_no) +
                        ": blank line (blank lines are allowed only at the end of the file)");
        const std::size_t n_fields = count_commas(line, delimiter) + 1;
        if (n_fields != n_cols)
            throw Error(at(line_no, std::min(n_fields, n_cols) + 1) + "expected " +
                        std::to_string(n_cols) + " fields (as on line 1), found " +
                        std::to_string(n_fields));
        if (std::uint64_t(table.rows_done()) == n_rows)
            throw Error(path + ": changed while being read (line " + std::to_string(line_no) +
                        ")");
        std::size_t start = 0;
        for (std::size_t c = 0; c < n_cols; ++c) {
            const std::size_t comma = c + 1 < n_cols ? line.find(delimiter, start) : line.size();
            const std::string_view field = trim(line.substr(start, comma - start));
            start = comma + 1;
            if (table.skipped(std::int64_t(c))) {  // --drop / --features leave it out unread
                table.skip();
                continue;
            }
            double v;
            if (field.empty()) throw Error(at(line_no, c + 1) + "empty field");
            if (!parse_double(field, v))
                throw Error(at(line_no, c + 1) + "'" + detail::shown_field(field) +
                            "' is not a number" +
                            (has_header ? " (column '" + detail::shown_field(names[c]) + "')" : ""));
            if (!std::isfinite(v))
                throw Error(at(line_no, c + 1) + "'" + detail::shown_field(field) +
                            "' is not finite (NaN and Inf are not allowed)");
            // Finite in f64 but not in f32 (1e39): refused rather than loaded as Inf.
            if (dtype == DType::f32 && std::isinf(static_cast<float>(v)))
                throw Error(at(line_no, c + 1) + "'" + detail::shown_field(field) +
                            "' is out of range for f32 (largest magnitude 3.4e38); load it as f64");
            table.push(v);
        }
    }
    if (std::uint64_t(table.rows_done()) != n_rows)
        throw Error(path + ": changed while being read (fewer rows)");
    src.check_unchanged();
    return table.finish(device, source);
}

}  // namespace

Dataset parse_csv(const std::string& text, const std::string& origin, bool intercept, DType dtype,
                  Device device, OnesColumn ones) {
    const detail::MemorySource src(text, detail::shown_path(origin));
    return read_csv(src, origin, intercept, dtype, device, ones);
}

Dataset load_csv(const std::string& path, bool intercept, DType dtype, Device device,
                 OnesColumn ones) {
    const detail::InputFile file(path);
    return read_csv(file, path, intercept, dtype, device, ones);
}

Dataset detail::load_csv_features(const std::string& path, DType dtype, Device device,
                                  char delimiter) {
    const detail::InputFile file(path);
    detail::TableOptions options;
    options.target = false;
    options.delimiter = delimiter;
    return read_csv(file, path, false, dtype, device, OnesColumn::stored, options);
}

Dataset detail::load_csv_with(const std::string& path, bool intercept, DType dtype, Device device,
                              OnesColumn ones, const detail::TableOptions& options) {
    if (path == "-") {
        // Standard input, read to its end (a pipe cannot be read twice, as the parser does).
        std::string bytes;
        char chunk[1 << 16];
        for (;;) {
            const std::size_t got = std::fread(chunk, 1, sizeof chunk, stdin);
            bytes.append(chunk, got);
            if (got < sizeof chunk) break;
        }
        if (std::ferror(stdin)) throw Error("<stdin>: read error");
        const detail::MemorySource src(bytes, "<stdin>");
        return read_csv(src, "<stdin>", intercept, dtype, device, ones, options);
    }
    const detail::InputFile file(path);
    return read_csv(file, path, intercept, dtype, device, ones, options);
}

}  // namespace descent
