// libFuzzer harness for the NPY reader (descent::parse_npy, which load_npy wraps). Bad input
// must give descent::Error starting with the origin; an accepted file must give X (n, d[+1])
// and y (n), finite in the requested dtype, holding exactly the little-endian elements that
// follow the header (floats, or integers and booleans exactly representable in the dtype; C
// or Fortran order), decoded here independently from the header's descr and fortran_order.
// Run: scripts/fuzz.sh (libFuzzer), or the fuzz_replay_npy ctest (corpus + regressions).
#include <cmath>
#include <cstdint>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "descent/data.hpp"
#include "fuzz_common.hpp"

namespace {

const std::string kOrigin = "fuzz.npy";

void check_accepted(const std::string& bytes, const descent::Dataset& data, bool intercept,
                    descent::DType dtype) {
    FUZZ_CHECK(data.source == kOrigin, data.source);
    FUZZ_CHECK(data.X.dim() == 2 && data.y.dim() == 1, "");
    FUZZ_CHECK(data.X.dtype() == dtype && data.y.dtype() == dtype, "");
    const std::int64_t n = data.X.size(0), x_cols = data.X.size(1);
    const std::int64_t cols = intercept ? x_cols : x_cols + 1;  // columns in the file
    FUZZ_CHECK(n >= 1 && cols >= 2 && data.y.size(0) == n, descent::shape_str(data.X.shape()));

    // Magic (6), version (2), header length (2 bytes in 1.0, else 4), header, then the data.
    FUZZ_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, "magic");
    const unsigned major = static_cast<unsigned char>(bytes[6]);
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    std::uint32_t header_len = 0;
    std::memcpy(&header_len, bytes.data() + 8, len_bytes);  // little-endian host
    const std::size_t data_start = 8 + len_bytes + header_len;
    FUZZ_CHECK(data_start <= bytes.size(), "header past the end");
    const std::size_t count = std::size_t(n) * std::size_t(cols);
    const std::size_t data_bytes = bytes.size() - data_start;
    // The header's descr and fortran_order, read here on their own (the parser accepted it).
    const std::string header = bytes.substr(8 + len_bytes, header_len);
    const auto after = [&](const char* key) {
        const std::size_t at = header.find(key);
        FUZZ_CHECK(at != std::string::npos, std::string("no ") + key + " in an accepted header");
        std::size_t v = header.find(':', at + std::strlen(key));
        FUZZ_CHECK(v != std::string::npos, "no value");
        ++v;
        // Any whitespace Python's literal syntax allows there (a newline too: the loader's
        // parser takes it, as numpy does).
        while (v < header.size() && std::isspace(static_cast<unsigned char>(header[v]))) ++v;
        return header.substr(v);
    };
    const std::string descr_field = after("descr");
    FUZZ_CHECK(descr_field.size() >= 5, "descr");
    const char kind = descr_field[2];
    const std::size_t item = std::size_t(descr_field[3] - '0');
    const bool fortran = after("fortran_order").compare(0, 4, "True") == 0;
    FUZZ_CHECK(data_bytes == count * item, std::to_string(data_bytes) + " data bytes for " +
                                               std::to_string(count) + " elements of " +
                                               std::to_string(item) + " bytes");
    const std::uint64_t exact = std::uint64_t(1) << (dtype == descent::DType::f32 ? 24 : 53);

    const std::vector<double> X = fuzz::values(data.X), y = fuzz::values(data.y);
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = fortran ? k % std::size_t(n) : k / std::size_t(cols);
        const std::size_t j = fortran ? k / std::size_t(n) : k % std::size_t(cols);
        const unsigned char* p =
            reinterpret_cast<const unsigned char*>(bytes.data() + data_start + k * item);
        double want;
        if (kind == 'f' && item == 4) {
            float f;
            std::memcpy(&f, p, 4);
            want = f;
        } else if (kind == 'f') {
            std::memcpy(&want, p, 8);
        } else {
            std::uint64_t u = 0;
            std::memcpy(&u, p, item);  // little-endian host
            if (kind == 'i' && item < 8 && ((u >> (8 * item - 1)) & 1)) u |= ~std::uint64_t(0) << (8 * item);
            std::int64_t s;
            std::memcpy(&s, &u, 8);
            want = kind == 'i' ? double(s) : double(u);
            const std::uint64_t magnitude = kind == 'i' && s < 0 ? std::uint64_t(0) - u : u;
            FUZZ_CHECK(magnitude <= exact, "an inexact integer accepted at element " + std::to_string(k));
        }
        if (dtype == descent::DType::f32) want = double(static_cast<float>(want));
        const double got = j + 1 < std::size_t(cols) ? X[i * std::size_t(x_cols) + j] : y[i];
        FUZZ_CHECK(std::isfinite(got), "non-finite value accepted at element " + std::to_string(k));
        FUZZ_CHECK(fuzz::same_bits(got, want), "element " + std::to_string(k) + " read as " +
                                                   fuzz::text(got) + ", the file holds " +
                                                   fuzz::text(want));
    }
    if (intercept)
        for (std::int64_t i = 0; i < n; ++i)
            FUZZ_CHECK(X[std::size_t(i * x_cols + x_cols - 1)] == 1.0, "intercept column");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes = fuzz::bytes_of(data, size);
    fuzz::parse_both_layouts(
        "parse_npy", bytes,
        [](const std::string& b, bool intercept, descent::DType dtype) {
            return descent::parse_npy(b, kOrigin, intercept, dtype, descent::Device::cpu());
        },
        [&](const descent::Dataset& parsed, bool intercept, descent::DType dtype) {
            check_accepted(bytes, parsed, intercept, dtype);
        },
        [&](const std::string& error) { FUZZ_CHECK(error.compare(0, kOrigin.size() + 2, kOrigin + ": ") == 0, error); });
    return 0;
}
