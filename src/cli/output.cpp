// JSON and number formatting for the CLI.
#include "cli/output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "data/write_file.hpp"
#include "descent/error.hpp"

namespace descent::cli {

bool is_flag_hyperparameter(const std::string& key) {
    return key == "amsgrad" || key == "nesterov" || key == "centered" || key == "bias_correction";
}

std::string hyperparameter_text(const std::string& key, double value) {
    if (key == "line_search") return value != 0 ? "strong-wolfe" : "none";
    if (is_flag_hyperparameter(key)) return value != 0 ? "true" : "false";
    if (key == "cg_max_iter" && value == 0) return "20d";
    return format_number(value);
}

std::string format_significant(double v, int digits) {
    // Never "-nan" (printf's sign of a NaN is noise): "nan", "inf", "-inf".
    if (std::isnan(v)) return "nan";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string format_vector(const std::vector<double>& v, int digits, std::size_t at_most) {
    const bool cut = at_most > 0 && v.size() > at_most;
    const std::size_t head = cut ? (at_most + 1) / 2 : v.size(), tail = cut ? at_most / 2 : 0;
    std::string s = "[";
    for (std::size_t i = 0; i < head; ++i) s += (i ? ", " : "") + format_significant(v[i], digits);
    if (cut) s += ", ...";
    for (std::size_t i = v.size() - tail; i < v.size(); ++i) s += ", " + format_significant(v[i], digits);
    s += "]";
    if (cut) s += " (" + std::to_string(v.size()) + " values)";
    return s;
}

void JsonWriter::separate() {
    if (m_after_key) {
        m_after_key = false;
        return;
    }
    if (!m_first.empty()) {
        if (!m_first.back()) m_out << ", ";
        m_first.back() = false;
    }
}

JsonWriter& JsonWriter::begin_object() {
    separate();
    m_out << '{';
    m_first.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    m_out << '}';
    m_first.pop_back();
    return *this;
}

JsonWriter& JsonWriter::key(const std::string& k) {
    separate();
    write_string(k);
    m_out << ": ";
    m_after_key = true;
    return *this;
}

JsonWriter& JsonWriter::value(const std::string& s) {
    separate();  // after a key, or between an array's elements
    write_string(s);
    return *this;
}

void JsonWriter::write_string(const std::string& s) {
    m_out << '"';
    for (const char c : s) {
        switch (c) {
            case '"': m_out << "\\\""; break;
            case '\\': m_out << "\\\\"; break;
            case '\n': m_out << "\\n"; break;
            case '\t': m_out << "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    m_out << buf;
                } else {
                    m_out << c;
                }
        }
    }
    m_out << '"';
}

JsonWriter& JsonWriter::value(double v) {
    separate();  // after a key, or between an array's elements
    m_out << (std::isfinite(v) ? format_number(v) : "null");
    return *this;
}

JsonWriter& JsonWriter::value(long long v) {
    separate();  // after a key, or between an array's elements
    m_out << v;
    return *this;
}

JsonWriter& JsonWriter::value(bool v) {
    separate();  // after a key, or between an array's elements
    m_out << (v ? "true" : "false");
    return *this;
}

JsonWriter& JsonWriter::value(const std::vector<double>& v) {
    separate();  // after a key, or between an array's elements
    m_out << '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) m_out << ", ";
        m_out << (std::isfinite(v[i]) ? format_number(v[i]) : "null");
    }
    m_out << ']';
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    separate();
    m_out << '[';
    m_first.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    m_out << ']';
    m_first.pop_back();
    return *this;
}

JsonWriter& JsonWriter::hyperparameters(const std::vector<std::pair<std::string, double>>& entries) {
    begin_object();
    for (const auto& [k, v] : entries) {
        key(k);
        if (is_flag_hyperparameter(k)) value(v != 0);
        else if (k == "line_search") value(hyperparameter_text(k, v));
        else value(v);
    }
    return end_object();
}

JsonWriter& JsonWriter::object(const std::vector<std::pair<std::string, double>>& entries) {
    begin_object();
    for (const auto& [k, v] : entries) key(k).value(v);
    return end_object();
}

std::string hex_doubles(const std::vector<double>& values) {
    std::string out;
    char text[40];
    for (double v : values) {
        std::snprintf(text, sizeof text, "%s%a", out.empty() ? "" : " ", v);
        out += text;
    }
    return out;
}

std::vector<double> parse_hex_doubles(const std::string& text) {
    std::vector<double> out;
    const char* p = text.c_str();
    while (*p) {
        while (*p == ' ') ++p;
        if (!*p) break;
        char* end = nullptr;
        const double v = std::strtod(p, &end);
        if (end == p) throw Error("not a list of numbers: '" + detail::shown_field(text) + "'");
        out.push_back(v);
        p = end;
    }
    return out;
}

void Stdout::printf(const char* format, ...) {
    if (m_silent) return;
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    const int n = std::vsnprintf(nullptr, 0, format, args);
    va_end(args);
    if (n > 0) {
        const std::size_t at = m_text.size();
        m_text.resize(at + static_cast<std::size_t>(n) + 1);
        std::vsnprintf(&m_text[at], static_cast<std::size_t>(n) + 1, format, again);
        m_text.resize(at + static_cast<std::size_t>(n));
    }
    va_end(again);
}

int write_stdout(const std::string& text) {
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        written += static_cast<std::size_t>(n);
    }
    return 0;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    detail::write_file_atomically(path, contents);
}

}  // namespace descent::cli
