#include "src/report/report.hpp"

#include "bbans/version.hpp"
#include "src/compressor/byte_methods.hpp"
#include "src/report/text.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string_view>

namespace bbans::report {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Expected<std::uint64_t> zstd_size(std::span<const std::uint8_t> in) {
    auto z = bytes_codec::zstd_compress(in, bytes_codec::kZstdLevel);
    if (!z) return z.error();
    return static_cast<std::uint64_t>(z->size());
}

Expected<std::uint64_t> xz_size(std::span<const std::uint8_t> in) {
    auto x = bytes_codec::xz_compress(in, bytes_codec::kXzPreset, true);
    if (!x) return x.error();
    return static_cast<std::uint64_t>(x->size());
}

template <typename... Args>
std::string format(const char* fmt, Args... args) {
    char b[512];
    std::snprintf(b, sizeof b, fmt, args...);
    return b;
}

// ---- plot axes ----------------------------------------------------------------------------------

// A round step (1, 2, 2.5 or 5 times a power of ten) that cuts `span` into about `parts`.
double nice_step(double span, double parts) {
    if (!(span > 0) || !std::isfinite(span)) return 1;
    const double raw = span / parts;
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0})
        if (m * p >= raw * 0.999) return m * p;
    return 10 * p;
}

// Decimals that show every multiple of step exactly (at least `min_decimals`).
int decimals_for(double step, int min_decimals) {
    int d = 0;
    while (d < 6 && std::fabs(step * std::pow(10.0, d) - std::round(step * std::pow(10.0, d))) > 1e-6) ++d;
    return std::max(d, min_decimals);
}

// The digits of an integer with a comma every three digits: 10000 -> "10,000".
std::string grouped(std::uint64_t v) {
    const std::string digits = std::to_string(v);
    std::string s;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
        s += digits[i];
    }
    return s;
}

}  // namespace

std::string rate_text(double bpd) { return format("%.4f", bpd); }

Expected<Figures> measure(std::span<const std::uint8_t> input, const CompressOptions& options, std::span<const NamedModel> models) {
    return measure(input, options, ArchiveWriter::ModelSource([models](std::size_t) -> Expected<std::span<const NamedModel>> { return models; }));
}

