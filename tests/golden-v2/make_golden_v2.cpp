// Writes the golden version 2 archives of tests/golden-v2 (README.md there) into a directory.
// Made once and committed; never regenerated: they freeze format version 2. Every future
// reader must decode the good ones to the same bytes and reject the bad ones with the error
// named in NAME.err. The program stays so that anyone can see how each was made.
// usage: make_golden_v2 SAMPLES_DIR MODEL_DIR OUT_DIR   (corpora/samples, models/shipped)
#include <xxhash.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bbans/bbans.hpp"
#include "src/archive/format.hpp"
#include "src/io/png.hpp"

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::string out_dir;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "make_golden_v2: %s\n", what.c_str());
    std::exit(1);
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot read " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& name, const Bytes& bytes) {
    std::ofstream out(out_dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) die("cannot write " + name);
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A one-file archive of `input` named `name`.
Bytes archive_of(const Bytes& input, const std::string& name, CompressOptions o, std::span<const NamedModel> models = {}) {
    auto c = compress(input, o, models, name);
    if (!c) die(c.error().message);
    return c->file;
}

void good(const std::string& name, const Bytes& original, const Bytes& file) {
    write_file(name + ".bbx", file);
    write_file(name + ".out", original);
}

void bad(const std::string& name, const Bytes& file, const std::string& expected_error) {
    write_file(name + ".bbx", file);
    write_file(name + ".err", bytes_of(expected_error + "\n"));
}

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The archive's entries, changed by `edit`, written back with every checksum recomputed: a
// file that only the reader's rules (not its checksums) can refuse.
template <class Edit>
Bytes edited(const Bytes& file, Edit edit) {
    archive::MemoryInput in(file);
    auto r = ArchiveReader::open(in);
    if (!r) die(r.error().message);
    std::vector<archive::Entry> entries = r->entries();
    edit(entries);
    const std::uint64_t off = [&] {
        std::uint64_t o = 0;
        for (int i = 7; i >= 0; --i) o = (o << 8) | file[file.size() - 32 + static_cast<std::size_t>(i)];
        return o;
    }();
    Bytes out(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(off));
    const Bytes dir = archive::write_directory(entries);
    out.insert(out.end(), dir.begin(), dir.end());
    const Bytes t = archive::write_trailer(off, dir);
    out.insert(out.end(), t.begin(), t.end());
    return out;
}

// A good PNG archive: the original PNG beside it (NAME.png); its decompression must decode to
// the same pixels and chunks (check.sh with png_check), not to the same bytes.
void good_png(const std::string& name, const Bytes& png, const Bytes& file) {
    write_file(name + ".bbx", file);
    write_file(name + ".png", png);
}

io::PngChunk chunk(const char* type, io::PngPlace place, const std::string& data) {
    io::PngChunk c;
    std::copy(type, type + 4, c.type.begin());
    c.place = place;
    c.data.assign(data.begin(), data.end());
    return c;
}

// Pixels from a fixed formula (no random generator, whose sequence a library could change).
Bytes pattern(std::size_t n, std::uint32_t modulus, std::uint32_t step) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * step + i / 7) % modulus);
    return b;
}

