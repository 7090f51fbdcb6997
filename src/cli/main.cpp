// The descent command-line tool. Every failure becomes one line on stderr and a non-zero
// exit status: 2 for a malformed command line, 1 for anything else.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"

namespace {

const char* const kUsage =
    "usage: descent [blog|train] [flags]\n"
    "\n"
    "  descent                 the blog post's experiment (same as 'descent blog')\n"
    "  descent blog --help     its flags (--plot DIR writes the figures)\n"
    "  descent train --help    train one optimizer on blog, synthetic, CSV or NPY data\n";

int dispatch(const std::vector<std::string>& args) {
    if (args.empty()) return descent::cli::run_blog({});
    const std::string& command = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (command == "train") return descent::cli::run_train(rest);
    if (command == "blog") return descent::cli::run_blog(rest);
    if (command == "--help" || command == "-h" || command == "help") {
        std::printf("%s", kUsage);
        return 0;
    }
    throw descent::cli::UsageError("unknown command '" + command + "' (expected blog or train; "
                                   "see descent --help)");
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return dispatch(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const descent::cli::UsageError& e) {
        std::fprintf(stderr, "descent: error: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "descent: error: %s\n", e.what());
        return 1;
    }
}
