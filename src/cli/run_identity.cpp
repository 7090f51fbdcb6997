#include "cli/run_identity.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "crc32c.hpp"
#include "descent/error.hpp"
#include "text.hpp"

namespace descent::cli {

std::string generated_data_identity(const std::string& source, std::int64_t n, std::int64_t d,
                                    bool intercept) {
    return source + ";n=" + std::to_string(n) + ";d=" + std::to_string(d) +
           ";intercept=" + (intercept ? "yes" : "no");
}

namespace {

// The CRC-32C of X's bytes as they are with the ones column stored: an implicit one is
// hashed as if it were there, so a run resumes whichever way its data holds the intercept
// (the CUDA device stores it, the cpu not).
std::uint32_t crc_of_design_matrix(const Dataset& data) {
    const Tensor host = data.X.to(Device::cpu()).contiguous();
    const std::size_t item = dtype_size(host.dtype());
    const auto* bytes = static_cast<const unsigned char*>(host.data_ptr());
    if (!implicit_intercept(data))
        return detail::crc32c(bytes, item * static_cast<std::size_t>(host.numel()));
    const auto n = static_cast<std::size_t>(host.shape()[0]);
    const auto row = item * static_cast<std::size_t>(host.shape()[1]);
    unsigned char one[8];
    const Tensor one_t = ones({1}, host.dtype());
    std::memcpy(one, one_t.data_ptr(), item);
    // Rows with their 1 appended, a buffer of them at a time.
    const std::size_t per_buffer = std::max<std::size_t>(1, (std::size_t(1) << 16) / (row + item));
    std::vector<unsigned char> buffer(per_buffer * (row + item));
    std::uint32_t crc = 0;
    for (std::size_t i = 0; i < n;) {
        const std::size_t rows = std::min(per_buffer, n - i);
        unsigned char* at = buffer.data();
        for (std::size_t r = 0; r < rows; ++r, ++i) {
            std::memcpy(at, bytes + i * row, row);
            std::memcpy(at + row, one, item);
            at += row + item;
        }
        crc = detail::crc32c(buffer.data(), static_cast<std::size_t>(at - buffer.data()), crc);
    }
    return crc;
}


// The processes' CRCs of their rows, combined in row order (process order) into the CRC of
// all rows: the same as one process's.
std::uint32_t combine_over(Communicator* comm, std::uint32_t crc, std::uint64_t bytes) {
    if (!comm) return crc;
    std::string mine(12, '\0');
    std::memcpy(&mine[0], &crc, 4);
    std::memcpy(&mine[4], &bytes, 8);
    std::uint32_t all = 0;
    for (const std::string& part : comm->allgather(mine)) {
        std::uint32_t c = 0;
        std::uint64_t b = 0;
        std::memcpy(&c, part.data(), 4);
        std::memcpy(&b, part.data() + 4, 8);
        all = detail::crc32c_combine(all, c, b);
    }
    return all;
}

}  // namespace

std::string data_identity(const Dataset& data, Communicator* comm) {
    // The design matrix's shape: X with its ones column, stored or not.
    const std::int64_t d = weight_rows(data);
    const std::int64_t n = comm ? data.rows.total : data.X.shape()[0];
    const std::string shape = ";n=" + std::to_string(n) +
                              ";d=" + std::to_string(d) +
                              ";intercept=" + (data.intercept ? "yes" : "no");
    if (data.source == "blog" || data.source.rfind("synthetic:", 0) == 0)
        return generated_data_identity(data.source, n, d, data.intercept);
    // A file: its contents, not its path (a moved file is the same data, an edited one is not).
    // X and y each get their own CRC-32C, which changes with any flipped bit or negated column.
    std::uint32_t crc[2];
    const std::size_t item = dtype_size(data.X.dtype());
    crc[0] = combine_over(comm, crc_of_design_matrix(data),
                          item * static_cast<std::uint64_t>(data.X.shape()[0] * d));
    {
        const Tensor host = data.y.to(Device::cpu()).contiguous();
        const std::size_t bytes = item * static_cast<std::size_t>(host.numel());
        crc[1] = combine_over(comm, detail::crc32c(host.data_ptr(), bytes), bytes);
    }
    char hex[18];
    std::snprintf(hex, sizeof hex, "%08x-%08x", static_cast<unsigned>(crc[0]),
                  static_cast<unsigned>(crc[1]));
    return "file" + shape + ";crc32c=" + hex;
}

void check_same_run(const std::string& path, const std::map<std::string, std::string>& saved,
                    const std::map<std::string, std::string>& now) {
    const std::string shown = detail::shown_path(path);
    if (saved.count("tool") == 0 || saved.at("tool") != now.at("tool"))
        throw Error("--resume " + shown + ": not a checkpoint of 'descent train'");
    // Most telling first: another optimizer also has other hyperparameters. Each setting is
    // named by the flag that sets it.
    const std::vector<std::pair<std::string, std::string>> keys = {
        {"model", "--model"},
        {"data", "--data"},
        {"dtype", "--dtype"},
        {"optimizer", "--optimizer"},
        {"preset", "--preset"},
        {"hyperparameters", "hyperparameters (--lr, ...)"},
        {"batch_size", "--batch-size"},
        {"shuffle", "--shuffle/--seed"},
        {"stream_chunk", "--stream-chunk"},
        {"initial_weights", "--init (initial weights)"},
    };
    std::vector<std::pair<std::string, std::string>> order = keys;
    for (const auto& entry : now) {
        bool known = false;
        for (const auto& k : keys) known = known || k.first == entry.first;
        if (!known) order.emplace_back(entry.first, entry.first);
    }
    for (const auto& [key, flag] : order) {
        const auto here = now.find(key);
        if (here == now.end()) continue;
        const auto it = saved.find(key);
        const std::string was = it == saved.end() ? "(nothing)" : it->second;
        if (was != here->second) {
            const auto [then, now_shown] = detail::shown_difference(was, here->second);
            throw Error("--resume " + shown + ": the checkpoint was written with " + flag + " '" +
                        then + "', this run has '" + now_shown +
                        "'; resume with the flags of the run that wrote it");
        }
    }
}

}  // namespace descent::cli
