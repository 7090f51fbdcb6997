// Checkpoints and the divergence guard: the format round-trips bit for bit, a resumed run
// equals an uninterrupted one bitwise, every truncation, corrupted byte and single or paired
// bit flip is refused with nothing loaded, saves are atomic; divergence reports 2/λmax (checked
// against the closed form of the blog's 2x2 Hessian and against matrices of known eigenvalues).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "descent/descent.hpp"
#include "error_of.hpp"

using namespace descent;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {


// A scratch directory removed at the end of the test case.
struct ScratchDir {
    fs::path path;
    ScratchDir() {
        char templ[] = "/tmp/descent-checkpoint-XXXXXX";
        path = ::mkdtemp(templ);
    }
    ~ScratchDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

Dataset problem(DType dtype) {
    SyntheticSpec spec;
    spec.n = 300;
    spec.d = 3;
    spec.noise = 0.2;
    spec.seed = 5;
    return synthetic_dataset(spec, true, dtype, Device::cpu());
}

optim::OptimizerConfig config_of(const std::string& name) {
    optim::OptimizerConfig c;
    c.name = name;
    c.lr = name == "newton" ? 0.5 : 0.05;
    if (name == "adam") c.amsgrad = true;  // three state buffers
    if (name == "rmsprop") c.centered = true;
    return c;
}

struct Run {
    Tensor w;
    std::unique_ptr<optim::Optimizer> opt;
};

Run fresh(const Dataset& data, const std::string& name, double init = 0.0) {
    Run r;
    r.w = full({data.X.shape()[1]}, init, data.X.dtype()).requires_grad_();
    r.opt = optim::make_optimizer(config_of(name), {r.w});
    return r;
}

TrainOptions options(std::int64_t epochs, std::int64_t batch) {
    TrainOptions t;
    t.epochs = epochs;
    t.batch_size = batch;
    t.shuffle = batch > 0;
    t.shuffle_seed = 99;
    t.record_weights = true;
    return t;
}

// Bitwise equality of two tensors (same dtype, shape and bytes).
bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor ha = a.detach().to(Device::cpu()), hb = b.detach().to(Device::cpu());
    return std::memcmp(ha.data_ptr(), hb.data_ptr(), dtype_size(a.dtype()) * a.numel()) == 0;
}

bool same_state(const optim::OptimizerState& a, const optim::OptimizerState& b) {
    if (a.optimizer != b.optimizer || a.params.size() != b.params.size()) return false;
    for (std::size_t i = 0; i < a.params.size(); ++i) {
        if (a.params[i].step != b.params[i].step ||
            a.params[i].buffers.size() != b.params[i].buffers.size())
            return false;
        for (const auto& [name, buffer] : a.params[i].buffers)
            if (!b.params[i].buffers.count(name) || !same_bits(buffer, b.params[i].buffers.at(name)))
                return false;
    }
    return true;
}

Checkpoint sample_checkpoint(DType dtype) {
    const Dataset data = problem(dtype);
    Run r = fresh(data, "adam");
    const TrainResult t = train_linear(data.X, data.y, *r.opt, options(4, 64));
    return make_checkpoint(*r.opt, 4, t.losses, {t.weights.begin(), t.weights.begin() + 4},
                           {{"data", "synthetic test"}, {"shuffle_seed", "99"}});
}

// CRC-32C one bit at a time (reflected 0x82F63B78, all-ones start, complemented): the format's
// checksum computed independently of src/crc32c.cpp.
std::uint32_t crc32c_reference(const char* data, std::size_t bytes) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < bytes; ++i) {
        c ^= static_cast<unsigned char>(data[i]);
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

// `bytes` with the format version set to `version` and the checksum recomputed to match.
std::string with_version(std::string bytes, std::uint32_t version) {
    std::memcpy(&bytes[8], &version, 4);
    const std::uint32_t crc = crc32c_reference(bytes.data(), bytes.size() - 4);
    std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
    return bytes;
}

}  // namespace

