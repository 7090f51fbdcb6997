// The single-process and in-process (threads) communicators, and the agreement helpers of
// descent/communicator.hpp.
#include "descent/communicator.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>

#include <unistd.h>

#include "descent/error.hpp"

namespace descent {

namespace {

class SingleProcess final : public Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string name() const override { return "single process"; }
    std::vector<std::string> allgather(const std::string& mine) override { return {mine}; }
};

// What K thread communicators share: the slots of the current allgather and the result of the
// last one. A round completes when all K have put their slot; the last to arrive publishes it.
// The result is overwritten only by the next completed round, which needs every thread to
// have arrived again, so every thread has read the previous one by then.
struct ThreadGroup {
    explicit ThreadGroup(int size) : slots(static_cast<std::size_t>(size)) {}
    std::mutex mutex;
    std::condition_variable done;
    std::vector<std::string> slots, result;
    int arrived = 0;
    std::uint64_t round = 0;
    int abandoned_by = -1;  // the member that left (abandon), or -1
    // arrive_within's barrier, apart from allgather's rounds.
    int barrier_arrived = 0;
    std::uint64_t barrier_round = 0;
};

class ThreadMember final : public Communicator {
public:
    ThreadMember(std::shared_ptr<ThreadGroup> group, int rank)
        : m_group(std::move(group)), m_rank(rank) {}
    int rank() const override { return m_rank; }
    int size() const override { return static_cast<int>(m_group->slots.size()); }
    std::string name() const override { return "threads"; }
    std::vector<std::string> allgather(const std::string& mine) override {
        ThreadGroup& g = *m_group;
        std::unique_lock<std::mutex> lock(g.mutex);
        g.slots[static_cast<std::size_t>(m_rank)] = mine;
        const std::uint64_t round = g.round;
        if (g.abandoned_by < 0 && ++g.arrived == size()) {
            g.result = g.slots;
            g.arrived = 0;
            ++g.round;
            g.done.notify_all();
        } else {
            g.done.wait(lock, [&] { return g.round != round || g.abandoned_by >= 0; });
        }
        if (g.round == round)
            throw Error("threads: process " + std::to_string(g.abandoned_by) +
                        " left the group; this collective cannot complete");
        return g.result;
    }
    bool arrive_within(double seconds) override {
        ThreadGroup& g = *m_group;
        std::unique_lock<std::mutex> lock(g.mutex);
        const std::uint64_t round = g.barrier_round;
        if (++g.barrier_arrived == size()) {
            g.barrier_arrived = 0;
            ++g.barrier_round;
            g.done.notify_all();
            return true;
        }
        return g.done.wait_for(lock, std::chrono::duration<double>(seconds),
                               [&] { return g.barrier_round != round; });
    }
    void abandon() noexcept override {
        std::lock_guard<std::mutex> lock(m_group->mutex);
        if (m_group->abandoned_by < 0) m_group->abandoned_by = m_rank;
        m_group->done.notify_all();
    }

private:
    std::shared_ptr<ThreadGroup> m_group;
    int m_rank;
};

}  // namespace

std::shared_ptr<Communicator> single_process_communicator() {
    return std::make_shared<SingleProcess>();
}

std::vector<std::shared_ptr<Communicator>> thread_communicators(int size) {
    if (size < 1)
        throw Error("thread_communicators: a group needs at least 1 member, got " +
                    std::to_string(size));
    auto group = std::make_shared<ThreadGroup>(size);
    std::vector<std::shared_ptr<Communicator>> members;
    for (int r = 0; r < size; ++r) members.push_back(std::make_shared<ThreadMember>(group, r));
    return members;
}

void all_or_none(Communicator& comm, const std::function<void()>& work) {
    std::exception_ptr mine;
    std::string message;
    try {
        work();
    } catch (const std::exception& e) {
        mine = std::current_exception();
        message = e.what();
    } catch (...) {
        mine = std::current_exception();
        message = "unknown error";
    }
    // "" for success, "!" + the message for a failure (an empty message stays a failure).
    const std::vector<std::string> all = comm.allgather(mine ? "!" + message : std::string());
    for (std::size_t r = 0; r < all.size(); ++r) {
        if (all[r].empty()) continue;
        if (static_cast<int>(r) == comm.rank()) std::rethrow_exception(mine);
        throw Error("process " + std::to_string(r) + ": " + all[r].substr(1));
    }
}

bool any_process(Communicator& comm, bool flag) {
    for (const std::string& s : comm.allgather(flag ? "1" : "0"))
        if (s == "1") return true;
    return false;
}

int local_rank(Communicator& comm) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) throw Error("local_rank: gethostname failed");
    const std::vector<std::string> all = comm.allgather(host);
    int below = 0;
    for (int r = 0; r < comm.rank(); ++r)
        if (all[static_cast<std::size_t>(r)] == host) ++below;
    return below;
}

}  // namespace descent
