// Internal: the one place descent writes files (checkpoints, traces, plots' inputs). A file is
// replaced atomically: a reader sees the old file or the complete new one, never a part; the
// temporary file cannot be used against the user (unpredictable name, created exclusively,
// links refused); an existing path that is not a regular file is never replaced.
// Verified by tests/test_output_files.cpp and tests/cli/output_safety.sh.
#pragma once

#include <string>
#include <vector>

namespace descent::detail {

// Writes `contents` to a new temporary file in `path`'s directory, named
// ".<name>.<12 random letters and digits>.tmp" (the name cut so that any legal file name
// works), created with O_CREAT | O_EXCL | O_NOFOLLOW; fsyncs it, renames it over `path`, then
// fsyncs the directory so the rename itself survives a crash. An existing `path` must be a
// regular file (not a link, FIFO, device or directory). On failure the temporary is removed
// and descent::Error names the path and the cause; `path` is untouched.
void write_file_atomically(const std::string& path, const std::string& contents);

// The name of a new temporary file for `path` (same directory, see above), never the same
// twice. Exposed for tests.
std::string temporary_name_for(const std::string& path);

// Files that must not outlive the process: temporaries being written, lock files, scratch
// directories. A signal handler that ends the process at once calls remove_registered_files(),
// which only reads fixed slots and calls unlink, then rmdir for directories (both
// async-signal-safe). register_file_for_removal returns a slot (or -1 when the path is too long
// or every slot is taken: the file is then not removed on a signal).
int register_file_for_removal(const std::string& path, bool directory = false) noexcept;
void unregister_file_for_removal(int slot) noexcept;
void remove_registered_files() noexcept;

// A private directory "<parent>/<prefix>XXXXXX" (mkdtemp) for files a helper program reads,
// removed with its files on destruction, and by remove_registered_files() on a signal.
class ScratchDirectory {
public:
    // `what` names the flag in errors ("--plot DIR: cannot write there: ...").
    ScratchDirectory(const std::string& what, const std::string& parent, const std::string& prefix);
    ~ScratchDirectory();
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;
    // Writes `name` inside (atomically), to be removed with the directory; returns its path.
    std::string write(const std::string& name, const std::string& contents);

private:
    std::string m_path;
    std::vector<std::string> m_files;
    std::vector<int> m_slots;
};

// The directory part of a path ("." for a bare name, "/" for "/x").
std::string directory_of(const std::string& path);
// The last component of a path.
std::string base_name_of(const std::string& path);

}  // namespace descent::detail
