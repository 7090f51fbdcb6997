// Datasets: CSV and NPY loaders (happy paths and one case per error, asserting descent::Error
// and a message fragment; input files that are not regular files; chunk boundaries; parse_*
// against load_*), synthetic data (determinism, y = X·w + b + noise recomputed here, layouts,
// spec errors) and load_dataset's dispatch. NPY fixtures: make_npy_fixtures.py.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "data/read_file.hpp"
#include "data/table.hpp"
#include "temp_dir.hpp"
#include "descent/checkpoint.hpp"
#include "descent/data.hpp"
#include "shared/philox.hpp"
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

// How the intercept is held (OnesColumn): stored as X's last column, implicit (X the file's
// features; weight_rows counts the intercept), and automatic: stored while the column is
// cheap (it is for any file under 32 MiB of rows), and no ones column without intercept.
TEST_CASE("the loaders hold the intercept stored, implicit or as automatic chooses",
          "[data][csv][npy][intercept]") {
    TempDir dir;
    const std::string path = dir.write("a.csv", "x1,x2,y\n1,2,3\n4,-5,6\n");
    const Dataset implicit =
        descent::load_csv(path, true, DType::f64, Device::cpu(), descent::OnesColumn::implicit);
    REQUIRE(implicit.X.shape() == Shape{2, 2});
    CHECK(implicit.X.to_vector<double>() == std::vector<double>{1, 2, 4, -5});
    CHECK(implicit.y.to_vector<double>() == std::vector<double>{3, 6});
    CHECK(implicit.ones_column == descent::OnesColumn::implicit);
    CHECK(descent::implicit_intercept(implicit));
    CHECK(descent::weight_rows(implicit) == 3);

    const Dataset automatic =
        descent::load_csv(path, true, DType::f64, Device::cpu(), descent::OnesColumn::automatic);
    REQUIRE(automatic.X.shape() == Shape{2, 3});
    CHECK(automatic.X.to_vector<double>() == std::vector<double>{1, 2, 1, 4, -5, 1});
    CHECK(automatic.ones_column == descent::OnesColumn::stored);
    CHECK(descent::weight_rows(automatic) == 3);

    const Dataset none =
        descent::load_csv(path, false, DType::f64, Device::cpu(), descent::OnesColumn::implicit);
    REQUIRE(none.X.shape() == Shape{2, 2});
    CHECK_FALSE(descent::implicit_intercept(none));
    CHECK(descent::weight_rows(none) == 2);

    // automatic's threshold, without loading that much: 32 MiB + 8% of X and y.
    using descent::detail::host_ones_column;
    const auto cpu = Device::cpu();
    const auto autom = descent::OnesColumn::automatic;
    CHECK(host_ones_column(autom, 4'000'000, 2, DType::f64, cpu) == descent::OnesColumn::stored);
    CHECK(host_ones_column(autom, 6'000'000, 2, DType::f64, cpu) == descent::OnesColumn::implicit);
    CHECK(host_ones_column(autom, 12'000'000, 2, DType::f32, cpu) == descent::OnesColumn::implicit);
    CHECK(host_ones_column(autom, 50'000'000, 17, DType::f64, cpu) == descent::OnesColumn::stored);
    CHECK(host_ones_column(autom, 50'000'000, 10, DType::f64, cpu) == descent::OnesColumn::implicit);
    CHECK(host_ones_column(autom, 10, 2, DType::f64, Device::cuda(0)) ==
          descent::OnesColumn::implicit);
    CHECK(host_ones_column(descent::OnesColumn::stored, 50'000'000, 2, DType::f64, cpu) ==
          descent::OnesColumn::stored);

    const Dataset from_npy =
        descent::parse_npy(npy_bytes(kGoodDict, f8_bytes(kSix)), "a.npy", true, DType::f32,
                           Device::cpu(), descent::OnesColumn::implicit);
    REQUIRE(from_npy.X.shape() == Shape{2, 2});
    CHECK(from_npy.X.to_vector<float>() == std::vector<float>{1, 2, 4, 5});
    CHECK(from_npy.y.to_vector<float>() == std::vector<float>{3, 6});
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

TEST_CASE("load_npy reads Fortran order and integers as numpy holds them", "[data][npy]") {
    // numpy's asfortranarray and astype('<i8') of the same table as npy_f64.npy.
    const Dataset c_order = npy(fixture("npy_f64.npy"));
    const Dataset fortran = npy(fixture("npy_fortran.npy"));
    CHECK(fortran.X.to_vector<double>() == c_order.X.to_vector<double>());
    CHECK(fortran.y.to_vector<double>() == c_order.y.to_vector<double>());
    const Dataset ints = npy(fixture("npy_int64.npy"));
    std::vector<double> truncated = c_order.X.to_vector<double>();
    for (double& v : truncated) v = std::trunc(v);  // astype('<i8') truncates toward 0
    CHECK(ints.X.to_vector<double>() == truncated);
}

TEST_CASE("load_npy converts integers only when exact", "[data][npy][errors]") {
    TempDir dir;
    const auto i8 = [](std::vector<std::int64_t> v) {
        return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8);
    };
    const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }";
    const std::int64_t big = (std::int64_t(1) << 53) + 1;
    CHECK(npy(dir.write("ok.npy", npy_bytes(dict, i8({-3, 1LL << 53, 7, -(1LL << 53)}))))
              .y.to_vector<double>() == std::vector<double>{9007199254740992.0, -9007199254740992.0});
    REQUIRE_ERROR(npy(dir.write("big.npy", npy_bytes(dict, i8({1, 2, big, 4})))),
                  Contains("big.npy: row 1, column 0 (counting from 0) is 9007199254740993") &&
                      Contains("an integer beyond 2^53"));
    const std::string i4 = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }";
    const std::int32_t over24[2] = {(1 << 24) + 1, 5};
    REQUIRE_ERROR(descent::load_npy(dir.write("f32.npy", npy_bytes(i4, std::string(reinterpret_cast<const char*>(over24), 8))),
                                    true, DType::f32, Device::cpu()),
                  Contains("beyond 2^24") && Contains("load it as f64"));
    const std::string b1 = "{'descr': '|b1', 'fortran_order': True, 'shape': (2, 2), }";
    const Dataset bools = npy(dir.write("b.npy", npy_bytes(b1, std::string("\x01\x00\x00\x01", 4))));
    CHECK(bools.X.to_vector<double>() == std::vector<double>{1, 1, 0, 1});  // column-major
    CHECK(bools.y.to_vector<double>() == std::vector<double>{0, 1});
    REQUIRE_ERROR(npy(dir.write("c.npy", npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (1, 2), }",
                                                   std::string(32, '\0')))),
                  Contains("unsupported dtype '<c16'") && Contains("integer '<i1'..'<i8'"));
}

