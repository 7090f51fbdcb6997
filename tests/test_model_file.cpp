// Model files and predictions (issue 16 item 1): every kind round-trips bit for bit;
// predict, predict_proba and decision_function equal plain loops over the saved weights
// (standardisation and intercept included); every truncation and corrupted byte is refused,
// as is a file whose checksum is right but whose contents do not make a model; the features
// loader and save_npy (the predictions' input and output) round-trip.
// The CLI's side, with numpy as the reference: tests/cli/model_file.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "crc32c.hpp"
#include "descent/descent.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {

std::vector<double> seeded(std::size_t n, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::vector<double> v(n);
    for (double& x : v) x = normal(rng);
    return v;
}

SavedModel linear_model(bool standardised) {
    SavedModel m;
    m.kind = "linear";
    m.intercept = true;
    m.features = 3;
    m.feature_names = {"a", "b", "c"};
    m.target_name = "price";
    if (standardised) {
        m.feature_mean = {1.0, -2.0, 0.5};
        m.feature_scale = {2.0, 0.25, 3.0};
    }
    m.params = {from_vector(seeded(4, 1), {4})};
    m.meta = {{"optimizer", "adam"}};
    return m;
}

SavedModel softmax_model() {
    SavedModel m;
    m.kind = "softmax";
    m.loss = Loss::cross_entropy;
    m.features = 3;
    m.classes = 4;
    m.params = {from_vector(seeded(12, 2), {3, 4})};  // no intercept
    return m;
}

SavedModel logistic_model(DType dtype) {
    SavedModel m;
    m.kind = "logistic";
    m.loss = Loss::bce_with_logits;
    m.intercept = true;
    m.features = 3;
    m.classes = 2;
    m.params = {from_vector(seeded(4, 3), {4}, dtype)};
    return m;
}

SavedModel net_model() {
    const nn::Sequential net = nn::mlp({3, 5, 1}, nn::Activation::tanh, 9);
    SavedModel m = saved_model_of(net, Loss::mse);
    REQUIRE(m.kind == "mlp:5:tanh");
    return m;
}

bool same(const SavedModel& a, const SavedModel& b) {
    if (a.kind != b.kind || a.loss != b.loss || a.intercept != b.intercept ||
        a.features != b.features || a.classes != b.classes || a.feature_names != b.feature_names ||
        a.target_name != b.target_name || a.feature_mean != b.feature_mean ||
        a.feature_scale != b.feature_scale || a.params.size() != b.params.size())
        return false;
    for (std::size_t i = 0; i < a.params.size(); ++i) {
        const Tensor &p = a.params[i], &q = b.params[i];
        if (p.shape() != q.shape() || p.dtype() != q.dtype() ||
            std::memcmp(p.data_ptr(), q.data_ptr(), dtype_size(p.dtype()) * p.numel()) != 0)
            return false;
    }
    return true;
}

const std::vector<double> kX = seeded(5 * 3, 4);  // 5 rows of 3 features

}  // namespace

TEST_CASE("model files round-trip every kind bit for bit", "[model_file]") {
    TempDir dir;
    const std::vector<SavedModel> models = {linear_model(true), softmax_model(),
                                            logistic_model(DType::f32), net_model()};
    for (const SavedModel& m : models) {
        INFO(m.kind);
        const std::string path = dir.path("m.dsm");
        save_model(path, m);
        const SavedModel back = load_model(path);
        CHECK(same(back, m));
        CHECK(back.meta.count("descent_version") == 1);
        CHECK(back.dtype() == m.dtype());
        if (m.kind == "linear") CHECK(back.meta.at("optimizer") == "adam");
    }
}

