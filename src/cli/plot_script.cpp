// run_plot_script (plot_script.hpp).
#include "cli/plot_script.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/interrupt.hpp"
#include "descent/error.hpp"

#ifndef DESCENT_SOURCE_DIR
#define DESCENT_SOURCE_DIR ""
#endif
#ifndef DESCENT_DATA_DIR
#define DESCENT_DATA_DIR ""
#endif

namespace descent::cli {

namespace {

bool file_exists(const std::string& path) {
    struct stat st;
    return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

// The script: DESCENT_PLOT_DIR, else installed beside the binary, else in the source tree it
// was built from. (DESCENT_PLOT_SCRIPT, the older override, names plot_blog.py itself.)
std::string find_script(const std::string& name) {
    if (name == "plot_blog.py")
        if (const char* env = std::getenv("DESCENT_PLOT_SCRIPT")) return env;
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("DESCENT_PLOT_DIR")) dirs.emplace_back(env);
    dirs.emplace_back(DESCENT_DATA_DIR);
    dirs.emplace_back(std::string(DESCENT_SOURCE_DIR) + "/scripts");
    for (const std::string& dir : dirs) {
        const std::string candidate = dir + "/" + name;
        if (!dir.empty() && file_exists(candidate)) return candidate;
    }
    throw Error("--plot: cannot find " + name + " (set DESCENT_PLOT_DIR to its directory)");
}

std::string find_python() {
    if (const char* env = std::getenv("DESCENT_PYTHON")) return env;
    return file_exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

// Runs argv, returns its exit status and its output (stdout and stderr).
int run_process(const std::vector<std::string>& argv, std::string& err_text) {
    int pipe_fd[2];
    if (::pipe(pipe_fd) != 0) throw Error(std::string("--plot: pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("--plot: fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::dup2(pipe_fd[1], STDERR_FILENO);
        ::dup2(pipe_fd[1], STDOUT_FILENO);
        ::close(pipe_fd[0]);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    set_child_process(pid);  // a signal to descent now stops the script first
    ::close(pipe_fd[1]);
    char buf[4096];
    for (ssize_t n; (n = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) err_text.append(buf, n);
    ::close(pipe_fd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    set_child_process(0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void run_plot_script(const std::string& script, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {find_python(), find_script(script)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string err;
    const int status = run_process(argv, err);
    if (status == 0) return;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    const auto last_line = err.substr(err.find_last_of('\n') + 1);
    throw Error("--plot: the plotting script failed (exit " + std::to_string(status) + "): " +
                last_line + " (it needs python3 with matplotlib: apt-get install python3-matplotlib)");
}

}  // namespace descent::cli
