// bbans compress / decompress / info: file handling, conventions of zstd and xz.
//   - the input is never deleted (-k is the default and only behaviour)
//   - an existing output is never overwritten without -f, and is written atomically
//   - "-" means standard input or output; compressed data is not written to a terminal
//   - every error is one line on stderr and a non-zero exit
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/compressor/compressor.hpp"
#include "src/io/files.hpp"

namespace bbans::cli {
namespace {

namespace fs = std::filesystem;

struct CommonFlags {
    std::string input;
    std::string output;
    std::string model;
    bool force = false;
    bool keep = true;
    bool verbose = false;
    bool quiet = false;
};

void add_common(CLI::App& cmd, CommonFlags& f, const char* input_help, const char* output_help) {
    cmd.add_option("input", f.input, input_help)->required();
    cmd.add_option("output", f.output, output_help);
    cmd.add_flag("-f,--force", f.force, "overwrite an existing output file");
    cmd.add_flag("-k,--keep", f.keep, "keep the input file (always the case; accepted for zstd/xz habits)");
    cmd.add_flag("-v,--verbose", f.verbose, "print a one-line summary on stderr");
    cmd.add_flag("-q,--quiet", f.quiet, "print nothing but errors");
    cmd.add_option("-m,--model", f.model, "a shipped model's name (e.g. mnist, fashion-mnist) or a model file");
}

// A progress line on a terminal for long jobs: "compress: 1234/10000 images".
Progress progress_line(const CommonFlags& f, const char* what) {
    if (f.quiet || !::isatty(STDERR_FILENO)) return {};
    return [what](std::size_t done, std::size_t total) {
        std::fprintf(stderr, "\r%s: %zu/%zu images\x1b[K", what, done, total);
        if (done == total) std::fprintf(stderr, "\r\x1b[K");
    };
}

Expected<std::vector<std::uint8_t>> read_input(const std::string& path) {
    if (path == "-") return io::read_file("/dev/stdin");
    return io::read_file(path);
}

// Writes the result to a file (atomically, respecting -f) or to standard output.
Status write_output(const std::string& path, std::span<const std::uint8_t> bytes, bool force) {
    if (path != "-") return io::write_file_atomic(path, bytes, force);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(std::string("standard output: write error: ") + std::strerror(errno));
        done += static_cast<std::size_t>(n);
    }
    return Ok{};
}

// Checks that can fail before any work is done: same file in and out, an existing output.
Status check_paths(const std::string& in, const std::string& out, bool force, bool binary_output) {
    if (out == "-") {
        if (binary_output && ::isatty(STDOUT_FILENO))
            return make_error("refusing to write compressed data to a terminal (redirect it or name an output file)");
        return Ok{};
    }
    std::error_code ec;
    if (in != "-" && fs::exists(out, ec) && fs::equivalent(in, out, ec))
        return make_error(out + ": output is the input file");
    if (!force && fs::exists(fs::symlink_status(out, ec))) return make_error(out + ": already exists (use -f to overwrite)");
    if (fs::is_directory(out, ec)) return make_error(out + ": is a directory");
    return Ok{};
}

std::string bits_per_dim(std::uint64_t bytes, std::uint64_t dims) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", dims ? 8.0 * static_cast<double>(bytes) / static_cast<double>(dims) : 0.0);
    return buf;
}

int run_compress(const CommonFlags& f, const std::string& shape_text) {
    CompressOptions options;
    if (!shape_text.empty()) {
        options.raw_shape = parse_shape(shape_text);
        if (!options.raw_shape) return fail("--shape must look like 28x28, got '" + shape_text + "'");
    }
    const std::string out = !f.output.empty() ? f.output : f.input == "-" ? "-" : f.input + ".bbx";
    if (auto ok = check_paths(f.input, out, f.force, true); !ok) return fail(ok.error().message);
    auto input = read_input(f.input);
    if (!input) return fail(input.error().message);
    auto catalog = Catalog::open(f.model);
    if (!catalog) return fail(catalog.error().message);
    options.progress = progress_line(f, "compress");
    auto result = compress(*input, options, catalog->models());
    if (!result) return fail((f.input == "-" ? std::string("standard input") : f.input) + ": " + result.error().message);
    if (auto ok = write_output(out, result->file, f.force); !ok) return fail(ok.error().message);
    if (f.verbose && !f.quiet) {
        const CompressSummary& s = result->summary;
        std::cerr << (f.input == "-" ? "stdin" : f.input) << ": " << s.input_bytes << " -> " << s.output_bytes << " bytes ("
                  << bits_per_dim(s.output_bytes, s.input_bytes) << " bits/dim), " << container::to_string(s.method);
        if (s.method == container::Method::bits_back) {
            const std::uint64_t dims = s.images * s.pixels_per_image;
            const auto& b = s.stats.bits_after;
            const double net = b.size() > 1 ? static_cast<double>(b.back() - b.front()) / static_cast<double>(dims - s.pixels_per_image) : 0.0;
            char line[256];
            std::snprintf(line, sizeof line, " with model %s: %zu images, net %.4f bits/dim vs model -ELBO %.4f on a sample", s.model_name.c_str(),
                          s.images, net, s.sample_neg_elbo_bpd);
            std::cerr << line;
        } else if (!s.why_fallback.empty()) {
            std::cerr << ": " << s.why_fallback;
        }
        std::cerr << '\n';
    }
    return 0;
}

