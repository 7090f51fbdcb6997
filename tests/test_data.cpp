// Datasets: CSV and NPY loaders (happy paths and one case per error, asserting descent::Error
// and a message fragment), synthetic data (determinism, y = X·w + b + noise recomputed here,
// layouts, spec errors) and load_dataset's dispatch. NPY fixtures: make_npy_fixtures.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "descent/data.hpp"
#include "descent/detail/philox.hpp"
#include "descent/error.hpp"

using Catch::Matchers::Contains;
using descent::Dataset;
using descent::Device;
using descent::DType;
using descent::Shape;

namespace {

// The expression must throw descent::Error whose message contains every fragment.
#define REQUIRE_ERROR(expr, matcher)             \
    do {                                         \
        REQUIRE_THROWS_AS(expr, descent::Error); \
        REQUIRE_THROWS_WITH(expr, matcher);      \
    } while (0)

// A fresh directory for one test case, removed afterwards.
class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "descent_data_XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        m_path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string write(const std::string& name, const std::string& bytes) const {
        const std::string path = (m_path / name).string();
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }
    std::string path(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

std::string fixture(const std::string& name) {
    return std::string(DESCENT_FIXTURES_DIR) + "/" + name;
}

Dataset csv(const std::string& path, bool intercept = true) {
    return descent::load_csv(path, intercept, DType::f64, Device::cpu());
}
Dataset npy(const std::string& path, bool intercept = true) {
    return descent::load_npy(path, intercept, DType::f64, Device::cpu());
}

// An NPY file as np.save lays it out: magic, version, header length, the dict padded with
// spaces to a multiple of 64 bytes and ended by '\n', then the raw data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1,
                      int minor = 0) {
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    std::string header = dict;
    while ((6 + 2 + len_bytes + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += char(major);
    out += char(minor);
    for (std::size_t i = 0; i < len_bytes; ++i) out += char((header.size() >> (8 * i)) & 0xff);
    return out + header + data;
}

// Little-endian bytes of doubles / floats (the test hosts are little-endian, like numpy's '<').
std::string f8_bytes(const std::vector<double>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8);
}
std::string f4_bytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// The value every good NPY fixture holds (see make_npy_fixtures.py): (3r + c - 5) / 4.
double fixture_value(int r, int c) { return (3.0 * r + c - 5.0) / 4.0; }

void require_fixture_table(const Dataset& ds, bool intercept) {
    REQUIRE(ds.X.shape() == Shape{4, intercept ? 3 : 2});
    REQUIRE(ds.y.shape() == Shape{4});
    const std::vector<double> X = ds.X.to_vector<double>(), y = ds.y.to_vector<double>();
    const std::size_t cols = intercept ? 3 : 2;
    for (int r = 0; r < 4; ++r) {
        CHECK(X[r * cols + 0] == fixture_value(r, 0));
        CHECK(X[r * cols + 1] == fixture_value(r, 1));
        if (intercept) CHECK(X[r * cols + 2] == 1.0);
        CHECK(y[r] == fixture_value(r, 2));
    }
}

const std::string kGoodDict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
const std::vector<double> kSix = {1, 2, 3, 4, 5, 6};

}  // namespace

// --- CSV ---------------------------------------------------------------------------------

TEST_CASE("load_csv reads a header, spaces, CRLF and blank trailing lines", "[data][csv]") {
    TempDir dir;
    const std::string path =
        dir.write("a.csv", "\xEF\xBB\xBFx1, x2 ,y\r\n1,2,3\r\n 4 , -5.5e1 , +6 \r\n\r\n  \n");
    const Dataset ds = csv(path);
    REQUIRE(ds.X.shape() == Shape{2, 3});
    CHECK(ds.X.to_vector<double>() == std::vector<double>{1, 2, 1, 4, -55, 1});
    CHECK(ds.y.to_vector<double>() == std::vector<double>{3, 6});
    CHECK(ds.source == path);
    CHECK(ds.intercept);
    CHECK(ds.true_weights.empty());

    const Dataset plain = csv(path, false);
    REQUIRE(plain.X.shape() == Shape{2, 2});
    CHECK(plain.X.to_vector<double>() == std::vector<double>{1, 2, 4, -55});
    CHECK_FALSE(plain.intercept);

    const Dataset f32 = descent::load_csv(path, true, DType::f32, Device::cpu());
    CHECK(f32.X.dtype() == DType::f32);
    CHECK(f32.y.to_vector<float>() == std::vector<float>{3, 6});
}

