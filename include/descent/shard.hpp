// How the rows of a data set are split among the K processes of a distributed run: into fixed
// blocks of kShardBlockRows rows, whatever K is (the fused passes' row blocks), each process
// owning a contiguous range of whole blocks. Since the blocks and the order in which their
// partial sums are combined (src/shared/block_tree.hpp) do not depend on K, K processes give
// bitwise the sums one process gives.
// Verified by tests/test_distributed.cpp.
#pragma once

#include <cstdint>

namespace descent {

constexpr std::int64_t kShardBlockRows = 4096;

// Rows [begin, end) of `total` belong to one process; total is the whole data set's row count.
struct RowShard {
    std::int64_t begin = 0, end = 0, total = 0;
    std::int64_t rows() const { return end - begin; }
};

// The shard of process `rank` of `ranks`: blocks [ceil(r B / K), ceil((r + 1) B / K)) of the
// B = ceil(total / kShardBlockRows) blocks (the last block possibly short): the first B mod K
// processes hold one block more, and with fewer blocks than processes the last ones hold no
// rows (the blog's 100 rows are process 0's). Throws descent::Error for
// ranks < 1, rank outside [0, ranks) or total < 0.
RowShard shard_rows(std::int64_t total, int rank, int ranks);

}  // namespace descent
