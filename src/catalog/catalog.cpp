#include "src/catalog/catalog.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>

#include "src/io/files.hpp"

namespace bbans {

namespace fs = std::filesystem;

namespace {

// Compile definitions (src/CMakeLists.txt): the configured install directory of the models,
// the same directory relative to the installed binary's directory, and the source tree's.
#ifndef BBANS_INSTALLED_MODEL_DIR
#error "BBANS_INSTALLED_MODEL_DIR must be defined"
#endif
#ifndef BBANS_INSTALLED_MODEL_DIR_FROM_BIN
#error "BBANS_INSTALLED_MODEL_DIR_FROM_BIN must be defined"
#endif
#ifndef BBANS_SHIPPED_MODEL_DIR
#error "BBANS_SHIPPED_MODEL_DIR must be defined"
#endif

bool directory_exists(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec);
}

// The directory of the running binary, if the system says (Linux: /proc/self/exe).
std::optional<fs::path> binary_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec || exe.empty()) return std::nullopt;
    return exe.parent_path();
}

// A key that is the same for two spellings of one directory.
std::string directory_key(const fs::path& dir) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(dir, ec);
    return (ec ? dir.lexically_normal() : canonical).string();
}

std::string join_names(const std::vector<FoundModel>& found) {
    std::string names;
    for (const FoundModel& f : found) names += (names.empty() ? "" : ", ") + f.name;
    return names.empty() ? "none" : names;
}

}  // namespace

ModelSearch ModelSearch::standard(const std::vector<std::string>& model_dirs_from_cli, const std::vector<fs::path>& after_env) {
    ModelSearch s;
    for (const std::string& d : model_dirs_from_cli)
        if (!d.empty()) s.dirs.emplace_back(d);
    if (const char* env = std::getenv("BBANS_MODEL_DIR"); env && *env) {
        const std::string value = env;
        std::size_t start = 0;
        while (start <= value.size()) {
            const std::size_t colon = std::min(value.find(':', start), value.size());
            if (colon > start) s.dirs.emplace_back(value.substr(start, colon - start));
            start = colon + 1;
        }
    }
    for (const fs::path& d : after_env)
        if (directory_exists(d)) s.dirs.push_back(d);
    if (const auto bin = binary_dir()) {
        const fs::path beside = (*bin / BBANS_INSTALLED_MODEL_DIR_FROM_BIN).lexically_normal();
        if (directory_exists(beside)) s.dirs.push_back(beside);
    }
    if (directory_exists(BBANS_INSTALLED_MODEL_DIR)) s.dirs.emplace_back(BBANS_INSTALLED_MODEL_DIR);
    if (directory_exists(BBANS_SHIPPED_MODEL_DIR)) s.dirs.emplace_back(BBANS_SHIPPED_MODEL_DIR);
    return s;
}

std::vector<FoundModel> Catalog::scan(const ModelSearch& search, std::vector<std::string>& warnings) {
    std::vector<FoundModel> found;
    std::set<std::string> names, seen_dirs;
    for (const fs::path& dir : search.dirs) {
        if (!seen_dirs.insert(directory_key(dir)).second) continue;
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        if (ec) {
            warnings.push_back(dir.string() + ": cannot read model directory: " + ec.message());
            continue;
        }
        std::vector<FoundModel> here;
        for (; it != fs::directory_iterator(); it.increment(ec)) {
            const fs::path& p = it->path();
            if (p.extension() != ".bbm" || p.stem().empty()) continue;
            std::error_code type_ec;
            if (it->is_regular_file(type_ec)) here.push_back({p.stem().string(), p});
            else if (it->is_symlink(type_ec) && !fs::exists(p, type_ec))
                warnings.push_back(p.string() + ": broken symbolic link");
        }
        if (ec) warnings.push_back(dir.string() + ": cannot read model directory: " + ec.message());
        std::sort(here.begin(), here.end(), [](const FoundModel& a, const FoundModel& b) { return a.name < b.name; });
        for (FoundModel& f : here)
            if (names.insert(f.name).second) found.push_back(std::move(f));
    }
    std::sort(found.begin(), found.end(), [](const FoundModel& a, const FoundModel& b) { return a.name < b.name; });
    return found;
}

Expected<const coding::CodingModel*> Catalog::add(const FoundModel& found) {
    auto m = coding::load_model(found.path);
    if (!m) return m.error();  // "PATH: reason"
    loaded_.push_back(std::make_unique<coding::CodingModel>(std::move(*m)));
    // Kept sorted by name (models loaded on demand arrive in any order); equal names keep the
    // order they came in.
    const auto at = std::upper_bound(named_.begin(), named_.end(), found.name,
                                     [](const std::string& name, const NamedModel& n) { return name < n.name; });
    const auto i = at - named_.begin();
    named_.insert(at, {found.name, loaded_.back().get()});
    paths_.insert(paths_.begin() + i, found.path);
    return loaded_.back().get();
}

namespace {

// The configuration from the first bytes of a model file, or nothing if they do not tell.
std::optional<models::VaeConfig> peek_config(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::string head(4096, '\0');
    f.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(f.gcount()));
    auto cfg = models::peek_coding_config(head);
    if (!cfg) return std::nullopt;
    return *cfg;
}

}  // namespace

const std::vector<NamedModel>& Catalog::candidates_for(std::size_t channels) {
    for (std::size_t i = 0; i < found_.size(); ++i) {
        if (tried_[i]) continue;
        if (!peeked_[i]) peeked_[i] = peek_config(found_[i].path);
        if (const auto& cfg = *peeked_[i]; cfg && !planes_for(*cfg, channels)) continue;
        load_found(i);
    }
    return named_;
}