TEST_CASE("load_npy rejects numpy files it does not support", "[data][npy][errors]") {
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

// --- input files are checked before they are read (issue 11 item 3) ----------------------

namespace {

// Fails the whole test binary after `seconds` instead of letting a blocking open hang ctest.
class Deadline {
public:
    explicit Deadline(unsigned seconds) { alarm(seconds); }
    ~Deadline() { alarm(0); }
};

// Bitwise equality of two datasets' tensors (shapes, dtypes, values).
void require_same(const Dataset& a, const Dataset& b) {
    REQUIRE(a.X.shape() == b.X.shape());
    REQUIRE(a.y.shape() == b.y.shape());
    REQUIRE(a.X.dtype() == b.X.dtype());
    CHECK(a.X.to_vector<double>() == b.X.to_vector<double>());
    CHECK(a.y.to_vector<double>() == b.y.to_vector<double>());
    CHECK(a.intercept == b.intercept);
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("input files must be regular files: FIFOs and devices are refused at once",
          "[data][errors][input]") {
    TempDir dir;
    const Deadline deadline(20);  // a FIFO opened for reading without O_NONBLOCK waits forever
    const std::string fifo_csv = dir.path("fifo.csv"), fifo_npy = dir.path("fifo.npy"),
                      fifo_ckpt = dir.path("fifo.ckpt");
    for (const std::string& f : {fifo_csv, fifo_npy, fifo_ckpt})
        REQUIRE(mkfifo(f.c_str(), 0600) == 0);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE_ERROR(csv(fifo_csv), Contains(fifo_csv + ": is a FIFO, not a regular file"));
    REQUIRE_ERROR(npy(fifo_npy), Contains(fifo_npy + ": is a FIFO, not a regular file"));
    // --resume reads through the same InputFile (read_file_bytes).
    REQUIRE_ERROR(descent::load_checkpoint(fifo_ckpt),
                  Contains(fifo_ckpt + ": is a FIFO, not a regular file"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));

    // Symlinks are followed: to a regular file they load, to a device they are refused before
    // a byte is read (reading /dev/zero "until the end" ran into bad_alloc).
    const std::string good = dir.write("good.csv", "1,2\n3,4\n");
    REQUIRE(symlink(good.c_str(), dir.path("link.csv").c_str()) == 0);
    CHECK(csv(dir.path("link.csv")).y.to_vector<double>() == std::vector<double>{2, 4});
    const std::string zero = dir.path("x.npy"), urandom = dir.path("x.csv"),
                      zero_ckpt = dir.path("zero.ckpt");
    REQUIRE(symlink("/dev/zero", zero.c_str()) == 0);
    REQUIRE(symlink("/dev/urandom", urandom.c_str()) == 0);
    REQUIRE(symlink("/dev/zero", zero_ckpt.c_str()) == 0);
    REQUIRE_ERROR(npy(zero), Contains(zero + ": is a character device, not a regular file"));
    REQUIRE_ERROR(csv(urandom), Contains(urandom + ": is a character device, not a regular file"));
    REQUIRE_ERROR(descent::load_checkpoint(zero_ckpt),
                  Contains(zero_ckpt + ": is a character device, not a regular file"));
    REQUIRE_ERROR(npy("/dev/null"), Contains("/dev/null: is a character device"));
    REQUIRE_ERROR(npy(dir.path("")), Contains("is a directory, not a data file"));
    REQUIRE_ERROR(csv(good + "/x.csv"), Contains("/x.csv: no such file"));

    // A path is shown escaped, on one line.
    const std::string odd = dir.path("a\nb.csv");
    REQUIRE_ERROR(csv(odd), Contains("a\\nb.csv: no such file"));
}

TEST_CASE("an input file that changes size while being read is reported", "[data][errors][input]") {
    TempDir dir;
    const std::string path = dir.write("grow.csv", "1,2\n3,4\n");
    {
        const descent::detail::InputFile file(path);
        REQUIRE(file.size() == 8);
        std::ofstream(path, std::ios::app) << "5,6\n";
        REQUIRE_ERROR(file.check_unchanged(), Contains(path + ": changed size while being read"));
    }
    {
        const descent::detail::InputFile file(path);
        REQUIRE(truncate(path.c_str(), 4) == 0);
        char buf[12];
        REQUIRE_ERROR(file.read(0, buf, 12), Contains(path + ": changed size while being read"));
    }
}

TEST_CASE("an NPY header is checked against the file size before anything is allocated",
          "[data][npy][errors][input]") {
    TempDir dir;
    auto fails = [&](const std::string& bytes, const std::string& fragment) {
        const std::string path = dir.write("bad.npy", bytes);
        REQUIRE_ERROR(npy(path), Contains(path + ": ") && Contains(fragment));
        REQUIRE_ERROR(descent::parse_npy(bytes, "mem.npy", true, DType::f64, Device::cpu()),
                      Contains("mem.npy: ") && Contains(fragment));
    };
    // 10^12 rows of 2 f8 values: 16 TB announced, 128 bytes there. Refused with the sizes,
    // not by std::bad_alloc (REQUIRE_ERROR asserts descent::Error).
    fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 2), }",
                    f8_bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})),
          "truncated data: shape (1000000000000, 2) of '<f8' needs 16000000000000 bytes, found "
          "128");
    fails(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
                    f8_bytes(kSix)),
          "24 unexpected bytes after the data of shape (3, 2)");
    // A 4 GiB header length on a short file, and a header over the 1 MiB limit.
    fails(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'", 19),
          "truncated NPY header: expected 4294967295 bytes, found 7");
    std::string huge = "\x93NUMPY";
    huge += std::string("\x02\x00\x00\x00\x20\x00", 6);  // version 2.0, header of 2 MiB
    huge += std::string(2 << 20, ' ');
    fails(huge, "NPY header of 2097152 bytes is longer than the limit of 1048576 bytes");
}

