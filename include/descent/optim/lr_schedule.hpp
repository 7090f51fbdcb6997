// Learning-rate schedules with torch.optim.lr_scheduler's semantics, names and arithmetic
// (torch 1.13: its recursive forms, so the sequence equals torch's bit for bit):
//   step:STEP,GAMMA                 StepLR(step_size=STEP, gamma=GAMMA)
//   exponential:GAMMA               ExponentialLR(gamma=GAMMA)
//   cosine:T_MAX[,ETA_MIN]          CosineAnnealingLR(T_max=T_MAX, eta_min=ETA_MIN (0))
//   linear:START,END,ITERS          LinearLR(start_factor=START, end_factor=END, total_iters=ITERS)
//   warmup-cosine:WARMUP,T_MAX[,ETA_MIN[,START]]
//                                   SequentialLR([LinearLR(START (1/3), 1, WARMUP),
//                                   CosineAnnealingLR(T_MAX, ETA_MIN)], milestones=[WARMUP])
// A scheduler's index counts scheduler steps: torch's last_epoch (epochs, or optimizer steps
// when stepped per batch). Verified against torch's sequences and a trained trajectory by
// tests/test_lr_schedule.cpp (fixtures from tests/reference/lr_schedule_reference.py).
#pragma once

#include <cstdint>
#include <string>

namespace descent::optim {

struct LrScheduleSpec {
    enum class Kind { step, exponential, cosine, linear, warmup_cosine };
    Kind kind = Kind::step;
    std::int64_t step_size = 1;   // step; cosine's and warmup-cosine's T_max
    std::int64_t iters = 1;       // linear's total_iters; warmup-cosine's warmup
    double gamma = 1.0;           // step, exponential
    double start = 1.0, end = 1.0;  // linear's factors; warmup-cosine's start factor
    double eta_min = 0.0;         // cosine, warmup-cosine
};

// Parses the grammar above; throws descent::Error naming what is wrong (an unknown kind, a
// missing or extra field, STEP / T_MAX / ITERS / WARMUP not an integer >= 1, GAMMA not > 0,
// START or END outside (0, 1] as torch's LinearLR requires (START > 0), ETA_MIN < 0).
LrScheduleSpec parse_lr_schedule(const std::string& text);
// The canonical text of a spec (parses back to it).
std::string lr_schedule_str(const LrScheduleSpec& spec);

// A scheduler over a base learning rate, as torch's after construction: lr() is the rate for
// index 0; step() advances to the next index as scheduler.step() does.
class LrScheduler {
public:
    LrScheduler(const LrScheduleSpec& spec, double base_lr);
    double lr() const { return m_lr; }
    std::int64_t index() const { return m_index; }
    void step();
    // The rate for index k: steps forward from the current index, or replays from 0 when k
    // is behind it (a resumed run), so each index costs one step in a run.
    double lr_at(std::int64_t k);

private:
    double cosine_next(double lr, std::int64_t last_epoch) const;
    double linear_next(double lr, std::int64_t last_epoch, double start, double end,
                       std::int64_t iters) const;

    LrScheduleSpec m_spec;
    double m_base;
    double m_lr;
    std::int64_t m_index = 0;
};

}  // namespace descent::optim