TEST_CASE("predictions equal plain loops over the saved weights", "[model_file]") {
    const Tensor X = from_vector(kX, {5, 3});
    SECTION("linear, standardised, with intercept") {
        const SavedModel m = linear_model(true);
        const std::vector<double> w = m.params[0].to_vector<double>();
        const std::vector<double> got = predict(m, X).to_vector<double>();
        for (int i = 0; i < 5; ++i) {
            double v = w[3];
            for (int j = 0; j < 3; ++j)
                v += (kX[i * 3 + j] - m.feature_mean[j]) / m.feature_scale[j] * w[j];
            CHECK(std::abs(got[i] - v) <= 1e-14 * std::max(1.0, std::abs(v)));
        }
        CHECK_THAT(error_of([&] { predict_proba(m, X); }), Contains("regression"));
    }
    SECTION("logistic: class and probabilities") {
        const SavedModel m = logistic_model(DType::f64);
        const std::vector<double> w = m.params[0].to_vector<double>();
        const std::vector<double> cls = predict(m, X).to_vector<double>();
        const std::vector<double> p = predict_proba(m, X).to_vector<double>();
        for (int i = 0; i < 5; ++i) {
            double z = w[3];
            for (int j = 0; j < 3; ++j) z += kX[i * 3 + j] * w[j];
            const double p1 = 1.0 / (1.0 + std::exp(-z));
            CHECK(cls[i] == (z > 0 ? 1.0 : 0.0));
            CHECK(std::abs(p[i * 2 + 1] - p1) <= 1e-15);
            CHECK(std::abs(p[i * 2] - (1.0 - p1)) <= 1e-15);
        }
    }
    SECTION("softmax: argmax and probabilities") {
        const SavedModel m = softmax_model();
        const std::vector<double> W = m.params[0].to_vector<double>();
        const std::vector<double> cls = predict(m, X).to_vector<double>();
        const std::vector<double> p = predict_proba(m, X).to_vector<double>();
        for (int i = 0; i < 5; ++i) {
            double z[4] = {}, top = -INFINITY, sum = 0;
            int best = 0;
            for (int c = 0; c < 4; ++c) {
                for (int j = 0; j < 3; ++j) z[c] += kX[i * 3 + j] * W[j * 4 + c];
                if (z[c] > top) top = z[c], best = c;
            }
            for (int c = 0; c < 4; ++c) sum += std::exp(z[c] - top);
            CHECK(cls[i] == best);
            for (int c = 0; c < 4; ++c)
                CHECK(std::abs(p[i * 4 + c] - std::exp(z[c] - top) / sum) <= 1e-15);
        }
    }
    SECTION("a net: tanh hidden layer") {
        const SavedModel m = net_model();
        const std::vector<double> W1 = m.params[0].to_vector<double>(),
                                  b1 = m.params[1].to_vector<double>(),
                                  W2 = m.params[2].to_vector<double>(),
                                  b2 = m.params[3].to_vector<double>();
        const std::vector<double> got = predict(m, X).to_vector<double>();
        REQUIRE(got.size() == 5);
        for (int i = 0; i < 5; ++i) {
            double out = b2[0];
            for (int h = 0; h < 5; ++h) {
                double a = b1[h];
                for (int j = 0; j < 3; ++j) a += W1[h * 3 + j] * kX[i * 3 + j];
                out += W2[h] * std::tanh(a);
            }
            CHECK(std::abs(got[i] - out) <= 1e-14);
        }
    }
    SECTION("X of the wrong width is refused") {
        CHECK_THAT(error_of([&] { predict(linear_model(false), from_vector(kX, {3, 5})); }),
                   Contains("the model takes X (n, 3)"));
    }
}

TEST_CASE("every truncation and corrupted byte of a model file is refused", "[model_file]") {
    const std::string bytes = serialize_model(linear_model(true));
    for (std::size_t size = 0; size < bytes.size(); ++size)
        CHECK_THAT(error_of([&] { parse_model(bytes.substr(0, size), "m.dsm"); }),
                   Contains("m.dsm: "));
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        for (unsigned char bit : {0x01, 0x80}) {
            std::string bad = bytes;
            bad[at] = static_cast<char>(bad[at] ^ bit);
            const std::string e = error_of([&] { parse_model(bad, "m.dsm"); });
            INFO("byte " << at);
            CHECK_THAT(e, Contains("m.dsm: "));
        }
    }
    CHECK_THAT(error_of([&] { parse_model(bytes.substr(0, 8) + std::string(bytes.size() - 8, 0), "m"); }),
               Contains("version 0; this descent reads version 1"));
}

