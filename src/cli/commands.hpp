#pragma once
// Each subcommand lives in its own src/cli/<name>.cpp and registers itself here.
// A command sets the process exit code in RunState; errors are printed as one line
// "bbans: <message>" on stderr (see fail).
#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/io/images.hpp"

namespace bbans::cli {

// The exit code of the subcommand that ran (set by its callback).
struct RunState {
    int exit_code = 0;
};

// Prints "bbans: message" on stderr and returns the exit code for errors, 1.
int fail(const std::string& message);

// Prints "bbans: warning: message" on stderr, for each message (defined in models.cpp).
void warn(const std::vector<std::string>& messages);

// " (did you mean 'compress'?)" for the candidate closest to word, or "" if none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// The threads for -T/--threads N: N, or all cores for 0.
inline unsigned thread_count(unsigned requested) {
    if (requested) return requested;
    const unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// "28x28" (or 28X28) -> rows and cols, each 1..65535; nothing else is accepted.
std::optional<io::Shape> parse_shape(const std::string& text);

// Registered subcommands (defined in the command files, called from main.cpp). Each adds
// itself to `app` and sets state.exit_code when it runs.
void add_codec_commands(CLI::App& app, RunState& state);  // compress, decompress, info
void add_train_command(CLI::App& app, RunState& state);   // train
void add_report_command(CLI::App& app, RunState& state);  // report
void add_models_command(CLI::App& app, RunState& state);  // models

}  // namespace bbans::cli
