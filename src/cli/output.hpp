// Output helpers for the CLI: a minimal JSON writer, number formatting, and files written
// atomically (temporary file, flush, fsync, rename) so that a failure never leaves a
// half-written output behind.
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "text.hpp"

namespace descent::cli {

// One hyperparameter's value as the text summary shows it: numbers as format_number, the
// coded ones by name (line_search: none | strong-wolfe; cg_max_iter 0: "20d", the default).
std::string hyperparameter_text(const std::string& key, double value);
using detail::format_number;  // text.hpp
// "%.*g" with `digits` significant digits.
std::string format_significant(double v, int digits);
// "[5.00396765, 1.77940355]" with `digits` significant digits.
// "[a, b, c]"; with at_most > 0 a longer vector shows its first and last values around "..."
// and its length: "[a, b, ..., z] (300 values)".
std::string format_vector(const std::vector<double>& v, int digits = 9, std::size_t at_most = 0);

// Objects of keyed values; a value always follows a key (enough for the CLI's reports).
class JsonWriter {
public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& key(const std::string& k);
    JsonWriter& value(const std::string& s);
    JsonWriter& value(const char* s) { return value(std::string(s)); }
    JsonWriter& value(double v);  // non-finite numbers become null (JSON has no NaN)
    JsonWriter& value(long long v);
    JsonWriter& value(bool v);
    JsonWriter& value(const std::vector<double>& v);
    JsonWriter& object(const std::vector<std::pair<std::string, double>>& entries);
    JsonWriter& begin_array();
    JsonWriter& end_array();
    // An optimizer's hyperparameters: numbers, the flags (amsgrad, nesterov, centered,
    // bias_correction) as JSON booleans, line_search by name.
    JsonWriter& hyperparameters(const std::vector<std::pair<std::string, double>>& entries);
    std::string str() const { return m_out.str(); }

private:
    void separate();
    void write_string(const std::string& s);
    std::ostringstream m_out;
    std::vector<bool> m_first;  // per open object: no member written yet
    bool m_after_key = false;
};

// Everything a command prints on stdout, kept until main() writes it in one go at the end: a
// failed write is then seen with its own errno (a full disk, a closed pipe), and a run that
// fails prints nothing on stdout.
class Stdout {
public:
    void printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
    const std::string& text() const { return m_text; }
    // A process of a distributed run other than process 0: it prints nothing, neither its
    // output nor the errors every process agreed on (process 0 reports those).
    void silence() { m_silent = true; }
    bool silenced() const { return m_silent; }
    // Keeps `resource` (a distributed run's communicator) alive until main() has written the
    // output or the error line: MPI is finalised only then, and the processes leave
    // MPI_Finalize together, so process 0's report is out before any process exits (the
    // launcher ends the job on the first non-zero exit).
    void keep_until_written(std::shared_ptr<void> resource) { m_kept = std::move(resource); }
    bool keeps_resource() const { return m_kept != nullptr; }

private:
    std::string m_text;
    bool m_silent = false;
    std::shared_ptr<void> m_kept;
};

// Doubles as hexadecimal floats separated by spaces ("%a": exact both ways), for checkpoint
// meta; parse_hex_doubles reads them back (throws descent::Error on anything else).
std::string hex_doubles(const std::vector<double>& values);
std::vector<double> parse_hex_doubles(const std::string& text);

// Writes `text` to file descriptor 1; returns 0, or the errno of the write that failed.
int write_stdout(const std::string& text);

// Writes `contents` to `path` atomically; throws descent::Error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace descent::cli
