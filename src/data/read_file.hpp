// Internal: reads a whole data file into memory, with errors that name the path and the cause.
// Verified by the missing/unreadable-file cases of tests/test_data.cpp.
#pragma once

#include <string>

namespace descent::detail {

// The file's bytes. Throws descent::Error "<path>: no such file" / "is a directory" /
// "cannot be read: <reason>".
std::string read_file_bytes(const std::string& path);

}  // namespace descent::detail