TEST_CASE("outside text in errors is cut to 60 bytes and its control bytes escaped",
          "[data][errors]") {
    auto csv_error = [](const std::string& text) {
        try {
            descent::parse_csv(text, "t.csv", true, DType::f64, Device::cpu());
        } catch (const descent::Error& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    const std::string long_field(1000, 'a');
    const std::string e1 = csv_error("1,2\n3," + long_field + "\n");
    CHECK(e1 == "t.csv: line 2, column 2: '" + std::string(60, 'a') + "...' is not a number");
    const std::string e2 = csv_error(std::string("1,2\n3,a\0b\x1b\n", 12));
    CHECK(e2 == "t.csv: line 2, column 2: 'a\\x00b\\x1b' is not a number");
    CHECK(csv_error("1,2\n3,nan" + std::string(100, '0') + "\n").size() < 130);

    // The NPY header quoted in "malformed NPY header" is cut the same way.
    const std::string bytes =
        npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), \x01" +
                      std::string(500, 'z') + "}",
                  "");
    try {
        descent::parse_npy(bytes, "h.npy", true, DType::f64, Device::cpu());
        FAIL("no error");
    } catch (const descent::Error& e) {
        const std::string what = e.what();
        CHECK_THAT(what, Contains("h.npy: malformed NPY header") &&
                             Contains("of {'descr': '<f8', 'fortran_order': False, "
                                      "'shape': (2, 3), \\x01z...") &&
                             !Contains("zz"));
        CHECK(what.find('\n') == std::string::npos);
    }
}

