#include "src/cli/catalog.hpp"

#include <algorithm>
#include <cstdlib>

namespace bbans::cli {

namespace fs = std::filesystem;

fs::path Catalog::shipped_dir() {
    if (const char* env = std::getenv("BBANS_MODEL_DIR"); env && *env) return env;
    return BBANS_SHIPPED_MODEL_DIR;
}

std::vector<std::string> Catalog::shipped_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(shipped_dir(), ec))
        if (e.is_regular_file(ec) && e.path().extension() == ".bbm") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

Status Catalog::add(const std::string& name, const fs::path& path) {
    auto m = coding::load_model(path);
    if (!m) return m.error();
    loaded_.push_back(std::make_unique<coding::CodingModel>(std::move(*m)));
    named_.push_back({name, loaded_.back().get()});
    return Ok{};
}

Expected<Catalog> Catalog::open(const std::string& name_or_path) {
    Catalog c;
    if (name_or_path.empty()) {
        for (const std::string& name : shipped_names())
            if (auto ok = c.add(name, shipped_dir() / (name + ".bbm")); !ok) return ok.error();
        return c;
    }
    c.explicit_ = true;
    const auto names = shipped_names();
    if (std::find(names.begin(), names.end(), name_or_path) != names.end()) {
        if (auto ok = c.add(name_or_path, shipped_dir() / (name_or_path + ".bbm")); !ok) return ok.error();
        return c;
    }
    std::error_code ec;
    if (!fs::exists(name_or_path, ec)) {
        std::string known;
        for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
        return make_error("no model named '" + name_or_path + "' (shipped models: " + (known.empty() ? "none" : known) +
                          "; or give a model file path)");
    }
    if (auto ok = c.add(fs::path(name_or_path).stem().string(), name_or_path); !ok) return ok.error();
    return c;
}

Expected<const coding::CodingModel*> Catalog::resolve(const container::ModelId& id) {
    for (const NamedModel& m : named_)
        if (m.model->identity() == id) return m.model;
    // Not among those loaded: look through the shipped models too.
    if (explicit_ || named_.empty())
        for (const std::string& name : shipped_names()) {
            if (std::any_of(named_.begin(), named_.end(), [&](const NamedModel& m) { return m.name == name; })) continue;
            if (add(name, shipped_dir() / (name + ".bbm")) && named_.back().model->identity() == id) return named_.back().model;
        }
    return make_error("this .bbx file needs model " + container::to_hex(id) +
                      ", which is not among the available models (use --model with its file)");
}

}  // namespace bbans::cli
