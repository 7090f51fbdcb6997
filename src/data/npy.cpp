// NPY loader (format 1.0, 2.0, 3.0; numpy's NEP 1): a 2-D C-order little-endian f4/f8 array,
// the last column the target, streamed in chunks into the final tensors (all rows, or one
// process's shard of them). Verified by tests/test_data.cpp (committed fixtures from
// tests/reference/make_npy_fixtures.py, hand-built files for every error, chunk boundaries),
// tests/test_data_shard.cpp (shards, their errors and memory) and tests/cli/load_memory.py
// (peak RSS).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "descent/data.hpp"
#include "descent/error.hpp"
#include "read_file.hpp"
#include "shard_loaders.hpp"
#include "table.hpp"
#include "write_file.hpp"
#include "dispatch.hpp"
#include "text.hpp"

namespace descent {

namespace {

// The header is a Python dict literal, e.g.
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// This parses the subset numpy writes: quoted strings, True/False and tuples of integers.
struct HeaderValue {
    enum Kind { kString, kBool, kTuple } kind = kString;
    std::string text;                  // string
    bool flag = false;                 // boolean
    std::vector<std::int64_t> items;   // tuple
};

class HeaderParser {
public:
    HeaderParser(const std::string& path, const std::string& header)
        : m_path(path), m_header(header) {}

    // Calls on_entry(key, value) for each entry of the dict.
    template <class F>
    void parse_dict(F on_entry) {
        expect('{');
        while (true) {
            skip_space();
            if (peek() == '}') break;
            const std::string key = parse_string();
            expect(':');
            on_entry(key, parse_value());
            skip_space();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() != '}') fail("expected ',' or '}'");
        }
        ++m_pos;
        skip_space();
        if (m_pos != m_header.size()) fail("unexpected text after the dict");
    }

    [[noreturn]] void fail(const std::string& what) const {
        std::string_view shown = m_header;
        while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n'))
            shown.remove_suffix(1);
        throw Error(m_path + ": malformed NPY header: " + what + " at offset " +
                    std::to_string(m_pos) + " of " + detail::shown_field(shown));
    }

private:
    char peek() const { return m_pos < m_header.size() ? m_header[m_pos] : '\0'; }
    void skip_space() {
        while (m_pos < m_header.size() &&
               (m_header[m_pos] == ' ' || m_header[m_pos] == '\n' || m_header[m_pos] == '\t'))
            ++m_pos;
    }
    void expect(char c) {
        skip_space();
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++m_pos;
    }
    std::string parse_string() {
        skip_space();
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("expected a quoted string");
        const std::size_t end = m_header.find(quote, m_pos + 1);
        if (end == std::string::npos) fail("unterminated string");
        std::string s = m_header.substr(m_pos + 1, end - m_pos - 1);
        m_pos = end + 1;
        return s;
    }
    std::int64_t parse_int() {
        skip_space();
        const char* first = m_header.data() + m_pos;
        const char* last = m_header.data() + m_header.size();
        std::int64_t v = 0;
        const auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec == std::errc::result_out_of_range) fail("shape dimension out of range");
        if (ec != std::errc() || v < 0) fail("expected a non-negative integer");
        m_pos += std::size_t(ptr - first);
        return v;
    }
    HeaderValue parse_value() {
        skip_space();
        HeaderValue v;
        const char c = peek();
        if (c == '\'' || c == '"') {
            v.kind = HeaderValue::kString;
            v.text = parse_string();
        } else if (m_header.compare(m_pos, 4, "True") == 0) {
            v.kind = HeaderValue::kBool;
            v.flag = true;
            m_pos += 4;
        } else if (m_header.compare(m_pos, 5, "False") == 0) {
            v.kind = HeaderValue::kBool;
            m_pos += 5;
        } else if (c == '(') {
            v.kind = HeaderValue::kTuple;
            ++m_pos;
            while (true) {
                skip_space();
                if (peek() == ')') break;
                v.items.push_back(parse_int());
                skip_space();
                if (peek() == ',') ++m_pos;
                else if (peek() != ')') fail("expected ',' or ')' in the shape tuple");
            }
            ++m_pos;
        } else if (c == '[') {
            fail("a structured dtype (a list descr) is not supported; expected '<f4' or '<f8'");
        } else {
            fail("expected a string, True, False or a tuple");
        }
        return v;
    }

