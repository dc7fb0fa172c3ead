#pragma once
// The model search path and catalog (src/catalog/catalog.hpp) as the CLI uses them: the
// library's types, and the --model-dir option.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/catalog/catalog.hpp"

namespace bbans::cli {

using bbans::Catalog;
using bbans::FoundModel;
using bbans::ModelSearch;

// Adds the repeatable option --model-dir DIR to a subcommand (each use takes one directory).
void add_model_dir_option(CLI::App& cmd, std::vector<std::string>& dirs);

// Prints the catalog's warnings after the first `printed` ("bbans: warning: ..."), unless quiet,
// and counts them into `printed`: each warning once, whenever it arose.
void warn_new(const Catalog& catalog, std::size_t& printed, bool quiet);

// The candidates compress and report offer the compressor: the model named with --model, or the
// search path's models that can code the images' channels, each file loaded when an input first
// needs it (get(0), for no images, only opens the catalog: a bad --model is an error then).
class CandidateModels {
public:
    CandidateModels(std::string model, std::vector<std::string> model_dirs, bool quiet)
        : model_(std::move(model)), model_dirs_(std::move(model_dirs)), quiet_(quiet) {}
    Expected<std::span<const NamedModel>> get(std::size_t channels);

private:
    std::string model_;
    std::vector<std::string> model_dirs_;
    bool quiet_;
    std::optional<Catalog> catalog_;
    std::size_t warned_ = 0;
};

}  // namespace bbans::cli
