#pragma once
// Each subcommand lives in its own src/cli/<name>.cpp and registers itself here.
// A command's callback returns the process exit code; errors are printed as one line
// "bbans: <message>" on stderr (see report_error).
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace bbans::cli {

// The exit code of the subcommand that ran (set by its callback).
struct RunState {
    int exit_code = 0;
};

void report_error(const std::string& message);  // "bbans: message" on stderr

// Registered subcommands (defined in the command files, called from main.cpp). Each adds
// itself to `app` and sets state.exit_code when it runs.

}  // namespace bbans::cli
