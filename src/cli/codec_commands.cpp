// bbans compress / decompress / info: files, folders and the conventions of zstd and xz.
//   - the input is kept unless --rm; an existing output is never overwritten without -f
//   - outputs appear only when complete (a temporary file or folder renamed into place), with
//     the input's permission bits and modification time
//   - "-" means standard input or output; -c writes to standard output; compressed data is not
//     written to a terminal and standard input is not read from one
//   - every output path is checked before any work starts; every error is one line on stderr
//     prefixed "bbans: " and a non-zero exit
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "bbans/bbans.hpp"
#include "src/cli/catalog.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/file_streams.hpp"
#include "src/cli/paths.hpp"
#include "src/container/bbx.hpp"
#include "src/io/files.hpp"
#include "src/io/png.hpp"

namespace bbans::cli {
namespace {

namespace fs = std::filesystem;

struct CodecFlags {
    std::vector<std::string> inputs;
    std::string output;  // -o, or the second positional
    std::string model, method, shape;
    std::vector<std::string> model_dirs;
    bool multiple = false, to_stdout = false, force = false, keep = false, rm = false, verbose = false, quiet = false;
    bool test = false, list = false;
    unsigned threads = 0;
    std::size_t chunk = 0;
    std::optional<int> scale_offset;
};

// "\rcompress a.idx: 1234/10000 images" on a terminal while a long entry is coded.
Progress progress_line(const CodecFlags& f, const std::string& what) {
    if (f.quiet || !::isatty(STDERR_FILENO)) return {};
    return [what](std::size_t done, std::size_t total) {
        std::fprintf(stderr, "\r%s: %zu/%zu images\x1b[K", what.c_str(), done, total);
        if (done == total) std::fprintf(stderr, "\r\x1b[K");
    };
}

std::string rate(std::uint64_t bytes, std::uint64_t of) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", of ? 8.0 * static_cast<double>(bytes) / static_cast<double>(of) : 0.0);
    return buf;
}

// Strips trailing slashes: "imgs/" -> "imgs".
std::string without_trailing_slash(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

// The name an input file or folder gets in its archive: its base name.
std::string entry_name(const std::string& path) {
    fs::path p(without_trailing_slash(path));
    std::string name = p.filename().string();
    if (name.empty() || name == "." || name == "..") {
        std::error_code ec;
        name = fs::weakly_canonical(p, ec).filename().string();
    }
    return name.empty() ? std::string("root") : name;
}

EntryMeta meta_of(archive::Kind kind, const std::string& name, const struct stat& st) {
    EntryMeta m;
    m.kind = kind;
    m.name = name;
    m.has_metadata = true;
    m.mode = st.st_mode & 07777;
    m.mtime_sec = st.st_mtim.tv_sec;
    m.mtime_nsec = static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
    return m;
}

// ---- compress -----------------------------------------------------------------------------------

// A folder's contents in archive order: each directory before its contents, names sorted.
struct FolderItem {
    fs::path path;
    std::string name;
    bool directory = false;
    struct stat st{};
};

Status walk(const fs::path& dir, const std::string& name, std::vector<FolderItem>& items, std::vector<std::string>& skipped) {
    std::error_code ec;
    std::vector<fs::directory_entry> children;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) children.push_back(*it);
    if (ec) return make_error(dir.string() + ": cannot list: " + ec.message());
    std::sort(children.begin(), children.end(), [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
    for (const auto& c : children) {
        FolderItem item;
        item.path = c.path();
        item.name = name + "/" + c.path().filename().string();
        if (::lstat(item.path.c_str(), &item.st) != 0) return make_error(item.path.string() + ": cannot stat: " + std::strerror(errno));
        if (S_ISDIR(item.st.st_mode)) {
            item.directory = true;
            items.push_back(item);
            if (auto ok = walk(item.path, item.name, items, skipped); !ok) return ok;
        } else if (S_ISREG(item.st.st_mode)) {
            items.push_back(item);
        } else {
            skipped.push_back(item.path.string() + (S_ISLNK(item.st.st_mode) ? " (symbolic link)" : " (not a regular file)"));
        }
    }
    return Ok{};
}

void print_summary(const std::string& in, const CompressSummary& s, std::uint64_t out_bytes) {
    std::cerr << in << ": " << s.input_bytes << " -> " << out_bytes << " bytes (" << rate(out_bytes, s.input_bytes) << " bits/byte), "
              << archive::to_string(s.method);
    if (s.method == archive::Method::bits_back) {
        const double net = net_bits_per_dim(s);
        char line[256];
        std::snprintf(line, sizeof line, " with model %s: %zu images in %zu chunks, net %.4f bits/dim vs model -ELBO %.4f on a sample",
                      (s.model_name + planes_note(s.model_planes) + scale_offset_note(s.scale_offset)).c_str(), s.images, s.chunks, net,
                      s.sample_neg_elbo_bpd);
        std::cerr << line;
    } else if (!s.why_fallback.empty()) {
        std::cerr << ": " << s.why_fallback;
    }
    std::cerr << '\n';
}

Status compress_one(const CodecFlags& f, const CompressOptions& base, CandidateModels& models, const std::string& in, const std::string& out) {
    // A folder is listed before the output (and its temporary file) exists, so the archive never
    // holds itself; an existing output inside the folder (-f) is left out too.
    std::error_code ec;
    const bool folder = in != "-" && fs::is_directory(in, ec);
    std::vector<FolderItem> items;
    std::vector<std::string> skipped;
    struct stat dir_st{};
    if (folder) {
        if (base.raw_shape) return make_error(in + ": --shape applies to one file, not a folder");
        if (::stat(in.c_str(), &dir_st) != 0) return make_error(in + ": cannot stat: " + std::strerror(errno));
        if (auto ok = walk(without_trailing_slash(in), entry_name(in), items, skipped); !ok) return ok;
        struct stat out_st{};
        if (out != "-" && ::stat(out.c_str(), &out_st) == 0)
            std::erase_if(items, [&](const FolderItem& i) { return i.st.st_dev == out_st.st_dev && i.st.st_ino == out_st.st_ino; });
    }
    std::unique_ptr<archive::Output> sink;
    if (out == "-") sink = std::make_unique<StdoutOutput>();
    else {
        auto file = files::AtomicFile::create(out, f.force);
        if (!file) return file.error();
        sink = std::make_unique<AtomicOutput>(std::move(*file));
    }
    ArchiveWriter writer(*sink);
    // Model files are loaded when the first entry of images needs them (not for other files);
    // a model named with --model at once, so that a wrong name is the first error. The search
    // path is scanned now (a --model-dir that cannot be read is a warning even for a text file).
    if (auto named = models.get(0); !named) return named.error();
    const ArchiveWriter::ModelSource candidates = [&models](std::size_t channels) { return models.get(channels); };
    CompressOptions options = base;
    CompressSummary total;
    std::optional<struct stat> input_stat;
    if (folder) {
        input_stat = dir_st;
        for (const auto& s : skipped)
            if (!f.quiet) std::cerr << "bbans: warning: skipped " << s << '\n';
        if (auto ok = writer.add_directory(meta_of(archive::Kind::directory, entry_name(in), dir_st)); !ok) return ok;
        for (const FolderItem& item : items) {
            if (!archive::valid_name(item.name)) return make_error(item.path.string() + ": its path cannot be stored (longer than 4096 bytes)");
            if (item.directory) {
                if (auto ok = writer.add_directory(meta_of(archive::Kind::directory, item.name, item.st)); !ok) return ok;
                continue;
            }
            auto input = FileInput::open(item.path);
            if (!input) return input.error();
            options.progress = progress_line(f, "compress " + item.path.string());
            auto s = writer.add(meta_of(archive::Kind::file, item.name, item.st), **input, options, candidates);
            if (!s) return make_error(item.path.string() + ": " + s.error().message);
            if (f.verbose && !f.quiet) print_summary(item.path.string(), *s, s->output_bytes);
            total.input_bytes += s->input_bytes;
        }
        auto size = writer.finish();
        if (!size) return size.error();
        if (f.verbose && !f.quiet)
            std::cerr << in << ": folder of " << items.size() << " entries, " << total.input_bytes << " -> " << *size << " bytes ("
                      << rate(*size, total.input_bytes) << " bits/byte)\n";
    } else {
        auto opened = open_input(in);
        if (!opened) return opened.error();
        const std::unique_ptr<archive::Input> input = std::move(*opened);
        // Standard input: raw images (--shape) are an unnamed image set, the entry the library's
        // image API writes (so `bbans compress --shape HxW -c -` and Python's bbans.compress of the
        // same array are the same bytes); any other content is a file named "stdin".
        EntryMeta meta;
        meta.name = "stdin";
        if (options.raw_shape && input->size() > 0) meta.kind = archive::Kind::image_set, meta.name.clear();
        if (const auto* file = dynamic_cast<const FileInput*>(input.get())) {
            input_stat = file->stat();
            meta = meta_of(archive::Kind::file, entry_name(in), *input_stat);
        }
        options.progress = progress_line(f, "compress " + display_input(in));
        options.require_model = !f.model.empty();  // --model on one file: it must code it
        auto s = writer.add(meta, *input, options, candidates);
        if (!s) return make_error(display_input(in) + ": " + s.error().message);
        auto size = writer.finish();
        if (!size) return size.error();
        if (f.verbose && !f.quiet) print_summary(display_input(in), *s, *size);
    }
    if (auto* file = dynamic_cast<AtomicOutput*>(sink.get())) {
        // The archive of a folder takes the folder's read and write bits, not its search bits.
        const ::mode_t mode = !input_stat ? 0 : S_ISDIR(input_stat->st_mode) ? input_stat->st_mode & 0666 : input_stat->st_mode;
        const ::timespec mtime = input_stat ? input_stat->st_mtim : ::timespec{};
        if (auto ok = file->file().commit(input_stat ? &mode : nullptr, input_stat ? &mtime : nullptr); !ok) return ok;
    }
    return Ok{};
}

// INPUT.bbx; for a folder given as "." or "..", NAME.bbx beside it (its real name), so that
// the archive is not written inside the folder it archives.
std::string default_archive_name(const std::string& input) {
    const std::string p = without_trailing_slash(input);
    const std::string base = fs::path(p).filename().string();
    if (base != "." && base != "..") return p + ".bbx";
    std::error_code ec;
    const fs::path real = fs::weakly_canonical(fs::path(p), ec);
    if (ec || real.parent_path() == real) return p + "/" + entry_name(input) + ".bbx";
    return (real.parent_path() / (entry_name(input) + ".bbx")).string();
}

// Turns the flags into (input, output) jobs, or a usage error.
struct Job {
    std::string input, output;
};

Expected<std::vector<Job>> plan(const CodecFlags& f, bool compressing) {
    const char* cmd = compressing ? "compress" : "decompress";
    std::vector<Job> jobs;
    if (f.inputs.empty()) return make_error(std::string(cmd) + ": no input (see 'bbans " + cmd + " --help')");
    if (f.multiple) {
        if (!f.output.empty()) return make_error(std::string(cmd) + ": -o names one output; with -m each input gets its own");
        if (f.to_stdout && f.inputs.size() > 1) return make_error(std::string(cmd) + ": -c writes one output; use it with one input");
        for (const auto& in : f.inputs) jobs.push_back({in, ""});
    } else {
        if (f.inputs.size() > 2)
            return make_error(std::string(cmd) + " takes one input and an optional output; to " + cmd +
                              " several files use -m (each to its own " + (compressing ? "INPUT.bbx" : "output") + ")" +
                              (compressing ? ", or name a folder" : ""));
        std::string out = f.output;
        if (f.inputs.size() == 2) {
            if (!out.empty()) return make_error(std::string(cmd) + ": the output is named twice (second argument and -o)");
            out = f.inputs[1];
        }
        jobs.push_back({f.inputs[0], out});
    }
    for (Job& j : jobs) {
        if (f.to_stdout) {
            if (!j.output.empty() && j.output != "-") return make_error(std::string(cmd) + ": -c and an output file both given");
            j.output = "-";
        } else if (j.output.empty()) {
            if (j.input == "-") j.output = "-";
            else if (compressing) j.output = default_archive_name(j.input);
            else if (j.input.size() > 4 && j.input.ends_with(".bbx")) j.output = j.input.substr(0, j.input.size() - 4);
            else if (!f.test && !f.list) return make_error(j.input + ": unknown suffix (expected .bbx); name the output with -o");
        }
    }
    return jobs;
}

Expected<CompressOptions> compress_options(const CodecFlags& f) {
    CompressOptions o;
    if (!f.shape.empty()) {
        o.raw_shape = parse_shape(f.shape);
        if (!o.raw_shape) return make_error("--shape must look like 28x28 (rows x cols, each 1..65535), got '" + f.shape + "'");
    }
    if (!f.method.empty()) {
        o.method = archive::method_from_string(f.method);
        if (!o.method) return make_error("--method must be one of stored, zstd, xz, bits-back; got '" + f.method + "'");
    }
    o.threads = thread_count(f.threads);
    o.chunk_images = f.chunk;
    o.scale_offset = f.scale_offset;
    return o;
}

int run_compress(const CodecFlags& f) {
    auto options = compress_options(f);
    if (!options) return fail(options.error().message);
    auto jobs = plan(f, true);
    if (!jobs) return fail(jobs.error().message);
    for (const Job& j : *jobs) {
        if (auto ok = check_input(j.input, true); !ok) return fail(ok.error().message);
        if (auto ok = check_output(j.input, j.output, f.force, true); !ok) return fail(ok.error().message);
        std::error_code ec;
        if (f.rm && j.input != "-" && fs::is_directory(j.input, ec)) return fail(j.input + ": --rm does not remove folders");
    }
    CandidateModels models(f.model, f.model_dirs, f.quiet);
    int rc = 0;
    for (const Job& j : *jobs) {
        if (auto ok = compress_one(f, *options, models, j.input, j.output); !ok) {
            rc = fail(ok.error().message);
            continue;
        }
        if (f.rm && j.input != "-" && j.output != "-" && ::unlink(j.input.c_str()) != 0)
            rc = fail(j.input + ": cannot remove: " + std::strerror(errno));
    }
    return rc;
}

// ---- decompress ---------------------------------------------------------------------------------

struct Resolver {
    const CodecFlags& flags;
    std::optional<Catalog> catalog;
    // The model name the archive records: loaded first (the others only if its identity is not
    // the one needed), so that decompression does not load every model on the search path.
    std::string hint;
    std::size_t warned = 0;  // catalog warnings printed so far
    ModelResolver get() {
        return [this](const archive::ModelId& id) -> Expected<const coding::CodingModel*> {
            if (!catalog) {
                const ModelSearch search = ModelSearch::standard(flags.model_dirs);
                if (flags.model.empty() && !hint.empty()) {
                    // Only a model of that name on the search path (never a file the archive's
                    // text would name in the working directory).
                    std::vector<std::string> ignored;
                    const auto found = Catalog::scan(search, ignored);
                    if (std::any_of(found.begin(), found.end(), [&](const FoundModel& m) { return m.name == hint; }))
                        if (auto c = Catalog::open(hint, search)) catalog = std::move(*c);
                }
                if (!catalog) {  // no hint, or not on the search path under that name: any of them
                    auto c = Catalog::open(flags.model, search, Load::on_demand);
                    if (!c) return c.error();
                    catalog = std::move(*c);
                }
            }
            auto m = catalog->resolve(id);
            warn_new(*catalog, warned, flags.quiet);  // (those of opening the catalog too: an unreadable --model-dir)
            return m;
        };
    }
};

// How an archive's entries map to what decompress writes: one file, or one folder.
struct Plan {
    bool single_file = false;
    std::size_t file_entry = 0;
    std::string root;  // a folder archive's root directory entry, mapped to the output ("" if several roots)
};

Expected<Plan> layout_of(const std::vector<archive::Entry>& entries) {
    Plan p;
    if (entries.empty()) return make_error("the archive is empty");
    if (entries.size() == 1 && entries[0].kind != archive::Kind::directory) {
        p.single_file = true;
        return p;
    }
    for (const auto& e : entries)
        if (e.name.empty()) return make_error("the archive holds an unnamed image set among other entries (use the library to read it)");
    if (entries[0].kind == archive::Kind::directory) {
        const std::string& root = entries[0].name;
        if (std::all_of(entries.begin() + 1, entries.end(), [&](const auto& e) { return e.name.starts_with(root + "/"); })) p.root = root;
    }
    return p;
}

void set_metadata_path(const fs::path& path, const archive::Entry& e) {
    if (!e.has_metadata) return;
    ::chmod(path.c_str(), e.mode & 0777);  // no set-user-ID, set-group-ID or sticky bits
    const ::timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(e.mtime_sec), static_cast<long>(e.mtime_nsec)}};
    ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// Writes a folder archive into a new temporary folder next to `out`, then renames it to `out`.
Status extract_folder(const ArchiveReader& reader, const Plan& p, const std::string& out, const ModelResolver& resolve, const CodecFlags& f) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(out, ec)))
        return make_error(out + ": already exists (a folder is never decompressed into an existing path; remove it or use -o)");
    const fs::path target(out);
    const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    if (!fs::is_directory(parent, ec)) return make_error(out + ": directory " + parent.string() + " does not exist");
    const std::string base = target.filename().string();
    const fs::path temp = parent / ("." + (base.size() <= 200 ? base : std::string("bbans")) + ".tmp-" + std::to_string(::getpid()));
    if (::mkdir(temp.c_str(), 0700) != 0) return make_error(temp.string() + ": cannot create: " + std::strerror(errno));
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            if (dir.empty()) return;
            std::error_code e;
            fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, e);
            for (auto it = fs::recursive_directory_iterator(dir, e); !e && it != fs::recursive_directory_iterator(); it.increment(e))
                if (it->is_directory(e)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, e);
            fs::remove_all(dir, e);
        }
    } cleanup{temp};
    const auto& entries = reader.entries();
    std::vector<std::pair<fs::path, const archive::Entry*>> directories;  // metadata applied last, deepest first
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const archive::Entry& e = entries[i];
        fs::path path;
        if (!p.root.empty()) path = e.name == p.root ? temp : temp / e.name.substr(p.root.size() + 1);
        else path = temp / e.name;
        if (e.kind == archive::Kind::directory) {
            if (path != temp) fs::create_directories(path.parent_path(), ec);
            if (path != temp && ::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
                return make_error(out + ": cannot create folder " + e.name + ": " + std::strerror(errno));
            directories.emplace_back(path, &e);
            continue;
        }
        fs::create_directories(path.parent_path(), ec);
        auto file = files::AtomicFile::create(path, false);
        if (!file) return file.error();
        AtomicOutput sink(std::move(*file));
        if (auto ok = reader.extract(i, sink, resolve, thread_count(f.threads), progress_line(f, "decompress " + archive::printable(e.name))); !ok) return ok;
        if (auto ok = sink.commit(e); !ok) return ok;
    }
    for (auto it = directories.rbegin(); it != directories.rend(); ++it) set_metadata_path(it->first, *it->second);
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0)
        return make_error(out + ": cannot create: " + std::strerror(errno));
    cleanup.dir.clear();
    return Ok{};
}

