// Tensor: factories, metadata, conversions, copy semantics and printing. Expected values come
// from exact arithmetic or numpy's documented formulas, never from descent's own output.
#include <catch2/catch.hpp>

#include <sstream>

#include "descent/descent.hpp"

using namespace descent;

TEST_CASE("factories fill shapes with the right values", "[tensor]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const Tensor z = zeros({2, 3}, dt);
        CHECK(z.shape() == Shape{2, 3});
        CHECK(z.numel() == 6);
        CHECK(z.dim() == 2);
        CHECK(z.dtype() == dt);
        CHECK(z.device() == Device::cpu());
        for (double v : z.to_vector<double>()) CHECK(v == 0.0);
        for (double v : ones({4}, dt).to_vector<double>()) CHECK(v == 1.0);
        for (double v : full({2, 2}, -2.5, dt).to_vector<double>()) CHECK(v == -2.5);
        const Tensor s = scalar(3.25, dt);
        CHECK(s.dim() == 0);
        CHECK(s.numel() == 1);
        CHECK(s.item() == 3.25);
    }
    CHECK(zeros({0}).numel() == 0);
    CHECK(zeros({3, 0}).to_vector<float>().empty());
}

TEST_CASE("from_vector keeps row-major order and converts dtype", "[tensor]") {
    const Tensor t = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(t.dtype() == DType::f64);
    CHECK(t.size(0) == 2);
    CHECK(t.size(-1) == 3);
    CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
    const Tensor f = from_vector(std::vector<double>{0.1, 0.2}, {}, DType::f32);
    CHECK(f.dtype() == DType::f32);
    CHECK(f.to_vector<float>() == std::vector<float>{0.1f, 0.2f});
    const Tensor one = from_vector(std::vector<double>{7.0});
    CHECK(one.dim() == 0);  // a single value with no shape is a scalar
    CHECK(from_vector(std::vector<double>{7.0}, {1}).shape() == Shape{1});
    CHECK(from_vector(std::vector<float>{1.f, 2.f}).dtype() == DType::f32);
}

