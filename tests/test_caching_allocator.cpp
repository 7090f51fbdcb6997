// The caching allocator's bookkeeping, with a fake raw allocator that counts its calls: reuse
// after free, best fit, no reuse of a block more than twice too big, release on failure.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <map>

#include "backend/caching_allocator.hpp"

using descent::detail::CachingAllocator;

// Every operator new of this test program, counted (the bookkeeping test below); not under
// AddressSanitizer, whose own operator new this would displace for only some of its forms.
#if defined(__SANITIZE_ADDRESS__)
#define DESCENT_COUNT_NEW 0
#else
#define DESCENT_COUNT_NEW 1
#endif
namespace {
std::uint64_t g_heap_allocations = 0;
std::uint64_t heap_allocations() { return g_heap_allocations; }
}  // namespace

#if DESCENT_COUNT_NEW
void* operator new(std::size_t n) {
    ++g_heap_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {
struct FakeDevice {
    int allocations = 0, frees = 0;
    std::size_t limit = 1 << 30, live = 0;
    std::map<void*, std::size_t> blocks;
    CachingAllocator make() {
        return CachingAllocator(
            [this](std::size_t n) {
                if (live + n > limit) throw std::bad_alloc();
                ++allocations;
                live += n;
                void* p = std::malloc(n);
                blocks[p] = n;
                return p;
            },
            [this](void* p) {
                ++frees;
                live -= blocks.at(p);
                blocks.erase(p);
                std::free(p);
            });
    }
};
}  // namespace

TEST_CASE("freed blocks are reused, so a steady loop stops allocating", "[allocator]") {
    FakeDevice dev;
    CachingAllocator a = dev.make();
    for (int step = 0; step < 100; ++step) {
        void* x = a.allocate(1000);
        void* y = a.allocate(4000);
        a.deallocate(x);
        a.deallocate(y);
    }
    CHECK(dev.allocations == 2);
    CHECK(a.stats().raw_allocations == 2);
    CHECK(a.stats().requests == 200);
    CHECK(a.stats().bytes_in_use == 0);
    CHECK(a.stats().bytes_cached == 1024 + 4096);
    a.release_cached();
    CHECK(dev.frees == 2);
    CHECK(a.stats().bytes_cached == 0);
}

TEST_CASE("best fit, and no tiny request ties up a huge block", "[allocator]") {
    FakeDevice dev;
    CachingAllocator a = dev.make();
    void* big = a.allocate(1 << 20);
    void* mid = a.allocate(8192);
    a.deallocate(big);
    a.deallocate(mid);
    void* reused = a.allocate(5000);  // 5120 rounded; 8192 <= 2 * 5120
    CHECK(reused == mid);
    void* small = a.allocate(512);    // 1 MiB is far more than twice 512: fresh block
    CHECK(small != big);
    CHECK(dev.allocations == 3);
    a.deallocate(reused);
    a.deallocate(small);
}

TEST_CASE("a failed raw allocation releases the cache and retries", "[allocator]") {
    FakeDevice dev;
    dev.limit = 10000;
    CachingAllocator a = dev.make();
    void* x = a.allocate(6000);
    a.deallocate(x);                  // 6144 cached
    void* y = a.allocate(9000);       // needs the cached bytes back
    CHECK(y != nullptr);
    CHECK(dev.frees == 1);
    CHECK_THROWS_AS(a.allocate(9000), std::bad_alloc);  // genuinely out of memory
    a.deallocate(y);
}

TEST_CASE("allocate_cached serves only cached blocks and never calls the raw allocator",
          "[allocator][graph]") {
    // What a CUDA graph capture uses: cudaMalloc is not allowed inside one.
    FakeDevice dev;
    CachingAllocator a = dev.make();
    CHECK(a.allocate_cached(1000) == nullptr);  // nothing cached yet
    CHECK(a.allocate_cached(0) == nullptr);
    CHECK(dev.allocations == 0);
    void* x = a.allocate(1000);
    a.deallocate(x);
    CHECK(a.allocate_cached(1 << 20) == nullptr);  // too big for the cached block
    void* again = a.allocate_cached(900);          // same rounded size: the same block
    CHECK(again == x);
    CHECK(a.stats().bytes_in_use == 1024);
    CHECK(a.stats().bytes_cached == 0);
    CHECK(a.allocate_cached(1000) == nullptr);  // the only block is in use
    a.deallocate(again);
    CHECK(dev.allocations == 1);
    CHECK(a.stats().raw_allocations == 1);
    CHECK(a.stats().requests == 6);
    CHECK(a.stats().bytes_cached == 1024);
}

TEST_CASE("allocate_fresh takes a new block even when a cached one fits, and caches it on free",
          "[allocator]") {
    FakeDevice dev;
    CachingAllocator a = dev.make();
    void* x = a.allocate(1000);
    a.deallocate(x);  // cached: a 1024-byte block
    void* lasting = a.allocate_fresh(1000);
    CHECK(lasting != x);
    CHECK(dev.allocations == 2);
    CHECK(a.stats().bytes_cached == 1024);  // the cached block is still there
    void* y = a.allocate(1000);
    CHECK(y == x);  // ... for the next ordinary request
    CHECK(dev.allocations == 2);
    a.deallocate(lasting);
    a.deallocate(y);
    CHECK(a.stats().bytes_cached == 2048);
    CHECK(a.stats().bytes_in_use == 0);
    CHECK(a.allocate_fresh(0) == nullptr);
}

TEST_CASE("the bookkeeping reuses its own entries: a steady loop makes no heap allocation of its "
          "own either", "[allocator]") {
    // Counted through the global operator new: after a warm-up, allocate/deallocate cycles of
    // the same sizes move map entries between the free and used maps without allocating.
    FakeDevice dev;
    CachingAllocator a = dev.make();
    const auto cycle = [&] {
        void* p[4];
        for (int i = 0; i < 4; ++i) p[i] = a.allocate(std::size_t(512) << i);
        for (int i = 0; i < 4; ++i) a.deallocate(p[i]);
    };
    if (!DESCENT_COUNT_NEW) {
        WARN("operator new is not counted under AddressSanitizer: nothing checked");
        return;
    }
    for (int i = 0; i < 3; ++i) cycle();
    const std::uint64_t before = heap_allocations();
    for (int i = 0; i < 100; ++i) cycle();
    CHECK(heap_allocations() == before);
}

TEST_CASE("allocate_fresh falls back on a cached block when the raw allocator is out of memory",
          "[allocator]") {
    FakeDevice dev;
    CachingAllocator a = dev.make();
    void* x = a.allocate(1000);
    a.deallocate(x);
    dev.limit = dev.live;  // nothing more from the device
    void* fresh = a.allocate_fresh(1000);
    CHECK(fresh == x);
    CHECK(dev.allocations == 1);
    CHECK_THROWS_AS(a.allocate(512), std::bad_alloc);  // nothing cached, the device full
    a.deallocate(fresh);
}
