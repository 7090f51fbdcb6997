// Loads libdescent_cuda.so with dlopen on the first use of a CUDA device (cuda_module.hpp
// gives the search order). The module holds the CUDA backend and is the only part of descent
// that links the CUDA runtime, cuBLAS and cuSOLVER; it is never unloaded once loaded (device
// memory may be freed during static destruction). A file that loads but was built from other
// descent sources (its interface digest differs) is refused: core and module share C++ types.
// Build-time paths come from CMakeLists.txt (DESCENT_CUDA_MODULE_*).
#include "backend/cuda_module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "backend/cuda_driver_probe.hpp"
#include "descent/error.hpp"
#include "descent_cuda_interface.hpp"

namespace descent::detail {

namespace {

struct LoadResult {
    const CudaModuleApi* api = nullptr;  // null when no candidate loaded
    Backend* backend = nullptr;
    std::string error;  // why, when api is null
};

// Published once the (only) load attempt has finished, for cuda_module_if_loaded().
std::atomic<const LoadResult*> g_result{nullptr};

std::string executable_dir() {
    std::vector<char> buffer(4096);
    const ssize_t length = readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
    if (length <= 0) return {};
    const std::string exe(buffer.data(), static_cast<std::size_t>(length));
    const std::size_t slash = exe.rfind('/');
    return slash == std::string::npos ? std::string() : exe.substr(0, slash);
}

std::vector<std::string> candidates() {
    if (const char* chosen = std::getenv("DESCENT_CUDA_BACKEND"); chosen && *chosen)
        return {chosen};
    std::vector<std::string> paths = {DESCENT_CUDA_MODULE_BUILD_PATH,
                                      DESCENT_CUDA_MODULE_INSTALL_PATH};
    const std::string exe_dir = executable_dir();
    if (!exe_dir.empty()) {
        paths.push_back(exe_dir + "/" DESCENT_CUDA_MODULE_NAME);
        paths.push_back(exe_dir + "/" DESCENT_CUDA_MODULE_BIN_TO_LIB "/" DESCENT_CUDA_MODULE_NAME);
    }
    paths.push_back(DESCENT_CUDA_MODULE_NAME);  // no slash: the dynamic loader searches
    std::vector<std::string> unique;
    for (const std::string& p : paths) {
        bool seen = false;
        for (const std::string& u : unique) seen = seen || u == p;
        if (!seen) unique.push_back(p);
    }
    return unique;
}

// Loads one candidate; on failure appends the reason (naming the path) to `why`.
const CudaModuleApi* try_load(const std::string& path, std::string& why) {
    const auto refuse = [&](void* handle, const std::string& reason) -> const CudaModuleApi* {
        if (handle != nullptr) dlclose(handle);
        why += (why.empty() ? "" : "; ") + reason;
        return nullptr;
    };
    // RTLD_LOCAL: the module's symbols (it exports one) stay out of the global namespace.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* message = dlerror();
        std::string text = message ? message : "dlopen failed";
        // dlerror names the file for a path, not always for a bare library name.
        if (text.find(path) == std::string::npos) text = path + ": " + text;
        return refuse(nullptr, text);
    }
    const auto entry = reinterpret_cast<CudaModuleEntry>(dlsym(handle, kCudaModuleEntry));
    if (entry == nullptr)
        return refuse(handle, path + ": no " + kCudaModuleEntry +
                                  " symbol (not a descent CUDA backend module)");
    const CudaModuleApi* api = entry();
    if (api == nullptr || api->abi != kCudaModuleAbi ||
        std::strcmp(api->interface, DESCENT_CUDA_INTERFACE) != 0)
        return refuse(handle, path + ": built from other descent sources (interface " +
                                  (api ? api->interface : "?") + ", this program has " +
                                  DESCENT_CUDA_INTERFACE + ")");
    return api;
}

LoadResult load() {
    LoadResult result;
    const std::vector<std::string> paths = candidates();
    std::string why;
    for (const std::string& path : paths) {
        if ((result.api = try_load(path, why)) != nullptr) break;
    }
    if (result.api != nullptr) {
        try {
            result.backend = &result.api->backend();
            return result;
        } catch (const std::exception& e) {
            why = std::string("its backend could not be created: ") + e.what();
            result.api = nullptr;
        }
    }
    const bool chosen = paths.size() == 1 && std::getenv("DESCENT_CUDA_BACKEND") != nullptr;
    result.error = std::string("the CUDA backend module ") + DESCENT_CUDA_MODULE_NAME +
                   " could not be loaded" + (chosen ? " from DESCENT_CUDA_BACKEND" : "") +
                   " (" + why +
                   "); build descent with -DDESCENT_CUDA=ON and keep the module where it was "
                   "built or installed, or set DESCENT_CUDA_BACKEND=/path/to/" +
                   DESCENT_CUDA_MODULE_NAME;
    return result;
}

const LoadResult& load_once() {
    // Never destroyed: tensors freed during static destruction still reach the backend.
    static const LoadResult* const result = [] {
        const LoadResult* r = new LoadResult(load());
        g_result.store(r, std::memory_order_release);
        return r;
    }();
    return *result;
}

}  // namespace

const CudaModuleApi& cuda_module() {
    const LoadResult& r = load_once();
    if (r.api == nullptr) throw Error(r.error);
    return *r.api;
}

Backend& cuda_module_backend() {
    const LoadResult& r = load_once();
    if (r.backend == nullptr) throw Error(r.error);
    return *r.backend;
}

const CudaModuleApi* cuda_module_if_loaded() noexcept {
    const LoadResult* r = g_result.load(std::memory_order_acquire);
    return r != nullptr ? r->api : nullptr;
}

std::string cuda_module_error() {
    const LoadResult* r = g_result.load(std::memory_order_acquire);
    return r != nullptr ? r->error : std::string();
}

int cuda_module_device_count() noexcept {
    if (const CudaModuleApi* api = cuda_module_if_loaded()) return api->device_count();
    if (cuda_driver_device_count() == 0) return 0;  // nothing to use: the module stays unloaded
    try {
        return cuda_module().device_count();
    } catch (...) {
        return 0;  // the reason stays available (cuda_module_error) for a clearer message
    }
}

}  // namespace descent::detail
