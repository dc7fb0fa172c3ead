// bbans report: compress and decompress a file in memory and print the rate next to the
// model's negative ELBO, zstd -19 and xz -9e, with timings; optionally as JSON and an SVG plot.
// "-" reads standard input; "--json -" (or "--svg -") writes to standard output, and the table
// then goes to standard error. Output paths are checked before any work starts.
#include <filesystem>
#include <iostream>

#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/paths.hpp"
#include "src/io/files.hpp"
#include "src/report/report.hpp"

namespace bbans::cli {
namespace {

namespace fs = std::filesystem;

struct ReportFlags {
    std::string input, model, json, svg, shape;
    std::vector<std::string> model_dirs;
    bool force = false, quiet = false;
    std::size_t lanes = 1;
    unsigned threads = 0;
};

Status write_text(const std::string& path, const std::string& text, bool force) {
    if (path == "-") {
        std::cout << text << std::flush;
        if (!std::cout) return make_error("standard output: write error");
        return Ok{};
    }
    return io::write_file_atomic(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), force);
}

// The same file named twice, however spelled (neither need exist yet).
bool same_path(const std::string& a, const std::string& b) {
    if (a == "-" || b == "-") return a == b;
    std::error_code ec;
    return fs::absolute(a, ec).lexically_normal() == fs::absolute(b, ec).lexically_normal();
}

int run_report(const ReportFlags& f) {
    CompressOptions options;
    options.lanes = f.lanes;
    options.threads = thread_count(f.threads);
    if (!f.shape.empty()) {
        options.raw_shape = parse_shape(f.shape);
        if (!options.raw_shape) return fail("--shape must look like 28x28 (rows x cols, each 1..65535), got '" + f.shape + "'");
    }
    // Everything that can be refused is refused before the work starts.
    if (auto ok = check_input(f.input, false); !ok) return fail(ok.error().message);
    if (!f.json.empty() && !f.svg.empty() && same_path(f.json, f.svg))
        return fail("--json and --svg name the same " + std::string(f.json == "-" ? "standard output" : "file"));
    for (const std::string* out : {&f.json, &f.svg})
        if (!out->empty())
            if (auto ok = check_output(f.input, *out, f.force, false); !ok) return fail(ok.error().message);
    std::ostream& table_out = f.json == "-" || f.svg == "-" ? std::cerr : std::cout;

    auto input = io::read_file(f.input == "-" ? std::string("/dev/stdin") : f.input);
    if (!input) return fail(f.input == "-" ? "standard input: " + input.error().message : input.error().message);
    auto catalog = Catalog::open(f.model, ModelSearch::standard(f.model_dirs));
    if (!catalog) return fail(catalog.error().message);
    if (!f.quiet) warn(catalog->warnings());
    auto figures = report::measure(*input, options, catalog->models());
    if (!figures) return fail(display_input(f.input) + ": " + figures.error().message);
    figures->input_name = f.input;
    if (!f.quiet) table_out << report::table(*figures) << std::flush;
    if (!f.json.empty())
        if (auto ok = write_text(f.json, report::json(*figures), f.force); !ok) return fail(ok.error().message);
    if (!f.svg.empty())
        if (auto ok = write_text(f.svg, report::svg(*figures), f.force); !ok) return fail(ok.error().message);
    return figures->exact ? 0 : fail(display_input(f.input) + ": the round trip was not exact");
}

}  // namespace

void add_report_command(CLI::App& app, RunState& state) {
    static ReportFlags f;
    auto* r = app.add_subcommand("report", "compress and decompress a file in memory; print the rate against the model's -ELBO, zstd and xz");
    r->add_option("input", f.input, "a file: IDX images, raw images with --shape, or anything else (then zstd/xz); - for standard input")
        ->required();
    r->add_option("--model", f.model, "a model's name (see bbans models) or a model file (default: the best model found)");
    add_model_dir_option(*r, f.model_dirs);
    r->add_option("--shape", f.shape, "treat the input as raw images of this shape, e.g. 28x28");
    r->add_option("--json", f.json, "also write the figures as JSON to this file (- for standard output; the table then goes to standard error)");
    r->add_option("--svg", f.svg, "also draw the running rate against images coded to this SVG file (- for standard output)");
    r->add_option("--lanes", f.lanes, "rANS lanes")->capture_default_str()->check(CLI::Range(1, 255));
    r->add_option("-T,--threads", f.threads, "threads for compression and decompression (0 = all cores, the default)")
        ->check(CLI::Range(0, 1024));
    r->add_flag("-f,--force", f.force, "overwrite existing --json/--svg files");
    r->add_flag("-q,--quiet", f.quiet, "print nothing but errors (and what --json - or --svg - asks for)");
    r->callback([&state] { state.exit_code = run_report(f); });
}

}  // namespace bbans::cli
