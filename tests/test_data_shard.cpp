// load_dataset_shard: for every data source, K = 1..4 processes' shards, concatenated in rank
// order, equal load_dataset's X and y bitwise, with the right `rows` and the whole load's
// metadata; its errors (CSV refused, a shard's bad value or label named by its row in the whole
// file, a truncated file failing on every rank); OnesColumn::automatic deciding from the whole
// data set; and a shard of an NPY file loading in memory about the shard, not the file.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "descent/data.hpp"
#include "descent/error.hpp"
#include "descent/shard.hpp"
#include "error_of.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using descent::Dataset;
using descent::Device;
using descent::DType;
using descent::OnesColumn;
using descent::RowShard;
using descent::Shape;

namespace {

// The header of an NPY file as np.save writes it (format 1.0), for `rows` x `cols` values.
std::string npy_header(std::int64_t rows, std::int64_t cols, bool f4) {
    std::string dict = std::string("{'descr': '") + (f4 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    return std::string("\x93NUMPY\x01\x00", 8) + char(dict.size() & 0xff) +
           char(dict.size() >> 8) + dict;
}

// Writes an NPY file of the values (row-major; the test hosts are little-endian, like '<').
std::string write_npy(const std::string& path, const std::vector<double>& values,
                      std::int64_t cols, bool f4) {
    std::ofstream out(path, std::ios::binary);
    out << npy_header(std::int64_t(values.size()) / cols, cols, f4);
    for (const double v : values) {
        if (f4) {
            const float f = static_cast<float>(v);
            out.write(reinterpret_cast<const char*>(&f), 4);
        } else {
            out.write(reinterpret_cast<const char*>(&v), 8);
        }
    }
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
    return path;
}

// An NPY file of zeros that takes no disk: its header, then a hole up to the data's size.
std::string write_sparse_npy(const std::string& path, std::int64_t rows, std::int64_t cols) {
    const std::string header = npy_header(rows, cols, false);
    {
        std::ofstream out(path, std::ios::binary);
        out << header;
    }
    std::filesystem::resize_file(path, header.size() + std::uintmax_t(rows * cols * 8));
    return path;
}

// Varied values, many of them not exact in f32 (an f8 file loaded as f32 rounds them).
std::vector<double> table_values(std::int64_t rows, std::int64_t cols) {
    std::vector<double> v(std::size_t(rows * cols));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 37.0 * std::sin(0.7 * double(i) + 0.1);
    return v;
}

// The bytes of a CPU tensor's elements.
std::string bytes_of(const descent::Tensor& t) {
    const descent::Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()),
                       std::size_t(c.numel()) * descent::dtype_size(c.dtype()));
}

// Every shard of `spec` for K = 1..4: rows, shape and metadata right, and the shards' X and y
// concatenated in rank order bitwise equal to load_dataset's.
void require_shards_make_whole(const std::string& spec, bool intercept, DType dtype,
                               OnesColumn ones = OnesColumn::stored) {
    INFO("spec " << spec << ", intercept " << intercept << ", " << descent::dtype_name(dtype)
                 << ", ones " << int(ones));
    const Dataset whole = descent::load_dataset(spec, intercept, dtype, Device::cpu(), ones);
    const std::int64_t n = whole.y.numel(), cols = whole.X.shape()[1];
    CHECK(whole.rows.begin == 0);
    CHECK(whole.rows.end == n);
    CHECK(whole.rows.total == n);
    for (int ranks = 1; ranks <= 4; ++ranks) {
        std::string X, y;
        for (int rank = 0; rank < ranks; ++rank) {
            INFO("rank " << rank << " of " << ranks);
            const Dataset part =
                descent::load_dataset_shard(spec, rank, ranks, intercept, dtype, Device::cpu(), ones);
            const RowShard expected = descent::shard_rows(n, rank, ranks);
            CHECK(part.rows.begin == expected.begin);
            CHECK(part.rows.end == expected.end);
            CHECK(part.rows.total == n);
            REQUIRE(part.X.shape() == Shape{expected.rows(), cols});
            REQUIRE(part.y.shape() == Shape{expected.rows()});
            CHECK(part.X.dtype() == dtype);
            CHECK(part.y.dtype() == dtype);
            CHECK(part.source == whole.source);
            CHECK(part.intercept == whole.intercept);
            CHECK(part.true_weights == whole.true_weights);
            CHECK(part.classes == whole.classes);
            CHECK(part.ones_column == whole.ones_column);
            X += bytes_of(part.X);
            y += bytes_of(part.y);
        }
        INFO(ranks << " ranks");
        CHECK(X == bytes_of(whole.X));
        CHECK(y == bytes_of(whole.y));
    }
}

