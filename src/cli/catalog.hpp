#pragma once
// Where the CLI finds models: the shipped models directory (BBANS_MODEL_DIR in the environment,
// else the directory compiled in: the source tree's models/shipped), each *.bbm file known by
// its file name without .bbm; or a model file named on the command line.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/compressor/compressor.hpp"

namespace bbans::cli {

class Catalog {
public:
    // name_or_path empty: every shipped model. Otherwise a shipped model's name, or a path.
    static Expected<Catalog> open(const std::string& name_or_path);

    // The candidates for compress().
    const std::vector<NamedModel>& models() const { return named_; }
    // For decompress(): the loaded model with that identity, or one of the shipped ones.
    Expected<const coding::CodingModel*> resolve(const container::ModelId& id);

    static std::filesystem::path shipped_dir();
    static std::vector<std::string> shipped_names();

private:
    Status add(const std::string& name, const std::filesystem::path& path);
    std::vector<std::unique_ptr<coding::CodingModel>> loaded_;
    std::vector<NamedModel> named_;
    bool explicit_ = false;
};

}  // namespace bbans::cli
