// block_shard (shard_sum.hpp): the nodes and values of every process, through allgather.
#include "dist/shard_sum.hpp"

#include <cstring>
#include <string>

#include "descent/error.hpp"

namespace descent::detail {

namespace {

// A process's message: count and entries (int64), then per node its level (int64) and index
// (int64), then the values (count * entries doubles). Only processes of one build exchange
// them, so the host's byte order is everyone's.
template <class V>
void put(std::string& out, V v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class V>
V take(const std::string& in, std::size_t& at) {
    if (at + sizeof(V) > in.size()) throw Error("distributed pass: a short message from a process");
    V v;
    std::memcpy(&v, in.data() + at, sizeof v);
    at += sizeof v;
    return v;
}

}  // namespace

BlockShard block_shard(Communicator& comm, const RowShard& rows) {
    if ((rows.begin % kBlockRows != 0 && rows.begin != rows.total) || rows.begin > rows.end ||
        rows.end > rows.total ||
        (rows.end % kBlockRows != 0 && rows.end != rows.total))
        throw Error("distributed pass: rows [" + std::to_string(rows.begin) + ", " +
                    std::to_string(rows.end) + ") of " + std::to_string(rows.total) +
                    " are not whole blocks of " + std::to_string(kBlockRows) + " (shard_rows)");
    BlockShard shard;
    shard.first_block = rows.begin / kBlockRows;
    shard.total_blocks = (rows.total + kBlockRows - 1) / kBlockRows;
    shard.total_rows = rows.total;
    const std::int64_t total_blocks = shard.total_blocks;
    Communicator* c = &comm;
    shard.combine = [c, total_blocks](const std::vector<BlockNode>& nodes,
                                      const std::vector<double>& values, std::int64_t entries) {
        std::string mine;
        put<std::int64_t>(mine, static_cast<std::int64_t>(nodes.size()));
        put<std::int64_t>(mine, entries);
        for (const BlockNode& node : nodes) {
            put<std::int64_t>(mine, node.level);
            put<std::int64_t>(mine, node.index);
        }
        mine.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
        std::vector<BlockNode> all_nodes;
        std::vector<double> all_values;
        for (const std::string& message : c->allgather(mine)) {
            std::size_t at = 0;
            const auto count = take<std::int64_t>(message, at);
            if (take<std::int64_t>(message, at) != entries || count < 0 ||
                message.size() != at + static_cast<std::size_t>(count) *
                                           (2 * sizeof(std::int64_t) + entries * sizeof(double)))
                throw Error("distributed pass: the processes ran different passes (a message of " +
                            std::to_string(message.size()) + " bytes)");
            for (std::int64_t i = 0; i < count; ++i) {
                BlockNode node;
                node.level = static_cast<std::int32_t>(take<std::int64_t>(message, at));
                node.index = take<std::int64_t>(message, at);
                all_nodes.push_back(node);
            }
            const std::size_t doubles = static_cast<std::size_t>(count * entries);
            const std::size_t first = all_values.size();
            all_values.resize(first + doubles);
            std::memcpy(all_values.data() + first, message.data() + at, doubles * sizeof(double));
        }
        try {
            return combine_nodes(all_nodes, all_values, entries, total_blocks);
        } catch (const std::logic_error&) {
            throw Error("distributed pass: the processes' rows do not cover the " +
                        std::to_string(total_blocks) + " blocks once (each must hold its "
                        "shard_rows shard of the same data)");
        }
    };
    return shard;
}

}  // namespace descent::detail
