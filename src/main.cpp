// bbans: lossless image compression by bits-back coding with a VAE.
// The CLI is the only part of bbans that prints or exits; libraries return errors.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "bbans/version.hpp"
#include "src/cli/commands.hpp"

namespace bbans::cli {
int fail(const std::string& message) {
    std::cerr << "bbans: " << message << '\n';
    return 1;
}

std::optional<io::Shape> parse_shape(const std::string& text) {
    unsigned rows = 0, cols = 0;
    char x = 0, extra = 0;
    if (std::sscanf(text.c_str(), "%u%c%u%c", &rows, &x, &cols, &extra) != 3 || (x != 'x' && x != 'X') || rows == 0 || cols == 0)
        return std::nullopt;
    return io::Shape{rows, cols};
}
}  // namespace bbans::cli

int main(int argc, char** argv) {
    CLI::App app{"bbans: lossless compression of image sets by bits-back coding (BB-ANS) with a VAE"};
    app.set_version_flag("-V,--version", std::string("bbans ") + bbans::kVersion);
    app.require_subcommand(0, 1);
    bbans::cli::RunState state;
    // Subcommands (one file each in src/cli/):
    bbans::cli::add_codec_commands(app, state);
    bbans::cli::add_train_command(app, state);
    bbans::cli::add_report_command(app, state);
    bbans::cli::add_models_command(app, state);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (app.get_subcommands().empty()) std::cout << app.help();
    return state.exit_code;
}
