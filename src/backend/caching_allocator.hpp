// A caching allocator for device memory: freed blocks are kept and handed out again, so a
// training loop stops calling cudaMalloc after its first step. Device-agnostic (it only sees
// raw allocate/free functions), so its bookkeeping is tested on the CPU.
// Safe for CUDA because each device runs every op on one stream: a block reused after a free
// is only touched by work queued after the work that used it before.
// Verified by tests/test_caching_allocator.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace descent::detail {

struct AllocatorStats {
    std::uint64_t raw_allocations = 0;  // calls to the raw allocator (cudaMalloc)
    std::uint64_t raw_frees = 0;        // calls to the raw free (cudaFree)
    std::uint64_t requests = 0;         // allocate() calls
    std::size_t bytes_in_use = 0;       // handed out and not yet returned
    std::size_t bytes_cached = 0;       // returned and kept for reuse
};

class CachingAllocator {
public:
    using RawAllocate = std::function<void*(std::size_t)>;  // throws on failure
    using RawFree = std::function<void(void*)>;             // never throws

    CachingAllocator(RawAllocate raw_allocate, RawFree raw_free);
    ~CachingAllocator();
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    // A block of at least `bytes` (rounded up to kGranularity). On a raw failure the cache is
    // released and the raw allocation tried once more before the error propagates.
    void* allocate(std::size_t bytes);
    // A cached block of at least `bytes`, or nullptr when none fits: never calls the raw
    // allocator (for work being captured into a CUDA graph, where cudaMalloc is not allowed).
    // nullptr for bytes == 0 as well, as allocate() gives.
    void* allocate_cached(std::size_t bytes);
    // A block from the raw allocator even when a cached one fits (for memory that will be
    // held a long time); returned to the cache like any other. When the raw allocator fails,
    // a cached block after all, else allocate()'s release and retry.
    void* allocate_fresh(std::size_t bytes);
    void deallocate(void* ptr) noexcept;
    // For a block this allocator handed out and that is still in use: returns it (to the
    // cache, or with `keep` false to the raw allocator at once) and true; false, touching
    // nothing, for any other pointer (memory the caller got elsewhere).
    bool deallocate_if_owned(void* ptr, bool keep) noexcept;
    void release_cached() noexcept;  // gives every cached block back to the raw allocator
    AllocatorStats stats() const;

    static constexpr std::size_t kGranularity = 512;

private:
    void* allocate_block(std::size_t bytes, bool cached_first);  // allocate() / allocate_fresh()
    void release_cached_locked() noexcept;
    void* take_cached_locked(std::size_t size);  // size already rounded; nullptr if none fits
    void note_used_locked(void* ptr, std::size_t size);
    void note_free_locked(std::size_t size, void* ptr);

    RawAllocate m_raw_allocate;
    RawFree m_raw_free;
    mutable std::mutex m_mutex;
    std::multimap<std::size_t, void*> m_free;       // cached blocks by size
    std::unordered_map<void*, std::size_t> m_used;  // live blocks and their sizes
    // The two maps' nodes, kept when a block moves from one map to the other and reused for the
    // next entry: once a loop has reached its peak, the bookkeeping itself allocates nothing.
    std::vector<std::multimap<std::size_t, void*>::node_type> m_spare_free;
    std::vector<std::unordered_map<void*, std::size_t>::node_type> m_spare_used;
    AllocatorStats m_stats;
};

}  // namespace descent::detail
