#include "src/report/folder.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "bbans/version.hpp"
#include "src/io/files.hpp"
#include "src/io/png.hpp"
#include "src/report/text.hpp"

namespace bbans::report {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

template <typename... Args>
std::string format(const char* fmt, Args... args) {
    char b[512];
    std::snprintf(b, sizeof b, fmt, args...);
    return b;
}

double rate(double bits, std::uint64_t samples) { return samples ? bits / static_cast<double>(samples) : 0.0; }

// The file's format by content, looking inside gzip; unknown if it is none bbans reads.
std::string format_label(std::span<const std::uint8_t> bytes) {
    const io::Format f = io::detect_format(bytes);
    if (f != io::Format::gzip) return f == io::Format::unknown ? std::string() : io::format_name(f);
    auto inflated = io::gunzip(bytes, io::kMaxInputBytes);
    if (!inflated) return std::string();
    const io::Format inner = io::detect_format(*inflated);
    if (inner == io::Format::unknown || inner == io::Format::gzip) return std::string();
    return std::string("gzip of ") + io::format_name(inner);
}

// The name an entry gets: the file's base name when the archive accepts it.
std::string entry_name(const std::string& name) {
    const std::string base = fs::path(name).filename().string();
    return archive::valid_name(base) ? base : std::string("image");
}

// The same pixels: equal bytes, or (a rebuilt PNG) both parse to the same images.
bool same_pixels(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    if (std::equal(a.begin(), a.end(), b.begin(), b.end())) return true;
    auto x = io::parse_images(a), y = io::parse_images(b);
    return x && y && x->shape() == y->shape() && x->count == y->count && x->pixels == y->pixels;
}

// ---- JSON ---------------------------------------------------------------------------------------

// Members of an object as rendered JSON values; written one per line at an indentation.
// One file's (or the aggregate's) figures; `indent` is where the object starts.
std::string figures_json(const ImageFigures& f, const std::vector<CodecInfo>& codecs, bool aggregate, int indent) {
    JsonObject o;
    if (!aggregate) o.text("name", f.name).text("format", f.format);
    o.integer("file_bytes", f.file_bytes).integer("images", f.images);
    if (!aggregate) o.integer("rows", f.rows).integer("cols", f.cols).integer("channels", f.channels);
    o.integer("samples", f.samples);
    if (!aggregate)
        o.text("method", f.method)
            .text_or_null("why_not_bits_back", f.why_not_bits_back)
            .text_or_null("model_name", f.model_name)
            .text_or_null("model_identity", f.model_identity)
            .integer("model_planes", f.model_planes)
            .signed_integer("scale_offset", f.scale_offset);
    o.integer("bbans_bits", f.bbans_bits)
        .number("bbans_bpsp", rate(static_cast<double>(f.bbans_bits), f.samples), 6)
        .integer("bbx_bits", f.bbx_bits)
        .number("bbx_bpsp", rate(static_cast<double>(f.bbx_bits), f.samples), 6);
    if (f.has_net) o.integer("net_bits", f.net_bits).integer("net_samples", f.net_samples);
    else o.raw("net_bits", "null").raw("net_samples", "null");
    o.number("net_bpsp", rate(static_cast<double>(f.net_bits), f.net_samples), 6, f.has_net);
    o.number("neg_elbo_bits", f.neg_elbo_bits, 1, f.has_elbo);
    o.number("neg_elbo_latent_bits", f.latent_bits, 1, f.has_elbo);
    if (f.has_elbo) o.integer("neg_elbo_samples", f.elbo_samples);
    else o.raw("neg_elbo_samples", "null");
    o.number("neg_elbo_bpsp", rate(f.neg_elbo_bits, f.elbo_samples), 6, f.has_elbo)
        .boolean("exact", f.exact)
        .number("compress_s", f.compress_s, 6)
        .number("decompress_s", f.decompress_s, 6)
        .number("elbo_s", f.elbo_s, 6);
    for (std::size_t k = 0; k < codecs.size() && k < f.references.size(); ++k) {
        const CodecFigure& c = f.references[k];
        JsonObject r;
        if (c.ok) r.integer("bits", c.bits);
        else r.raw("bits", "null");
        r.number("bpsp", rate(static_cast<double>(c.bits), f.samples), 6, c.ok).text_or_null("error", c.error);
        if (!c.source.empty()) r.text("source", c.source);
        r.number("encode_s", c.encode_s, 6);
        o.raw(codecs[k].key, r.str(indent + 2));
    }
    return o.str(indent);
}

// ---- table --------------------------------------------------------------------------------------

std::string cell(bool present, double bits, std::uint64_t samples) {
    return present ? format("%.4f", rate(bits, samples)) : std::string("-");
}

std::string shape_text(const ImageFigures& f) {
    std::string s = format("%ux%ux%u", f.rows, f.cols, f.channels);
    return f.images > 1 ? std::to_string(f.images) + " of " + s : s;
}

// Left-aligned in `width` (cut from the left with "..." when longer; may split a UTF-8
// character of a long name, which a terminal shows as one odd glyph).
std::string left(const std::string& s, std::size_t width) {
    if (s.size() > width) return "..." + s.substr(s.size() - (width - 3));
    return s + std::string(width - s.size(), ' ');
}
std::string right(const std::string& s, std::size_t width) { return s.size() >= width ? s : std::string(width - s.size(), ' ') + s; }

}  // namespace