TEST_CASE("load_csv reads a file without header or final newline", "[data][csv]") {
    TempDir dir;
    const Dataset ds = csv(dir.write("b.csv", "1,2\n0.25,4"));
    CHECK(ds.X.to_vector<double>() == std::vector<double>{1, 1, 0.25, 1});
    CHECK(ds.y.to_vector<double>() == std::vector<double>{2, 4});
    // An empty first name (pandas' index column) with other names is still a header.
    const Dataset named = csv(dir.write("c.csv", ",x,y\n1,2,3\n"));
    CHECK(named.X.to_vector<double>() == std::vector<double>{1, 2, 1});
}

TEST_CASE("load_csv errors name the path, line and column", "[data][csv][errors]") {
    TempDir dir;
    const std::string missing = dir.path("missing.csv");
    REQUIRE_ERROR(csv(missing), Contains(missing) && Contains("no such file"));
    REQUIRE_ERROR(csv(dir.path("")), Contains("is a directory"));

    auto fails = [&](const std::string& text, const std::string& fragment) {
        const std::string path = dir.write("bad.csv", text);
        INFO("csv text: " << text);
        REQUIRE_ERROR(csv(path), Contains(path + ": ") && Contains(fragment));
    };
    fails("", "empty file");
    fails("\n \n\n", "empty file");
    fails("x,y\n", "no data rows");
    fails("x,y\n1,2\n3,abc\n", "line 3, column 2: 'abc' is not a number");
    fails("x,y\n1,\n", "line 2, column 2: empty field");
    fails("1,,2\n", "line 1, column 2: empty field");
    fails("a,b,c\n1,2,3\n4,5\n", "line 3, column 3: expected 3 fields (as on line 1), found 2");
    fails("1,2\n3,4,5\n", "line 2, column 3: expected 2 fields (as on line 1), found 3");
    fails("1,nan\n", "line 1, column 2: 'nan' is not finite");
    fails("x,y\n1,2\n-inf,3\n", "line 3, column 1: '-inf' is not finite");
    fails("x,y\n1e999,3\n", "line 2, column 1: '1e999' is not finite");
    fails("1\n2\n", "need at least 2");
    fails("1,2\n\n3,4\n", "line 2: blank line");
    fails("\n1,2\n", "line 1: blank line");
}

// --- NPY ---------------------------------------------------------------------------------

TEST_CASE("load_npy reads numpy's f8 and f4 files, versions 1.0, 2.0 and 3.0", "[data][npy]") {
    for (const char* name : {"npy_f64.npy", "npy_f32.npy", "npy_f64_v2.npy", "npy_f64_v3.npy"}) {
        INFO(name);
        const Dataset ds = npy(fixture(name));
        require_fixture_table(ds, true);
        require_fixture_table(npy(fixture(name), false), false);
        CHECK(ds.source == fixture(name));
        CHECK(ds.true_weights.empty());
    }
    const Dataset f32 = descent::load_npy(fixture("npy_f32.npy"), true, DType::f32, Device::cpu());
    CHECK(f32.X.dtype() == DType::f32);
}

TEST_CASE("load_npy reads files written here, with '=' and '|' byte-order markers", "[data][npy]") {
    TempDir dir;
    const Dataset a = npy(dir.write("a.npy", npy_bytes(kGoodDict, f8_bytes(kSix))));
    CHECK(a.X.to_vector<double>() == std::vector<double>{1, 2, 1, 4, 5, 1});
    CHECK(a.y.to_vector<double>() == std::vector<double>{3, 6});
    const Dataset b = npy(dir.write(
        "b.npy", npy_bytes("{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"=f8\"}",
                           f8_bytes(kSix), 2)));
    CHECK(b.y.to_vector<double>() == std::vector<double>{3, 6});
    const Dataset c = npy(
        dir.write("c.npy", npy_bytes("{'descr': '|f4', 'fortran_order': False, 'shape': (3, 2)}",
                                     f4_bytes({1.5f, 2, 3, 4, 5, 6}))));
    CHECK(c.X.to_vector<double>() == std::vector<double>{1.5, 1, 3, 1, 5, 1});
}

