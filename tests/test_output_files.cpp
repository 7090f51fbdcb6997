// The one place descent writes files (src/data/write_file.cpp) and checks output paths and
// locks (src/data/output_path.cpp), tried as a hostile user would: links planted at the
// temporary names, outputs that are devices, FIFOs, directories or links, 255-byte names,
// two runs on one checkpoint, stale locks, and the escaping of outside text in errors.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "data/output_path.hpp"
#include "data/write_file.hpp"
#include "descent/error.hpp"
#include "text.hpp"

using namespace descent;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/descent-output-files.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_plain(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

int count_entries(const std::string& dir) {
    const std::string cmd = "ls -A '" + dir + "' | wc -l";
    FILE* p = ::popen(cmd.c_str(), "r");
    int n = -1;
    if (p) {
        if (std::fscanf(p, "%d", &n) != 1) n = -1;
        ::pclose(p);
    }
    return n;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("temporary names are unpredictable, hidden, beside the target and fit any name",
          "[output]") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string t = detail::temporary_name_for("dir/run.ckpt");
        REQUIRE(t.rfind("dir/.run.ckpt.", 0) == 0);
        REQUIRE(t.size() == std::string("dir/.run.ckpt.").size() + 12 + 4);
        REQUIRE(seen.insert(t).second);
    }
    const std::string long_name(255, 'c');
    const std::string t = detail::temporary_name_for("/x/" + long_name);
    REQUIRE(detail::base_name_of(t).size() <= 255);
    REQUIRE(detail::directory_of(t) == "/x");
}

TEST_CASE("a replaced file keeps its permissions", "[output]") {
    TempDir dir;
    const std::string path = dir / "private.ckpt";
    write_plain(path, "old");
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    detail::write_file_atomically(path, "new");
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    REQUIRE((st.st_mode & 07777) == 0600);
    REQUIRE(read(path) == "new");
}

TEST_CASE("a 255-byte output name works and leaves nothing else behind", "[output]") {
    TempDir dir;
    const std::string path = dir / std::string(255, 'n');
    detail::write_file_atomically(path, "first");
    detail::write_file_atomically(path, "second");
    REQUIRE(read(path) == "second");
    REQUIRE(count_entries(dir.path) == 1);
}

TEST_CASE("links planted at every possible temporary name cannot redirect the write",
          "[output]") {
    // The old temporary name was "<path>.tmp.<pid>": plant links at it, and at a spread of
    // names an attacker might guess; the victim file must stay untouched.
    TempDir dir;
    const std::string victim = dir / "victim.txt";
    write_plain(victim, "precious");
    const std::string target = dir / "out.csv";
    for (int pid = ::getpid() - 2; pid <= ::getpid() + 2; ++pid) {
        REQUIRE(::symlink(victim.c_str(), (target + ".tmp." + std::to_string(pid)).c_str()) == 0);
        REQUIRE(::link(victim.c_str(), (target + ".tmp.h" + std::to_string(pid)).c_str()) == 0);
    }
    detail::write_file_atomically(target, "new contents");
    REQUIRE(read(victim) == "precious");
    REQUIRE(read(target) == "new contents");
}

TEST_CASE("an existing output that is not a regular file is never replaced", "[output]") {
    TempDir dir;
    SECTION("a symbolic link") {
        const std::string real = dir / "real.txt";
        write_plain(real, "keep");
        REQUIRE(::symlink(real.c_str(), (dir / "link.txt").c_str()) == 0);
        REQUIRE_THROWS_WITH(detail::write_file_atomically(dir / "link.txt", "x"),
                            Catch::Contains("not a regular file"));
        REQUIRE(read(real) == "keep");
        REQUIRE_THROWS_WITH(detail::check_output_file("--checkpoint", dir / "link.txt"),
                            Catch::Contains("symbolic link"));
    }
    SECTION("a FIFO") {
        REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
        REQUIRE_THROWS_WITH(detail::write_file_atomically(dir / "fifo", "x"),
                            Catch::Contains("not a regular file"));
        REQUIRE_THROWS_WITH(detail::check_output_file("--trace", dir / "fifo"),
                            Catch::Contains("a FIFO"));
        struct stat st;
        REQUIRE(::lstat((dir / "fifo").c_str(), &st) == 0);
        REQUIRE(S_ISFIFO(st.st_mode));
    }
    SECTION("a character device") {
        REQUIRE_THROWS_WITH(detail::check_output_file("--checkpoint", "/dev/null"),
                            Catch::Contains("/dev/null") && Catch::Contains("character device"));
        REQUIRE_THROWS_WITH(detail::write_file_atomically("/dev/null", "x"),
                            Catch::Contains("not a regular file"));
        struct stat st;
        REQUIRE(::stat("/dev/null", &st) == 0);
        REQUIRE(S_ISCHR(st.st_mode));
    }
    SECTION("a directory") {
        REQUIRE(::mkdir((dir / "d").c_str(), 0700) == 0);
        REQUIRE_THROWS_WITH(detail::check_output_file("--trace", dir / "d"),
                            Catch::Contains("a directory"));
        REQUIRE_THROWS_WITH(detail::check_output_file("--trace", dir / "d/"),
                            Catch::Contains("names a directory"));
    }
    REQUIRE(count_entries(dir.path) >= 0);
}