TEST_CASE("a checkpoint round-trips bit for bit", "[checkpoint]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        const Checkpoint c = sample_checkpoint(dtype);
        const Checkpoint back = parse_checkpoint(serialize_checkpoint(c), "memory");
        CHECK(back.meta == c.meta);
        CHECK(back.meta.at("descent_version") == DESCENT_VERSION_STRING);  // make_checkpoint's
        CHECK(back.epoch == 4);
        CHECK(back.losses == c.losses);
        CHECK(back.weights == c.weights);
        REQUIRE(back.params.size() == 1);
        CHECK(same_bits(back.params[0], c.params[0]));
        CHECK(same_state(back.optimizer, c.optimizer));
        CHECK(back.optimizer.params[0].buffers.size() == 3);  // exp_avg, exp_avg_sq, max_exp_avg_sq
        CHECK(serialize_checkpoint(back) == serialize_checkpoint(c));
    }
}

TEST_CASE("a resumed run ends bitwise equal to an uninterrupted one", "[checkpoint][resume]") {
    ScratchDir dir;
    for (const std::string name : {"gd", "momentum", "adagrad", "rmsprop", "adam", "newton"}) {
        for (std::int64_t batch : {0, 64}) {
            if (name == "newton" && batch) continue;
            for (DType dtype : {DType::f32, DType::f64}) {
                INFO(name << " batch " << batch << " " << dtype_name(dtype));
                const Dataset data = problem(dtype);
                Run whole = fresh(data, name);
                const TrainResult expected = train_linear(data.X, data.y, *whole.opt, options(11, batch));

                // The first 5 epochs, checkpointed every 2 epochs and after the last.
                const std::string path = dir.file(name + ".ckpt");
                Run first = fresh(data, name);
                TrainOptions t = options(5, batch);
                t.checkpoint_every = 2;
                std::vector<std::int64_t> saved_at;
                t.on_checkpoint = [&](const TrainResult& so_far) {
                    saved_at.push_back(static_cast<std::int64_t>(so_far.losses.size()));
                    save_checkpoint(path, make_checkpoint(*first.opt, so_far.losses.size(),
                                                          so_far.losses, so_far.weights));
                };
                train_linear(data.X, data.y, *first.opt, t);
                CHECK(saved_at == std::vector<std::int64_t>{2, 4, 5});

                // A new process: other initial weights, everything from the file.
                Run second = fresh(data, name, 3.0);
                const Checkpoint c = load_checkpoint(path);
                restore_checkpoint(c, *second.opt);
                TrainResult before;
                before.losses = c.losses;
                before.weights = c.weights;
                TrainOptions rest = options(11, batch);
                rest.resume = &before;
                const TrainResult resumed = train_linear(data.X, data.y, *second.opt, rest);

                CHECK(resumed.losses == expected.losses);
                CHECK(resumed.weights == expected.weights);
                CHECK(resumed.final_weights == expected.final_weights);
                CHECK(same_bits(second.w, whole.w));
                CHECK(same_state(second.opt->state(), whole.opt->state()));
            }
        }
    }
}

