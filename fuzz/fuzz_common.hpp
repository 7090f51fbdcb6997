// Shared by the fuzz harnesses: the rules of what counts as a finding. descent::Error is the
// expected answer to bad input; any other exception, a failed invariant, a sanitizer report,
// a crash or a hang is a finding. Used by the libFuzzer builds and by replay_main.cpp.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <typeinfo>
#include <vector>

#include "crc32c.hpp"  // src/: the frame's checksum, to repair inputs
#include "descent/data.hpp"
#include "descent/error.hpp"
#include "descent/tensor.hpp"

namespace fuzz {

// A finding: says what, then aborts (libFuzzer saves the input; the replay test fails).
[[noreturn]] inline void finding(const std::string& what) {
    std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

#define FUZZ_CHECK(cond, what)                                                           \
    do {                                                                                 \
        if (!(cond)) ::fuzz::finding(std::string("check failed: " #cond ": ") + (what)); \
    } while (0)

// Runs body(); returns true when it completed, false when it threw descent::Error (then
// `error` holds the message). Any other exception is a finding, named by its type.
template <class Body>
bool run(const char* what, Body body, std::string* error = nullptr) {
    try {
        body();
        return true;
    } catch (const descent::Error& e) {
        if (error) *error = e.what();
        return false;
    } catch (const std::bad_alloc& e) {
        finding(std::string(what) +
                ": std::bad_alloc (an allocation sized by the input?): " + e.what());
    } catch (const std::exception& e) {
        finding(std::string(what) + ": unexpected exception " + typeid(e).name() + ": " + e.what());
    } catch (...) {
        finding(std::string(what) + ": unexpected non-std exception");
    }
}

inline std::string bytes_of(const unsigned char* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// The elements of a cpu tensor as doubles.
inline std::vector<double> values(const descent::Tensor& t) { return t.to_vector<double>(); }

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// A double in full precision, for messages.
inline std::string text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// The data readers' harness body: parse `bytes` as f64 with the intercept column and as f32
// without (both layouts, both conversions), then check what was accepted or refused.
template <class Parse, class Accepted, class Rejected>
void parse_both_layouts(const char* what, const std::string& bytes, Parse parse,
                        Accepted accepted, Rejected rejected) {
    for (const bool intercept : {true, false}) {
        const descent::DType dtype = intercept ? descent::DType::f64 : descent::DType::f32;
        descent::Dataset parsed;
        std::string error;
        if (run(what, [&] { parsed = parse(bytes, intercept, dtype); }, &error))
            accepted(parsed, intercept, dtype);
        else
            rejected(error);
    }
}

// `bytes` with the frame of descent's files (src/checkpoint/container.hpp) made to match:
// `magic`, `version`, reserved 0, the payload size these bytes have and their CRC-32C, so that
// mutations reach the payload parser instead of dying at the checksum. Inputs too short for
// a frame come back as they are.
inline std::string repaired_frame(const std::string& bytes, const char (&magic)[9],
                                  std::uint32_t version) {
    constexpr std::size_t kHeader = 24, kChecksum = 4;
    const std::size_t size = bytes.size();
    if (size < kHeader + kChecksum) return bytes;
    std::string repaired = bytes;
    const std::uint32_t reserved = 0;
    const std::uint64_t payload = size - kHeader - kChecksum;
    std::memcpy(&repaired[0], magic, 8);
    std::memcpy(&repaired[8], &version, 4);
    std::memcpy(&repaired[12], &reserved, 4);
    std::memcpy(&repaired[16], &payload, 8);
    const std::uint32_t sum = descent::detail::crc32c(repaired.data(), size - kChecksum);
    std::memcpy(&repaired[size - kChecksum], &sum, kChecksum);
    return repaired;
}

// A framed file's reader under fuzzing: `parse(bytes, origin)` on the input as it is and with
// its frame repaired (repaired_frame); an accepted file goes to `check`, a refused one must
// say why in an error that starts with `origin`.
template <class Parse, class Check>
void parse_framed(const std::string& bytes, const char (&magic)[9], std::uint32_t version,
                  const char* what, const std::string& origin, Parse parse, Check check) {
    const auto one = [&](const std::string& input) {
        decltype(parse(input, origin)) parsed;
        std::string error;
        if (run(what, [&] { parsed = parse(input, origin); }, &error))
            check(parsed);
        else
            FUZZ_CHECK(error.compare(0, origin.size() + 2, origin + ": ") == 0, error);
    };
    one(bytes);
    const std::string repaired = repaired_frame(bytes, magic, version);
    if (repaired != bytes) one(repaired);
}

}  // namespace fuzz
