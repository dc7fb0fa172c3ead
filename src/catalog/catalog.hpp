#pragma once
// Where the CLI and the Python module find models. A model is a NAME.bbm file, known by NAME,
// in one of the directories of the model search path, in this order:
//   1. every --model-dir DIR given on the command line (Python: model_dirs), in the order given;
//   2. each directory of $BBANS_MODEL_DIR (colon-separated);
//   2b. directories a caller adds after those (the Python package's own models/ folder);
//   3. the installed models: share/bbans/models beside the running binary's bin/ (so an
//      installed tree works wherever it was installed), then the configured install directory
//      ${CMAKE_INSTALL_FULL_DATADIR}/bbans/models;
//   4. the source tree's models/shipped (for a binary run from its build tree).
// The directories of 3 and 4 are searched only if they exist; a directory given in 1 or 2 that
// cannot be read is a warning. The first directory that has a name wins, whether or not its
// file loads: a broken NAME.bbm is not replaced by a NAME.bbm further down the path.
// A model file that cannot be read or is not a valid model is skipped with a warning
// (warnings(), which the CLI prints as "bbans: warning: ..."; the catalog never prints); a
// model named explicitly (--model NAME or --model PATH) that fails to load is an error.
// The catalog reads files but never prints (it is part of the library, not of the CLI).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/compressor/compressor.hpp"

namespace bbans {

struct ModelSearch {
    std::vector<std::filesystem::path> dirs;  // searched in this order; the first that has a name wins
    // The search path above, with the --model-dir values given, and `after_env` (searched
    // after $BBANS_MODEL_DIR and before the installed models, if they exist).
    static ModelSearch standard(const std::vector<std::string>& model_dirs_from_cli,
                                const std::vector<std::filesystem::path>& after_env = {});
};

// A model file found on the search path (not loaded yet).
struct FoundModel {
    std::string name;  // the file name without .bbm
    std::filesystem::path path;
};

// When Catalog::open("") loads the models of the search path.
enum class Load {
    all,        // at once
    on_demand,  // by candidates_for() and resolve(), as an input needs them
};

class Catalog {
public:
    // name_or_path empty: every model on the search path (those that fail to load are skipped
    // with a warning), now or on demand. Otherwise the model of that name on the search path,
    // or else a model file at that path; an error if it is neither or does not load.
    static Expected<Catalog> open(const std::string& name_or_path, const ModelSearch& search, Load when = Load::all);
    static Expected<Catalog> open(const std::string& name_or_path) { return open(name_or_path, ModelSearch::standard({})); }

    // The loaded models, sorted by name: the candidates for compress().
    const std::vector<NamedModel>& models() const { return named_; }
    // models(), after loading each model of the search path not tried yet that can code images
    // of `channels` channels (compress's planes_for()); the configuration is read from a file's
    // first bytes, and a file whose first bytes do not tell is loaded (and skipped with a
    // warning if it fails). A model that cannot code them stays unloaded (resolve() finds it).
    const std::vector<NamedModel>& candidates_for(std::size_t channels);
    // The file a model of models() was loaded from.
    const std::filesystem::path& path_of(const NamedModel& model) const;
    // For decompress(): the loaded model with that identity, or else one found on the search path.
    Expected<const coding::CodingModel*> resolve(const container::ModelId& id);
    // Files skipped so far, one line each ("PATH: reason"), in the order met.
    const std::vector<std::string>& warnings() const { return warnings_; }

    // The NAME.bbm files on the search path, the first of each name, sorted by name. Unreadable
    // directories given by the user add a warning to warnings.
    static std::vector<FoundModel> scan(const ModelSearch& search, std::vector<std::string>& warnings);

private:
    // Loads a model file into models() (kept sorted by name); the model loaded.
    Expected<const coding::CodingModel*> add(const FoundModel& found);
    // add(found_[i]), marking it tried; a file that fails is a warning (once), and nullptr.
    const coding::CodingModel* load_found(std::size_t i);
    void warn_once(const std::string& warning);
    std::vector<FoundModel> found_;  // the search path's models
    std::vector<bool> tried_;        // found_[i] has been loaded (or failed to)
    // found_[i]'s configuration from its first bytes, once candidates_for() has read them
    // (outer empty: not read yet; inner empty: they do not tell), so a folder of images reads
    // each file's first bytes once, not once per image.
    std::vector<std::optional<std::optional<models::VaeConfig>>> peeked_;
    std::vector<std::unique_ptr<coding::CodingModel>> loaded_;
    std::vector<NamedModel> named_;
    std::vector<std::filesystem::path> paths_;  // paths_[i] is the file of named_[i]
    std::vector<std::string> warnings_;
};

// What `bbans models` shows of a model: its shape, latent size, held-out negative ELBO (from its
// card, the integer model as it codes, when the card is there and names this model; else the
// float figure the model file records) and file size.
struct ModelSummary {
    std::string name;
    std::filesystem::path path;
    std::uint32_t rows = 0, cols = 0, channels = 1, latent = 0;
    std::optional<double> neg_elbo_bpd;
    std::optional<std::uintmax_t> bytes;  // the file's size, if it can be read
};
// Problems with the card (unreadable, another model's) are added to warnings.
ModelSummary summarize(const std::string& name, const std::filesystem::path& path, const coding::CodingModel& model,
                       std::vector<std::string>& warnings);

}  // namespace bbans
