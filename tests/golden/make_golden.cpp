// Writes the golden .bbx files of tests/golden (see README.md there) into a directory.
// They were made once with this program and committed; they are never regenerated, because
// they freeze format version 1: every future reader must decode the good ones to the same
// bytes and reject the bad ones. The program stays so that anyone can see how each was made.
// usage: make_golden SAMPLES_DIR OUT_DIR   (SAMPLES_DIR: corpora/samples)
#include <xxhash.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codec/message.hpp"
#include "src/container/bbx.hpp"

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::string out_dir;

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "make_golden: cannot read %s\n", path.c_str());
        std::exit(1);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& name, const Bytes& bytes) {
    std::ofstream out(out_dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "make_golden: cannot write %s\n", name.c_str());
        std::exit(1);
    }
}

void write_text(const std::string& name, const std::string& text) { write_file(name, Bytes(text.begin(), text.end())); }

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes fallback(const Bytes& input) {
    auto file = container::compress_fallback(input);
    if (!file) {
        std::fprintf(stderr, "make_golden: %s\n", file.error().message.c_str());
        std::exit(1);
    }
    return *file;
}

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Recomputes the header checksum (bytes 36..39) after a header field was changed on purpose.
Bytes reseal(Bytes file) {
    put_le(file, 36, XXH32(file.data(), 36, 0), 4);
    return file;
}

// The first `count` images of an IDX file, with the count field changed to match.
Bytes first_idx_images(const Bytes& idx, std::uint32_t count) {
    const std::size_t rows = idx[11], cols = idx[15];  // 28 x 28: the high bytes are zero
    Bytes out(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(16 + count * rows * cols));
    for (int i = 0; i < 4; ++i) out[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(count >> (24 - 8 * i));
    return out;
}

// A good file and its expected output NAME.out. (For the large MNIST sample, NAME.out was then
// replaced by its SHA-256 in NAME.sha256: `sha256sum < NAME.out | cut -d' ' -f1`.)
void good(const std::string& name, const Bytes& original, const Bytes& file) {
    write_file(name + ".bbx", file);
    write_file(name + ".out", original);
}

void bad(const std::string& name, const Bytes& file, const std::string& expected_error) {
    write_file(name + ".bbx", file);
    write_text(name + ".err", expected_error + "\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_golden SAMPLES_DIR OUT_DIR\n");
        return 2;
    }
    const std::string samples = argv[1];
    out_dir = argv[2];

    // Good files.
    const Bytes empty;
    const Bytes empty_file = fallback(empty);
    good("empty", empty, empty_file);

    const Bytes text = bytes_of("hello, bits back\n");
    const Bytes text_file = fallback(text);
    good("text-stored", text, text_file);

    std::string lines;
    for (int i = 0; i < 100; ++i) lines += "line " + std::to_string(i) + ": bits-back coding with asymmetric numeral systems\n";
    const Bytes lines_bytes = bytes_of(lines);
    const Bytes lines_file = fallback(lines_bytes);
    good("text-zstd", lines_bytes, lines_file);

    const Bytes mnist = read_file(samples + "/mnist-test-1000-images-idx3-ubyte");
    const Bytes mnist50 = first_idx_images(mnist, 50);
    const Bytes mnist_file = fallback(mnist50);
    good("mnist-50-idx-zstd", mnist50, mnist_file);

    // Bad files, each with the substring its error must contain.
    bad("truncated-header", Bytes(text_file.begin(), text_file.begin() + 30), "truncated in its header");
    bad("truncated-payload", Bytes(mnist_file.begin(), mnist_file.begin() + 1000), "truncated");

    Bytes f = text_file;
    f[0] = 0x88;
    bad("bad-magic", f, "bad magic");

    f = text_file;
    f[4] = 3;  // (2 until format version 2 was defined)
    bad("future-version", reseal(f), "version 3");

    f = text_file;
    f[5] = 3;
    bad("unknown-method", reseal(f), "unknown method 3");

    f = text_file;
    f[8] ^= 0x01;  // original size 17 -> 16, header checksum left as it was
    bad("header-checksum", f, "header checksum");

    f = lines_file;
    f[container::kHeaderSize + lines_file.size() / 2 - 20] ^= 0x10;
    bad("payload-damage", f, "payload checksum");

    f = text_file;
    f.push_back('\n');
    bad("trailing-bytes", f, "trailing bytes");

    f = text_file;
    f[16] ^= 0x01;  // content checksum, header resealed: only decoding can tell
    bad("content-checksum", reseal(f), "content checksum");

    // A bits-back file for a model that does not exist: two MNIST digits, a made-up model
    // identity, and an empty message. Without that model nothing can decode it.
    container::BitsBackPayload p;
    for (std::size_t i = 0; i < p.model.size(); ++i) p.model[i] = static_cast<std::uint8_t>(0xf0 + i);
    const Bytes two = first_idx_images(mnist, 2);
    p.layout = container::Layout::idx;
    p.lanes = 1;
    p.rows = 28;
    p.cols = 28;
    p.count = 2;
    p.seed_images = 1;
    p.header_bytes.assign(two.begin(), two.begin() + 16);
    p.message = *codec::Message(1).to_bytes();
    bad("unknown-model", container::pack(container::Method::bits_back, two, container::write_bits_back_payload(p)),
        container::to_hex(p.model));
    return 0;
}