TEST_CASE("load_npy rejects numpy files it does not support", "[data][npy][errors]") {
    REQUIRE_ERROR(npy(fixture("npy_fortran.npy")),
                  Contains("npy_fortran.npy: fortran_order is True"));
    REQUIRE_ERROR(npy(fixture("npy_int64.npy")),
                  Contains("npy_int64.npy: unsupported dtype '<i8'") && Contains("'<f4' or '<f8'"));
    REQUIRE_ERROR(npy(fixture("npy_3d.npy")), Contains("rank 3, shape (2, 3, 2)"));
    REQUIRE_ERROR(npy(fixture("npy_big_endian.npy")), Contains("big-endian dtype '>f8'"));
}

TEST_CASE("load_npy errors name the path and what is wrong", "[data][npy][errors]") {
    TempDir dir;
    auto fails = [&](const std::string& bytes, const std::string& fragment) {
        const std::string path = dir.write("bad.npy", bytes);
        REQUIRE_ERROR(npy(path), Contains(path + ": ") && Contains(fragment));
    };
    REQUIRE_ERROR(npy(dir.path("none.npy")), Contains("none.npy: no such file"));
    fails("", "bad magic");
    fails("PK\x03\x04 a zip file, not npy", "bad magic");
    fails("\x93NUMPY", "truncated");
    fails(npy_bytes(kGoodDict, f8_bytes(kSix), 4), "unsupported NPY format version 4.0");
    fails(npy_bytes(kGoodDict, f8_bytes(kSix), 1, 1), "unsupported NPY format version 1.1");
    fails(std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 18),
          "truncated NPY header: expected 255");

    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False}", ""), "missing key 'shape'");
    fails(npy_bytes("{'descr': '<f8' 'fortran_order': False, 'shape': (2, 3)}", ""),
          "malformed NPY header: expected ',' or '}'");
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", ""),
          "malformed NPY header");
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': (1,)}", ""),
          "unexpected key 'x'");
    fails(
        npy_bytes("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", ""),
        "duplicate key 'descr'");
    fails(npy_bytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,)}", ""),
          "structured dtype");
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}", ""),
          "malformed NPY header");
    fails(npy_bytes("not a dict", ""), "malformed NPY header: expected '{'");

    fails(npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", ""),
          "unsupported dtype '<f2'");
    fails(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", ""),
          "big-endian dtype '>f4'");
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (6, 1), }", f8_bytes(kSix)),
          "has 1 column(s); need at least 2");
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", ""),
          "has zero rows");
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", f8_bytes(kSix)),
          "rank 1, shape (6,)");
    fails(npy_bytes(kGoodDict, f8_bytes({1, 2, 3, 4, 5})),
          "truncated data: shape (2, 3) of '<f8' needs 48 bytes, found 40");
    fails(npy_bytes(kGoodDict, f8_bytes({1, 2, 3, 4, 5, 6, 7})),
          "8 unexpected bytes after the data");
    fails(npy_bytes(kGoodDict, f8_bytes({1, 2, 3, 4, std::nan(""), 6})),
          "row 1, column 1 (counting from 0) is NaN");
    fails(npy_bytes(kGoodDict, f8_bytes({1, 2, -HUGE_VAL, 4, 5, 6})),
          "row 0, column 2 (counting from 0) is Inf");
}

// --- synthetic ---------------------------------------------------------------------------

