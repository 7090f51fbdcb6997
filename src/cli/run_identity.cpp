#include "cli/run_identity.hpp"

#include <algorithm>
#include <cstdio>
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

std::string data_identity(const Dataset& data) {
    const std::string shape = ";n=" + std::to_string(data.X.shape()[0]) +
                              ";d=" + std::to_string(data.X.shape()[1]) +
                              ";intercept=" + (data.intercept ? "yes" : "no");
    if (data.source == "blog" || data.source.rfind("synthetic:", 0) == 0)
        return generated_data_identity(data.source, data.X.shape()[0], data.X.shape()[1],
                                       data.intercept);
    // A file: its contents, not its path (a moved file is the same data, an edited one is not).
    // X and y each get their own CRC-32C, which changes with any flipped bit or negated column.
    std::uint32_t crc[2];
    for (int i = 0; i < 2; ++i) {
        const Tensor host = (i == 0 ? data.X : data.y).to(Device::cpu()).contiguous();
        crc[i] = detail::crc32c(host.data_ptr(),
                                dtype_size(host.dtype()) * static_cast<std::size_t>(host.numel()));
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
