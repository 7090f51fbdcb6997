#include "cli/run_identity.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "descent/error.hpp"
#include "hash.hpp"

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
    std::uint64_t h = detail::kFnvOffset;
    for (const Tensor* t : {&data.X, &data.y}) {
        const Tensor host = t->to(Device::cpu());
        h = detail::fnv1a64(host.data_ptr(),
                            dtype_size(host.dtype()) * static_cast<std::size_t>(host.numel()), h);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return "file" + shape + ";fnv1a64=" + hex;
}

void check_same_run(const std::string& path, const std::map<std::string, std::string>& saved,
                    const std::map<std::string, std::string>& now) {
    if (saved.count("tool") == 0 || saved.at("tool") != now.at("tool"))
        throw Error("--resume " + path + ": not a checkpoint of 'descent train'");
    // Most telling first: another optimizer also has other hyperparameters.
    std::vector<std::string> keys = {"data", "dtype", "optimizer", "preset", "hyperparameters",
                                     "batch_size", "shuffle"};
    for (const auto& entry : now)
        if (std::find(keys.begin(), keys.end(), entry.first) == keys.end()) keys.push_back(entry.first);
    for (const std::string& key : keys) {
        const auto here = now.find(key);
        if (here == now.end()) continue;
        const auto it = saved.find(key);
        const std::string was = it == saved.end() ? "(nothing)" : it->second;
        if (was != here->second)
            throw Error("--resume " + path + ": the checkpoint was written with " + key + " '" +
                        was + "', this run has '" + here->second +
                        "'; resume with the flags of the run that wrote it");
    }
}

}  // namespace descent::cli
