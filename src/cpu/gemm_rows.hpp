// The CPU matrix product's inner kernel, one source built for the baseline x86-64 instruction
// set (src/cpu/linalg.cpp), AVX2 (src/cpu/gemm_avx2.cpp) and AVX-512 (src/cpu/gemm_avx512.cpp),
// chosen at run time like the linear-MSE blocks (cpu/linear_mse_isa.hpp). Every entry of C is
// the same sum in every build and for any thread count: a double accumulator starting at 0,
// plus double(a_ip) * double(b_pj) for p = 0, 1, ..., k - 1, in that order (no FMA
// contraction: -ffp-contract=off); the wider builds vectorise across the independent entries
// j of a row, never along p. Verified by tests/test_cpu_threads.cpp and tests/test_cpu_isa.cpp.
#pragma once

#include <cstdint>

#include "cpu/linear_mse_isa.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/gemm_rows.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

// acc (rows i0 .. i1 of C, n doubles each, zeroed by the caller) += the products: A is (m, k)
// row-major, or (k, m) when trans_a (C = Aᵀ B); B is (k, n) row-major.
template <class T>
void gemm_rows(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
               const T* B, std::int64_t i0, std::int64_t i1, double* acc) {
    if (!trans_a) {
        for (std::int64_t i = i0; i < i1; ++i) {
            const T* a = A + i * k;
            double* c = acc + (i - i0) * n;
            for (std::int64_t p = 0; p < k; ++p) {
                const double aip = double(a[p]);
                const T* b = B + p * n;
                for (std::int64_t j = 0; j < n; ++j) c[j] += aip * double(b[j]);
            }
        }
        return;
    }
    // Aᵀ: row p of A holds column p of Aᵀ; p outermost keeps each entry's order p = 0, 1, ...
    for (std::int64_t p = 0; p < k; ++p) {
        const T* a = A + p * m;
        const T* b = B + p * n;
        for (std::int64_t i = i0; i < i1; ++i) {
            const double aip = double(a[i]);
            double* c = acc + (i - i0) * n;
            for (std::int64_t j = 0; j < n; ++j) c[j] += aip * double(b[j]);
        }
    }
}

}  // namespace descent::detail::DESCENT_CPU_ISA
