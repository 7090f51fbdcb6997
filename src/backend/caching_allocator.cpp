// Best-fit reuse of cached blocks: the smallest cached block that fits, unless it is more than
// twice the request (a huge block is not tied up by a tiny tensor).
#include "backend/caching_allocator.hpp"

namespace descent::detail {

CachingAllocator::CachingAllocator(RawAllocate raw_allocate, RawFree raw_free)
    : m_raw_allocate(std::move(raw_allocate)), m_raw_free(std::move(raw_free)) {}

CachingAllocator::~CachingAllocator() {
    release_cached_locked();
    // Blocks still in use belong to tensors that outlive the allocator; leave them alone.
}

void* CachingAllocator::allocate(std::size_t bytes) {
    const std::size_t size = ((bytes + kGranularity - 1) / kGranularity) * kGranularity;
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.requests;
    if (size == 0) return nullptr;
    if (void* cached = take_cached_locked(size)) return cached;
    void* ptr = nullptr;
    try {
        ptr = m_raw_allocate(size);
    } catch (...) {
        if (m_free.empty()) throw;
        release_cached_locked();  // fragmentation: give everything back and try once more
        ptr = m_raw_allocate(size);
    }
    ++m_stats.raw_allocations;
    m_used.emplace(ptr, size);
    m_stats.bytes_in_use += size;
    return ptr;
}

void* CachingAllocator::allocate_cached(std::size_t bytes) {
    const std::size_t size = ((bytes + kGranularity - 1) / kGranularity) * kGranularity;
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.requests;
    if (size == 0) return nullptr;
    return take_cached_locked(size);
}

void* CachingAllocator::take_cached_locked(std::size_t size) {
    const auto it = m_free.lower_bound(size);
    if (it == m_free.end() || it->first > 2 * size) return nullptr;
    void* ptr = it->second;
    const std::size_t block = it->first;
    m_used.emplace(ptr, block);  // may throw bad_alloc, before anything has changed
    m_free.erase(it);
    m_stats.bytes_cached -= block;
    m_stats.bytes_in_use += block;
    return ptr;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_used.find(ptr);
    if (it == m_used.end()) return;  // not ours; nothing sensible to do in a noexcept path
    const std::size_t block = it->second;
    m_used.erase(it);
    m_free.emplace(block, ptr);
    m_stats.bytes_in_use -= block;
    m_stats.bytes_cached += block;
}

bool CachingAllocator::deallocate_if_owned(void* ptr, bool keep) noexcept {
    if (ptr == nullptr) return false;
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_used.find(ptr);
    if (it == m_used.end()) return false;
    const std::size_t block = it->second;
    m_used.erase(it);
    m_stats.bytes_in_use -= block;
    if (keep) {
        m_free.emplace(block, ptr);
        m_stats.bytes_cached += block;
    } else {
        m_raw_free(ptr);
        ++m_stats.raw_frees;
    }
    return true;
}

void CachingAllocator::release_cached() noexcept {
    std::lock_guard<std::mutex> lock(m_mutex);
    release_cached_locked();
}

void CachingAllocator::release_cached_locked() noexcept {
    for (const auto& [size, ptr] : m_free) {
        m_raw_free(ptr);
        ++m_stats.raw_frees;
        m_stats.bytes_cached -= size;
    }
    m_free.clear();
}

AllocatorStats CachingAllocator::stats() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_stats;
}

}  // namespace descent::detail
