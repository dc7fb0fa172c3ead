// make_test_image: writes reproducible test images (no randomness beyond a fixed-seed generator).
//   make_test_image KIND ROWS COLS CHANNELS OUT
// KIND:
//   gradient    a smooth diagonal gradient plus small noise (a stand-in for a large photo);
//               written row by row, so an image of any size takes one row of memory
//   text        a scanned-page stand-in: black glyph-like strokes (lines of "letters" made of
//               vertical, horizontal and diagonal strokes) on white
//   screenshot  flat colour areas: a title bar, a side panel, buttons and windows (rectangles
//               with borders), lines of glyph-like text
//   noise       uniform random samples
// CHANNELS is 1 (grey) or 3 (RGB). OUT ends in .pgm (CHANNELS 1), .ppm (CHANNELS 3) or .png.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "src/io/png.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

int usage() {
    std::fprintf(stderr, "usage: make_test_image gradient|text|screenshot|noise ROWS COLS CHANNELS OUT.{pgm,ppm,png}\n");
    return 2;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A canvas for the drawn kinds (they are small enough to hold whole).
struct Canvas {
    std::size_t rows, cols, channels;
    Bytes px;
    Canvas(std::size_t r, std::size_t c, std::size_t ch) : rows(r), cols(c), channels(ch), px(r * c * ch, 255) {}
    void set(std::size_t r, std::size_t c, const std::uint8_t* rgb) {
        if (r >= rows || c >= cols) return;
        std::uint8_t* p = &px[(r * cols + c) * channels];
        if (channels == 1) p[0] = static_cast<std::uint8_t>((299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2]) / 1000);
        else
            for (std::size_t k = 0; k < 3; ++k) p[k] = rgb[k];
    }
    void rect(std::size_t r0, std::size_t c0, std::size_t h, std::size_t w, const std::uint8_t* rgb) {
        for (std::size_t r = r0; r < r0 + h && r < rows; ++r)
            for (std::size_t c = c0; c < c0 + w && c < cols; ++c) set(r, c, rgb);
    }
    void frame(std::size_t r0, std::size_t c0, std::size_t h, std::size_t w, const std::uint8_t* rgb) {
        rect(r0, c0, 1, w, rgb);
        rect(r0 + h - 1, c0, 1, w, rgb);
        rect(r0, c0, h, 1, rgb);
        rect(r0, c0 + w - 1, h, 1, rgb);
    }
    // A glyph of h x w pixels at (r0, c0): 2 to 4 strokes chosen by `code`, stroke width sw.
    void glyph(std::size_t r0, std::size_t c0, std::size_t h, std::size_t w, std::size_t sw, std::uint32_t code,
               const std::uint8_t* rgb) {
        const std::size_t mid = h / 2;
        if (code & 1) rect(r0, c0, h, sw, rgb);                  // left stem
        if (code & 2) rect(r0, c0 + w - sw, h, sw, rgb);         // right stem
        if (code & 4) rect(r0, c0, sw, w, rgb);                  // top bar
        if (code & 8) rect(r0 + mid, c0, sw, w, rgb);            // middle bar
        if (code & 16) rect(r0 + h - sw, c0, sw, w, rgb);        // bottom bar
        if (code & 32)                                           // diagonal
            for (std::size_t r = 0; r < h; ++r) rect(r0 + r, c0 + r * (w - sw) / h, 1, sw, rgb);
        if ((code & 63) == 0) rect(r0 + h - 2 * sw, c0 + w / 2, 2 * sw, sw, rgb);  // a dot
    }
    // Lines of words of glyphs in the box, glyphs of height gh.
    void text(std::size_t r0, std::size_t c0, std::size_t h, std::size_t w, std::size_t gh, std::mt19937& rng,
              const std::uint8_t* rgb) {
        const std::size_t gw = gh * 3 / 5, sw = std::max<std::size_t>(1, gh / 8), line = gh * 8 / 5;
        for (std::size_t r = r0; r + gh <= r0 + h; r += line) {
            std::size_t c = c0;
            while (true) {
                const std::size_t letters = 2 + rng() % 8;
                if (c + letters * (gw + sw + 1) > c0 + w) break;
                for (std::size_t k = 0; k < letters; ++k, c += gw + sw + 1) glyph(r, c, gh, gw, sw, rng(), rgb);
                c += gw;  // a space
            }
            if (rng() % 9 == 0) r += line;  // a paragraph break
        }
    }
};

Bytes text_page(std::size_t rows, std::size_t cols, std::size_t ch) {
    Canvas cv(rows, cols, ch);
    std::mt19937 rng(11);
    const std::uint8_t black[3] = {20, 20, 20};
    const std::size_t margin = cols / 12;
    cv.text(margin, margin, rows - 2 * margin, cols - 2 * margin, std::max<std::size_t>(8, rows / 80), rng, black);
    // A scanner's faint grain: a few grey specks.
    std::uniform_int_distribution<std::size_t> rr(0, rows - 1), cc(0, cols - 1);
    const std::uint8_t speck[3] = {200, 200, 200};
    for (std::size_t k = 0; k < rows * cols / 2000; ++k) cv.set(rr(rng), cc(rng), speck);
    return std::move(cv.px);
}