TEST_CASE("output checks find a missing or unwritable directory before any work", "[output]") {
    TempDir dir;
    REQUIRE_THROWS_WITH(detail::check_output_file("--trace", dir / "nowhere/t.csv"),
                        Catch::Contains("--trace") && Catch::Contains("nowhere/t.csv") &&
                            Catch::Contains("does not exist"));
    write_plain(dir / "file", "x");
    REQUIRE_THROWS_WITH(detail::check_output_file("--trace", dir / "file/t.csv"),
                        Catch::Contains("not a directory"));
    // Read-only: a directory without write permission refuses the probe (unless root, which
    // a read-only bind mount would need; the CLI test covers /proc, which refuses even root).
    REQUIRE_THROWS_WITH(detail::check_output_file("--checkpoint", "/proc/descent.ckpt"),
                        Catch::Contains("cannot create files in /proc"));
    // The probe leaves nothing behind.
    detail::check_output_file("--trace", dir / "t.csv");
    REQUIRE(count_entries(dir.path) == 1);
}

TEST_CASE("file identities: links, relative paths and files not yet written", "[output]") {
    TempDir dir;
    write_plain(dir / "data.csv", "1,2\n");
    REQUIRE(::link((dir / "data.csv").c_str(), (dir / "hard.csv").c_str()) == 0);
    REQUIRE(::symlink((dir / "data.csv").c_str(), (dir / "soft.csv").c_str()) == 0);
    const auto data = detail::identify_file(dir / "data.csv");
    REQUIRE(detail::same_file(data, detail::identify_file(dir / "hard.csv")));
    REQUIRE(detail::same_file(data, detail::identify_file(dir / "soft.csv")));
    REQUIRE(::mkdir((dir / "sub").c_str(), 0700) == 0);
    REQUIRE(detail::same_file(data, detail::identify_file(dir.path + "/./sub/../data.csv")));
    REQUIRE_FALSE(detail::same_file(data, detail::identify_file(dir / "other.csv")));
    REQUIRE(detail::same_file(detail::identify_file(dir / "new.ckpt"),
                              detail::identify_file(dir.path + "/../" +
                                                    detail::base_name_of(dir.path) + "/new.ckpt")));
}

TEST_CASE("a failed write leaves neither the temporary nor a changed target", "[output]") {
    TempDir dir;
    const std::string target = dir / "out.txt";
    write_plain(target, "old");
    // /dev/full as the directory cannot hold files; a write to a full device fails: use a
    // directory we then make read-only for non-root, and otherwise a missing directory.
    REQUIRE_THROWS_WITH(detail::write_file_atomically(dir / "missing/out.txt", "x"),
                        Catch::Contains("cannot write") && Catch::Contains("missing/out.txt"));
    REQUIRE(read(target) == "old");
    REQUIRE(count_entries(dir.path) == 1);
}

TEST_CASE("the registry removes what a second signal would leave", "[output]") {
    TempDir dir;
    write_plain(dir / "a.tmp", "a");
    write_plain(dir / "b.tmp", "b");
    const int a = detail::register_file_for_removal(dir / "a.tmp");
    const int b = detail::register_file_for_removal(dir / "b.tmp");
    REQUIRE(a >= 0);
    REQUIRE(b >= 0);
    detail::unregister_file_for_removal(b);
    detail::remove_registered_files();
    detail::unregister_file_for_removal(a);
    REQUIRE(::access((dir / "a.tmp").c_str(), F_OK) != 0);
    REQUIRE(::access((dir / "b.tmp").c_str(), F_OK) == 0);
}

