// Internal: what descent checks about a path before any work starts: that an output can be
// written where it is asked for, that no output is the same file as an input or as another
// output, and an advisory lock so two runs never share one checkpoint.
// Verified by tests/test_output_files.cpp and tests/cli/output_safety.sh.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>

namespace descent::detail {

// Where a path leads: the file's device and inode when it exists (links followed), and a
// canonical path (realpath of the file, or of its directory plus its name when it does not
// exist yet). Two paths name the same file when both exist with the same (device, inode), or
// their canonical paths are equal.
struct FileIdentity {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    std::string canonical;
};
FileIdentity identify_file(const std::string& path);
bool same_file(const FileIdentity& a, const FileIdentity& b);

// Throws descent::Error ("<what> <path>: ...") unless a file can be written at `path` now:
// the name is not empty and not a directory name ("x/"); an existing `path` is a regular file
// (not a symbolic link, FIFO, device, socket or directory); its directory exists and a file
// can be created there (probed by creating and removing a temporary file, which also finds
// read-only filesystems, full quotas and missing permissions, as root too).
void check_output_file(const std::string& what, const std::string& path);

// The same for a directory that will receive files: an existing `path` must be a directory;
// otherwise its parent must exist and be writable. Then each name in `files` inside it must
// not exist or be a regular file.
void check_output_directory(const std::string& what, const std::string& path,
                            const std::initializer_list<const char*>& files);

// Creates the directory `path` when it does not exist yet (its parent must: see
// check_output_directory); an existing directory is fine.
void make_output_directory(const std::string& what, const std::string& path);

// An advisory lock on `path` held for the object's lifetime (flock on the lock file
// ".<name>.lock" beside it, cut and suffixed with a hash for long names). The kernel drops a
// flock when its process dies, however it dies, so a lock left by a killed run is stale and
// taken over; the pid inside is only for the message. Throws descent::Error naming the other
// run's pid when it is held.
class FileLock {
public:
    FileLock(const std::string& what, const std::string& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    const std::string& lock_path() const { return m_lock_path; }
    // True when a lock file from a run that had ended without removing it was found.
    bool took_over_stale() const { return m_stale; }

private:
    std::string m_lock_path;
    int m_fd = -1;
    int m_slot = -1;
    bool m_stale = false;
};

// The lock file's path for `path`.
std::string lock_path_for(const std::string& path);

}  // namespace descent::detail