int run_decompress(const CommonFlags& f) {
    std::string out = f.output;
    if (out.empty()) {
        if (f.input == "-") out = "-";
        else if (f.input.size() > 4 && f.input.ends_with(".bbx")) out = f.input.substr(0, f.input.size() - 4);
        else return fail(f.input + ": unknown suffix (expected .bbx); name the output file");
    }
    if (auto ok = check_paths(f.input, out, f.force, false); !ok) return fail(ok.error().message);
    auto file = read_input(f.input);
    if (!file) return fail(file.error().message);
    std::optional<Catalog> catalog;
    ModelResolver resolve = [&](const container::ModelId& id) -> Expected<const coding::CodingModel*> {
        if (!catalog) {
            auto c = Catalog::open(f.model);
            if (!c) return c.error();
            catalog = std::move(*c);
        }
        return catalog->resolve(id);
    };
    auto bytes = decompress(*file, resolve, progress_line(f, "decompress"));
    if (!bytes) return fail((f.input == "-" ? std::string("standard input") : f.input) + ": " + bytes.error().message);
    if (auto ok = write_output(out, *bytes, f.force); !ok) return fail(ok.error().message);
    if (f.verbose && !f.quiet) std::cerr << f.input << ": " << file->size() << " -> " << bytes->size() << " bytes\n";
    return 0;
}

int run_info(const std::string& path) {
    auto file = read_input(path);
    if (!file) return fail(file.error().message);
    auto info = container::inspect(*file);
    if (!info) return fail(path + ": " + info.error().message);
    const auto& h = info->header;
    std::cout << "file:              " << path << '\n'
              << "format version:    " << int{container::kVersion} << '\n'
              << "method:            " << container::to_string(h.method) << '\n'
              << "original size:     " << h.original_size << " bytes\n"
              << "compressed size:   " << info->file_size << " bytes\n"
              << "ratio:             " << bits_per_dim(info->file_size, h.original_size) << " bits per original byte\n";
    char sum[32];
    std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(h.checksum));
    std::cout << "content checksum:  XXH64 " << sum << '\n';
    if (info->has_bits_back) {
        const auto& p = info->bits_back;
        const std::uint64_t dims = p.count * p.rows * p.cols;
        // Name the model if it is a shipped one: the file decodes here without --model.
        std::string where = "not a shipped model: decompress needs --model with its file";
        if (auto catalog = Catalog::open(""))
            for (const NamedModel& m : catalog->models())
                if (m.model->identity() == p.model) where = "shipped model " + m.name;
        std::cout << "model:             " << container::to_hex(p.model) << " (" << where << ")\n"
                  << "input layout:      " << (p.layout == container::Layout::idx ? "IDX" : "raw") << ", " << p.count << " images of "
                  << p.rows << "x" << p.cols << '\n'
                  << "message:           " << info->message_size << " bytes, " << int{p.lanes} << " lanes\n"
                  << "rate:              " << bits_per_dim(info->file_size, dims) << " bits/dim (whole file)\n";
    }
    return 0;
}

}  // namespace

void add_codec_commands(CLI::App& app, RunState& state) {
    static CommonFlags cf, df;
    static std::string shape;
    auto* c = app.add_subcommand("compress", "compress a file (IDX or raw images by bits-back coding; anything else with zstd)");
    add_common(*c, cf, "input file, or - for standard input", "output file (default: INPUT.bbx; - for standard output)");
    c->add_option("--shape", shape, "treat the input as raw concatenated images of this shape, e.g. 28x28");
    c->callback([&state] { state.exit_code = run_compress(cf, shape); });

    auto* d = app.add_subcommand("decompress", "restore the original file from a .bbx file");
    add_common(*d, df, "a .bbx file, or - for standard input", "output file (default: INPUT without .bbx; - for standard output)");
    d->callback([&state] { state.exit_code = run_decompress(df); });

    static std::string info_path;
    auto* i = app.add_subcommand("info", "describe a .bbx file: format version, method, model, layout, sizes, rate");
    i->add_option("file", info_path, "a .bbx file")->required();
    i->callback([&state] { state.exit_code = run_info(info_path); });
}

}  // namespace bbans::cli
