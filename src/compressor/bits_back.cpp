#include "src/compressor/bits_back.hpp"

#include <string>

namespace bbans {

Expected<EncodedImages> encode_images(const coding::VaeCoder& coder, const io::ImageSet& images, std::size_t lanes,
                                      std::size_t seed_images, const Progress& progress) {
    if (auto grey = io::require_grey(images, "bits-back coding"); !grey) return grey.error();
    if (images.pixels_per_image() != coder.pixels()) return make_error("the images do not have the model's shape");
    if (lanes < 1 || lanes > 255) return make_error("lanes must be 1..255");
    codec::Message m(lanes);
    EncodedImages out;
    out.stats.bits_after.reserve(images.count);
    coding::Image x(coder.pixels());
    for (std::size_t i = 0; i < images.count; ++i) {
        const auto px = images.image(i);
        x.assign(px.begin(), px.end());
        if (i < seed_images) coder.push_seed(m, x);
        else coder.push(m, x);
        if (!m.ok()) return make_error(std::string("coding image ") + std::to_string(i) + " failed: " + codec::to_string(m.status()));
        out.stats.bits_after.push_back(m.size_bits());
        if (progress && (i % 64 == 63 || i + 1 == images.count)) progress(i + 1, images.count);
    }
    auto bytes = m.to_bytes();
    if (!bytes) return bytes.error();
    out.message = std::move(*bytes);
    out.stats.message_bits = m.size_bits();
    out.stats.initial_bits = m.initial_bits();
    return out;
}

Expected<std::vector<std::uint8_t>> decode_images(const coding::VaeCoder& coder, std::span<const std::uint8_t> message,
                                                  std::size_t lanes, std::size_t count, std::size_t seed_images,
                                                  const Progress& progress) {
    auto m = codec::Message::from_bytes(message);
    if (!m) return m.error();
    if (m->lanes() != lanes) return make_error("bits-back message has " + std::to_string(m->lanes()) + " lanes, its header says " + std::to_string(lanes));
    // Decoding retraces the encoder's messages backwards, and the encoder's count of virtual
    // words drawn (codec/message.hpp) only grew: so a valid file never draws a word beyond the
    // count it was saved with. A decoder that does has read past what was written, i.e. the
    // file claims more images than its message holds (or is corrupt): stop there, instead of
    // decoding up to 2^32 bytes of noise before the checksum could say so.
    const std::uint64_t drawn = m->virtual_words_drawn();
    const std::size_t D = coder.pixels();
    std::vector<std::uint8_t> pixels(count * D);
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = count - 1 - k;  // last pushed, first popped
        const coding::Image x = i < seed_images ? coder.pop_seed(*m) : coder.pop(*m);
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