Expected<Figures> measure(std::span<const std::uint8_t> input, const CompressOptions& options, const ArchiveWriter::ModelSource& source) {
    // The candidates compression was offered (none if it did not ask: the input is not images);
    // the -ELBO and the decompression below use the same.
    // (A copy: the source promises its span only until compression returns.)
    std::vector<NamedModel> offered;
    const ArchiveWriter::ModelSource offer = [&](std::size_t channels) -> Expected<std::span<const NamedModel>> {
        auto given = source(channels);
        if (given) offered.assign(given->begin(), given->end());
        return given;
    };
    Figures f;
    f.input_bytes = input.size();
    f.threads = std::max(1u, options.threads);
    const double bytes_bits = 8.0 / static_cast<double>(std::max<std::uint64_t>(input.size(), 1));

    auto t = Clock::now();
    auto z = zstd_size(input);
    f.zstd_s = since(t);
    if (!z) return z.error();
    t = Clock::now();
    auto x = xz_size(input);
    f.xz_s = since(t);
    if (!x) return x.error();
    f.zstd_bytes = *z;
    f.xz_bytes = *x;
    f.zstd_bpd = static_cast<double>(*z) * bytes_bits;
    f.xz_bpd = static_cast<double>(*x) * bytes_bits;

    t = Clock::now();
    CompressOptions with_rate = options;
    with_rate.running_rate = true;
    auto c = compress(input, with_rate, offer);
    f.compress_s = since(t);
    if (!c) return c.error();
    const std::span<const NamedModel> models(offered);  // (now that compression has filled it)
    const CompressSummary& s = c->summary;
    f.bbx_bytes = c->file.size();
    f.total_bpd = static_cast<double>(f.bbx_bytes) * bytes_bits;
    f.method = archive::to_string(s.method);
    f.bits_back = s.method == archive::Method::bits_back;
    if (!f.bits_back) f.why_not_bits_back = s.why_fallback;
    f.model_name = s.model_name;
    f.model_identity = s.model_identity;
    f.model_planes = s.model_planes;
    f.scale_offset = s.scale_offset;
    f.model = f.bits_back ? s.model_name + " (" + s.model_identity + ")" + planes_note(s.model_planes) + scale_offset_note(s.scale_offset) : "none";
    f.chunks = s.chunks;

    const coding::CodingModel* chosen = nullptr;
    for (const NamedModel& m : models)
        if (!s.model_name.empty() && m.name == s.model_name) chosen = m.model;
    f.hierarchical = chosen && chosen->file.config().hierarchical();
    t = Clock::now();
    auto d = decompress(
        c->file,
        [&](const archive::ModelId& id) -> Expected<const coding::CodingModel*> {
            for (const NamedModel& m : models)
                if (m.model->identity() == id) return m.model;
            return make_error("model not available");
        },
        {}, f.threads);
    f.decompress_s = since(t);
    if (!d) return make_error("decompressing what was just compressed failed: " + d.error().message);
    f.exact = std::equal(d->begin(), d->end(), input.begin(), input.end());

    // The input as images, whichever method stored it.
    std::optional<io::ImageSet> images;
    if (!input.empty()) {
        auto parsed = io::parse_images(input, options.raw_shape);
        if (parsed) images = std::move(*parsed);
    }
    if (images) {
        f.is_images = true;
        f.images = images->count;
        f.rows = images->rows;
        f.cols = images->cols;
        f.channels = images->channels;
        f.pixels_per_image = images->pixels_per_image();
    }
    if (f.bits_back) {
        if (!images) return make_error("internal error: bits-back coded an input that does not parse as images");
        const BitsBackStats& st = s.stats;
        f.seed_images = st.seed_images;
        const double D = static_cast<double>(images->samples_per_image());
        f.net_bpd = net_bits_per_dim(s);
        f.first_image_bits = static_cast<double>(st.first_image_bits);
        f.seed_bits = static_cast<double>(st.seed_bits);
        const auto& b = st.bits_after;
        for (std::size_t i = 0; i < b.size(); ++i) f.running_bpd.push_back(static_cast<double>(b[i]) / (static_cast<double>(i + 1) * D));
    }
    // The chosen model's negative ELBO: of the units coded with bits back, exactly as coded
    // (chunk by chunk), measured by a second compression; or, when another method won, of the
    // whole images.
    if (f.bits_back && chosen) {
        t = Clock::now();
        CompressOptions measured = options;
        measured.measure_elbo = true;
        measured.method = archive::Method::bits_back;
        auto again = compress(input, measured, std::span<const NamedModel>(&*std::find_if(models.begin(), models.end(),
                                                                                          [&](const NamedModel& m) { return m.model == chosen; }), 1));
        f.elbo_s = since(t);
        if (!again) return again.error();
        const BitsBackStats& st = again->summary.stats;
        if (st.samples > st.seed_samples) {
            f.neg_elbo_bpd = st.neg_elbo_bits / static_cast<double>(st.samples - st.seed_samples);
            f.latent_bpd = st.latent_bits / static_cast<double>(st.samples - st.seed_samples);
            f.latent2_bpd = st.latent2_bits / static_cast<double>(st.samples - st.seed_samples);
            f.has_elbo = true;
        }
    } else if (images && chosen) {
        t = Clock::now();
        auto e = coding::evaluate(*chosen, *images, 0x5EED, s.model_planes);
        f.elbo_s = since(t);
        if (!e) return e.error();
        f.neg_elbo_bpd = e->neg_elbo_bpd;
        f.latent_bpd = e->latent_bpd;
        f.latent2_bpd = e->latent2_bpd;
        f.has_elbo = true;
    }
    return f;
}