std::uint64_t stored_bytes(const archive::Entry& e) {
    std::uint64_t n = 0;
    for (const auto& c : e.chunks) n += c.stored_size;
    return n;
}

std::string hex64(std::uint64_t v) {
    char b[20];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

// What decompressing an entry gives back, when it is not simply the original bytes.
std::string rebuild_note(const archive::Entry& e) {
    if (e.layout == archive::Layout::png)
        return "pixel-exact PNG: same pixels, colour type, bit depth, interlace, palette and ancillary chunks; the compressed "
               "image data (IDAT) re-encoded, so the bytes may differ";
    return "";
}

std::string channels_text(std::uint32_t channels) {
    switch (channels) {
        case 1: return "grey";
        case 2: return "grey+alpha";
        case 3: return "RGB";
        case 4: return "RGBA";
        default: return std::to_string(channels) + " channels";
    }
}

void list_entries(const std::string& name, const ArchiveReader& reader, std::uint64_t file_size) {
    std::printf("%s: .bbx format version 2, %zu entries, %llu bytes\n", name.c_str(), reader.entries().size(),
                static_cast<unsigned long long>(file_size));
    std::printf("%-9s  %-9s  %12s  %12s  %9s  %6s  %s\n", "kind", "method", "original", "stored", "bits/byte", "chunks", "name");
    std::uint64_t total_in = 0, total_out = 0;
    for (const auto& e : reader.entries()) {
        const std::uint64_t stored = stored_bytes(e);
        total_in += e.original_size, total_out += stored;
        std::printf("%-9s  %-9s  %12llu  %12llu  %9s  %6zu  %s\n", archive::to_string(e.kind), archive::to_string(e.method),
                    static_cast<unsigned long long>(e.original_size), static_cast<unsigned long long>(stored),
                    rate(stored, e.original_size).c_str(), e.chunks.size(), e.name.empty() ? "(image set)" : archive::printable(e.name).c_str());
        if (e.layout == archive::Layout::png) std::printf("%-9s  (PNG samples: rebuilt pixel-exact, not byte-exact)\n", "");
    }
    std::printf("%-9s  %-9s  %12llu  %12llu  %9s\n", "total", "", static_cast<unsigned long long>(total_in),
                static_cast<unsigned long long>(total_out), rate(file_size, total_in).c_str());
}

Status decompress_one(const CodecFlags& f, Resolver& resolver, const std::string& in, const std::string& out) {
    auto opened = open_input(in);
    if (!opened) return opened.error();
    const std::unique_ptr<archive::Input> input = std::move(*opened);
    auto head = archive::read_range(*input, 0, std::min<std::uint64_t>(input->size(), 5));
    if (!head) return head.error();
    const auto version = archive::peek_version(*head);
    if (version == 1) {  // one message, at most 4 GiB: read whole
        auto all = archive::read_range(*input, 0, input->size());
        if (!all) return all.error();
        if (f.list) return make_error("listing is for version 2 archives; use 'bbans info' for this version 1 file");
        auto bytes = decompress(*all, resolver.get(), progress_line(f, "decompress " + display_input(in)));
        if (!bytes) return bytes.error();
        if (f.test) return Ok{};
        if (out == "-") return StdoutOutput().write(*bytes);
        return io::write_file_atomic(out, *bytes, f.force);
    }
    auto reader = ArchiveReader::open(*input);
    if (!reader) return reader.error();
    if (f.list) {
        list_entries(display_input(in), *reader, input->size());
        return Ok{};
    }
    const unsigned threads = thread_count(f.threads);
    for (const auto& e : reader->entries())
        if (e.model && resolver.hint.empty() && archive::valid_name(e.model->name) && e.model->name.find('/') == std::string::npos)
            resolver.hint = e.model->name;
    const ModelResolver resolve = resolver.get();
    if (f.test) {
        for (std::size_t i = 0; i < reader->entries().size(); ++i) {
            NullOutput sink;
            if (auto ok = reader->extract(i, sink, resolve, threads); !ok) return ok;
        }
        if (f.verbose && !f.quiet) std::cerr << display_input(in) << ": OK (" << reader->entries().size() << " entries verified)\n";
        return Ok{};
    }
    auto p = layout_of(reader->entries());
    if (!p) return p.error();
    if (!p->single_file) {
        if (out == "-") return make_error("the archive holds a folder, which cannot go to standard output");
        return extract_folder(*reader, *p, out, resolve, f);
    }
    const archive::Entry& e = reader->entries()[p->file_entry];
    const Progress progress = progress_line(f, "decompress " + display_input(in));
    if (out == "-") {
        StdoutOutput sink;
        return reader->extract(p->file_entry, sink, resolve, threads, progress);
    }
    auto file = files::AtomicFile::create(out, f.force);
    if (!file) return file.error();
    AtomicOutput sink(std::move(*file));
    if (auto ok = reader->extract(p->file_entry, sink, resolve, threads, progress); !ok) return ok;
    if (auto ok = sink.commit(e); !ok) return ok;
    if (f.verbose && !f.quiet) std::cerr << in << ": " << input->size() << " -> " << e.original_size << " bytes\n";
    return Ok{};
}

int run_decompress(const CodecFlags& f) {
    auto jobs = plan(f, false);
    if (!jobs) return fail(jobs.error().message);
    for (const Job& j : *jobs) {
        if (auto ok = check_input(j.input, false); !ok) return fail(ok.error().message);
        if (!f.test && !f.list)
            if (auto ok = check_output(j.input, j.output, f.force, false); !ok) return fail(ok.error().message);
    }
    Resolver resolver{f, {}, {}};
    int rc = 0;
    for (const Job& j : *jobs) {
        if (auto ok = decompress_one(f, resolver, j.input, j.output); !ok) {
            rc = fail(display_input(j.input) + ": " + ok.error().message);
            continue;
        }
        if (f.rm && !f.test && !f.list && j.input != "-" && ::unlink(j.input.c_str()) != 0)
            rc = fail(j.input + ": cannot remove: " + std::strerror(errno));
    }
    return rc;
}

// ---- info ---------------------------------------------------------------------------------------

std::string shipped_name(const archive::ModelId& id) {
    if (auto catalog = Catalog::open(""))
        for (const NamedModel& m : catalog->models())
            if (m.model->identity() == id) return "shipped model " + m.name;
    return "not a shipped model: decompress needs --model with its file";
}

int run_info_v1(const std::string& path, std::span<const std::uint8_t> file) {
    auto info = container::inspect(file);
    if (!info) return fail(path + ": " + info.error().message);
    const auto& h = info->header;
    std::cout << "file:              " << path << '\n'
              << "format version:    1\n"
              << "method:            " << container::to_string(h.method) << '\n'
              << "original size:     " << h.original_size << " bytes\n"
              << "compressed size:   " << info->file_size << " bytes\n"
              << "ratio:             " << rate(info->file_size, h.original_size) << " bits per original byte\n"
              << "content checksum:  XXH64 " << hex64(h.checksum) << '\n';
    if (info->has_bits_back) {
        const auto& p = info->bits_back;
        const std::uint64_t dims = p.count * p.rows * p.cols;
        std::cout << "model:             " << archive::to_hex(p.model) << " (" << shipped_name(p.model) << ")\n"
                  << "input layout:      " << (p.layout == container::Layout::idx ? "IDX" : "raw") << ", " << p.count << " images of "
                  << p.rows << "x" << p.cols << '\n'
                  << "message:           " << info->message_size << " bytes, " << int{p.lanes} << " lanes\n"
                  << "rate:              " << rate(info->file_size, dims) << " bits/dim (whole file)\n";
    }
    return 0;
}

int run_info(const std::string& path) {
    auto input = FileInput::open(path);
    if (!input) return fail(input.error().message);
    auto head = archive::read_range(**input, 0, std::min<std::uint64_t>((*input)->size(), 5));
    if (!head) return fail(head.error().message);
    if (archive::peek_version(*head) == 1) {
        auto all = io::read_file(path);
        if (!all) return fail(all.error().message);
        return run_info_v1(path, *all);
    }
    auto reader = ArchiveReader::open(**input);
    if (!reader) return fail(path + ": " + reader.error().message);
    std::cout << "file:              " << path << '\n'
              << "format version:    2\n"
              << "compressed size:   " << (*input)->size() << " bytes\n"
              << "entries:           " << reader->entries().size() << '\n';
    for (const auto& e : reader->entries()) {
        const std::uint64_t stored = stored_bytes(e);
        std::cout << "\nentry:             " << (e.name.empty() ? std::string("(unnamed image set)") : archive::printable(e.name)) << " ("
                  << archive::to_string(e.kind) << ")\n";
        if (e.kind == archive::Kind::directory) continue;
        std::cout << "method:            " << archive::to_string(e.method) << '\n'
                  << "original size:     " << e.original_size << " bytes\n"
                  << "stored size:       " << stored << " bytes in " << e.chunks.size() << " chunks\n"
                  << "ratio:             " << rate(stored, e.original_size) << " bits per original byte\n"
                  << "content checksum:  XXH64 " << hex64(e.checksum) << '\n';
        if (e.images) {
            const auto& l = *e.images;
            std::cout << "input layout:      " << archive::to_string(e.layout) << ", " << l.count << " images of " << l.rows << "x" << l.cols
                      << " " << channels_text(l.channels) << ", 8-bit samples\n";
            if (e.layout == archive::Layout::png)
                if (auto a = io::parse_png_attributes(l.attributes)) {
                    std::string chunks;
                    for (const auto& c : a->chunks) chunks += " " + c.type_name();
                    std::cout << "PNG:               colour type " << int{a->color_type} << ", " << int{a->bit_depth} << "-bit"
                              << (a->interlace ? ", interlaced" : "") << (a->palette.empty() ? "" : ", palette of " + std::to_string(a->palette.size() / 3))
                              << ", ancillary chunks:" << (chunks.empty() ? std::string(" none") : chunks) << '\n';
                    std::cout << "PNG attributes:    " << l.attributes.size() << " bytes";
                    if (!l.packed_attributes.empty())
                        std::cout << ", packed by " << archive::to_string(static_cast<archive::Method>(l.packed_attributes[1])) << " to "
                                  << l.packed_attributes.size();
                    std::cout << '\n';
                }
            if (const std::string note = rebuild_note(e); !note.empty()) std::cout << "decompresses to:   " << note << '\n';
        }
        if (e.model) {
            std::cout << "model:             " << (e.model->name.empty() ? std::string("(unnamed)") : archive::printable(e.model->name)) << ", identity "
                      << archive::to_hex(e.model->identity) << " (" << shipped_name(e.model->identity) << ")"
                      << planes_note(e.model->planes) << scale_offset_note(e.model->scale_offset) << "\n"
                      << "rate:              " << rate(stored, e.images->count * e.images->image_bytes()) << " bits/dim (chunk data), "
                      << int{e.model->lanes} << " lanes\n";
        }
    }
    return 0;
}

void add_shared(CLI::App& cmd, CodecFlags& f) {
    cmd.add_option("-o,--output", f.output, "output file (or folder, for a folder archive); - for standard output");
    cmd.add_flag("-m,--multiple", f.multiple, "several inputs, each to its own output");
    cmd.add_flag("-c,--stdout", f.to_stdout, "write to standard output");
    cmd.add_flag("-f,--force", f.force, "overwrite an existing output file");
    cmd.add_flag("-k,--keep", f.keep, "keep the input (the default; accepted for zstd/xz habits)");
    cmd.add_flag("--rm", f.rm, "remove the input after success");
    cmd.add_flag("-v,--verbose", f.verbose, "print a one-line summary on stderr");
    cmd.add_flag("-q,--quiet", f.quiet, "print nothing but errors");
    cmd.add_option("-T,--threads", f.threads, "threads (0 = all cores, the default); the output is the same for any count")
        ->check(CLI::Range(0, 1024));
    cmd.add_option("--model", f.model, "a model's name (e.g. mnist, fashion-mnist; see 'bbans models') or a model file");
    add_model_dir_option(cmd, f.model_dirs);
}

}  // namespace

