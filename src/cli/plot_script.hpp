// The figures of descent blog --plot and descent train --plot: a Python script (matplotlib)
// run as a child process, found beside the installed binary or in the source tree.
#pragma once

#include <string>
#include <vector>

namespace descent::cli {

// Runs `python3 SCRIPT ARGS...` (SCRIPT: plot_blog.py, plot_train.py; DESCENT_PYTHON and
// DESCENT_PLOT_DIR override where they are found) and waits for it; a signal to descent stops
// it first. A failure throws descent::Error with the script's last line and the way out.
void run_plot_script(const std::string& script, const std::vector<std::string>& args);

}  // namespace descent::cli