std::string table(const Figures& f) {
    std::ostringstream s;
    auto row = [&](const char* name, const std::string& text) {
        s << "  " << name << std::string(30 - std::min<std::size_t>(30, std::string(name).size()), ' ') << text << '\n';
    };
    const char* unit = f.is_images ? "bits/dim" : "bits/byte";
    const auto bytes = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    s << "bbans report (bbans " << kVersion << ")\n";
    row("input", (f.input_name.empty() ? std::string("-") : f.input_name) + ", " + std::to_string(f.input_bytes) + " bytes");
    if (f.bits_back) row("method", "bits-back, model " + f.model);
    else row("method", f.method + (f.why_not_bits_back.empty() ? std::string() : ": " + f.why_not_bits_back));
    if (f.is_images)
        row("images", format("%zu of %zux%zu", f.images, f.rows, f.cols) + (f.channels == 1 ? "" : format("x%zu", f.channels)) +
                          format(" = %zu pixels", f.pixels_per_image));
    else row("images", f.input_bytes ? "none (not images: rates are per input byte)" : "none (empty input)");
    if (!f.bits_back && !f.model_name.empty()) row("model (not used)", f.model_name + " (" + f.model_identity + ")");
    if (f.bits_back) row("net rate", rate_text(f.net_bpd) + " bits/dim (bits-back images, without the seeds)");
    row("total rate", format("%s %s (%llu bytes, whole .bbx file)", rate_text(f.total_bpd).c_str(), unit, bytes(f.bbx_bytes)));
    if (f.bits_back) {
        row("first image", format("%.0f bits (seed, coded without bits back)", f.first_image_bits));
        row("chunks", format("%zu, with %zu seed unit%s (images, or bands of one image) costing %.0f bits", f.chunks, f.seed_images, f.seed_images == 1 ? "" : "s", f.seed_bits));
    } else {
        row("chunks", format("%zu", f.chunks));
    }
    if (f.has_elbo) {
        row("model -ELBO", rate_text(f.neg_elbo_bpd) + " bits/dim (integer model as coded, same images)");
        const double per_image = static_cast<double>(f.pixels_per_image * f.channels);
        const std::string layers = f.hierarchical ? format(" (z1 %.1f, z2 %.1f)", (f.latent_bpd - f.latent2_bpd) * per_image,
                                                           f.latent2_bpd * per_image)
                                                  : std::string();
        row("  of which", format("likelihood %.1f + latent (KL) %.1f%s bits per image: the latent carries %.1f%%",
                                 (f.neg_elbo_bpd - f.latent_bpd) * per_image, f.latent_bpd * per_image, layers.c_str(),
                                 f.neg_elbo_bpd > 0 ? 100.0 * f.latent_bpd / f.neg_elbo_bpd : 0.0));
    }
    if (f.bits_back && f.has_elbo) row("gap net/ELBO", format("%+.2f%%", 100.0 * (f.net_bpd / f.neg_elbo_bpd - 1.0)));
    row("zstd -19", format("%s %s (%llu bytes)", rate_text(f.zstd_bpd).c_str(), unit, bytes(f.zstd_bytes)));
    row("xz -9e", format("%s %s (%llu bytes)", rate_text(f.xz_bpd).c_str(), unit, bytes(f.xz_bytes)));
    row("threads", format("%u (zstd -19 and xz -9e: 1)", f.threads));
    row("compress", format("%.3f s (%.2fx zstd -19's time, %.2fx xz -9e's)", f.compress_s, f.compress_s / f.zstd_s, f.compress_s / f.xz_s));
    row("decompress", format("%.3f s (%.2fx zstd -19's compression time, %.2fx xz -9e's)", f.decompress_s, f.decompress_s / f.zstd_s,
                             f.decompress_s / f.xz_s));
    row("zstd -19 / xz -9e time", format("%.3f s / %.3f s", f.zstd_s, f.xz_s));
    row("exact round trip", f.exact ? "yes" : "NO");
    return s.str();
}

