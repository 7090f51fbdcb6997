// CRC-32C (src/crc32c.hpp), the checkpoint trailer and the data identity: the RFC 3720
// appendix B.4 vectors and the check value of "123456789", a bit-at-a-time reference on random
// bytes, the SSE4.2 path equal to the table path at every length and alignment, and chaining.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "crc32c.hpp"

using descent::detail::crc32c;
using descent::detail::crc32c_portable;
using descent::detail::crc32c_uses_hardware;

namespace {

// The definition, one bit at a time: reflected polynomial 0x82F63B78, register initialised to
// all ones, complemented at the end. Slow and obviously right: the oracle for random inputs.
std::uint32_t crc32c_bitwise(const std::vector<unsigned char>& bytes) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : bytes) {
        c ^= b;
        for (int i = 0; i < 8; ++i) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

std::vector<unsigned char> random_bytes(std::size_t n, std::mt19937_64& rng) {
    std::vector<unsigned char> v(n);
    for (auto& b : v) b = static_cast<unsigned char>(rng());
    return v;
}

}  // namespace

TEST_CASE("CRC-32C of the RFC 3720 B.4 examples and the check string", "[crc32c]") {
    std::vector<unsigned char> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
    for (int i = 0; i < 32; ++i) {
        up[i] = static_cast<unsigned char>(i);
        down[i] = static_cast<unsigned char>(31 - i);
    }
    // The iSCSI read (SCSI) command PDU, 48 bytes, as RFC 3720 prints them four to a row.
    const std::vector<unsigned char> pdu = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    const std::string check = "123456789";
    const std::vector<unsigned char> check_bytes(check.begin(), check.end());
    // The RFC prints each CRC least significant byte first ("aa 36 91 8a" is 0x8A9136AA).
    const std::vector<std::pair<std::vector<unsigned char>, std::uint32_t>> cases = {
        {zeros, 0x8A9136AAu}, {ones, 0x62A8AB43u},       {up, 0x46DD794Eu},
        {down, 0x113FDB5Cu},  {pdu, 0xD9963A56u},         {check_bytes, 0xE3069283u}};
    for (const auto& [bytes, expected] : cases) {
        INFO(bytes.size() << " bytes, expected 0x" << std::hex << expected);
        CHECK(crc32c(bytes.data(), bytes.size()) == expected);
        CHECK(crc32c_portable(bytes.data(), bytes.size()) == expected);
        CHECK(crc32c_bitwise(bytes) == expected);
    }
    CHECK(crc32c(nullptr, 0) == 0u);
    CHECK(crc32c_portable(nullptr, 0) == 0u);
}

TEST_CASE("CRC-32C equals the bit-at-a-time definition on random bytes", "[crc32c]") {
    std::mt19937_64 rng(20240611);
    for (std::size_t n = 0; n < 300; ++n) {
        const auto bytes = random_bytes(n, rng);
        INFO(n << " bytes");
        CHECK(crc32c_portable(bytes.data(), n) == crc32c_bitwise(bytes));
        CHECK(crc32c(bytes.data(), n) == crc32c_bitwise(bytes));
    }
}

TEST_CASE("the SSE4.2 path equals the table path at every length and alignment", "[crc32c]") {
    if (!crc32c_uses_hardware()) WARN("no SSE4.2 on this CPU: crc32c() is the table path");
    std::mt19937_64 rng(7);
    const auto buffer = random_bytes(1 << 20, rng);
    // Every start offset modulo 16 and every length up to 200: the head, body and tail loops.
    for (std::size_t offset = 0; offset < 16; ++offset)
        for (std::size_t n = 0; n <= 200; ++n) {
            INFO("offset " << offset << ", " << n << " bytes");
            REQUIRE(crc32c(buffer.data() + offset, n) == crc32c_portable(buffer.data() + offset, n));
        }
    // Random lengths and alignments, up to the whole megabyte, with random initial CRCs.
    for (int trial = 0; trial < 200; ++trial) {
        const std::size_t offset = rng() % 4096;
        const std::size_t n = trial < 8 ? buffer.size() - offset : rng() % (buffer.size() - offset);
        const auto seed = static_cast<std::uint32_t>(rng());
        INFO("offset " << offset << ", " << n << " bytes, initial CRC " << seed);
        REQUIRE(crc32c(buffer.data() + offset, n, seed) ==
                crc32c_portable(buffer.data() + offset, n, seed));
    }
}

TEST_CASE("CRC-32C chains: the CRC of a then b is the CRC of a+b", "[crc32c]") {
    std::mt19937_64 rng(11);
    const auto bytes = random_bytes(1000, rng);
    const std::uint32_t whole = crc32c(bytes.data(), bytes.size());
    CHECK(whole == crc32c_bitwise(bytes));
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        INFO("split at " << split);
        const std::uint32_t first = crc32c(bytes.data(), split);
        REQUIRE(crc32c(bytes.data() + split, bytes.size() - split, first) == whole);
        REQUIRE(crc32c_portable(bytes.data() + split, bytes.size() - split,
                                crc32c_portable(bytes.data(), split)) == whole);
    }
    // Three pieces at random split points.
    for (int trial = 0; trial < 100; ++trial) {
        std::size_t a = rng() % 1001, b = rng() % 1001;
        if (a > b) std::swap(a, b);
        const std::uint32_t crc = crc32c(bytes.data() + b, bytes.size() - b,
                                         crc32c(bytes.data() + a, b - a, crc32c(bytes.data(), a)));
        INFO("splits at " << a << " and " << b);
        REQUIRE(crc == whole);
    }
}

TEST_CASE("CRC-32C combines: the CRCs of a and b give the CRC of a+b", "[crc32c]") {
    std::mt19937_64 rng(11);
    std::vector<unsigned char> bytes(5000);
    for (unsigned char& b : bytes) b = static_cast<unsigned char>(rng());
    for (std::size_t split : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(64),
                              std::size_t(2500), std::size_t(4999), std::size_t(5000)}) {
        const std::uint32_t a = descent::detail::crc32c(bytes.data(), split);
        const std::uint32_t b = descent::detail::crc32c(bytes.data() + split, bytes.size() - split);
        INFO("split " << split);
        REQUIRE(descent::detail::crc32c_combine(a, b, bytes.size() - split) ==
                descent::detail::crc32c(bytes.data(), bytes.size()));
    }
    // Three parts in order, as processes' rows combine.
    const std::uint32_t p0 = descent::detail::crc32c(bytes.data(), 100);
    const std::uint32_t p1 = descent::detail::crc32c(bytes.data() + 100, 0);
    const std::uint32_t p2 = descent::detail::crc32c(bytes.data() + 100, 4900);
    REQUIRE(descent::detail::crc32c_combine(descent::detail::crc32c_combine(p0, p1, 0), p2, 4900) ==
            descent::detail::crc32c(bytes.data(), bytes.size()));
}