TEST_CASE("synthetic data is deterministic and y = X·w + b + noise", "[data][synthetic]") {
    using descent::detail::synthetic_value;
    const descent::SyntheticSpec spec =
        descent::parse_synthetic_spec("synthetic:n=200,d=5,noise=0.5,seed=12345678901");
    CHECK(spec.n == 200);
    CHECK(spec.d == 5);
    CHECK(spec.noise == 0.5);
    CHECK(spec.seed == 12345678901ULL);

    const Dataset a = descent::synthetic_dataset(spec, true, DType::f64, Device::cpu());
    const Dataset b = descent::synthetic_dataset(spec, true, DType::f64, Device::cpu());
    CHECK(a.X.to_vector<double>() == b.X.to_vector<double>());
    CHECK(a.y.to_vector<double>() == b.y.to_vector<double>());
    CHECK(a.source == "synthetic:n=200,d=5,noise=0.5,seed=12345678901");
    CHECK(descent::parse_synthetic_spec(a.source).seed == spec.seed);

    descent::SyntheticSpec other = spec;
    other.seed += 1;
    CHECK(
        descent::synthetic_dataset(other, true, DType::f64, Device::cpu()).X.to_vector<double>() !=
        a.X.to_vector<double>());

    REQUIRE(a.X.shape() == Shape{200, 6});
    REQUIRE(a.true_weights.size() == 6);
    const std::vector<double> X = a.X.to_vector<double>(), y = a.y.to_vector<double>();
    const std::vector<double>& w = a.true_weights;
    for (int j = 0; j <= 5; ++j) {
        CHECK(w[j] == synthetic_value(spec.seed, 2, std::uint64_t(j), 0));
        CHECK((w[j] >= -2.0 && w[j] < 2.0));
    }
    double max_err = 0.0;
    for (int i = 0; i < 200; ++i) {
        double fit = 0.0;
        for (int j = 0; j < 5; ++j) {
            CHECK(X[i * 6 + j] ==
                  synthetic_value(spec.seed, 0, std::uint64_t(i), std::uint32_t(j)));
            fit += X[i * 6 + j] * w[j];
        }
        CHECK(X[i * 6 + 5] == 1.0);
        const double noise = y[i] - fit - w[5];
        CHECK(std::abs(noise) <= 0.5 * std::sqrt(3.0) + 1e-12);
        max_err = std::max(
            max_err, std::abs(noise - 0.5 * synthetic_value(spec.seed, 1, std::uint64_t(i), 0)));
    }
    CHECK(max_err <= 1e-12);

    SECTION("noise = 0 gives y = X·w + b") {
        descent::SyntheticSpec quiet = spec;
        quiet.noise = 0.0;
        const Dataset q = descent::synthetic_dataset(quiet, true, DType::f64, Device::cpu());
        CHECK(q.X.to_vector<double>() == X);
        const std::vector<double> yq = q.y.to_vector<double>();
        for (int i = 0; i < 200; ++i) {
            double fit = w[5];
            for (int j = 0; j < 5; ++j) fit += X[i * 6 + j] * w[j];
            CHECK(std::abs(yq[i] - fit) <= 1e-12);
        }
    }
    SECTION("without intercept: no ones column, no b") {
        const Dataset c = descent::synthetic_dataset(spec, false, DType::f64, Device::cpu());
        REQUIRE(c.X.shape() == Shape{200, 5});
        CHECK_FALSE(c.intercept);
        CHECK(c.true_weights == std::vector<double>(w.begin(), w.begin() + 5));
        const std::vector<double> Xc = c.X.to_vector<double>(), yc = c.y.to_vector<double>();
        for (int i = 0; i < 200; ++i) {
            for (int j = 0; j < 5; ++j) CHECK(Xc[i * 5 + j] == X[i * 6 + j]);
            CHECK(std::abs(yc[i] + w[5] - y[i]) <= 1e-12);
        }
    }
    SECTION("f32 holds the f64 values rounded once") {
        const Dataset f = descent::synthetic_dataset(spec, true, DType::f32, Device::cpu());
        CHECK(f.X.dtype() == DType::f32);
        const std::vector<float> yf = f.y.to_vector<float>();
        for (int i = 0; i < 200; ++i) CHECK(yf[i] == static_cast<float>(y[i]));
    }
}