TEST_CASE("load_csv and parse_csv agree on random files, across chunk boundaries",
          "[data][csv][input]") {
    TempDir dir;
    std::mt19937_64 rng(20261130);
    // Sizes around the 1 MiB read chunk: lines cross chunk boundaries at every offset mod the
    // line length, and the largest files span several chunks.
    for (int trial = 0; trial < 12; ++trial) {
        const int n_cols = 2 + int(rng() % 6);
        const int n_rows = trial < 4 ? 1 + int(rng() % 50) : 20000 + int(rng() % 40000);
        const bool header = rng() % 2, crlf = rng() % 2, bom = rng() % 3 == 0,
                   final_newline = rng() % 2, trailing_blank = rng() % 2;
        const char* eol = crlf ? "\r\n" : "\n";
        std::string text = bom ? "\xEF\xBB\xBF" : "";
        if (header) {
            for (int c = 0; c < n_cols; ++c) text += (c ? ",c" : "c") + std::to_string(c);
            text += eol;
        }
        std::vector<double> want_x, want_y;
        std::uniform_real_distribution<double> value(-1e3, 1e3);
        for (int r = 0; r < n_rows; ++r) {
            for (int c = 0; c < n_cols; ++c) {
                const double v = std::round(value(rng) * 1e4) / 1e4;
                char field[64];
                std::snprintf(field, sizeof field, rng() % 5 == 0 ? " %.17g " : "%.17g", v);
                text += (c ? "," : "") + std::string(field);
                // What strtod reads back: the exact value printed with 17 digits.
                (c + 1 < n_cols ? want_x : want_y).push_back(std::strtod(field, nullptr));
                if (c + 1 == n_cols) want_x.push_back(1.0);
            }
            if (r + 1 < n_rows || final_newline) text += eol;
        }
        if (trailing_blank) text += std::string(eol) + "  " + eol;
        INFO("trial " << trial << ": " << n_rows << " x " << n_cols << ", " << text.size()
                      << " bytes");
        const std::string path = dir.write("r.csv", text);
        const Dataset loaded = csv(path);
        const Dataset parsed = descent::parse_csv(text, path, true, DType::f64, Device::cpu());
        require_same(loaded, parsed);
        CHECK(loaded.X.to_vector<double>() == want_x);
        CHECK(loaded.y.to_vector<double>() == want_y);
        require_same(descent::load_csv(path, false, DType::f32, Device::cpu()),
                     descent::parse_csv(text, path, false, DType::f32, Device::cpu()));
    }
}

