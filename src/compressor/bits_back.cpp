#include "src/compressor/bits_back.hpp"

#include <cmath>
#include <string>

namespace bbans {

Expected<EncodedImages> encode_images(const coding::TiledCoder& coder, const io::ImageSet& images, std::size_t lanes,
                                      std::size_t seed_bands, const Progress& progress, std::vector<std::uint64_t>* band_bits) {
    if (images.channels != coder.channels()) return make_error("the images do not have the model's channels");
    if (lanes < 1 || lanes > 255) return make_error("lanes must be 1..255");
    codec::Message m(lanes);
    EncodedImages out;
    out.stats.bits_after.reserve(images.count);
    const std::size_t bands = coder.bands(images.rows);
    for (std::size_t i = 0; i < images.count; ++i) {
        const std::size_t pushed = i * bands, seed = seed_bands > pushed ? seed_bands - pushed : 0;
        if (auto ok = coder.push(m, images.image(i), images.rows, images.cols, seed, band_bits); !ok)
            return make_error("coding image " + std::to_string(i) + ": " + ok.error().message);
        if (!m.ok()) return make_error(std::string("coding image ") + std::to_string(i) + " failed: " + codec::to_string(m.status()));
        out.stats.bits_after.push_back(static_cast<std::uint64_t>(std::llround(m.content_bits())));
        if (progress && (i % 64 == 63 || i + 1 == images.count)) progress(i + 1, images.count);
    }
    auto bytes = m.to_bytes();
    if (!bytes) return bytes.error();
    out.message = std::move(*bytes);
    out.stats.message_bits = m.size_bits();
    out.stats.initial_bits = m.initial_bits();
    return out;
}

Expected<std::vector<std::uint8_t>> decode_images(const coding::TiledCoder& coder, std::span<const std::uint8_t> message,
                                                  std::size_t lanes, std::size_t count, std::size_t rows, std::size_t cols,
                                                  std::size_t seed_bands, const Progress& progress) {
    auto m = codec::Message::from_bytes(message);
    if (!m) return m.error();
    if (m->lanes() != lanes) return make_error("bits-back message has " + std::to_string(m->lanes()) + " lanes, its header says " + std::to_string(lanes));
    // Decoding retraces the encoder's messages backwards, and the encoder's count of virtual
    // words drawn (codec/message.hpp) only grew: so a valid file never draws a word beyond the
    // count it was saved with. A decoder that does has read past what was written, i.e. the
    // file claims more images than its message holds (or is corrupt): stop there, instead of
    // decoding up to 2^32 bytes of noise before the checksum could say so.
    const std::uint64_t drawn = m->virtual_words_drawn();
    const std::size_t D = rows * cols * coder.channels(), bands = coder.bands(rows);
    std::vector<std::uint8_t> pixels(count * D);
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = count - 1 - k;  // last pushed, first popped
        const std::size_t pushed = i * bands, seed = seed_bands > pushed ? seed_bands - pushed : 0;
        const std::vector<std::uint8_t> x = coder.pop(*m, rows, cols, seed);
        if (!m->ok()) return make_error("bits-back message is corrupt at image " + std::to_string(i) + " (" + codec::to_string(m->status()) + ")");
        if (m->virtual_words_drawn() > drawn)
            return make_error("bits-back message is corrupt: it runs out of data at image " + std::to_string(i) + " of " +
                              std::to_string(count));
        std::copy(x.begin(), x.end(), pixels.begin() + static_cast<std::ptrdiff_t>(i * D));
        if (progress && (k % 64 == 63 || k + 1 == count)) progress(k + 1, count);
    }
    // Everything pushed has been popped: what is left must be the empty message.
    if (!(*m == codec::Message(m->lanes()))) return make_error("bits-back message has data left over after the last image (corrupt file)");
    return pixels;
}

}  // namespace bbans
