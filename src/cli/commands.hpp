// The descent CLI's commands. Each returns the process exit status and reports failures by
// throwing (descent::Error or UsageError); main() turns those into one line on stderr.
#pragma once

#include <string>
#include <vector>

namespace descent::cli {

class Stdout;

// `out` receives what the command prints on stdout (main() writes it when the command returns).
int run_train(const std::vector<std::string>& argv, Stdout& out);
int run_blog(const std::vector<std::string>& argv, Stdout& out);
int run_predict(const std::vector<std::string>& argv, Stdout& out);

}  // namespace descent::cli
