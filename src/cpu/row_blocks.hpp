// What the CPU's fused passes (linear_mse.cpp, logistic.cpp) share: the rows cut into fixed
// blocks, each block's partial sums in double computed by any thread, combined in block
// order (so the result does not depend on the thread count), and the combined sums written
// out as loss, gradient and the Hessian's mirrored upper triangle.
// Verified by tests/test_cpu_threads.cpp (bitwise for any thread count) and the passes' tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "shared/block_tree.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace descent::detail {

// The OpenMP thread running this part of a pass (0 outside a parallel region or without
// OpenMP), and the most threads a pass may run on: per-thread scratch of a pass is indexed by
// the one and sized by the other, allocated before the parallel region.
inline int pass_thread_index() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
inline int pass_max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// The sums over rows [0, n) of `entries` values: block(start, rows, out) adds rows
// [start, start + rows) into out[0, entries) (zeroed), for blocks of `block_rows` rows; the
// blocks' partials combined in the tree of shared/block_tree.hpp. With `shard` the rows are
// one process's part of a distributed pass (blocks of kShardBlockRows from shard->first_block):
// its nodes go through shard->combine, which every process calls (also one with no rows), and
// the sums returned are those of all processes' rows, the same bits one process gets.
template <class Block>
std::vector<double> sum_row_blocks(std::int64_t n, std::int64_t block_rows, std::int64_t entries,
                                   const Block& block, const BlockShard* shard = nullptr) {
    const std::int64_t n_blocks = (n + block_rows - 1) / block_rows;
    if (n_blocks <= 1 && !shard) {
        // One block (a mini-batch, the blog): no partials and no parallel region at all,
        // which even when not taken (`if`) costs the OpenMP runtime a team and a futex call,
        // more than a small batch's work. The sums are the same bits: 0 + the block's (which
        // also turns a -0 into +0, as the other path's final 0 + does).
        std::vector<double> total(static_cast<std::size_t>(entries), 0.0);
        if (n > 0) block(0, n, total.data());
        for (double& v : total) v = 0.0 + v;
        return total;
    }
    std::vector<double> partials(static_cast<std::size_t>(n_blocks * entries), 0.0);
    if (n_blocks == 1) {
        block(0, n, partials.data());
    } else {
#pragma omp parallel for schedule(static)
        for (std::int64_t b = 0; b < n_blocks; ++b) {
            const std::int64_t start = b * block_rows;
            block(start, std::min(block_rows, n - start), partials.data() + b * entries);
        }
    }
    std::vector<double> total;
    if (!shard) {
        fold_in_place(partials.data(), n_blocks, entries);
        total.assign(partials.begin(), partials.begin() + entries);
    } else {
        const std::vector<BlockNode> nodes =
            nodes_of_range(shard->first_block, shard->first_block + n_blocks, shard->total_blocks);
        std::vector<double> values;
        values.reserve(nodes.size() * static_cast<std::size_t>(entries));
        for (const BlockNode& node : nodes) {
            const std::int64_t first = (node.index << node.level) - shard->first_block;
            const std::int64_t count =
                std::min(std::int64_t(1) << node.level, n_blocks - first);
            double* p = partials.data() + first * entries;
            fold_in_place(p, count, entries);
            values.insert(values.end(), p, p + entries);
        }
        total = shard->combine(nodes, values, entries);
    }
    for (double& v : total) v = 0.0 + v;
    return total;
}