const std::int64_t kRowCounts[] = {1, 4095, 4096, 4097, 3 * 4096 + 5, 20000};

// The process's resident set now and its peak since reset_peak_rss(), in KiB
// (/proc/self/status VmRSS, VmHWM); -1 where unavailable.
long status_kib(const char* key) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.compare(0, std::strlen(key), key) == 0)
            return std::strtol(line.c_str() + std::strlen(key), nullptr, 10);
    return -1;
}
// Resets VmHWM to the current VmRSS (Linux 4.0+); false where the kernel refuses.
bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    return bool(out.flush());
}

}  // namespace

TEST_CASE("a shard of an NPY file takes memory for the shard, not the file", "[data][shard][npy]") {
    TempDir dir;
    // 1,000,000 x 5 f8: 40 MB. Shard 3 of 4 is 250,432 rows: X (with its ones column) and y
    // 12 MB. Loading the file and cutting it would peak above 40 MB.
    constexpr std::int64_t rows = 1'000'000, cols = 5;
    const std::string path = write_sparse_npy(dir.path("big.npy"), rows, cols);
    const RowShard expected = descent::shard_rows(rows, 3, 4);
    const bool measured = reset_peak_rss();
    const long before = status_kib("VmRSS:");
    const Dataset part =
        descent::load_dataset_shard(path, 3, 4, true, DType::f64, Device::cpu(), OnesColumn::stored);
    const long peak = status_kib("VmHWM:");
    REQUIRE(part.X.shape() == Shape{expected.rows(), cols});
    REQUIRE(part.y.shape() == Shape{expected.rows()});
    CHECK(part.rows.begin == expected.begin);
    const double file_mb = double(rows * cols * 8) / 1e6;
    const double tensors_mb = double((part.X.numel() + part.y.numel()) * 8) / 1e6;
    CHECK(tensors_mb < file_mb / 3);
    // AddressSanitizer's shadow and quarantine are not the loader's memory (as in
    // tests/cli/load_memory.py, scripts/test.sh sets DESCENT_TEST_SANITIZED=1 there).
    const char* sanitized = std::getenv("DESCENT_TEST_SANITIZED");
    if (sanitized && std::string(sanitized) == "1") {
        WARN("peak RSS not checked under sanitizers");
    } else if (measured && before > 0 && peak > 0) {
        const double growth_mb = double(peak - before) * 1024 / 1e6;
        INFO("peak RSS growth " << growth_mb << " MB for a " << file_mb << " MB file, tensors "
                                << tensors_mb << " MB");
        // The shard, one 1 MB chunk and allocator slack: 13 MB here, half the file at most.
        CHECK(growth_mb < tensors_mb + 8);
    } else {
        WARN("peak RSS not measured: /proc/self/clear_refs or /proc/self/status unavailable");
    }
}

TEST_CASE("NPY shards, f4 and f8 files loaded as f32 and f64, make the whole load",
          "[data][shard][npy]") {
    TempDir dir;
    for (const std::int64_t n : kRowCounts) {
        const std::vector<double> values = table_values(n, 4);
        for (const bool f4 : {true, false}) {
            const std::string path = write_npy(
                dir.path(std::to_string(n) + (f4 ? "_f4.npy" : "_f8.npy")), values, 4, f4);
            for (const DType dtype : {DType::f32, DType::f64}) {
                require_shards_make_whole(path, true, dtype, OnesColumn::stored);
                require_shards_make_whole(path, true, dtype, OnesColumn::implicit);
                require_shards_make_whole(path, false, dtype);
            }
        }
    }
}

