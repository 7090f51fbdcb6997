// Internal: opens and reads input files (see read_file.hpp): non-blocking open, fstat, regular
// files only, exact pread ranges. Verified by tests/test_data.cpp ("input files must be regular
// files") and tests/cli/input_files.sh (--data and --resume on a FIFO, /dev/zero, /dev/urandom).
#include "read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "descent/error.hpp"
#include "text.hpp"

namespace descent::detail {

namespace {

// "<path>: is a FIFO, not a regular file", naming what the path leads to.
[[noreturn]] void refuse(const std::string& name, mode_t mode) {
    if (S_ISDIR(mode)) throw FileError(name + ": is a directory, not a data file", EISDIR);
    const char* kind = S_ISFIFO(mode)   ? "a FIFO"
                       : S_ISCHR(mode)  ? "a character device"
                       : S_ISBLK(mode)  ? "a block device"
                       : S_ISSOCK(mode) ? "a socket"
                                        : "something else";
    throw FileError(name + ": is " + kind + ", not a regular file", 0);
}

}  // namespace

InputFile::InputFile(const std::string& path) : m_name(shown_path(path)) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    // O_NOCTTY: a terminal device named as input must not become our controlling terminal.
    int fd;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR || path.empty()) throw FileError(m_name + ": no such file", ENOENT);
        // A socket cannot be opened at all (ENXIO); name what it is rather than the errno.
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) refuse(m_name, st.st_mode);
        throw FileError(m_name + ": cannot be read: " + std::strerror(err), err);
    }
    m_fd = fd;
    struct stat st;
    if (::fstat(m_fd, &st) != 0) {
        const int err = errno;
        ::close(m_fd);
        throw FileError(m_name + ": cannot be read: " + std::strerror(err), err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(m_fd);
        refuse(m_name, st.st_mode);
    }
    // Back to blocking reads: a regular file never blocks, but a clean descriptor state
    // keeps pread's EAGAIN out of the picture.
    const int flags = ::fcntl(m_fd, F_GETFL);
    if (flags < 0 || ::fcntl(m_fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        const int err = errno;
        ::close(m_fd);
        throw FileError(m_name + ": cannot be read: " + std::strerror(err), err);
    }
    m_size = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() {
    if (m_fd >= 0) ::close(m_fd);
}

void InputFile::read(std::uint64_t offset, char* out, std::size_t n) const {
    std::size_t done = 0;
    while (done < n) {
        const ssize_t got = ::pread(m_fd, out + done, n - done, static_cast<off_t>(offset + done));
        if (got < 0) {
            if (errno == EINTR) continue;
            throw FileError(m_name + ": read failed: " + std::strerror(errno), errno);
        }
        if (got == 0)
            throw Error(m_name + ": changed size while being read (it had " +
                        std::to_string(m_size) + " bytes when opened, ended at byte " +
                        std::to_string(offset + done) + ")");
        done += static_cast<std::size_t>(got);
    }
}

void InputFile::check_unchanged() const {
    struct stat st;
    if (::fstat(m_fd, &st) != 0) throw FileError(m_name + ": cannot be read: " + std::strerror(errno), errno);
    if (static_cast<std::uint64_t>(st.st_size) != m_size)
        throw Error(m_name + ": changed size while being read (" + std::to_string(m_size) +
                    " bytes when opened, " + std::to_string(st.st_size) + " now)");
}

void MemorySource::read(std::uint64_t offset, char* out, std::size_t n) const {
    if (offset > m_bytes.size() || n > m_bytes.size() - offset)
        throw Error(m_name + ": internal error: read past the end of the bytes");
    if (n != 0) std::memcpy(out, m_bytes.data() + offset, n);
}

std::string read_file_bytes(const std::string& path) {
    const InputFile file(path);
    std::string bytes(static_cast<std::size_t>(file.size()), '\0');
    file.read(0, bytes.data(), bytes.size());
    file.check_unchanged();
    return bytes;
}

}  // namespace descent::detail
