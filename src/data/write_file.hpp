// Internal: atomic file replacement, for every file descent writes (checkpoints, traces,
// plots' inputs): a reader sees the old file or the complete new one, never a part.
#pragma once

#include <string>

namespace descent::detail {

// Writes `contents` to "<path>.tmp.<pid>", fsyncs it, renames it over `path`, then fsyncs the
// directory so the rename itself survives a crash. On failure the temporary is removed and
// descent::Error names the path and the cause; `path` is untouched.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace descent::detail
