// Internal: output-path checks, file identities and the checkpoint lock (see output_path.hpp).
// Verified by tests/test_output_files.cpp and tests/cli/output_safety.sh.
#include "data/output_path.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "crc32c.hpp"
#include "data/write_file.hpp"
#include "descent/error.hpp"
#include "text.hpp"

namespace descent::detail {

namespace {

std::string kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISREG(mode)) return "a regular file";
    return "of an unknown kind";
}

std::string real_path(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return "";
    return buf;
}

// Creates and removes a temporary file in `dir`: the only sure way to know a file can be
// created there (permissions, ACLs, read-only mounts, quotas, root's privileges).
void probe_writable(const std::string& what, const std::string& path, const std::string& dir) {
    const std::string probe = temporary_name_for(dir + "/probe");
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        throw Error(what + " " + shown_path(path) + ": cannot create files in " +
                    shown_path(dir) + ": " + std::strerror(errno));
    const int slot = register_file_for_removal(probe);
    ::close(fd);
    ::unlink(probe.c_str());
    unregister_file_for_removal(slot);
}

void check_directory_exists(const std::string& what, const std::string& path,
                            const std::string& dir) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0)
        throw Error(what + " " + shown_path(path) + ": the directory " + shown_path(dir) +
                    (errno == ENOENT ? " does not exist" : std::string(": ") + std::strerror(errno)));
    if (!S_ISDIR(st.st_mode))
        throw Error(what + " " + shown_path(path) + ": " + shown_path(dir) + " is not a directory");
}

}  // namespace

FileIdentity identify_file(const std::string& path) {
    FileIdentity id;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        id.exists = true;
        id.device = st.st_dev;
        id.inode = st.st_ino;
        id.canonical = real_path(path);
    } else {
        const std::string dir = real_path(directory_of(path));
        if (!dir.empty()) id.canonical = (dir == "/" ? "" : dir) + "/" + base_name_of(path);
    }
    return id;
}

bool same_file(const FileIdentity& a, const FileIdentity& b) {
    if (a.exists && b.exists) return a.device == b.device && a.inode == b.inode;
    return !a.canonical.empty() && a.canonical == b.canonical;
}

void check_output_file(const std::string& what, const std::string& path) {
    if (path.empty()) throw Error(what + ": the file name is empty");
    if (path.back() == '/')
        throw Error(what + " " + shown_path(path) + ": names a directory; give a file name");
    const std::string dir = directory_of(path);
    check_directory_exists(what, path, dir);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw Error(what + " " + shown_path(path) + ": exists and is " + kind_of(st.st_mode) +
                    ", not a regular file; descent replaces only regular files" +
                    (S_ISLNK(st.st_mode) ? " (give the path the link points to)" : ""));
    probe_writable(what, path, dir);
}

void check_output_directory(const std::string& what, const std::string& path,
                            const std::initializer_list<const char*>& files) {
    if (path.empty()) throw Error(what + ": the directory name is empty");
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            throw Error(what + " " + shown_path(path) + ": exists and is " + kind_of(st.st_mode) +
                        ", not a directory");
        probe_writable(what, path, path);
        for (const char* name : files) {
            const std::string file = path + "/" + name;
            if (::lstat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
                throw Error(what + " " + shown_path(path) + ": " + shown_path(file) + " is " +
                            kind_of(st.st_mode) + ", not a regular file");
        }
        return;
    }
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    const std::string parent = directory_of(trimmed);
    check_directory_exists(what, path, parent);
    probe_writable(what, path, parent);
}

void make_output_directory(const std::string& what, const std::string& path) {
    if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
        throw Error(what + " " + shown_path(path) + ": cannot create the directory: " +
                    std::strerror(errno));
}

std::string lock_path_for(const std::string& path) {
    const std::string dir = directory_of(path), base = base_name_of(path);
    const std::string prefix = path.find('/') == std::string::npos ? "" : dir + (dir == "/" ? "" : "/");
    if (base.size() + 6 <= 255) return prefix + "." + base + ".lock";
    // Too long for ".<name>.lock": keep 200 bytes and tell the names apart by their CRC.
    char hash[9];
    std::snprintf(hash, sizeof hash, "%08x", crc32c(base.data(), base.size()));
    return prefix + "." + base.substr(0, 200) + "~" + hash + ".lock";
}

FileLock::FileLock(const std::string& what, const std::string& path)
    : m_lock_path(lock_path_for(path)) {
    // A lock file can be unlinked by its holder between our open and our flock; then we hold
    // a lock on a file nobody else can find. Check the name still leads to our file, else retry.
    for (int attempt = 0; attempt < 8; ++attempt) {
        const int fd = ::open(m_lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
            throw Error(what + " " + shown_path(path) + ": cannot create the lock file " +
                        shown_path(m_lock_path) + ": " + std::strerror(errno));
        struct stat mine;
        if (::fstat(fd, &mine) != 0 || !S_ISREG(mine.st_mode)) {
            ::close(fd);
            throw Error(what + " " + shown_path(path) + ": the lock file " +
                        shown_path(m_lock_path) + " is not a regular file");
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            char buf[32] = {0};
            const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
            ::close(fd);
            if (err != EWOULDBLOCK)
                throw Error(what + " " + shown_path(path) + ": cannot lock " +
                            shown_path(m_lock_path) + ": " + std::strerror(err));
            const long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
            throw Error(what + " " + shown_path(path) + " is in use by another descent run" +
                        (pid > 0 ? " (pid " + std::to_string(pid) + ")" : "") +
                        "; wait for it to end or choose another file (lock: " +
                        shown_path(m_lock_path) + ")");
        }
        struct stat named;
        if (::stat(m_lock_path.c_str(), &named) != 0 || named.st_dev != mine.st_dev ||
            named.st_ino != mine.st_ino) {
            ::close(fd);  // the holder removed it as we locked it: lock the new one
            continue;
        }
        m_stale = mine.st_size > 0;  // a pid left by a run that is gone: its lock died with it
        const std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
            const int err = errno;
            ::unlink(m_lock_path.c_str());
            ::close(fd);
            throw Error(what + " " + shown_path(path) + ": cannot write the lock file " +
                        shown_path(m_lock_path) + ": " + std::strerror(err));
        }
        m_fd = fd;
        m_slot = register_file_for_removal(m_lock_path);
        return;
    }
    throw Error(what + " " + shown_path(path) + ": the lock file " + shown_path(m_lock_path) +
                " keeps changing; is another descent run starting and stopping?");
}

FileLock::~FileLock() {
    if (m_fd < 0) return;
    unregister_file_for_removal(m_slot);
    ::unlink(m_lock_path.c_str());  // while still locked: nobody can be holding it
    ::close(m_fd);
}

}  // namespace descent::detail
