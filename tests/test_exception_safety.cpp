// Exception safety. A failing op leaves its inputs and the autodiff graph usable; a backward()
// that throws changes no grad() and frees nothing, so a corrected call gives the right
// gradients; an optimizer step or load_state() that throws leaves parameters, their grads and
// state() bitwise unchanged, and the next valid step matches an optimizer that never failed.
// Failures the public API cannot provoke on a CPU (running out of memory, a failed optimizer
// update on a device) are injected by a CPU backend that fails on request
// (src/backend/backend_override.hpp); the "expected" side is always a twin that never failed.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend_override.hpp"
#include "graph_capture.hpp"
#include "error_of.hpp"
#include "cpu/cpu_backend.hpp"
#include "descent/autograd.hpp"
#include "descent/device.hpp"
#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/optim/factory.hpp"
#include "descent/optim/newton.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/tensor.hpp"
#include "tensor_impl.hpp"

using Catch::Matchers::Contains;
using descent::Device;
using descent::DType;
using descent::Shape;
using descent::Tensor;
using namespace descent::optim;

namespace {

// --- failure injection -----------------------------------------------------------------------

// The CPU backend, except that the n-th allocation or optimizer update from now throws (once).
class FaultyCpuBackend final : public descent::detail::CpuBackend {
public:
    void fail_allocation_after(int n) { m_allocations_left = n; }
    void fail_update_after(int n) { m_updates_left = n; }
    void disarm() { m_allocations_left = m_updates_left = -1; }
    int failures() const { return m_failures; }

    void* allocate(std::size_t bytes, int device_index) override {
        if (trip(m_allocations_left))
            throw descent::Error("injected: cpu out of memory allocating " +
                                 std::to_string(bytes) + " bytes");
        return CpuBackend::allocate(bytes, device_index);
    }
    void optimizer_update(DType dtype, const descent::detail::UpdateTensor* tensors, int count,
                          int device_index) override {
        if (trip(m_updates_left)) throw descent::Error("injected: optimizer update failed");
        CpuBackend::optimizer_update(dtype, tensors, count, device_index);
    }

private:
    bool trip(int& left) {
        if (left < 0) return false;
        if (left-- > 0) return false;
        ++m_failures;
        return true;
    }
    int m_allocations_left = -1;
    int m_updates_left = -1;
    int m_failures = 0;
};

// Installs a FaultyCpuBackend for the scope (disarmed until told otherwise).
struct Faults {
    FaultyCpuBackend backend;
    descent::detail::ScopedCpuBackendOverride scope{backend};

