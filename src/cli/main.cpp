// The descent command-line tool. Every failure becomes one line on stderr and a non-zero
// exit status: 2 for a malformed command line, 1 for anything else; a failed write to
// stdout is a failure too (a closed pipe ends quietly, as a killed `yes | head` does).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "cli/allocation_failure.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "descent/version.hpp"
#include "text.hpp"

namespace {

const char* const kUsage =
    "usage: descent [blog|train|predict] [flags]\n"
    "\n"
    "  descent                 the blog post's experiment (same as 'descent blog')\n"
    "  descent --version       the version of descent\n"
    "  descent blog --help     its flags (--plot DIR writes the figures)\n"
    "  descent train --help    train one optimizer on blog, synthetic, CSV or NPY data\n"
    "  descent predict --help  predict with a model saved by train --save-model\n"
    "\n"
    "exit status: 0 success, 1 the run failed (bad data, a file, divergence), 2 usage (a bad\n"
    "flag or value); interrupted: 128 + the signal (130 for Ctrl-C)\n";

int dispatch(const std::vector<std::string>& args, descent::cli::Stdout& out) {
    if (args.empty()) return descent::cli::run_blog({}, out);
    const std::string& command = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (command == "train") return descent::cli::run_train(rest, out);
    if (command == "blog") return descent::cli::run_blog(rest, out);
    if (command == "predict") return descent::cli::run_predict(rest, out);
    if (command == "--help" || command == "-h" || command == "help") {
        out.printf("%s", kUsage);
        return 0;
    }
    if (command == "--version" || command == "version") {
        if (!rest.empty())
            throw descent::cli::UsageError("--version takes no arguments (got '" +
                                           descent::detail::shown_field(rest[0]) + "')");
        out.printf("descent %s\n", DESCENT_VERSION_STRING);
        return 0;
    }
    throw descent::cli::UsageError("unknown command '" + descent::detail::shown_field(command) +
                                   "' (expected blog, train or predict; see descent --help)");
}

// A distributed run's report is out: the launcher's signals from here on (it ends the job on
// the first process to exit non-zero) only end the process, with no line of their own.
void after_last_line(const descent::cli::Stdout& out) {
    std::fflush(stderr);
    if (out.keeps_resource()) {
        descent::cli::silence_signal_reports();
        descent::cli::forget_job_processes();
    }
}

// One line whatever the message holds: a newline or control byte that slipped through
// unescaped is escaped here.
int report(const descent::cli::Stdout& out, const char* message, int status) {
    if (!out.silenced())  // else process 0 of a distributed run reports it
        std::fprintf(stderr, "descent: error: %s\n", descent::detail::escape_control(message).c_str());
    after_last_line(out);
    return status;
}

// Writes the command's stdout; a failed write is an error (a full disk, /dev/full), and a
// reader that went away (EPIPE, when SIGPIPE is ignored) ends the run quietly with
// 128 + SIGPIPE, as SIGPIPE itself would.
int finish(const descent::cli::Stdout& out, int status) {
    const int err = descent::cli::write_stdout(out.text());
    after_last_line(out);
    if (err == 0) return status;
    if (err == EPIPE) return 141;
    std::fprintf(stderr, "descent: error: cannot write to standard output: %s\n", std::strerror(err));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const descent::cli::SignalHandlers signals;  // a signal never leaves a temporary file
    descent::cli::Stdout out;
    int status;
    try {
        status = dispatch(std::vector<std::string>(argv + 1, argv + argc), out);
    } catch (const descent::cli::UsageError& e) {
        return report(out, e.what(), 2);
    } catch (const std::bad_alloc& e) {
        // Outside the phases train_command names ("while loading --data ...").
        const std::size_t bytes = descent::cli::failed_allocation_bytes(e);
        const std::string command = argc > 1 ? argv[1] : "blog";
        const std::string message =
            "out of memory while running 'descent " + descent::detail::shown_field(command) + "' (" +
            (bytes > 0 ? std::to_string(bytes) + " bytes" : "an allocation of unknown size failed") + ")";
        return report(out, message.c_str(), 1);
    } catch (const std::exception& e) {
        return report(out, e.what(), 1);
    }
    return finish(out, status);
}