TEST_CASE("parse_synthetic_spec defaults and errors", "[data][synthetic][errors]") {
    const descent::SyntheticSpec s = descent::parse_synthetic_spec("synthetic:d=3,n=10");
    CHECK(s.n == 10);
    CHECK(s.d == 3);
    CHECK(s.noise == 0.1);
    CHECK(s.seed == 0);

    const std::vector<std::pair<std::string, std::string>> cases = {
        {"synthetic:d=3", "missing n"},
        {"synthetic:n=3", "missing d"},
        {"synthetic:", "item 1 is empty"},
        {"synthetic:n=5,d=2,", "item 3 is empty"},
        {"synthetic:n=5,d", "'d' is not key=value"},
        {"synthetic:n=3,d=2,foo=1", "unknown key 'foo' (accepted keys: n, d, noise, seed)"},
        {"synthetic:n=3,n=4,d=2", "duplicate key 'n'"},
        {"synthetic:n=abc,d=2", "n=abc is not an integer"},
        {"synthetic:n=,d=2", "n= is not an integer"},
        {"synthetic:n=10x,d=2", "n=10x is not an integer (trailing 'x')"},
        {"synthetic:n=0,d=2", "n must be >= 1, got 0"},
        {"synthetic:n=-5,d=2", "n must be >= 1, got -5"},
        {"synthetic:n=5,d=0", "d must be >= 1, got 0"},
        {"synthetic:n=5,d=2,noise=-1", "noise must be finite and >= 0"},
        {"synthetic:n=5,d=2,noise=nan", "noise must be finite and >= 0"},
        {"synthetic:n=5,d=2,noise=inf", "noise must be finite and >= 0"},
        {"synthetic:n=5,d=2,noise=0.1x", "noise=0.1x is not a number (trailing 'x')"},
        {"synthetic:n=5,d=2,seed=-1", "seed=-1 is not a non-negative integer"},
        {"synthetic:n=5,d=2,seed=1.5", "trailing '.5'"},
        {"synthetic:n=99999999999999999999,d=2", "n=99999999999999999999 is out of range"},
        {"synthetic:n=1,d=5000000000", "d = 5000000000 exceeds 2^32 - 2"},
        {"synthetic:n=4000000000000,d=4000000", "n*d overflows"},
        {"synthetic;n=5,d=2", "does not start with 'synthetic:'"},
    };
    for (const auto& [spec, fragment] : cases) {
        INFO("spec: " << spec);
        REQUIRE_ERROR(descent::parse_synthetic_spec(spec),
                      Contains("synthetic spec '" + spec + "'") && Contains(fragment));
    }

    descent::SyntheticSpec bad;  // n = d = 0: built by hand, checked again when used
    REQUIRE_ERROR(descent::synthetic_dataset(bad, true, DType::f64, Device::cpu()),
                  Contains("n must be >= 1"));
}

// --- load_dataset ------------------------------------------------------------------------

TEST_CASE("load_dataset picks the source from the spec", "[data]") {
    TempDir dir;
    const Dataset blog = descent::load_dataset("blog", true, DType::f64, Device::cpu());
    CHECK(blog.source == "blog");
    CHECK(blog.X.shape() == Shape{100, 2});
    REQUIRE_ERROR(descent::load_dataset("blog", false, DType::f64, Device::cpu()),
                  Contains("always has an intercept"));

    const Dataset syn =
        descent::load_dataset("synthetic:n=7,d=2,seed=3", false, DType::f32, Device::cpu());
    CHECK(syn.X.shape() == Shape{7, 2});
    CHECK(syn.X.dtype() == DType::f32);
    REQUIRE_ERROR(descent::load_dataset("synthetic", true, DType::f64, Device::cpu()),
                  Contains("does not start with 'synthetic:'"));

    const std::string named = dir.write("synthetic_data.csv", "1,2\n3,4\n");
    CHECK(descent::load_dataset(named, true, DType::f64, Device::cpu()).source == named);
    const std::string upper = dir.write("DATA.CSV", "1,2\n3,4\n");
    CHECK(descent::load_dataset(upper, true, DType::f64, Device::cpu()).source == upper);
    const std::string npy_path = dir.write("data.Npy", npy_bytes(kGoodDict, f8_bytes(kSix)));
    CHECK(descent::load_dataset(npy_path, true, DType::f64, Device::cpu()).X.shape() ==
          Shape{2, 3});

    REQUIRE_ERROR(descent::load_dataset("data.txt", true, DType::f64, Device::cpu()),
                  Contains("dataset 'data.txt'") && Contains("'blog'") && Contains("synthetic:") &&
                      Contains(".csv") && Contains(".npy"));
}

// --- in-memory parsers, and what fuzzing found (fuzz/regressions/) ------------------------