TEST_CASE("synthetic shards are the whole set's rows, from the same counters",
          "[data][shard][synthetic]") {
    for (const std::int64_t n : kRowCounts) {
        const std::string rows = "n=" + std::to_string(n);
        for (const bool intercept : {true, false}) {
            for (const DType dtype : {DType::f32, DType::f64}) {
                require_shards_make_whole("synthetic:" + rows + ",d=3,noise=0.5,seed=7", intercept,
                                          dtype);
                require_shards_make_whole("synthetic-logistic:" + rows + ",d=3,seed=3", intercept,
                                          dtype);
                require_shards_make_whole("synthetic-softmax:" + rows + ",d=3,k=4,seed=5",
                                          intercept, dtype);
            }
        }
    }
}

TEST_CASE("the blog's 100 rows are one block: rank 0 holds them, the others none",
          "[data][shard]") {
    for (const DType dtype : {DType::f32, DType::f64}) require_shards_make_whole("blog", true, dtype);
    for (int ranks = 2; ranks <= 4; ++ranks) {
        int holders = 0;
        for (int rank = 0; rank < ranks; ++rank) {
            const Dataset part =
                descent::load_dataset_shard("blog", rank, ranks, true, DType::f64, Device::cpu());
            const std::int64_t n = part.y.numel();
            CHECK(n == (rank == 0 ? 100 : 0));
            CHECK(part.X.shape() == Shape{n, 2});
            CHECK(part.true_weights == std::vector<double>{5.0, 2.0});
            holders += n == 100 ? 1 : 0;
        }
        CHECK(holders == 1);
    }
}

TEST_CASE("a CSV file loads whole with one process; with more the error names it and K",
          "[data][shard][csv][errors]") {
    TempDir dir;
    const std::string path = dir.path("table.csv");
    std::ofstream(path) << "a,b,y\n1,2,3\n4,5,6\n7,8,9\n";
    const Dataset whole = descent::load_csv(path, true, DType::f64, Device::cpu());
    CHECK(whole.rows.begin == 0);
    CHECK(whole.rows.end == 3);
    CHECK(whole.rows.total == 3);
    const Dataset one = descent::load_dataset_shard(path, 0, 1, true, DType::f64, Device::cpu());
    CHECK(bytes_of(one.X) == bytes_of(whole.X));
    CHECK(bytes_of(one.y) == bytes_of(whole.y));
    CHECK(one.rows.end == 3);
    CHECK(one.rows.total == 3);
    for (const int ranks : {2, 3})
        for (int rank = 0; rank < ranks; ++rank)
            CHECK_THAT(error_of([&] {
                           descent::load_dataset_shard(path, rank, ranks, true, DType::f64,
                                                       Device::cpu());
                       }),
                       Equals(path + ": a CSV file cannot be split among " +
                              std::to_string(ranks) +
                              " processes; convert it to NPY (e.g. numpy.save) to train on it "
                              "with " + std::to_string(ranks) + " processes"));
}

TEST_CASE("a bad value in one rank's rows fails that rank only, named as the whole load names it",
          "[data][shard][npy][errors]") {
    TempDir dir;
    // 3 blocks and 5 rows: 4 ranks get one block each; rank 2 owns rows 8192..12287.
    constexpr std::int64_t n = 3 * 4096 + 5, cols = 3;
    std::vector<double> values = table_values(n, cols);
    values[std::size_t(9000 * cols + 1)] = std::nan("");
    values[std::size_t(12290 * cols + 2)] = 1e300;  // rank 3's rows: beyond f32's range
    const std::string path = write_npy(dir.path("bad.npy"), values, cols, false);
    const std::string whole_f64 =
        error_of([&] { descent::load_dataset(path, true, DType::f64, Device::cpu()); });
    CHECK_THAT(whole_f64, Equals(path + ": row 9000, column 1 (counting from 0) is NaN; NaN and "
                                        "Inf are not allowed"));
    auto shard = [&](int rank, DType dtype) {
        return error_of([&] {
            descent::load_dataset_shard(path, rank, 4, true, dtype, Device::cpu());
        });
    };
    CHECK(shard(2, DType::f64) == whole_f64);
    CHECK(shard(0, DType::f64) == "<no error>");
    CHECK(shard(1, DType::f64) == "<no error>");
    CHECK(shard(3, DType::f64) == "<no error>");
    // Loaded as f32, rank 3's 1e300 is refused as the whole load would refuse it there.
    CHECK_THAT(shard(3, DType::f32),
               Contains(path + ": row 12290, column 2 (counting from 0) is 1e+300, out of range "
                               "for f32"));
    CHECK(shard(0, DType::f32) == "<no error>");
}

