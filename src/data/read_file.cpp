// Internal: whole-file reads for the CSV and NPY loaders.
// Verified by the missing/unreadable-file cases of tests/test_data.cpp.
#include "read_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "descent/error.hpp"

namespace descent::detail {

std::string read_file_bytes(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found)
        throw Error(path + ": no such file");
    if (status.type() == std::filesystem::file_type::directory)
        throw Error(path + ": is a directory, not a data file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot be read: " + std::strerror(errno));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw Error(path + ": read failed: " + std::strerror(errno));
    return bytes;
}

}  // namespace descent::detail
