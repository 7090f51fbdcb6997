// Internal: sums that are bitwise the same whoever holds which rows. Per-row terms are summed
// in blocks of kShardBlockRows rows (each in row order, or by a deterministic op over the
// block), and the blocks, of every process in rank order (the order of the rows, shard.hpp),
// are then summed in order. Used by the metrics (metrics.cpp) and feature scaling
// (standardize.cpp); verified by their tests' any-number-of-processes cases.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "descent/communicator.hpp"
#include "descent/shard.hpp"

namespace descent::detail {

// `blocks`: this process's block sums, `width` values each, in row order. Returns the sums
// over every process's blocks, added in order (a collective with `comm`).
std::vector<double> sum_blocks_in_order(std::vector<double> blocks, std::size_t width,
                                        Communicator* comm);

// Per-row terms added row by row into blocks of kShardBlockRows rows.
class BlockSums {
public:
    explicit BlockSums(std::size_t width) : m_acc(width, 0.0) {}
    // The accumulator the next row's terms are added to.
    double* next_row() {
        if (m_in_block == kShardBlockRows) close_block();
        ++m_in_block;
        return m_acc.data();
    }
    std::vector<double> total(Communicator* comm) {
        if (m_in_block > 0) close_block();
        return sum_blocks_in_order(std::move(m_blocks), m_acc.size(), comm);
    }

private:
    void close_block();
    std::vector<double> m_acc, m_blocks;
    std::int64_t m_in_block = 0;
};

}  // namespace descent::detail
