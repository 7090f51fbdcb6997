// libFuzzer harness for the checkpoint reader (descent::parse_checkpoint, which
// load_checkpoint wraps). Each input is parsed twice: as it is (the header checks: magic,
// version, sizes, checksum) and "repaired" (header fields and checksum rewritten to match, so
// that mutations reach the payload parser instead of dying at the checksum). Bad input must
// give descent::Error naming the origin; an accepted checkpoint must re-serialise to bytes
// that parse to an equal checkpoint and serialise again to the same bytes.
// Run: scripts/fuzz.sh (libFuzzer), or the fuzz_replay_checkpoint ctest.
#include <cstdint>
#include <cstring>
#include <string>

#include "descent/checkpoint.hpp"
#include "fuzz_common.hpp"

namespace {

const std::string kOrigin = "fuzz.ckpt";

bool same_tensor(const descent::Tensor& a, const descent::Tensor& b) {
    if (a.defined() != b.defined()) return false;
    if (!a.defined()) return true;
    if (a.dtype() != b.dtype() || a.shape() != b.shape() || a.device() != b.device()) return false;
    const std::size_t bytes = descent::dtype_size(a.dtype()) * std::size_t(a.numel());
    return bytes == 0 || std::memcmp(a.data_ptr(), b.data_ptr(), bytes) == 0;
}

bool same_doubles(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

// Field by field; doubles and tensors bitwise (NaN payloads included).
std::string difference(const descent::Checkpoint& a, const descent::Checkpoint& b) {
    if (a.meta != b.meta) return "meta";
    if (a.epoch != b.epoch) return "epoch";
    if (a.params.size() != b.params.size()) return "parameter count";
    for (std::size_t i = 0; i < a.params.size(); ++i)
        if (!same_tensor(a.params[i], b.params[i])) return "parameter " + std::to_string(i);
    if (a.optimizer.optimizer != b.optimizer.optimizer) return "optimizer name";
    if (a.optimizer.params.size() != b.optimizer.params.size()) return "state count";
    for (std::size_t i = 0; i < a.optimizer.params.size(); ++i) {
        const auto &sa = a.optimizer.params[i], &sb = b.optimizer.params[i];
        if (sa.step != sb.step) return "step of state " + std::to_string(i);
        if (sa.buffers.size() != sb.buffers.size()) return "buffers of state " + std::to_string(i);
        for (auto ia = sa.buffers.begin(), ib = sb.buffers.begin(); ia != sa.buffers.end();
             ++ia, ++ib)
            if (ia->first != ib->first || !same_tensor(ia->second, ib->second))
                return "buffer '" + ia->first + "' of state " + std::to_string(i);
    }
    if (!same_doubles(a.losses, b.losses)) return "losses";
    if (a.weights.size() != b.weights.size()) return "trajectory rows";
    for (std::size_t r = 0; r < a.weights.size(); ++r)
        if (!same_doubles(a.weights[r], b.weights[r])) return "trajectory row " + std::to_string(r);
    return "";
}

void check_accepted(const descent::Checkpoint& c) {
    FUZZ_CHECK(c.epoch >= 0, "negative epoch accepted");
    for (const auto& p : c.params)
        FUZZ_CHECK(p.defined() && p.device().is_cpu(), "parameter not a defined cpu tensor");
    for (const auto& s : c.optimizer.params) {
        FUZZ_CHECK(s.step >= 0, "negative step accepted");
        for (const auto& [name, t] : s.buffers)
            FUZZ_CHECK(t.defined() && t.device().is_cpu(), "buffer '" + name + "'");
    }
    std::string bytes, error;
    FUZZ_CHECK(
        fuzz::run(
            "serialize_checkpoint", [&] { bytes = descent::serialize_checkpoint(c); }, &error),
        "a parsed checkpoint does not serialise: " + error);
    descent::Checkpoint again;
    FUZZ_CHECK(
        fuzz::run(
            "parse_checkpoint", [&] { again = descent::parse_checkpoint(bytes, "again"); }, &error),
        "a re-serialised checkpoint does not parse: " + error);
    const std::string diff = difference(c, again);
    FUZZ_CHECK(diff.empty(), "the re-serialised checkpoint differs in its " + diff);
    FUZZ_CHECK(descent::serialize_checkpoint(again) == bytes, "serialisation is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::parse_framed(fuzz::bytes_of(data, size), "DSCNTCKP", descent::kCheckpointVersion, "parse_checkpoint", kOrigin,
                       [](const std::string& b, const std::string& o) { return descent::parse_checkpoint(b, o); },
                       check_accepted);
    return 0;
}
