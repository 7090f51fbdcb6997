// Command-line flags: "--name value", "--name=value" and boolean "--name". Each command
// declares the flags it accepts; anything else is an error naming the flag.
#pragma once

#include <map>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

namespace descent::cli {

struct FlagSpec {
    std::string name;       // without the leading dashes
    bool takes_value = true;
    std::string value_name;  // e.g. "F", "N", "FILE"
    std::string help;
};

// Thrown for a malformed command line; the CLI exits with status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Args {
public:
    // argv without the program name and the command.
    Args(const std::string& command, const std::vector<std::string>& argv,
         const std::vector<FlagSpec>& specs);

    bool has(const std::string& name) const { return m_values.count(name) > 0; }
    std::string text(const std::string& name, const std::string& fallback) const;
    std::optional<double> number(const std::string& name) const;  // finite, else UsageError
    std::optional<long long> integer(const std::string& name) const;

private:
    std::string m_command;
    std::map<std::string, std::string> m_values;
};

// "  --lr F    learning rate ..." lines for --help.
std::string describe_flags(const std::vector<FlagSpec>& specs);

}  // namespace descent::cli