TEST_CASE("a truncated NPY file fails on every rank", "[data][shard][npy][errors]") {
    TempDir dir;
    constexpr std::int64_t n = 10000, cols = 3;
    std::vector<double> values = table_values(n, cols);
    values.pop_back();  // the header still says (10000, 3): one value short
    const std::string path = dir.path("short.npy");
    {
        std::ofstream out(path, std::ios::binary);
        out << npy_header(n, cols, false);
        out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * 8));
    }
    const std::string whole =
        error_of([&] { descent::load_dataset(path, true, DType::f64, Device::cpu()); });
    CHECK_THAT(whole, Contains(path + ": truncated data: shape (10000, 3)"));
    for (const int ranks : {2, 4, 5})  // 3 blocks: of 4 or 5 ranks, some own no rows
        for (int rank = 0; rank < ranks; ++rank) {
            INFO("rank " << rank << " of " << ranks);
            CHECK(error_of([&] {
                      descent::load_dataset_shard(path, rank, ranks, true, DType::f64,
                                                  Device::cpu());
                  }) == whole);
        }
}

TEST_CASE("a bad class label in a shard is named by its row in the whole data set",
          "[data][shard][classes][errors]") {
    TempDir dir;
    // 9000 rows, 3 blocks: of 2 ranks, rank 0 owns rows 1..8192, rank 1 rows 8193..9000
    // (counted from 1, as check_class_labels counts); the bad label is rank 1's row 8500.
    constexpr std::int64_t n = 9000, cols = 3;
    std::vector<double> values = table_values(n, cols);
    for (std::int64_t r = 0; r < n; ++r) values[std::size_t(r * cols + 2)] = double(r % 2);
    values[std::size_t(8499 * cols + 2)] = 5.0;  // row 8500
    const std::string path = write_npy(dir.path("labels.npy"), values, cols, false);
    Dataset whole = descent::load_dataset(path, true, DType::f64, Device::cpu());
    const std::string expected =
        error_of([&] { descent::check_class_labels(whole, 2, "labels.npy"); });
    CHECK_THAT(expected, Equals("labels.npy: row 8500: label 5 is not a class index in 0..1 "
                                "(logistic regression needs labels 0 and 1)"));
    Dataset first = descent::load_dataset_shard(path, 0, 2, true, DType::f64, Device::cpu());
    Dataset second = descent::load_dataset_shard(path, 1, 2, true, DType::f64, Device::cpu());
    CHECK(descent::check_class_labels(first, 2, "labels.npy") == 2);
    CHECK(error_of([&] { descent::check_class_labels(second, 2, "labels.npy"); }) == expected);
}

TEST_CASE("OnesColumn::automatic decides from the whole data set on every rank",
          "[data][shard][intercept]") {
    TempDir dir;
    // 6,000,000 x 2 f8: the whole set's ones column (48 MB) is above kStoredOnesLimit + 8% of
    // the data (41.8 MB), so automatic holds it implicit; each shard of 8 alone (6 MB) would
    // store it. Every rank must hold the form the whole load holds.
    constexpr std::int64_t rows = 6'000'000;
    const std::string path = write_sparse_npy(dir.path("wide.npy"), rows, 2);
    for (const int rank : {0, 7}) {
        const Dataset part = descent::load_dataset_shard(path, rank, 8, true, DType::f64,
                                                         Device::cpu(), OnesColumn::automatic);
        CHECK(part.ones_column == OnesColumn::implicit);
        CHECK(part.X.shape() == Shape{descent::shard_rows(rows, rank, 8).rows(), 1});
    }
}

TEST_CASE("load_dataset_shard refuses a bad rank or process count before loading",
          "[data][shard][errors]") {
    CHECK_THAT(error_of([] {
                   descent::load_dataset_shard("blog", 2, 2, true, DType::f64, Device::cpu());
               }),
               Contains("rank 2 of 2 processes"));
    CHECK_THAT(error_of([] {
                   descent::load_dataset_shard("none.npy", 0, 0, true, DType::f64, Device::cpu());
               }),
               Contains("rank 0 of 0 processes"));
}
