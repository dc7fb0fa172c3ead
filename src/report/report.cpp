#include "src/report/report.hpp"

#include "src/compressor/byte_methods.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

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
}  // namespace

Expected<Figures> measure(std::span<const std::uint8_t> input, const CompressOptions& options, std::span<const NamedModel> models) {
    Figures f;
    f.input_bytes = input.size();
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
    auto c = compress(input, with_rate, models);
    f.compress_s = since(t);
    if (!c) return c.error();
    const CompressSummary& s = c->summary;
    f.bbx_bytes = c->file.size();
    f.total_bpd = static_cast<double>(f.bbx_bytes) * bytes_bits;
    f.method = archive::to_string(s.method);
    f.model = s.model_name.empty() ? "none" : s.model_name + " (" + s.model_identity + ")";
    f.chunks = s.chunks;

    const coding::CodingModel* used = nullptr;
    for (const NamedModel& m : models)
        if (m.name == s.model_name) used = m.model;
    t = Clock::now();
    auto d = decompress(
        c->file,
        [&](const archive::ModelId& id) -> Expected<const coding::CodingModel*> {
            for (const NamedModel& m : models)
                if (m.model->identity() == id) return m.model;
            return make_error("model not available");
        },
        {}, options.threads);
    f.decompress_s = since(t);
    if (!d) return make_error("decompressing what was just compressed failed: " + d.error().message);
    f.exact = std::equal(d->begin(), d->end(), input.begin(), input.end());

    if (s.method == archive::Method::bits_back && used) {
        const BitsBackStats& st = s.stats;
        f.images = s.images;
        f.pixels_per_image = s.pixels_per_image;
        f.seed_images = st.seed_images;
        const double D = static_cast<double>(s.pixels_per_image);
        if (s.images > st.seed_images) f.net_bpd = static_cast<double>(st.net_bits) / (static_cast<double>(s.images - st.seed_images) * D);
        f.first_image_bits = static_cast<double>(st.first_image_bits);
        f.seed_bits = static_cast<double>(st.seed_bits);
        const auto& b = st.bits_after;
        for (std::size_t i = 0; i < b.size(); ++i) f.running_bpd.push_back(static_cast<double>(b[i]) / (static_cast<double>(i + 1) * D));
        // The coded model's negative ELBO on the same images.
        auto images = options.raw_shape ? io::parse_raw(input, *options.raw_shape) : io::parse_idx(input);
        if (!images) return images.error();
        t = Clock::now();
        auto e = coding::evaluate(*used, *images, 0x5EED);
        f.elbo_s = since(t);
        if (!e) return e.error();
        f.neg_elbo_bpd = e->neg_elbo_bpd;
    }
    return f;
}

std::string table(const Figures& f) {
    std::ostringstream s;
    char b[256];
    auto row = [&](const char* name, const char* fmt, auto... v) {
        std::snprintf(b, sizeof b, fmt, v...);
        s << "  " << name << std::string(30 - std::min<std::size_t>(30, std::string(name).size()), ' ') << b << '\n';
    };
    s << "bbans report\n";
    row("input", "%llu bytes", static_cast<unsigned long long>(f.input_bytes));
    row("method", "%s, model %s", f.method.c_str(), f.model.c_str());
    if (f.images) {
        row("images", "%zu of %zu pixels", f.images, f.pixels_per_image);
        row("net rate", "%.4f bits/dim (bits-back images, without the seeds)", f.net_bpd);
        row("total rate", "%.4f bits/dim (%llu bytes, whole .bbx file)", f.total_bpd, static_cast<unsigned long long>(f.bbx_bytes));
        row("first image", "%.0f bits (seed, coded without bits back)", f.first_image_bits);
        row("chunks", "%zu, with %zu seed images costing %.0f bits", f.chunks, f.seed_images, f.seed_bits);
        row("model -ELBO", "%.4f bits/dim (integer model as coded, same images)", f.neg_elbo_bpd);
        row("gap net/ELBO", "%+.2f%%", 100.0 * (f.net_bpd / f.neg_elbo_bpd - 1.0));
    } else {
        row("total rate", "%.4f bits/byte (%llu bytes)", f.total_bpd, static_cast<unsigned long long>(f.bbx_bytes));
    }
    row("zstd -19", "%.4f bits/dim (%llu bytes)", f.zstd_bpd, static_cast<unsigned long long>(f.zstd_bytes));
    row("xz -9e", "%.4f bits/dim (%llu bytes)", f.xz_bpd, static_cast<unsigned long long>(f.xz_bytes));
    row("compress", "%.3f s (%.2fx zstd -19's time, %.2fx xz -9e's)", f.compress_s, f.compress_s / f.zstd_s, f.compress_s / f.xz_s);
    row("decompress", "%.3f s (%.2fx zstd -19's compression time, %.2fx xz -9e's)", f.decompress_s, f.decompress_s / f.zstd_s,
        f.decompress_s / f.xz_s);
    row("zstd -19 / xz -9e time", "%.3f s / %.3f s", f.zstd_s, f.xz_s);
    row("exact round trip", "%s", f.exact ? "yes" : "NO");
    return s.str();
}