Expected<std::optional<ImageFigures>> measure_image(const std::string& name, std::span<const std::uint8_t> bytes,
                                                    const CompressOptions& options, std::span<const NamedModel> models,
                                                    const std::vector<std::unique_ptr<ReferenceCodec>>& codecs, std::string& why) {
    ImageFigures f;
    f.name = name;
    f.file_bytes = bytes.size();
    f.format = format_label(bytes);
    if (f.format.empty()) {
        why = "not an image file (PNG, PGM, PPM, IDX, or gzip of one)";
        return std::optional<ImageFigures>();
    }
    auto parsed = io::parse_images(bytes);
    if (!parsed) {
        if (io::is_png_16bit_error(parsed.error())) {
            why = "a PNG of 16-bit samples (bbans keeps it byte for byte, it does not model it)";
            return std::optional<ImageFigures>();
        }
        return make_error(f.format + ": " + parsed.error().message);
    }
    const io::ImageSet& images = *parsed;
    f.images = images.count;
    f.rows = images.rows;
    f.cols = images.cols;
    f.channels = images.channels;
    f.samples = static_cast<std::uint64_t>(images.count) * images.samples_per_image();

    // bbans, as `bbans compress` codes the file: one entry, from which the entry's chunks and
    // the whole one-file archive are measured.
    auto t = Clock::now();
    archive::MemoryOutput out;
    ArchiveWriter writer(out);
    archive::MemoryInput in(bytes);
    EntryMeta meta;
    meta.name = entry_name(name);
    auto s = writer.add(meta, in, options, models);
    if (!s) return s.error();
    auto archive_size = writer.finish();
    if (!archive_size) return archive_size.error();
    f.compress_s = since(t);
    f.method = archive::to_string(s->method);
    f.why_not_bits_back = s->method == archive::Method::bits_back ? std::string() : s->why_fallback;
    f.model_name = s->model_name;
    f.model_identity = s->model_identity;
    f.model_planes = s->model_planes;
    f.scale_offset = s->scale_offset;
    f.bbans_bits = s->output_bytes * 8;
    f.bbx_bits = *archive_size * 8;
    if (s->method == archive::Method::bits_back && s->stats.samples > s->stats.seed_samples) {
        f.has_net = true;
        f.net_bits = s->stats.net_bits;
        f.net_samples = s->stats.samples - s->stats.seed_samples;
    }

    t = Clock::now();
    auto back = decompress(
        out.bytes(),
        [&](const archive::ModelId& id) -> Expected<const coding::CodingModel*> {
            for (const NamedModel& m : models)
                if (m.model->identity() == id) return m.model;
            return make_error("model not available");
        },
        {}, std::max(1u, options.threads));
    f.decompress_s = since(t);
    if (!back) return make_error("decompressing what was just compressed failed: " + back.error().message);
    f.exact = same_pixels(*back, bytes);

    // The chosen model's -ELBO on the units bits-back codes (a second coding, forced to bits-back
    // with that model alone).
    const auto chosen = std::find_if(models.begin(), models.end(), [&](const NamedModel& m) { return !f.model_name.empty() && m.name == f.model_name; });
    if (chosen != models.end()) {
        t = Clock::now();
        CompressOptions measured = options;
        measured.measure_elbo = true;
        measured.method = archive::Method::bits_back;
        auto again = compress(bytes, measured, std::span<const NamedModel>(&*chosen, 1));
        f.elbo_s = since(t);
        if (!again) return again.error();
        const BitsBackStats& st = again->summary.stats;
        if (st.samples > st.seed_samples) {
            f.has_elbo = true;
            f.neg_elbo_bits = st.neg_elbo_bits;
            f.latent_bits = st.latent_bits;
            f.elbo_samples = st.samples - st.seed_samples;
        }
    }

    const bool png_file = io::detect_format(bytes) == io::Format::png;
    for (const auto& codec : codecs) {
        CodecFigure c;
        if (codec->key() == "png" && png_file) {
            c.ok = true;
            c.bits = f.file_bytes * 8;
            c.source = "file";
        } else {
            if (codec->key() == "png") c.source = "libpng";
            auto r = encode_checked(*codec, images);
            if (r) {
                c.ok = true;
                c.bits = r->bytes * 8;
                c.encode_s = r->encode_s;
            } else {
                c.error = r.error().message;
            }
        }
        f.references.push_back(std::move(c));
    }
    return std::optional<ImageFigures>(std::move(f));
}

