// What the descent executable throws when the heap cannot serve an allocation: a
// std::bad_alloc that knows the size asked for, so that every out-of-memory message can say
// "out of memory while <what> (<bytes> bytes)". Thrown by the executable's replacement
// operator new (src/cli/sized_new.cpp); the library itself never relies on it (its tensor
// memory throws descent::OutOfMemory with the size already).
#pragma once

#include <cstddef>
#include <new>

namespace descent::cli {

class AllocationFailure : public std::bad_alloc {
public:
    explicit AllocationFailure(std::size_t bytes) noexcept : m_bytes(bytes) {}
    const char* what() const noexcept override { return "out of memory"; }
    std::size_t bytes() const noexcept { return m_bytes; }

private:
    std::size_t m_bytes;
};

// The size a failed allocation asked for: e.bytes() for an AllocationFailure, 0 (unknown)
// for another std::bad_alloc (one thrown by hand, or a std::bad_array_new_length).
inline std::size_t failed_allocation_bytes(const std::bad_alloc& e) noexcept {
    const auto* sized = dynamic_cast<const AllocationFailure*>(&e);
    return sized != nullptr ? sized->bytes() : 0;
}

}  // namespace descent::cli
