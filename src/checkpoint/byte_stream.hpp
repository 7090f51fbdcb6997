// Internal: little-endian binary writing and bounds-checked reading for descent's files
// (checkpoints, model files). The reader never trusts a length: every count is checked against the bytes left
// before anything is allocated, so a corrupt or hostile file throws instead of crashing.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "descent/error.hpp"

namespace descent::detail {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the checkpoint format is little-endian; add byte swapping for this host");

class ByteWriter {
public:
    void bytes(const void* data, std::size_t n) {
        m_out.append(static_cast<const char*>(data), n);
    }
    template <class T>
    void pod(T value) {
        bytes(&value, sizeof(T));
    }
    void u8(std::uint8_t v) { pod(v); }
    void u32(std::uint32_t v) { pod(v); }
    void u64(std::uint64_t v) { pod(v); }
    void i64(std::int64_t v) { pod(v); }
    void f64(double v) { pod(v); }
    void text(const std::string& s) {
        u64(s.size());
        bytes(s.data(), s.size());
    }
    std::string& str() { return m_out; }

private:
    std::string m_out;
};

class ByteReader {
public:
    // `kind`: what the bytes are, in errors ("corrupt checkpoint: ...", "corrupt model file").
    ByteReader(const char* data, std::size_t size, std::string origin,
               std::string kind = "checkpoint")
        : m_data(data), m_size(size), m_origin(std::move(origin)), m_kind(std::move(kind)) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(m_origin + ": corrupt " + m_kind + ": " + what + " (at byte " +
                    std::to_string(m_pos) + ")");
    }
    std::size_t left() const { return m_size - m_pos; }
    const char* take(std::size_t n, const char* what) {
        if (n > left())
            fail(std::string(what) + " needs " + std::to_string(n) + " bytes, " +
                 std::to_string(left()) + " left");
        const char* p = m_data + m_pos;
        m_pos += n;
        return p;
    }
    template <class T>
    T pod(const char* what) {
        T v;
        std::memcpy(&v, take(sizeof(T), what), sizeof(T));
        return v;
    }
    std::uint8_t u8(const char* what) { return pod<std::uint8_t>(what); }
    std::uint32_t u32(const char* what) { return pod<std::uint32_t>(what); }
    std::uint64_t u64(const char* what) { return pod<std::uint64_t>(what); }
    std::int64_t i64(const char* what) { return pod<std::int64_t>(what); }
    double f64(const char* what) { return pod<double>(what); }
    // A count of items of at least `min_item_bytes` each, checked against the bytes left.
    std::uint64_t count(const char* what, std::size_t min_item_bytes) {
        const std::uint64_t n = u64(what);
        if (min_item_bytes > 0 && n > left() / min_item_bytes)
            fail(std::string(what) + " " + std::to_string(n) + " does not fit in the " +
                 std::to_string(left()) + " bytes left");
        return n;
    }
    std::string text(const char* what) {
        const std::uint64_t n = count(what, 1);
        const char* p = take(static_cast<std::size_t>(n), what);
        return std::string(p, static_cast<std::size_t>(n));
    }
    std::vector<double> doubles(const char* what) {
        const std::uint64_t n = count(what, sizeof(double));
        std::vector<double> out(static_cast<std::size_t>(n));
        if (n) std::memcpy(out.data(), take(n * sizeof(double), what), n * sizeof(double));
        return out;
    }

private:
    const char* m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
    std::string m_origin, m_kind;
};

}  // namespace descent::detail