ImageFigures aggregate(const std::vector<ImageFigures>& images, std::size_t codecs) {
    ImageFigures t;
    t.name = "all";
    t.exact = true;
    t.references.resize(codecs);
    std::vector<std::size_t> failed(codecs, 0);
    for (const ImageFigures& f : images) {
        t.file_bytes += f.file_bytes;
        t.images += f.images;
        t.samples += f.samples;
        t.bbans_bits += f.bbans_bits;
        t.bbx_bits += f.bbx_bits;
        if (f.has_net) {
            t.has_net = true;
            t.net_bits += f.net_bits;
            t.net_samples += f.net_samples;
        }
        if (f.has_elbo) {
            t.has_elbo = true;
            t.neg_elbo_bits += f.neg_elbo_bits;
            t.latent_bits += f.latent_bits;
            t.elbo_samples += f.elbo_samples;
        }
        t.exact = t.exact && f.exact;
        t.compress_s += f.compress_s;
        t.decompress_s += f.decompress_s;
        t.elbo_s += f.elbo_s;
        for (std::size_t k = 0; k < codecs && k < f.references.size(); ++k) {
            const CodecFigure& c = f.references[k];
            CodecFigure& s = t.references[k];
            if (!c.ok) ++failed[k];
            s.bits += c.bits;
            s.encode_s += c.encode_s;
            if (!c.source.empty()) s.source = s.source.empty() || s.source == c.source ? c.source : "mixed";
        }
    }
    for (std::size_t k = 0; k < codecs; ++k) {
        CodecFigure& s = t.references[k];
        s.ok = failed[k] == 0 && !images.empty();
        if (!s.ok) {
            s.bits = 0;
            s.error = "failed on " + std::to_string(failed[k]) + " of " + std::to_string(images.size()) + " files";
        }
    }
    return t;
}

