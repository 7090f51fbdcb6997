// Signal handling for the descent CLI (see interrupt.hpp). A handler may only touch lock-free
// atomics and call async-signal-safe functions: it records a stop request, or unlinks the
// registered files, writes one line with write(2) and calls _exit.
// Verified by tests/cli/signals.sh.
#include "cli/interrupt.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "data/write_file.hpp"

namespace descent::cli {

namespace {

// Process-wide because a signal handler can reach nothing else.
volatile sig_atomic_t g_stop_requests = 0;  // 1 while a StopRequest is alive
volatile sig_atomic_t g_signal = 0;         // the signal that asked to stop
volatile sig_atomic_t g_child = 0;          // set_child_process
volatile sig_atomic_t g_silent = 0;         // silence_signal_reports
struct sigaction g_previous_int, g_previous_term, g_previous_hup;

void say(const char* line) {
    if (g_silent) return;
    const ssize_t ignored = ::write(STDERR_FILENO, line, std::strlen(line));
    (void)ignored;
}

// Interrupts the child and waits up to 2 s for it (then kills it): async-signal-safe calls only.
void stop_child() {
    const pid_t child = static_cast<pid_t>(g_child);
    if (child <= 0) return;
    ::kill(child, SIGINT);
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 200; ++i) {
        if (::waitpid(child, nullptr, WNOHANG) != 0) return;
        ::nanosleep(&tick, nullptr);
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
}

void on_signal(int sig) {
    if (g_stop_requests && g_signal == 0) {
        g_signal = sig;
        return;
    }
    stop_child();
    detail::remove_registered_files();
    say(g_signal != 0 ? "descent: interrupted again; stopped at once (the last checkpoint, if any, "
                        "is intact)\n"
                      : "descent: interrupted; nothing half-written was left\n");
    ::_exit(128 + sig);
}

}  // namespace

SignalHandlers::SignalHandlers() {
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // reads, writes and fsyncs carry on; the loop polls the flag
    sigaction(SIGINT, &action, &g_previous_int);
    sigaction(SIGTERM, &action, &g_previous_term);
    sigaction(SIGHUP, &action, &g_previous_hup);  // the terminal went away: as SIGTERM
}

SignalHandlers::~SignalHandlers() {
    sigaction(SIGINT, &g_previous_int, nullptr);
    sigaction(SIGTERM, &g_previous_term, nullptr);
    sigaction(SIGHUP, &g_previous_hup, nullptr);
}

void silence_signal_reports() { g_silent = 1; }

void set_child_process(int pid) { g_child = pid; }

StopRequest::StopRequest() {
    g_signal = 0;
    g_stop_requests = 1;
}

StopRequest::~StopRequest() { g_stop_requests = 0; }

int StopRequest::signal() const { return g_signal; }

const char* StopRequest::name(int signal) {
    return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : signal == SIGHUP ? "SIGHUP" : "a signal";
}

}  // namespace descent::cli
