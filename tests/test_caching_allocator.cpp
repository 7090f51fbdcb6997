// The caching allocator's bookkeeping, with a fake raw allocator that counts its calls: reuse
// after free, best fit, no reuse of a block more than twice too big, release on failure.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>
#include <map>

#include "backend/caching_allocator.hpp"

using descent::detail::CachingAllocator;

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