std::string json(const Figures& f) {
    JsonObject o;
    o.text("bbans_version", kVersion)
        .text("input", f.input_name.empty() ? "-" : f.input_name)
        .integer("input_bytes", f.input_bytes)
        .text("input_kind", f.is_images ? "images" : "bytes")
        .integer("images", f.images)
        .integer("rows", f.rows)
        .integer("cols", f.cols)
        .integer("pixels_per_image", f.pixels_per_image)
        .integer("channels", f.channels)
        .text("rate_unit", f.is_images ? "bits/dim" : "bits/byte")
        .text("method", f.method)
        .text_or_null("why_not_bits_back", f.why_not_bits_back)
        .text_or_null("model_name", f.model_name)
        .text_or_null("model_identity", f.model_identity)
        .integer("model_planes", f.model_planes)
        .signed_integer("scale_offset", f.scale_offset)
        .boolean("model_used", f.bits_back)
        .number("neg_elbo_bpd", f.neg_elbo_bpd, 6, f.has_elbo)
        .number("neg_elbo_likelihood_bpd", f.neg_elbo_bpd - f.latent_bpd, 6, f.has_elbo)
        .number("neg_elbo_latent_bpd", f.latent_bpd, 6, f.has_elbo)
        .number("neg_elbo_latent1_bpd", f.latent_bpd - f.latent2_bpd, 6, f.has_elbo && f.hierarchical)
        .number("neg_elbo_latent2_bpd", f.latent2_bpd, 6, f.has_elbo && f.hierarchical)
        .number("net_bpd", f.net_bpd, 6, f.bits_back)
        .number("total_bpd", f.total_bpd, 6)
        .integer("bbx_bytes", f.bbx_bytes)
        .number("first_image_bits", f.first_image_bits, 1, f.bits_back)
        .integer("chunks", f.chunks)
        .integer("seed_images", f.seed_images)
        .number("seed_bits", f.seed_bits, 1, f.bits_back)
        .number("zstd_bpd", f.zstd_bpd, 6)
        .integer("zstd_bytes", f.zstd_bytes)
        .number("xz_bpd", f.xz_bpd, 6)
        .integer("xz_bytes", f.xz_bytes)
        .integer("threads", f.threads)
        .number("compress_s", f.compress_s, 6)
        .number("decompress_s", f.decompress_s, 6)
        .number("zstd_s", f.zstd_s, 6)
        .number("xz_s", f.xz_s, 6)
        .number("elbo_s", f.elbo_s, 6, f.has_elbo)
        .boolean("exact", f.exact);
    return o.str() + "\n";
}