Expected<FolderFigures> measure_folder(const fs::path& dir, const CompressOptions& options, std::span<const NamedModel> models,
                                       const std::vector<std::unique_ptr<ReferenceCodec>>& codecs, const FolderProgress& progress) {
    FolderFigures out;
    out.threads = std::max(1u, options.threads);
    for (const auto& c : codecs) out.codecs.push_back({c->key(), c->name(), c->settings()});
    out.missing = missing_reference_codecs();

    // Regular files, by path relative to the folder.
    std::vector<std::pair<std::string, fs::path>> files;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string rel = it->path().lexically_relative(dir).generic_string();
        std::error_code type_ec;
        const fs::file_status st = it->symlink_status(type_ec);
        if (type_ec) return make_error(it->path().string() + ": cannot stat: " + type_ec.message());
        if (fs::is_directory(st)) continue;
        if (fs::is_regular_file(st)) files.emplace_back(rel, it->path());
        else out.skipped.emplace_back(rel, fs::is_symlink(st) ? "a symbolic link" : "not a regular file");
    }
    if (ec) return make_error(dir.string() + ": cannot list: " + ec.message());
    if (files.empty()) return make_error(dir.string() + ": no files in the folder");
    std::sort(files.begin(), files.end());

    for (std::size_t i = 0; i < files.size(); ++i) {
        const auto& [name, path] = files[i];
        auto bytes = io::read_file(path);
        if (!bytes) return make_error(bytes.error().message.find(path.string()) != std::string::npos ? bytes.error().message
                                                                                                      : path.string() + ": " + bytes.error().message);
        std::string why;
        auto figures = measure_image(name, *bytes, options, models, codecs, why);
        if (!figures) return make_error(path.string() + ": " + figures.error().message);
        const bool measured = figures->has_value();
        if (measured) out.images.push_back(std::move(**figures));
        else out.skipped.emplace_back(name, why);
        if (progress) progress(name, measured ? &out.images.back() : nullptr, why, i, files.size());
    }
    if (out.images.empty())
        return make_error(dir.string() + ": no image files (PNG, PGM, PPM, IDX, or gzip of one) among its " + std::to_string(files.size()) +
                          " file" + (files.size() == 1 ? "" : "s"));
    out.total = aggregate(out.images, codecs.size());
    return out;
}

std::string folder_table(const FolderFigures& f) {
    std::ostringstream s;
    const ImageFigures& t = f.total;
    s << "bbans report (bbans " << kVersion << "): folder " << f.input_name << ", " << f.images.size() << " image file"
      << (f.images.size() == 1 ? "" : "s") << ", " << t.samples << " samples\n";
    s << "  rates in bits per subpixel: output bits / (rows x cols x channels), every codec on the same pixels\n";
    s << "  bbans    each file's entry as coded (its chunks); the .bbx container's header, directory (name, layout, PNG chunks),\n"
         "           chunk index and trailer are NOT included (with them, as one-file archives: "
      << format("%.4f", rate(static_cast<double>(t.bbx_bits), t.samples)) << ")\n";
    s << "  net      message growth of the units coded with bits back (each chunk's seed band excluded), per sample of them\n";
    s << "  -ELBO    the integer model's negative ELBO on the same units, exactly as coded\n";
    for (const CodecInfo& c : f.codecs) {
        std::string what = c.settings;
        if (c.key == "png") what = "the input's own size for PNG files (from: file), else re-encoded by " + c.settings + " (from: libpng)";
        s << "  " << left(c.name, 9) << what << '\n';
    }
    for (const std::string& m : f.missing) s << "  not compiled in: " << m << '\n';
    s << "  threads  " << f.threads << " (bbans); the reference codecs run on one\n\n";

    std::size_t w = 24;
    for (const ImageFigures& i : f.images) w = std::max(w, i.name.size());
    w = std::min<std::size_t>(w, 48);
    const std::string total_name = format("all %zu files", f.images.size());
    const std::string total_size = format("%llu samples", static_cast<unsigned long long>(t.samples));
    w = std::max(w, total_name.size());
    std::size_t sw = total_size.size();
    for (const ImageFigures& i : f.images) sw = std::max(sw, shape_text(i).size());
    s << left("file", w) << "  " << left("size", sw) << "  " << left("method", 24) << right("bbans", 8) << right("net", 8) << right("-ELBO", 8);
    for (const CodecInfo& c : f.codecs) {
        s << right(c.name, 9);
        if (c.key == "png") s << "  " << left("from", 6);
    }
    s << '\n';
    auto row = [&](const ImageFigures& i, const std::string& name, const std::string& size, const std::string& method) {
        s << left(name, w) << "  " << left(size, sw) << "  " << left(method, 24) << right(cell(true, static_cast<double>(i.bbans_bits), i.samples), 8)
          << right(cell(i.has_net, static_cast<double>(i.net_bits), i.net_samples), 8) << right(cell(i.has_elbo, i.neg_elbo_bits, i.elbo_samples), 8);
        for (std::size_t k = 0; k < f.codecs.size() && k < i.references.size(); ++k) {
            const CodecFigure& c = i.references[k];
            s << right(c.ok ? cell(true, static_cast<double>(c.bits), i.samples) : std::string("error"), 9);
            if (f.codecs[k].key == "png") s << "  " << left(c.source, 6);
        }
        s << '\n';
    };
    for (const ImageFigures& i : f.images) {
        std::string method = i.method;
        if (!i.model_name.empty() && i.method == "bits-back") method += " " + i.model_name + (i.model_planes ? "/planes" : "");
        row(i, i.name, shape_text(i), method);
    }
    row(t, total_name, total_size, "");
    s << "\nexact round trip (bbans, and every in-process encoding checked by decoding): " << (t.exact ? "yes" : "NO") << '\n';
    for (const ImageFigures& i : f.images)
        for (std::size_t k = 0; k < f.codecs.size() && k < i.references.size(); ++k)
            if (!i.references[k].ok) s << "error: " << f.codecs[k].name << " on " << i.name << ": " << i.references[k].error << '\n';
    for (const auto& [name, why] : f.skipped) s << "skipped: " << name << ": " << why << '\n';
    return s.str();
}