namespace block_rows_detail {

// rows of `cols` values from src to dst with a 1 after each: COLS > 0 a compile-time count
// (the copy unrolls into a few moves), 0 any count.
template <int COLS, class T>
void copy_with_ones(const T* src, T* dst, std::int64_t rows, std::int64_t cols) {
    if constexpr (COLS > 0) {
        for (std::int64_t i = 0; i < rows; ++i, src += COLS, dst += COLS + 1) {
            for (int j = 0; j < COLS; ++j) dst[j] = src[j];
            dst[COLS] = T(1);
        }
    } else {
        for (std::int64_t i = 0; i < rows; ++i, src += cols, dst += cols + 1) {
            std::copy(src, src + cols, dst);
            dst[cols] = T(1);
        }
    }
}

template <class T, int... C>
void copy_with_ones_any(const T* src, T* dst, std::int64_t rows, std::int64_t cols,
                        std::integer_sequence<int, C...>) {
    const bool fixed = ((cols == C + 1 ? (copy_with_ones<C + 1>(src, dst, rows, cols), true)
                                       : false) || ...);
    if (!fixed) copy_with_ones<0>(src, dst, rows, cols);
}

}  // namespace block_rows_detail

// The rows of X (row-major, n rows) as the block kernels of d columns read them, for one pass
// cut into blocks of block_rows rows. Without intercept X has the d columns and rows() points
// into it. With intercept X holds d - 1 columns (the ones column is implicit, the last weight
// the intercept): rows() copies a block's rows into the calling thread's buffer with a 1
// appended, so every kernel sums exactly as over a stored ones column (bitwise) while X itself
// never holds the column (a loaded file's X stays the file's size). The buffers, a block each
// per OpenMP thread, are allocated here, before any parallel region (running out of memory is
// an ordinary exception), and freed with the pass; the copy stays in cache.
template <class T>
class BlockRows {
public:
    // kernel_reads_ones: the block kernel reads X's d - 1 columns and the ones itself
    // (cpu/linear_mse_block.hpp's RowGroups); rows() then points into X, copying nothing.
    BlockRows(const T* x, std::int64_t n, std::int64_t block_rows, std::int64_t d, bool intercept,
              bool kernel_reads_ones = false)
        : m_x(x), m_stride(intercept ? d - 1 : d), m_copy(intercept && !kernel_reads_ones) {
        if (!m_copy) return;
        const int threads = n > block_rows ? pass_max_threads() : 1;
        m_buffers.resize(static_cast<std::size_t>(threads));
        for (std::vector<T>& b : m_buffers)
            b.resize(static_cast<std::size_t>(std::min(n, block_rows) * d));
    }

    // Rows [start, start + rows): called once per block, from any thread of the pass.
    const T* rows(std::int64_t start, std::int64_t rows) {
        if (!m_copy) return m_x + start * m_stride;
        const std::int64_t cols = m_stride;
        T* buffer = m_buffers[static_cast<std::size_t>(pass_thread_index())].data();
        block_rows_detail::copy_with_ones_any(m_x + start * cols, buffer, rows, cols,
                                              std::make_integer_sequence<int, 32>());
        return buffer;
    }

private:
    const T* m_x;
    std::int64_t m_stride;  // values a row holds in X
    bool m_copy;
    std::vector<std::vector<T>> m_buffers;
};

// total = [loss sum, gradient sums (d), Hessian sums (d * d, upper triangle valid)]:
// loss = loss_scale * total[0], grad = deriv_scale * sums, hessian (when not null) the same
// scale on the upper triangle, mirrored (the fixed-d kernels accumulate only that half).
template <class T>
void write_loss_grad_hessian(const std::vector<double>& total, std::int64_t d, double loss_scale,
                             double deriv_scale, T* loss, T* grad, T* hessian) {
    *loss = static_cast<T>(total[0] * loss_scale);
    for (std::int64_t j = 0; j < d; ++j) grad[j] = static_cast<T>(deriv_scale * total[1 + j]);
    if (!hessian) return;
    const double* hs = total.data() + 1 + d;
    for (std::int64_t j = 0; j < d; ++j)
        for (std::int64_t k = j; k < d; ++k) {
            const T v = static_cast<T>(deriv_scale * hs[j * d + k]);
            hessian[j * d + k] = v;
            hessian[k * d + j] = v;
        }
}

}  // namespace descent::detail
