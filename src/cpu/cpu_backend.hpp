// The host backend: plain loops over dense arrays, reductions in double in a fixed order so
// that results are deterministic. The reference every other backend is compared against.
#pragma once

#include <atomic>
#include <memory>

#include "backend/backend.hpp"
#include "backend/caching_allocator.hpp"

namespace descent::detail {

// Not final: tests derive a fault-injecting backend from it (backend/backend_override.hpp).
class CpuBackend : public Backend {
public:
    CpuBackend();
    void* allocate(std::size_t bytes, int device_index) override;
    void deallocate(void* ptr, int device_index) noexcept override;
    void cache_allocations(bool on) override;
    void bypass_allocation_cache(bool on) override;
    AllocatorStats allocation_stats() const override;
    void copy_from_host(void* dst, const void* host_src, std::size_t bytes,
                        int device_index) override;
    void copy_to_host(void* host_dst, const void* src, std::size_t bytes,
                      int device_index) override;
    void copy(void* dst, const void* src, std::size_t bytes, int device_index) override;
    void synchronize(int) override {}

    void fill(Array out, double value) override;
    void cast(Array in, Array out) override;
    void unary(UnaryOp op, double alpha, Array in, Array out) override;
    void binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& index) override;
    void strided_copy(Array in, Array out, const BroadcastIndex& index) override;

    bool gemm_bias(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   double alpha, Array a, Array b, Array bias, Array c) override;
    void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
              double alpha, Array a, Array b, Array c) override;
    void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols) override;
    void max_all(Array in, Array out) override;
    void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
                  double scale) override;

    void where(Array cond, Array a, Array b, Array out, const SelectIndex& index) override;
    void extremum_axis(bool largest, Array in, Array values, Array indices, std::int64_t outer,
                       std::int64_t len, std::int64_t inner) override;
    void index_select(Array in, Array out, std::int64_t outer, std::int64_t len,
                      std::int64_t inner, const std::int64_t* index, std::int64_t count) override;
    void index_add(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
                   const std::int64_t* order, const std::int64_t* offsets,
                   std::int64_t count) override;

    void mse(Array pred, Array target, Array out) override;
    void linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d, bool intercept,
                    Array loss, Array grad, const Array* hessian,
                    const BlockShard* shard) override;
    void logistic(Array X, Array y, Array w, std::int64_t n, std::int64_t d, bool intercept,
                  Array loss, Array grad, const Array* hessian, const BlockShard* shard) override;
    void softmax_cross_entropy(Array X, Array labels, Array W, std::int64_t n, std::int64_t d,
                               std::int64_t k, bool intercept, Array loss, Array grad,
                               const BlockShard* shard) override;

    void gather_rows(Array X, Array y, std::int64_t d, const RowPermutation& perm,
                     std::int64_t begin, std::int64_t count, Array Xb, Array yb) override;

    void dropout_mask(Array out, double p, std::uint64_t seed, std::uint64_t offset) override;
    void synthetic_rows(const SyntheticRows& spec, std::int64_t begin, std::int64_t count, Array X,
                        Array y) override;

    std::int64_t spd_solve(Array A, Array b, std::int64_t d, double damping, Array x) override;

    void optimizer_update(DType dtype, const UpdateTensor* tensors, int count,
                          int device_index) override;

private:
    // gemm, with bias (n values of c's dtype) added along each row unless null.
    void gemm_into(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   double alpha, Array a, Array b, const void* bias, Array c);
    // aligned_alloc / free, counted.
    void* system_allocate(std::size_t bytes);
    void system_free(void* ptr) noexcept;

    std::atomic<int> m_cache_scopes{0};
    std::atomic<int> m_bypass_scopes{0};
    std::atomic<std::uint64_t> m_system_allocations{0}, m_system_frees{0}, m_requests{0};
    std::unique_ptr<CachingAllocator> m_cache;  // serves allocations while a scope is open
};

}  // namespace descent::detail
