// Signal handling for the descent CLI (see interrupt.hpp). A handler may only touch lock-free
// atomics and call async-signal-safe functions: it records a stop request, or unlinks the
// registered files, writes one line with write(2) and calls _exit.
// Verified by tests/cli/signals.sh.
#include "cli/interrupt.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "data/write_file.hpp"

namespace descent::cli {

namespace {

// Process-wide because a signal handler can reach nothing else.
volatile sig_atomic_t g_stop_requests = 0;  // 1 while a StopRequest is alive
volatile sig_atomic_t g_signal = 0;         // the signal that asked to stop
volatile sig_atomic_t g_child = 0;          // set_child_process
volatile sig_atomic_t g_silent = 0;         // silence_signal_reports

// The processes of a distributed run on this host (set_job_processes): what a SIGTERM from
// the launcher checks. Written before training, read-only in the handler.
struct JobProcess {
    pid_t pid;
    int rank;
    char line[160];  // "descent: error: process R (pid P on HOST) ended; the job stops\n"
};
constexpr int kMaxJobProcesses = 256;
JobProcess g_job[kMaxJobProcesses];
volatile sig_atomic_t g_job_count = 0;  // processes on this host, this one included
volatile sig_atomic_t g_job_rank = -1;  // this process's rank
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

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// A launcher's SIGTERM because a process of the job died (mpirun stops the others when one
// ends abnormally): true when a process of this host is gone; the lowest-ranked process still
// alive here says which, on one line (also when silenced: it may be process 0 that died).
bool job_process_gone() {
    const int count = g_job_count;
    int dead = -1;
    for (int i = 0; i < count && dead < 0; ++i)
        if (g_job[i].rank != g_job_rank && gone(g_job[i].pid)) dead = i;
    if (dead < 0) return false;
    for (int i = 0; i < count; ++i)
        if (g_job[i].rank < g_job_rank && !gone(g_job[i].pid)) return true;  // it reports
    const ssize_t ignored = ::write(STDERR_FILENO, g_job[dead].line, std::strlen(g_job[dead].line));
    (void)ignored;
    return true;
}

void on_signal(int sig) {
    const int saved_errno = errno;
    if (sig == SIGTERM && g_job_count > 0 && job_process_gone()) {
        // No checkpoint to finish: the job is broken (the last checkpoint is intact).
        stop_child();
        detail::remove_registered_files();
        ::_exit(1);
    }
    errno = saved_errno;
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

void forget_job_processes() { g_job_count = 0; }

void set_job_processes(int rank, const std::vector<JobPeer>& peers) {
    int count = 0;
    for (const JobPeer& p : peers) {
        if (!p.same_host || count == kMaxJobProcesses) continue;
        JobProcess& j = g_job[count++];
        j.pid = static_cast<pid_t>(p.pid);
        j.rank = p.rank;
        std::snprintf(j.line, sizeof j.line,
                      "descent: error: process %d (pid %lld on %s) ended; the job stops\n", p.rank,
                      static_cast<long long>(p.pid), p.host.c_str());
    }
    g_job_rank = rank;
    g_job_count = count;
}

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