TEST_CASE("every truncation and every corrupted byte is refused", "[checkpoint][errors]") {
    const std::string bytes = serialize_checkpoint(sample_checkpoint(DType::f64));
    for (std::size_t len = 0; len < bytes.size(); ++len) {
        const std::string message = error_of([&] { parse_checkpoint(bytes.substr(0, len), "ck"); });
        INFO("truncated to " << len << " bytes: " << message);
        CHECK((Contains("truncated").match(message) || Contains("not a descent checkpoint").match(message)));
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(bad[i] ^ 0x24);
        const std::string message = error_of([&] { parse_checkpoint(bad, "ck"); });
        INFO("byte " << i << " changed: " << message);
        CHECK_THAT(message, Contains("ck: "));
        CHECK(message != "<no error>");
    }
    CHECK_THAT(error_of([&] { parse_checkpoint(bytes + "x", "ck"); }), Contains("ck: truncated or corrupt"));
    CHECK_THAT(error_of([&] { parse_checkpoint("hello", "ck"); }), Contains("not a descent checkpoint"));

    // Another format version, with a valid checksum, is refused by version: a later one, and
    // version 1 (FNV-1a trailer, written by older descents) with a message naming both.
    std::string v3 = with_version(bytes, 3);
    CHECK_THAT(error_of([&] { parse_checkpoint(v3, "ck"); }),
               Contains("format version 3") && Contains("reads version 2"));
    CHECK_THAT(error_of([&] { parse_checkpoint(with_version(bytes, 1), "ck"); }),
               Contains("ck: checkpoint format version 1") && Contains("older descent") &&
                   Contains("reads version 2"));
    // Sanity of the hand-computed checksum: with version 2 back (and that checksum) the file
    // fails the checksum, and with its checksum recomputed it parses.
    v3[8] = 2;
    CHECK_THAT(error_of([&] { parse_checkpoint(v3, "ck"); }), Contains("checksum"));
    CHECK(serialize_checkpoint(parse_checkpoint(with_version(bytes, 2), "ck")) == bytes);
}

TEST_CASE("the checksum is CRC-32C of every byte before it, a u32 trailer", "[checkpoint][errors]") {
    const std::string bytes = serialize_checkpoint(sample_checkpoint(DType::f64));
    REQUIRE(bytes.size() > 28);
    std::uint32_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
    CHECK(stored == crc32c_reference(bytes.data(), bytes.size() - 4));
    std::uint64_t payload;
    std::memcpy(&payload, bytes.data() + 16, 8);
    CHECK(payload == bytes.size() - 24 - 4);
}

TEST_CASE("every single and paired bit flip in a checkpoint is refused", "[checkpoint][errors]") {
    // Adam (three state buffers) on d = 3 + intercept, 4 epochs of losses and trajectory: a
    // few hundred bytes. The checksum used to be FNV-1a over 8-byte words, which cannot see
    // bit 63 flipped in two consecutive words (each word's top bit only reaches the top bit
    // of the product), so e.g. bit 7 of bytes 455 and 463 loaded corrupted weights.
    std::string bytes = serialize_checkpoint(sample_checkpoint(DType::f64));
    REQUIRE(bytes.size() >= 400);
    REQUIRE(bytes.size() < 1000);
    const std::size_t bits = bytes.size() * 8;
    auto flip = [&](std::size_t bit) { bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8))); };
    // Counts the flips parse_checkpoint accepts (or answers with anything but descent::Error);
    // the first few are named. Flipped in place and back: no copy per case.
    std::size_t tried = 0, missed = 0;
    std::string examples;
    auto must_refuse = [&](std::size_t a, std::size_t b) {  // b == a: one flip
        flip(a);
        if (b != a) flip(b);
        bool refused = false;
        try {
            parse_checkpoint(bytes, "ck");
        } catch (const Error&) {
            refused = true;
        } catch (...) {
        }
        if (b != a) flip(b);
        flip(a);
        ++tried;
        if (!refused && ++missed <= 5)
            examples += " bits " + std::to_string(a) + "," + std::to_string(b) + " (bytes " +
                        std::to_string(a / 8) + "," + std::to_string(b / 8) + ");";
    };
    auto report = [&](const char* what) {
        INFO(what << ": " << missed << " of " << tried << " accepted, e.g." << examples);
        CHECK(missed == 0);
        tried = missed = 0;
        examples.clear();
    };

    for (std::size_t a = 0; a < bits; ++a) must_refuse(a, a);
    report("single bit flips");

    for (std::size_t a = 0; a < 64 * 8; ++a)
        for (std::size_t b = a + 1; b < 64 * 8; ++b) must_refuse(a, b);
    CHECK(tried == 512 * 511 / 2);
    report("every pair of bits in the first 64 bytes");

    // The same bit of bytes 8 apart, everywhere (the pairs FNV-1a over words misses).
    for (std::size_t a = 0; a + 64 < bits; ++a) must_refuse(a, a + 64);
    report("the same bit 8 bytes apart");

    std::mt19937_64 rng(455463);
    for (int i = 0; i < 30000; ++i) {
        const std::size_t a = rng() % bits, b = rng() % bits;
        if (a != b) must_refuse(std::min(a, b), std::max(a, b));
    }
    CHECK(tried > 29000);
    report("random pairs anywhere");

    // The example, when the file is that long.
    if (bytes.size() > 463) {
        must_refuse(455 * 8 + 7, 463 * 8 + 7);
        report("bit 7 of bytes 455 and 463");
    }
}

