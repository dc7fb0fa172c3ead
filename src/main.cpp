// bbans: lossless image compression by bits-back coding with a VAE.
// The CLI is the only part of bbans that prints or exits; libraries return errors.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>
#include <iostream>

#include "bbans/version.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/mpi_launcher.hpp"

namespace bbans::cli {
int fail(const std::string& message) {
    std::cerr << "bbans: " << message << '\n';
    return 1;
}

std::optional<io::Shape> parse_shape(const std::string& text) {
    // ROWSxCOLS[xCHANNELS]: digits only (no sign, no spaces), each side 1..65535, channels 1..4:
    // a negative or absurd size is refused.
    const auto x = text.find_first_of("xX");
    if (x == std::string::npos || x == 0 || x + 1 >= text.size()) return std::nullopt;
    std::uint32_t channels = 1;
    if (const auto x2 = text.find_first_of("xX", x + 1); x2 != std::string::npos) {
        const std::string c = text.substr(x2 + 1);
        if (c.size() != 1 || c[0] < '1' || c[0] > '4') return std::nullopt;
        channels = static_cast<std::uint32_t>(c[0] - '0');
        auto shape = parse_shape(text.substr(0, x2));
        if (!shape) return std::nullopt;
        shape->channels = channels;
        return shape;
    }
    auto side = [](const std::string& digits) -> std::optional<std::uint32_t> {
        if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        const unsigned long v = std::stoul(digits);
        if (v == 0 || v > 65535) return std::nullopt;
        return static_cast<std::uint32_t>(v);
    };
    const auto rows = side(text.substr(0, x)), cols = side(text.substr(x + 1));
    if (!rows || !cols) return std::nullopt;
    return io::Shape{*rows, *cols, channels};
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    // Levenshtein distance; suggest the closest candidate within 2 edits (or a prefix match).
    auto distance = [](const std::string& a, const std::string& b) {
        std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            cur[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j)
                cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            std::swap(prev, cur);
        }
        return prev[b.size()];
    };
    std::string best;
    std::size_t best_d = 3;
    for (const auto& c : candidates) {
        const std::size_t d = c.starts_with(word) && word.size() >= 3 ? 1 : distance(word, c);
        if (d < best_d) best = c, best_d = d;
    }
    return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
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
    // Under mpirun every rank parses the same command line: rank 0 alone prints usage errors and
    // help (bbans train over MPI, src/cli/mpi_exchange.hpp).
    const bool quiet_rank = bbans::cli::launcher_rank() != 0;
    // A mistyped command gets a suggestion rather than CLI11's "argument was not expected".
    if (argc > 1 && argv[1][0] != '-') {
        std::vector<std::string> names;
        for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
        if (std::find(names.begin(), names.end(), argv[1]) == names.end())
            return quiet_rank ? 1 : bbans::cli::fail("unknown command '" + std::string(argv[1]) + "'" + bbans::cli::did_you_mean(argv[1], names) +
                                    " (see 'bbans --help')");
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return quiet_rank ? 0 : app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return quiet_rank ? 0 : app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return quiet_rank ? 0 : app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (quiet_rank) return 1;
        // Usage errors: one line and exit code 1, as zstd and xz do.
        std::string what = e.what();
        std::replace(what.begin(), what.end(), '\n', ' ');
        const CLI::App* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
        return bbans::cli::fail(what + " (see 'bbans " + (sub ? sub->get_name() + " " : std::string()) + "--help')");
    }
    if (app.get_subcommands().empty()) std::cout << app.help();
    return state.exit_code;
}