TEST_CASE("CSV errors beyond the first chunk keep their line and column", "[data][csv][input]") {
    TempDir dir;
    std::string text = "a,b,y\n";
    for (int r = 0; r < 200000; ++r) text += "1.25,-2.5,3\n";  // 2.4 MB
    const std::string good = dir.write("good.csv", text);
    CHECK(csv(good).X.shape() == Shape{200000, 3});
    CHECK(file_bytes(good).size() > (2u << 20));

    REQUIRE_ERROR(csv(dir.write("bad.csv", text + "1,x,3\n")),
                  Contains("line 200002, column 2: 'x' is not a number"));
    REQUIRE_ERROR(csv(dir.write("ragged.csv", text + "1,3\n4,5,6\n")),
                  Contains("line 200002, column 3: expected 3 fields (as on line 1), found 2"));
    REQUIRE_ERROR(csv(dir.write("blank.csv", text + "\n4,5,6\n")),
                  Contains("line 200002: blank line"));
    // A line longer than a chunk (the read buffer grows for it).
    const std::string long_line = "1" + std::string(3 << 20, ' ') + ",2\n3,4\n";
    const Dataset wide = csv(dir.write("long.csv", long_line));
    CHECK(wide.X.to_vector<double>() == std::vector<double>{1, 1, 3, 1});
    require_same(wide, descent::parse_csv(long_line, "m.csv", true, DType::f64, Device::cpu()));
    // A long first line of many columns, then short broken lines: refused at line 2, without
    // sizing the tensors by (lines x columns).
    std::string ragged = std::string(1 << 20, ',') + "\n";
    for (int r = 0; r < 100000; ++r) ragged += "1\n";
    REQUIRE_ERROR(csv(dir.write("wide.csv", ragged)),
                  Contains("line 1, column 1: empty field"));
    ragged = "1,2\n" + std::string(100000, '\n') + "3,4\n";
    REQUIRE_ERROR(csv(dir.write("gap.csv", ragged)), Contains("line 2: blank line"));
}

TEST_CASE("load_npy and parse_npy agree on files larger than one chunk", "[data][npy][input]") {
    TempDir dir;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> value(-1e6, 1e6);
    for (const int n_cols : {2, 7, 17}) {
        const int n_rows = 300000 / n_cols + 3;  // 2.4 MB of f8, 1.2 MB of f4: chunks and a part
        std::vector<double> f8(std::size_t(n_rows) * n_cols);
        std::vector<float> f4(f8.size());
        for (std::size_t k = 0; k < f8.size(); ++k) f4[k] = float(f8[k] = value(rng));
        const std::string shape =
            "(" + std::to_string(n_rows) + ", " + std::to_string(n_cols) + ")";
        const std::string b8 =
            npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }",
                      f8_bytes(f8));
        const std::string b4 =
            npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }",
                      f4_bytes(f4));
        const std::string p8 = dir.write("a8.npy", b8), p4 = dir.write("a4.npy", b4);
        for (const bool intercept : {true, false}) {
            for (const DType dtype : {DType::f64, DType::f32}) {
                INFO(n_cols << " columns, intercept " << intercept << ", " << dtype_name(dtype));
                const Dataset l8 = descent::load_npy(p8, intercept, dtype, Device::cpu());
                require_same(l8, descent::parse_npy(b8, p8, intercept, dtype, Device::cpu()));
                const Dataset l4 = descent::load_npy(p4, intercept, dtype, Device::cpu());
                require_same(l4, descent::parse_npy(b4, p4, intercept, dtype, Device::cpu()));
                // The values, placed by an independent reading of the layout.
                const std::vector<double> X = l8.X.to_vector<double>();
                const std::vector<double> y = l8.y.to_vector<double>();
                const std::size_t x_cols = std::size_t(l8.X.size(1));
                bool all = true;
                for (int r = 0; r < n_rows; ++r) {
                    for (int c = 0; c + 1 < n_cols; ++c) {
                        double want = f8[std::size_t(r) * n_cols + c];
                        if (dtype == DType::f32) want = double(float(want));
                        all = all && X[r * x_cols + c] == want;
                    }
                    if (intercept) all = all && X[r * x_cols + x_cols - 1] == 1.0;
                    double want_y = f8[std::size_t(r) * n_cols + n_cols - 1];
                    if (dtype == DType::f32) want_y = double(float(want_y));
                    all = all && y[r] == want_y;
                }
                CHECK(all);
            }
        }
        // A NaN in the last chunk is reported with its row and column.
        f8[f8.size() - 2] = std::nan("");
        const std::string bad = dir.write(
            "nan.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape +
                                     ", }",
                                 f8_bytes(f8)));
        REQUIRE_ERROR(npy(bad), Contains("row " + std::to_string(n_rows - 1) + ", column " +
                                         std::to_string(n_cols - 2) +
                                         " (counting from 0) is NaN"));
    }
}

// --- classification data ---------------------------------------------------------------