TEST_CASE("restoring a checkpoint that does not fit changes nothing", "[checkpoint][errors]") {
    const Dataset data = problem(DType::f64);
    Run adam = fresh(data, "adam");
    train_linear(data.X, data.y, *adam.opt, options(3, 0));
    const std::vector<double> weights = adam.w.to_vector<double>();
    const optim::OptimizerState state = adam.opt->state();

    Run gd = fresh(data, "gd");
    train_linear(data.X, data.y, *gd.opt, options(2, 0));
    const Checkpoint of_gd = make_checkpoint(*gd.opt, 2);
    CHECK_THAT(error_of([&] { restore_checkpoint(of_gd, *adam.opt); }), Contains("load_state"));

    Checkpoint wrong_shape = make_checkpoint(*adam.opt, 3);
    wrong_shape.params[0] = zeros({7}, DType::f64);
    CHECK_THAT(error_of([&] { restore_checkpoint(wrong_shape, *adam.opt); }), Contains("parameter 0"));

    Checkpoint wrong_dtype = make_checkpoint(*adam.opt, 3);
    wrong_dtype.params[0] = wrong_dtype.params[0].to(DType::f32);
    CHECK_THAT(error_of([&] { restore_checkpoint(wrong_dtype, *adam.opt); }), Contains("f32"));

    Checkpoint missing_buffer = make_checkpoint(*adam.opt, 3);
    missing_buffer.optimizer.params[0].buffers.erase("exp_avg_sq");
    missing_buffer.params[0] = zeros({4}, DType::f64);
    CHECK_THAT(error_of([&] { restore_checkpoint(missing_buffer, *adam.opt); }), Contains("exp_avg_sq"));

    CHECK(adam.w.to_vector<double>() == weights);
    CHECK(same_state(adam.opt->state(), state));
}

TEST_CASE("saving is atomic and failures leave nothing behind", "[checkpoint][files]") {
    ScratchDir dir;
    const Checkpoint a = sample_checkpoint(DType::f64);
    Checkpoint b = a;
    b.meta["data"] = "other";
    const std::string path = dir.file("run.ckpt");
    save_checkpoint(path, a);
    CHECK(read_all(path) == serialize_checkpoint(a));
    save_checkpoint(path, b);
    CHECK(read_all(path) == serialize_checkpoint(b));
    CHECK(load_checkpoint(path).meta.at("data") == "other");
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) entries += e.path().filename() != "run.ckpt" ? 1 : 0;
    CHECK(entries == 0);  // no temporary left

    CHECK_THAT(error_of([&] { save_checkpoint(dir.file("missing/run.ckpt"), a); }),
               Contains("cannot write") && Contains("missing/run.ckpt"));
    fs::create_directory(dir.file("adir"));
    CHECK_THAT(error_of([&] { save_checkpoint(dir.file("adir"), a); }), Contains("adir"));
    CHECK(fs::is_directory(dir.file("adir")));
    CHECK_THAT(error_of([&] { load_checkpoint(dir.file("nothing")); }), Contains("nothing"));
}