Bytes first_idx_images(const Bytes& idx, std::uint32_t count) {
    Bytes out(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(16 + count * 784));
    for (int i = 0; i < 4; ++i) out[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(count >> (24 - 8 * i));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) die("usage: make_golden_v2 SAMPLES_DIR MODEL_DIR OUT_DIR");
    const std::string samples = argv[1], model_dir = argv[2];
    out_dir = argv[3];
    auto model = coding::load_model(model_dir + "/mnist.bbm");
    if (!model) die(model.error().message);
    const NamedModel mnist[] = {{"mnist", &*model}};

    CompressOptions stored, zstd, xz, bb;
    stored.method = archive::Method::stored;
    zstd.method = archive::Method::zstd;
    xz.method = archive::Method::xz;
    bb.method = archive::Method::bits_back;
    bb.chunk_images = 8;

    const Bytes empty;
    good("v2-empty", empty, archive_of(empty, "empty", {}));
    const Bytes text = bytes_of("hello, bits back\n");
    const Bytes text_file = archive_of(text, "text", stored);
    good("v2-text-stored", text, text_file);
    std::string lines;
    for (int i = 0; i < 100; ++i) lines += "line " + std::to_string(i) + ": bits-back coding with asymmetric numeral systems\n";
    const Bytes lines_bytes = bytes_of(lines);
    const Bytes lines_zstd = archive_of(lines_bytes, "lines", zstd);
    good("v2-lines-zstd", lines_bytes, lines_zstd);
    good("v2-lines-xz", lines_bytes, archive_of(lines_bytes, "lines", xz));

    const Bytes mnist_idx = read_file(samples + "/mnist-test-1000-images-idx3-ubyte");
    const Bytes mnist20 = first_idx_images(mnist_idx, 20);
    const Bytes mnist_file = archive_of(mnist20, "mnist-20.idx", bb, mnist);
    good("v2-mnist-20-bits-back", mnist20, mnist_file);
    Bytes pgm = bytes_of("P5\n# one digit\n28 28\n255\n");
    pgm.insert(pgm.end(), mnist_idx.begin() + 16, mnist_idx.begin() + 16 + 784);
    good("v2-pgm-bits-back", pgm, archive_of(pgm, "digit.pgm", bb, mnist));

    // PNG (layout 4) and PPM (layout 5). The PNGs are written by io::write_png from fixed
    // attributes and samples: a 4-bit palette image with tRNS, gAMA and tEXt chunks; an
    // interlaced RGBA image with a private chunk.
    io::PngAttributes pal;
    pal.width = 12, pal.height = 9, pal.bit_depth = 4, pal.color_type = 3;
    for (int i = 0; i < 10; ++i) pal.palette.insert(pal.palette.end(), {static_cast<std::uint8_t>(25 * i), static_cast<std::uint8_t>(255 - 20 * i), 77});
    pal.chunks = {chunk("gAMA", io::PngPlace::before_plte, std::string("\0\0\xb1\x8f", 4)),
                  chunk("tRNS", io::PngPlace::before_idat, std::string("\0\x80\xff", 3)),
                  chunk("tEXt", io::PngPlace::after_idat, std::string("Comment\0golden palette image", 29))};
    Bytes pal_samples;
    for (const std::uint8_t i : pattern(12 * 9, 10, 3)) {
        pal_samples.insert(pal_samples.end(), pal.palette.begin() + 3 * i, pal.palette.begin() + 3 * i + 3);
        pal_samples.push_back(i == 0 ? 0 : i == 1 ? 0x80 : i == 2 ? 0xff : 0xff);
    }
    auto pal_png = io::write_png(pal_samples, pal);
    if (!pal_png) die(pal_png.error().message);
    const Bytes pal_file = archive_of(*pal_png, "palette.png", xz);
    good_png("v2-png-palette-xz", *pal_png, pal_file);
    io::PngAttributes rgba;
    rgba.width = 7, rgba.height = 11, rgba.interlace = 1, rgba.color_type = 6;
    rgba.chunks = {chunk("prVt", io::PngPlace::before_plte, "private, safe to copy")};
    auto rgba_png = io::write_png(pattern(7 * 11 * 4, 256, 37), rgba);
    if (!rgba_png) die(rgba_png.error().message);
    good_png("v2-png-rgba-zstd", *rgba_png, archive_of(*rgba_png, "rgba.png", zstd));
    Bytes ppm = bytes_of("P6\n# colour\n5 4\n255\n");
    const Bytes ppm_samples = pattern(5 * 4 * 3, 256, 11);
    ppm.insert(ppm.end(), ppm_samples.begin(), ppm_samples.end());
    const Bytes ppm_file = archive_of(ppm, "colour.ppm", zstd);
    good("v2-ppm-zstd", ppm, ppm_file);

    // Bad files, each with the substring its error must contain.
    bad("v2-truncated", Bytes(lines_zstd.begin(), lines_zstd.end() - 1), "truncated or corrupt at its end");
    Bytes f = text_file;
    f[8] ^= 1;  // flags, header checksum left as it was
    bad("v2-header-checksum", f, "header checksum");
    f = lines_zstd;
    f[f.size() - 40] ^= 0x04;  // inside the directory
    bad("v2-directory-damage", f, "directory checksum");
    f = lines_zstd;
    f[30] ^= 0x10;  // inside the zstd chunk
    bad("v2-chunk-damage", f, "chunk 0 is corrupt");
    f = mnist_file;
    f[200] ^= 0x01;  // inside the first bits-back message
    bad("v2-message-damage", f, "chunk 0 is corrupt");
    bad("v2-bad-name", edited(text_file, [](auto& es) { es[0].name = "../escape"; }), "invalid name");
    bad("v2-overlap", edited(lines_zstd, [](auto& es) {
            archive::Entry twin = es[0];
            twin.name = "twin";
            es.push_back(twin);
        }), "overlaps");
    bad("v2-original-checksum", edited(lines_zstd, [](auto& es) { es[0].chunks[0].original_checksum ^= 1; }),
        "decodes to the wrong bytes");
    bad("v2-content-checksum", edited(lines_zstd, [](auto& es) { es[0].checksum ^= 1; }), "content checksum");
    bad("v2-unknown-model", edited(mnist_file, [](auto& es) {
            for (std::size_t i = 0; i < 16; ++i) es[0].model->identity[i] = static_cast<std::uint8_t>(0xf0 + i);
            es[0].model->name = "no-such-model";
        }), "needs model no-such-model (identity f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff)");
    bad("v2-png-attributes-version", edited(pal_file, [](auto& es) { es[0].images->attributes[0] = 9; es[0].images->packed_attributes.clear(); }), "PNG attributes version 9");
    bad("v2-png-attributes-trailing", edited(pal_file, [](auto& es) { es[0].images->attributes.push_back(0); es[0].images->packed_attributes.clear(); }), "trailing bytes");
    bad("v2-png-no-attributes", edited(pal_file, [](auto& es) { es[0].images->attributes.clear(); es[0].images->packed_attributes.clear(); }), "needs its attributes");
    bad("v2-png-shape-mismatch", edited(pal_file, [](auto& es) { es[0].images->channels = 3; }), "do not match the image layout");
    bad("v2-png-two-images", edited(pal_file, [](auto& es) { es[0].images->count = 2; }), "exactly one image");
    bad("v2-png-content-checksum", edited(pal_file, [](auto& es) { es[0].checksum ^= 1; }), "content checksum");
    bad("v2-ppm-grey", edited(ppm_file, [](auto& es) { es[0].images->channels = 1; }), "a PPM layout with 1 channels");
    // PNG attributes version 2 (packed by zstd or xz, whichever is smaller): an RGB image with
    // kilobytes of ancillary chunks (a long tEXt, an eXIf-like and an iCCP-like chunk).
    io::PngAttributes big;
    big.width = 6, big.height = 5, big.color_type = 2;
    std::string big_text = std::string("Comment") + '\0';
    for (int i = 0; i < 60; ++i) {
        big_text += "golden image with packed attributes, line ";
        big_text += std::to_string(i);
        big_text += '\n';
    }
    std::string exif = "MM";
    exif += std::string("\0*\0\0\0\x08", 6);
    for (int i = 0; i < 400; ++i) exif += static_cast<char>(i % 7 == 0 ? i / 7 : 0);
    std::string iccp = std::string("golden profile") + '\0' + '\0';
    for (int i = 0; i < 1500; ++i) iccp += static_cast<char>((i * i) % 13);
    big.chunks = {chunk("iCCP", io::PngPlace::before_plte, iccp), chunk("tEXt", io::PngPlace::before_plte, big_text),
                  chunk("eXIf", io::PngPlace::after_idat, exif)};
    auto big_png = io::write_png(pattern(6 * 5 * 3, 256, 19), big);
    if (!big_png) die(big_png.error().message);
    const Bytes big_file = archive_of(*big_png, "attributes.png", zstd);
    good_png("v2-png-packed-attributes", *big_png, big_file);
    bad("v2-png-packed-length", edited(big_file, [](auto& es) { es[0].images->packed_attributes[2] ^= 1; }), "packed PNG attributes");
    bad("v2-png-packed-method", edited(big_file, [](auto& es) { es[0].images->packed_attributes[1] = 7; }),
        "packed PNG attributes have unknown method 7");
    // A colour PPM coded by the grey model as its three YCoCg-R planes (session 9), in 2 row
    // chunks; and that entry with the planes byte wrong (must fail) or cleared (must fail: the
    // grey model cannot code 3-channel pixels).
    Bytes planes_ppm = bytes_of("P6\n# planes\n30 20\n255\n");
    const Bytes planes_samples = pattern(30 * 20 * 3, 200, 7);
    planes_ppm.insert(planes_ppm.end(), planes_samples.begin(), planes_samples.end());
    CompressOptions rows = bb;
    rows.chunk_images = 10;  // 10 rows per chunk
    const Bytes planes_file = archive_of(planes_ppm, "planes.ppm", rows, mnist);
    good("v2-ppm-planes-bits-back", planes_ppm, planes_file);
    bad("v2-ppm-planes-two", edited(planes_file, [](auto& es) { es[0].model->planes = 2; }), "codes 2 planes of images with 3 channels");
    bad("v2-ppm-planes-cleared", edited(planes_file, [](auto& es) { es[0].model->planes = 0; }), "its images have 3 channels, its model 1");
    // A PGM (two MNIST digits side by side) coded with a scale offset of -24/64 nat (session
    // 10; the model block's scale offset byte), in chunks of 14 rows; and that entry with the
    // offset -128 (must fail: the range is -127..127).
    Bytes wide = bytes_of("P5\n# scale offset\n56 28\n255\n");
    for (std::size_t r = 0; r < 28; ++r)
        for (std::size_t d = 0; d < 2; ++d)
            wide.insert(wide.end(), mnist_idx.begin() + static_cast<std::ptrdiff_t>(16 + d * 784 + r * 28),
                        mnist_idx.begin() + static_cast<std::ptrdiff_t>(16 + d * 784 + r * 28 + 28));
    CompressOptions offset = bb;
    offset.chunk_images = 14;
    offset.scale_offset = -24;
    const Bytes offset_file = archive_of(wide, "wide.pgm", offset, mnist);
    good("v2-pgm-scale-offset", wide, offset_file);
    bad("v2-scale-offset-min", edited(offset_file, [](auto& es) { es[0].model->scale_offset = -128; }), "scale offset -128");
    bad("v2-future-version", [&] {
            Bytes g = text_file;
            g[4] = 3;
            put_le(g, 12, XXH32(g.data(), 12, 0), 4);
            return g;
        }(), "version 3");
    return 0;
}
