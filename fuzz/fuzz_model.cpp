// libFuzzer harness for the model file reader (descent::parse_model, which load_model wraps).
// Each input is parsed as it is and with its frame repaired (fuzz_common.hpp), so mutations
// reach the payload parser and the model checks. Bad input must give descent::Error naming
// the origin; an accepted model must be whole (it predicts on a row of zeros) and
// re-serialise to bytes that parse back and serialise again to the same bytes.
// Run: scripts/fuzz.sh model (libFuzzer), or the fuzz_replay_model ctest.
#include <cstdint>
#include <string>

#include "descent/model_file.hpp"
#include "descent/ops.hpp"
#include "fuzz_common.hpp"

namespace {

const std::string kOrigin = "fuzz.dsm";

void check_accepted(const descent::SavedModel& m) {
    FUZZ_CHECK(m.features >= 1 && m.features <= (std::int64_t(1) << 40), "feature count");
    std::string bytes, error;
    FUZZ_CHECK(fuzz::run("serialize_model", [&] { bytes = descent::serialize_model(m); }, &error),
               "a parsed model does not serialise: " + error);
    descent::SavedModel again;
    FUZZ_CHECK(fuzz::run("parse_model", [&] { again = descent::parse_model(bytes, "again"); }, &error),
               "a re-serialised model does not parse: " + error);
    FUZZ_CHECK(descent::serialize_model(again) == bytes, "serialisation is not a fixed point");
    // A model small enough to run predicts on a row of zeros (what it predicts may overflow:
    // finite weights can make an infinite output).
    std::int64_t values = 0;
    for (const auto& p : m.params) values += p.numel();
    if (values <= 4096 && m.features <= 1024)
        FUZZ_CHECK(fuzz::run("decision_function", [&] {
                       descent::decision_function(m, descent::zeros({1, m.features}, m.dtype()));
                   }, &error),
                   "an accepted model does not predict: " + error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::parse_framed(fuzz::bytes_of(data, size), "DSCNTMDL", descent::kModelFileVersion, "parse_model", kOrigin,
                       [](const std::string& b, const std::string& o) { return descent::parse_model(b, o); },
                       check_accepted);
    return 0;
}