const coding::CodingModel* Catalog::load_found(std::size_t i) {
    tried_[i] = true;
    auto m = add(found_[i]);
    if (!m) {
        warn_once(m.error().message);
        return nullptr;
    }
    return *m;
}

void Catalog::warn_once(const std::string& warning) {
    if (std::find(warnings_.begin(), warnings_.end(), warning) == warnings_.end()) warnings_.push_back(warning);
}

const fs::path& Catalog::path_of(const NamedModel& model) const {
    for (std::size_t i = 0; i < named_.size(); ++i)
        if (named_[i].model == model.model) return paths_[i];
    static const fs::path none;
    return none;
}

Expected<Catalog> Catalog::open(const std::string& name_or_path, const ModelSearch& search, Load when) {
    Catalog c;
    c.found_ = scan(search, c.warnings_);
    c.tried_.assign(c.found_.size(), false);
    c.peeked_.assign(c.found_.size(), std::nullopt);
    if (name_or_path.empty()) {
        if (when == Load::on_demand) return c;
        for (std::size_t i = 0; i < c.found_.size(); ++i) c.load_found(i);
        return c;
    }
    for (std::size_t i = 0; i < c.found_.size(); ++i)
        if (c.found_[i].name == name_or_path) {
            c.tried_[i] = true;
            if (auto ok = c.add(c.found_[i]); !ok) return ok.error();
            return c;
        }
    std::error_code ec;
    if (!fs::exists(name_or_path, ec)) {
        // A name cannot contain '/'; a .bbm suffix means a file was meant too.
        if (name_or_path.find('/') != std::string::npos || fs::path(name_or_path).extension() == ".bbm")
            return make_error(name_or_path + ": no such model file");
        return make_error("no model named '" + name_or_path + "' (models found: " + join_names(c.found_) +
                          "; `bbans models` lists them; or give a model file path)");
    }
    if (auto ok = c.add({fs::path(name_or_path).stem().string(), name_or_path}); !ok) return ok.error();
    return c;
}

Expected<const coding::CodingModel*> Catalog::resolve(const container::ModelId& id) {
    for (const NamedModel& m : named_)
        if (m.model->identity() == id) return m.model;
    // Not among those loaded: try the other models on the search path.
    for (std::size_t i = 0; i < found_.size(); ++i) {
        if (tried_[i]) continue;
        if (std::any_of(named_.begin(), named_.end(), [&](const NamedModel& m) { return m.name == found_[i].name; })) {
            tried_[i] = true;  // a model file given by path has this name: it stands for it
            continue;
        }
        // (Not named_.back(): named_ is sorted by name, and this model may sort before others.)
        if (const coding::CodingModel* m = load_found(i); m && m->identity() == id) return m;
    }
    return make_error("this .bbx file needs model " + container::to_hex(id) +
                      ", which is not among the available models (use --model with its file, or --model-dir with its directory)");
}

namespace {

// The text of a card's table row "| LABEL | VALUE |" (VALUE without the surrounding spaces).
std::optional<std::string> card_field(std::string_view card, std::string_view label) {
    const std::string key = "| " + std::string(label) + " | ";
    const std::size_t at = card.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    const std::size_t start = at + key.size();
    const std::size_t end = card.find('\n', start);
    std::string_view value = card.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    while (!value.empty() && (value.back() == '|' || value.back() == ' ' || value.back() == '\r')) value.remove_suffix(1);
    return std::string(value);
}

// The held-out negative ELBO of a model, in bits/dim: from its card (the integer model as it
// codes) if the card is there and describes this model, else the float model's held-out figure
// the model file records, else nothing.
std::optional<double> heldout_neg_elbo(const fs::path& model_path, const coding::CodingModel& model, std::vector<std::string>& warnings) {
    const fs::path card_file = coding::card_path(model_path.string());
    std::error_code ec;
    if (fs::exists(card_file, ec)) {
        auto bytes = io::read_file(card_file, std::uint64_t{1} << 20);
        if (!bytes) {
            warnings.push_back(bytes.error().message);
        } else {
            const std::string_view card(reinterpret_cast<const char*>(bytes->data()), bytes->size());
            const auto identity = card_field(card, "identity (XXH3-128 of the payload)");
            std::string want(1, '`');  // (not "`" + ...: g++ 12 warns -Wrestrict falsely)
            want += model.identity_hex();
            want += '`';
            if (identity && *identity != want) {
                warnings.push_back(card_file.string() + ": the card of another model (" + *identity + "), ignored");
            } else if (const auto value = card_field(card, "held-out negative ELBO, integer model as it codes")) {
                char* end = nullptr;
                const double v = std::strtod(value->c_str(), &end);
                if (end != value->c_str() && v > 0) return v;
            }
        }
    }
    const double recorded = model.file.info.heldout_neg_elbo_bpd;
    if (recorded > 0) return recorded;
    return std::nullopt;
}

}  // namespace

ModelSummary summarize(const std::string& name, const fs::path& path, const coding::CodingModel& model, std::vector<std::string>& warnings) {
    ModelSummary r;
    const auto& c = model.file.config();
    r.name = name;
    r.path = path;
    r.rows = c.rows;
    r.cols = c.cols;
    r.channels = c.image_channels;
    r.latent = c.latent;
    r.neg_elbo_bpd = heldout_neg_elbo(path, model, warnings);
    std::error_code ec;
    const std::uintmax_t bytes = fs::file_size(path, ec);
    if (!ec) r.bytes = bytes;
    return r;
}

}  // namespace bbans