    const std::string& m_path;
    const std::string& m_header;
    std::size_t m_pos = 0;
};

std::uint32_t read_le(const unsigned char* p, int n_bytes) {
    std::uint32_t v = 0;
    for (int i = n_bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

bool host_is_little_endian() {
    const std::uint16_t probe = 1;
    unsigned char first;
    std::memcpy(&first, &probe, 1);
    return first == 1;
}

// Elements in the file's little-endian order, whatever the host's.
float load_f4(const unsigned char* p) {
    const std::uint32_t bits = read_le(p, 4);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
double load_f8(const unsigned char* p) {
    const std::uint64_t bits =
        std::uint64_t(read_le(p, 4)) | (std::uint64_t(read_le(p + 4, 4)) << 32);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
}

// An integer or boolean element ('i' signed, 'u' unsigned, 'b' bool) of `item` bytes,
// little-endian: its value as text and whether its magnitude is at most `limit` (then `out`
// holds it exactly).
bool load_integer(const unsigned char* p, char kind, std::size_t item, std::uint64_t limit,
                  double& out, std::string& text) {
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < item; ++b) bits |= std::uint64_t(p[b]) << (8 * b);
    if (kind == 'i') {
        // Sign-extend the item's width.
        if (item < 8 && ((bits >> (8 * item - 1)) & 1)) bits |= ~std::uint64_t(0) << (8 * item);
        std::int64_t v;
        std::memcpy(&v, &bits, 8);
        const std::uint64_t magnitude = v < 0 ? std::uint64_t(0) - bits : bits;
        text = std::to_string(v);
        out = double(v);
        return magnitude <= limit;
    }
    text = std::to_string(bits);
    out = double(bits);
    return bits <= limit;
}

// The NPY header's length limit, and the size of the chunks the data is read in: enough to
// make each read cheap, small next to any data set worth streaming.
constexpr std::uint64_t kMaxHeaderBytes = 1 << 20;
constexpr std::uint64_t kChunkBytes = 1 << 20;

// Every NPY read, from a file or from memory: the header first, checked against the source's
// size before anything is allocated, then the rows of process `rank` of `ranks` (all of them
// for rank 0 of 1) in fixed-size chunks straight into X and y. The whole file is validated on
// every rank, so a truncated file fails everywhere; only the values read are checked, each
// error naming its row and column in the whole file.
Dataset read_npy(const detail::ByteSource& src, const std::string& source, bool intercept,
                 DType dtype, Device device, OnesColumn ones, int rank, int ranks,
                 const detail::TableOptions& options = {}) {
    const bool target = options.target;
    const std::string& path = src.name();  // errors start with it
    const std::uint64_t size = src.size();

    unsigned char u[12] = {};  // magic (6), version (2), header length (2 or 4)
    src.read(0, reinterpret_cast<char*>(u), std::size_t(std::min<std::uint64_t>(size, 12)));
    if (size < 6 || std::memcmp(u, "\x93NUMPY", 6) != 0)
        throw Error(path + ": not an NPY file (bad magic: the file must start with \\x93NUMPY)");
    if (size < 8) throw Error(path + ": truncated NPY file: no format version after the magic");
    const int major = u[6], minor = u[7];
    if (!((major == 1 || major == 2 || major == 3) && minor == 0))
        throw Error(path + ": unsupported NPY format version " + std::to_string(major) + "." +
                    std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
    // 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4 (3.0 allows a UTF-8 header).
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    if (size < 8 + len_bytes) throw Error(path + ": truncated NPY file: no header length");
    const std::uint64_t header_len = read_le(u + 8, int(len_bytes));
    const std::uint64_t header_start = 8 + len_bytes;
    if (size - header_start < header_len)
        throw Error(path + ": truncated NPY header: expected " + std::to_string(header_len) +
                    " bytes, found " + std::to_string(size - header_start));
    // numpy writes a few hundred bytes; a 4 GiB "header" is not worth reading into memory.
    if (header_len > kMaxHeaderBytes)
        throw Error(path + ": NPY header of " + std::to_string(header_len) +
                    " bytes is longer than the limit of " + std::to_string(kMaxHeaderBytes) +
                    " bytes");
    std::string header(std::size_t(header_len), '\0');
    src.read(header_start, header.data(), header.size());

    HeaderParser parser(path, header);
    bool has_descr = false, has_order = false, has_shape = false;
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
    parser.parse_dict([&](const std::string& key, const HeaderValue& v) {
        auto need = [&](bool& seen, HeaderValue::Kind kind, const char* what) {
            if (seen) parser.fail("duplicate key '" + detail::shown_field(key) + "'");
            if (v.kind != kind) parser.fail("'" + detail::shown_field(key) + "' must be " + what);
            seen = true;
        };
        if (key == "descr") {
            need(has_descr, HeaderValue::kString, "a dtype string");
            descr = v.text;
        } else if (key == "fortran_order") {
            need(has_order, HeaderValue::kBool, "True or False");
            fortran_order = v.flag;
        } else if (key == "shape") {
            need(has_shape, HeaderValue::kTuple, "a tuple");
            shape = v.items;
        } else {
            parser.fail("unexpected key '" + detail::shown_field(key) +
                        "' (expected descr, fortran_order, shape)");
        }
    });
    if (!has_descr) parser.fail("missing key 'descr'");
    if (!has_order) parser.fail("missing key 'fortran_order'");
    if (!has_shape) parser.fail("missing key 'shape'");

    const std::string type = descr.size() == 3 ? descr.substr(1) : "";
    const char order = descr.empty() ? '\0' : descr[0];
    const char kind = type.empty() ? '\0' : type[0];
    const std::size_t item =
        type.size() == 2 && type[1] >= '1' && type[1] <= '8' ? std::size_t(type[1] - '0') : 0;
    const bool known = (kind == 'f' && (item == 4 || item == 8)) ||
                       ((kind == 'i' || kind == 'u') &&
                        (item == 1 || item == 2 || item == 4 || item == 8)) ||
                       (kind == 'b' && item == 1);
    // '<' is little-endian; '=' (native) and '|' (order not applicable) are what numpy's own
    // reader takes as this machine's order, which is unambiguous only on a little-endian host.
    const bool little =
        order == '<' || ((order == '=' || order == '|') && host_is_little_endian());
    const std::string shown_descr = detail::shown_field(descr);
    if (order == '>' && known && item > 1)
        throw Error(path + ": big-endian dtype '" + shown_descr +
                    "' is not supported; save it little-endian (a.astype('<" + type + "'))");
    if (!(little || (order == '>' && item == 1)) || !known)
        throw Error(path + ": unsupported dtype '" + shown_descr +
                    "' (expected float '<f4', '<f8', integer '<i1'..'<i8', '<u1'..'<u8' or "
                    "bool '|b1')");
    // Integers and booleans are converted to the dtype when exact: up to 2^53 in magnitude for
    // f64, 2^24 for f32 (beyond, two integers could load as one number).
    const std::uint64_t exact_limit = std::uint64_t(1) << (dtype == DType::f32 ? 24 : 53);

    if (shape.size() != 2)
        throw Error(path + ": array has rank " + std::to_string(shape.size()) + ", shape " +
                    shape_text(shape) + "; expected a 2-D (rows, columns) array");
    const std::int64_t n_rows = shape[0], n_cols = shape[1];
    if (n_cols < (target ? 2 : 1))
        throw Error(path + ": shape " + shape_text(shape) + " has " + std::to_string(n_cols) +
                    (target ? " column(s); need at least 2 (features, then the target)"
                            : " columns; need at least 1"));
    if (n_rows == 0) throw Error(path + ": shape " + shape_text(shape) + " has zero rows");
    const std::int64_t max_elems = std::numeric_limits<std::int64_t>::max() / 8;
    if (n_rows > max_elems / n_cols)
        throw Error(path + ": shape " + shape_text(shape) + " is too large");

    // The shape must account for every byte of the file before X and y are allocated: a
    // header announcing 10^12 rows on a 200-byte file is refused here, not by bad_alloc.
    const std::uint64_t count = std::uint64_t(n_rows) * std::uint64_t(n_cols);
    const std::uint64_t data_start = header_start + header_len;
    const std::uint64_t expected = count * item, found = size - data_start;
    if (found < expected)
        throw Error(path + ": truncated data: shape " + shape_text(shape) + " of '" +
                    shown_descr + "' needs " + std::to_string(expected) + " bytes, found " +
                    std::to_string(found));
    if (found > expected)
        throw Error(path + ": " + std::to_string(found - expected) +
                    " unexpected bytes after the data of shape " + shape_text(shape));

    const RowShard rows = shard_rows(n_rows, rank, ranks);
    detail::TableBuilder table(rows, detail::plan_columns(n_cols, {}, options.columns, target, path),
                               intercept, ones, dtype, device);
    auto where = [&](std::int64_t row, std::int64_t col) {
        return path + ": row " + std::to_string(row) + ", column " + std::to_string(col) +
               " (counting from 0) is ";
    };
    // Checks one element (its row and column in the whole file) and returns it.
    const auto checked = [&](const unsigned char* p, std::int64_t row, std::int64_t col) {
        if (table.skipped(col)) return 0.0;  // a column left out is not read
        if (kind != 'f') {
            double v;
            std::string text;
            if (!load_integer(p, kind, item, exact_limit, v, text))
                throw Error(where(row, col) + text + ", an integer beyond " +
                            (dtype == DType::f32 ? "2^24, which f32" : "2^53, which f64") +
                            " cannot hold exactly" +
                            (dtype == DType::f32 ? "; load it as f64" : ""));
            return v;
        }
        const double v = item == 4 ? double(load_f4(p)) : load_f8(p);
        if (!std::isfinite(v))
            throw Error(where(row, col) + (std::isnan(v) ? "NaN" : "Inf") +
                        "; NaN and Inf are not allowed");
        // An f8 value finite in f64 but not in f32 (1e39): refused rather than loaded as Inf.
        if (dtype == DType::f32 && std::isinf(static_cast<float>(v))) {
            char text[32];
            const auto shortest = std::to_chars(text, text + sizeof text, v);
            throw Error(where(row, col) + std::string(text, shortest.ptr) +
                        ", out of range for f32 (largest magnitude 3.4e38); load it as f64");
        }
        return v;
    };
    if (!fortran_order) {
        // This shard's elements [first_elem, end_elem) of the file's count, in row-major order.
        const std::uint64_t first_elem = std::uint64_t(rows.begin) * std::uint64_t(n_cols);
        const std::uint64_t end_elem = std::uint64_t(rows.end) * std::uint64_t(n_cols);
        const std::uint64_t chunk_elems =
            std::min<std::uint64_t>(kChunkBytes / item, end_elem - first_elem);
        std::vector<unsigned char> chunk(std::size_t(chunk_elems * item));
        for (std::uint64_t first = first_elem; first < end_elem; first += chunk_elems) {
            const std::size_t n = std::size_t(std::min(chunk_elems, end_elem - first));
            src.read(data_start + first * item, reinterpret_cast<char*>(chunk.data()), n * item);
            const unsigned char* p = chunk.data();
            for (std::size_t i = 0; i < n; ++i, p += item) {
                const std::uint64_t k = first + i;
                table.push(checked(p, std::int64_t(k / std::uint64_t(n_cols)),
                                   std::int64_t(k % std::uint64_t(n_cols))));
            }
        }
    } else {
        // Fortran (column-major) order: each column's rows of this shard are contiguous.
        const std::uint64_t count = std::uint64_t(rows.rows());
        const std::uint64_t chunk_elems = std::min<std::uint64_t>(kChunkBytes / item, count);
        std::vector<unsigned char> chunk(std::size_t(chunk_elems * item));
        for (std::int64_t c = 0; c < n_cols && count > 0; ++c) {
            for (std::uint64_t first = 0; first < count; first += chunk_elems) {
                const std::size_t n = std::size_t(std::min(chunk_elems, count - first));
                const std::uint64_t elem = std::uint64_t(c) * std::uint64_t(n_rows) +
                                           std::uint64_t(rows.begin) + first;
                src.read(data_start + elem * item, reinterpret_cast<char*>(chunk.data()),
                         n * item);
                const unsigned char* p = chunk.data();
                for (std::size_t i = 0; i < n; ++i, p += item) {
                    const std::int64_t r = std::int64_t(first + i);
                    table.put(r, c, checked(p, rows.begin + r, c));
                }
            }
        }
        table.complete();
    }
    src.check_unchanged();
    return table.finish(device, source);
}

}  // namespace

Dataset parse_npy(const std::string& bytes, const std::string& origin, bool intercept, DType dtype,
                  Device device, OnesColumn ones) {
    const detail::MemorySource src(bytes, detail::shown_path(origin));
    return read_npy(src, origin, intercept, dtype, device, ones, 0, 1);
}

Dataset load_npy(const std::string& path, bool intercept, DType dtype, Device device,
                 OnesColumn ones) {
    return detail::load_npy_shard(path, 0, 1, intercept, dtype, device, ones);
}

Dataset detail::load_npy_shard(const std::string& path, int rank, int ranks, bool intercept,
                               DType dtype, Device device, OnesColumn ones) {
    return load_npy_shard_with(path, rank, ranks, intercept, dtype, device, ones, {});
}

Dataset detail::load_npy_shard_with(const std::string& path, int rank, int ranks, bool intercept,
                                    DType dtype, Device device, OnesColumn ones,
                                    const detail::TableOptions& options) {
    const detail::InputFile file(path);
    return read_npy(file, path, intercept, dtype, device, ones, rank, ranks, options);
}

Dataset detail::load_npy_features(const std::string& path, DType dtype, Device device) {
    const detail::InputFile file(path);
    detail::TableOptions options;
    options.target = false;
    return read_npy(file, path, false, dtype, device, OnesColumn::stored, 0, 1, options);
}

void save_npy(const std::string& path, const Tensor& t) {
    detail::check_defined("save_npy", t);
    if (t.dim() != 1 && t.dim() != 2)
        throw Error("save_npy: a vector or a matrix, got " + detail::describe(t));
    const Tensor host = t.detach().to(Device::cpu()).contiguous();
    std::string shape = "(" + std::to_string(host.shape()[0]) +
                        (host.dim() == 1 ? "," : ", " + std::to_string(host.shape()[1])) + ")";
    std::string header = std::string("{'descr': '<") + (host.dtype() == DType::f32 ? "f4" : "f8") +
                         "', 'fortran_order': False, 'shape': " + shape + ", }";
    // numpy pads the header with spaces to a multiple of 64 bytes with the preamble, then '\n'.
    const std::size_t preamble = 10;
    header.append(63 - (preamble + header.size()) % 64, ' ');
    header += '\n';
    if (header.size() > 65535) throw Error("save_npy: header too long");
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\x00';
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    bytes.append(static_cast<const char*>(host.data_ptr()),
                 dtype_size(host.dtype()) * static_cast<std::size_t>(host.numel()));
    detail::write_file_atomically(path, bytes);
}

}  // namespace descent