TEST_CASE("parse_csv and parse_npy read bytes in memory, named by their origin", "[data]") {
    const Dataset c =
        descent::parse_csv("x,y\n1,2\n3,4\n", "mem.csv", true, DType::f64, Device::cpu());
    CHECK(c.source == "mem.csv");
    CHECK(c.X.to_vector<double>() == std::vector<double>{1, 1, 3, 1});
    CHECK(c.y.to_vector<double>() == std::vector<double>{2, 4});
    REQUIRE_ERROR(descent::parse_csv("x,y\n1,abc\n", "mem.csv", true, DType::f64, Device::cpu()),
                  Contains("mem.csv: line 2, column 2: 'abc' is not a number"));

    const Dataset n = descent::parse_npy(npy_bytes(kGoodDict, f8_bytes(kSix)), "mem.npy", false,
                                         DType::f64, Device::cpu());
    CHECK(n.source == "mem.npy");
    CHECK(n.X.to_vector<double>() == std::vector<double>{1, 2, 4, 5});
    REQUIRE_ERROR(descent::parse_npy("hello", "mem.npy", true, DType::f64, Device::cpu()),
                  Contains("mem.npy: not an NPY file"));
}

TEST_CASE("CSV numbers too small for a double read as zero, as strtod reads them", "[data][csv]") {
    // fuzz/regressions/csv/underflow_read_as_infinite.csv: they were refused as "not finite".
    const Dataset ds = descent::parse_csv("1e-400,-1e-400,2\n0.0001e-330,5e-324,3\n", "u.csv",
                                          false, DType::f64, Device::cpu());
    const std::vector<double> X = ds.X.to_vector<double>();
    CHECK(X[0] == 0.0);
    CHECK(!std::signbit(X[0]));
    CHECK(X[1] == 0.0);
    CHECK(std::signbit(X[1]));
    CHECK(X[2] == 0.0);
    CHECK(X[3] == std::numeric_limits<double>::denorm_min());
    // Too large is still refused.
    REQUIRE_ERROR(descent::parse_csv("1,-12e400\n", "u.csv", true, DType::f64, Device::cpu()),
                  Contains("line 1, column 2: '-12e400' is not finite"));
}

TEST_CASE("values beyond f32's range are refused when loading as f32", "[data][errors]") {
    // fuzz/regressions/csv/above_f32_range.csv and npy/f8_above_f32_range: they became Inf.
    const std::string text = "x,y\n1,2\n3,-1e39\n";
    const Dataset as_f64 = descent::parse_csv(text, "big.csv", true, DType::f64, Device::cpu());
    CHECK(as_f64.y.to_vector<double>() == std::vector<double>{2, -1e39});
    REQUIRE_ERROR(descent::parse_csv(text, "big.csv", true, DType::f32, Device::cpu()),
                  Contains("big.csv: line 3, column 2: '-1e39' is out of range for f32"));
    CHECK(descent::parse_csv("1,3.4e38\n", "ok.csv", true, DType::f32, Device::cpu())
              .y.to_vector<float>() == std::vector<float>{3.4e38f});

    const std::string bytes = npy_bytes(kGoodDict, f8_bytes({1, 2, 3, 4, 1e300, 6}));
    CHECK(descent::parse_npy(bytes, "big.npy", true, DType::f64, Device::cpu()).X.numel() == 6);
    REQUIRE_ERROR(descent::parse_npy(bytes, "big.npy", true, DType::f32, Device::cpu()),
                  Contains("big.npy: row 1, column 1 (counting from 0) is 1e+300, "
                           "out of range for f32"));
}

TEST_CASE("synthetic data refuses a noise that could overflow the dtype", "[data][synthetic]") {
    // fuzz/regressions/data_spec/noise_overflows_f32: y was Inf in f32.
    const auto spec = descent::parse_synthetic_spec("synthetic:n=5,d=2,noise=91e99");
    const Dataset f64 = descent::synthetic_dataset(spec, true, DType::f64, Device::cpu());
    for (double v : f64.y.to_vector<double>()) CHECK(std::isfinite(v));
    REQUIRE_ERROR(descent::synthetic_dataset(spec, true, DType::f32, Device::cpu()),
                  Contains("noise is too large for f32 data") && Contains("at most 8.5e+37"));
    REQUIRE_ERROR(descent::load_dataset("synthetic:n=5,d=2,noise=1e308", true, DType::f64,
                                        Device::cpu()),
                  Contains("noise is too large for f64 data"));
}
