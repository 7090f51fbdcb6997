// A mini-batch of a distributed run: its rows are wherever the permutation puts them, so each
// process contributes the ones it holds and every process assembles the whole batch, in the
// batch's order, exactly as one process gathers it. Every process then runs the one-process
// pass on the same bytes: the batch's sums are bitwise the one-process ones by construction.
// Verified by tests/test_distributed.cpp and tests/cli/distributed.sh.
#pragma once

#include <cstdint>

#include "descent/communicator.hpp"
#include "descent/shard.hpp"
#include "descent/tensor.hpp"
#include "shared/row_permutation.hpp"

namespace descent::detail {

// Xb[k] = X_all[r], yb[k] = y_all[r] with r = perm.row(begin + k) for the Xb.size(0) rows of
// Xb, where this process holds rows `shard` of X_all in X (contiguous, on the cpu) and y. A
// collective: every process calls it with the same perm, begin and count.
void assemble_batch(Communicator& comm, const RowShard& shard, const Tensor& X, const Tensor& y,
                    const RowPermutation& perm, std::int64_t begin, const Tensor& Xb,
                    const Tensor& yb);

}  // namespace descent::detail