void add_codec_commands(CLI::App& app, RunState& state) {
    static CodecFlags cf, df;
    static std::string info_path;
    auto* c = app.add_subcommand("compress", "compress files or a folder into .bbx archives (images by bits-back coding, anything else "
                                             "with the smallest of zstd, xz, stored)");
    c->add_option("input", cf.inputs, "a file, a folder, or - for standard input; then, optionally, the output file")->required();
    add_shared(*c, cf);
    c->add_option("--shape", cf.shape, "treat the input as raw concatenated images of this shape, e.g. 28x28");
    c->add_option("--method", cf.method, "force a method: stored, zstd, xz or bits-back");
    c->add_option("--chunk", cf.chunk, "images per bits-back chunk (default: about 2^20 pixels' worth)")->check(CLI::Range(1, 1 << 30));
    c->add_option("--scale-offset", cf.scale_offset,
                  "bits-back: add N/64 nat to every logistic log-scale, -127..127 (default: chosen per input on a sample; 0 turns it off)")
        ->check(CLI::Range(-127, 127));
    c->callback([&state] { state.exit_code = run_compress(cf); });

    auto* d = app.add_subcommand("decompress", "restore the original files from .bbx archives");
    d->add_option("input", df.inputs, "a .bbx file, or - for standard input; then, optionally, the output")->required();
    add_shared(*d, df);
    d->add_flag("-t,--test", df.test, "verify the archive (decode everything, check every checksum) without writing");
    d->add_flag("-l,--list", df.list, "list the archive's entries");
    d->callback([&state] { state.exit_code = run_decompress(df); });

    auto* i = app.add_subcommand("info", "describe a .bbx file: format version, entries, methods, models, layouts, sizes, rates");
    i->add_option("file", info_path, "a .bbx file")->required();
    i->callback([&state] { state.exit_code = run_info(info_path); });
}

}  // namespace bbans::cli
