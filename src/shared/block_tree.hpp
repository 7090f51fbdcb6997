// The one order in which the fused passes combine the partial sums of their row blocks,
// whether one process holds all blocks or K processes hold contiguous ranges of them: a
// binary tree over the global block indices. Node (level j, index k) covers the blocks
// [k 2^j, (k + 1) 2^j) that exist (index < N); its value is its left child's plus its right
// child's, or the left child's alone when the right covers no block. A range of blocks that
// starts on a multiple of 2^j and holds 2^j blocks (or runs to the last block) is one node, so
// a process folds the nodes it holds whole and the processes exchange only those (at most two
// per level): the root is then the same bits for any K. A single pass over blocks
// [0, N) folds it in place (fold_in_place).
// Verified by tests/test_distributed.cpp (every split of random partials gives the one-process
// bits; the passes across processes) and tests/test_cpu_threads.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

namespace descent::detail {

// The rows of a block: the fused CPU passes' blocks and the distributed runs' unit of
// sharding (descent::kShardBlockRows, descent/shard.hpp, is the same number).
constexpr std::int64_t kBlockRows = 4096;

// A node of the tree: level j, index k (blocks [k 2^j, (k + 1) 2^j) ∩ [0, N)).
struct BlockNode {
    std::int32_t level = 0;
    std::int64_t index = 0;
};

// Folds the `count` partials at p (each `entries` doubles, one per block, contiguous) in
// place into p[0 .. entries): the value of the node whose blocks they are, when the first is a
// multiple of 2^j for the smallest 2^j >= count (a whole node, or the last node of the data).
inline void fold_in_place(double* p, std::int64_t count, std::int64_t entries) {
    for (std::int64_t stride = 1; stride < count; stride *= 2)
        for (std::int64_t i = 0; i + stride < count; i += 2 * stride) {
            double* left = p + i * entries;
            const double* right = p + (i + stride) * entries;
            for (std::int64_t e = 0; e < entries; ++e) left[e] += right[e];
        }
}

// The nodes that blocks [first, last) of N make, largest first from `first`: each starts on a
// multiple of its size and ends within the range (the last node of the data may be short).
inline std::vector<BlockNode> nodes_of_range(std::int64_t first, std::int64_t last,
                                             std::int64_t total_blocks) {
    std::vector<BlockNode> nodes;
    std::int64_t at = first;
    while (at < last) {
        std::int32_t level = 0;
        for (;;) {
            const std::int64_t size = std::int64_t(2) << level;
            if (at % size != 0 || size >= 2 * total_blocks) break;  // beyond the root
            const std::int64_t end = at + size < total_blocks ? at + size : total_blocks;
            if (end > last) break;
            ++level;
        }
        nodes.push_back({level, at >> level});
        const std::int64_t end = at + (std::int64_t(1) << level);
        at = end < total_blocks ? end : total_blocks;
    }
    return nodes;
}

// A pass over a shard of the blocks, combined with the other shards' (a distributed run).
struct BlockShard {
    std::int64_t first_block = 0;   // the shard's first block among all
    std::int64_t total_blocks = 0;  // N
    std::int64_t total_rows = 0;    // the rows of all shards: the passes' means divide by it
    // Every process passes its nodes (nodes_of_range of its blocks) and their values (entries
    // doubles each, in the nodes' order); returns the root's value, the same on every process.
    std::function<std::vector<double>(const std::vector<BlockNode>& nodes,
                                      const std::vector<double>& values, std::int64_t entries)>
        combine;
};

// The root's value from the nodes of every shard (each a whole node of the tree over N
// blocks, together covering [0, N) once), in any order: node values summed as fold_in_place
// sums them. Throws std::logic_error when the nodes do not cover the blocks exactly once.
inline std::vector<double> combine_nodes(const std::vector<BlockNode>& nodes,
                                         const std::vector<double>& values, std::int64_t entries,
                                         std::int64_t total_blocks) {
    std::vector<double> root(static_cast<std::size_t>(entries), 0.0);
    if (total_blocks == 0) return root;
    std::int32_t top = 0;
    while ((std::int64_t(1) << top) < total_blocks) ++top;
    // Each node once, inside the data, and their blocks adding up to N: with the walk below
    // (which stops at the first node it meets on each path) that is a cover without overlaps.
    std::map<std::pair<std::int32_t, std::int64_t>, std::size_t> where;
    std::int64_t covered = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const BlockNode& node = nodes[i];
        if (node.level < 0 || node.level > top || node.index < 0 ||
            (node.index << node.level) >= total_blocks ||
            !where.emplace(std::make_pair(node.level, node.index), i).second)
            throw std::logic_error("combine_nodes: a node twice or outside the blocks");
        const std::int64_t first = node.index << node.level;
        covered += std::min(first + (std::int64_t(1) << node.level), total_blocks) - first;
    }
    if (covered != total_blocks)
        throw std::logic_error("combine_nodes: the nodes do not cover the blocks once");
    const std::function<bool(std::int32_t, std::int64_t, double*)> value =
        [&](std::int32_t level, std::int64_t index, double* out) {
            if (const auto it = where.find({level, index}); it != where.end()) {
                const double* v = values.data() + static_cast<std::int64_t>(it->second) * entries;
                for (std::int64_t e = 0; e < entries; ++e) out[e] = v[e];
                return true;
            }
            if (level == 0) return false;
            if (!value(level - 1, 2 * index, out)) return false;
            if (((2 * index + 1) << (level - 1)) >= total_blocks) return true;  // no right child
            std::vector<double> right(static_cast<std::size_t>(entries));
            if (!value(level - 1, 2 * index + 1, right.data())) return false;
            for (std::int64_t e = 0; e < entries; ++e) out[e] += right[static_cast<std::size_t>(e)];
            return true;
        };
    if (!value(top, 0, root.data()))
        throw std::logic_error("combine_nodes: the shards' nodes do not cover the blocks");
    return root;
}

}  // namespace descent::detail