std::string svg(const Figures& f) {
    // The running rate (message bits so far per pixel so far) against images coded, with the
    // whole-input rates of the model's -ELBO, zstd and xz as dashed horizontal references.
    const double W = 820, H = 490, L = 78, R = 560, T = 62, B = 400;  // plot area [L, R] x [T, B]
    const std::size_t n = f.running_bpd.size();
    const char* unit = f.is_images ? "bits/dim" : "bits/byte";

    // y range: the references and the curve (without its first two points, which may be far off
    // when the seed is expensive), with a round step.
    std::vector<double> values = {f.zstd_bpd, f.xz_bpd, f.total_bpd};
    if (f.has_elbo) values.push_back(f.neg_elbo_bpd);
    if (f.bits_back) values.push_back(f.net_bpd);
    for (std::size_t i = std::min<std::size_t>(2, n > 0 ? n - 1 : 0); i < n; ++i) values.push_back(f.running_bpd[i]);
    double lo = *std::min_element(values.begin(), values.end()), hi = *std::max_element(values.begin(), values.end());
    if (hi - lo < 1e-3) lo -= 0.05, hi += 0.05;
    const double ystep = nice_step(hi - lo, 5);
    lo = std::max(0.0, std::floor(lo / ystep - 0.25) * ystep);
    hi = std::ceil(hi / ystep + 0.25) * ystep;
    const int ydec = decimals_for(ystep, 2);
    auto Y = [&](double v) { return B - (B - T) * (v - lo) / (hi - lo); };

    // x: 0 .. images, round ticks.
    const double xstep = nice_step(static_cast<double>(std::max<std::size_t>(n, 1)), 5);
    const double xmax = std::max(xstep, std::ceil(static_cast<double>(n) / xstep) * xstep);
    auto X = [&](double i) { return L + (R - L) * i / xmax; };

    std::ostringstream s;
    s << format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"13\">\n",
                W, H, W, H)
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << format("<clipPath id=\"plot\"><rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\"/></clipPath>\n", L, T, R - L, B - T);
    std::string shown = f.input_name.empty() ? std::string("-") : f.input_name;
    if (shown.size() > 64) shown = shown.substr(0, 20) + "..." + shown.substr(shown.size() - 41);  // may cut a character: xml_text mends it
    s << format("<text x=\"%.0f\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", L) << xml_text("bbans report: " + shown) << "</text>\n";
    std::string subtitle = f.is_images ? format("%zu images of %zux%zu; ", f.images, f.rows, f.cols) : std::string("not images; ");
    subtitle += f.bits_back ? "bits-back with model " + f.model_name + planes_note(f.model_planes)
                            : "method " + f.method + (f.why_not_bits_back.empty() ? "" : ": " + f.why_not_bits_back);
    s << format("<text x=\"%.0f\" y=\"42\" fill=\"#444\">", L) << xml_text(subtitle) << "</text>\n";
    s << format("<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" fill=\"#444\">", L, H - 10)
      << (f.bits_back ? "Curve: message bits after n images / (n x pixels per image). Dashed: rates on the whole input."
                      : "Dashed: rates on the whole input (bits-back coding was not used, so there is no running rate).")
      << "</text>\n";

    // Grid, ticks and tick labels.
    for (double v = lo; v <= hi + ystep * 1e-6; v += ystep) {
        s << format("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", L, Y(v), R, Y(v))
          << format("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"black\"/>", L - 5, Y(v), L, Y(v))
          << format("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", L - 8, Y(v) + 4.5, ydec, v);
    }
    if (n > 0) {
        for (double i = 0; i <= xmax + xstep * 1e-6; i += xstep) {
            s << format("<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#e4e4e4\"/>", X(i), T, X(i), B)
              << format("<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"black\"/>", X(i), B, X(i), B + 5)
              << format("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">", X(i), B + 20)
              << grouped(static_cast<std::uint64_t>(std::llround(i))) << "</text>\n";
        }
        s << format("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">images coded</text>\n", (L + R) / 2, B + 44);
    }
    s << format("<text x=\"20\" y=\"%.0f\" transform=\"rotate(-90 20 %.0f)\" text-anchor=\"middle\">%s</text>\n", (T + B) / 2,
                (T + B) / 2, unit)
      << format("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n", L, T, R - L, B - T);

    // Labels right of the plot, each at its value, moved apart where they would overlap (with a
    // thin leader line to the value when moved).
    struct Label {
        double y;
        std::string text, colour;
        double at = 0;
    };
    std::vector<Label> labels;
    auto ref = [&](double v, const char* colour, const std::string& name) {
        s << format("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"7 4\"/>\n", L,
                    Y(v), R, Y(v), colour);
        labels.push_back({Y(v), name + " " + rate_text(v), colour});
    };
    ref(f.zstd_bpd, "#b05000", "zstd -19");
    ref(f.xz_bpd, "#7030a0", "xz -9e");
    if (f.has_elbo) ref(f.neg_elbo_bpd, "#008000", "model -ELBO");
    if (n > 0) {
        s << "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"#0050c0\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"";
        // At most about two points per pixel of width.
        const std::size_t every = std::max<std::size_t>(1, n / 1000);
        for (std::size_t i = 0; i < n; ++i)
            if (i % every == 0 || i + 1 == n) s << format("%.1f,%.1f ", X(static_cast<double>(i + 1)), Y(f.running_bpd[i]));
        s << "\"/>\n";
        labels.push_back({std::clamp(Y(f.running_bpd.back()), T, B), "bbans total " + rate_text(f.total_bpd) + ", net " + rate_text(f.net_bpd), "#0050c0"});
    } else {
        ref(f.total_bpd, "#0050c0", "bbans (" + f.method + ")");
    }
    std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.y < b.y; });
    const double gap = 16;
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i].at = i == 0 ? labels[i].y : std::max(labels[i].y, labels[i - 1].at + gap);
    const double overflow = labels.empty() ? 0 : labels.back().at - (H - 34);
    if (overflow > 0)
        for (Label& l : labels) l.at -= overflow;
    for (const Label& l : labels) {
        if (std::fabs(l.at - l.y) > 1)
            s << format("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\"/>", R + 1, l.y, R + 10, l.at,
                        l.colour.c_str());
        s << format("<text x=\"%.0f\" y=\"%.1f\" fill=\"%s\">", R + 12, l.at + 4.5, l.colour.c_str()) << xml_text(l.text) << "</text>\n";
    }
    s << "</svg>\n";
    return s.str();
}

}  // namespace bbans::report
