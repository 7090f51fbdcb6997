// The geometry of a distributed pass's block partials (kernels.hpp: BlockPartialsPlan),
// shared by the tiled kernels of kernels/linear_mse.cu, logistic.cu and softmax.cu: each
// CUDA block walks the whole tiles of one block of rows, so the tile must divide the block.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

// rows: the tile rows the pass's one-pass plan picks (a multiple of 32, at most kThreads);
// fits: whether its tiled kernel takes these entries at all; tile_bytes(r): its shared memory
// for a tile of r rows. The plan depends on (dtype, d, entries, block_rows) and n only through
// the number of blocks, so a block's sums are the same bits whichever process holds it.
template <class TileBytes>
BlockPartialsPlan plan_block_partials(std::int64_t n, std::int64_t block_rows, std::int64_t rows,
                                      std::int64_t entries, int max_entries_per_thread, bool fits,
                                      const TileBytes& tile_bytes) {
    BlockPartialsPlan plan;
    plan.entries = entries;
    if (!fits || rows < 32 || entries > std::int64_t(kThreads) * max_entries_per_thread ||
        block_rows % 32 != 0)
        return plan;
    std::int64_t tile = 32;
    while (tile * 2 <= rows && block_rows % (tile * 2) == 0) tile *= 2;
    plan.supported = true;
    plan.rows_per_tile = static_cast<int>(tile);
    plan.tiles_per_block = static_cast<int>(block_rows / tile);
    plan.blocks = static_cast<int>((n + block_rows - 1) / block_rows);
    plan.groups = static_cast<int>(std::max<std::int64_t>(
        1, std::min<std::int64_t>(std::int64_t(kThreads) * max_entries_per_thread / entries,
                                  tile / 8)));
    plan.shared_bytes = std::max(tile_bytes(tile),
                                 static_cast<std::size_t>(8 * entries * plan.groups));
    return plan;
}

// The tiles a CUDA block of a tiled kernel walks: t = block, block + grid, ... of n_tiles; or,
// for block partials (tiles_per_block > 0), the consecutive tiles of block `block` of rows.
struct TileRange {
    std::int64_t first, end, step;
};
__device__ inline TileRange tiles_of_block(std::int64_t n_tiles, int tiles_per_block) {
    if (tiles_per_block > 0) {
        const std::int64_t first = std::int64_t(blockIdx.x) * tiles_per_block;
        return {first, min(n_tiles, first + tiles_per_block), 1};
    }
    return {std::int64_t(blockIdx.x), n_tiles, std::int64_t(gridDim.x)};
}

}  // namespace descent::kernels
