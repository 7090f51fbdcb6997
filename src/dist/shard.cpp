// shard_rows (descent/shard.hpp): each process's contiguous range of the fixed row blocks.
#include "descent/shard.hpp"

#include <algorithm>
#include <string>

#include "descent/error.hpp"
#include "shared/block_tree.hpp"

namespace descent {

static_assert(kShardBlockRows == detail::kBlockRows, "a shard is whole blocks of the passes");

RowShard shard_rows(std::int64_t total, int rank, int ranks) {
    if (ranks < 1 || rank < 0 || rank >= ranks)
        throw Error("shard_rows: rank " + std::to_string(rank) + " of " + std::to_string(ranks) +
                    " processes (0 <= rank < processes, processes >= 1)");
    if (total < 0) throw Error("shard_rows: a row count of " + std::to_string(total));
    const std::int64_t blocks = (total + kShardBlockRows - 1) / kShardBlockRows;
    // ceil(r B / K), without overflow for any B (r * (B % K) < K^2): the first B % K
    // processes hold one block more, and with fewer blocks than processes the last hold none.
    const auto first_block = [&](std::int64_t r) {
        return (blocks / ranks) * r + (r * (blocks % ranks) + ranks - 1) / ranks;
    };
    RowShard shard;
    shard.total = total;
    const std::int64_t b0 = first_block(rank), b1 = first_block(rank + 1);
    shard.begin = std::min(total, b0 * kShardBlockRows);
    shard.end = std::min(total, b1 * kShardBlockRows);
    return shard;
}

}  // namespace descent