std::string folder_json(const FolderFigures& f) {
    JsonObject o;
    o.text("bbans_version", kVersion).text("input", f.input_name).text("input_kind", "folder").text("rate_unit", "bits/subpixel");
    o.text("samples_are", "rows x cols x channels of each image (times the images of an IDX file)");
    o.text("bbans_bits_are", "each file's entry as coded (its chunks); the container's header, directory, chunk index and trailer are "
                             "not included (bbx_bits: the file as a one-file .bbx, with them)");
    o.text("net_bits_are", "message growth of the units coded with bits back (each chunk's seed bands excluded); net_samples: their samples");
    o.text("neg_elbo_bits_are", "the chosen integer model's negative ELBO on the units net counts, exactly as coded");
    o.integer("threads", f.threads);
    std::vector<std::string> codecs, missing, models, skipped;
    codecs.push_back(JsonObject().text("key", "bbans").text("name", "bbans").text("settings", std::string("bbans ") + kVersion).str(4));
    for (const CodecInfo& c : f.codecs) {
        std::string settings = c.settings;
        if (c.key == "png") settings = "the input's own size for PNG files (source: file), else " + c.settings + " (source: libpng)";
        codecs.push_back(JsonObject().text("key", c.key).text("name", c.name).text("settings", settings).str(4));
    }
    for (const std::string& m : f.missing) missing.push_back(json_string(m));
    std::map<std::string, std::string> seen;  // name -> identity of the models chosen
    for (const ImageFigures& i : f.images)
        if (!i.model_name.empty()) seen.emplace(i.model_name, i.model_identity);
    for (const auto& [name, identity] : seen) models.push_back(JsonObject().text("name", name).text("identity", identity).str(4));
    for (const auto& [name, why] : f.skipped) skipped.push_back(JsonObject().text("name", name).text("why", why).str(4));
    o.raw("codecs", json_array(codecs, 2)).raw("codecs_missing", json_array(missing, 2)).raw("models", json_array(models, 2)).raw("skipped", json_array(skipped, 2));
    std::vector<std::string> images;
    for (const ImageFigures& i : f.images) images.push_back(figures_json(i, f.codecs, false, 4));
    o.raw("images", json_array(images, 2));
    o.raw("aggregate", figures_json(f.total, f.codecs, true, 2));
    o.integer("files", f.images.size());
    o.boolean("exact", f.total.exact);
    return o.str(0) + "\n";
}

}  // namespace bbans::report
