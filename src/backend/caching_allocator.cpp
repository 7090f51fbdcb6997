// Best-fit reuse of cached blocks: the smallest cached block that fits, unless it is more than
// twice the request (a huge block is not tied up by a tiny tensor).
#include "backend/caching_allocator.hpp"

namespace descent::detail {

namespace {

// Keeps a map's node for reuse; without memory for the list the node is simply freed.
template <class Spares, class Node>
void keep_spare(Spares& spares, Node&& node) noexcept {
    try {
        spares.push_back(std::move(node));
    } catch (...) {
    }
}

}  // namespace

CachingAllocator::CachingAllocator(RawAllocate raw_allocate, RawFree raw_free)
    : m_raw_allocate(std::move(raw_allocate)), m_raw_free(std::move(raw_free)) {}

CachingAllocator::~CachingAllocator() {
    release_cached_locked();
    // Blocks still in use belong to tensors that outlive the allocator; leave them alone.
}

void* CachingAllocator::allocate(std::size_t bytes) { return allocate_block(bytes, true); }

void* CachingAllocator::allocate_fresh(std::size_t bytes) { return allocate_block(bytes, false); }

void* CachingAllocator::allocate_block(std::size_t bytes, bool cached_first) {
    const std::size_t size = ((bytes + kGranularity - 1) / kGranularity) * kGranularity;
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.requests;
    if (size == 0) return nullptr;
    if (cached_first)
        if (void* cached = take_cached_locked(size)) return cached;
    void* ptr = nullptr;
    try {
        ptr = m_raw_allocate(size);
    } catch (...) {
        // Out of memory: a fresh block's cached one after all, else (fragmentation) the whole
        // cache goes back to the raw allocator and the request is tried once more.
        if (!cached_first)
            if (void* cached = take_cached_locked(size)) return cached;
        if (m_free.empty()) throw;
        release_cached_locked();
        ptr = m_raw_allocate(size);
    }
    ++m_stats.raw_allocations;
    try {
        note_used_locked(ptr, size);
    } catch (...) {
        m_raw_free(ptr);
        ++m_stats.raw_frees;
        throw;
    }
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
    note_used_locked(ptr, block);  // may throw bad_alloc, before anything has changed
    keep_spare(m_spare_free, m_free.extract(it));
    m_stats.bytes_cached -= block;
    m_stats.bytes_in_use += block;
    return ptr;
}

void CachingAllocator::note_used_locked(void* ptr, std::size_t size) {
    if (m_spare_used.empty()) {
        m_used.emplace(ptr, size);
        return;
    }
    auto node = std::move(m_spare_used.back());
    m_spare_used.pop_back();
    node.key() = ptr;
    node.mapped() = size;
    m_used.insert(std::move(node));  // (may rehash, which allocates only while the map grows)
}

void CachingAllocator::note_free_locked(std::size_t size, void* ptr) {
    if (m_spare_free.empty()) {
        m_free.emplace(size, ptr);
        return;
    }
    auto node = std::move(m_spare_free.back());
    m_spare_free.pop_back();
    node.key() = size;
    node.mapped() = ptr;
    m_free.insert(std::move(node));
}

void CachingAllocator::deallocate(void* ptr) noexcept {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_used.find(ptr);
    if (it == m_used.end()) return;  // not ours; nothing sensible to do in a noexcept path
    const std::size_t block = it->second;
    try {
        note_free_locked(block, ptr);
    } catch (...) {
        return;  // no memory for the bookkeeping: the block stays listed as in use
    }
    keep_spare(m_spare_used, m_used.extract(it));
    m_stats.bytes_in_use -= block;
    m_stats.bytes_cached += block;
}

bool CachingAllocator::deallocate_if_owned(void* ptr, bool keep) noexcept {
    if (ptr == nullptr) return false;
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_used.find(ptr);
    if (it == m_used.end()) return false;
    const std::size_t block = it->second;
    if (keep) {
        try {
            note_free_locked(block, ptr);
        } catch (...) {
            keep = false;  // no memory for the bookkeeping: give the block back instead
        }
    }
    keep_spare(m_spare_used, m_used.extract(it));
    m_stats.bytes_in_use -= block;
    if (keep) {
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