TEST_CASE("one run per checkpoint: the lock names the holder's pid and dies with it",
          "[output]") {
    TempDir dir;
    const std::string ckpt = dir / "run.ckpt";
    SECTION("held in this process") {
        detail::FileLock first("--checkpoint", ckpt);
        REQUIRE(first.lock_path() == dir / ".run.ckpt.lock");
        // A second lock from another process (flock locks belong to open file descriptions,
        // so a child's open conflicts) is refused with our pid.
        int pipe_fd[2];
        REQUIRE(::pipe(pipe_fd) == 0);
        const pid_t child = ::fork();
        if (child == 0) {
            std::string message = error_of([&] { detail::FileLock second("--checkpoint", ckpt); });
            const ssize_t n = ::write(pipe_fd[1], message.data(), message.size());
            ::_exit(n >= 0 ? 0 : 1);
        }
        ::close(pipe_fd[1]);
        std::string message;
        char buf[512];
        for (ssize_t n; (n = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) message.append(buf, n);
        ::close(pipe_fd[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(message.find("in use by another descent run (pid " + std::to_string(::getpid()) +
                             ")") != std::string::npos);
    }
    SECTION("left by a killed run: stale, taken over") {
        const pid_t child = ::fork();
        if (child == 0) {
            detail::FileLock held("--checkpoint", ckpt);
            ::raise(SIGKILL);  // dies holding it; the file stays, the flock does not
            ::_exit(0);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(::access((dir / ".run.ckpt.lock").c_str(), F_OK) == 0);
        detail::FileLock again("--checkpoint", ckpt);
        REQUIRE(again.took_over_stale());
    }
    SECTION("released and removed at the end") {
        { detail::FileLock held("--checkpoint", ckpt); }
        REQUIRE(::access((dir / ".run.ckpt.lock").c_str(), F_OK) != 0);
        detail::FileLock again("--checkpoint", ckpt);
        REQUIRE_FALSE(again.took_over_stale());
    }
    SECTION("a 255-byte checkpoint name gets a lock name that fits") {
        const std::string long_path = dir / std::string(255, 'L');
        detail::FileLock held("--checkpoint", long_path);
        REQUIRE(detail::base_name_of(held.lock_path()).size() <= 255);
        REQUIRE(detail::lock_path_for(dir / (std::string(254, 'L') + "x")) != held.lock_path());
    }
}

TEST_CASE("one clean line: outside text is escaped and long fields are cut", "[output]") {
    REQUIRE(detail::escape_control(std::string("a\nb\0c\x7f", 6)) == "a\\nb\\x00c\\x7f");
    REQUIRE(detail::escape_control("tab\there\r") == "tab\\there\\r");
    REQUIRE(detail::shown_field(std::string(61, 'a')) == std::string(60, 'a') + "...");
    REQUIRE(detail::shown_field(std::string(60, 'a')) == std::string(60, 'a'));
    // A 2-byte UTF-8 character straddling byte 60 is not split.
    const std::string utf8 = std::string(59, 'a') + "\xc3\xa9" + "zz";
    REQUIRE(detail::shown_field(utf8) == std::string(59, 'a') + "...");
    REQUIRE(detail::shown_path(std::string(100, 'p') + "\n") == std::string(100, 'p') + "\\n");
    // Two long settings: the window around their first difference is what shows.
    const std::string was = "file;n=100;d=3;intercept=yes;crc32c=0123abcd-89ab4567;" + std::string(500, 'w');
    const std::string now = "file;n=100;d=3;intercept=yes;crc32c=0123abce-89ab4567;" + std::string(500, 'w');
    const auto [then, today] = detail::shown_difference(was, now);
    REQUIRE(then.rfind("...", 0) == 0);
    REQUIRE(then.find("0123abcd") != std::string::npos);
    REQUIRE(today.find("0123abce") != std::string::npos);
    REQUIRE(then.size() <= 3 + 60 + 3);
    REQUIRE(detail::shown_difference("a", "b") == std::make_pair(std::string("a"), std::string("b")));
}