std::string json(const Figures& f) {
    char b[1024];
    std::snprintf(b, sizeof b,
                  "{\n  \"images\": %zu,\n  \"net_bpd\": %.6f,\n  \"total_bpd\": %.6f,\n  \"neg_elbo_bpd\": %.6f,\n  \"zstd_bpd\": %.6f,\n"
                  "  \"xz_bpd\": %.6f,\n  \"compress_s\": %.6f,\n  \"decompress_s\": %.6f,\n  \"zstd_s\": %.6f,\n  \"xz_s\": %.6f,\n"
                  "  \"exact\": %s,\n  \"method\": \"%s\",\n  \"bbx_bytes\": %llu,\n  \"first_image_bits\": %.1f\n}\n",
                  f.images, f.net_bpd, f.total_bpd, f.neg_elbo_bpd, f.zstd_bpd, f.xz_bpd, f.compress_s, f.decompress_s, f.zstd_s, f.xz_s,
                  f.exact ? "true" : "false", f.method.c_str(), static_cast<unsigned long long>(f.bbx_bytes), f.first_image_bits);
    return b;
}

std::string svg(const Figures& f) {
    // Running rate (message bits so far per dimension) against images coded, log-scaled x,
    // with the ELBO, zstd and xz as horizontal references.
    const double W = 720, H = 420, L = 70, R = 160, T = 30, B = 50;
    const std::size_t n = f.running_bpd.size();
    double top = std::max({f.zstd_bpd, f.xz_bpd, f.neg_elbo_bpd}) * 1.25;
    if (n > 1) top = std::max(top, std::min(f.running_bpd[std::min<std::size_t>(n - 1, 1)] * 1.05, 4 * top));
    const double lx = std::log10(static_cast<double>(std::max<std::size_t>(n, 2)));
    auto X = [&](double i) { return L + (W - L - R) * std::log10(i) / lx; };
    auto Y = [&](double v) { return T + (H - T - B) * (1.0 - std::min(v, top) / top); };
    std::ostringstream s;
    char b[512];
    std::snprintf(b, sizeof b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    s << b << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    std::snprintf(b, sizeof b, "<text x=\"%.0f\" y=\"18\">bbans: running rate while coding %zu images (%s)</text>\n", L, n, f.model.c_str());
    s << b;
    std::snprintf(b, sizeof b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/><line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
                  L, H - B, W - R, H - B, L, T, L, H - B);
    s << b;
    for (int k = 0; k <= 4; ++k) {
        const double v = top * k / 4;
        std::snprintf(b, sizeof b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.2f</text>\n", L - 6, Y(v) + 4, v);
        s << b;
    }
    for (double i = 1; i <= static_cast<double>(n); i *= 10) {
        std::snprintf(b, sizeof b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", X(i), H - B + 16, i);
        s << b;
    }
    std::snprintf(b, sizeof b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">images coded</text><text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" text-anchor=\"middle\">bits/dim</text>\n",
                  (L + W - R) / 2, H - 12, (T + H - B) / 2, (T + H - B) / 2);
    s << b;
    auto ref = [&](double v, const char* colour, const char* name) {
        std::snprintf(b, sizeof b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"6 4\"/><text x=\"%.0f\" y=\"%.1f\" fill=\"%s\">%s %.3f</text>\n",
                      L, Y(v), W - R, Y(v), colour, W - R + 6, Y(v) + 4, colour, name, v);
        s << b;
    };
    ref(f.zstd_bpd, "#b05000", "zstd -19");
    ref(f.xz_bpd, "#7030a0", "xz -9e");
    if (f.neg_elbo_bpd > 0) ref(f.neg_elbo_bpd, "#008000", "-ELBO");
    s << "<polyline fill=\"none\" stroke=\"#0050c0\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%.1f,%.1f ", X(static_cast<double>(i + 1)), Y(f.running_bpd[i]));
        s << b;
    }
    s << "\"/>\n";
    if (n) {
        std::snprintf(b, sizeof b, "<text x=\"%.0f\" y=\"%.1f\" fill=\"#0050c0\">bbans %.3f</text>\n", W - R + 6, Y(f.running_bpd.back()) - 8,
                      f.running_bpd.back());
        s << b;
    }
    s << "</svg>\n";
    return s.str();
}

}  // namespace bbans::report