namespace {

// σ(z) and softmax from the stored features and the true weights, in double: the model the
// labels are drawn from, written out here.
std::vector<double> class_probabilities(const descent::Dataset& data, std::int64_t i, std::int64_t k) {
    const std::int64_t cols = data.X.shape()[1];
    const std::vector<double> X = data.X.narrow(0, i, 1).to_vector<double>();
    const std::int64_t outs = k == 2 && data.true_weights.size() == std::size_t(cols) ? 1 : k;
    std::vector<double> z(static_cast<std::size_t>(outs), 0.0);
    for (std::int64_t c = 0; c < outs; ++c)
        for (std::int64_t j = 0; j < cols; ++j) z[c] += X[j] * data.true_weights[j * outs + c];
    if (outs == 1) return {1.0 / (1.0 + std::exp(-z[0]))};
    double m = z[0], s = 0.0;
    for (double v : z) m = std::max(m, v);
    for (double& v : z) s += (v = std::exp(v - m));
    for (double& v : z) v /= s;
    return z;
}

}  // namespace

TEST_CASE("synthetic-logistic and synthetic-softmax data: labels drawn from their true model",
          "[data][synthetic][classes]") {
    for (DType dtype : {DType::f64, DType::f32}) {
        const auto logistic = descent::load_dataset("synthetic-logistic:n=20000,d=3,seed=4", true, dtype,
                                                    Device::cpu());
        CHECK(logistic.classes == 2);
        CHECK(logistic.X.shape() == descent::Shape{20000, 4});
        CHECK(logistic.source == "synthetic-logistic:n=20000,d=3,seed=4");
        const std::vector<double> y = logistic.y.to_vector<double>();
        // Labels 0/1; the mean label is the mean probability to within 4 standard errors.
        double mean_label = 0.0, mean_p = 0.0, var = 0.0;
        for (std::int64_t i = 0; i < 20000; ++i) {
            REQUIRE((y[i] == 0.0 || y[i] == 1.0));
            const double p = class_probabilities(logistic, i, 2)[0];
            mean_label += y[i];
            mean_p += p;
            var += p * (1 - p);
        }
        CHECK(std::abs(mean_label - mean_p) <= 4.0 * std::sqrt(var));
        // The same spec gives the same data, bit for bit.
        const auto again = descent::load_dataset("synthetic-logistic:n=20000,d=3,seed=4", true, dtype,
                                                 Device::cpu());
        CHECK(again.y.to_vector<double>() == y);
        CHECK(again.X.to_vector<double>() == logistic.X.to_vector<double>());

        const auto softmax = descent::load_dataset("synthetic-softmax:n=20000,d=2,k=4,seed=1", true,
                                                   dtype, Device::cpu());
        CHECK(softmax.classes == 4);
        CHECK(softmax.true_weights.size() == 12);
        const std::vector<double> labels = softmax.y.to_vector<double>();
        std::vector<double> count(4, 0.0), expected(4, 0.0), variance(4, 0.0);
        for (std::int64_t i = 0; i < 20000; ++i) {
            const double c = labels[i];
            REQUIRE((c == 0 || c == 1 || c == 2 || c == 3));
            count[std::size_t(c)] += 1;
            const std::vector<double> p = class_probabilities(softmax, i, 4);
            for (int j = 0; j < 4; ++j) {
                expected[j] += p[j];
                variance[j] += p[j] * (1 - p[j]);
            }
        }
        for (int j = 0; j < 4; ++j) CHECK(std::abs(count[j] - expected[j]) <= 4.0 * std::sqrt(variance[j]));
    }
}

TEST_CASE("synthetic classification specs: errors name the key", "[data][synthetic][classes][errors]") {
    using descent::parse_synthetic_classes_spec;
    REQUIRE_ERROR(parse_synthetic_classes_spec("synthetic-softmax:n=5,d=2"), Contains("missing k"));
    REQUIRE_ERROR(parse_synthetic_classes_spec("synthetic-softmax:n=5,d=2,k=1"), Contains("k must be >= 2"));
    REQUIRE_ERROR(parse_synthetic_classes_spec("synthetic-logistic:n=5,d=2,k=3"), Contains("unknown key 'k'"));
    REQUIRE_ERROR(parse_synthetic_classes_spec("synthetic-logistic:n=0,d=2"), Contains("n must be >= 1"));
    REQUIRE_ERROR(parse_synthetic_classes_spec("synthetic-logistic:n=5,d=2,seed=-1"), Contains("seed=-1"));
    CHECK(descent::synthetic_classes_spec_str(parse_synthetic_classes_spec("synthetic-softmax:k=3,d=2,n=7")) ==
          "synthetic-softmax:n=7,d=2,k=3,seed=0");
}

