#include "data/write_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "descent/error.hpp"

namespace descent::detail {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& tmp, int fd, int err) {
    if (fd >= 0) ::close(fd);
    if (!tmp.empty()) ::unlink(tmp.c_str());
    throw Error("cannot write " + path + ": " + std::strerror(err));
}

std::string directory_of(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
    if (path.empty()) throw Error("cannot write a file with an empty name");
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(path, "", -1, errno);
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path, tmp, fd, errno);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail(path, tmp, fd, errno);
    if (::close(fd) != 0) fail(path, tmp, -1, errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail(path, tmp, -1, errno);
    // The rename is durable only once the directory entry is on disk.
    const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);  // best effort: some filesystems refuse fsync on directories
        ::close(dir);
    }
}

}  // namespace descent::detail
