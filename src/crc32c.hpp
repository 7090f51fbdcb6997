// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as in iSCSI, ext4 and SSE4.2): the
// checkpoint trailer and the data identity. Verified by tests/test_crc32c.cpp (RFC 3720 B.4
// vectors, hardware == software at every length and alignment, chaining at any split).
#pragma once

#include <cstddef>
#include <cstdint>

namespace descent::detail {

// The CRC-32C of `bytes` bytes at `data`. Chainable: passing the CRC of a as `crc` gives the
// CRC of a followed by b, so crc32c(b, nb, crc32c(a, na)) == crc32c(a+b, na+nb). Uses the
// SSE4.2 crc32 instruction when the CPU has it (chosen once), the table path otherwise.
std::uint32_t crc32c(const void* data, std::size_t bytes, std::uint32_t crc = 0);

// The portable table-driven path (slicing-by-8) on every CPU, for tests to compare against.
std::uint32_t crc32c_portable(const void* data, std::size_t bytes, std::uint32_t crc = 0);

// The CRC of a followed by b from the CRCs of a and of b and b's length, without the bytes:
// crc32c_combine(crc32c(a), crc32c(b), nb) == crc32c(a+b) (zlib's crc32_combine, by squaring
// the GF(2) operator of one zero bit; O(log nb)). Processes that each hash their rows of a
// data set give the CRC of the whole file this way.
std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t bytes_b);

// Whether crc32c() runs on the SSE4.2 instruction on this machine.
bool crc32c_uses_hardware();

}  // namespace descent::detail
