// What a checkpoint of `descent train` records about its run, and the check that a resumed
// run is the same run: same data (spec, or content hash for files), dtype, optimizer,
// hyperparameters, batching and seed. Anything else would not continue bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "descent/checkpoint.hpp"
#include "descent/communicator.hpp"
#include "descent/data.hpp"

namespace descent::cli {

// "blog" and synthetic specs identify themselves; files by n, d and a hash of the loaded
// values (a moved or renamed file is still the same data, an edited one is not). With
// `comm`, data holds this process's rows (data.rows) and the identity is the whole data
// set's, the same on every process and for any process count (a collective: the processes'
// hashes are combined in row order).
std::string data_identity(const Dataset& data, Communicator* comm = nullptr);
// The identity of generated data (blog, synthetic) from its spec and shape: a streamed run
// and an in-memory run of the same spec are the same data.
std::string generated_data_identity(const std::string& source, std::int64_t n, std::int64_t d,
                                    bool intercept);

// Throws descent::Error naming the first setting where the checkpoint at `path` and this run
// differ, e.g. "--resume ck: written for --data blog, this run has --data synthetic:...".
void check_same_run(const std::string& path, const std::map<std::string, std::string>& saved,
                    const std::map<std::string, std::string>& now);

}  // namespace descent::cli
