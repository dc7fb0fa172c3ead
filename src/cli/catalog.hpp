#pragma once
// The model search path and catalog (src/catalog/catalog.hpp) as the CLI uses them: the
// library's types, and the --model-dir option.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "src/catalog/catalog.hpp"

namespace bbans::cli {

using bbans::Catalog;
using bbans::FoundModel;
using bbans::ModelSearch;

// Adds the repeatable option --model-dir DIR to a subcommand (each use takes one directory).
void add_model_dir_option(CLI::App& cmd, std::vector<std::string>& dirs);

}  // namespace bbans::cli
