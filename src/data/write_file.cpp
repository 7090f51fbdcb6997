// Internal: atomic, link-safe file replacement and the registry of files a signal must remove.
// Verified by tests/test_output_files.cpp (planted links, long names, failures leave nothing)
// and tests/cli/output_safety.sh, tests/cli/signals.sh.
#include "data/write_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "descent/error.hpp"
#include "text.hpp"

namespace descent::detail {

namespace {

// The one piece of process-wide state here, on purpose: a signal handler can reach nothing
// else. Each slot holds a path while `used` is set; writers claim a slot with a CAS.
constexpr int kSlots = 8;
struct Slot {
    std::atomic<int> used{0};
    bool directory = false;
    char path[PATH_MAX];
};
Slot g_slots[kSlots];

constexpr std::size_t kNameMax = 255;   // NAME_MAX on Linux filesystems
constexpr std::size_t kRandomChars = 12;

// 12 characters from [A-Za-z0-9] (71 bits): getrandom, else the clock and the pid mixed.
std::string random_suffix() {
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[kRandomChars];
    if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bytes)) {
        std::uint64_t x = static_cast<std::uint64_t>(
                              std::chrono::steady_clock::now().time_since_epoch().count()) ^
                          (static_cast<std::uint64_t>(::getpid()) << 32);
        for (unsigned char& b : bytes) {  // splitmix64
            x += 0x9E3779B97F4A7C15ull;
            std::uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            b = static_cast<unsigned char>(z ^ (z >> 31));
        }
    }
    std::string s(kRandomChars, 'x');
    for (std::size_t i = 0; i < kRandomChars; ++i) s[i] = kAlphabet[bytes[i] % 62];
    return s;
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
    throw FileError("cannot write " + shown_path(path) + ": " + what + std::strerror(err), err);
}

}  // namespace

std::string directory_of(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string temporary_name_for(const std::string& path) {
    // "." + name + "." + 12 random + ".tmp" fits in NAME_MAX once the name is cut to 237 bytes.
    const std::size_t keep = kNameMax - 1 - 1 - kRandomChars - 4;
    const std::string base = base_name_of(path).substr(0, keep);
    const std::string dir = directory_of(path);
    const std::string prefix = path.find('/') == std::string::npos ? "" : dir + (dir == "/" ? "" : "/");
    return prefix + "." + base + "." + random_suffix() + ".tmp";
}

int register_file_for_removal(const std::string& path, bool directory) noexcept {
    if (path.size() >= PATH_MAX) return -1;
    for (int i = 0; i < kSlots; ++i) {
        int expected = 0;
        if (g_slots[i].used.load(std::memory_order_relaxed) != 0 ||
            !g_slots[i].used.compare_exchange_strong(expected, 1))
            continue;
        std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
        g_slots[i].directory = directory;
        g_slots[i].used.store(2, std::memory_order_release);  // 2: the path is complete
        return i;
    }
    return -1;
}

void unregister_file_for_removal(int slot) noexcept {
    if (slot >= 0 && slot < kSlots) g_slots[slot].used.store(0, std::memory_order_release);
}

void remove_registered_files() noexcept {
    for (Slot& s : g_slots)  // files first: a scratch directory empties before it goes
        if (s.used.load(std::memory_order_acquire) == 2 && !s.directory) ::unlink(s.path);
    for (Slot& s : g_slots)
        if (s.used.load(std::memory_order_acquire) == 2 && s.directory) ::rmdir(s.path);
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    if (path.empty()) throw Error("cannot write a file with an empty name");
    // Never replace what is not a regular file: as root, renaming over /dev/null or a FIFO
    // would turn it into a regular file; over a symlink it would drop the link.
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw Error("cannot write " + shown_path(path) + ": it exists and is not a regular file");

    std::string tmp;
    int fd = -1, slot = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        tmp = temporary_name_for(path);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            fail(path, "cannot create a temporary file beside it: ", errno);
    }
    if (fd < 0) fail(path, "cannot create a temporary file beside it: ", EEXIST);
    // Registered only once it is ours: a signal must never remove a file someone else made.
    slot = register_file_for_removal(tmp);
    // A replaced file keeps its permissions (a private checkpoint stays private).
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::fchmod(fd, st.st_mode & 07777);
    const auto give_up = [&](const char* what, int err) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        unregister_file_for_removal(slot);
        fail(path, what, err);
    };
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            give_up("", errno);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) give_up("", errno);
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) give_up("", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) give_up("", errno);
    unregister_file_for_removal(slot);
    // The rename is durable only once the directory entry is on disk.
    const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);  // best effort: some filesystems refuse fsync on directories
        ::close(dir);
    }
}

ScratchDirectory::ScratchDirectory(const std::string& what, const std::string& parent,
                                   const std::string& prefix)
    : m_path(parent + "/" + prefix + "XXXXXX") {
    if (::mkdtemp(m_path.data()) == nullptr)
        throw Error(what + " " + shown_path(parent) + ": cannot write there: " + std::strerror(errno));
    m_slots.push_back(register_file_for_removal(m_path, true));
}

ScratchDirectory::~ScratchDirectory() {
    for (const std::string& f : m_files) ::unlink(f.c_str());
    ::rmdir(m_path.c_str());
    for (int slot : m_slots) unregister_file_for_removal(slot);
}

std::string ScratchDirectory::write(const std::string& name, const std::string& contents) {
    const std::string path = m_path + "/" + name;
    m_files.push_back(path);
    m_slots.push_back(register_file_for_removal(path));  // inside our own directory: ours
    write_file_atomically(path, contents);
    return path;
}

}  // namespace descent::detail
