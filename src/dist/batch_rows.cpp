// assemble_batch (batch_rows.hpp): own rows out, everyone's rows back, placed by position.
#include "dist/batch_rows.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "descent/error.hpp"

namespace descent::detail {

void assemble_batch(Communicator& comm, const RowShard& shard, const Tensor& X, const Tensor& y,
                    const RowPermutation& perm, std::int64_t begin, const Tensor& Xb,
                    const Tensor& yb) {
    if (!X.device().is_cpu() || !X.is_contiguous() || !y.is_contiguous() || !Xb.is_contiguous() ||
        !yb.is_contiguous() || X.dtype() != Xb.dtype() || y.dtype() != yb.dtype())
        throw Error("assemble_batch: contiguous cpu tensors of one dtype expected");
    const std::int64_t count = Xb.shape()[0], d = X.shape()[1];
    const std::size_t row_bytes = dtype_size(X.dtype()) * static_cast<std::size_t>(d);
    const std::size_t y_bytes = dtype_size(y.dtype());
    const auto* x = static_cast<const char*>(X.data_ptr());
    const auto* yv = static_cast<const char*>(y.data_ptr());
    // This process's rows of the batch, in the batch's order: each row's X then its y.
    std::string mine;
    for (std::int64_t k = 0; k < count; ++k) {
        const std::int64_t r = perm.row(begin + k);
        if (r < shard.begin || r >= shard.end) continue;
        const std::int64_t local = r - shard.begin;
        mine.append(x + local * static_cast<std::int64_t>(row_bytes), row_bytes);
        mine.append(yv + local * static_cast<std::int64_t>(y_bytes), y_bytes);
    }
    const std::vector<std::string> all = comm.allgather(mine);
    // Each position's row comes next from its owner's message (owners in row order: the
    // shards are contiguous, so a row's owner is found by its shard).
    const int size = comm.size();
    std::vector<RowShard> shards;
    for (int p = 0; p < size; ++p) shards.push_back(shard_rows(shard.total, p, size));
    std::vector<std::size_t> read(static_cast<std::size_t>(size), 0);
    auto* xb = static_cast<char*>(Xb.data_ptr());
    auto* ybv = static_cast<char*>(yb.data_ptr());
    for (std::int64_t k = 0; k < count; ++k) {
        const std::int64_t r = perm.row(begin + k);
        int owner = 0;
        while (owner + 1 < size && r >= shards[static_cast<std::size_t>(owner)].end) ++owner;
        const std::string& from = all[static_cast<std::size_t>(owner)];
        std::size_t& at = read[static_cast<std::size_t>(owner)];
        if (at + row_bytes + y_bytes > from.size())
            throw Error("assemble_batch: process " + std::to_string(owner) +
                        " sent fewer rows of the batch than it holds (the processes disagree "
                        "on the data or the permutation)");
        std::memcpy(xb + k * static_cast<std::int64_t>(row_bytes), from.data() + at, row_bytes);
        std::memcpy(ybv + k * static_cast<std::int64_t>(y_bytes), from.data() + at + row_bytes,
                    y_bytes);
        at += row_bytes + y_bytes;
    }
}

}  // namespace descent::detail
