// Flag parsing for the descent CLI.
#include "cli/args.hpp"

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "text.hpp"

namespace descent::cli {

Args::Args(const std::string& command, const std::vector<std::string>& argv,
           const std::vector<FlagSpec>& specs)
    : m_command(command) {
    auto find = [&](const std::string& name) -> const FlagSpec* {
        for (const FlagSpec& s : specs)
            if (s.name == name) return &s;
        return nullptr;
    };
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (arg.rfind("--", 0) != 0 || arg.size() == 2)
            throw UsageError("unexpected argument '" + detail::shown_field(arg) +
                             "' (see descent " + command + " --help)");
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const FlagSpec* spec = find(name);
        if (spec == nullptr)
            throw UsageError("unknown flag --" + detail::shown_field(name) + " for 'descent " + command +
                             "' (see descent " + command + " --help)");
        if (m_values.count(name)) throw UsageError("flag --" + name + " given twice");
        if (!spec->takes_value) {
            if (value) throw UsageError("flag --" + name + " takes no value");
            m_values[name] = "1";
            continue;
        }
        if (!value) {
            if (i + 1 >= argv.size())
                throw UsageError("flag --" + name + " needs a value (" + spec->value_name + ")");
            // "--checkpoint --json" is a forgotten value, not a file named "--json"; a value
            // that really starts with "--" can still be given as --name=VALUE.
            if (argv[i + 1].rfind("--", 0) == 0)
                throw UsageError("flag --" + name + " needs a value (" + spec->value_name +
                                 "), got the flag " + detail::shown_field(argv[i + 1]) +
                                 " (write --" + name + "=" + detail::shown_field(argv[i + 1]) +
                                 " if that is the value)");
            value = argv[++i];
        }
        m_values[name] = *value;
    }
}

std::string Args::text(const std::string& name, const std::string& fallback) const {
    const auto it = m_values.find(name);
    return it == m_values.end() ? fallback : it->second;
}

std::optional<double> Args::number(const std::string& name) const {
    const auto it = m_values.find(name);
    if (it == m_values.end()) return std::nullopt;
    const std::string& s = it->second;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    const std::string shown = detail::shown_field(s);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
        throw UsageError("flag --" + name + ": '" + shown + "' is not a finite number");
    // strtod sets ERANGE for overflow (caught above as Inf) and for results below the
    // smallest normal double: those are subnormal or 0, not "not a number".
    if (errno == ERANGE || (v != 0.0 && std::fabs(v) < DBL_MIN))
        throw UsageError("flag --" + name + ": '" + shown + "' is " +
                         (v == 0.0 ? "too small for a double (it would read as 0)"
                                   : "subnormal (below 2.2e-308, the smallest normal double)") +
                         "; give a value of normal magnitude");
    return v;
}

std::optional<long long> Args::integer(const std::string& name) const {
    const auto it = m_values.find(name);
    if (it == m_values.end()) return std::nullopt;
    const std::string& s = it->second;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
        throw UsageError("flag --" + name + ": '" + detail::shown_field(s) + "' is not an integer");
    return v;
}

std::string describe_flags(const std::vector<FlagSpec>& specs) {
    std::ostringstream os;
    for (const FlagSpec& s : specs) {
        std::string left = "  --" + s.name + (s.takes_value ? " " + s.value_name : "");
        if (left.size() < 30) left.resize(30, ' ');
        else left += "\n" + std::string(30, ' ');
        os << left << s.help << "\n";
    }
    return os.str();
}

}  // namespace descent::cli