TEST_CASE("class labels of CSV and NPY data are checked, the error naming the row",
          "[data][classes][errors]") {
    auto data = descent::parse_csv("a,label\n0.5,0\n1.5,2\n2.5,1\n", "mem.csv", true, DType::f64,
                                   Device::cpu());
    CHECK(descent::check_class_labels(data, 0, "mem.csv") == 3);
    CHECK(data.classes == 3);
    REQUIRE_ERROR(descent::check_class_labels(data, 2, "mem.csv"),
                  Contains("mem.csv: row 2: label 2 is not a class index in 0..1") &&
                      Contains("logistic regression needs labels 0 and 1"));
    auto fractional = descent::parse_csv("a,label\n0.5,0\n1.5,0.5\n", "f.csv", true, DType::f64,
                                         Device::cpu());
    REQUIRE_ERROR(descent::check_class_labels(fractional, 0, "f.csv"),
                  Contains("row 2: label 0.5 is not a class index"));
    auto negative = descent::parse_csv("a,label\n0.5,-1\n", "n.csv", true, DType::f32, Device::cpu());
    REQUIRE_ERROR(descent::check_class_labels(negative, 3, "n.csv"),
                  Contains("row 1: label -1 is not a class index in 0..2"));
}

TEST_CASE("load_dataset with LoadOptions: defaults, columns by name or index, TSV", "[data][columns]") {
    TempDir dir;
    const std::string csv = dir.write("t.csv", "id,a,y,b\n7,1,10,2\n8,3,20,4\n");
    // Defaults: f64 on the cpu, the target last, a ones column stored last.
    const descent::Dataset plain = descent::load_dataset(csv);
    CHECK(plain.X.to_vector<double>() == std::vector<double>{7, 1, 10, 1, 8, 3, 20, 1});
    CHECK(plain.y.to_vector<double>() == std::vector<double>{2, 4});
    CHECK(plain.column_names == std::vector<std::string>{"id", "a", "y", "b"});
    descent::LoadOptions o;
    o.columns.target = "y";
    o.columns.drop = {"id"};
    o.intercept = false;
    const descent::Dataset picked = descent::load_dataset(csv, o);
    CHECK(picked.X.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
    CHECK(picked.y.to_vector<double>() == std::vector<double>{10, 20});
    CHECK(picked.column_names == std::vector<std::string>{"a", "b", "y"});
    o.columns = descent::ColumnChoice{"2", {"3", "1"}, {}};  // by index, features in the order given
    const descent::Dataset ordered = descent::load_dataset(csv, o);
    CHECK(ordered.X.to_vector<double>() == std::vector<double>{2, 1, 4, 3});
    CHECK(ordered.column_names == std::vector<std::string>{"b", "a", "y"});
    const descent::Dataset tsv = descent::load_dataset(dir.write("t.tsv", "a\tb\n1\t2\n"), descent::LoadOptions{});
    CHECK(tsv.y.to_vector<double>() == std::vector<double>{2});
    o.columns = descent::ColumnChoice{"cost", {}, {}};
    REQUIRE_ERROR(descent::load_dataset(csv, o), Contains("t.csv: --target 'cost' is not a column (columns: id, a, y, b"));
    o.columns = descent::ColumnChoice{"y", {"y"}, {}};
    REQUIRE_ERROR(descent::load_dataset(csv, o), Contains("--features 'y' is the target column"));
    o.columns = descent::ColumnChoice{"", {"a", "a"}, {}};
    REQUIRE_ERROR(descent::load_dataset(csv, o), Contains("names column 'a' twice"));
    o.columns = descent::ColumnChoice{"", {}, {"id", "a", "y"}};
    REQUIRE_ERROR(descent::load_dataset(csv, o), Contains("no feature column is left"));
    o.columns = descent::ColumnChoice{"0", {}, {}};
    REQUIRE_ERROR(descent::load_dataset("synthetic:n=5,d=2", o), Contains("columns are chosen in data files only"));
}
