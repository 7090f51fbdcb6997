// main() for CUDA test executables: without a usable CUDA device it prints why and exits 77,
// which ctest (SKIP_RETURN_CODE 77) reports as "Skipped" rather than "Passed".
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <iostream>

#include "descent/device.hpp"

int main(int argc, char** argv) {
    if (!descent::cuda_available()) {
        std::cout << "SKIP: no CUDA device (built with CUDA: "
                  << (descent::built_with_cuda() ? "yes" : "no") << ")\n";
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