    // For n = 0, 1, ...: runs prepare(), then attempt() with the n-th allocation from its
    // start failing, until attempt() succeeds; after each injected failure, runs check().
    // Returns the number of injected failures. An error that was not injected (or no success
    // within 1000 tries) fails the test and ends the sweep.
    int sweep_allocations(const std::function<void()>& prepare, const std::function<void()>& attempt,
                          const std::function<void()>& check) {
        for (int n = 0; n < 1000; ++n) {
            INFO("allocation " << n << " fails");
            prepare();
            backend.fail_allocation_after(n);
            std::string error;
            try {
                attempt();
            } catch (const descent::Error& e) {
                error = e.what();
            }
            backend.disarm();
            if (error.empty()) return n;
            if (error.find("injected") == std::string::npos) {
                FAIL_CHECK("an error that was not injected: " << error);
                return n;
            }
            check();
        }
        FAIL_CHECK("no success after 1000 injected failures");
        return -1;
    }
};

// --- bitwise snapshots -----------------------------------------------------------------------

struct TensorBits {
    bool defined = false;
    Shape shape;
    DType dtype = DType::f32;
    std::string device;
    std::vector<unsigned char> bytes;
    bool operator==(const TensorBits& o) const {
        return defined == o.defined && shape == o.shape && dtype == o.dtype &&
               device == o.device && bytes == o.bytes;
    }
};

TensorBits bits(const Tensor& t) {
    TensorBits b;
    if (!t.defined()) return b;
    b.defined = true;
    b.shape = t.shape();
    b.dtype = t.dtype();
    b.device = t.device().str();
    if (t.dtype() == DType::f32) {
        const std::vector<float> v = t.to_vector<float>();
        b.bytes.resize(v.size() * sizeof(float));
        if (!v.empty()) std::memcpy(b.bytes.data(), v.data(), b.bytes.size());
    } else {
        const std::vector<double> v = t.to_vector<double>();
        b.bytes.resize(v.size() * sizeof(double));
        if (!v.empty()) std::memcpy(b.bytes.data(), v.data(), b.bytes.size());
    }
    return b;
}

// Everything a tensor is, as the autodiff engine sees it.
struct TensorSnapshot {
    TensorBits value;
    bool requires_grad = false;
    const void* grad_fn = nullptr;
    TensorBits grad;
    const void* grad_buffer = nullptr;  // the grad's storage: accumulation keeps it
    bool operator==(const TensorSnapshot& o) const {
        return value == o.value && requires_grad == o.requires_grad && grad_fn == o.grad_fn &&
               grad == o.grad && grad_buffer == o.grad_buffer;
    }
};

TensorSnapshot snapshot(const Tensor& t) {
    TensorSnapshot s;
    s.value = bits(t);
    s.requires_grad = t.requires_grad();
    s.grad_fn = t.impl()->grad_fn.get();
    s.grad = bits(t.grad());
    s.grad_buffer = t.grad().defined() ? t.grad().data_ptr() : nullptr;
    return s;
}

struct OptimizerSnapshot {
    std::vector<TensorSnapshot> params;
    std::int64_t step_count = 0;
    std::vector<std::int64_t> steps;
    std::vector<std::map<std::string, TensorBits>> buffers;
    bool operator==(const OptimizerSnapshot& o) const {
        return params == o.params && step_count == o.step_count && steps == o.steps &&
               buffers == o.buffers;
    }
};

OptimizerSnapshot snapshot(const Optimizer& opt) {
    OptimizerSnapshot s;
    for (const Tensor& p : opt.params()) s.params.push_back(snapshot(p));
    s.step_count = opt.step_count();
    const OptimizerState state = opt.state();
    for (const ParamState& ps : state.params) {
        s.steps.push_back(ps.step);
        std::map<std::string, TensorBits> b;
        for (const auto& [name, buffer] : ps.buffers) b[name] = bits(buffer);
        s.buffers.push_back(std::move(b));
    }
    return s;
}

// Parameters, steps and buffers only (grads and graph identities differ between twins).
bool same_trajectory(const Optimizer& a, const Optimizer& b) {
    OptimizerSnapshot sa = snapshot(a), sb = snapshot(b);
    if (sa.params.size() != sb.params.size()) return false;
    for (std::size_t i = 0; i < sa.params.size(); ++i)
        if (!(sa.params[i].value == sb.params[i].value)) return false;
    return sa.step_count == sb.step_count && sa.steps == sb.steps && sa.buffers == sb.buffers;
}


// --- fixtures --------------------------------------------------------------------------------

Tensor values(const Shape& shape, double seed, DType dtype = DType::f64) {
    std::vector<double> v(static_cast<std::size_t>(descent::shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(seed + 0.7 * double(i)) + 0.1;
    return descent::from_vector(v, shape, dtype);
}

// A deterministic gradient for parameter `which` at step `k`.
Tensor grad_for(const Tensor& p, int which, int k) {
    return values(p.shape(), 1.3 * which + 0.41 * k, p.dtype());
}

// An optimizer over three parameters (the last one receives its first gradient late), and
// a twin that sees the same gradients but never a failure.
struct Rig {
    std::vector<Tensor> params;
    std::unique_ptr<Optimizer> opt;
};

Rig make_rig(const OptimizerConfig& config, const std::vector<DType>& dtypes) {
    Rig rig;
    const std::vector<Shape> shapes{{3}, {2, 2}, {4}};
    for (std::size_t i = 0; i < dtypes.size(); ++i)
        rig.params.push_back(values(shapes[i], 0.3 + double(i), dtypes[i]).requires_grad_());
    rig.opt = make_optimizer(config, rig.params);
    return rig;
}

// Gives every parameter its gradient for step k (the last only from step `last_from` on).
void set_grads(Rig& rig, int k, int last_from) {
    for (std::size_t i = 0; i < rig.params.size(); ++i) {
        const bool has = i + 1 < rig.params.size() || k >= last_from;
        rig.params[i].set_grad(has ? grad_for(rig.params[i], int(i), k) : Tensor());
    }
}

struct NamedConfig {
    std::string label;
    OptimizerConfig config;
};

// Every elementwise optimizer and variant, in both presets.
std::vector<NamedConfig> elementwise_configs() {
    std::vector<NamedConfig> out;
    for (const Preset preset : {Preset::blog, Preset::torch}) {
        auto add = [&](const std::string& label, const std::string& name,
                       const std::function<void(OptimizerConfig&)>& tweak) {
            OptimizerConfig c;
            c.name = name;
            c.preset = preset;
            c.lr = 0.05;
            tweak(c);
            out.push_back({label + " (" + preset_name(preset) + ")", c});
        };
        auto none = [](OptimizerConfig&) {};
        add("gd", "gd", none);
        add("gd weight decay", "gd", [](OptimizerConfig& c) { c.weight_decay = 0.1; });
        add("momentum", "momentum", none);
        add("momentum dampening", "momentum", [](OptimizerConfig& c) {
            c.dampening = 0.3;
            c.weight_decay = 0.01;
        });
        add("nesterov", "momentum", [](OptimizerConfig& c) { c.nesterov = true; });
        add("adagrad", "adagrad", none);
        add("adagrad lr_decay", "adagrad", [](OptimizerConfig& c) {
            c.lr_decay = 0.1;
            c.initial_accumulator_value = 0.2;
            c.weight_decay = 0.01;
        });
        add("rmsprop", "rmsprop", none);
        add("rmsprop centered", "rmsprop", [](OptimizerConfig& c) { c.centered = true; });
        add("rmsprop centered momentum", "rmsprop", [](OptimizerConfig& c) {
            c.centered = true;
            c.momentum = 0.5;
        });
        add("adam", "adam", none);
        add("adam amsgrad", "adam", [](OptimizerConfig& c) { c.amsgrad = true; });
        add("adamw", "adamw", none);
        add("adamw amsgrad", "adamw", [](OptimizerConfig& c) { c.amsgrad = true; });
    }
    return out;
}

// After a step of `subject` threw: nothing changed since `before`, and from step k on the
// subject and its twin, given the same gradients, take bitwise the same two steps.
void check_recovers(Rig& subject, Rig& twin, const OptimizerSnapshot& before, int k,
                    int last_from) {
    CHECK(snapshot(*subject.opt) == before);
    for (int step = k; step < k + 2; ++step) {
        set_grads(subject, step, last_from);
        set_grads(twin, step, last_from);
        subject.opt->step();
        twin.opt->step();
        CHECK(same_trajectory(*subject.opt, *twin.opt));
    }
}

// Autograd fixture: x (2, 3) and w (3, 2) leaves, y = sum(tanh(x @ w) * (x @ w)).
struct Graph {
    Tensor x, w, h, y;
};

Graph make_graph() {
    Graph g;
    g.x = values({2, 3}, 0.2).requires_grad_();
    g.w = values({3, 2}, 1.1).requires_grad_();
    g.h = descent::matmul(g.x, g.w);
    g.y = descent::sum(descent::tanh(g.h) * g.h);
    return g;
}

// The gradients of a fresh, never-failed graph on copies of the same leaves, accumulated
// onto copies of their current grads.
std::pair<TensorBits, TensorBits> fresh_grads(const Graph& g) {
    Graph f;
    f.x = g.x.detach().clone().requires_grad_();
    f.w = g.w.detach().clone().requires_grad_();
    if (g.x.grad().defined()) f.x.set_grad(g.x.grad().detach().clone());
    if (g.w.grad().defined()) f.w.set_grad(g.w.grad().detach().clone());
    f.h = descent::matmul(f.x, f.w);
    f.y = descent::sum(descent::tanh(f.h) * f.h);
    f.y.backward();
    return {bits(f.x.grad()), bits(f.w.grad())};
}

}  // namespace

// --- failing ops ------------------------------------------------------------------------------

TEST_CASE("a failing op leaves its inputs and the graph usable", "[exception-safety][ops]") {
    Graph g = make_graph();
    g.w.set_grad(values({3, 2}, 5.0));  // an earlier gradient that backward adds to
    const TensorSnapshot x0 = snapshot(g.x), w0 = snapshot(g.w), h0 = snapshot(g.h),
                         y0 = snapshot(g.y);
    const std::pair<TensorBits, TensorBits> expected = fresh_grads(g);
    const Tensor h = g.h;
    const Tensor f32 = values({2, 2}, 0.5, DType::f32);
    const Tensor empty = descent::zeros({0}, DType::f64);

    std::vector<std::pair<std::string, std::function<void()>>> failing{
        {"add", [&] { descent::add(h, values({4}, 0)); }},
        {"mul", [&] { (void)(h * values({3, 1}, 0)); }},
        {"sub with dtype mismatch", [&] { descent::sub(h, f32); }},
        {"matmul", [&] { descent::matmul(h, g.w); }},
        {"matmul rank 3", [&] { descent::matmul(h.reshape({1, 2, 2}), g.w); }},
        {"transpose", [&] { descent::transpose(h.reshape({1, 2, 2})); }},
        {"sum axis", [&] { descent::sum(h, 2); }},
        {"mean axis", [&] { descent::mean(h, -3); }},
        {"mean of empty", [&] { descent::mean(empty); }},
        {"reshape", [&] { descent::reshape(h, {5}); }},
        {"broadcast_to", [&] { descent::broadcast_to(h, {3}); }},
        {"sum_to", [&] { descent::sum_to(h, {3}); }},
        {"mse_loss", [&] { descent::mse_loss(h, values({4}, 0)); }},
        {"linear_mse", [&] { descent::linear_mse_value_and_grad(h, values({3}, 0), g.w); }},
        {"item", [&] { h.item(); }},
        {"copy_ into a tensor that requires grad", [&] { Tensor(h).copy_(values({2, 2}, 0)); }},
        {"fill_ on a leaf that requires grad", [&] { Tensor(g.x).fill_(1.0); }},
        {"copy_ of another shape", [&] {
             descent::NoGrad no_grad;
             Tensor(g.x).copy_(values({3, 2}, 0));
         }},
        {"requires_grad_ on a non-leaf", [&] { Tensor(h).requires_grad_(false); }},
        {"set_grad of another shape", [&] { Tensor(g.w).set_grad(values({2, 3}, 0)); }},
        {"set_grad of another dtype", [&] { Tensor(g.w).set_grad(values({3, 2}, 0, DType::f32)); }},
    };
    if (descent::cuda_available()) {
        failing.emplace_back("add across devices",
                             [&] { descent::add(h, values({2, 2}, 0).to(Device::cuda(0))); });
        failing.emplace_back("matmul across devices",
                             [&] { descent::matmul(h, g.w.to(Device::cuda(0))); });
    } else {
        failing.emplace_back("to a device that cannot be used", [&] { h.to(Device::cuda(0)); });
    }
    for (const auto& [name, op] : failing) {
        INFO(name);
        REQUIRE_THROWS_AS(op(), descent::Error);
        CHECK(snapshot(g.x) == x0);
        CHECK(snapshot(g.w) == w0);
        CHECK(snapshot(g.h) == h0);
        CHECK(snapshot(g.y) == y0);
    }
    // The graph built before the failures still backpropagates, to the right gradients.
    g.y.backward();
    CHECK(bits(g.x.grad()) == expected.first);
    CHECK(bits(g.w.grad()) == expected.second);
    CHECK(g.w.grad().data_ptr() == w0.grad_buffer);
}

TEST_CASE("an op that runs out of memory leaves its inputs and the graph usable",
          "[exception-safety][ops][inject]") {
    Graph g = make_graph();
    const TensorSnapshot x0 = snapshot(g.x), w0 = snapshot(g.w), h0 = snapshot(g.h);
    const std::pair<TensorBits, TensorBits> expected = fresh_grads(g);
    Faults faults;
    const int failures = faults.sweep_allocations(
        [] {}, [&] { descent::mse_loss(g.h, descent::relu(g.h) * 2.0 + descent::matmul(g.x, g.w)); },
        [&] {
            CHECK(snapshot(g.x) == x0);
            CHECK(snapshot(g.w) == w0);
            CHECK(snapshot(g.h) == h0);
        });
    CHECK(failures >= 3);
    g.y.backward();
    CHECK(bits(g.x.grad()) == expected.first);
    CHECK(bits(g.w.grad()) == expected.second);
}

// --- backward() that throws ----------------------------------------------------------------

TEST_CASE("a backward() refused up front changes nothing and can be retried",
          "[exception-safety][backward]") {
    Graph g = make_graph();
    g.x.set_grad(values({2, 3}, 7.0));
    const TensorSnapshot x0 = snapshot(g.x), w0 = snapshot(g.w);
    // The expected gradients: h.backward(ones) in a fresh graph.
    Graph f;
    f.x = g.x.detach().clone().requires_grad_();
    f.w = g.w.detach().clone().requires_grad_();
    f.x.set_grad(g.x.grad().detach().clone());
    descent::matmul(f.x, f.w).backward(descent::ones({2, 2}, DType::f64));

    CHECK_THAT(error_of([&] { g.h.backward(); }), Contains("one-element"));
    CHECK_THAT(error_of([&] { g.h.backward(descent::ones({2}, DType::f64)); }),
               Contains("does not match"));
    CHECK_THAT(error_of([&] { g.h.backward(descent::ones({2, 2}, DType::f32)); }),
               Contains("does not match"));
    CHECK_THAT(error_of([&] { g.h.detach().backward(); }), Contains("does not require grad"));
    CHECK(snapshot(g.x) == x0);
    CHECK(snapshot(g.w) == w0);

    g.h.backward(descent::ones({2, 2}, DType::f64));
    CHECK(bits(g.x.grad()) == bits(f.x.grad()));
    CHECK(bits(g.w.grad()) == bits(f.w.grad()));
    CHECK(g.x.grad().data_ptr() == x0.grad_buffer);
}

TEST_CASE("a backward() that meets a freed subgraph part-way changes nothing",
          "[exception-safety][backward]") {
    Tensor x = values({3}, 0.4).requires_grad_();
    Tensor w = values({3}, 2.0).requires_grad_();
    const Tensor y = descent::exp(x);
    descent::sum(y).backward();  // frees y's node
    w.set_grad(values({3}, 9.0));
    x.set_grad(Tensor());
    const TensorSnapshot x0 = snapshot(x), w0 = snapshot(w);

    // The walk reaches a = w * 3 (and would accumulate into w) before it meets y's freed node.
    const Tensor a = w * 3.0;
    const Tensor z = descent::sum(y + a);
    const std::string first = error_of([&] { z.backward(); });
    CHECK_THAT(first, Contains("already freed") && Contains("'exp'"));
    CHECK(snapshot(x) == x0);
    CHECK(snapshot(w) == w0);
    // Nothing on the way was released: a second try fails at the same node, not at a's...
    CHECK(error_of([&] { z.backward(); }) == first);
    // ...and the part of the graph that does not need y still backpropagates, correctly.
    descent::sum(a * a).backward();
    Tensor w2 = values({3}, 2.0).requires_grad_();
    w2.set_grad(values({3}, 9.0));
    const Tensor a2 = w2 * 3.0;
    descent::sum(a2 * a2).backward();
    CHECK(bits(w.grad()) == bits(w2.grad()));
    CHECK(w.grad().data_ptr() == w0.grad_buffer);
}

TEST_CASE("a backward() that runs out of memory changes nothing and can be retried",
          "[exception-safety][backward][inject]") {
    for (const bool had_grads : {false, true}) {
        INFO("leaves had grads: " << had_grads);
        Faults faults;
        Graph g;
        TensorSnapshot x0, w0;
        std::pair<TensorBits, TensorBits> expected;
        const int failures = faults.sweep_allocations(
            [&] {
                g = make_graph();
                if (had_grads) {
                    g.x.set_grad(values({2, 3}, 3.0));
                    g.w.set_grad(values({3, 2}, 4.0));
                }
                x0 = snapshot(g.x);
                w0 = snapshot(g.w);
                expected = fresh_grads(g);
            },
            [&] { g.y.backward(); },
            [&] {
                CHECK(snapshot(g.x) == x0);
                CHECK(snapshot(g.w) == w0);
                // The graph was not released: the retry (without retain_graph) succeeds...
                g.y.backward();
                CHECK(bits(g.x.grad()) == expected.first);
                CHECK(bits(g.w.grad()) == expected.second);
                if (had_grads) CHECK(g.w.grad().data_ptr() == w0.grad_buffer);
                // ...and releases it, as a backward without a failure does.
                CHECK_THAT(error_of([&] { g.y.backward(); }), Contains("already freed"));
            });
        CHECK(bits(g.x.grad()) == expected.first);
        CHECK(bits(g.w.grad()) == expected.second);
        CHECK(failures >= 5);
    }
}

TEST_CASE("gradcheck puts the inputs' grads back when f throws", "[exception-safety][backward]") {
    Tensor x = values({3}, 0.1).requires_grad_();
    x.set_grad(values({3}, 6.0));
    const TensorSnapshot x0 = snapshot(x);
    int calls = 0;
    const auto f = [&](const std::vector<Tensor>& in) {
        if (++calls == 2) throw descent::Error("f failed on its second call");
        return descent::tanh(in[0]);
    };
    CHECK_THAT(error_of([&] { descent::gradcheck(f, {x}); }), Contains("second call"));
    CHECK(snapshot(x) == x0);
    CHECK(descent::gradcheck([](const std::vector<Tensor>& in) { return descent::tanh(in[0]); },
                             {x})
              .ok);
    CHECK(snapshot(x) == x0);
}

// --- optimizer steps that throw ------------------------------------------------------------

TEST_CASE("an optimizer step refused for a bad gradient changes nothing",
          "[exception-safety][optim]") {
    for (const NamedConfig& nc : elementwise_configs()) {
        for (const bool bad_dtype : {false, true}) {
            INFO(nc.label << (bad_dtype ? ", gradient of another dtype" : ", gradient of another shape"));
            Rig subject = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
            Rig twin = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
            const int last_from = 3;
            for (int k = 0; k < 3; ++k) {
                set_grads(subject, k, last_from);
                set_grads(twin, k, last_from);
                subject.opt->step();
                twin.opt->step();
            }
            set_grads(subject, 3, last_from);
            Tensor& last = subject.params.back();
            const Tensor good = last.grad();
            // set_grad refuses such a gradient and keeps the one it had...
            const Tensor bad = bad_dtype ? values({4}, 1.0, DType::f32) : values({2, 2}, 1.0);
            CHECK_THAT(error_of([&] { last.set_grad(bad); }), Contains("set_grad"));
            CHECK(last.grad().impl() == good.impl());
            // ...so plant it the way a foreign or corrupted gradient would arrive.
            last.impl()->grad = bad;
            const OptimizerSnapshot before = snapshot(*subject.opt);
            CHECK_THAT(error_of([&] { subject.opt->step(); }),
                       Contains(subject.opt->name()) && Contains("gradient of parameter 2"));
            CHECK(snapshot(*subject.opt) == before);
            last.impl()->grad = good;
            check_recovers(subject, twin, snapshot(*subject.opt), 3, last_from);
        }
    }
}

TEST_CASE("an optimizer step that runs out of memory changes nothing",
          "[exception-safety][optim][inject]") {
    for (const NamedConfig& nc : elementwise_configs()) {
        INFO(nc.label);
        Faults faults;
        Rig subject = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
        Rig twin = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
        const int last_from = 3;  // the last parameter's buffers are created at step 3
        for (int k = 0; k < 3; ++k) {
            set_grads(subject, k, last_from);
            set_grads(twin, k, last_from);
            subject.opt->step();
            twin.opt->step();
        }
        set_grads(subject, 3, last_from);
        const OptimizerSnapshot before = snapshot(*subject.opt);
        const int failures = faults.sweep_allocations([] {}, [&] { subject.opt->step(); },
                                                      [&] { CHECK(snapshot(*subject.opt) == before); });
        // Each new buffer of the last parameter was one chance to fail.
        CHECK(failures >= int(subject.opt->buffer_names().size()));
        set_grads(twin, 3, last_from);
        twin.opt->step();
        CHECK(same_trajectory(*subject.opt, *twin.opt));
        check_recovers(subject, twin, snapshot(*subject.opt), 4, last_from);
    }
}

TEST_CASE("an optimizer update that fails on the device changes nothing",
          "[exception-safety][optim][inject]") {
    for (const NamedConfig& nc : elementwise_configs()) {
        // One (device, dtype) group; then two, where the second fails after the first wrote
        // (parameters and existing buffers that must be put back).
        for (const bool mixed : {false, true}) {
            INFO(nc.label << (mixed ? ", f32 and f64 parameters" : ""));
            const std::vector<DType> dtypes =
                mixed ? std::vector<DType>{DType::f32, DType::f64, DType::f64}
                      : std::vector<DType>{DType::f64, DType::f64, DType::f64};
            Faults faults;
            Rig subject = make_rig(nc.config, dtypes);
            Rig twin = make_rig(nc.config, dtypes);
            const int last_from = 3;  // the failing step is the last parameter's first
            for (int k = 0; k < 3; ++k) {
                set_grads(subject, k, last_from);
                set_grads(twin, k, last_from);
                subject.opt->step();
                twin.opt->step();
            }
            set_grads(subject, 3, last_from);
            const OptimizerSnapshot before = snapshot(*subject.opt);
            for (int n = 0; n < (mixed ? 2 : 1); ++n) {
                INFO("update call " << n << " fails");
                faults.backend.fail_update_after(n);
                CHECK_THAT(error_of([&] { subject.opt->step(); }), Contains("injected"));
                faults.backend.disarm();
                CHECK(snapshot(*subject.opt) == before);
            }
            // Running out of memory for the snapshots of the first group changes nothing either.
            if (mixed) {
                const int failures = faults.sweep_allocations(
                    [] {}, [&] { subject.opt->step(); },
                    [&] { CHECK(snapshot(*subject.opt) == before); });
                CHECK(failures >= 1);
            } else {
                subject.opt->step();
            }
            set_grads(twin, 3, last_from);
            twin.opt->step();
            CHECK(same_trajectory(*subject.opt, *twin.opt));
            check_recovers(subject, twin, snapshot(*subject.opt), 4, last_from);
        }
    }
}

TEST_CASE("options are checked when the optimizer is made, not at step time",
          "[exception-safety][optim]") {
    // Options are immutable after construction, so no step can fail on a hyperparameter:
    // a bad one is refused before any state exists.
    OptimizerConfig c;
    c.name = "adam";
    c.beta1 = 1.0;
    const Tensor w = values({3}, 0.0).requires_grad_();
    const TensorSnapshot w0 = snapshot(w);
    CHECK_THAT(error_of([&] { make_optimizer(c, {w}); }), Contains("beta1"));
    CHECK(snapshot(w) == w0);
}

// --- Newton ----------------------------------------------------------------------------------

namespace {

// A 3-weight least-squares problem: its gradient and (positive definite) Hessian at w.
struct Problem {
    Tensor X = descent::from_vector(
        std::vector<double>{1, 0.5, 1, -0.3, 2, 1, 0.8, -1, 1, 1.5, 0.2, 1, -0.7, 0.9, 1}, {5, 3});
    Tensor y = descent::from_vector(std::vector<double>{1, 2, 0.5, -1, 0.3});
    descent::LinearMseResult at(const Tensor& w) const {
        return descent::linear_mse_value_grad_hessian(X, y, w.detach());
    }
};

struct NewtonRig {
    Tensor w;
    std::unique_ptr<Optimizer> opt;
    Newton& newton() { return dynamic_cast<Newton&>(*opt); }
    void take_step(const Problem& problem) {
        const descent::LinearMseResult r = problem.at(w);
        w.set_grad(r.grad);
        newton().set_hessian(r.hessian);
        opt->step();
    }
};

NewtonRig make_newton(Preset preset) {
    OptimizerConfig c;
    c.name = "newton";
    c.preset = preset;
    NewtonRig rig;
    rig.w = descent::from_vector(std::vector<double>{0.5, -0.25, 2.0}).requires_grad_();
    rig.opt = make_optimizer(c, {rig.w});
    return rig;
}

}  // namespace

TEST_CASE("a Newton step that throws changes nothing", "[exception-safety][optim][newton]") {
    const Problem problem;
    const Tensor two_by_two = descent::from_vector(std::vector<double>{2, 0, 0, 2}, {2, 2});
    const std::vector<std::pair<std::string, std::function<Tensor(const Tensor& H)>>> bad{
        {"does not match", [&](const Tensor&) { return two_by_two; }},
        {"not positive definite", [](const Tensor& H) { return H * -1.0; }},
        {"not positive definite", [](const Tensor& H) { return H * std::nan(""); }},
        {"f32", [](const Tensor& H) { return H.to(DType::f32); }},
    };
    for (const Preset preset : {Preset::blog, Preset::torch}) {
        INFO(preset_name(preset));
        NewtonRig subject = make_newton(preset), twin = make_newton(preset);
        for (int k = 0; k < 2; ++k) {
            subject.take_step(problem);
            twin.take_step(problem);
        }
        const descent::LinearMseResult r = problem.at(subject.w);
        subject.w.set_grad(r.grad);
        const OptimizerSnapshot before = snapshot(*subject.opt);

        CHECK_THAT(error_of([&] { subject.opt->step(); }), Contains("newton") && Contains("no Hessian"));
        CHECK(snapshot(*subject.opt) == before);
        {
            // A foreign gradient (set_grad refuses it, so it is planted) is refused as well.
            subject.newton().set_hessian(r.hessian);
            subject.w.impl()->grad = r.grad.to(DType::f32);
            CHECK_THAT(error_of([&] { subject.opt->step(); }),
                       Contains("newton") && Contains("gradient") && Contains("f32"));
            subject.w.impl()->grad = r.grad;
            CHECK(snapshot(*subject.opt) == before);
            subject.newton().set_hessian(Tensor());
        }
        for (const auto& [message, make_bad] : bad) {
            INFO(message);
            subject.newton().set_hessian(make_bad(r.hessian));
            const std::string error = error_of([&] { subject.opt->step(); });
            CHECK_THAT(error, Contains("newton") && Contains(message));
            CHECK(snapshot(*subject.opt) == before);
            // The failed step did not use up the Hessian it was given: a retry meets it again.
            CHECK(error_of([&] { subject.opt->step(); }) == error);
            CHECK(snapshot(*subject.opt) == before);
        }

        // Running out of memory anywhere in the step (the solve, the new weights).
        subject.newton().set_hessian(r.hessian);
        {
            Faults faults;
            const int failures = faults.sweep_allocations(
                [] {}, [&] { subject.opt->step(); },
                [&] { CHECK(snapshot(*subject.opt) == before); });
            CHECK(failures >= 2);
        }
        twin.take_step(problem);
        CHECK(same_trajectory(*subject.opt, *twin.opt));
        subject.take_step(problem);
        twin.take_step(problem);
        CHECK(same_trajectory(*subject.opt, *twin.opt));
        CHECK(subject.opt->step_count() == 4);
    }
}

TEST_CASE("a Newton step whose Hessian callback fails changes nothing",
          "[exception-safety][optim][newton]") {
    const Problem problem;
    Tensor w = descent::from_vector(std::vector<double>{0.5, -0.25, 2.0}).requires_grad_();
    Tensor w_twin = w.detach().clone().requires_grad_();
    int calls = 0;
    Newton subject({w}, NewtonOptions{}, [&] {
        if (++calls == 2) throw descent::Error("the Hessian callback failed");
        if (calls == 3) return problem.at(w).hessian * -1.0;
        return problem.at(w).hessian;
    });
    Newton twin({w_twin}, NewtonOptions{}, [&] { return problem.at(w_twin).hessian; });
    w.set_grad(problem.at(w).grad);
    w_twin.set_grad(problem.at(w_twin).grad);
    subject.step();
    twin.step();
    w.set_grad(problem.at(w).grad);
    const OptimizerSnapshot before = snapshot(subject);
    CHECK_THAT(error_of([&] { subject.step(); }), Contains("callback failed"));
    CHECK(snapshot(subject) == before);
    CHECK_THAT(error_of([&] { subject.step(); }), Contains("not positive definite"));
    CHECK(snapshot(subject) == before);
    // A Hessian given by set_hessian() outlives a step that failed with it; the callback is
    // used only once it has been consumed by a successful step.
    subject.set_hessian(descent::from_vector(std::vector<double>{1, 0, 0, 1}, {2, 2}));
    CHECK_THAT(error_of([&] { subject.step(); }), Contains("does not match"));
    CHECK_THAT(error_of([&] { subject.step(); }), Contains("does not match"));
    CHECK(snapshot(subject) == before);
    subject.set_hessian(problem.at(w).hessian);
    subject.step();
    w_twin.set_grad(problem.at(w_twin).grad);
    twin.step();
    CHECK(same_trajectory(subject, twin));
    w.set_grad(problem.at(w).grad);
    w_twin.set_grad(problem.at(w_twin).grad);
    subject.step();  // the callback again
    twin.step();
    CHECK(same_trajectory(subject, twin));
}

// --- load_state -------------------------------------------------------------------------------

TEST_CASE("load_state with a state that does not fit changes nothing",
          "[exception-safety][optim][state]") {
    for (const NamedConfig& nc : elementwise_configs()) {
        if (Rig probe = make_rig(nc.config, {DType::f64}); probe.opt->buffer_names().empty())
            continue;  // plain gd keeps no buffers
        INFO(nc.label);
        Rig subject = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
        Rig twin = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
        Rig donor = make_rig(nc.config, {DType::f64, DType::f64, DType::f64});
        for (int k = 0; k < 3; ++k) {
            set_grads(subject, k, 1);
            set_grads(twin, k, 1);
            subject.opt->step();
            twin.opt->step();
        }
        for (int k = 10; k < 12; ++k) {  // a different, valid state to load
            set_grads(donor, k, 0);
            donor.opt->step();
        }
        const OptimizerState good = donor.opt->state();
        const OptimizerSnapshot before = snapshot(*subject.opt);
        const std::string first_buffer = subject.opt->buffer_names().front();

        std::vector<std::pair<std::string, OptimizerState>> bad;
        auto variant = [&](const std::string& message,
                           const std::function<void(OptimizerState&)>& change) {
            OptimizerState s = good;
            change(s);
            bad.emplace_back(message, s);
        };
        variant("given to", [](OptimizerState& s) { s.optimizer = "newton"; });
        variant("parameters", [](OptimizerState& s) { s.params.pop_back(); });
        variant("negative step", [](OptimizerState& s) { s.params.back().step = -1; });
        variant("keeps no buffer", [](OptimizerState& s) {
            s.params.back().buffers["bogus"] = descent::zeros({4}, DType::f64);
        });
        variant("missing", [&](OptimizerState& s) { s.params.back().buffers.erase(first_buffer); });
        variant("(3,)", [&](OptimizerState& s) {
            s.params.back().buffers[first_buffer] = descent::zeros({3}, DType::f64);
        });
        variant("buffer", [&](OptimizerState& s) { s.params.back().buffers[first_buffer] = Tensor(); });
        for (const auto& [message, state] : bad) {
            INFO(message);
            CHECK_THAT(error_of([&] { subject.opt->load_state(state); }),
                       Contains("load_state") && Contains(message));
            CHECK(snapshot(*subject.opt) == before);
        }
        // Out of memory while copying a valid state in.
        {
            Faults faults;
            const int failures = faults.sweep_allocations(
                [] {}, [&] { subject.opt->load_state(good); },
                [&] { CHECK(snapshot(*subject.opt) == before); });
            CHECK(failures >= 2);
        }
        CHECK(subject.opt->step_count() == 2);
        subject.opt->load_state(twin.opt->state());  // back to where the twin is
        check_recovers(subject, twin, snapshot(*subject.opt), 3, 1);
    }
}

TEST_CASE("the CPU backend refuses a CUDA graph capture and leaves nothing open",
          "[exception-safety][graph]") {
    namespace detail = descent::detail;
    detail::Backend& cpu = detail::backend_for(Device::cpu());
    std::unique_ptr<detail::GraphExec> exec;
    CHECK_THROWS_AS(detail::GraphCapture(Device::cpu()), descent::Error);
    CHECK_THROWS_WITH(cpu.end_capture_and_launch(0, exec), Contains("cannot capture"));
    cpu.abort_capture(0);  // nothing open: does nothing, never throws
    CHECK_FALSE(exec);
    // Ops still run as usual.
    CHECK(descent::add(descent::full({2}, 1.0), descent::full({2}, 2.0)).to_vector<double>() ==
          std::vector<double>{3.0, 3.0});
}