TEST_CASE("a checksummed file that is not a model is refused as corrupt", "[model_file]") {
    // The payload rewritten with features 2 (the weight has 4 rows: 3 features + intercept),
    // the checksum recomputed: only the model's own checks can catch it.
    std::string bytes = serialize_model(linear_model(false));
    const std::string key = std::string("features", 8);
    const std::size_t at = bytes.find(key);
    REQUIRE(at != std::string::npos);
    // key, then the value's u64 length 1, then "3".
    const std::size_t value = at + key.size() + 8;
    REQUIRE(bytes[value] == '3');
    bytes[value] = '2';
    const std::uint32_t crc = detail::crc32c(bytes.data(), bytes.size() - 4);
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
    CHECK_THAT(error_of([&] { parse_model(bytes, "m.dsm"); }),
               Contains("m.dsm: corrupt model file: parameter 0 is (4,), kind linear with 2 "
                        "features needs (3,)"));
}

TEST_CASE("save_model refuses a model that is not whole", "[model_file]") {
    TempDir dir;
    const std::string path = dir.path("m.dsm");
    SavedModel m = linear_model(true);
    m.params[0] = from_vector(seeded(3, 1), {3});
    CHECK_THAT(error_of([&] { save_model(path, m); }), Contains("needs (4,)"));
    m = linear_model(true);
    m.params[0] = from_vector(std::vector<double>{1, NAN, 2, 3}, {4});
    CHECK_THAT(error_of([&] { save_model(path, m); }), Contains("parameter 0 is not finite"));
    m = linear_model(true);
    m.feature_scale[1] = 0.0;
    CHECK_THAT(error_of([&] { save_model(path, m); }), Contains("positive scale"));
    m = linear_model(true);
    m.feature_names.pop_back();
    CHECK_THAT(error_of([&] { save_model(path, m); }), Contains("2 feature names for 3 features"));
    m = linear_model(true);
    m.kind = "quadratic";
    CHECK_THAT(error_of([&] { save_model(path, m); }), Contains("unknown kind 'quadratic'"));
    m = logistic_model(DType::f64);
    m.loss = Loss::mse;
    CHECK_THAT(error_of([&] { save_model(path, m); }), Contains("regression model with classes"));
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("load_features takes every column; save_npy writes what numpy reads", "[model_file]") {
    TempDir dir;
    const Dataset csv = load_features(dir.write("x.csv", "a,b\n1,2\n3,4\n"), DType::f64,
                                      Device::cpu());
    CHECK(csv.X.shape() == Shape{2, 2});
    CHECK(csv.X.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
    CHECK_FALSE(csv.y.defined());
    CHECK(csv.column_names == std::vector<std::string>{"a", "b"});
    const Dataset one = load_features(dir.write("one.csv", "5\n6\n7\n"), DType::f64, Device::cpu());
    CHECK(one.X.shape() == Shape{3, 1});
    for (DType dtype : {DType::f32, DType::f64}) {
        const Tensor t = from_vector(seeded(6, 5), {3, 2}, dtype);
        const std::string path = dir.path("t.npy");
        save_npy(path, t);
        const Dataset back = load_features(path, dtype, Device::cpu());
        CHECK(back.X.to_vector<double>() == t.to_vector<double>());
        CHECK(back.column_names.empty());
    }
    // With a target, the loaders keep the names of every column.
    const Dataset with_target =
        load_csv(dir.write("d.csv", "a,\"b\",y\n1,2,3\n"), true, DType::f64, Device::cpu());
    CHECK(with_target.column_names == std::vector<std::string>{"a", "b", "y"});
}
