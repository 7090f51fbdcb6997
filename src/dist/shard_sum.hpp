// The bridge between a communicator and the fused passes' block tree: the BlockShard through
// which a process's pass over its rows exchanges its tree nodes with the other processes'.
// Verified by tests/test_distributed.cpp.
#pragma once

#include "descent/communicator.hpp"
#include "descent/shard.hpp"
#include "shared/block_tree.hpp"

namespace descent::detail {

// For this process's rows `rows` (a shard_rows shard) of a pass over `comm`: each pass's
// combine allgathers every process's nodes and values and folds them into the root, in the
// tree's one order. `comm` must outlive the BlockShard.
BlockShard block_shard(Communicator& comm, const RowShard& rows);

}  // namespace descent::detail
