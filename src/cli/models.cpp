// bbans models: the models on the search path (src/cli/catalog.hpp), one line each: name,
// image shape, latent dimensions, held-out negative ELBO, file size and path. Model files that
// do not load are skipped with a warning on stderr.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/coding/model_file.hpp"
#include "src/io/files.hpp"

namespace bbans::cli {

void warn(const std::vector<std::string>& messages) {
    for (const std::string& m : messages) std::cerr << "bbans: warning: " << m << '\n';
}

namespace {

namespace fs = std::filesystem;

struct ModelsFlags {
    std::vector<std::string> model_dirs;
    bool json = false;
    bool verbose = false;
};

struct Row {
    std::string name, shape, latent, neg_elbo, size;
    std::uint32_t rows = 0, cols = 0, latent_dims = 0;
    std::optional<double> neg_elbo_bpd;
    std::uintmax_t bytes = 0;
    fs::path path;
};

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
            const std::string want = "`" + model.identity_hex() + "`";
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

std::string human_size(std::uintmax_t bytes) {
    char buf[32];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%ju B", bytes);
    else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

void print_table(const std::vector<Row>& rows) {
    const std::vector<std::string> header{"NAME", "SHAPE", "LATENT", "-ELBO", "SIZE", "PATH"};
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
    auto cells = [](const Row& r) { return std::vector<std::string>{r.name, r.shape, r.latent, r.neg_elbo, r.size, r.path.string()}; };
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

void print_json(const std::vector<Row>& rows) {
    std::cout << "[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        char elbo[32] = "null";
        if (r.neg_elbo_bpd) std::snprintf(elbo, sizeof elbo, "%.4f", *r.neg_elbo_bpd);
        std::cout << (i ? ",\n " : "\n ") << "{\"name\": " << json_string(r.name) << ", \"rows\": " << r.rows << ", \"cols\": " << r.cols
                  << ", \"channels\": 1, \"latent\": " << r.latent_dims << ", \"neg_elbo_bpd\": " << elbo << ", \"bytes\": " << r.bytes
                  << ", \"path\": " << json_string(r.path.string()) << "}";
    }
    std::cout << (rows.empty() ? "]\n" : "\n]\n");
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
        const auto& c = m.model->file.config();
        r.name = m.name;
        r.path = catalog->path_of(m);
        r.rows = c.rows;
        r.cols = c.cols;
        r.latent_dims = c.latent;
        r.shape = std::to_string(c.rows) + "x" + std::to_string(c.cols) + "x" + std::to_string(c.image_channels);
        r.latent = std::to_string(c.latent);
        r.neg_elbo_bpd = heldout_neg_elbo(r.path, *m.model, warnings);
        char buf[32] = "-";
        if (r.neg_elbo_bpd) std::snprintf(buf, sizeof buf, "%.4f", *r.neg_elbo_bpd);
        r.neg_elbo = buf;
        std::error_code ec;
        r.bytes = fs::file_size(r.path, ec);
        r.size = ec ? "?" : human_size(r.bytes);
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
