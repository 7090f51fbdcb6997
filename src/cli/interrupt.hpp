// SIGINT, SIGTERM (and SIGHUP, handled as SIGTERM is) in the descent CLI. main() installs SignalHandlers for the whole run: a
// signal removes descent's temporary and lock files (and --plot's scratch files) and ends the
// process at once with 128 + the signal. While training, a StopRequest is alive: the first
// signal then only asks the training loop to stop after the epoch in progress (it writes its
// checkpoint and the CLI exits 130 / 143); a second ends the process at once.
// Verified by tests/cli/signals.sh (interrupt, resume, bitwise equal to an uninterrupted run).
#pragma once

#include <string>
#include <vector>

namespace descent::cli {

class SignalHandlers {
public:
    SignalHandlers();   // installs the handlers for SIGINT, SIGTERM and SIGHUP
    ~SignalHandlers();  // puts the previous ones back
    SignalHandlers(const SignalHandlers&) = delete;
    SignalHandlers& operator=(const SignalHandlers&) = delete;
};

// The child process running now (--plot's script), or 0: a signal that ends descent at once
// first interrupts it (SIGINT, so that it removes its own temporary files) and waits for it,
// so no orphan goes on writing outputs after descent has exited.
void set_child_process(int pid);

// From now on a signal's line is not written (a process of a distributed run other than
// process 0, which reports for the job; the launcher signals every process alike).
void silence_signal_reports();

// The processes of a distributed run (this one's rank; every process's rank, pid and host).
// From then on a SIGTERM that finds a process of this host gone (the launcher stopping the job
// because one died) ends this process at once with status 1, the lowest-ranked process alive
// on the host printing one line naming the one that ended. Peers on other hosts are not
// seen: there the launcher's own report names them.
struct JobPeer {
    int rank = 0;
    long long pid = 0;
    std::string host;
    bool same_host = false;
};
void set_job_processes(int rank, const std::vector<JobPeer>& peers);
// The run has reported (main's last line): processes ending now end with the job, not because
// it broke; a SIGTERM is then no longer checked against them.
void forget_job_processes();

class StopRequest {
public:
    StopRequest();   // from now on the first signal is a request to stop
    ~StopRequest();  // back to ending at once
    StopRequest(const StopRequest&) = delete;
    StopRequest& operator=(const StopRequest&) = delete;

    // The first signal received since construction (SIGINT, SIGTERM or SIGHUP), or 0.
    int signal() const;
    // "SIGINT" / "SIGTERM".
    static const char* name(int signal);
};

}  // namespace descent::cli
