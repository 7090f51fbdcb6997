// The CUDA backend module (libdescent_cuda.so, src/backend/cuda_module.cpp) is loaded on the
// first use of a cuda device and never before: a CPU-only process maps no CUDA library, and
// asking how many devices there are does not load it on a machine whose driver sees none.
// Errors thrown inside the module reach the program as descent::Error / descent::CudaError.
// Runs without a GPU (label cpu; built only with CUDA). Each process loads the module at most
// once, so the failure modes are separate ctest runs of hidden cases with DESCENT_CUDA_BACKEND
// set (tests/CMakeLists.txt):
//   [missing]   the variable names a file that does not exist
//   [mismatch]  it names a module built from other sources (fake_cuda_module.cpp)
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "descent/descent.hpp"
#include "error_of.hpp"

using Catch::Matchers::Contains;
using namespace descent;

namespace {

std::string maps() {
    std::ifstream in("/proc/self/maps");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The libraries only the module brings in.
bool cuda_mapped() {
    const std::string m = maps();
    for (const char* lib : {"libdescent_cuda", "libcudart", "libcublas", "libcusolver"})
        if (m.find(lib) != std::string::npos) return true;
    return false;
}

void cpu_work() {
    Tensor w = from_vector(std::vector<double>{1, 2}, {2}, DType::f64).requires_grad_();
    Tensor loss = sum(w * w);
    loss.backward();
    REQUIRE(w.grad().to_vector<double>() == std::vector<double>{2, 4});
}

}  // namespace

TEST_CASE("cuda module: loaded on the first use of a cuda device, never before", "[module]") {
    REQUIRE(built_with_cuda());
    INFO(maps());
    CHECK_FALSE(cuda_mapped());
    cpu_work();
    // Stats of a module never loaded are zero, and emptying its cache is a no-op.
    CHECK(cuda_memory_stats(0).device_allocations == 0);
    CHECK(cuda_launch_stats(0).kernel_launches == 0);
    cuda_empty_cache();
    CHECK_FALSE(cuda_mapped());

    // The device query asks the driver; it loads the module only when the driver sees a GPU.
    const int devices = device_count();
    if (devices > 0) {
        WARN("a CUDA device is present: the query loaded the module; the CPU-only half is done");
        CHECK(cuda_mapped());
        return;
    }
    CHECK_FALSE(cuda_mapped());
    CHECK(cuda_unavailable_reason() == "no CUDA device found");

    // First use, from several threads at once: one load, the same clear error for every
    // thread, thrown inside the module and caught here as descent::Error itself.
    std::vector<std::string> errors(8);
    std::vector<std::string> types(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < errors.size(); ++i)
        threads.emplace_back([&, i] {
            try {
                (void)zeros({2}, DType::f32, Device::cuda(0));
                errors[i] = "<no error>";
            } catch (const Error& e) {
                errors[i] = e.what();
                types[i] = typeid(e) == typeid(Error) ? "descent::Error" : typeid(e).name();
            } catch (...) {
                errors[i] = "<not a descent::Error>";
            }
        });
    for (std::thread& t : threads) t.join();
    for (std::size_t i = 0; i < errors.size(); ++i) {
        CHECK_THAT(errors[i], Contains("cuda:0 is not available") && Contains("0 CUDA device(s)"));
        CHECK(types[i] == "descent::Error");
    }
    CHECK(cuda_mapped());  // it is loaded now, and serves the device queries
    CHECK(device_count() == 0);
    CHECK(cuda_memory_stats(0).device_allocations == 0);

    // A failed CUDA call inside the module: descent::CudaError, the subclass, caught here.
    try {
        synchronize(Device::cuda(0));
        FAIL("synchronize on a missing device did not throw");
    } catch (const CudaError& e) {
        CHECK(typeid(e) == typeid(CudaError));
        CHECK_THAT(std::string(e.what()), Contains("cudaGetDevice"));
        CHECK_FALSE(e.cuda_message().empty());
    }
    cpu_work();  // the cpu is unaffected
}

TEST_CASE("cuda module: a missing module is a clear error, not a crash", "[.missing]") {
    const char* chosen = std::getenv("DESCENT_CUDA_BACKEND");
    REQUIRE(chosen != nullptr);
    CHECK(device_count() == 0);  // never throws, whatever the reason
    const std::string message = error_of([] { (void)zeros({2}, DType::f32, Device::cuda(0)); });
    CHECK_THAT(message, Contains("device cuda:0") && Contains(chosen) &&
                            Contains("No such file") && Contains("DESCENT_CUDA_BACKEND") &&
                            Contains("-DDESCENT_CUDA=ON"));
    // The same error again: the module is looked for once.
    CHECK(error_of([] { (void)ones({1}, DType::f64).to(Device::cuda(0)); }) == message);
    CHECK_FALSE(cuda_mapped());
    cpu_work();
}

TEST_CASE("cuda module: a module from other sources is refused", "[.mismatch]") {
    const std::string message = error_of([] { (void)zeros({2}, DType::f32, Device::cuda(0)); });
    CHECK_THAT(message, Contains("built from other descent sources") &&
                            Contains("not-this-descent") && Contains(std::getenv("DESCENT_CUDA_BACKEND")));
    CHECK_FALSE(cuda_mapped());
    cpu_work();
}
