// error_of(f): the message of the descent::Error that f throws, or "<no error>"; the CPU
// test suites check messages with it (Catch2 matchers on the returned text).
#pragma once

#include <functional>
#include <string>

#include "descent/error.hpp"

inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const descent::Error& e) {
        return e.what();
    }
    return "<no error>";
}
