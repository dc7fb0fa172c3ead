// bbans report: compress and decompress a file in memory and print the rate next to the
// model's negative ELBO, zstd -19 and xz -9e, with timings; optionally as JSON and an SVG plot.
#include <iostream>

#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/io/files.hpp"
#include "src/report/report.hpp"

namespace bbans::cli {
namespace {

struct ReportFlags {
    std::string input, model, json, svg, shape;
    std::vector<std::string> model_dirs;
    bool force = false;
    std::size_t lanes = 1;
};

Status write_text(const std::string& path, const std::string& text, bool force) {
    return io::write_file_atomic(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), force);
}

int run_report(const ReportFlags& f) {
    CompressOptions options;
    options.lanes = f.lanes;
    if (!f.shape.empty()) {
        options.raw_shape = parse_shape(f.shape);
        if (!options.raw_shape) return fail("--shape must look like 28x28, got '" + f.shape + "'");
    }
    auto input = io::read_file(f.input);
    if (!input) return fail(input.error().message);
    auto catalog = Catalog::open(f.model, ModelSearch::standard(f.model_dirs));
    if (!catalog) return fail(catalog.error().message);
    warn(catalog->warnings());
    auto figures = report::measure(*input, options, catalog->models());
    if (!figures) return fail(f.input + ": " + figures.error().message);
    std::cout << report::table(*figures);
    if (!f.json.empty())
        if (auto ok = write_text(f.json, report::json(*figures), f.force); !ok) return fail(ok.error().message);
    if (!f.svg.empty())
        if (auto ok = write_text(f.svg, report::svg(*figures), f.force); !ok) return fail(ok.error().message);
    return figures->exact ? 0 : fail("the round trip was not exact");
}

}  // namespace

void add_report_command(CLI::App& app, RunState& state) {
    static ReportFlags f;
    auto* r = app.add_subcommand("report", "compress and decompress a file in memory; print the rate against the model's -ELBO, zstd and xz");
    r->add_option("input", f.input, "an image file (IDX, or raw with --shape)")->required();
    r->add_option("-m,--model", f.model, "a model's name (see bbans models) or a model file (default: the best model found)");
    add_model_dir_option(*r, f.model_dirs);
    r->add_option("--shape", f.shape, "treat the input as raw images of this shape, e.g. 28x28");
    r->add_option("--json", f.json, "also write the figures as JSON to this file");
    r->add_option("--svg", f.svg, "also draw the running rate against images coded to this SVG file");
    r->add_option("--lanes", f.lanes, "rANS lanes")->capture_default_str()->check(CLI::Range(1, 255));
    r->add_flag("-f,--force", f.force, "overwrite existing --json/--svg files");
    r->callback([&state] { state.exit_code = run_report(f); });
}

}  // namespace bbans::cli