TEST_CASE("arange and linspace follow numpy", "[tensor]") {
    CHECK(arange(0, 5).to_vector<double>() == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(arange(1, 2, 0.25, DType::f64).to_vector<double>() ==
          std::vector<double>{1, 1.25, 1.5, 1.75});
    CHECK(arange(5, 0, -2).to_vector<double>() == std::vector<double>{5, 3, 1});
    CHECK(arange(3, 3).numel() == 0);
    CHECK(linspace(0, 1, 5, DType::f64).to_vector<double>() ==
          std::vector<double>{0, 0.25, 0.5, 0.75, 1});
    // numpy: start + i*step with step = (stop-start)/(num-1), and the last value exactly stop.
    const auto v = linspace(-10, 10, 100, DType::f64).to_vector<double>();
    const double step = 20.0 / 99.0;
    REQUIRE(v.size() == 100);
    for (int i = 0; i < 99; ++i) CHECK(v[i] == -10.0 + i * step);
    CHECK(v[99] == 10.0);
    CHECK(linspace(2, 3, 1).to_vector<double>() == std::vector<double>{2});
    CHECK(linspace(2, 3, 0).numel() == 0);
}

TEST_CASE("to(dtype) converts and to(device) to the cpu is the identity", "[tensor]") {
    const Tensor d = from_vector(std::vector<double>{1.0 / 3.0, 2.5});
    const Tensor f = d.to(DType::f32);
    CHECK(f.dtype() == DType::f32);
    CHECK(f.to_vector<float>()[0] == static_cast<float>(1.0 / 3.0));
    CHECK(f.to(DType::f64).to_vector<double>()[1] == 2.5);
    CHECK(d.to(DType::f64).impl() == d.impl());
    CHECK(d.to(Device::cpu()).impl() == d.impl());
}

TEST_CASE("copies share, clone copies, reshape and detach are views", "[tensor]") {
    Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
    Tensor handle = a;  // same tensor
    handle.fill_(5.0);
    CHECK(a.to_vector<double>() == std::vector<double>{5, 5, 5, 5});

    Tensor c = a.clone();
    c.fill_(1.0);
    CHECK(a.to_vector<double>()[0] == 5.0);

    Tensor r = a.reshape({4});
    r.copy_(from_vector(std::vector<double>{9, 8, 7, 6}));
    CHECK(a.to_vector<double>() == std::vector<double>{9, 8, 7, 6});
    CHECK(a.reshape({-1, 1}).shape() == Shape{4, 1});

    Tensor det = a.detach();
    det.zero_();
    CHECK(a.to_vector<double>() == std::vector<double>{0, 0, 0, 0});
}

TEST_CASE("copy_ converts dtype", "[tensor]") {
    Tensor dst = zeros({3}, DType::f32);
    dst.copy_(from_vector(std::vector<double>{0.5, 1.5, -2}));
    CHECK(dst.to_vector<float>() == std::vector<float>{0.5f, 1.5f, -2.f});
}

TEST_CASE("data<T>() gives typed host access", "[tensor]") {
    Tensor t = zeros({3}, DType::f64);
    t.data<double>()[1] = 4.0;
    CHECK(t.to_vector<double>()[1] == 4.0);
    CHECK_THROWS_AS(t.data<float>(), Error);
}

TEST_CASE("operator<< prints values, shape, dtype and device", "[tensor]") {
    std::ostringstream os;
    os << from_vector(std::vector<double>{1.5, -2}, {1, 2});
    CHECK(os.str() == "tensor([[1.5, -2]], shape=(1, 2), dtype=f64, device=cpu)");
    std::ostringstream s;
    s << scalar(2.0, DType::f32);
    CHECK(s.str() == "tensor(2, shape=(), dtype=f32, device=cpu)");
    std::ostringstream big;
    big << arange(0, 2000);
    CHECK(big.str().find("...") != std::string::npos);
    std::ostringstream undefined;
    undefined << Tensor();
    CHECK(undefined.str() == "tensor(undefined)");
}

TEST_CASE("device names parse and print", "[device]") {
    CHECK(parse_device("cpu") == Device::cpu());
    CHECK(parse_device("cuda") == Device::cuda(0));
    CHECK(parse_device("cuda:3") == Device::cuda(3));
    CHECK(Device::cuda(1).str() == "cuda:1");
    CHECK(parse_dtype("f64") == DType::f64);
    CHECK(parse_dtype("float32") == DType::f32);
    // On a machine without a GPU the query answers, it does not throw.
    CHECK(device_count() >= 0);
    CHECK(cuda_available() == (device_count() > 0));
}

TEST_CASE("an empty tensor may have dimensions whose product overflows", "[tensor][views]") {
    // numel is 0; its strides saturate instead of overflowing (found by fuzz_checkpoint).
    const descent::Tensor t = descent::empty({0, std::int64_t(1) << 56, 513});
    CHECK(t.numel() == 0);
    CHECK(t.is_contiguous());
    CHECK(t.to_vector<double>().empty());
}

TEST_CASE("from_blob wraps host memory without a copy", "[tensor][from_blob]") {
    std::vector<double> memory = {1, 2, 3, 4, 5, 6};
    int deleted = 0;
    {
        Tensor t = from_blob(memory.data(), {2, 3}, DType::f64, Device::cpu(),
                             [&](void* p) { deleted += p == memory.data() ? 1 : 100; });
        CHECK(t.data_ptr() == memory.data());
        CHECK(t.to_vector<double>() == memory);
        Tensor column = t.narrow(1, 2, 1);  // a view: shares the memory and keeps it alive
        t = Tensor();
        column.fill_(-1.0);
        CHECK(memory == std::vector<double>{1, 2, -1, 4, 5, -1});
        memory[0] = 10;  // the other way too
        CHECK(deleted == 0);
        CHECK(column.to_vector<double>() == std::vector<double>{-1, -1});
    }
    CHECK(deleted == 1);  // once, when the last view went
    // Differentiable like any leaf.
    std::vector<float> w = {0.5f, -1.0f};
    Tensor x = from_blob(w.data(), {2}, DType::f32).requires_grad_();
    sum(square(x)).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1.0, -2.0});
    // What cannot be wrapped.
    CHECK_THROWS_WITH(from_blob(nullptr, {2}, DType::f64), Catch::Contains("a null pointer"));
    CHECK_NOTHROW(from_blob(nullptr, {0, 3}, DType::f64));
    CHECK_THROWS_WITH(from_blob(reinterpret_cast<char*>(memory.data()) + 1, {1}, DType::f64),
                      Catch::Contains("not aligned to 8 bytes"));
    CHECK_THROWS_WITH(from_blob(memory.data(), {-1, 2}, DType::f64), Catch::Contains("negative dimension"));
}
