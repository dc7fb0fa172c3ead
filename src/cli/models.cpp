// bbans models: the models on the search path (src/catalog/catalog.hpp), one line each: name,
// image shape, latent dimensions, held-out negative ELBO, file size and path. Model files that
// do not load are skipped with a warning on stderr.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/coding/model_file.hpp"
#include "src/io/files.hpp"
#include "src/report/text.hpp"

namespace bbans::cli {

void warn(const std::vector<std::string>& messages) {
    for (const std::string& m : messages) std::cerr << "bbans: warning: " << m << '\n';
}

void warn_new(const Catalog& catalog, std::size_t& printed, bool quiet) {
    const auto& w = catalog.warnings();
    if (!quiet && w.size() > printed) warn(std::vector<std::string>(w.begin() + static_cast<std::ptrdiff_t>(printed), w.end()));
    printed = w.size();
}

Expected<std::span<const NamedModel>> CandidateModels::get(std::size_t channels) {
    if (!catalog_) {
        auto c = Catalog::open(model_, ModelSearch::standard(model_dirs_), Load::on_demand);
        if (!c) return c.error();
        catalog_ = std::move(*c);
    }
    if (model_.empty() && channels > 0) catalog_->candidates_for(channels);
    warn_new(*catalog_, warned_, quiet_);
    return std::span<const NamedModel>(catalog_->models());
}

void add_model_dir_option(CLI::App& cmd, std::vector<std::string>& dirs) {
    cmd.add_option("--model-dir", dirs,
                   "also look for models (NAME.bbm) in DIR, before $BBANS_MODEL_DIR and the installed models; repeatable")
        ->type_name("DIR")
        ->allow_extra_args(false);
}

namespace {

namespace fs = std::filesystem;

struct ModelsFlags {
    std::vector<std::string> model_dirs;
    bool json = false;
    bool verbose = false;
};

struct Row {
    ModelSummary m;
    std::string shape, latent, neg_elbo, size;
};

std::string human_size(std::uintmax_t bytes) {
    char buf[32];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%ju B", bytes);
    else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

void print_table(const std::vector<Row>& rows) {
    const std::vector<std::string> header{"NAME", "SHAPE", "LATENT", "-ELBO", "SIZE", "PATH"};
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
    auto cells = [](const Row& r) { return std::vector<std::string>{r.m.name, r.shape, r.latent, r.neg_elbo, r.size, r.m.path.string()}; };
    for (const Row& r : rows) {
        const auto c = cells(r);
        for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
    }
    auto line = [&](const std::vector<std::string>& c) {
        std::string out;
        for (std::size_t i = 0; i < c.size(); ++i) {
            std::string cell = c[i];
            const bool right = i == 2 || i == 3 || i == 4;  // numbers
            if (i + 1 < c.size()) {
                const std::string pad(width[i] - cell.size(), ' ');
                cell = right ? pad + cell : cell + pad;
                cell += "  ";
            }
            out += cell;
        }
        std::cout << out << '\n';
    };
    line(header);
    for (const Row& r : rows) line(cells(r));
}

// A JSON array of objects, one per model (the fields Python's bbans.models() returns).
void print_json(const std::vector<Row>& rows) {
    std::vector<std::string> items;
    for (const Row& row : rows) {
        const ModelSummary& r = row.m;
        items.push_back(report::JsonObject()
                            .text("name", r.name)
                            .integer("rows", r.rows)
                            .integer("cols", r.cols)
                            .integer("channels", r.channels)
                            .integer("latent", r.latent)
                            .number("neg_elbo_bpd", r.neg_elbo_bpd.value_or(0), 4, r.neg_elbo_bpd.has_value())
                            .integer("bytes", r.bytes.value_or(0))
                            .text("path", r.path.string())
                            .str(2));
    }
    std::cout << report::json_array(items, 0) << '\n';
}

int run_models(const ModelsFlags& f) {
    const ModelSearch search = ModelSearch::standard(f.model_dirs);
    if (f.verbose)
        for (const fs::path& dir : search.dirs) std::cerr << "bbans: model directory " << dir.string() << '\n';
    auto catalog = Catalog::open("", search);
    if (!catalog) return fail(catalog.error().message);
    std::vector<std::string> warnings = catalog->warnings();
    std::vector<Row> rows;
    for (const NamedModel& m : catalog->models()) {
        Row r;
        r.m = summarize(m.name, catalog->path_of(m), *m.model, warnings);
        r.shape = std::to_string(r.m.rows) + "x" + std::to_string(r.m.cols) + "x" + std::to_string(r.m.channels);
        r.latent = std::to_string(r.m.latent);
        char buf[32] = "-";
        if (r.m.neg_elbo_bpd) std::snprintf(buf, sizeof buf, "%.4f", *r.m.neg_elbo_bpd);
        r.neg_elbo = buf;
        r.size = r.m.bytes ? human_size(*r.m.bytes) : "?";
        rows.push_back(std::move(r));
    }
    warn(warnings);
    if (f.json) print_json(rows);
    else if (!rows.empty()) print_table(rows);
    if (rows.empty() && !f.json) warn({"no models found (bbans models -v shows where it looked)"});
    return 0;
}

}  // namespace

void add_models_command(CLI::App& app, RunState& state) {
    static ModelsFlags f;
    auto* m = app.add_subcommand("models", "list the models on the model search path: name, shape, latent size, held-out -ELBO, size, file");
    add_model_dir_option(*m, f.model_dirs);
    m->add_flag("--json", f.json, "print the list as JSON");
    m->add_flag("-v,--verbose", f.verbose, "also print the directories searched, in order, on stderr");
    m->callback([&state] { state.exit_code = run_models(f); });
}

}  // namespace bbans::cli
