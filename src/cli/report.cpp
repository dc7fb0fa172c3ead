// bbans report: compress and decompress a file in memory and print the rate next to the
// model's negative ELBO, zstd -19 and xz -9e, with timings; optionally as JSON and an SVG plot.
// "-" reads standard input; "--json -" (or "--svg -") writes to standard output, and the table
// then goes to standard error. Output paths are checked before any work starts.
// On a folder: one row per image file and the aggregate, against PNG, WebP and JPEG XL
// (src/report/folder.hpp), with a progress line per file on standard error.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/paths.hpp"
#include "src/io/files.hpp"
#include "src/report/folder.hpp"
#include "src/report/reference_codecs.hpp"
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
    int jxl_effort = 7;
    bool jxl_effort_given = false;
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

int run_folder_report(const ReportFlags& f, const CompressOptions& options) {
    if (!f.svg.empty()) return fail("--svg draws the running rate of one file; it does not apply to a folder (" + f.input + ")");
    if (!f.shape.empty()) return fail("--shape applies to one file, not a folder (" + f.input + ")");
    auto codecs = report::reference_codecs({.jxl_effort = f.jxl_effort});
    if (!codecs) return fail(codecs.error().message);
    if (!f.json.empty())
        if (auto ok = check_output(f.input, f.json, f.force, false); !ok) return fail(ok.error().message);
    std::ostream& table_out = f.json == "-" ? std::cerr : std::cout;

    auto catalog = Catalog::open(f.model, ModelSearch::standard(f.model_dirs));
    if (!catalog) return fail(catalog.error().message);
    if (!f.quiet) warn(catalog->warnings());
    // One line a file on standard error: what it cost, against WebP and JPEG XL where built in.
    auto progress = [&](const std::string& name, const report::ImageFigures* i, const std::string& why, std::size_t k, std::size_t n) {
        if (f.quiet) return;
        std::string line = "report [" + std::to_string(k + 1) + "/" + std::to_string(n) + "] " + name + ": ";
        if (!i) {
            line += "skipped, " + why;
        } else {
            char b[160];
            if (i->images > 1) line += std::to_string(i->images) + " of ";
            std::snprintf(b, sizeof b, "%ux%ux%u, bbans %.4f", i->rows, i->cols, i->channels,
                          static_cast<double>(i->bbans_bits) / static_cast<double>(std::max<std::uint64_t>(1, i->samples)));
            line += b;
            for (std::size_t c = 0; c < i->references.size() && c < codecs->size(); ++c) {
                const auto& r = i->references[c];
                if (r.ok) std::snprintf(b, sizeof b, ", %s %.4f", (*codecs)[c]->name().c_str(),
                                        static_cast<double>(r.bits) / static_cast<double>(std::max<std::uint64_t>(1, i->samples)));
                else std::snprintf(b, sizeof b, ", %s error", (*codecs)[c]->name().c_str());
                line += b;
            }
            std::snprintf(b, sizeof b, " bits/subpixel (bbans %.2f s)", i->compress_s + i->decompress_s + i->elbo_s);
            line += b;
        }
        std::cerr << line << std::endl;
    };
    auto figures = report::measure_folder(f.input, options, catalog->models(), *codecs, progress);
    if (!figures) return fail(figures.error().message);
    figures->input_name = f.input;
    // (A reference codec's failure on a file is shown in its cell and under the table, and in the
    // JSON; it is not the report's failure.)
    if (!f.quiet) table_out << report::folder_table(*figures) << std::flush;
    if (!f.json.empty())
        if (auto ok = write_text(f.json, report::folder_json(*figures), f.force); !ok) return fail(ok.error().message);
    for (const auto& i : figures->images)
        if (!i.exact) return fail(f.input + ": " + i.name + ": the round trip was not exact");
    return 0;
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
    if (auto ok = check_input(f.input, true); !ok) return fail(ok.error().message);
    std::error_code ec;
    if (f.input != "-" && fs::is_directory(f.input, ec)) return run_folder_report(f, options);
    if (f.jxl_effort_given) return fail("--jxl-effort applies to folder reports (the JPEG XL column); " + f.input + " is a file");
    if (!f.json.empty() && !f.svg.empty() && same_path(f.json, f.svg))
        return fail("--json and --svg name the same " + std::string(f.json == "-" ? "standard output" : "file"));
    for (const std::string* out : {&f.json, &f.svg})
        if (!out->empty())
            if (auto ok = check_output(f.input, *out, f.force, false); !ok) return fail(ok.error().message);
    std::ostream& table_out = f.json == "-" || f.svg == "-" ? std::cerr : std::cout;

    auto input = io::read_file(f.input == "-" ? std::string("/dev/stdin") : f.input);
    if (!input) return fail(f.input == "-" ? "standard input: " + input.error().message : input.error().message);
    // As compress does: only the models that can code the input's channels are read, when the
    // compressor finds images (none for an input that is not images).
    CandidateModels candidates(f.model, f.model_dirs, f.quiet);
    if (auto named = candidates.get(0); !named) return fail(named.error().message);
    auto figures = report::measure(*input, options, [&candidates](std::size_t channels) { return candidates.get(channels); });
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
    auto* r = app.add_subcommand("report", "compress and decompress a file in memory; print the rate against the model's -ELBO, zstd and xz; "
                                           "or, on a folder of images, per image and in aggregate against PNG, WebP and JPEG XL");
    r->footer("Reference codecs compiled in for folder reports: " + report::reference_codecs_line());
    r->add_option("input", f.input, "a file: IDX images, raw images with --shape, or anything else (then zstd/xz); - for standard input; "
                                    "or a folder of image files (PNG, PGM, PPM, IDX, gzip of one; recursive)")
        ->required();
    r->add_option("--model", f.model, "a model's name (see bbans models) or a model file (default: the best model found)");
    add_model_dir_option(*r, f.model_dirs);
    r->add_option("--shape", f.shape, "treat the input as raw images of this shape, e.g. 28x28");
    r->add_option("--json", f.json, "also write the figures as JSON to this file (- for standard output; the table then goes to standard error)");
    r->add_option("--svg", f.svg, "also draw the running rate against images coded to this SVG file (- for standard output)");
    r->add_option("--lanes", f.lanes, "rANS lanes")->capture_default_str()->check(CLI::Range(1, 255));
    r->add_option("-T,--threads", f.threads, "threads for compression and decompression (0 = all cores, the default)")
        ->check(CLI::Range(0, 1024));
    r->add_option("--jxl-effort", f.jxl_effort, "folders: the JPEG XL encoder's effort (cjxl -e)")
        ->capture_default_str()
        ->check(CLI::Range(1, 9))
        ->each([](const std::string&) { f.jxl_effort_given = true; });
    r->add_flag("-f,--force", f.force, "overwrite existing --json/--svg files");
    r->add_flag("-q,--quiet", f.quiet, "print nothing but errors (and what --json - or --svg - asks for)");
    r->callback([&state] { state.exit_code = run_report(f); });
}

}  // namespace bbans::cli