Bytes screenshot(std::size_t rows, std::size_t cols, std::size_t ch) {
    Canvas cv(rows, cols, ch);
    std::mt19937 rng(12);
    const std::uint8_t desk[3] = {58, 110, 165}, bar[3] = {45, 45, 48}, panel[3] = {236, 236, 236}, white[3] = {255, 255, 255},
                       border[3] = {180, 180, 185}, ink[3] = {30, 30, 30}, blue[3] = {0, 120, 215}, light[3] = {250, 250, 250},
                       pale[3] = {220, 232, 246};
    cv.rect(0, 0, rows, cols, desk);
    cv.rect(0, 0, 28, cols, bar);
    cv.text(8, 10, 14, cols / 3, 12, rng, white);
    // Windows: a panel with a list, a document with text, dialogs with buttons.
    const std::size_t top = 40;
    cv.rect(top, 10, rows - top - 10, cols / 4, panel);
    cv.frame(top, 10, rows - top - 10, cols / 4, border);
    for (std::size_t r = top + 10; r + 20 < rows - 10; r += 26) {
        if (rng() % 5 == 0) cv.rect(r - 3, 12, 24, cols / 4 - 4, pale);
        cv.text(r, 20, 14, cols / 4 - 30, 11, rng, ink);
    }
    const std::size_t dc = cols / 4 + 20, dw = cols - dc - 10;
    cv.rect(top, dc, rows - top - 10, dw, white);
    cv.frame(top, dc, rows - top - 10, dw, border);
    cv.rect(top, dc, 30, dw, light);
    for (std::size_t k = 0; k < 6; ++k) {
        cv.rect(top + 5, dc + 10 + k * 90, 20, 80, k == 0 ? blue : panel);
        cv.frame(top + 5, dc + 10 + k * 90, 20, 80, border);
        cv.text(top + 9, dc + 18 + k * 90, 12, 64, 10, rng, k == 0 ? white : ink);
    }
    cv.text(top + 50, dc + 20, rows - top - 80, dw - 40, 13, rng, ink);
    // A dialog over the document.
    const std::size_t dr = rows / 3, dcc = cols / 2 - 150;
    cv.rect(dr, dcc, 160, 300, panel);
    cv.frame(dr, dcc, 160, 300, border);
    cv.rect(dr, dcc, 24, 300, blue);
    cv.text(dr + 6, dcc + 8, 12, 200, 10, rng, white);
    cv.text(dr + 40, dcc + 16, 60, 268, 11, rng, ink);
    cv.rect(dr + 120, dcc + 190, 26, 90, blue);
    cv.text(dr + 127, dcc + 204, 12, 70, 10, rng, white);
    return std::move(cv.px);
}

Bytes netpbm_header(std::size_t rows, std::size_t cols, std::size_t ch) {
    const std::string h = std::string(ch == 1 ? "P5" : "P6") + "\n" + std::to_string(cols) + " " + std::to_string(rows) + "\n255\n";
    return Bytes(h.begin(), h.end());
}

int write_whole(const std::string& out, const Bytes& px, std::size_t rows, std::size_t cols, std::size_t ch) {
    Bytes file;
    if (ends_with(out, ".png")) {
        bbans::io::PngAttributes a;
        a.width = static_cast<std::uint32_t>(cols);
        a.height = static_cast<std::uint32_t>(rows);
        a.color_type = ch == 1 ? 0 : 2;
        auto png = bbans::io::write_png(px, a);
        if (!png) return std::fprintf(stderr, "make_test_image: %s\n", png.error().message.c_str()), 1;
        file = std::move(*png);
    } else {
        file = netpbm_header(rows, cols, ch);
        file.insert(file.end(), px.begin(), px.end());
    }
    std::ofstream f(out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    return f ? 0 : (std::fprintf(stderr, "make_test_image: cannot write %s\n", out.c_str()), 1);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) return usage();
    const std::string kind = argv[1], out = argv[5];
    const std::size_t rows = std::strtoull(argv[2], nullptr, 10), cols = std::strtoull(argv[3], nullptr, 10),
                      ch = std::strtoull(argv[4], nullptr, 10);
    if (rows == 0 || cols == 0 || (ch != 1 && ch != 3)) return usage();
    if (!ends_with(out, ".png") && !ends_with(out, ch == 1 ? ".pgm" : ".ppm")) return usage();
    if (kind == "gradient") {
        if (ends_with(out, ".png")) return usage();
        std::ofstream f(out, std::ios::binary);
        const Bytes h = netpbm_header(rows, cols, ch);
        f.write(reinterpret_cast<const char*>(h.data()), static_cast<std::streamsize>(h.size()));
        std::mt19937 rng(10);
        Bytes row(cols * ch);
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t c = 0; c < cols; ++c)
                for (std::size_t k = 0; k < ch; ++k) {
                    // Diagonal ramps (each channel its own direction) and a slow wave, plus noise of +-3.
                    const double t = (static_cast<double>(r) / rows * (k + 1) + static_cast<double>(c) / cols * (3 - k)) / 4.0;
                    const double wave = 20 * std::sin(static_cast<double>(r) / 97 + static_cast<double>(c) / 131 + k);
                    const int v = static_cast<int>(40 + 170 * t + wave) + static_cast<int>(rng() % 7) - 3;
                    row[c * ch + k] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
                }
            f.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(row.size()));
        }
        return f ? 0 : (std::fprintf(stderr, "make_test_image: cannot write %s\n", out.c_str()), 1);
    }
    Bytes px;
    if (kind == "text") px = text_page(rows, cols, ch);
    else if (kind == "screenshot") px = screenshot(rows, cols, ch);
    else if (kind == "noise") {
        px.resize(rows * cols * ch);
        std::mt19937 rng(13);
        for (auto& v : px) v = static_cast<std::uint8_t>(rng() >> 24);
    } else
        return usage();
    return write_whole(out, px, rows, cols, ch);
}