TEST_CASE("the largest eigenvalue of symmetric matrices of known spectrum", "[divergence]") {
    // A = Q diag(lambda) Q^T with Q = I - 2 v v^T / v^T v (a Householder reflection).
    for (std::int64_t d : {1, 2, 5, 40, 300}) {
        std::vector<double> lambda(static_cast<std::size_t>(d)), v(static_cast<std::size_t>(d));
        for (std::int64_t i = 0; i < d; ++i) {
            lambda[i] = 0.5 + double((i * 7) % d) / double(d);  // in [0.5, 1.5), distinct
            v[i] = std::cos(0.3 * double(i) + 1.0);
        }
        lambda[static_cast<std::size_t>(d / 2)] = 2.75;  // the largest, well separated
        double vv = 0.0;
        for (double x : v) vv += x * x;
        std::vector<double> A(static_cast<std::size_t>(d * d), 0.0);
        for (std::int64_t i = 0; i < d; ++i)
            for (std::int64_t j = 0; j < d; ++j)
                for (std::int64_t k = 0; k < d; ++k) {
                    const double qik = (i == k) - 2.0 * v[i] * v[k] / vv;
                    const double qjk = (j == k) - 2.0 * v[j] * v[k] / vv;
                    A[i * d + j] += qik * lambda[k] * qjk;
                }
        INFO("d " << d);
        CHECK(symmetric_max_eigenvalue(A, d) == Approx(2.75).epsilon(1e-10));
    }
}

TEST_CASE("divergence names the epoch, the last finite loss and 2/lambda_max", "[divergence]") {
    const BlogProblem blog = blog_problem();
    // The blog's Hessian is 2/n [[sum x^2, sum x], [sum x, n]]: its eigenvalues in closed form.
    const std::vector<double> x = blog.data.X.to_vector<double>();
    double sxx = 0.0, sx = 0.0;
    for (std::size_t i = 0; i < x.size(); i += 2) {
        sxx += x[i] * x[i];
        sx += x[i];
    }
    const double a = 2.0 / 100 * sxx, b = 2.0 / 100 * sx, c = 2.0;
    const double lambda_max = (a + c) / 2 + std::sqrt((a - c) * (a - c) / 4 + b * b);
    CHECK(linear_mse_hessian_max_eigenvalue(blog.data.X) == Approx(lambda_max).epsilon(1e-12));
    std::ostringstream step;
    step << 2.0 / lambda_max;

    auto gd = [&](double lr) {
        Tensor w = from_vector(blog.initial_weights).requires_grad_();
        optim::SgdOptions o;
        o.lr = lr;
        return std::make_pair(w, std::make_unique<optim::Sgd>(std::vector<Tensor>{w}, o));
    };
    auto [w1, diverging] = gd(0.1);
    TrainOptions t;
    t.epochs = 1000;
    const std::string message = error_of([&] { train_linear(blog.data.X, blog.data.y, *diverging, t); });
    CHECK_THAT(message, Contains("diverged at epoch") && Contains("(gd)") &&
                            Contains("after a loss of") && Contains("2/lambda_max = " + step.str()));

    // warn: one warning, then every epoch runs and the result says what happened.
    auto [w2, watched] = gd(0.1);
    std::vector<std::string> warnings;
    t.on_divergence = OnDivergence::warn;
    t.on_warning = [&](const std::string& m) { warnings.push_back(m); };
    const TrainResult r = train_linear(blog.data.X, blog.data.y, *watched, t);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == message);
    CHECK(r.divergence == message);
    CHECK(r.losses.size() == 1000);
    CHECK_FALSE(std::isfinite(r.losses.back()));

    // A step that overflows the weights is caught even though every recorded loss is finite.
    auto [w3, overflowing] = gd(1e308);
    t = TrainOptions{};
    t.epochs = 1;
    CHECK_THAT(error_of([&] { train_linear(blog.data.X, blog.data.y, *overflowing, t); }),
               Contains("a weight is") && Contains("epoch 0"));
}
